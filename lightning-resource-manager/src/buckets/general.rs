// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! The general bucket: open to every HTLC, but each `(incoming, outgoing)` channel pair may only
//! use its own slots, drawn by [`slot_assignment`], and its own share of the liquidity.
//!
//! Slots are physical: the bucket tracks which of its slots hold an HTLC and the amount each
//! holds. Two pairs may have drawn the same slot index, in which case they contend for it. A pair
//! is eligible when:
//! - one of its slots is free,
//! - the amounts held in its slots plus the new amount are at most its liquidity,
//!   `general_liquidity * alloc / general_slots` in total, and
//! - the bucket as a whole has a slot and the liquidity left (pairs whose slots overlap cannot
//!   together exceed the bucket).
//!
//! The HTLC takes the first free slot in the pair's draw order. All checks touch only the pair's
//! `alloc` slots, never the HTLCs in flight.
//!
//! [`slot_assignment`]: crate::slot_assignment

use super::{BucketLimits, BucketUsage, Usage};
use crate::config::{ResourceManagerConfig, MAX_ACCEPTED_HTLCS};
use crate::prelude::*;
use crate::slot_assignment::{
	for_each_pair_slot, pair_allocation, pair_liquidity_msat, BITMAP_WORDS,
};

/// The slot index recorded for an HTLC that holds general resources without a slot: a startup
/// replay that found none of its pair's slots free.
pub(crate) const NO_SLOT: u16 = u16::MAX;

/// The general bucket of one incoming channel.
#[derive(Clone, Debug, Default)]
pub(crate) struct GeneralBucket {
	limits: BucketLimits,
	usage: Usage,
	/// One bit per slot index: whether it holds an HTLC.
	occupied: [u64; BITMAP_WORDS],
	/// The incoming amount held in each slot. As long as the largest general slot count this
	/// channel ever had, so that a shrinking channel keeps track of HTLCs in slots now out of
	/// range until they resolve.
	amounts: Vec<u64>,
}

/// Where an HTLC can go in the general bucket, as found by [`GeneralBucket::find_slot`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GeneralCheck {
	/// The pair may use this slot.
	Slot(u16),
	/// Every one of the pair's slots holds an HTLC.
	PairSlotsFull,
	/// The pair's slots hold too much liquidity to take this amount.
	PairLiquidityFull,
	/// The bucket as a whole has no slot or liquidity left.
	BucketFull,
}

impl GeneralBucket {
	pub(crate) fn set_limits(&mut self, limits: BucketLimits) {
		self.limits = limits;
		let slots = limits.slots.min(MAX_ACCEPTED_HTLCS) as usize;
		if self.amounts.len() < slots {
			self.amounts.resize(slots, 0);
		}
	}

	pub(crate) fn usage(&self) -> BucketUsage {
		self.usage.report(self.limits)
	}

	fn is_occupied(&self, slot: u16) -> bool {
		self.occupied[slot as usize / 64] & (1u64 << (slot % 64)) != 0
	}

	/// Whether `slot` may take an HTLC: it exists and holds none. It may be out of the current
	/// limits' range, as it is for an HTLC that took it before the channel shrank.
	pub(crate) fn is_free(&self, slot: u16) -> bool {
		slot < MAX_ACCEPTED_HTLCS && !self.is_occupied(slot)
	}

	/// Whether the bucket as a whole has no slot left, or not the liquidity for `amount_msat`.
	pub(crate) fn is_saturated(&self, amount_msat: u64) -> bool {
		!self.usage.fits(&self.limits, amount_msat)
	}

	/// Finds a slot for an HTLC of `amount_msat` from `incoming_scid` to `outgoing_scid`.
	pub(crate) fn find_slot(
		&self, salt: &[u8; 32], incoming_scid: u64, outgoing_scid: u64, amount_msat: u64,
		config: &ResourceManagerConfig,
	) -> GeneralCheck {
		if !self.usage.fits(&self.limits, amount_msat) {
			return GeneralCheck::BucketFull;
		}
		let general_slots = self.limits.slots.min(MAX_ACCEPTED_HTLCS);
		let alloc = pair_allocation(
			general_slots,
			config.general_pair_min_slots,
			config.general_pair_slot_percent,
		);
		let pair_liquidity = pair_liquidity_msat(self.limits.liquidity_msat, alloc, general_slots);
		let mut free = None;
		let mut pair_used: u64 = 0;
		for_each_pair_slot(salt, incoming_scid, outgoing_scid, general_slots, alloc, |slot| {
			if self.is_occupied(slot) {
				pair_used = pair_used.saturating_add(self.amounts[slot as usize]);
			} else if free.is_none() {
				free = Some(slot);
			}
		});
		match free {
			None => GeneralCheck::PairSlotsFull,
			Some(slot) => {
				if pair_used.saturating_add(amount_msat) <= pair_liquidity {
					GeneralCheck::Slot(slot)
				} else {
					GeneralCheck::PairLiquidityFull
				}
			},
		}
	}

