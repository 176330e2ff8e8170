// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! The default manager as a state machine.
//!
//! The input drives channels becoming ready, changing and closing; forwards with any amounts,
//! expiries and signals, repeated ones included; resolutions, settled or failed, at any time,
//! repeated or of unknown HTLCs; the clock and the chain moving; and restarts through
//! persistence, with the forwards in flight replayed as `ChannelManager` replays them.
//!
//! Invariants: nothing panics; a forward never takes its bucket over its limits; a repeated
//! request gets the decision recorded for it and changes nothing; a resolution of an HTLC not
//! in flight changes nothing; a restart leaves every channel as it was and changes no decision
//! (a twin manager that never restarts, given the same calls, decides alike); once everything
//! is resolved, nothing is in use.

use crate::input::Input;

use lightning::ln::types::ChannelId;
use lightning::sign::RandomBytes;
use lightning::util::logger::{Logger, Record};
use lightning::util::test_utils::TestStore;
use lightning_resource_manager::persistence::{persist, read};
use lightning_resource_manager::{
	ChannelInfo, ChannelSnapshot, Decision, DefaultResourceManager, ForwardRequest, HtlcId,
	HtlcResolution, Mode, ReplayOutcome, ReplayedForward, ResolveOutcome, ResourceBucket,
	ResourceManagerConfig,
};

/// Few channels, so that forwards meet.
const CHANNELS: u8 = 6;
const START_SECS: u64 = 1_700_000_000;
const START_HEIGHT: u32 = 800_000;

struct NoLogs;

impl Logger for NoLogs {
	fn log(&self, _record: Record) {}
}

type Manager<'a> = DefaultResourceManager<&'a RandomBytes, &'a NoLogs>;

/// A forward the manager let through, as the `ChannelManager` would replay it.
struct InFlight {
	request: ForwardRequest,
	outgoing_accountable: bool,
	bucket: ResourceBucket,
}

fn channel_info(input: &mut Input) -> Option<ChannelInfo> {
	let short_channel_id = (input.u8()? % CHANNELS) as u64 + 1;
	Some(ChannelInfo {
		short_channel_id,
		channel_id: ChannelId([short_channel_id as u8; 32]),
		max_accepted_htlcs: input.u16()?,
		max_htlc_value_in_flight_msat: input.u64()?,
	})
}

fn snapshots(manager: &Manager, now_secs: u64) -> Vec<ChannelSnapshot> {
	let mut snapshots = manager.channel_snapshots(now_secs);
	snapshots.sort_unstable_by_key(|snapshot| snapshot.short_channel_id);
	snapshots
}

fn assert_within_limits(manager: &Manager, scid: u64, bucket: ResourceBucket, now_secs: u64) {
	let snapshot = manager.channel_snapshot(scid, now_secs).expect("forwarded from a channel");
	let usage = match bucket {
		ResourceBucket::General => snapshot.general,
		ResourceBucket::Congestion => snapshot.congestion,
		ResourceBucket::Protected => snapshot.protected,
		ResourceBucket::Unallocated => return,
	};
	assert!(usage.used_slots <= usage.limits.slots as u32, "{snapshot:?}");
	assert!(usage.used_liquidity_msat <= usage.limits.liquidity_msat, "{snapshot:?}");
}

/// Persists `manager`, reads it back and replays the forwards in flight into the new one,
/// checking that every channel is as it was.
fn restart<'a>(
	manager: &Manager<'a>, config: ResourceManagerConfig, entropy: &'a RandomBytes,
	logger: &'a NoLogs, in_flight: &[InFlight], now_secs: u64,
) -> Manager<'a> {
	let store = TestStore::new(false);
	persist(&store, manager).expect("memory store");
	let restarted = read(&store, config, entropy, logger).expect("reads what it wrote");
	for forward in in_flight {
		let replayed = ReplayedForward {
			request: forward.request,
			outgoing_accountable: forward.outgoing_accountable,
			bucket: forward.bucket,
		};
		assert_eq!(restarted.replay_forward(&replayed), ReplayOutcome::Added);
	}
	assert_eq!(restarted.htlcs_in_flight(), manager.htlcs_in_flight());
	assert_eq!(snapshots(&restarted, now_secs), snapshots(manager, now_secs));
	restarted
}

