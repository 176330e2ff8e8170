// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! Reading the `ChannelManager`'s queue of forwards awaiting a resource allocation (the value
//! of its even TLV 24) from arbitrary bytes: an error, never a panic; and what reads back
//! writes the same bytes again.

use lightning::ln::channelmanager::reencode_pending_resource_allocations;

/// Reads `data` as the queue's TLV value.
pub fn do_test(data: &[u8]) {
	let written = match reencode_pending_resource_allocations(data) {
		Ok(written) => written,
		Err(_) => return,
	};
	// A forward handed but undecided is written as not yet handed, so the first write may
	// differ from `data`; from then on it is a fixed point.
	let rewritten = reencode_pending_resource_allocations(&written).expect("reads what it wrote");
	assert_eq!(rewritten, written);
}
