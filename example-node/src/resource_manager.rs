// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! The node's [`ResourceManager`]: the default manager, with a switch to hold its decisions.
//!
//! [`DefaultResourceManager`] decides every forward at once. To show what happens to a forward
//! that waits for a decision when the node goes down (it is persisted with the
//! [`ChannelManager`], handed to the manager again after the restart, and goes out then), the
//! node can *hold* forwards: while held, requests are kept here undecided, and
//! [`Node::release_forwards`] has the default manager decide them later, through
//! [`ChannelManager::allocate_resources`].
//!
//! [`ChannelManager`]: lightning::ln::channelmanager::ChannelManager
//! [`ChannelManager::allocate_resources`]: lightning::ln::channelmanager::ChannelManager::allocate_resources
//! [`Node::release_forwards`]: crate::node::Node::release_forwards

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use lightning::ln::resource_manager::{
	ForwardRequest, ResourceAllocation, ResourceAllocationId, ResourceManager, ResourceNotification,
};
use lightning::log_info;
use lightning::sign::KeysManager;
use lightning::util::logger::Logger;
use lightning_resource_manager::DefaultResourceManager;

use crate::logger::NodeLogger;

/// The default manager as the node builds it.
pub type DefaultManager = DefaultResourceManager<Arc<KeysManager>, Arc<NodeLogger>>;

/// The default manager, whose decisions can be held; see the module docs.
pub struct HoldingResourceManager {
	inner: Arc<DefaultManager>,
	hold: AtomicBool,
	held: Mutex<Vec<ForwardRequest>>,
	logger: Arc<NodeLogger>,
}

impl HoldingResourceManager {
	/// Wraps `inner`, deciding at once until [`Self::set_hold`] says otherwise.
	pub fn new(inner: Arc<DefaultManager>, logger: Arc<NodeLogger>) -> Self {
		Self { inner, hold: AtomicBool::new(false), held: Mutex::new(Vec::new()), logger }
	}

	/// The default manager that takes the decisions.
	pub fn default_manager(&self) -> &Arc<DefaultManager> {
		&self.inner
	}

	/// Whether requests handed over from now on are held rather than decided at once.
	pub fn set_hold(&self, hold: bool) {
		self.hold.store(hold, Ordering::Release);
	}

	/// How many requests are held undecided.
	pub fn held_count(&self) -> usize {
		self.held.lock().unwrap().len()
	}

	/// Has the default manager decide the held requests, and returns its decisions, which the
	/// caller passes to [`ChannelManager::allocate_resources`].
	///
	/// [`ChannelManager::allocate_resources`]: lightning::ln::channelmanager::ChannelManager::allocate_resources
	pub fn decide_held(&self) -> Vec<(ResourceAllocationId, ResourceAllocation)> {
		let held = std::mem::take(&mut *self.held.lock().unwrap());
		if held.is_empty() {
			return Vec::new();
		}
		let decisions = self.inner.handle_forward_requests(held);
		log_info!(self.logger, "Released held forwards, decided: {:?}", decisions);
		decisions
	}
}

impl ResourceManager for HoldingResourceManager {
	fn is_enabled(&self) -> bool {
		true
	}

	fn handle_notifications(&self, notifications: Vec<ResourceNotification>) {
		// Never held: the default manager's view of channels and HTLCs must stay current.
		self.inner.handle_notifications(notifications)
	}

	fn handle_forward_requests(
		&self, requests: Vec<ForwardRequest>,
	) -> Vec<(ResourceAllocationId, ResourceAllocation)> {
		if self.hold.load(Ordering::Acquire) {
			log_info!(self.logger, "Holding {} forwards until released", requests.len());
			self.held.lock().unwrap().extend(requests);
			return Vec::new();
		}
		let decisions = self.inner.handle_forward_requests(requests);
		log_info!(self.logger, "Forwards decided at once: {:?}", decisions);
		decisions
	}
}
