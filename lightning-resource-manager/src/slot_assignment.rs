// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! Slot assignment: which general-bucket slots an `(incoming, outgoing)` channel pair may use.
//!
//! Each pair may use `alloc = max(5, general_slots * 5 / 100)` slot indices of the incoming
//! channel's general bucket (capped at `general_slots`; the 5 and 5 % are
//! [`ResourceManagerConfig::general_pair_min_slots`] and
//! [`ResourceManagerConfig::general_pair_slot_percent`]). The indices are drawn from the ChaCha20
//! keystream (RFC 8439: 32-byte key, 12-byte nonce, 32-bit block counter starting at 0):
//!
//! - key: the incoming channel's 32-byte salt, drawn at random once per channel and persisted, so
//!   the assignment survives a restart but cannot be predicted by a peer;
//! - nonce: `incoming_scid[0..4] || outgoing_scid[0..8]`, each short channel id in its big-endian
//!   (BOLT 7 wire) byte order, so the first four bytes are the incoming channel's funding block
//!   height and the high byte of its transaction index;
//! - the keystream is read four bytes at a time as little-endian `u32`s, each taken modulo
//!   `general_slots`, keeping the first `alloc` distinct indices in draw order.
//!
//! The pair's liquidity is `general_liquidity * alloc / general_slots` **in total**, not per slot.
//!
//! Nothing here allocates or caches: one ChaCha20 block (16 draws) covers the default allocation
//! of any channel, so recomputing the assignment on each decision is cheaper than a cache lookup
//! and needs no memory. The only state, a 512-bit "already drawn" set, lives on the stack.
//!
//! [`ResourceManagerConfig::general_pair_min_slots`]: crate::ResourceManagerConfig::general_pair_min_slots
//! [`ResourceManagerConfig::general_pair_slot_percent`]: crate::ResourceManagerConfig::general_pair_slot_percent

use crate::config::MAX_ACCEPTED_HTLCS;
use chacha20_poly1305::chacha20::ChaCha20;
use chacha20_poly1305::{Key, Nonce};

/// Words of a bitmap with one bit per possible slot index.
pub(crate) const BITMAP_WORDS: usize = (MAX_ACCEPTED_HTLCS as usize).div_ceil(64);

/// How many keystream blocks (16 draws each) are read at most. With the real cipher the default
/// allocation never needs more than a few; the bound only keeps a degenerate keystream (such as
/// the all-zero one of the cipher crate's fuzzing build) from looping forever. When it is reached,
/// the missing indices are the lowest ones not yet drawn.
const MAX_KEYSTREAM_BLOCKS: u32 = 256;

/// The number of general slots an `(incoming, outgoing)` pair may use:
/// `min(general_slots, max(min_slots, general_slots * slot_percent / 100))`.
pub fn pair_allocation(general_slots: u16, min_slots: u16, slot_percent: u8) -> u16 {
	let by_share = (general_slots as u32 * slot_percent as u32 / 100) as u16;
	general_slots.min(min_slots.max(by_share))
}

/// The liquidity an `(incoming, outgoing)` pair may use in the general bucket, in total over all
/// its slots: `general_liquidity * alloc / general_slots` (zero when there are no general slots).
pub fn pair_liquidity_msat(general_liquidity_msat: u64, alloc: u16, general_slots: u16) -> u64 {
	if general_slots == 0 {
		return 0;
	}
	(general_liquidity_msat as u128 * alloc as u128 / general_slots as u128) as u64
}

/// The ChaCha20 nonce of a pair: `incoming_scid[0..4] || outgoing_scid[0..8]`, big-endian.
pub fn pair_nonce(incoming_scid: u64, outgoing_scid: u64) -> [u8; 12] {
	let mut nonce = [0u8; 12];
	nonce[..4].copy_from_slice(&incoming_scid.to_be_bytes()[..4]);
	nonce[4..].copy_from_slice(&outgoing_scid.to_be_bytes());
	nonce
}

