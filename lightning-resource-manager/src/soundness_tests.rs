// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! Tests of the manager against an adaptive attacker, and of books that must not drift from the
//! channels: one test per finding of the review against the June 2026 text of the proposal.

use crate::buckets::BucketSplit;
use crate::tests::*;
use crate::*;

use core::time::Duration;
use std::vec::Vec;

use lightning::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
use lightning::ln::resource_manager::{
	ChannelResources, ForwardRequest as LdkForwardRequest, InFlightForward, ResolvedForward,
	ResourceAllocation, ResourceAllocationId, ResourceManager, ResourceNotification,
};
use lightning::ln::types::ChannelId;
use lightning::util::ser::{ReadableArgs, Writeable};

const DAY: u64 = 86_400;
const WEEK: u64 = 7 * DAY;

fn peer(byte: u8) -> PublicKey {
	PublicKey::from_secret_key(&Secp256k1::new(), &SecretKey::from_slice(&[byte; 32]).unwrap())
}

/// Channel `scid` as `ChannelManager` reports it: its alias is `scid`, its id `[scid; 32]`, and
/// channels 2 and 3 go to the same peer.
fn channel_resources(scid: u64, slots: u16, liquidity_msat: u64) -> ChannelResources {
	let peer_byte = if scid == 3 { 2 } else { scid as u8 };
	ChannelResources {
		channel_id: ChannelId([scid as u8; 32]),
		counterparty_node_id: peer(peer_byte),
		outbound_scid_alias: scid,
		short_channel_id: Some(scid + 1_000),
		max_accepted_htlcs: slots,
		max_htlc_value_in_flight_msat: liquidity_msat,
	}
}

fn allocation_id(req: &ForwardRequest) -> ResourceAllocationId {
	ResourceAllocationId {
		incoming_channel_id: ChannelId([req.id.incoming_scid as u8; 32]),
		incoming_htlc_id: req.id.incoming_htlc_id,
	}
}

/// `req` as `ChannelManager` hands it over.
fn ldk_request(req: &ForwardRequest) -> LdkForwardRequest {
	let outgoing = req.outgoing_scid;
	let peer_byte = if outgoing == 3 { 2 } else { outgoing as u8 };
	LdkForwardRequest {
		id: allocation_id(req),
		incoming_counterparty_node_id: peer(req.id.incoming_scid as u8),
		incoming_outbound_scid_alias: req.id.incoming_scid,
		incoming_amount_msat: req.incoming_amount_msat,
		incoming_cltv_expiry: req.incoming_cltv_expiry,
		incoming_accountable: req.incoming_accountable,
		upgrade_accountability: req.upgrade_accountability_allowed,
		outgoing_short_channel_id: outgoing + 1_000,
		outgoing_channel: Some((peer(peer_byte), ChannelId([outgoing as u8; 32]))),
		outgoing_amount_msat: req.outgoing_amount_msat,
		outgoing_cltv_expiry: req.incoming_cltv_expiry - 1,
		forwarding_fee_msat: Some(req.fee_msat),
		released_by_user: req.released_by_user,
		best_block_height: req.height,
		queued_at: Duration::from_secs(req.now_secs),
	}
}

/// `req`, forwarded with `outgoing_accountable`, as `ChannelManager` replays it after a restart.
fn ldk_in_flight(req: &ForwardRequest, outgoing_accountable: bool) -> InFlightForward {
	InFlightForward {
		id: allocation_id(req),
		incoming_outbound_scid_alias: req.id.incoming_scid,
		outgoing_channel_id: ChannelId([req.outgoing_scid as u8; 32]),
		outgoing_outbound_scid_alias: req.outgoing_scid,
		outgoing_htlc_id: Some(req.id.incoming_htlc_id),
		incoming_amount_msat: Some(req.incoming_amount_msat),
		incoming_cltv_expiry: Some(req.incoming_cltv_expiry),
		outgoing_amount_msat: req.outgoing_amount_msat,
		forwarding_fee_msat: req.fee_msat,
		outgoing_accountable,
		added_at: Duration::from_secs(req.now_secs),
		best_block_height: req.height,
	}
}

