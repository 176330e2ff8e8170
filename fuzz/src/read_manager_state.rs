// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! Reading the default manager's persisted state from arbitrary bytes: an error, never a panic;
//! and what reads back writes the same bytes again.

use lightning::io::Cursor;
use lightning::sign::RandomBytes;
use lightning::util::logger::{Logger, Record};
use lightning::util::ser::{ReadableArgs, Writeable};
use lightning_resource_manager::{DefaultResourceManager, ResourceManagerConfig};

struct NoLogs;

impl Logger for NoLogs {
	fn log(&self, _record: Record) {}
}

/// Reads `data` as a persisted manager.
pub fn do_test(data: &[u8]) {
	let entropy = RandomBytes::new([42; 32]);
	let args = (ResourceManagerConfig::default(), &entropy, &NoLogs);
	let manager =
		match <DefaultResourceManager<_, _> as ReadableArgs<_>>::read(&mut Cursor::new(data), args)
		{
			Ok(manager) => manager,
			Err(_) => return,
		};
	let written = manager.encode();
	let args = (ResourceManagerConfig::default(), &entropy, &NoLogs);
	let reread =
		<DefaultResourceManager<_, _> as ReadableArgs<_>>::read(&mut Cursor::new(&written), args)
			.expect("reads what it wrote");
	assert_eq!(reread.encode(), written);
}
