// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! The node's store: `lightning-persister`'s [`FilesystemStore`], counting `ChannelManager`
//! writes.
//!
//! The count lets a caller wait until the `ChannelManager` has been written after some event
//! (for example, until a forward waiting for a decision is on disk) before pulling the plug.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use lightning::io;
use lightning::util::persist::{
	KVStoreSync, CHANNEL_MANAGER_PERSISTENCE_KEY, CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
	CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
};
use lightning_persister::fs_store::v1::FilesystemStore;

/// A [`FilesystemStore`] that counts the `ChannelManager`'s writes.
pub struct NodeStore {
	inner: FilesystemStore,
	channel_manager_writes: AtomicU64,
}

impl NodeStore {
	/// The store in `data_dir`.
	pub fn new(data_dir: PathBuf) -> Self {
		Self { inner: FilesystemStore::new(data_dir), channel_manager_writes: AtomicU64::new(0) }
	}

	/// How many times the `ChannelManager` was written since the store was opened.
	pub fn channel_manager_writes(&self) -> u64 {
		self.channel_manager_writes.load(Ordering::Acquire)
	}
}

impl KVStoreSync for NodeStore {
	fn read(
		&self, primary_namespace: &str, secondary_namespace: &str, key: &str,
	) -> io::Result<Vec<u8>> {
		self.inner.read(primary_namespace, secondary_namespace, key)
	}

	fn write(
		&self, primary_namespace: &str, secondary_namespace: &str, key: &str, buf: Vec<u8>,
	) -> io::Result<()> {
		self.inner.write(primary_namespace, secondary_namespace, key, buf)?;
		if (primary_namespace, secondary_namespace, key)
			== (
				CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
				CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
				CHANNEL_MANAGER_PERSISTENCE_KEY,
			) {
			self.channel_manager_writes.fetch_add(1, Ordering::AcqRel);
		}
		Ok(())
	}

	fn remove(
		&self, primary_namespace: &str, secondary_namespace: &str, key: &str, lazy: bool,
	) -> io::Result<()> {
		self.inner.remove(primary_namespace, secondary_namespace, key, lazy)
	}

	fn list(&self, primary_namespace: &str, secondary_namespace: &str) -> io::Result<Vec<String>> {
		self.inner.list(primary_namespace, secondary_namespace)
	}
}
