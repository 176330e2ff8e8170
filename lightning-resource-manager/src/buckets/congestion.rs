// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! The congestion bucket: a few slots for unaccountable HTLCs when the general bucket is
//! saturated, to outgoing channels that have behaved.
//!
//! An HTLC may use it when:
//! - the general bucket as a whole is saturated: it has no slot left, or not the liquidity for
//!   the HTLC (not only the pair's share of it: a pair that filled its own general slots cannot
//!   move on to congestion while others' are free);
//! - it did not arrive `accountable` (an accountable HTLC goes to protected or nowhere);
//! - its sender allows an upgrade (`upgrade_accountability` in the onion): it leaves
//!   `accountable`, which the relay rule forbids without the marker;
//! - the bucket has a slot and the liquidity left, and the amount is below
//!   `bucket_liquidity / bucket_slots` (strictly);
//! - the outgoing channel has no HTLC in this incoming channel's congestion bucket now;
//! - the outgoing channel resolved every congestion HTLC it carried (from any incoming channel)
//!   within `resolution_period` over the last `revenue_window` (two weeks by default): the time of
//!   its last slow congestion resolution is kept per outgoing channel.
//!
//! All checks are constant-time: usage is a running sum and the outgoing channels holding a
//! congestion HTLC are kept in a map bounded by the bucket's slots.

use super::{BucketLimits, BucketUsage, Usage};
use lightning::util::hash_tables::{new_hash_map, HashMap};

/// Why an HTLC may not use the congestion bucket.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CongestionIneligibility {
	/// The general bucket as a whole is not saturated.
	GeneralNotSaturated,
	/// The HTLC arrived `accountable`.
	IncomingAccountable,
	/// The sender did not allow an upgrade (no `upgrade_accountability` marker in the onion).
	NoUpgradeMarker,
	/// The bucket has no slot or no liquidity left.
	BucketFull,
	/// The amount is not below `bucket_liquidity / bucket_slots`.
	AmountTooLarge,
	/// The outgoing channel already holds an HTLC in this bucket.
	OutgoingChannelInBucket,
	/// The outgoing channel resolved a congestion HTLC slower than `resolution_period` within the
	/// last `revenue_window`.
	RecentSlowResolution,
}

/// The congestion bucket of one incoming channel.
#[derive(Clone, Debug)]
pub(crate) struct CongestionBucket {
	limits: BucketLimits,
	usage: Usage,
	/// Outgoing channels with HTLCs in this bucket, and how many (one, but for replays).
	outgoing: HashMap<u64, u16>,
}

impl Default for CongestionBucket {
	fn default() -> Self {
		Self { limits: BucketLimits::default(), usage: Usage::default(), outgoing: new_hash_map() }
	}
}

/// What [`CongestionBucket::check`] needs to know about the HTLC and its outgoing channel.
pub(crate) struct CongestionRequest {
	pub(crate) outgoing_scid: u64,
	pub(crate) amount_msat: u64,
	pub(crate) incoming_accountable: bool,
	pub(crate) upgrade_accountability_allowed: bool,
	/// Whether the general bucket has no slot left, or not the liquidity for the HTLC.
	pub(crate) general_saturated: bool,
	/// When the outgoing channel last resolved a congestion HTLC slowly.
	pub(crate) last_slow_resolution_secs: Option<u64>,
	pub(crate) now_secs: u64,
	/// How far back a slow resolution disqualifies the outgoing channel.
	pub(crate) lookback_secs: u64,
}

impl CongestionBucket {
	pub(crate) fn set_limits(&mut self, limits: BucketLimits) {
		self.limits = limits;
	}

	pub(crate) fn usage(&self) -> BucketUsage {
		self.usage.report(self.limits)
	}

