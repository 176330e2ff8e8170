// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! [`DefaultResourceManager`] as the [`ResourceManager`] of LDK's [`ChannelManager`].
//!
//! Give the manager to the [`ChannelManager`] (for example as an `Arc<DefaultResourceManager>`,
//! keeping a clone to persist it and look into it), and every forward is decided at once, when
//! the [`ChannelManager`] hands it over, in the same forwarding pass.
//!
//! The [`ChannelManager`]'s inputs map to the algorithm's as follows:
//! - channels are named by their outbound SCID alias
//!   ([`ChannelResources::outbound_scid_alias`]), which never changes, not even when a splice
//!   changes the channel's short channel id: it is the `short_channel_id` of every
//!   [`ChannelInfo`] and [`HtlcId`] the manager sees;
//! - time is the [`ChannelManager`]'s, in seconds since the UNIX epoch;
//! - the fee is our forwarding policy's ([`LdkForwardRequest::forwarding_fee_msat`]), never what
//!   the sender paid;
//! - a forward over a channel the manager was not told of (the [`ChannelManager`] fails it as
//!   an unknown next hop) is relayed as it came, and nothing is counted for it;
//! - a forward replayed at startup ([`InFlightForward`]) is counted in the bucket the persisted
//!   state recorded for it (see [`persistence`]); one the state does not know (added after it
//!   was written) in the general bucket if it left unaccountable, else in the protected one;
//! - a resolution ([`ResolvedForward`]) counts towards the reputation of the channel the HTLC
//!   left on ([`ResolvedForward::outgoing_channel_id`]), which non-strict forwarding may have
//!   picked among the channels to the peer the onion named;
//! - a request failed back for a timeout after the manager decided it
//!   ([`ResourceNotification::RequestTimedOut`], a race with the [`ChannelManager`]'s timer)
//!   releases what it was given.
//!
//! [`persistence`]: crate::persistence
//!
//! [`ChannelManager`]: lightning::ln::channelmanager::ChannelManager

use crate::buckets::ResourceBucket;
use crate::decision::{
	ChannelInfo, Decision, ForwardRequest, HtlcId, HtlcResolution, ReplayedForward,
};
use crate::manager::DefaultResourceManager;
use crate::prelude::*;

use core::ops::Deref;

use lightning::ln::resource_manager::{
	ChannelResources, ForwardRequest as LdkForwardRequest, InFlightForward, ResolvedForward,
	ResourceAllocation, ResourceAllocationId, ResourceManager, ResourceNotification,
};
use lightning::sign::EntropySource;
use lightning::util::logger::Logger;

impl<ES: Deref, L: Deref> ResourceManager for DefaultResourceManager<ES, L>
where
	ES::Target: EntropySource,
	L::Target: Logger,
{
	fn is_enabled(&self) -> bool {
		true
	}

	fn handle_notifications(&self, notifications: Vec<ResourceNotification>) {
		for notification in notifications {
			match notification {
				ResourceNotification::ChannelReady(resources) => {
					self.channel_ready(&channel_info(&resources))
				},
				ResourceNotification::ChannelChanged(resources) => {
					self.channel_changed(&channel_info(&resources))
				},
				ResourceNotification::ChannelClosed { channel_id, .. } => {
					if let Some(short_channel_id) = self.short_channel_id(&channel_id) {
						self.channel_closed(short_channel_id);
					}
				},
				ResourceNotification::ForwardResolved(resolved) => {
					let left_on =
						resolved.outgoing_channel_id.and_then(|id| self.short_channel_id(&id));
					self.resolve_htlc(&htlc_resolution(&resolved, left_on));
				},
				ResourceNotification::ForwardInFlight(forward) => {
					self.replay_forward(&replayed_forward(&forward));
				},
				// Decided when it was handed over, but failed back before the decision applied.
				ResourceNotification::RequestTimedOut(id) => {
					// The incoming channel is known: had it closed, its notification would have
					// followed this one.
					if let Some(incoming_scid) = self.short_channel_id(&id.incoming_channel_id) {
						self.request_timed_out(&htlc_id(incoming_scid, &id));
					}
				},
				ResourceNotification::ReplayStarted => self.replay_started(),
				ResourceNotification::ReplayComplete => self.replay_complete(),
			}
		}
	}

	fn handle_forward_requests(
		&self, requests: Vec<LdkForwardRequest>,
	) -> Vec<(ResourceAllocationId, ResourceAllocation)> {
		let mut allocations = Vec::with_capacity(requests.len());
		for request in requests {
			let outgoing_scid = request
				.outgoing_channel
				.and_then(|(_, channel_id)| self.short_channel_id(&channel_id));
			let allocation = match outgoing_scid {
				Some(outgoing_scid) => {
					match self.add_htlc(&forward_request(&request, outgoing_scid)) {
						Decision::Forward { outgoing_accountable, .. } => {
							ResourceAllocation::Forward { outgoing_accountable }
						},
						Decision::Fail { .. } => ResourceAllocation::Fail,
					}
				},
				None => {
					let outgoing_accountable = request.incoming_accountable;
					ResourceAllocation::Forward { outgoing_accountable }
				},
			};
			allocations.push((request.id, allocation));
		}
		allocations
	}
}

