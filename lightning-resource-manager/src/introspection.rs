// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! Introspection: what an operator (or a test, or the demo) can ask the manager.

use crate::buckets::BucketUsage;
use crate::decision::FailureReason;
use lightning::ln::types::ChannelId;

/// The state of one channel at a given time, in both its roles.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ChannelSnapshot {
	/// The channel's short channel id.
	pub short_channel_id: u64,
	/// The channel's id, once a [`ChannelInfo`] named it.
	///
	/// [`ChannelInfo`]: crate::ChannelInfo
	pub channel_id: Option<ChannelId>,
	/// As an outgoing channel: its `outgoing_reputation`, in millisatoshis.
	pub outgoing_reputation_msat: f64,
	/// As an outgoing channel: the `in_flight_risk` of the HTLCs in flight on it that bear risk
	/// (those that left `accountable` or hold protected or congestion resources), in
	/// millisatoshis.
	pub in_flight_risk_msat: f64,
	/// As an outgoing channel: how many HTLCs that bear risk are in flight on it.
	pub risk_bearing_htlcs_in_flight: u32,
	/// As an outgoing channel: how many HTLCs it ever resolved (zero: no history).
	pub resolved_outgoing_htlcs: u64,
	/// As an outgoing channel: when it last resolved a congestion HTLC slower than the
	/// resolution period.
	pub last_slow_congestion_resolution_secs: Option<u64>,
	/// As an incoming channel: its `incoming_revenue_threshold`, in millisatoshis.
	pub incoming_revenue_threshold_msat: f64,
	/// As an incoming channel: its general bucket.
	pub general: BucketUsage,
	/// As an incoming channel: its congestion bucket.
	pub congestion: BucketUsage,
	/// As an incoming channel: its protected bucket.
	pub protected: BucketUsage,
	/// As an incoming channel: HTLCs [`Mode::Shadow`] forwarded without resources.
	///
	/// [`Mode::Shadow`]: crate::Mode::Shadow
	pub unallocated_htlcs: u32,
}

/// Counts of failures, by [`FailureReason`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FailureCounts {
	/// [`FailureReason::UnknownIncomingChannel`].
	pub unknown_incoming_channel: u64,
	/// [`FailureReason::CorruptedSignal`].
	pub corrupted_signal: u64,
	/// [`FailureReason::InsufficientReputation`].
	pub insufficient_reputation: u64,
	/// [`FailureReason::ProtectedBucketFull`].
	pub protected_bucket_full: u64,
	/// [`FailureReason::GeneralBucketFull`].
	pub general_bucket_full: u64,
}

impl FailureCounts {
	/// All failures.
	pub fn total(&self) -> u64 {
		self.unknown_incoming_channel
			+ self.corrupted_signal
			+ self.insufficient_reputation
			+ self.protected_bucket_full
			+ self.general_bucket_full
	}

	pub(crate) fn count(&mut self, reason: &FailureReason) {
		let counter = match reason {
			FailureReason::UnknownIncomingChannel => &mut self.unknown_incoming_channel,
			FailureReason::CorruptedSignal => &mut self.corrupted_signal,
			FailureReason::InsufficientReputation => &mut self.insufficient_reputation,
			FailureReason::ProtectedBucketFull => &mut self.protected_bucket_full,
			FailureReason::GeneralBucketFull { .. } => &mut self.general_bucket_full,
		};
		*counter += 1;
	}
}

/// Counters since the manager was created (not persisted).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ResourceManagerStats {
	/// Forwards given general resources.
	pub forwarded_general: u64,
	/// Forwards given congestion resources.
	pub forwarded_congestion: u64,
	/// Forwards given protected resources.
	pub forwarded_protected: u64,
	/// Of [`Self::forwarded_protected`], those forwarded without `accountable` because the
	/// sender did not allow an upgrade (see [`UnmarkedProtectedPolicy`]).
	///
	/// [`UnmarkedProtectedPolicy`]: crate::UnmarkedProtectedPolicy
	pub forwarded_protected_unaccountable: u64,
	/// Forwards failed ([`Mode::Enforce`]).
	///
	/// [`Mode::Enforce`]: crate::Mode::Enforce
	pub failed: FailureCounts,
	/// Forwards [`Mode::Shadow`] let through that enforcing would have failed.
	///
	/// [`Mode::Shadow`]: crate::Mode::Shadow
	pub would_have_failed: FailureCounts,
	/// Forwards released by the user onto a channel without history whose lack of reputation was
	/// waived (see the JIT rule of [`DefaultResourceManager`]).
	///
	/// [`DefaultResourceManager`]: crate::DefaultResourceManager
	pub jit_reputation_waivers: u64,
	/// Forwards decided at once but failed back by `ChannelManager` for a timeout before the
	/// decision reached it (a race with its timer): released, as they never went out.
	pub timed_out_after_decision: u64,
	/// Requests for an HTLC already in flight, answered with the recorded decision.
	pub duplicate_adds: u64,
	/// Replays of an HTLC already in flight, ignored.
	pub duplicate_replays: u64,
	/// Resolutions of an HTLC not in flight, ignored.
	pub unknown_resolutions: u64,
	/// HTLCs forgotten because the replay after a load of `ChannelManager` did not report them:
	/// their resolution was lost.
	pub forgotten_after_replay_htlcs: u64,
	/// Channels forgotten because the replay after a load of `ChannelManager` did not report
	/// them: they closed (or started shutting down) while the notification was lost.
	pub forgotten_after_replay_channels: u64,
}