	/// Whether the HTLC may use this bucket.
	pub(crate) fn check(&self, req: &CongestionRequest) -> Result<(), CongestionIneligibility> {
		if req.incoming_accountable {
			return Err(CongestionIneligibility::IncomingAccountable);
		}
		if !req.upgrade_accountability_allowed {
			return Err(CongestionIneligibility::NoUpgradeMarker);
		}
		if !req.general_saturated {
			return Err(CongestionIneligibility::GeneralNotSaturated);
		}
		if !self.usage.fits(&self.limits, req.amount_msat) {
			return Err(CongestionIneligibility::BucketFull);
		}
		// `fits` guarantees at least one slot.
		if req.amount_msat >= self.limits.liquidity_msat / self.limits.slots as u64 {
			return Err(CongestionIneligibility::AmountTooLarge);
		}
		if self.outgoing.contains_key(&req.outgoing_scid) {
			return Err(CongestionIneligibility::OutgoingChannelInBucket);
		}
		if let Some(slow) = req.last_slow_resolution_secs {
			if req.now_secs.saturating_sub(slow) < req.lookback_secs {
				return Err(CongestionIneligibility::RecentSlowResolution);
			}
		}
		Ok(())
	}

	pub(crate) fn occupy(&mut self, outgoing_scid: u64, amount_msat: u64) {
		self.usage.add(amount_msat);
		*self.outgoing.entry(outgoing_scid).or_insert(0) += 1;
	}

	pub(crate) fn release(&mut self, outgoing_scid: u64, amount_msat: u64) {
		self.usage.remove(amount_msat);
		if let Some(count) = self.outgoing.get_mut(&outgoing_scid) {
			*count -= 1;
			if *count == 0 {
				self.outgoing.remove(&outgoing_scid);
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn request(amount_msat: u64) -> CongestionRequest {
		CongestionRequest {
			outgoing_scid: 7,
			amount_msat,
			incoming_accountable: false,
			upgrade_accountability_allowed: true,
			general_saturated: true,
			last_slow_resolution_secs: None,
			now_secs: 10_000_000,
			lookback_secs: 1_209_600,
		}
	}

	#[test]
	fn eligibility_rules() {
		let mut b = CongestionBucket::default();
		b.set_limits(BucketLimits { slots: 4, liquidity_msat: 4_000 });
		assert_eq!(b.check(&request(999)), Ok(()));
		// Strictly below liquidity / slots = 1000.
		assert_eq!(b.check(&request(1_000)), Err(CongestionIneligibility::AmountTooLarge));
		assert_eq!(
			b.check(&CongestionRequest { incoming_accountable: true, ..request(1) }),
			Err(CongestionIneligibility::IncomingAccountable)
		);
		assert_eq!(
			b.check(&CongestionRequest { upgrade_accountability_allowed: false, ..request(1) }),
			Err(CongestionIneligibility::NoUpgradeMarker)
		);
		assert_eq!(
			b.check(&CongestionRequest { general_saturated: false, ..request(1) }),
			Err(CongestionIneligibility::GeneralNotSaturated)
		);
		// Slow within the last two weeks: not eligible; just over two weeks ago: eligible.
		let slow = |at| CongestionRequest { last_slow_resolution_secs: Some(at), ..request(1) };
		assert_eq!(
			b.check(&slow(10_000_000 - 1_209_599)),
			Err(CongestionIneligibility::RecentSlowResolution)
		);
		assert_eq!(b.check(&slow(10_000_000 - 1_209_600)), Ok(()));
		// One HTLC per outgoing channel.
		b.occupy(7, 999);
		assert_eq!(b.check(&request(1)), Err(CongestionIneligibility::OutgoingChannelInBucket));
		assert_eq!(b.check(&CongestionRequest { outgoing_scid: 8, ..request(1) }), Ok(()));
		b.release(7, 999);
		assert_eq!(b.check(&request(1)), Ok(()));
		assert_eq!(b.usage().used_slots, 0);
	}

	#[test]
	fn full_bucket() {
		let mut b = CongestionBucket::default();
		assert_eq!(b.check(&request(0)), Err(CongestionIneligibility::BucketFull));
		b.set_limits(BucketLimits { slots: 1, liquidity_msat: 1_000 });
		b.occupy(1, 10);
		assert_eq!(b.check(&request(1)), Err(CongestionIneligibility::BucketFull));
	}
}