/// Runs the manager on `data`.
pub fn do_test(data: &[u8]) {
	let mut input = Input::new(data);
	let entropy = RandomBytes::new([42; 32]);
	let logger = NoLogs;
	let mode = match input.bool() {
		Some(true) => Mode::Shadow,
		_ => Mode::Enforce,
	};
	let config = ResourceManagerConfig { mode, ..ResourceManagerConfig::default() };
	let mut manager = DefaultResourceManager::new(config, &entropy, &logger).expect("defaults");
	// Draws the same channel salts as `manager`, which keeps its entropy source across restarts.
	let twin_entropy = RandomBytes::new([42; 32]);
	let twin = DefaultResourceManager::new(config, &twin_entropy, &logger).expect("defaults");
	let mut in_flight: Vec<InFlight> = Vec::new();
	// Short channel ids (aliases, in `ChannelManager`) of closed channels are never used again.
	let mut closed: Vec<u64> = Vec::new();
	let mut next_htlc_id = 0u64;
	let mut now_secs = START_SECS;
	let mut height = START_HEIGHT;

	while let Some(op) = input.u8() {
		let step = (|| -> Option<()> {
			match op % 8 {
				0 => {
					let info = channel_info(&mut input)?;
					if !closed.contains(&info.short_channel_id) {
						manager.channel_ready(&info);
						twin.channel_ready(&info);
					}
				},
				1 => {
					let info = channel_info(&mut input)?;
					if !closed.contains(&info.short_channel_id) {
						manager.channel_changed(&info);
						twin.channel_changed(&info);
					}
				},
				2 => {
					let scid = (input.u8()? % CHANNELS) as u64 + 1;
					// Its HTLCs stay in flight until they are resolved.
					manager.channel_closed(scid);
					twin.channel_closed(scid);
					closed.push(scid);
				},
				3 => {
					next_htlc_id += 1;
					let incoming_scid = (input.u8()? % CHANNELS) as u64 + 1;
					let incoming_amount_msat = input.u64()?;
					let flags = input.u8()?;
					let request = ForwardRequest {
						id: HtlcId { incoming_scid, incoming_htlc_id: next_htlc_id },
						outgoing_scid: (input.u8()? % CHANNELS) as u64 + 1,
						incoming_amount_msat,
						outgoing_amount_msat: incoming_amount_msat
							.saturating_sub(input.u32()? as u64),
						fee_msat: input.u32()? as u64,
						incoming_cltv_expiry: height.wrapping_add(input.u16()? as u32),
						height,
						incoming_accountable: flags & 1 != 0,
						upgrade_accountability_allowed: flags & 2 != 0,
						released_by_user: flags & 4 != 0,
						now_secs,
					};
					// A request over a closed channel would make the manager create an entry
					// for it again, which a restart does not bring back (issue 19, item 4, is
					// about such channels): closed channels carry no new requests here.
					if closed.contains(&request.outgoing_scid)
						|| closed.contains(&request.id.incoming_scid)
					{
						return Some(());
					}
					let before = manager.htlcs_in_flight();
					let decision = manager.add_htlc(&request);
					assert_eq!(twin.add_htlc(&request), decision);
					match decision {
						Decision::Forward { outgoing_accountable, bucket } => {
							assert_eq!(manager.htlcs_in_flight(), before + 1);
							assert_within_limits(&manager, incoming_scid, bucket, now_secs);
							if !request.incoming_accountable
								&& !request.upgrade_accountability_allowed
							{
								// The relay rule: no upgrade without the sender's permission.
								assert!(!outgoing_accountable);
							}
							in_flight.push(InFlight { request, outgoing_accountable, bucket });
						},
						Decision::Fail { .. } => assert_eq!(manager.htlcs_in_flight(), before),
					}
				},
				4 => {
					// A request repeated for an HTLC in flight.
					let index = input.u16()? as usize;
					if in_flight.is_empty() {
						return Some(());
					}
					let forward = &in_flight[index % in_flight.len()];
					let before = snapshots(&manager, now_secs);
					let expected = Decision::Forward {
						outgoing_accountable: forward.outgoing_accountable,
						bucket: forward.bucket,
					};
					assert_eq!(manager.add_htlc(&forward.request), expected);
					assert_eq!(twin.add_htlc(&forward.request), expected);
					assert_eq!(snapshots(&manager, now_secs), before);
				},
				5 => {
					let index = input.u16()? as usize;
					let settled = input.bool()?;
					// Any time, even before the HTLC was added.
					let resolved_at_secs =
						(now_secs + input.u16()? as u64).saturating_sub(input.u16()? as u64);
					if in_flight.is_empty() || index >= in_flight.len() * 2 {
						// Not in flight: repeated, closed or never seen.
						let incoming_scid = (input.u8()? % CHANNELS) as u64 + 1;
						let id =
							HtlcId { incoming_scid, incoming_htlc_id: u64::MAX - index as u64 };
						let before = snapshots(&manager, now_secs);
						let resolution =
							HtlcResolution { id, settled, resolved_at_secs, outgoing_scid: None };
						assert_eq!(manager.resolve_htlc(&resolution), ResolveOutcome::Unknown);
						assert_eq!(twin.resolve_htlc(&resolution), ResolveOutcome::Unknown);
						assert_eq!(snapshots(&manager, now_secs), before);
					} else {
						let forward = in_flight.swap_remove(index % in_flight.len());
						let resolution = HtlcResolution {
							id: forward.request.id,
							settled,
							resolved_at_secs,
							outgoing_scid: None,
						};
						assert_eq!(manager.resolve_htlc(&resolution), ResolveOutcome::Resolved);
						assert_eq!(manager.resolve_htlc(&resolution), ResolveOutcome::Unknown);
						assert_eq!(twin.resolve_htlc(&resolution), ResolveOutcome::Resolved);
					}
				},
				6 => {
					now_secs = now_secs.saturating_add(input.u32()? as u64);
					height = height.saturating_add(input.u8()? as u32);
				},
				_ => {
					manager = restart(&manager, config, &entropy, &logger, &in_flight, now_secs);
				},
			}
			Some(())
		})();
		if step.is_none() {
			break;
		}
		assert_eq!(snapshots(&manager, now_secs), snapshots(&twin, now_secs));
	}

	for forward in in_flight.drain(..) {
		let resolution = HtlcResolution {
			id: forward.request.id,
			settled: true,
			resolved_at_secs: now_secs,
			outgoing_scid: None,
		};
		assert_eq!(manager.resolve_htlc(&resolution), ResolveOutcome::Resolved);
	}
	assert_eq!(manager.htlcs_in_flight(), 0);
	for snapshot in manager.channel_snapshots(now_secs) {
		for usage in [snapshot.general, snapshot.congestion, snapshot.protected] {
			assert_eq!((usage.used_slots, usage.used_liquidity_msat), (0, 0), "{snapshot:?}");
		}
		assert_eq!(snapshot.in_flight_risk_msat, 0.0, "{snapshot:?}");
		assert_eq!(snapshot.risk_bearing_htlcs_in_flight, 0, "{snapshot:?}");
		assert_eq!(snapshot.unallocated_htlcs, 0, "{snapshot:?}");
	}
}