/// The resolution of `req`, as `ChannelManager` reports it, on the channel it left on.
fn ldk_resolved(
	req: &ForwardRequest, outgoing_scid: u64, settled: bool, at: u64,
) -> ResourceNotification {
	ResourceNotification::ForwardResolved(ResolvedForward {
		id: allocation_id(req),
		incoming_outbound_scid_alias: req.id.incoming_scid,
		outgoing_channel_id: Some(ChannelId([outgoing_scid as u8; 32])),
		outgoing_htlc_id: Some(req.id.incoming_htlc_id),
		incoming_amount_msat: Some(req.incoming_amount_msat),
		outgoing_amount_msat: Some(req.outgoing_amount_msat),
		fee_earned_msat: settled.then_some(req.fee_msat),
		settled,
		added_at: Some(Duration::from_secs(req.now_secs)),
		resolved_at: Duration::from_secs(at),
		outgoing_accountable: None,
	})
}

fn usage(m: &Manager, scid: u64) -> (u32, u32, u32, u32) {
	let s = m.channel_snapshot(scid, T0).unwrap();
	(s.general.used_slots, s.congestion.used_slots, s.protected.used_slots, s.unallocated_htlcs)
}

/// Eight weeks of fast, settled forwards from channel 1 to `outgoing`, one every ten minutes.
/// Returns the time after them.
fn eight_weeks_of_fast_settles(m: &Manager, outgoing: u64) -> u64 {
	let mut now = T0;
	for htlc in 0.. {
		if now >= T0 + 8 * WEEK {
			break;
		}
		let req = ForwardRequest { now_secs: now, ..request(1, htlc, outgoing) };
		assert_eq!(m.add_htlc(&req), forward(false, ResourceBucket::General));
		resolve(m, &req, true, now + 5);
		now += 600;
	}
	now
}

// ---- Finding 1: unmarked HTLCs hold protected resources for free ----

#[test]
fn about_turn_unmarked_htlcs_do_not_hold_protected_slots_for_free() {
	let (e, l) = (TestEntropy::new(101), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	for scid in [1, 2] {
		ready(&m, scid, 483, 100_000_000_000);
	}
	let mut now = eight_weeks_of_fast_settles(&m, 2);
	let earned = m.channel_snapshot(2, now).unwrap().outgoing_reputation_msat;
	let protected_slots = m.channel_snapshot(1, now).unwrap().protected.limits.slots;
	assert_eq!(protected_slots, 194);

	// The about-turn: each round the attacker fills the pair's general slots, then takes what
	// protected slots it can with HTLCs without the marker, holds them a day and fails them.
	let mut next_htlc = 1_000_000;
	let mut protected_per_round = Vec::new();
	for _round in 0..6 {
		let mut held = Vec::new();
		let mut protected = 0;
		loop {
			let req = ForwardRequest {
				incoming_cltv_expiry: HEIGHT + 144,
				now_secs: now,
				..request(1, next_htlc, 2)
			};
			next_htlc += 1;
			match m.add_htlc(&req) {
				Decision::Forward { bucket: ResourceBucket::General, .. } => held.push(req),
				Decision::Forward { bucket: ResourceBucket::Protected, .. } => {
					protected += 1;
					held.push(req);
				},
				_ => break,
			}
		}
		protected_per_round.push(protected);
		now += DAY;
		for req in &held {
			resolve(&m, req, false, now);
		}
		now += 1;
	}
	// Each HTLC on protected resources carries its risk against channel 2: the first round gets
	// what eight weeks of reputation cover, well short of the bucket, and the day-long holds
	// cost channel 2 its reputation, so no later round gets any.
	assert!(protected_per_round[0] < protected_slots as u32 / 4, "{:?}", protected_per_round);
	assert_eq!(&protected_per_round[1..], &[0; 5], "{:?}", protected_per_round);
	// Each of them cost about a day's opportunity cost of its fee: (86_400 - 90) / 90 * 1000.
	let lost = earned - m.channel_snapshot(2, now).unwrap().outgoing_reputation_msat;
	assert!(lost > protected_per_round[0] as f64 * 950_000.0, "{} {:?}", lost, protected_per_round);
}

// ---- Finding 2: replay puts HTLCs in the wrong buckets ----

/// Persists `m`, reads it back and replays `in_flight` through the [`ResourceManager`] trait as
/// `ChannelManager` does after a restart.
fn restart<'a>(
	m: &Manager, config: ResourceManagerConfig, e: &'a TestEntropy, l: &'a TestLogger,
	channels: &[ChannelResources], in_flight: &[InFlightForward],
) -> Manager<'a> {
	let bytes = m.encode();
	let restarted = Manager::read(&mut &bytes[..], (config, e, l)).unwrap();
	let mut replay = vec![ResourceNotification::ReplayStarted];
	replay.extend(channels.iter().cloned().map(ResourceNotification::ChannelReady));
	replay.extend(in_flight.iter().cloned().map(ResourceNotification::ForwardInFlight));
	replay.push(ResourceNotification::ReplayComplete);
	restarted.handle_notifications(replay);
	restarted
}

