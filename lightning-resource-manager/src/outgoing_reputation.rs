// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! `outgoing_reputation`: what an outgoing channel has earned us, net of the time it made us wait.
//!
//! For each HTLC we offered on a channel and that was resolved, the channel earns an
//! [`effective_fee`]; its reputation is the sum of those over the last
//! `revenue_window * reputation_multiplier` (see [`ResourceManagerConfig::reputation_window_secs`]),
//! kept as a [`DecayingAverage`].
//!
//! The fee is always the one **our own forwarding policy** charges for the HTLC, never what the
//! sender paid: overpaying must not buy reputation.
//!
//! [`ResourceManagerConfig::reputation_window_secs`]: crate::ResourceManagerConfig::reputation_window_secs

use crate::decaying_average::DecayingAverage;

/// The opportunity cost of holding an HTLC for `hold_secs` seconds:
/// `max(0, (hold_secs - resolution_period) / resolution_period) * fee`.
///
/// Real-valued, not stepped: an HTLC held one and a half resolution periods costs half its fee.
/// `resolution_period_secs` must not be zero (see [`ResourceManagerConfig::validate`]).
///
/// [`ResourceManagerConfig::validate`]: crate::ResourceManagerConfig::validate
pub fn opportunity_cost(hold_secs: u64, fee_msat: u64, resolution_period_secs: u64) -> f64 {
	debug_assert!(resolution_period_secs > 0);
	if hold_secs <= resolution_period_secs {
		return 0.0;
	}
	// The numerator is exact in integers; one rounding happens in the division.
	let numerator = fee_msat as u128 * (hold_secs - resolution_period_secs) as u128;
	numerator as f64 / resolution_period_secs as f64
}

/// The effective fee a resolved outgoing HTLC adds to its channel's [`OutgoingReputation`]:
///
/// | forwarded     | settled                          | failed                 |
/// | ------------- | -------------------------------- | ---------------------- |
/// | accountable   | `fee - opportunity_cost`         | `-opportunity_cost`    |
/// | unaccountable | `fee` if held at most the resolution period, else 0 | 0 |
///
/// An unaccountable HTLC never lowers reputation: its sender was not told it would. The manager
/// counts an HTLC on protected or congestion resources as accountable here whatever signal it
/// left with (see [`DefaultResourceManager`]): it holds resources only reputation can buy.
///
/// [`DefaultResourceManager`]: crate::DefaultResourceManager
pub fn effective_fee(
	fee_msat: u64, hold_secs: u64, settled: bool, outgoing_accountable: bool,
	resolution_period_secs: u64,
) -> f64 {
	if outgoing_accountable {
		let cost = opportunity_cost(hold_secs, fee_msat, resolution_period_secs);
		if settled {
			fee_msat as f64 - cost
		} else {
			-cost
		}
	} else if settled && hold_secs <= resolution_period_secs {
		fee_msat as f64
	} else {
		0.0
	}
}

/// The reputation of one channel as an outgoing channel: the decaying sum of the
/// [`effective_fee`]s of the HTLCs we offered on it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OutgoingReputation {
	average: DecayingAverage,
	resolved_htlcs: u64,
}

impl OutgoingReputation {
	/// An empty reputation over `reputation_window_secs`, starting at `now_secs`.
	pub fn new(reputation_window_secs: u64, now_secs: u64) -> Self {
		Self { average: DecayingAverage::new(reputation_window_secs, now_secs), resolved_htlcs: 0 }
	}

	/// Rebuilds a reputation from persisted parts.
	pub(crate) fn from_parts(average: DecayingAverage, resolved_htlcs: u64) -> Self {
		Self { average, resolved_htlcs }
	}

	/// The reputation at `now_secs`, in millisatoshis (may be negative).
	pub fn value_at(&self, now_secs: u64) -> f64 {
		self.average.value_at(now_secs)
	}

	/// Adds the effective fee of an HTLC resolved at `resolved_at_secs`.
	pub fn record_resolution(&mut self, effective_fee_msat: f64, resolved_at_secs: u64) {
		self.average.add(effective_fee_msat, resolved_at_secs);
		self.resolved_htlcs = self.resolved_htlcs.saturating_add(1);
	}

	/// How many outgoing HTLCs on this channel were ever resolved. Zero means the channel has no
	/// history (see the JIT rule in [`DefaultResourceManager`]).
	///
	/// [`DefaultResourceManager`]: crate::DefaultResourceManager
	pub fn resolved_htlcs(&self) -> u64 {
		self.resolved_htlcs
	}

	pub(crate) fn average(&self) -> &DecayingAverage {
		&self.average
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn opportunity_cost_is_real_valued() {
		// Within the resolution period: free.
		assert_eq!(opportunity_cost(0, 1_000, 90), 0.0);
		assert_eq!(opportunity_cost(90, 1_000, 90), 0.0);
		// 135 s = 1.5 periods: (135 - 90) / 90 * 1000 = 500, not a step to 0 or 1000.
		assert_eq!(opportunity_cost(135, 1_000, 90), 500.0);
		// 91 s: 1/90 of the fee.
		assert_eq!(opportunity_cost(91, 900, 90), 10.0);
		// A two-week hold: (1_209_600 - 90) / 90 * 1000.
		assert_eq!(opportunity_cost(1_209_600, 1_000, 90), 13_439_000.0);
	}

	#[test]
	fn effective_fee_table() {
		// Accountable, settled after 180 s: 1000 - (180 - 90) / 90 * 1000 = 0.
		assert_eq!(effective_fee(1_000, 180, true, true, 90), 0.0);
		// Accountable, settled after 120 s: 1000 - 30 / 90 * 1000 = 666.66...
		assert!((effective_fee(1_000, 120, true, true, 90) - 2_000.0 / 3.0).abs() < 1e-9);
		// Accountable, failed after 270 s: -(180 / 90) * 1000.
		assert_eq!(effective_fee(1_000, 270, false, true, 90), -2_000.0);
		// Accountable, fast: the fee or nothing.
		assert_eq!(effective_fee(1_000, 5, true, true, 90), 1_000.0);
		assert_eq!(effective_fee(1_000, 5, false, true, 90), 0.0);
		// Unaccountable: the fee when settled in time, otherwise 0, never negative.
		assert_eq!(effective_fee(1_000, 90, true, false, 90), 1_000.0);
		assert_eq!(effective_fee(1_000, 91, true, false, 90), 0.0);
		assert_eq!(effective_fee(1_000, 100_000, false, false, 90), 0.0);
	}

	#[test]
	fn reputation_decays_with_the_window() {
		// Window 1000 s: the value keeps 1/e of itself every 1000 s.
		let mut rep = OutgoingReputation::new(1_000, 0);
		assert_eq!(rep.resolved_htlcs(), 0);
		rep.record_resolution(1_000.0, 0);
		rep.record_resolution(-200.0, 1_000);
		// 1000 / e - 200 at 1000 s, a further 1/e at 2000 s.
		let e = core::f64::consts::E;
		assert!((rep.value_at(1_000) - (1_000.0 / e - 200.0)).abs() < 1e-9);
		assert!((rep.value_at(2_000) - (1_000.0 / e - 200.0) / e).abs() < 1e-9);
		assert_eq!(rep.resolved_htlcs(), 2);
	}
}