fn channel_info(resources: &ChannelResources) -> ChannelInfo {
	ChannelInfo {
		short_channel_id: resources.outbound_scid_alias,
		channel_id: resources.channel_id,
		max_accepted_htlcs: resources.max_accepted_htlcs,
		max_htlc_value_in_flight_msat: resources.max_htlc_value_in_flight_msat,
	}
}

fn htlc_id(incoming_outbound_scid_alias: u64, id: &ResourceAllocationId) -> HtlcId {
	HtlcId { incoming_scid: incoming_outbound_scid_alias, incoming_htlc_id: id.incoming_htlc_id }
}

fn forward_request(request: &LdkForwardRequest, outgoing_scid: u64) -> ForwardRequest {
	ForwardRequest {
		id: htlc_id(request.incoming_outbound_scid_alias, &request.id),
		outgoing_scid,
		incoming_amount_msat: request.incoming_amount_msat,
		outgoing_amount_msat: request.outgoing_amount_msat,
		fee_msat: request.forwarding_fee_msat.unwrap_or(0),
		incoming_cltv_expiry: request.incoming_cltv_expiry,
		height: request.best_block_height,
		incoming_accountable: request.incoming_accountable,
		upgrade_accountability_allowed: request.upgrade_accountability,
		released_by_user: request.released_by_user,
		now_secs: request.queued_at.as_secs(),
	}
}

fn htlc_resolution(resolved: &ResolvedForward, outgoing_scid: Option<u64>) -> HtlcResolution {
	HtlcResolution {
		id: htlc_id(resolved.incoming_outbound_scid_alias, &resolved.id),
		settled: resolved.settled,
		resolved_at_secs: resolved.resolved_at.as_secs(),
		outgoing_scid,
	}
}

