// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! The decision: what [`DefaultResourceManager`] is asked, and what it answers.
//!
//! The inputs are shaped like what `ChannelManager` passes: channel notifications
//! ([`ChannelInfo`]), forward requests ([`ForwardRequest`]), resolutions ([`HtlcResolution`]) and,
//! at startup, the forwards still in flight ([`ReplayedForward`]). Every time comes from the
//! inputs.
//!
//! # The decision table
//!
//! With `sufficient` meaning the outgoing channel has sufficient reputation for the HTLC (see
//! [`DefaultResourceManager`]):
//!
//! | incoming `accountable` | resources, in order of preference | outgoing `accountable` |
//! | --- | --- | --- |
//! | yes, without the sender's `upgrade_accountability` marker | none: fail (a corrupted signal) | |
//! | yes | `sufficient` and protected has room → protected; `sufficient` and general has room → general; else fail | yes |
//! | no | general has room → general | no |
//! | no | else `sufficient` and protected has room → protected | yes with the sender's `upgrade_accountability` marker; without it, see [`UnmarkedProtectedPolicy`] |
//! | no | else congestion eligible (general saturated, marker required) → congestion | yes |
//! | no | else fail | |
//!
//! The outgoing `accountable` is thus set iff the incoming one was, or protected / congestion
//! resources were used, and an HTLC that arrived unaccountable never leaves accountable without
//! the sender's marker (the relay rule). An HTLC that arrives `accountable` without the marker
//! was upgraded by an upstream hop that had no right to: the proposal asks to fail it, whatever
//! `ChannelManager` already checked.
//!
//! [`DefaultResourceManager`]: crate::DefaultResourceManager

use crate::buckets::congestion::CongestionIneligibility;
use crate::buckets::ResourceBucket;
use crate::config::UnmarkedProtectedPolicy;
use lightning::ln::types::ChannelId;

/// A channel became ready or changed (a splice), as an incoming or outgoing channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChannelInfo {
	/// The channel's short channel id, as HTLCs name it.
	pub short_channel_id: u64,
	/// The channel's id.
	pub channel_id: ChannelId,
	/// The most HTLCs we accept from the counterparty on this channel at once: the slots its
	/// buckets split when it is the incoming channel.
	pub max_accepted_htlcs: u16,
	/// The most value in flight we accept from the counterparty on this channel, in
	/// millisatoshis.
	pub max_htlc_value_in_flight_msat: u64,
}

/// Names a forwarded HTLC, stably across restarts: the incoming channel and the HTLC's id on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HtlcId {
	/// The short channel id of the channel the HTLC arrived on.
	pub incoming_scid: u64,
	/// The HTLC's id on that channel (`update_add_htlc`'s `id`).
	pub incoming_htlc_id: u64,
}

/// A forward to decide on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ForwardRequest {
	/// The HTLC. [`HtlcId::incoming_scid`] is the incoming channel.
	pub id: HtlcId,
	/// The short channel id of the channel it is to leave on (after non-strict forwarding chose
	/// among the channels to the next peer: reputation is that of this channel).
	pub outgoing_scid: u64,
	/// The amount that arrived, in millisatoshis. This is what the incoming channel's buckets hold.
	pub incoming_amount_msat: u64,
	/// The amount to forward, in millisatoshis.
	pub outgoing_amount_msat: u64,
	/// The fee **our own forwarding policy** charges for this forward on the outgoing channel, in
	/// millisatoshis. Not `incoming_amount_msat - outgoing_amount_msat`: a sender overpaying must
	/// not buy reputation.
	pub fee_msat: u64,
	/// The incoming HTLC's `cltv_expiry`.
	pub incoming_cltv_expiry: u32,
	/// The best block height now.
	pub height: u32,
	/// Whether the HTLC arrived with the `accountable` signal.
	pub incoming_accountable: bool,
	/// Whether the sender's onion carries the `upgrade_accountability` marker, allowing us to
	/// forward it `accountable` when it arrived without.
	pub upgrade_accountability_allowed: bool,
	/// Whether the user released this forward after intercepting it, onto a channel opened for it
	/// (a JIT channel, as LSPS2 opens).
	pub released_by_user: bool,
	/// The time now, in seconds since an arbitrary epoch (the same for every input).
	pub now_secs: u64,
}

/// The answer to a [`ForwardRequest`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
	/// Forward the HTLC.
	Forward {
		/// The `accountable` value of the outgoing HTLC.
		outgoing_accountable: bool,
		/// The bucket of the incoming channel it holds.
		bucket: ResourceBucket,
	},
	/// Fail it back (`temporary_channel_failure`).
	Fail {
		/// Why.
		reason: FailureReason,
	},
}

