// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! The protected bucket: reserved for outgoing channels with sufficient reputation.
//!
//! An outgoing channel has sufficient reputation for an HTLC when
//! `outgoing_reputation - in_flight_risk - htlc_risk >= incoming_revenue_threshold`, the new
//! HTLC's own risk included (see [`DefaultResourceManager`]). When the protected bucket is full,
//! such HTLCs may still use the general bucket (and, when they arrived unaccountable, the
//! congestion bucket) under those buckets' rules.
//!
//! [`DefaultResourceManager`]: crate::DefaultResourceManager

use super::{BucketLimits, BucketUsage, Usage};

/// The protected bucket of one incoming channel.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct ProtectedBucket {
	limits: BucketLimits,
	usage: Usage,
}

impl ProtectedBucket {
	pub(crate) fn set_limits(&mut self, limits: BucketLimits) {
		self.limits = limits;
	}

	pub(crate) fn usage(&self) -> BucketUsage {
		self.usage.report(self.limits)
	}

	/// Whether an HTLC of `amount_msat` fits.
	pub(crate) fn has_room(&self, amount_msat: u64) -> bool {
		self.usage.fits(&self.limits, amount_msat)
	}

	/// Whether an HTLC of `amount_msat` fits in half the bucket: HTLCs whose lack of reputation
	/// was waived (JIT channels) may use no more, so that the other half stays with the
	/// outgoing channels that earned it.
	pub(crate) fn has_room_for_waived(&self, amount_msat: u64) -> bool {
		let half = BucketLimits {
			slots: self.limits.slots / 2,
			liquidity_msat: self.limits.liquidity_msat / 2,
		};
		self.usage.fits(&half, amount_msat)
	}

	pub(crate) fn occupy(&mut self, amount_msat: u64) {
		self.usage.add(amount_msat);
	}

	pub(crate) fn release(&mut self, amount_msat: u64) {
		self.usage.remove(amount_msat);
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn room_is_slots_and_liquidity() {
		let mut b = ProtectedBucket::default();
		assert!(!b.has_room(0));
		b.set_limits(BucketLimits { slots: 1, liquidity_msat: 10 });
		assert!(b.has_room(10));
		assert!(!b.has_room(11));
		b.occupy(3);
		assert!(!b.has_room(1));
		b.release(3);
		assert_eq!(b.usage().used_slots, 0);
		assert_eq!(b.usage().limits, BucketLimits { slots: 1, liquidity_msat: 10 });
	}

	#[test]
	fn waived_htlcs_get_half_the_room() {
		let mut b = ProtectedBucket::default();
		b.set_limits(BucketLimits { slots: 4, liquidity_msat: 100 });
		assert!(b.has_room_for_waived(50));
		assert!(!b.has_room_for_waived(51));
		b.occupy(1);
		assert!(b.has_room_for_waived(1));
		b.occupy(1);
		assert!(!b.has_room_for_waived(1));
		assert!(b.has_room(1));
	}
}
