// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! `incoming_revenue_threshold`: what an incoming channel has earned us, the bar an outgoing
//! channel's reputation must clear.
//!
//! The threshold is the sum of the fees of the HTLCs received on the channel and settled, over
//! one `revenue_window`. As the proposal recommends, it is averaged over `reputation_multiplier`
//! windows so that an attacker cannot shock it with a burst: it is kept as a [`DecayingAverage`]
//! over `revenue_window * reputation_multiplier`, divided by `reputation_multiplier`. Reputation
//! and threshold thus use the same window and the same decay, and a channel whose outgoing fees
//! flow at `1 / reputation_multiplier` of an incoming channel's fee rate just clears its
//! threshold.
//!
//! Only settled HTLCs earn revenue (a failed HTLC paid us nothing), and the fee counted is the one
//! our own forwarding policy charges.

use crate::decaying_average::DecayingAverage;

/// The revenue of one channel as an incoming channel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IncomingRevenue {
	average: DecayingAverage,
	reputation_multiplier: u32,
}

impl IncomingRevenue {
	/// An empty revenue history over `revenue_window_secs * reputation_multiplier`, starting at
	/// `now_secs`. `reputation_multiplier` must not be zero.
	pub fn new(revenue_window_secs: u64, reputation_multiplier: u32, now_secs: u64) -> Self {
		debug_assert!(reputation_multiplier > 0);
		let window = revenue_window_secs.saturating_mul(reputation_multiplier as u64);
		Self { average: DecayingAverage::new(window, now_secs), reputation_multiplier }
	}

	pub(crate) fn from_parts(average: DecayingAverage, reputation_multiplier: u32) -> Self {
		Self { average, reputation_multiplier }
	}

	/// Records the fee of an HTLC received on this channel and settled at `resolved_at_secs`.
	pub fn record_settled(&mut self, fee_msat: u64, resolved_at_secs: u64) {
		self.average.add(fee_msat as f64, resolved_at_secs);
	}

	/// The `incoming_revenue_threshold` at `now_secs`, in millisatoshis: the decayed revenue over
	/// the whole reputation window, divided by the multiplier.
	pub fn threshold_at(&self, now_secs: u64) -> f64 {
		self.average.value_at(now_secs) / self.reputation_multiplier as f64
	}

	pub(crate) fn average(&self) -> &DecayingAverage {
		&self.average
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn threshold_is_averaged_over_the_multiplier_windows() {
		// Window 100 s, multiplier 4: a 400 s decaying sum (halving every 200 s), divided by 4.
		let mut revenue = IncomingRevenue::new(100, 4, 0);
		revenue.record_settled(8_000, 0);
		assert_eq!(revenue.threshold_at(0), 2_000.0);
		assert_eq!(revenue.threshold_at(200), 1_000.0);
		revenue.record_settled(4_000, 200);
		// (8000 / 2 + 4000) / 4 at 200 s, then halved at 400 s.
		assert_eq!(revenue.threshold_at(200), 2_000.0);
		assert_eq!(revenue.threshold_at(400), 1_000.0);
	}

	#[test]
	fn a_burst_moves_the_threshold_by_a_multiplier_th() {
		let config = crate::ResourceManagerConfig::default();
		let mut revenue =
			IncomingRevenue::new(config.revenue_window_secs, config.reputation_multiplier, 0);
		revenue.record_settled(1_200_000, 10);
		assert_eq!(revenue.threshold_at(10), 100_000.0);
	}
}