/// Calls `f` with each of the pair's `alloc` distinct slot indices, in draw order, without
/// allocating. `general_slots` above [`MAX_ACCEPTED_HTLCS`] is treated as that maximum, and
/// `alloc` above `general_slots` as `general_slots` (every slot).
pub fn for_each_pair_slot<F: FnMut(u16)>(
	salt: &[u8; 32], incoming_scid: u64, outgoing_scid: u64, general_slots: u16, alloc: u16,
	mut f: F,
) {
	let general_slots = general_slots.min(MAX_ACCEPTED_HTLCS);
	let alloc = alloc.min(general_slots);
	if alloc == general_slots {
		// Every slot is the pair's: no need to draw.
		for slot in 0..general_slots {
			f(slot);
		}
		return;
	}
	let mut drawn = [0u64; BITMAP_WORDS];
	let mut found = 0u16;
	let cipher = ChaCha20::new_from_block(
		Key::new(*salt),
		Nonce::new(pair_nonce(incoming_scid, outgoing_scid)),
		0,
	);
	'blocks: for block in 0..MAX_KEYSTREAM_BLOCKS {
		let keystream = cipher.get_keystream(block);
		for word in keystream.chunks_exact(4) {
			let draw = u32::from_le_bytes([word[0], word[1], word[2], word[3]]);
			let slot = (draw % general_slots as u32) as u16;
			let (idx, bit) = (slot as usize / 64, 1u64 << (slot % 64));
			if drawn[idx] & bit == 0 {
				drawn[idx] |= bit;
				f(slot);
				found += 1;
				if found == alloc {
					break 'blocks;
				}
			}
		}
	}
	let mut slot = 0;
	while found < alloc && slot < general_slots {
		let (idx, bit) = (slot as usize / 64, 1u64 << (slot % 64));
		if drawn[idx] & bit == 0 {
			drawn[idx] |= bit;
			f(slot);
			found += 1;
		}
		slot += 1;
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::prelude::*;

	fn slots(salt: &[u8; 32], incoming: u64, outgoing: u64, general: u16, alloc: u16) -> Vec<u16> {
		let mut v = Vec::new();
		for_each_pair_slot(salt, incoming, outgoing, general, alloc, |s| v.push(s));
		v
	}

	#[test]
	fn allocation_and_liquidity() {
		// 483 slots, 40 % general = 193: 193 * 5 / 100 = 9 (rounded down) > 5.
		assert_eq!(pair_allocation(193, 5, 5), 9);
		// Small channels get the floor of 5 ...
		assert_eq!(pair_allocation(30, 5, 5), 5);
		// ... but never more than there are.
		assert_eq!(pair_allocation(3, 5, 5), 3);
		// Liquidity in total, not per slot: 1_930_000 * 9 / 193 = 90_000.
		assert_eq!(pair_liquidity_msat(1_930_000, 9, 193), 90_000);
		assert_eq!(pair_liquidity_msat(1_000, 5, 0), 0);
	}

	#[test]
	fn nonce_layout() {
		let nonce = pair_nonce(0x0102_0304_0506_0708, 0x1112_1314_1516_1718);
		assert_eq!(nonce, [1, 2, 3, 4, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17, 0x18]);
	}

	#[test]
	fn draws_follow_the_rfc8439_keystream() {
		// Key and nonce all zero (RFC 8439, A.1, test vector 1): block 0 starts
		// 76 b8 e0 ad | a0 f1 3d 90 | 40 5d 6a e5 | 53 86 bd 28 | bd d2 19 b8 | a0 8d ed 1a | ...
		// Little-endian u32s: 0xade0b876, 0x903df1a0, 0xe56a5d40, 0x28bd8653, 0xb819d2bd, ...
		// Modulo 100: 2917185654 % 100 = 54, 2419978656 % 100 = 56, 3848953152 % 100 = 52,
		// 683509331 % 100 = 31, 3088700093 % 100 = 93: five distinct slots from five draws.
		assert_eq!(0xade0b876u32 % 100, 54);
		assert_eq!(slots(&[0; 32], 0, 0, 100, 5), vec![54, 56, 52, 31, 93]);
		assert_eq!(slots(&[0; 32], 0, 0, 193, 9), vec![111, 99, 86, 24, 82, 153, 166, 75, 110]);
	}

	#[test]
	fn distinct_deterministic_and_salted() {
		let salt = [7u8; 32];
		let a = slots(&salt, 700_000 << 40, 800_000 << 40, 193, 9);
		assert_eq!(a.len(), 9);
		let mut sorted = a.clone();
		sorted.sort();
		sorted.dedup();
		assert_eq!(sorted.len(), 9);
		assert!(a.iter().all(|s| *s < 193));
		// Same inputs, same slots (a restart with the persisted salt finds them again).
		assert_eq!(a, slots(&salt, 700_000 << 40, 800_000 << 40, 193, 9));
		// Another salt or another pair draws other slots.
		assert_ne!(a, slots(&[8u8; 32], 700_000 << 40, 800_000 << 40, 193, 9));
		assert_ne!(a, slots(&salt, 700_000 << 40, 800_001 << 40, 193, 9));
	}

	#[test]
	fn whole_bucket_and_large_allocations() {
		assert_eq!(slots(&[1; 32], 1, 2, 4, 5), vec![0, 1, 2, 3]);
		// A coupon-collector draw of 190 of 193 slots still ends with distinct slots.
		let many = slots(&[1; 32], 1, 2, 193, 190);
		let mut sorted = many.clone();
		sorted.sort();
		sorted.dedup();
		assert_eq!(sorted.len(), 190);
		assert!(slots(&[1; 32], 1, 2, 0, 5).is_empty());
	}
}
