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
//! one `revenue_window`. As the proposal (June 2026) has it, it is kept as one
//! [`DecayingAverage`] over `revenue_window * revenue_window_count` (`window_total`, at least 6),
//! so that a burst cannot shock it, read at `now` and divided by the warm-up factor
//!
//! `revenue_window_count * (1 - e^(-periods_elapsed / revenue_window_count))`
//!
//! where `periods_elapsed = (now - start) / revenue_window` and `start` is when the channel began
//! to forward. Under a constant fee flow the threshold is then exactly one window's revenue, from
//! the first day on: a young channel's threshold is its revenue so far extrapolated to a whole
//! window, not that revenue divided by the number of windows. Once the channel is many windows
//! old, the factor is `revenue_window_count`.
//!
//! The start is the time of the first forward from the channel the manager took (or of its first
//! settled fee, if earlier): channels are announced without a time. State persisted before the start was
//! recorded counts as warmed up.
//!
//! Only settled HTLCs earn revenue (a failed HTLC paid us nothing), and the fee counted is the one
//! our own forwarding policy charges.

use crate::decaying_average::DecayingAverage;

/// The revenue of one channel as an incoming channel.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct IncomingRevenue {
	average: DecayingAverage,
	revenue_window_secs: u64,
	window_count: u32,
	start_secs: Option<u64>,
}

impl IncomingRevenue {
	/// An empty revenue history over `revenue_window_secs * window_count`, not started.
	/// `revenue_window_secs` and `window_count` must not be zero.
	pub fn new(revenue_window_secs: u64, window_count: u32, now_secs: u64) -> Self {
		debug_assert!(revenue_window_secs > 0 && window_count > 0);
		let window = revenue_window_secs.saturating_mul(window_count as u64);
		let average = DecayingAverage::new(window, now_secs);
		Self { average, revenue_window_secs, window_count, start_secs: None }
	}

	pub(crate) fn from_parts(
		average: DecayingAverage, revenue_window_secs: u64, window_count: u32,
		start_secs: Option<u64>,
	) -> Self {
		Self { average, revenue_window_secs, window_count, start_secs }
	}

	/// Records that the channel forwards from `now_secs` on, unless it did before.
	pub fn start(&mut self, now_secs: u64) {
		self.start_secs = Some(self.start_secs.map_or(now_secs, |start| start.min(now_secs)));
	}

	/// When the channel began to forward, if it did.
	pub fn start_secs(&self) -> Option<u64> {
		self.start_secs
	}

	/// Records the fee of an HTLC received on this channel and settled at `resolved_at_secs`.
	pub fn record_settled(&mut self, fee_msat: u64, resolved_at_secs: u64) {
		if self.start_secs.is_none() {
			self.start_secs = Some(resolved_at_secs);
		}
		self.average.add(fee_msat as f64, resolved_at_secs);
	}

	/// The `incoming_revenue_threshold` at `now_secs`, in millisatoshis: the decayed revenue
	/// divided by the warm-up factor.
	pub fn threshold_at(&self, now_secs: u64) -> f64 {
		let value = self.average.value_at(now_secs);
		if value == 0.0 {
			return 0.0;
		}
		let count = self.window_count as f64;
		let start = self.start_secs.unwrap_or(now_secs);
		// At least a second: the factor is zero at the start itself.
		let elapsed = now_secs.saturating_sub(start).max(1) as f64;
		let periods = elapsed / self.revenue_window_secs as f64;
		let warmup = count * -libm::expm1(-periods / count);
		value / warmup
	}

	pub(crate) fn average(&self) -> &DecayingAverage {
		&self.average
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn a_warm_channels_threshold_is_the_average_over_the_windows() {
		// Window 100 s, 6 windows: a 600 s decaying sum. After 100 windows the warm-up factor is
		// 6 * (1 - e^(-100 / 6)), 6 to 7 decimal places.
		let mut revenue = IncomingRevenue::new(100, 6, 0);
		revenue.start(0);
		revenue.record_settled(6_000, 10_000);
		assert!((revenue.threshold_at(10_000) - 1_000.0).abs() < 1e-3);
		let later = 1_000.0 * libm::exp(-1.0);
		assert!((revenue.threshold_at(10_600) - later).abs() < 1e-3);
	}

	#[test]
	fn a_constant_flow_gives_one_windows_revenue_from_the_start() {
		// 1 msat a second over windows of 1000 s: the threshold is 1000 at any age.
		let mut revenue = IncomingRevenue::new(1_000, 6, 0);
		revenue.start(0);
		for t in 1..=20_000u64 {
			revenue.record_settled(1, t);
			if t == 500 || t == 3_000 || t == 20_000 {
				let threshold = revenue.threshold_at(t);
				assert!((threshold - 1_000.0).abs() < 1.0, "{} at {}", threshold, t);
			}
		}
	}

	#[test]
	fn no_revenue_no_threshold() {
		let revenue = IncomingRevenue::new(100, 6, 0);
		assert_eq!(revenue.threshold_at(0), 0.0);
		assert_eq!(revenue.threshold_at(1_000_000), 0.0);
	}
}