fn replayed_forward(forward: &InFlightForward) -> ReplayedForward {
	let request = ForwardRequest {
		id: htlc_id(forward.incoming_outbound_scid_alias, &forward.id),
		outgoing_scid: forward.outgoing_outbound_scid_alias,
		incoming_amount_msat: forward
			.incoming_amount_msat
			.unwrap_or(forward.outgoing_amount_msat.saturating_add(forward.forwarding_fee_msat)),
		outgoing_amount_msat: forward.outgoing_amount_msat,
		fee_msat: forward.forwarding_fee_msat,
		// Without its expiry, the HTLC is taken to be about to expire: it adds no risk.
		incoming_cltv_expiry: forward.incoming_cltv_expiry.unwrap_or(forward.best_block_height),
		height: forward.best_block_height,
		incoming_accountable: forward.outgoing_accountable,
		upgrade_accountability_allowed: false,
		released_by_user: false,
		now_secs: forward.added_at.as_secs(),
	};
	let bucket = if forward.outgoing_accountable {
		ResourceBucket::Protected
	} else {
		ResourceBucket::General
	};
	ReplayedForward { request, outgoing_accountable: forward.outgoing_accountable, bucket }
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::tests::{TestEntropy, TestLogger};
	use crate::ResourceManagerConfig;

	use core::time::Duration;

	use lightning::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
	use lightning::ln::types::ChannelId;

	const NOW_SECS: u64 = 1_700_000_000;
	const HEIGHT: u32 = 800_000;

	fn peer(byte: u8) -> PublicKey {
		PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[byte; 32]).unwrap())
	}

	fn resources(alias: u64) -> ChannelResources {
		ChannelResources {
			channel_id: ChannelId([alias as u8; 32]),
			counterparty_node_id: peer(alias as u8),
			outbound_scid_alias: alias,
			short_channel_id: Some(alias + 1_000),
			max_accepted_htlcs: 483,
			max_htlc_value_in_flight_msat: 100_000_000,
		}
	}

	fn request(htlc_id: u64, outgoing_alias: u64) -> LdkForwardRequest {
		LdkForwardRequest {
			id: ResourceAllocationId {
				incoming_channel_id: ChannelId([1; 32]),
				incoming_htlc_id: htlc_id,
			},
			incoming_counterparty_node_id: peer(1),
			incoming_outbound_scid_alias: 1,
			incoming_amount_msat: 101_000,
			incoming_cltv_expiry: HEIGHT + 80,
			incoming_accountable: false,
			upgrade_accountability: false,
			outgoing_short_channel_id: outgoing_alias + 1_000,
			outgoing_channel: Some((
				peer(outgoing_alias as u8),
				ChannelId([outgoing_alias as u8; 32]),
			)),
			outgoing_amount_msat: 100_000,
			outgoing_cltv_expiry: HEIGHT + 40,
			forwarding_fee_msat: Some(1_000),
			released_by_user: false,
			best_block_height: HEIGHT,
			queued_at: Duration::from_secs(NOW_SECS),
		}
	}

	fn resolved(htlc_id: u64, settled: bool) -> ResolvedForward {
		ResolvedForward {
			id: request(htlc_id, 2).id,
			incoming_outbound_scid_alias: 1,
			outgoing_channel_id: Some(ChannelId([2; 32])),
			outgoing_htlc_id: Some(htlc_id),
			incoming_amount_msat: Some(101_000),
			outgoing_amount_msat: Some(100_000),
			fee_earned_msat: Some(1_000),
			settled,
			added_at: Some(Duration::from_secs(NOW_SECS)),
			resolved_at: Duration::from_secs(NOW_SECS + 2),
			outgoing_accountable: Some(false),
		}
	}

	fn ready_manager<'a>(
		entropy: &'a TestEntropy, logger: &'a TestLogger,
	) -> DefaultResourceManager<&'a TestEntropy, &'a TestLogger> {
		let manager =
			DefaultResourceManager::new(ResourceManagerConfig::default(), entropy, logger).unwrap();
		let ready = [1, 2].map(|alias| ResourceNotification::ChannelReady(resources(alias)));
		manager.handle_notifications(ready.to_vec());
		manager
	}

	#[test]
	fn forwards_are_decided_and_resolved_by_outbound_scid_alias() {
		let (entropy, logger) = (TestEntropy::new(1), TestLogger::default());
		let manager = ready_manager(&entropy, &logger);
		assert_eq!(manager.short_channel_id(&ChannelId([2; 32])), Some(2));

		let allocations = manager.handle_forward_requests(vec![request(0, 2)]);
		let forward = ResourceAllocation::Forward { outgoing_accountable: false };
		assert_eq!(allocations, vec![(request(0, 2).id, forward)]);
		assert_eq!(manager.htlcs_in_flight(), 1);
		let id = HtlcId { incoming_scid: 1, incoming_htlc_id: 0 };
		assert!(matches!(manager.in_flight_decision(&id), Some(Decision::Forward { .. })));

		let settled = ResourceNotification::ForwardResolved(resolved(0, true));
		manager.handle_notifications(vec![settled.clone()]);
		assert_eq!(manager.htlcs_in_flight(), 0);
		// Our policy's fee, settled at once, is the outgoing channel's reputation.
		let snapshot = manager.channel_snapshot(2, NOW_SECS + 2).unwrap();
		assert_eq!(snapshot.outgoing_reputation_msat, 1_000.0);
		assert_eq!(snapshot.resolved_outgoing_htlcs, 1);

		// A resolution seen twice is counted once.
		manager.handle_notifications(vec![settled]);
		assert_eq!(manager.channel_snapshot(2, NOW_SECS + 2).unwrap().resolved_outgoing_htlcs, 1);
		assert_eq!(manager.stats().unknown_resolutions, 1);
	}

	#[test]
	fn forwards_over_unknown_channels_are_relayed_uncounted() {
		let (entropy, logger) = (TestEntropy::new(2), TestLogger::default());
		let manager = ready_manager(&entropy, &logger);
		let mut unknown = request(0, 3);
		unknown.incoming_accountable = true;
		let mut no_channel = request(1, 2);
		no_channel.outgoing_channel = None;
		let allocations = manager.handle_forward_requests(vec![unknown.clone(), no_channel]);
		let relay = |accountable| ResourceAllocation::Forward { outgoing_accountable: accountable };
		assert_eq!(allocations[0], (unknown.id, relay(true)));
		assert_eq!(allocations[1].1, relay(false));
		assert_eq!(manager.htlcs_in_flight(), 0);
		assert!(manager.channel_snapshot(3, NOW_SECS).is_none());
	}

	#[test]
	fn closing_a_channel_keeps_its_forwards_until_they_resolve() {
		let (entropy, logger) = (TestEntropy::new(3), TestLogger::default());
		let manager = ready_manager(&entropy, &logger);
		manager.handle_forward_requests(vec![request(0, 2), request(1, 2)]);
		assert_eq!(manager.htlcs_in_flight(), 2);
		let closed = ResourceNotification::ChannelClosed {
			channel_id: ChannelId([2; 32]),
			counterparty_node_id: peer(2),
		};
		manager.handle_notifications(vec![closed]);
		assert_eq!(manager.short_channel_id(&ChannelId([2; 32])), None);
		// The close resolves nothing: each forward ends with its own resolution, on chain.
		assert_eq!(manager.htlcs_in_flight(), 2);
		let resolutions = vec![
			ResourceNotification::ForwardResolved(resolved(0, false)),
			ResourceNotification::ForwardResolved(resolved(1, true)),
		];
		manager.handle_notifications(resolutions);
		assert_eq!(manager.htlcs_in_flight(), 0);
		// Requests over the closed channel are relayed, as the `ChannelManager` fails them.
		let allocations = manager.handle_forward_requests(vec![request(2, 2)]);
		assert_eq!(allocations[0].1, ResourceAllocation::Forward { outgoing_accountable: false });
		assert_eq!(manager.htlcs_in_flight(), 0);
	}

	#[test]
	fn forwards_in_flight_at_startup_are_counted_once() {
		let (entropy, logger) = (TestEntropy::new(4), TestLogger::default());
		let manager = ready_manager(&entropy, &logger);
		let in_flight = |htlc_id, outgoing_accountable| InFlightForward {
			id: request(htlc_id, 2).id,
			incoming_outbound_scid_alias: 1,
			outgoing_channel_id: ChannelId([2; 32]),
			outgoing_outbound_scid_alias: 2,
			outgoing_htlc_id: Some(htlc_id),
			incoming_amount_msat: Some(101_000),
			incoming_cltv_expiry: Some(HEIGHT + 80),
			outgoing_amount_msat: 100_000,
			forwarding_fee_msat: 1_000,
			outgoing_accountable,
			added_at: Duration::from_secs(NOW_SECS),
			best_block_height: HEIGHT,
		};
		let replay = vec![
			ResourceNotification::ForwardInFlight(in_flight(0, false)),
			ResourceNotification::ForwardInFlight(in_flight(1, true)),
			ResourceNotification::ForwardInFlight(in_flight(0, false)),
		];
		manager.handle_notifications(replay);
		assert_eq!(manager.htlcs_in_flight(), 2);
		let snapshot = manager.channel_snapshot(1, NOW_SECS).unwrap();
		assert_eq!(snapshot.general.used_slots, 1);
		assert_eq!(snapshot.protected.used_slots, 1);
		assert_eq!(manager.channel_snapshot(2, NOW_SECS).unwrap().risk_bearing_htlcs_in_flight, 1);

		// A request for a replayed HTLC changes nothing.
		manager.handle_forward_requests(vec![request(0, 2)]);
		assert_eq!(manager.htlcs_in_flight(), 2);
		manager
			.handle_notifications(vec![ResourceNotification::ForwardResolved(resolved(0, false))]);
		assert_eq!(manager.htlcs_in_flight(), 1);
	}
}
