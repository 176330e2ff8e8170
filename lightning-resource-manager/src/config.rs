// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! The parameters of the algorithm, with the BOLT proposal's defaults, validated at construction.

use core::fmt;

/// Seconds per block, as the BOLT proposal counts them when it turns block counts into time.
pub const SECS_PER_BLOCK: u64 = 600;

/// The largest number of HTLC slots a channel may offer, per BOLT 2. A channel announcing more is
/// treated as offering this many.
pub const MAX_ACCEPTED_HTLCS: u16 = 483;

/// Whether [`DefaultResourceManager`] fails what the algorithm rejects, or only counts it.
///
/// [`DefaultResourceManager`]: crate::DefaultResourceManager
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
	/// Fail every HTLC the algorithm rejects (`temporary_channel_failure`).
	Enforce,
	/// Forward everything, with the outgoing `accountable` signal the algorithm would set; log and
	/// count what would have been failed (see [`ResourceManagerStats::would_have_failed`]).
	///
	/// [`ResourceManagerStats::would_have_failed`]: crate::ResourceManagerStats::would_have_failed
	Shadow,
}

/// What to do with an HTLC that arrived without `accountable`, whose sender did not allow an
/// upgrade (no `upgrade_accountability` marker in the onion), and that could only be forwarded on
/// protected resources.
///
/// Forwarding it on protected resources would mean setting `accountable` on the outgoing HTLC,
/// which the relay rule forbids without the marker. Either way the HTLC cannot hold protected
/// resources for free: forwarded, it carries its in-flight risk against its outgoing channel and
/// a slow resolution costs that channel reputation as if it had left `accountable` (see
/// [`DefaultResourceManager`]); what is lost is only the signal to the downstream peer. Failing
/// it hurts honest senders whose software does not know the marker yet.
///
/// The jamming demo measured both over its long horizon, with honest senders that do not set
/// the marker (`cargo run -p jamming-demo -- --long-horizon --honest-without-marker
/// --unmarked-policy fail`): failing them leaves them nothing once an attacker has filled the
/// general bucket (honest success fell to 45 % under JIT waiver abuse and 76 % under congestion
/// abuse), while forwarding them kept honest success at peacetime's under every attack; an
/// about-turn attacker held protected resources for as long under either policy, as it pays
/// for them under both. Hence the default.
///
/// [`DefaultResourceManager`]: crate::DefaultResourceManager
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnmarkedProtectedPolicy {
	/// Forward it on protected resources, with `accountable` unset on the outgoing HTLC, bearing
	/// its risk like any HTLC there. Only outgoing channels with sufficient reputation get this,
	/// so a jamming peer without reputation still cannot reach the protected slots. The default.
	ForwardUnaccountable,
	/// Treat protected resources as unavailable to it: it is failed unless another bucket takes it
	/// (congestion does not, since it requires the marker too).
	Fail,
}

