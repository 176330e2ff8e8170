// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! The three resource buckets of an incoming channel: general, congestion and protected.
//!
//! Each incoming channel's HTLC slots (`max_accepted_htlcs`) and liquidity
//! (`max_htlc_value_in_flight_msat`) are split by [`ResourceManagerConfig`]'s shares. The three
//! buckets together never exceed either limit. Usage is counted in running sums, so checking a
//! bucket costs the same whatever the number of HTLCs in flight.
//!
//! [`ResourceManagerConfig`]: crate::ResourceManagerConfig

pub mod congestion;
pub mod general;
pub mod protected;

use crate::config::{ResourceManagerConfig, MAX_ACCEPTED_HTLCS};

/// The bucket an HTLC was forwarded on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResourceBucket {
	/// Open to every HTLC, within the `(incoming, outgoing)` pair's own slots (see
	/// [`general`]).
	General,
	/// For unaccountable HTLCs whose sender allows an upgrade, when general is saturated and the
	/// outgoing channel has behaved (see [`congestion`]). Forwarded accountable.
	Congestion,
	/// For outgoing channels with sufficient reputation (see [`protected`]).
	Protected,
	/// No bucket: [`Mode::Shadow`] forwarded an HTLC the algorithm would have failed. It holds no
	/// bucket resources.
	///
	/// [`Mode::Shadow`]: crate::Mode::Shadow
	Unallocated,
}

impl ResourceBucket {
	pub(crate) fn to_u8(self) -> u8 {
		match self {
			Self::General => 0,
			Self::Congestion => 1,
			Self::Protected => 2,
			Self::Unallocated => 3,
		}
	}

	pub(crate) fn from_u8(v: u8) -> Self {
		match v {
			0 => Self::General,
			1 => Self::Congestion,
			2 => Self::Protected,
			_ => Self::Unallocated,
		}
	}
}

/// The size of one bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BucketLimits {
	/// HTLC slots.
	pub slots: u16,
	/// Liquidity, in millisatoshis.
	pub liquidity_msat: u64,
}

/// The sizes of an incoming channel's three buckets.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BucketSplit {
	/// The general bucket.
	pub general: BucketLimits,
	/// The congestion bucket.
	pub congestion: BucketLimits,
	/// The protected bucket.
	pub protected: BucketLimits,
}

impl BucketSplit {
	/// Splits a channel's `max_accepted_htlcs` (at most [`MAX_ACCEPTED_HTLCS`], larger values
	/// are treated as that) and `max_htlc_value_in_flight_msat` by the configured shares, each
	/// rounded down. When the shares sum to exactly 100 %, what rounding leaves over goes to the
	/// protected bucket, so the buckets use the whole channel.
	///
	/// A channel too small for the split to protect anything gives everything to the general
	/// bucket (as the proposal's June 2026 text asks): one whose general share would have fewer
	/// slots than one `(incoming, outgoing)` pair's minimum
	/// ([`ResourceManagerConfig::general_pair_min_slots`], so pairs would not be kept apart), or
	/// whose general or protected share would have no liquidity, or protected no slot.
	pub fn new(
		max_accepted_htlcs: u16, max_htlc_value_in_flight_msat: u64, config: &ResourceManagerConfig,
	) -> Self {
		let split = Self::by_shares(max_accepted_htlcs, max_htlc_value_in_flight_msat, config);
		let protects_nothing = split.general.slots < config.general_pair_min_slots
			|| split.general.liquidity_msat == 0
			|| split.protected.slots == 0
			|| split.protected.liquidity_msat == 0;
		if protects_nothing {
			let general = BucketLimits {
				slots: max_accepted_htlcs.min(MAX_ACCEPTED_HTLCS),
				liquidity_msat: max_htlc_value_in_flight_msat,
			};
			return Self { general, ..Self::default() };
		}
		split
	}

	fn by_shares(
		max_accepted_htlcs: u16, max_htlc_value_in_flight_msat: u64, config: &ResourceManagerConfig,
	) -> Self {
		let slots = max_accepted_htlcs.min(MAX_ACCEPTED_HTLCS);
		let share_slots = |pct: u8| (slots as u32 * pct as u32 / 100) as u16;
		let share_liquidity =
			|pct: u8| (max_htlc_value_in_flight_msat as u128 * pct as u128 / 100) as u64;
		let general = BucketLimits {
			slots: share_slots(config.general_bucket_percent),
			liquidity_msat: share_liquidity(config.general_bucket_percent),
		};
		let congestion = BucketLimits {
			slots: share_slots(config.congestion_bucket_percent),
			liquidity_msat: share_liquidity(config.congestion_bucket_percent),
		};
		let whole = config.general_bucket_percent as u16
			+ config.congestion_bucket_percent as u16
			+ config.protected_bucket_percent as u16
			== 100;
		let protected = if whole {
			BucketLimits {
				slots: slots - general.slots - congestion.slots,
				liquidity_msat: max_htlc_value_in_flight_msat
					- general.liquidity_msat
					- congestion.liquidity_msat,
			}
		} else {
			BucketLimits {
				slots: share_slots(config.protected_bucket_percent),
				liquidity_msat: share_liquidity(config.protected_bucket_percent),
			}
		};
		Self { general, congestion, protected }
	}
}