#[test]
fn replay_puts_htlcs_back_in_the_buckets_they_were_given() {
	let (e, l) = (TestEntropy::new(102), TestLogger::default());
	let config = ResourceManagerConfig::default();
	let m = manager(config, &e, &l);
	let channels: Vec<_> =
		[1, 2, 3, 99].iter().map(|scid| channel_resources(*scid, 100, 1_000_000)).collect();
	m.handle_notifications(
		channels.iter().cloned().map(ResourceNotification::ChannelReady).collect(),
	);
	let mut in_flight = Vec::new();
	let general = [fill_general(&m, 1, 2), fill_general(&m, 1, 3), saturate_general(&m, 1)];
	for req in general.iter().flatten() {
		in_flight.push(ldk_in_flight(req, false));
	}
	earn(&m, 3, 100_000, 0);
	// A congestion HTLC (marked, to channel 2, which has no reputation) and an unmarked one on
	// protected resources (to channel 3, which has).
	let congestion = ForwardRequest {
		upgrade_accountability_allowed: true,
		incoming_amount_msat: 1,
		..request(1, 1, 2)
	};
	assert_eq!(m.add_htlc(&congestion), forward(true, ResourceBucket::Congestion));
	in_flight.push(ldk_in_flight(&congestion, true));
	let unmarked = ForwardRequest { incoming_amount_msat: 1, ..request(1, 2, 3) };
	assert_eq!(m.add_htlc(&unmarked), forward(false, ResourceBucket::Protected));
	in_flight.push(ldk_in_flight(&unmarked, false));
	let before = usage(&m, 1);
	assert_eq!((before.1, before.2), (1, 1));

	let (e2, l2) = (TestEntropy::new(103), TestLogger::default());
	let restarted = restart(&m, config, &e2, &l2, &channels, &in_flight);
	assert_eq!(usage(&restarted, 1), before);
	assert_eq!(restarted.htlcs_in_flight(), in_flight.len());
}

#[test]
fn replay_keeps_shadow_forwards_unallocated() {
	let (e, l) = (TestEntropy::new(104), TestLogger::default());
	let config = ResourceManagerConfig { mode: Mode::Shadow, ..Default::default() };
	let m = manager(config, &e, &l);
	let channels: Vec<_> =
		[1, 2].iter().map(|scid| channel_resources(*scid, 483, 1_000_000_000)).collect();
	m.handle_notifications(
		channels.iter().cloned().map(ResourceNotification::ChannelReady).collect(),
	);
	// Accountable, to a channel without reputation: the algorithm would fail it.
	let req = ForwardRequest {
		incoming_accountable: true,
		upgrade_accountability_allowed: true,
		..request(1, 1, 2)
	};
	assert_eq!(m.add_htlc(&req), forward(true, ResourceBucket::Unallocated));
	let before = usage(&m, 1);
	assert_eq!(before, (0, 0, 0, 1));

	let (e2, l2) = (TestEntropy::new(105), TestLogger::default());
	let restarted = restart(&m, config, &e2, &l2, &channels, &[ldk_in_flight(&req, true)]);
	assert_eq!(usage(&restarted, 1), before);
	// And it carries no risk: in enforce mode it would not exist.
	assert_eq!(restarted.channel_snapshot(2, T0).unwrap().in_flight_risk_msat, 0.0);
}

// ---- Finding 3: `RequestTimedOut` is ignored ----