/// The parameters of [`DefaultResourceManager`]. [`Default`] gives the BOLT proposal's values;
/// [`ResourceManagerConfig::validate`] rejects nonsense, and [`DefaultResourceManager::new`]
/// calls it.
///
/// All durations are in seconds, all amounts in millisatoshis.
///
/// [`DefaultResourceManager`]: crate::DefaultResourceManager
/// [`DefaultResourceManager::new`]: crate::DefaultResourceManager::new
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ResourceManagerConfig {
	/// Enforce or shadow. Default: [`Mode::Enforce`].
	pub mode: Mode,
	/// A resolution this fast is "good behaviour"; slower resolutions carry an opportunity cost
	/// (see [`opportunity_cost`]). Default: 90 seconds. Must not be zero.
	///
	/// [`opportunity_cost`]: crate::outgoing_reputation::opportunity_cost
	pub resolution_period_secs: u64,
	/// The largest hold an HTLC may ask for, and the window of
	/// [`incoming_revenue_threshold`]. Also the look-back of congestion eligibility (an outgoing
	/// channel that resolved a congestion HTLC slowly within this window is not eligible).
	/// Default: 2016 blocks of 600 seconds (two weeks). Must not be zero.
	///
	/// [`incoming_revenue_threshold`]: crate::incoming_revenue_threshold
	pub revenue_window_secs: u64,
	/// Reputation looks back `revenue_window_secs * reputation_multiplier`. Default: 12. Must not
	/// be zero.
	pub reputation_multiplier: u32,
	/// The revenue threshold is averaged over this many revenue windows (the proposal's
	/// `window_total`), so that a burst cannot shock it (see [`incoming_revenue_threshold`]).
	/// Default: 6. At least 6.
	///
	/// [`incoming_revenue_threshold`]: crate::incoming_revenue_threshold
	pub revenue_window_count: u32,
	/// Share, in percent, of the incoming channel's slots and liquidity given to the general
	/// bucket. Default: 40.
	pub general_bucket_percent: u8,
	/// Share, in percent, given to the congestion bucket. Default: 20.
	pub congestion_bucket_percent: u8,
	/// Share, in percent, given to the protected bucket. Default: 40. The three shares must not
	/// sum over 100; when they sum to exactly 100, the slot and liquidity left over by rounding
	/// down go to the protected bucket.
	pub protected_bucket_percent: u8,
	/// The fewest general slots an `(incoming, outgoing)` channel pair may use. Default: 5. Must
	/// not be zero.
	pub general_pair_min_slots: u16,
	/// The share, in percent, of the general slots an `(incoming, outgoing)` channel pair may use
	/// when that is more than [`Self::general_pair_min_slots`]. Default: 5. At most 100.
	pub general_pair_slot_percent: u8,
	/// See [`UnmarkedProtectedPolicy`]. Default:
	/// [`UnmarkedProtectedPolicy::ForwardUnaccountable`].
	pub unmarked_protected: UnmarkedProtectedPolicy,
	/// How many forwards released by the user onto a channel without history may have its lack
	/// of reputation waived (see the JIT rule of [`DefaultResourceManager`]): enough for the
	/// parts of the payment a JIT channel is opened for. Default: 10, the most paths LDK splits a
	/// payment into by default. Zero turns the waiver off.
	///
	/// [`DefaultResourceManager`]: crate::DefaultResourceManager
	pub jit_waiver_max_htlcs: u16,
}

impl Default for ResourceManagerConfig {
	fn default() -> Self {
		Self {
			mode: Mode::Enforce,
			resolution_period_secs: 90,
			revenue_window_secs: 2016 * SECS_PER_BLOCK,
			reputation_multiplier: 12,
			revenue_window_count: 6,
			general_bucket_percent: 40,
			congestion_bucket_percent: 20,
			protected_bucket_percent: 40,
			general_pair_min_slots: 5,
			general_pair_slot_percent: 5,
			unmarked_protected: UnmarkedProtectedPolicy::ForwardUnaccountable,
			jit_waiver_max_htlcs: 10,
		}
	}
}

/// Why a [`ResourceManagerConfig`] was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
	/// [`ResourceManagerConfig::resolution_period_secs`] is zero.
	ZeroResolutionPeriod,
	/// [`ResourceManagerConfig::revenue_window_secs`] is zero.
	ZeroRevenueWindow,
	/// [`ResourceManagerConfig::reputation_multiplier`] is zero.
	ZeroReputationMultiplier,
	/// `revenue_window_secs * reputation_multiplier`, or `revenue_window_secs *
	/// revenue_window_count`, does not fit in a `u64`.
	ReputationWindowOverflow,
	/// [`ResourceManagerConfig::revenue_window_count`] is below 6, the proposal's minimum (the
	/// count is given).
	TooFewRevenueWindows(u32),
	/// The three bucket shares sum to more than 100 percent (the sum is given).
	BucketSharesOver100(u16),
	/// [`ResourceManagerConfig::general_pair_min_slots`] is zero.
	ZeroGeneralPairMinSlots,
	/// [`ResourceManagerConfig::general_pair_slot_percent`] is over 100.
	GeneralPairSlotPercentOver100(u8),
}

impl fmt::Display for ConfigError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			Self::ZeroResolutionPeriod => f.write_str("resolution_period_secs must not be zero"),
			Self::ZeroRevenueWindow => f.write_str("revenue_window_secs must not be zero"),
			Self::ZeroReputationMultiplier => f.write_str("reputation_multiplier must not be zero"),
			Self::ReputationWindowOverflow => {
				f.write_str("revenue_window_secs * reputation_multiplier overflows a u64")
			},
			Self::TooFewRevenueWindows(count) => {
				write!(f, "revenue_window_count is {}, fewer than 6", count)
			},
			Self::BucketSharesOver100(sum) => {
				write!(f, "bucket shares sum to {}%, more than 100%", sum)
			},
			Self::ZeroGeneralPairMinSlots => f.write_str("general_pair_min_slots must not be zero"),
			Self::GeneralPairSlotPercentOver100(p) => {
				write!(f, "general_pair_slot_percent is {}%, more than 100%", p)
			},
		}
	}
}