/// Why a forward was (or, in [`Mode::Shadow`], would have been) failed.
///
/// [`Mode::Shadow`]: crate::Mode::Shadow
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureReason {
	/// No [`ChannelInfo`] was given for the incoming channel, so its buckets are unknown.
	UnknownIncomingChannel,
	/// The HTLC arrived `accountable` without the sender's `upgrade_accountability` marker: an
	/// upstream hop set the signal without the right to.
	CorruptedSignal,
	/// The HTLC arrived `accountable` and the outgoing channel lacks the reputation for it.
	InsufficientReputation,
	/// The HTLC arrived `accountable`, the outgoing channel has the reputation, but neither the
	/// protected bucket nor the pair's general slots have room.
	ProtectedBucketFull,
	/// The HTLC arrived unaccountable, the pair's general slots are full, protected resources
	/// were not available to it (no reputation, a full bucket, or no upgrade marker under
	/// [`UnmarkedProtectedPolicy::Fail`]), and the congestion bucket would not take it.
	GeneralBucketFull {
		/// Whether the outgoing channel had sufficient reputation.
		sufficient_reputation: bool,
		/// Why the congestion bucket would not take it.
		congestion: CongestionIneligibility,
	},
}

/// A forwarded HTLC was resolved.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HtlcResolution {
	/// The HTLC.
	pub id: HtlcId,
	/// Whether it was settled (fulfilled) rather than failed.
	pub settled: bool,
	/// When, in seconds (the clock of [`ForwardRequest::now_secs`]).
	pub resolved_at_secs: u64,
	/// The channel the HTLC left on, when known and not [`ForwardRequest::outgoing_scid`]:
	/// non-strict forwarding may pick another channel to the same peer, and the reputation the
	/// resolution earns or costs is that channel's. `None`: the requested one.
	pub outgoing_scid: Option<u64>,
}

/// A forward still in flight at startup, replayed so that in-flight usage is rebuilt from the
/// HTLCs themselves rather than persisted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayedForward {
	/// The forward as first requested (its `now_secs` is when it was added).
	pub request: ForwardRequest,
	/// The `accountable` value it left with.
	pub outgoing_accountable: bool,
	/// The bucket it was given.
	pub bucket: ResourceBucket,
}

/// What a [`HtlcResolution`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResolveOutcome {
	/// The HTLC was in flight and is now resolved.
	Resolved,
	/// No such HTLC was in flight (a replayed resolution, or one whose channel closed): counted
	/// and logged, nothing else.
	Unknown,
}

/// What a [`ReplayedForward`] did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayOutcome {
	/// The HTLC is now counted as in flight.
	Added,
	/// The HTLC was already in flight: nothing changed.
	AlreadyInFlight,
}

/// Where the decision table put an HTLC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Allocation {
	pub(crate) bucket: ResourceBucket,
	/// The general slot, when `bucket` is general.
	pub(crate) general_slot: Option<u16>,
	pub(crate) outgoing_accountable: bool,
}

/// What the decision table needs to know, computed eagerly where it is cheap.
pub(crate) struct TableInputs {
	pub(crate) incoming_accountable: bool,
	pub(crate) upgrade_accountability_allowed: bool,
	pub(crate) sufficient_reputation: bool,
	pub(crate) protected_has_room: bool,
	pub(crate) unmarked_protected: UnmarkedProtectedPolicy,
}