#[test]
fn a_request_timed_out_after_its_decision_releases_what_it_was_given() {
	let (e, l) = (TestEntropy::new(106), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	let ready_all = [1, 2]
		.map(|s| ResourceNotification::ChannelReady(channel_resources(s, 483, 1_000_000_000)));
	m.handle_notifications(ready_all.to_vec());
	let req = request(1, 1, 2);
	let decisions = m.handle_forward_requests(vec![ldk_request(&req)]);
	assert_eq!(
		decisions,
		vec![(allocation_id(&req), ResourceAllocation::Forward { outgoing_accountable: false })]
	);
	assert_eq!(m.htlcs_in_flight(), 1);
	// `ChannelManager` failed it back by timeout before the decision reached it (a race with
	// its timer): no resolution will follow.
	m.handle_notifications(vec![ResourceNotification::RequestTimedOut(allocation_id(&req))]);
	assert_eq!(m.htlcs_in_flight(), 0);
	assert_eq!(usage(&m, 1), (0, 0, 0, 0));
	// Its reputation and revenue are untouched: the HTLC never went out.
	assert_eq!(m.channel_snapshot(2, T0).unwrap().resolved_outgoing_htlcs, 0);
	// A timeout for a request not in flight changes nothing.
	m.handle_notifications(vec![ResourceNotification::RequestTimedOut(allocation_id(&req))]);
	assert_eq!(m.htlcs_in_flight(), 0);
}

// ---- Finding 4: closes of channels known only from the replay ----

#[test]
fn closes_of_channels_known_from_the_replay_are_handled() {
	let (e, l) = (TestEntropy::new(107), TestLogger::default());
	let config = ResourceManagerConfig::default();
	let m = manager(config, &e, &l);
	// A manager with no state of its own learns of the channels and the HTLC from the replay.
	let channels: Vec<_> =
		[1, 2].iter().map(|scid| channel_resources(*scid, 483, 1_000_000_000)).collect();
	let req = ForwardRequest {
		incoming_accountable: true,
		upgrade_accountability_allowed: true,
		..request(1, 1, 2)
	};
	let mut replay = vec![ResourceNotification::ReplayStarted];
	replay.extend(channels.iter().cloned().map(ResourceNotification::ChannelReady));
	replay.push(ResourceNotification::ForwardInFlight(ldk_in_flight(&req, true)));
	replay.push(ResourceNotification::ReplayComplete);
	m.handle_notifications(replay);
	assert_eq!(usage(&m, 1).2, 1);
	assert!(m.channel_snapshot(2, T0).unwrap().in_flight_risk_msat > 0.0);
	for scid in [1u64, 2] {
		m.handle_notifications(vec![ResourceNotification::ChannelClosed {
			channel_id: ChannelId([scid as u8; 32]),
			counterparty_node_id: peer(scid as u8),
		}]);
		assert!(m.channel_snapshot(scid, T0).is_none(), "channel {} still known", scid);
	}
	m.handle_notifications(vec![ldk_resolved(&req, 2, false, T0 + 10)]);
	assert_eq!(m.htlcs_in_flight(), 0);
	assert_eq!(m.stats().unknown_resolutions, 0);
}

// ---- Finding 5: reputation goes to the channel the onion named ----

#[test]
fn reputation_goes_to_the_channel_the_htlc_left_on() {
	let (e, l) = (TestEntropy::new(108), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	let ready_all = [1, 2, 3]
		.map(|s| ResourceNotification::ChannelReady(channel_resources(s, 483, 1_000_000_000)));
	m.handle_notifications(ready_all.to_vec());
	// The onion names channel 2; non-strict forwarding sends it over channel 3, to the same peer.
	let req = request(1, 1, 2);
	m.handle_forward_requests(vec![ldk_request(&req)]);
	m.handle_notifications(vec![ldk_resolved(&req, 3, true, T0 + 1)]);
	assert_eq!(m.htlcs_in_flight(), 0);
	let three = m.channel_snapshot(3, T0 + 1).unwrap();
	assert_eq!((three.outgoing_reputation_msat, three.resolved_outgoing_htlcs), (1_000.0, 1));
	let two = m.channel_snapshot(2, T0 + 1).unwrap();
	assert_eq!((two.outgoing_reputation_msat, two.resolved_outgoing_htlcs), (0.0, 0));
}

// ---- Finding 6: the JIT waiver is unbounded ----

#[test]
fn jit_waiver_covers_one_payment_not_every_released_forward() {
	let (e, l) = (TestEntropy::new(109), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	for scid in [1, 2, 3] {
		ready(&m, scid, 483, 1_000_000_000);
	}
	// Channel 1 has revenue, so channel 2, new, is below its threshold.
	let paid = ForwardRequest { fee_msat: 12_000, ..request(1, 100, 3) };
	m.add_htlc(&paid);
	resolve(&m, &paid, true, T0);
	// An attacker paying through the LSP has its HTLCs released onto the JIT channel 2, and
	// holds them.
	let mut waived = 0;
	for htlc in 0..100 {
		let jit = ForwardRequest {
			incoming_accountable: true,
			upgrade_accountability_allowed: true,
			released_by_user: true,
			incoming_cltv_expiry: HEIGHT + 144,
			..request(1, htlc, 2)
		};
		if m.add_htlc(&jit) == forward(true, ResourceBucket::Protected) {
			waived += 1;
		}
	}
	let limit = ResourceManagerConfig::default().jit_waiver_max_htlcs as u64;
	assert_eq!(waived, limit);
	assert_eq!(m.stats().jit_reputation_waivers, limit);
	// The waived HTLCs carry their risk.
	assert_eq!(m.channel_snapshot(2, T0).unwrap().risk_bearing_htlcs_in_flight, limit as u32);
}

/// Found by the demo's long-horizon trace (`jit-waiver-abuse`): an attacker that buys a JIT
/// channel per block gets fresh waivers each time, and with them every protected slot of the
/// incoming channel, leaving none to the outgoing channels that earned them.
#[test]
fn jit_waivers_leave_half_the_protected_bucket_to_reputation() {
	let (e, l) = (TestEntropy::new(110), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	for scid in [1, 2, 99] {
		ready(&m, scid, 50, 1_000_000_000);
	}
	// Channel 2 has earned reputation; the JIT channels have none.
	earn(&m, 2, 1_000_000, 101);
	let protected_slots = m.channel_snapshot(1, T0).unwrap().protected.limits.slots;
	assert_eq!(protected_slots, 20);

	// Ten HTLCs held on each of a series of fresh JIT channels.
	let mut htlc = 0;
	for jit in 1_000..1_020 {
		ready(&m, jit, 50, 1_000_000_000);
		for _ in 0..10 {
			let req = ForwardRequest {
				incoming_accountable: true,
				upgrade_accountability_allowed: true,
				released_by_user: true,
				..request(1, htlc, jit)
			};
			htlc += 1;
			m.add_htlc(&req);
		}
	}
	let used = m.channel_snapshot(1, T0).unwrap().protected.used_slots;
	assert_eq!(used, protected_slots as u32 / 2, "waived HTLCs hold {used} protected slots");
	// The channel with reputation still gets protected resources.
	let honest = ForwardRequest {
		incoming_accountable: true,
		upgrade_accountability_allowed: true,
		..request(1, 200, 2)
	};
	assert_eq!(m.add_htlc(&honest), forward(true, ResourceBucket::Protected));
}

// ---- Finding 7: shadow mode drifts ----

/// Round after round, twenty accountable HTLCs to channel 2 at once: those the algorithm takes
/// settle a second later, those it rejects are held a day and failed (in shadow mode, where
/// they go out). Returns the decisions.
fn held_rejections(m: &Manager) -> Vec<Decision> {
	let mut decisions = Vec::new();
	earn(m, 2, 2_000_000, 0);
	let mut now = T0;
	let mut htlc = 0;
	for _round in 0..4 {
		let (mut accepted, mut rejected) = (Vec::new(), Vec::new());
		for _ in 0..20 {
			let req = ForwardRequest {
				incoming_accountable: true,
				upgrade_accountability_allowed: true,
				incoming_cltv_expiry: HEIGHT + 40,
				now_secs: now,
				..request(1, htlc, 2)
			};
			htlc += 1;
			let decision = m.add_htlc(&req);
			decisions.push(decision);
			match decision {
				Decision::Forward { bucket: ResourceBucket::Unallocated, .. } => rejected.push(req),
				Decision::Forward { .. } => accepted.push(req),
				Decision::Fail { .. } => {},
			}
		}
		for req in &accepted {
			resolve(m, req, true, now + 1);
		}
		now += DAY;
		for req in &rejected {
			resolve(m, req, false, now);
		}
		now += 1;
	}
	decisions
}

#[test]
fn shadow_mode_decides_as_enforce_mode_would() {
	let (e, l) = (TestEntropy::new(110), TestLogger::default());
	let enforce = manager(ResourceManagerConfig::default(), &e, &l);
	let shadow_config = ResourceManagerConfig { mode: Mode::Shadow, ..Default::default() };
	let (e2, l2) = (TestEntropy::new(110), TestLogger::default());
	let shadow = manager(shadow_config, &e2, &l2);
	for m in [&enforce, &shadow] {
		for scid in [1, 2, 99] {
			ready(m, scid, 483, 1_000_000_000);
		}
	}
	let enforced = held_rejections(&enforce);
	let shadowed = held_rejections(&shadow);
	let as_shadow = |d: &Decision| match d {
		Decision::Fail { .. } => forward(true, ResourceBucket::Unallocated),
		other => *other,
	};
	assert!(enforce.stats().failed.total() > 0);
	assert_eq!(enforced.iter().map(as_shadow).collect::<Vec<_>>(), shadowed);
	assert_eq!(shadow.stats().would_have_failed, enforce.stats().failed);
}

// ---- Finding 8: the June 2026 text ----

#[test]
fn a_young_channels_threshold_is_not_divided_by_the_whole_period() {
	let (e, l) = (TestEntropy::new(111), TestLogger::default());
	let config = ResourceManagerConfig::default();
	let m = manager(config, &e, &l);
	for scid in [1, 2] {
		ready(&m, scid, 483, 1_000_000_000);
	}
	// Channel 1 starts forwarding at T0 and has earned 12_000 msat a day later.
	let first = ForwardRequest { fee_msat: 12_000, ..request(1, 1, 2) };
	m.add_htlc(&first);
	resolve(&m, &first, true, T0 + DAY);
	// One revenue window at the rate seen so far is 14 days' worth: 14 * 12_000. The decaying
	// average over six windows reads 12_000 (decayed by nothing yet) and the warm-up factor
	// divides it by 6 * (1 - e^(-1/84)).
	let window_total = config.revenue_window_count as f64;
	let periods = DAY as f64 / config.revenue_window_secs as f64;
	let warmup = window_total * (1.0 - libm::exp(-periods / window_total));
	let threshold = m.channel_snapshot(1, T0 + DAY).unwrap().incoming_revenue_threshold_msat;
	assert!((threshold - 12_000.0 / warmup).abs() < 1e-6, "{}", threshold);
	assert!(threshold > 14.0 * 12_000.0 && threshold < 14.1 * 12_000.0, "{}", threshold);
}

#[test]
fn decay_keeps_one_over_e_after_a_window() {
	let mut avg = crate::decaying_average::DecayingAverage::new(1_000, 0);
	avg.add(100.0, 0);
	assert!((avg.value_at(1_000) - 100.0 / core::f64::consts::E).abs() < 1e-9);
}

#[test]
fn small_channels_are_all_general() {
	let config = ResourceManagerConfig::default();
	// Twelve slots: general would get four, fewer than one pair's five.
	let small = BucketSplit::new(12, 1_000_000, &config);
	assert_eq!(small.general, BucketLimits { slots: 12, liquidity_msat: 1_000_000 });
	assert_eq!(
		(small.congestion, small.protected),
		(BucketLimits::default(), BucketLimits::default())
	);
	let large = BucketSplit::new(13, 1_000_000, &config);
	assert_eq!(large.general.slots, 5);
	assert_eq!(large.protected.slots, 6);
}

#[test]
fn congestion_needs_the_general_bucket_saturated() {
	let (e, l) = (TestEntropy::new(112), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	for scid in [1, 2] {
		ready(&m, scid, 483, 1_000_000_000);
	}
	// The pair's nine general slots are full; the bucket's 193 are not.
	fill_general(&m, 1, 2);
	let snapshot = m.channel_snapshot(1, T0).unwrap();
	assert!(snapshot.general.used_slots < snapshot.general.limits.slots as u32);
	let marked = ForwardRequest {
		upgrade_accountability_allowed: true,
		incoming_amount_msat: 1,
		..request(1, 1, 2)
	};
	assert!(matches!(m.add_htlc(&marked), Decision::Fail { .. }));
}

#[test]
fn an_accountable_htlc_without_the_marker_is_failed() {
	let (e, l) = (TestEntropy::new(113), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	for scid in [1, 2, 99] {
		ready(&m, scid, 483, 1_000_000_000);
	}
	earn(&m, 2, 1_000_000, 0);
	// An upstream hop set `accountable` without the sender's permission: a corrupted signal.
	let corrupted = ForwardRequest { incoming_accountable: true, ..request(1, 1, 2) };
	assert!(matches!(m.add_htlc(&corrupted), Decision::Fail { .. }));
	let marked = ForwardRequest { upgrade_accountability_allowed: true, ..corrupted };
	let marked = ForwardRequest { id: HtlcId { incoming_scid: 1, incoming_htlc_id: 2 }, ..marked };
	assert_eq!(m.add_htlc(&marked), forward(true, ResourceBucket::Protected));
}
