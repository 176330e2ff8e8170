// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! A sum over a rolling window, kept as an exponentially decaying average.

/// A sum over a rolling window of `window_secs` seconds, kept as a single decaying value.
///
/// Convention (the proposal's since June 2026): the value decays by `e^(-t / window)` after `t`
/// seconds, that is by `(1/2)^(1 / (ln 2 * window))` per second, so a value added `window_secs`
/// ago weighs `1/e` of a fresh one. A constant flow of `r` per second settles at `r * window`.
/// (The March 2026 text halved the value every half window instead.)
///
/// The decay is applied on every read ([`Self::value_at`]) and every [`Self::add`]. Time is never
/// read from a clock: every call passes the current time, in seconds since an arbitrary epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DecayingAverage {
	value: f64,
	last_updated_secs: u64,
	window_secs: f64,
}

impl DecayingAverage {
	/// Creates an empty average over a window of `window_secs` seconds, starting at `now_secs`.
	///
	/// `window_secs` must not be zero.
	pub fn new(window_secs: u64, now_secs: u64) -> Self {
		debug_assert!(window_secs > 0);
		Self { value: 0.0, last_updated_secs: now_secs, window_secs: window_secs as f64 }
	}

	/// The decayed value at `now_secs`. A time earlier than the last update reads the value as
	/// of the last update: time never runs backwards for the average.
	pub fn value_at(&self, now_secs: u64) -> f64 {
		let elapsed = now_secs.saturating_sub(self.last_updated_secs) as f64;
		self.value * libm::exp(-elapsed / self.window_secs)
	}

	/// Rebuilds an average from its stored parts (see [`Self::stored_value`] and
	/// [`Self::last_updated_secs`]), over a window of `window_secs` seconds.
	pub fn from_parts(window_secs: u64, stored_value: f64, last_updated_secs: u64) -> Self {
		debug_assert!(window_secs > 0);
		Self { value: stored_value, last_updated_secs, window_secs: window_secs as f64 }
	}

	/// The value as of [`Self::last_updated_secs`], undecayed: what persistence stores.
	pub fn stored_value(&self) -> f64 {
		self.value
	}

	/// The time of the last [`Self::add`], or of the creation.
	pub fn last_updated_secs(&self) -> u64 {
		self.last_updated_secs
	}

	/// Decays the value to `now_secs`, adds `amount` (which may be negative) and returns the
	/// new value.
	pub fn add(&mut self, amount: f64, now_secs: u64) -> f64 {
		self.value = self.value_at(now_secs) + amount;
		self.last_updated_secs = self.last_updated_secs.max(now_secs);
		self.value
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn keeps_one_over_e_after_a_window() {
		let mut avg = DecayingAverage::new(100, 1_000);
		assert_eq!(avg.add(80.0, 1_000), 80.0);
		let e = core::f64::consts::E;
		assert!((avg.value_at(1_100) - 80.0 / e).abs() < 1e-12);
		assert!((avg.value_at(1_200) - 80.0 / (e * e)).abs() < 1e-12);
		// Reading does not move the average; adding decays first.
		let at_half = 80.0 * libm::exp(-0.5);
		assert!((avg.add(-10.0, 1_050) - (at_half - 10.0)).abs() < 1e-12);
		assert!((avg.value_at(1_100) - (at_half - 10.0) * libm::exp(-0.5)).abs() < 1e-12);
	}

	#[test]
	fn a_constant_flow_settles_at_rate_times_window() {
		let mut avg = DecayingAverage::new(1_000, 0);
		for t in 0..20_000 {
			avg.add(1.0, t);
		}
		// The sum of e^(-k/1000) for k >= 0 is 1 / (1 - e^(-1/1000)), about 1000.5.
		assert!((avg.value_at(19_999) - 1_000.5).abs() < 0.01);
	}

	#[test]
	fn earlier_time_does_not_grow_the_value() {
		let mut avg = DecayingAverage::new(100, 1_000);
		avg.add(80.0, 1_050);
		assert_eq!(avg.value_at(900), 80.0);
		assert_eq!(avg.add(1.0, 900), 81.0);
		assert!((avg.value_at(1_150) - 81.0 / core::f64::consts::E).abs() < 1e-12);
	}
}