/// The decision table. `general` and `congestion` are only called when the table needs them.
pub(crate) fn decide<G, C>(
	inputs: &TableInputs, general: G, congestion: C,
) -> Result<Allocation, FailureReason>
where
	G: FnOnce() -> Option<u16>,
	C: FnOnce() -> Result<(), CongestionIneligibility>,
{
	let forward = |bucket, general_slot, outgoing_accountable| {
		Ok(Allocation { bucket, general_slot, outgoing_accountable })
	};
	if inputs.incoming_accountable && !inputs.upgrade_accountability_allowed {
		return Err(FailureReason::CorruptedSignal);
	}
	if inputs.incoming_accountable {
		if !inputs.sufficient_reputation {
			return Err(FailureReason::InsufficientReputation);
		}
		if inputs.protected_has_room {
			return forward(ResourceBucket::Protected, None, true);
		}
		return match general() {
			Some(slot) => forward(ResourceBucket::General, Some(slot), true),
			None => Err(FailureReason::ProtectedBucketFull),
		};
	}
	if let Some(slot) = general() {
		return forward(ResourceBucket::General, Some(slot), false);
	}
	if inputs.sufficient_reputation && inputs.protected_has_room {
		if inputs.upgrade_accountability_allowed {
			return forward(ResourceBucket::Protected, None, true);
		}
		if inputs.unmarked_protected == UnmarkedProtectedPolicy::ForwardUnaccountable {
			return forward(ResourceBucket::Protected, None, false);
		}
	}
	match congestion() {
		Ok(()) => forward(ResourceBucket::Congestion, None, true),
		Err(congestion) => Err(FailureReason::GeneralBucketFull {
			sufficient_reputation: inputs.sufficient_reputation,
			congestion,
		}),
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use CongestionIneligibility::*;

	fn inputs(accountable: bool, marker: bool, sufficient: bool, room: bool) -> TableInputs {
		TableInputs {
			incoming_accountable: accountable,
			upgrade_accountability_allowed: marker,
			sufficient_reputation: sufficient,
			protected_has_room: room,
			unmarked_protected: UnmarkedProtectedPolicy::ForwardUnaccountable,
		}
	}

	fn alloc(
		bucket: ResourceBucket, slot: Option<u16>, acc: bool,
	) -> Result<Allocation, FailureReason> {
		Ok(Allocation { bucket, general_slot: slot, outgoing_accountable: acc })
	}

	#[test]
	fn incoming_accountable() {
		let never = || -> Option<u16> { panic!("general not needed") };
		let no_congestion = || -> Result<(), CongestionIneligibility> { panic!("not needed") };
		assert_eq!(
			decide(&inputs(true, true, false, true), never, no_congestion),
			Err(FailureReason::InsufficientReputation)
		);
		assert_eq!(
			decide(&inputs(true, true, true, true), never, no_congestion),
			alloc(ResourceBucket::Protected, None, true)
		);
		// Protected full: fall back to general, still accountable.
		assert_eq!(
			decide(&inputs(true, true, true, false), || Some(3), no_congestion),
			alloc(ResourceBucket::General, Some(3), true)
		);
		assert_eq!(
			decide(&inputs(true, true, true, false), || None, no_congestion),
			Err(FailureReason::ProtectedBucketFull)
		);
	}

	#[test]
	fn accountable_without_the_marker_is_a_corrupted_signal() {
		let never = || -> Option<u16> { panic!("general not needed") };
		let no_congestion = || -> Result<(), CongestionIneligibility> { panic!("not needed") };
		assert_eq!(
			decide(&inputs(true, false, true, true), never, no_congestion),
			Err(FailureReason::CorruptedSignal)
		);
	}

	#[test]
	fn incoming_unaccountable() {
		let no_congestion = || -> Result<(), CongestionIneligibility> { panic!("not needed") };
		// General first, unaccountable, whatever the reputation.
		assert_eq!(
			decide(&inputs(false, true, true, true), || Some(1), no_congestion),
			alloc(ResourceBucket::General, Some(1), false)
		);
		// Then protected; upgraded only with the marker.
		assert_eq!(
			decide(&inputs(false, true, true, true), || None, no_congestion),
			alloc(ResourceBucket::Protected, None, true)
		);
		assert_eq!(
			decide(&inputs(false, false, true, true), || None, no_congestion),
			alloc(ResourceBucket::Protected, None, false)
		);
		let fail_unmarked = TableInputs {
			unmarked_protected: UnmarkedProtectedPolicy::Fail,
			..inputs(false, false, true, true)
		};
		assert_eq!(
			decide(&fail_unmarked, || None, || Err(NoUpgradeMarker)),
			Err(FailureReason::GeneralBucketFull {
				sufficient_reputation: true,
				congestion: NoUpgradeMarker
			})
		);
		// Then congestion, accountable.
		assert_eq!(
			decide(&inputs(false, true, false, true), || None, || Ok(())),
			alloc(ResourceBucket::Congestion, None, true)
		);
		// Protected full with reputation: congestion too.
		assert_eq!(
			decide(&inputs(false, true, true, false), || None, || Ok(())),
			alloc(ResourceBucket::Congestion, None, true)
		);
		assert_eq!(
			decide(&inputs(false, true, false, true), || None, || Err(BucketFull)),
			Err(FailureReason::GeneralBucketFull {
				sufficient_reputation: false,
				congestion: BucketFull
			})
		);
	}

	#[test]
	fn never_upgrades_without_the_marker() {
		// Exhaustively: an unaccountable HTLC without the marker never leaves accountable.
		for sufficient in [false, true] {
			for room in [false, true] {
				for general in [None, Some(0)] {
					for policy in [
						UnmarkedProtectedPolicy::ForwardUnaccountable,
						UnmarkedProtectedPolicy::Fail,
					] {
						let i = TableInputs {
							unmarked_protected: policy,
							..inputs(false, false, sufficient, room)
						};
						// The congestion bucket itself refuses without the marker.
						let result = decide(&i, || general, || Err(NoUpgradeMarker));
						if let Ok(a) = result {
							assert!(!a.outgoing_accountable);
							assert_ne!(a.bucket, ResourceBucket::Congestion);
						}
					}
				}
			}
		}
	}
}