#[cfg(feature = "std")]
impl std::error::Error for ConfigError {}

impl ResourceManagerConfig {
	/// Checks the parameters, returning the first problem found.
	pub fn validate(&self) -> Result<(), ConfigError> {
		if self.resolution_period_secs == 0 {
			return Err(ConfigError::ZeroResolutionPeriod);
		}
		if self.revenue_window_secs == 0 {
			return Err(ConfigError::ZeroRevenueWindow);
		}
		if self.reputation_multiplier == 0 {
			return Err(ConfigError::ZeroReputationMultiplier);
		}
		if self.revenue_window_secs.checked_mul(self.reputation_multiplier as u64).is_none() {
			return Err(ConfigError::ReputationWindowOverflow);
		}
		if self.revenue_window_count < 6 {
			return Err(ConfigError::TooFewRevenueWindows(self.revenue_window_count));
		}
		if self.revenue_window_secs.checked_mul(self.revenue_window_count as u64).is_none() {
			return Err(ConfigError::ReputationWindowOverflow);
		}
		let shares = self.general_bucket_percent as u16
			+ self.congestion_bucket_percent as u16
			+ self.protected_bucket_percent as u16;
		if shares > 100 {
			return Err(ConfigError::BucketSharesOver100(shares));
		}
		if self.general_pair_min_slots == 0 {
			return Err(ConfigError::ZeroGeneralPairMinSlots);
		}
		if self.general_pair_slot_percent > 100 {
			return Err(ConfigError::GeneralPairSlotPercentOver100(self.general_pair_slot_percent));
		}
		Ok(())
	}

	/// The look-back of [`outgoing_reputation`]: `revenue_window_secs * reputation_multiplier`.
	///
	/// [`outgoing_reputation`]: crate::outgoing_reputation
	pub fn reputation_window_secs(&self) -> u64 {
		self.revenue_window_secs.saturating_mul(self.reputation_multiplier as u64)
	}

	/// The window of the revenue threshold's decaying average: `revenue_window_secs *
	/// revenue_window_count`.
	pub fn revenue_average_window_secs(&self) -> u64 {
		self.revenue_window_secs.saturating_mul(self.revenue_window_count as u64)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn defaults_are_the_proposals() {
		let config = ResourceManagerConfig::default();
		assert_eq!(config.validate(), Ok(()));
		assert_eq!(config.resolution_period_secs, 90);
		assert_eq!(config.revenue_window_secs, 1_209_600);
		assert_eq!(config.reputation_window_secs(), 14_515_200);
		assert_eq!(config.revenue_average_window_secs(), 7_257_600);
		assert_eq!(
			(
				config.general_bucket_percent,
				config.congestion_bucket_percent,
				config.protected_bucket_percent
			),
			(40, 20, 40)
		);
		assert_eq!(config.mode, Mode::Enforce);
	}

	#[test]
	fn nonsense_is_rejected() {
		let ok = ResourceManagerConfig::default();
		let check = |c: ResourceManagerConfig| c.validate().unwrap_err();
		assert_eq!(
			check(ResourceManagerConfig { resolution_period_secs: 0, ..ok }),
			ConfigError::ZeroResolutionPeriod
		);
		assert_eq!(
			check(ResourceManagerConfig { revenue_window_secs: 0, ..ok }),
			ConfigError::ZeroRevenueWindow
		);
		assert_eq!(
			check(ResourceManagerConfig { reputation_multiplier: 0, ..ok }),
			ConfigError::ZeroReputationMultiplier
		);
		assert_eq!(
			check(ResourceManagerConfig { revenue_window_secs: u64::MAX, ..ok }),
			ConfigError::ReputationWindowOverflow
		);
		assert_eq!(
			check(ResourceManagerConfig { revenue_window_count: 5, ..ok }),
			ConfigError::TooFewRevenueWindows(5)
		);
		assert_eq!(
			check(ResourceManagerConfig { general_bucket_percent: 61, ..ok }),
			ConfigError::BucketSharesOver100(121)
		);
		assert_eq!(
			check(ResourceManagerConfig { general_pair_min_slots: 0, ..ok }),
			ConfigError::ZeroGeneralPairMinSlots
		);
		assert_eq!(
			check(ResourceManagerConfig { general_pair_slot_percent: 101, ..ok }),
			ConfigError::GeneralPairSlotPercentOver100(101)
		);
		// Shares under 100 % leave resources unused, which is allowed.
		let spare = ResourceManagerConfig { congestion_bucket_percent: 0, ..ok };
		assert_eq!(spare.validate(), Ok(()));
	}
}
