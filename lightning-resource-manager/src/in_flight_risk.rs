// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! `in_flight_risk`: what the accountable HTLCs in flight on an outgoing channel could still cost
//! it.
//!
//! For each accountable HTLC in flight on the outgoing channel, the risk is the
//! [`opportunity_cost`] of the longest hold it may ask for: `(incoming_cltv_expiry -
//! height_added) * 600` seconds. That is a hold **duration**, never an absolute block height.
//!
//! The risk is kept as a running sum, so reading it costs nothing whatever the number of HTLCs
//! in flight. The sum is exact: each HTLC contributes the integer numerator
//! `fee * (hold - resolution_period)` of its opportunity cost, and the division by the
//! resolution period happens on read, so adding and removing HTLCs in any order returns the sum to
//! exactly zero.
//!
//! [`opportunity_cost`]: crate::outgoing_reputation::opportunity_cost

use crate::config::SECS_PER_BLOCK;

/// The longest an HTLC may be held, in blocks: `incoming_cltv_expiry - height_added`, zero when
/// the expiry is already behind us.
pub fn hold_blocks(incoming_cltv_expiry: u32, height_added: u32) -> u32 {
	incoming_cltv_expiry.saturating_sub(height_added)
}

/// The numerator of an HTLC's risk: `fee * max(0, hold_blocks * 600 - resolution_period)`. The
/// risk is this divided by the resolution period (see [`htlc_risk`]).
pub fn htlc_risk_numerator(fee_msat: u64, hold_blocks: u32, resolution_period_secs: u64) -> u128 {
	let hold_secs = hold_blocks as u64 * SECS_PER_BLOCK;
	fee_msat as u128 * hold_secs.saturating_sub(resolution_period_secs) as u128
}

/// The risk of one accountable HTLC, in millisatoshis: the [`opportunity_cost`] of holding it
/// `(incoming_cltv_expiry - height_added) * 600` seconds.
///
/// [`opportunity_cost`]: crate::outgoing_reputation::opportunity_cost
pub fn htlc_risk(
	fee_msat: u64, incoming_cltv_expiry: u32, height_added: u32, resolution_period_secs: u64,
) -> f64 {
	let hold = hold_blocks(incoming_cltv_expiry, height_added);
	htlc_risk_numerator(fee_msat, hold, resolution_period_secs) as f64
		/ resolution_period_secs as f64
}

/// The running sum of the risk of the accountable HTLCs in flight on one outgoing channel.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InFlightRisk {
	numerator_sum: u128,
	htlcs: u32,
}

impl InFlightRisk {
	/// Adds an HTLC whose risk numerator is `numerator` (see [`htlc_risk_numerator`]).
	pub fn add(&mut self, numerator: u128) {
		self.numerator_sum = self.numerator_sum.saturating_add(numerator);
		self.htlcs = self.htlcs.saturating_add(1);
	}

	/// Removes an HTLC added with [`Self::add`] and the same `numerator`.
	pub fn remove(&mut self, numerator: u128) {
		debug_assert!(self.htlcs > 0 && self.numerator_sum >= numerator);
		self.numerator_sum = self.numerator_sum.saturating_sub(numerator);
		self.htlcs = self.htlcs.saturating_sub(1);
	}

	/// The risk of the in-flight accountable HTLCs, in millisatoshis.
	pub fn value(&self, resolution_period_secs: u64) -> f64 {
		self.numerator_sum as f64 / resolution_period_secs as f64
	}

	/// How many accountable HTLCs are in flight.
	pub fn htlcs(&self) -> u32 {
		self.htlcs
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::outgoing_reputation::opportunity_cost;

	#[test]
	fn risk_uses_the_hold_duration_not_the_height() {
		// Added at height 800_000 with expiry 800_040: 40 blocks = 24_000 s of hold.
		// (24_000 - 90) / 90 * 1000 msat.
		let risk = htlc_risk(1_000, 800_040, 800_000, 90);
		assert_eq!(risk, 23_910_000.0 / 90.0);
		assert_eq!(risk, opportunity_cost(24_000, 1_000, 90));
		// Using the absolute expiry as a duration would be off by orders of magnitude.
		assert!(risk < opportunity_cost(800_040 * 600, 1_000, 90) / 10_000.0);
		// An expiry already behind us is no risk.
		assert_eq!(htlc_risk(1_000, 10, 20, 90), 0.0);
	}

	#[test]
	fn running_sum_returns_to_zero() {
		let mut risk = InFlightRisk::default();
		let a = htlc_risk_numerator(1_000, 40, 90);
		let b = htlc_risk_numerator(7, 144, 90);
		risk.add(a);
		risk.add(b);
		assert_eq!(risk.htlcs(), 2);
		assert_eq!(risk.value(90), (a + b) as f64 / 90.0);
		risk.remove(a);
		assert_eq!(risk.value(90), b as f64 / 90.0);
		risk.remove(b);
		assert_eq!(risk, InFlightRisk::default());
	}
}