	/// Puts an HTLC of `amount_msat` in `slot` ([`NO_SLOT`] counts it in the bucket's usage
	/// only).
	pub(crate) fn occupy(&mut self, slot: u16, amount_msat: u64) {
		self.usage.add(amount_msat);
		if slot != NO_SLOT && slot < MAX_ACCEPTED_HTLCS {
			if self.amounts.len() <= slot as usize {
				// A replayed HTLC back in a slot the channel had before a restart.
				self.amounts.resize(slot as usize + 1, 0);
			}
			debug_assert!(!self.is_occupied(slot));
			self.occupied[slot as usize / 64] |= 1u64 << (slot % 64);
			self.amounts[slot as usize] = amount_msat;
		}
	}

	/// Takes an HTLC of `amount_msat` out of `slot`.
	pub(crate) fn release(&mut self, slot: u16, amount_msat: u64) {
		self.usage.remove(amount_msat);
		if slot != NO_SLOT && (slot as usize) < self.amounts.len() {
			self.occupied[slot as usize / 64] &= !(1u64 << (slot % 64));
			self.amounts[slot as usize] = 0;
		}
	}

	/// The slot for a replayed HTLC, which is in flight already and must be counted whatever the
	/// limits say: the first free one of its pair's slots, else [`NO_SLOT`].
	pub(crate) fn replay_slot(
		&self, salt: &[u8; 32], incoming_scid: u64, outgoing_scid: u64,
		config: &ResourceManagerConfig,
	) -> u16 {
		let general_slots = self.limits.slots.min(MAX_ACCEPTED_HTLCS);
		let alloc = pair_allocation(
			general_slots,
			config.general_pair_min_slots,
			config.general_pair_slot_percent,
		);
		let mut free = NO_SLOT;
		for_each_pair_slot(salt, incoming_scid, outgoing_scid, general_slots, alloc, |slot| {
			if free == NO_SLOT && !self.is_occupied(slot) {
				free = slot;
			}
		});
		free
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn bucket(slots: u16, liquidity_msat: u64) -> GeneralBucket {
		let mut b = GeneralBucket::default();
		b.set_limits(BucketLimits { slots, liquidity_msat });
		b
	}

	#[test]
	fn a_pair_gets_its_liquidity_in_total_not_per_slot() {
		// 100 slots, 1_000_000 msat: a pair has 5 slots and 1_000_000 * 5 / 100 = 50_000 msat.
		let config = ResourceManagerConfig::default();
		let mut b = bucket(100, 1_000_000);
		let salt = [3; 32];
		let mut used = 0;
		for _ in 0..5 {
			match b.find_slot(&salt, 1, 2, 10_000, &config) {
				GeneralCheck::Slot(slot) => b.occupy(slot, 10_000),
				other => panic!("{:?}", other),
			}
			used += 10_000;
		}
		assert_eq!(used, 50_000);
		// Slots full and liquidity full at once.
		assert_eq!(b.find_slot(&salt, 1, 2, 1, &config), GeneralCheck::PairSlotsFull);
		// With one large HTLC the pair is out of liquidity long before it is out of slots:
		// giving it `alloc * per-pair liquidity` (250_000 msat) would let this through.
		let mut b = bucket(100, 1_000_000);
		let slot = match b.find_slot(&salt, 1, 2, 50_000, &config) {
			GeneralCheck::Slot(slot) => slot,
			other => panic!("{:?}", other),
		};
		b.occupy(slot, 50_000);
		assert_eq!(b.find_slot(&salt, 1, 2, 1, &config), GeneralCheck::PairLiquidityFull);
		assert_eq!(b.find_slot(&salt, 1, 2, 50_001, &config), GeneralCheck::PairLiquidityFull);
		// Another pair is not affected (unless it drew the same slot).
		assert!(matches!(b.find_slot(&salt, 1, 3, 50_000, &config), GeneralCheck::Slot(_)));
		b.release(slot, 50_000);
		assert_eq!(b.usage().used_slots, 0);
		assert_eq!(b.find_slot(&salt, 1, 2, 50_000, &config), GeneralCheck::Slot(slot));
	}

	#[test]
	fn the_bucket_caps_overlapping_pairs() {
		let config = ResourceManagerConfig::default();
		// 10 slots: every pair gets 5, and 10 * 5 / 10 = 5 msat each.
		let mut b = bucket(10, 10);
		let salt = [9; 32];
		let mut total = 0;
		for outgoing in 0..100 {
			if let GeneralCheck::Slot(slot) = b.find_slot(&salt, 1, outgoing, 5, &config) {
				b.occupy(slot, 5);
				total += 5;
			}
		}
		assert_eq!(total, 10);
		assert_eq!(b.find_slot(&salt, 1, 1_000, 1, &config), GeneralCheck::BucketFull);
	}

	#[test]
	fn no_slots_no_general() {
		let config = ResourceManagerConfig::default();
		let b = bucket(0, 1_000);
		assert_eq!(b.find_slot(&[0; 32], 1, 2, 1, &config), GeneralCheck::BucketFull);
		assert_eq!(b.replay_slot(&[0; 32], 1, 2, &config), NO_SLOT);
	}
}