/// How much of one bucket is in use, for introspection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BucketUsage {
	/// The bucket's size.
	pub limits: BucketLimits,
	/// HTLCs in the bucket. Above [`BucketLimits::slots`] only after a channel shrank, or after a
	/// startup replay of HTLCs accepted under other limits.
	pub used_slots: u32,
	/// The sum of their incoming amounts, in millisatoshis.
	pub used_liquidity_msat: u64,
}

/// The running usage of a bucket.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Usage {
	pub(crate) slots: u32,
	pub(crate) liquidity_msat: u64,
}

impl Usage {
	/// Whether one more HTLC of `amount_msat` fits in `limits`.
	pub(crate) fn fits(&self, limits: &BucketLimits, amount_msat: u64) -> bool {
		self.slots < limits.slots as u32
			&& self
				.liquidity_msat
				.checked_add(amount_msat)
				.is_some_and(|total| total <= limits.liquidity_msat)
	}

	pub(crate) fn add(&mut self, amount_msat: u64) {
		self.slots = self.slots.saturating_add(1);
		self.liquidity_msat = self.liquidity_msat.saturating_add(amount_msat);
	}

	pub(crate) fn remove(&mut self, amount_msat: u64) {
		debug_assert!(self.slots > 0 && self.liquidity_msat >= amount_msat);
		self.slots = self.slots.saturating_sub(1);
		self.liquidity_msat = self.liquidity_msat.saturating_sub(amount_msat);
	}

	pub(crate) fn report(&self, limits: BucketLimits) -> BucketUsage {
		BucketUsage { limits, used_slots: self.slots, used_liquidity_msat: self.liquidity_msat }
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn split_of_a_full_size_channel() {
		let split = BucketSplit::new(483, 1_000_000_001, &ResourceManagerConfig::default());
		// 483 * 40 / 100 = 193, 483 * 20 / 100 = 96, the rest (194) to protected.
		assert_eq!(split.general, BucketLimits { slots: 193, liquidity_msat: 400_000_000 });
		assert_eq!(split.congestion, BucketLimits { slots: 96, liquidity_msat: 200_000_000 });
		assert_eq!(split.protected, BucketLimits { slots: 194, liquidity_msat: 400_000_001 });
	}

	#[test]
	fn split_never_exceeds_the_channel() {
		let config = ResourceManagerConfig {
			general_bucket_percent: 33,
			congestion_bucket_percent: 33,
			protected_bucket_percent: 33,
			..Default::default()
		};
		let split = BucketSplit::new(u16::MAX, 100, &config);
		// Above the BOLT 2 maximum: 483 slots. 483 * 33 / 100 = 159 each, 477 in all.
		assert_eq!(split.general.slots, 159);
		assert_eq!(split.protected.slots, 159);
		assert_eq!(split.general.liquidity_msat + split.congestion.liquidity_msat, 66);
		assert_eq!(split.protected.liquidity_msat, 33);
	}

	#[test]
	fn a_channel_too_small_to_protect_anything_is_all_general() {
		let config = ResourceManagerConfig::default();
		// 12 slots: 4 general, fewer than a pair's 5.
		let small = BucketSplit::new(12, 1_000, &config);
		assert_eq!(small.general, BucketLimits { slots: 12, liquidity_msat: 1_000 });
		assert_eq!(small.protected, BucketLimits::default());
		// 2 msat: no general liquidity.
		assert_eq!(BucketSplit::new(483, 2, &config).general.slots, 483);
		// 13 slots and 3 msat are split.
		let split = BucketSplit::new(13, 3, &config);
		assert_eq!((split.general.slots, split.congestion.slots, split.protected.slots), (5, 2, 6));
		assert_eq!((split.general.liquidity_msat, split.protected.liquidity_msat), (1, 2));
	}

	#[test]
	fn usage_fits() {
		let limits = BucketLimits { slots: 2, liquidity_msat: 100 };
		let mut usage = Usage::default();
		assert!(usage.fits(&limits, 100));
		assert!(!usage.fits(&limits, 101));
		usage.add(60);
		assert!(usage.fits(&limits, 40));
		assert!(!usage.fits(&limits, 41));
		usage.add(1);
		assert!(!usage.fits(&limits, 0));
		assert!(!usage.fits(&limits, u64::MAX));
		usage.remove(60);
		usage.remove(1);
		assert_eq!(usage, Usage::default());
	}
}
