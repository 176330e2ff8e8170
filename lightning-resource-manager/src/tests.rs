// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! Tests of [`DefaultResourceManager`] as a whole: the formulas through the manager, one test per
//! pitfall of the spec, and property tests of the invariants.

use crate::buckets::general::NO_SLOT;
use crate::persistence::{persist, read, ReadError};
use crate::*;

use core::sync::atomic::{AtomicU64, Ordering};
use std::collections::HashMap as StdHashMap;
use std::string::String;
use std::sync::Mutex;
use std::vec::Vec;

use lightning::io;
use lightning::ln::msgs::DecodeError;
use lightning::ln::types::ChannelId;
use lightning::sign::EntropySource;
use lightning::util::logger::{Logger, Record};
use lightning::util::persist::KVStoreSync;
use lightning::util::ser::{ReadableArgs, Writeable};
use proptest::prelude::*;

/// Deterministic "randomness": a counter, spread over the 32 bytes.
pub(crate) struct TestEntropy(AtomicU64);

impl TestEntropy {
	pub(crate) fn new(seed: u64) -> Self {
		Self(AtomicU64::new(seed << 32))
	}
}

impl EntropySource for TestEntropy {
	fn get_secure_random_bytes(&self) -> [u8; 32] {
		let n = self.0.fetch_add(1, Ordering::Relaxed);
		let mut bytes = [0u8; 32];
		for (i, chunk) in bytes.chunks_exact_mut(8).enumerate() {
			chunk
				.copy_from_slice(&(n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ i as u64).to_le_bytes());
		}
		bytes
	}
}

#[derive(Default)]
pub(crate) struct TestLogger(Mutex<Vec<String>>);

impl Logger for TestLogger {
	fn log(&self, record: Record) {
		self.0.lock().unwrap().push(format!("{}", record.args));
	}
}

impl TestLogger {
	fn contains(&self, needle: &str) -> bool {
		self.0.lock().unwrap().iter().any(|line| line.contains(needle))
	}
}

#[derive(Default)]
pub(crate) struct TestStore(Mutex<StdHashMap<(String, String, String), Vec<u8>>>);

impl KVStoreSync for TestStore {
	fn read(&self, p: &str, s: &str, k: &str) -> Result<Vec<u8>, io::Error> {
		let key = (p.into(), s.into(), k.into());
		self.0.lock().unwrap().get(&key).cloned().ok_or(io::ErrorKind::NotFound.into())
	}
	fn write(&self, p: &str, s: &str, k: &str, buf: Vec<u8>) -> Result<(), io::Error> {
		self.0.lock().unwrap().insert((p.into(), s.into(), k.into()), buf);
		Ok(())
	}
	fn remove(&self, p: &str, s: &str, k: &str, _lazy: bool) -> Result<(), io::Error> {
		self.0.lock().unwrap().remove(&(p.into(), s.into(), k.into()));
		Ok(())
	}
	fn list(&self, _p: &str, _s: &str) -> Result<Vec<String>, io::Error> {
		Ok(self.0.lock().unwrap().keys().map(|k| k.2.clone()).collect())
	}
}

pub(crate) type Manager<'a> = DefaultResourceManager<&'a TestEntropy, &'a TestLogger>;

pub(crate) const T0: u64 = 1_700_000_000;
pub(crate) const HEIGHT: u32 = 800_000;

pub(crate) fn manager<'a>(
	config: ResourceManagerConfig, entropy: &'a TestEntropy, logger: &'a TestLogger,
) -> Manager<'a> {
	DefaultResourceManager::new(config, entropy, logger).unwrap()
}

pub(crate) fn ready(m: &Manager, scid: u64, slots: u16, liquidity_msat: u64) {
	m.channel_ready(&ChannelInfo {
		short_channel_id: scid,
		channel_id: ChannelId([scid as u8; 32]),
		max_accepted_htlcs: slots,
		max_htlc_value_in_flight_msat: liquidity_msat,
	});
}

pub(crate) fn request(incoming: u64, htlc: u64, outgoing: u64) -> ForwardRequest {
	ForwardRequest {
		id: HtlcId { incoming_scid: incoming, incoming_htlc_id: htlc },
		outgoing_scid: outgoing,
		incoming_amount_msat: 10_000,
		outgoing_amount_msat: 9_000,
		fee_msat: 1_000,
		incoming_cltv_expiry: HEIGHT + 2,
		height: HEIGHT,
		incoming_accountable: false,
		upgrade_accountability_allowed: false,
		released_by_user: false,
		now_secs: T0,
	}
}

pub(crate) fn resolve(m: &Manager, req: &ForwardRequest, settled: bool, at: u64) -> ResolveOutcome {
	m.resolve_htlc(&HtlcResolution {
		id: req.id,
		settled,
		resolved_at_secs: at,
		outgoing_scid: None,
	})
}

pub(crate) fn forward(accountable: bool, bucket: ResourceBucket) -> Decision {
	Decision::Forward { outgoing_accountable: accountable, bucket }
}

/// Gives `outgoing` a reputation of `fee` (at `T0`) with one fast, settled, unaccountable HTLC
/// from channel 99.
pub(crate) fn earn(m: &Manager, outgoing: u64, fee: u64, htlc: u64) {
	let req = ForwardRequest { fee_msat: fee, ..request(99, htlc, outgoing) };
	assert_eq!(m.add_htlc(&req), forward(false, ResourceBucket::General));
	assert_eq!(resolve(m, &req, true, T0), ResolveOutcome::Resolved);
}

/// Fills the general slots of the pair `incoming -> outgoing` with HTLCs numbered from
/// `10_000 + outgoing * 1_000`.
pub(crate) fn fill_general(m: &Manager, incoming: u64, outgoing: u64) -> Vec<ForwardRequest> {
	let mut added = Vec::new();
	// Ids of their own for each pair.
	for htlc in 10_000 + outgoing * 1_000.. {
		let req = ForwardRequest { incoming_amount_msat: 1, ..request(incoming, htlc, outgoing) };
		if m.add_htlc(&req) != forward(false, ResourceBucket::General) {
			// Not counted: a failed add holds nothing.
			break;
		}
		added.push(req);
	}
	added
}

/// Fills every general slot of `incoming` with 1-msat HTLCs to channels 1000 and up (ids from
/// 2_000_000), so that the general bucket as a whole is saturated.
pub(crate) fn saturate_general(m: &Manager, incoming: u64) -> Vec<ForwardRequest> {
	let mut added = Vec::new();
	let mut htlc = 2_000_000;
	for outgoing in 1_000.. {
		let general = m.channel_snapshot(incoming, T0).unwrap().general;
		if general.used_slots >= general.limits.slots as u32 {
			break;
		}
		loop {
			let req =
				ForwardRequest { incoming_amount_msat: 1, ..request(incoming, htlc, outgoing) };
			htlc += 1;
			if m.add_htlc(&req) != forward(false, ResourceBucket::General) {
				break;
			}
			added.push(req);
		}
	}
	added
}

// ---- Formulas, through the manager ----

#[test]
fn reputation_and_threshold_by_hand() {
	let (e, l) = (TestEntropy::new(1), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	ready(&m, 1, 483, 1_000_000_000);
	ready(&m, 2, 483, 1_000_000_000);
	ready(&m, 99, 483, 1_000_000_000);
	// An accountable HTLC (channel 2 has no reputation, so give it some first).
	earn(&m, 2, 100_000, 0);
	let req = ForwardRequest {
		incoming_accountable: true,
		upgrade_accountability_allowed: true,
		..request(1, 1, 2)
	};
	assert_eq!(m.add_htlc(&req), forward(true, ResourceBucket::Protected));
	// In-flight risk: 2 blocks = 1200 s, (1200 - 90) / 90 * 1000 = 12_333.33...
	let snap = m.channel_snapshot(2, T0).unwrap();
	assert!((snap.in_flight_risk_msat - 1_110_000.0 / 90.0).abs() < 1e-6);
	assert_eq!(snap.risk_bearing_htlcs_in_flight, 1);
	// Settled after 135 s: effective fee 1000 - 45 / 90 * 1000 = 500.
	resolve(&m, &req, true, T0 + 135);
	let decay = libm::exp(-135.0 / 14_515_200.0);
	let snap = m.channel_snapshot(2, T0 + 135).unwrap();
	assert!((snap.outgoing_reputation_msat - (100_000.0 * decay + 500.0)).abs() < 1e-6);
	assert_eq!(snap.in_flight_risk_msat, 0.0);
	// Channel 1, which began forwarding at T0, earned 1000 of revenue: its threshold is that
	// divided by the warm-up factor of a channel 135 s old.
	let snap = m.channel_snapshot(1, T0 + 135).unwrap();
	assert_close(snap.incoming_revenue_threshold_msat, 1_000.0 / warmup(135));
	// A reputation window later the reputation keeps 1/e (the e^(-t/window) convention); the
	// revenue, over six revenue windows, keeps 1/e^2 of itself, read with the warm-up of a
	// channel twelve windows old.
	let later = T0 + 135 + 14_515_200;
	let snap = m.channel_snapshot(2, later).unwrap();
	assert_close(snap.outgoing_reputation_msat, (100_000.0 * decay + 500.0) / core::f64::consts::E);
	let snap = m.channel_snapshot(1, later).unwrap();
	let e2 = core::f64::consts::E * core::f64::consts::E;
	assert_close(snap.incoming_revenue_threshold_msat, 1_000.0 / e2 / warmup(14_515_335));
}

/// The warm-up factor of the default configuration for a channel `elapsed_secs` old.
pub(crate) fn warmup(elapsed_secs: u64) -> f64 {
	let periods = elapsed_secs as f64 / 1_209_600.0;
	6.0 * (1.0 - libm::exp(-periods / 6.0))
}

pub(crate) fn assert_close(actual: f64, expected: f64) {
	assert!((actual - expected).abs() <= expected.abs() * 1e-9, "{} != {}", actual, expected);
}

#[test]
fn own_risk_counts_toward_sufficient_reputation() {
	let (e, l) = (TestEntropy::new(2), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	for scid in [1, 2, 99] {
		ready(&m, scid, 483, 1_000_000_000);
	}
	// Reputation 10_000, threshold 0, nothing in flight.
	earn(&m, 2, 10_000, 0);
	// Fee 100 over 2 blocks: own risk (1200 - 90) / 90 * 100 = 1233.3: sufficient.
	let short = ForwardRequest {
		incoming_accountable: true,
		upgrade_accountability_allowed: true,
		fee_msat: 100,
		..request(1, 1, 2)
	};
	assert_eq!(m.add_htlc(&short), forward(true, ResourceBucket::Protected));
	// Fee 100 over 40 blocks: own risk (24_000 - 90) / 90 * 100 = 26_566.7 > 10_000 - 1233.3.
	// Without counting its own risk, 10_000 - 1233.3 >= 0 would let it through.
	let long = ForwardRequest {
		incoming_accountable: true,
		upgrade_accountability_allowed: true,
		fee_msat: 100,
		incoming_cltv_expiry: HEIGHT + 40,
		..request(1, 2, 2)
	};
	assert_eq!(m.add_htlc(&long), Decision::Fail { reason: FailureReason::InsufficientReputation });
	// An HTLC with no hold left has no risk of its own: 10_000 - 1233.3 - 0 >= 0.
	// (The boundary itself is tested in `sufficient_reputation_is_inclusive`.)
	let free = ForwardRequest {
		incoming_accountable: true,
		upgrade_accountability_allowed: true,
		fee_msat: 1,
		incoming_cltv_expiry: HEIGHT,
		..request(1, 3, 2)
	};
	assert_eq!(m.add_htlc(&free), forward(true, ResourceBucket::Protected));
}

#[test]
fn sufficient_reputation_is_inclusive() {
	let (e, l) = (TestEntropy::new(3), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	for scid in [1, 2, 99] {
		ready(&m, scid, 483, 1_000_000_000);
	}
	// Reputation 1110 msat; an HTLC of fee 90 over 2 blocks has own risk 90 * 1110 / 90 = 1110.
	earn(&m, 2, 1_110, 0);
	let req = ForwardRequest {
		incoming_accountable: true,
		upgrade_accountability_allowed: true,
		fee_msat: 90,
		..request(1, 1, 2)
	};
	assert_eq!(m.add_htlc(&req), forward(true, ResourceBucket::Protected));
	let more = ForwardRequest {
		incoming_accountable: true,
		upgrade_accountability_allowed: true,
		fee_msat: 1,
		..request(1, 2, 2)
	};
	assert_eq!(m.add_htlc(&more), Decision::Fail { reason: FailureReason::InsufficientReputation });
}

// ---- Pitfalls ----

#[test]
fn pitfall_offered_fee_instead_of_policy_fee() {
	let (e, l) = (TestEntropy::new(4), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	ready(&m, 1, 483, 1_000_000_000);
	ready(&m, 2, 483, 1_000_000_000);
	// The sender overpays by 1_000_000 msat; our policy charges 1_000.
	let req = ForwardRequest {
		incoming_amount_msat: 1_010_000,
		outgoing_amount_msat: 9_000,
		fee_msat: 1_000,
		..request(1, 1, 2)
	};
	m.add_htlc(&req);
	resolve(&m, &req, true, T0 + 1);
	assert_eq!(m.channel_snapshot(2, T0 + 1).unwrap().outgoing_reputation_msat, 1_000.0);
	assert_close(
		m.channel_snapshot(1, T0 + 1).unwrap().incoming_revenue_threshold_msat,
		1_000.0 / warmup(1),
	);
}

#[test]
fn pitfall_pair_liquidity_is_in_total() {
	let (e, l) = (TestEntropy::new(5), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	// 100 slots: 40 general slots, 400_000 msat general; a pair gets 5 slots and
	// 400_000 * 5 / 40 = 50_000 msat in total.
	ready(&m, 1, 100, 1_000_000);
	ready(&m, 2, 100, 1_000_000);
	let a = ForwardRequest { incoming_amount_msat: 30_000, ..request(1, 1, 2) };
	let b = ForwardRequest { incoming_amount_msat: 20_000, ..request(1, 2, 2) };
	let c = ForwardRequest { incoming_amount_msat: 1, ..request(1, 3, 2) };
	assert_eq!(m.add_htlc(&a), forward(false, ResourceBucket::General));
	assert_eq!(m.add_htlc(&b), forward(false, ResourceBucket::General));
	// Two of five slots used, but the pair's liquidity is exhausted: no general.
	assert!(matches!(
		m.add_htlc(&c),
		Decision::Fail { reason: FailureReason::GeneralBucketFull { .. } }
	));
	assert_eq!(m.channel_snapshot(1, T0).unwrap().general.used_liquidity_msat, 50_000);
}

#[test]
fn pitfall_upgrade_without_permission() {
	for policy in [UnmarkedProtectedPolicy::ForwardUnaccountable, UnmarkedProtectedPolicy::Fail] {
		let (e, l) = (TestEntropy::new(6), TestLogger::default());
		let config = ResourceManagerConfig { unmarked_protected: policy, ..Default::default() };
		let m = manager(config, &e, &l);
		for scid in [1, 2, 3, 99] {
			ready(&m, scid, 100, 1_000_000_000);
		}
		// Fill the pairs' general slots while channel 2 has no reputation yet.
		fill_general(&m, 1, 2);
		fill_general(&m, 1, 3);
		saturate_general(&m, 1);
		earn(&m, 2, 1_000_000, 0);
		// Channel 2 has reputation: protected, but never accountable without the marker.
		let unmarked = request(1, 1, 2);
		let marked = ForwardRequest { upgrade_accountability_allowed: true, ..request(1, 2, 2) };
		match policy {
			UnmarkedProtectedPolicy::ForwardUnaccountable => {
				assert_eq!(m.add_htlc(&unmarked), forward(false, ResourceBucket::Protected));
				assert_eq!(m.stats().forwarded_protected_unaccountable, 1);
			},
			UnmarkedProtectedPolicy::Fail => assert_eq!(
				m.add_htlc(&unmarked),
				Decision::Fail {
					reason: FailureReason::GeneralBucketFull {
						sufficient_reputation: true,
						congestion: CongestionIneligibility::NoUpgradeMarker,
					}
				}
			),
		}
		assert_eq!(m.add_htlc(&marked), forward(true, ResourceBucket::Protected));
		// Channel 3 has none: congestion, only with the marker.
		assert_eq!(
			m.add_htlc(&request(1, 3, 3)),
			Decision::Fail {
				reason: FailureReason::GeneralBucketFull {
					sufficient_reputation: false,
					congestion: CongestionIneligibility::NoUpgradeMarker,
				}
			}
		);
		let marked = ForwardRequest { upgrade_accountability_allowed: true, ..request(1, 4, 3) };
		assert_eq!(m.add_htlc(&marked), forward(true, ResourceBucket::Congestion));
	}
}

#[test]
fn pitfall_random_salt_per_start() {
	let store = TestStore::default();
	let l = TestLogger::default();
	let e1 = TestEntropy::new(7);
	let m1 = manager(ResourceManagerConfig::default(), &e1, &l);
	ready(&m1, 1, 483, 1_000_000_000);
	ready(&m1, 2, 483, 1_000_000_000);
	persist(&store, &m1).unwrap();
	// Restart with an entropy source that would draw other salts.
	let e2 = TestEntropy::new(8);
	let m2 = read(&store, ResourceManagerConfig::default(), &e2, &l).unwrap();
	assert_eq!(m1.state().channels[&1].salt, m2.state().channels[&1].salt);
	// A fresh manager would draw another salt, hence other slots.
	let m3 = manager(ResourceManagerConfig::default(), &e2, &l);
	ready(&m3, 1, 483, 1_000_000_000);
	assert_ne!(m1.state().channels[&1].salt, m3.state().channels[&1].salt);
	// The same requests find the same slots before and after the restart.
	let slots = |m: &Manager| {
		let state = m.state();
		let c = &state.channels[&1];
		let mut v = Vec::new();
		crate::slot_assignment::for_each_pair_slot(&c.salt, 1, 2, 193, 9, |s| v.push(s));
		v
	};
	assert_eq!(slots(&m1), slots(&m2));
	assert_ne!(slots(&m1), slots(&m3));
}

#[test]
fn pitfall_replay_is_idempotent() {
	let (e, l) = (TestEntropy::new(9), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	ready(&m, 1, 483, 1_000_000_000);
	ready(&m, 2, 483, 1_000_000_000);
	let req = ForwardRequest {
		incoming_accountable: true,
		upgrade_accountability_allowed: true,
		..request(1, 1, 2)
	};
	let replay = ReplayedForward {
		request: req,
		outgoing_accountable: true,
		bucket: ResourceBucket::Protected,
	};
	assert_eq!(m.replay_forward(&replay), ReplayOutcome::Added);
	assert_eq!(m.replay_forward(&replay), ReplayOutcome::AlreadyInFlight);
	// A repeated add is answered with the recorded decision and counts nothing.
	assert_eq!(m.add_htlc(&req), forward(true, ResourceBucket::Protected));
	let snap = m.channel_snapshot(1, T0).unwrap();
	assert_eq!(snap.protected.used_slots, 1);
	assert_eq!(m.channel_snapshot(2, T0).unwrap().risk_bearing_htlcs_in_flight, 1);
	assert_eq!(m.htlcs_in_flight(), 1);
	assert_eq!(resolve(&m, &req, true, T0 + 1), ResolveOutcome::Resolved);
	let reputation = m.channel_snapshot(2, T0 + 1).unwrap().outgoing_reputation_msat;
	assert_eq!(reputation, 1_000.0);
	// A replayed resolution changes nothing, and is counted and logged.
	assert_eq!(resolve(&m, &req, true, T0 + 1), ResolveOutcome::Unknown);
	assert_eq!(m.channel_snapshot(2, T0 + 1).unwrap().outgoing_reputation_msat, reputation);
	assert_eq!(m.channel_snapshot(1, T0 + 1).unwrap().protected.used_slots, 0);
	let stats = m.stats();
	assert_eq!(
		(stats.duplicate_replays, stats.duplicate_adds, stats.unknown_resolutions),
		(1, 1, 1)
	);
	assert!(l.contains("not in flight"));
	// A general replay finds a slot of its pair again.
	let general = ReplayedForward {
		request: request(1, 2, 2),
		outgoing_accountable: false,
		bucket: ResourceBucket::General,
	};
	m.replay_forward(&general);
	let state = m.state();
	let htlc = state.channels[&1].general.usage();
	assert_eq!(htlc.used_slots, 1);
	drop(state);
	assert_ne!(m.state().channels[&1].general.replay_slot(&[0; 32], 1, 2, m.config()), NO_SLOT);
}

#[test]
fn restart_puts_general_htlcs_back_in_their_slots() {
	// Which of its pair's slots an HTLC holds depends on the HTLCs that came and went before it
	// and on the channel's limits when it came, which the startup replay cannot know. As pairs
	// share slots, a restart that moved HTLCs would change later decisions.
	let store = TestStore::default();
	let (e1, e2, l) = (TestEntropy::new(11), TestEntropy::new(11), TestLogger::default());
	let config = ResourceManagerConfig::default();
	let twin = manager(config, &e1, &l);
	let m = manager(config, &e2, &l);
	let change = |m: &Manager, slots| {
		m.channel_changed(&ChannelInfo {
			short_channel_id: 1,
			channel_id: ChannelId([1; 32]),
			max_accepted_htlcs: slots,
			max_htlc_value_in_flight_msat: 1_000_000_000,
		})
	};
	for m in [&twin, &m] {
		for scid in 1..=3 {
			ready(m, scid, 483, 1_000_000_000);
		}
	}
	// HTLCs of two pairs, a third of them resolved; then the channel shrinks.
	let mut in_flight = Vec::new();
	for htlc in 0..12 {
		let req = ForwardRequest { incoming_amount_msat: 1, ..request(1, htlc, 2 + htlc % 2) };
		let decision = m.add_htlc(&req);
		assert_eq!(twin.add_htlc(&req), decision);
		if htlc % 3 == 0 {
			assert_eq!(resolve(&m, &req, true, T0), ResolveOutcome::Resolved);
			assert_eq!(resolve(&twin, &req, true, T0), ResolveOutcome::Resolved);
		} else {
			in_flight.push(req);
		}
	}
	change(&twin, 200);
	change(&m, 200);
	persist(&store, &m).unwrap();
	let restarted = read(&store, config, &e2, &l).unwrap();
	// Replayed in another order, with the channel at its new limits.
	for req in in_flight.iter().rev() {
		let replay = ReplayedForward {
			request: *req,
			outgoing_accountable: false,
			bucket: ResourceBucket::General,
		};
		assert_eq!(restarted.replay_forward(&replay), ReplayOutcome::Added);
	}
	// Back to its old limits, both managers decide alike until both pairs are full.
	change(&twin, 483);
	change(&restarted, 483);
	for htlc in 100..200 {
		let req = ForwardRequest { incoming_amount_msat: 1, ..request(1, htlc, 2 + htlc % 2) };
		assert_eq!(restarted.add_htlc(&req), twin.add_htlc(&req), "HTLC {htlc}");
	}
	let snapshot = restarted.channel_snapshot(1, T0).unwrap();
	assert_eq!(snapshot, twin.channel_snapshot(1, T0).unwrap());
	assert!(snapshot.general.used_slots > in_flight.len() as u32);
}

#[test]
fn pitfall_absolute_height_as_hold() {
	let (e, l) = (TestEntropy::new(10), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	ready(&m, 1, 483, 1_000_000_000);
	ready(&m, 2, 483, 1_000_000_000);
	let replay = ReplayedForward {
		request: ForwardRequest { incoming_cltv_expiry: HEIGHT + 40, ..request(1, 1, 2) },
		outgoing_accountable: true,
		bucket: ResourceBucket::Protected,
	};
	m.replay_forward(&replay);
	// 40 blocks of 600 s: (24_000 - 90) / 90 * 1000, not (800_040 * 600 - 90) / 90 * 1000.
	let risk = m.channel_snapshot(2, T0).unwrap().in_flight_risk_msat;
	assert!((risk - 23_910_000.0 / 90.0).abs() < 1e-6);
}

#[test]
fn close_keeps_htlcs_in_flight_until_they_resolve() {
	let (e, l) = (TestEntropy::new(11), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	for scid in [1, 2, 3, 99] {
		ready(&m, scid, 483, 1_000_000_000);
	}
	earn(&m, 2, 1_000_000, 0);
	earn(&m, 3, 1_000_000, 1);
	let a = request(1, 1, 2);
	let b = ForwardRequest {
		incoming_accountable: true,
		upgrade_accountability_allowed: true,
		..request(1, 2, 2)
	};
	let c = request(3, 1, 2);
	let d = ForwardRequest {
		incoming_accountable: true,
		upgrade_accountability_allowed: true,
		..request(1, 3, 3)
	};
	for req in [&a, &b, &c, &d] {
		assert!(matches!(m.add_htlc(req), Decision::Forward { .. }));
	}
	// The outgoing channel 2 closes: its three HTLCs still hold channels 1 and 3 until they
	// resolve on chain.
	m.channel_closed(2);
	assert!(m.channel_snapshot(2, T0).is_none());
	assert_eq!(m.htlcs_in_flight(), 4);
	// `a` went general; `b` and `d`, accountable towards channels with reputation, protected.
	let one = m.channel_snapshot(1, T0).unwrap();
	assert_eq!((one.general.used_slots, one.protected.used_slots), (1, 2));
	assert_eq!(resolve(&m, &a, true, T0 + 1), ResolveOutcome::Resolved);
	assert_eq!(resolve(&m, &b, false, T0 + 1), ResolveOutcome::Resolved);
	assert_eq!(resolve(&m, &c, false, T0 + 1), ResolveOutcome::Resolved);
	let one = m.channel_snapshot(1, T0).unwrap();
	assert_eq!((one.general.used_slots, one.protected.used_slots), (0, 1));
	assert_eq!(m.channel_snapshot(3, T0).unwrap().general.used_slots, 0);
	// The incoming channel 1 closes while `d`, forwarded accountable, is held: its outgoing
	// channel 3 still answers for the hold.
	assert_eq!(m.channel_snapshot(3, T0).unwrap().risk_bearing_htlcs_in_flight, 1);
	m.channel_closed(1);
	assert_eq!(m.htlcs_in_flight(), 1);
	let reputation = m.channel_snapshot(3, T0).unwrap().outgoing_reputation_msat;
	assert_eq!(resolve(&m, &d, false, T0 + 86_400), ResolveOutcome::Resolved);
	assert_eq!(m.htlcs_in_flight(), 0);
	let three = m.channel_snapshot(3, T0 + 86_400).unwrap();
	assert_eq!(three.resolved_outgoing_htlcs, 2);
	assert!(three.outgoing_reputation_msat < reputation);
	assert_eq!(three.in_flight_risk_msat, 0.0);
}

#[test]
fn replay_forgets_what_it_did_not_report() {
	let (e, l) = (TestEntropy::new(11), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	for scid in [1, 2, 3] {
		ready(&m, scid, 483, 1_000_000_000);
	}
	let kept = request(1, 1, 2);
	let lost = request(1, 2, 3);
	for req in [&kept, &lost] {
		assert!(matches!(m.add_htlc(req), Decision::Forward { .. }));
	}
	// Channel 3 closed and `lost` was resolved while their notifications were lost: the replay
	// reports channels 1 and 2 and the HTLC `kept` only.
	m.replay_started();
	ready(&m, 1, 483, 1_000_000_000);
	ready(&m, 2, 483, 1_000_000_000);
	let replay = ReplayedForward {
		request: kept,
		outgoing_accountable: false,
		bucket: ResourceBucket::General,
	};
	assert_eq!(m.replay_forward(&replay), ReplayOutcome::AlreadyInFlight);
	m.replay_complete();
	assert!(m.channel_snapshot(3, T0).is_none());
	assert_eq!(m.htlcs_in_flight(), 1);
	assert_eq!(m.channel_snapshot(1, T0).unwrap().general.used_slots, 1);
	assert_eq!(resolve(&m, &lost, true, T0), ResolveOutcome::Unknown);
	assert_eq!(resolve(&m, &kept, true, T0), ResolveOutcome::Resolved);
	let stats = m.stats();
	assert_eq!((stats.forgotten_after_replay_channels, stats.forgotten_after_replay_htlcs), (1, 1));
	// Without a replay under way, completing one changes nothing.
	m.replay_complete();
	assert!(m.channel_snapshot(1, T0).is_some());
}

// ---- Decision table, modes and the JIT rule ----

#[test]
fn unknown_incoming_channel_fails() {
	let (e, l) = (TestEntropy::new(12), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	ready(&m, 2, 483, 1_000_000_000);
	assert_eq!(
		m.add_htlc(&request(1, 1, 2)),
		Decision::Fail { reason: FailureReason::UnknownIncomingChannel }
	);
	assert_eq!(m.stats().failed.unknown_incoming_channel, 1);
	assert_eq!(m.htlcs_in_flight(), 0);
}

#[test]
fn congestion_rules() {
	let (e, l) = (TestEntropy::new(13), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	// 100 slots: congestion 20 slots and 200_000 msat, so amounts below 10_000.
	for scid in [1, 2, 3] {
		ready(&m, scid, 100, 1_000_000);
	}
	fill_general(&m, 1, 2);
	saturate_general(&m, 1);
	let marked = |htlc, amount| ForwardRequest {
		upgrade_accountability_allowed: true,
		incoming_amount_msat: amount,
		..request(1, htlc, 2)
	};
	let fail = |c| Decision::Fail {
		reason: FailureReason::GeneralBucketFull { sufficient_reputation: false, congestion: c },
	};
	assert_eq!(m.add_htlc(&marked(1, 10_000)), fail(CongestionIneligibility::AmountTooLarge));
	let accountable = ForwardRequest { incoming_accountable: true, ..marked(2, 1) };
	assert_eq!(
		m.add_htlc(&accountable),
		Decision::Fail { reason: FailureReason::InsufficientReputation }
	);
	let first = marked(3, 9_999);
	assert_eq!(m.add_htlc(&first), forward(true, ResourceBucket::Congestion));
	assert_eq!(m.add_htlc(&marked(4, 1)), fail(CongestionIneligibility::OutgoingChannelInBucket));
	// Resolved slowly (91 s): channel 2 is out of the congestion buckets for two weeks.
	resolve(&m, &first, true, T0 + 91);
	let at = |htlc, now_secs| ForwardRequest { now_secs, ..marked(htlc, 1) };
	assert_eq!(m.add_htlc(&at(5, T0 + 100)), fail(CongestionIneligibility::RecentSlowResolution));
	let two_weeks = T0 + 91 + 1_209_600;
	assert_eq!(
		m.add_htlc(&at(6, two_weeks - 1)),
		fail(CongestionIneligibility::RecentSlowResolution)
	);
	assert_eq!(m.add_htlc(&at(7, two_weeks)), forward(true, ResourceBucket::Congestion));
	// The slow resolution cost reputation: (91 - 90) / 90 * 1000 off the fee.
	let rep = m.channel_snapshot(2, T0 + 91).unwrap().outgoing_reputation_msat;
	assert!((rep - (1_000.0 - 1_000.0 / 90.0)).abs() < 1e-6);
}

#[test]
fn shadow_mode_forwards_and_counts() {
	let (e, l) = (TestEntropy::new(14), TestLogger::default());
	let config = ResourceManagerConfig { mode: Mode::Shadow, ..Default::default() };
	let m = manager(config, &e, &l);
	ready(&m, 1, 483, 1_000_000_000);
	ready(&m, 2, 483, 1_000_000_000);
	let accountable = ForwardRequest {
		incoming_accountable: true,
		upgrade_accountability_allowed: true,
		..request(1, 1, 2)
	};
	assert_eq!(m.add_htlc(&accountable), forward(true, ResourceBucket::Unallocated));
	// What the algorithm accepts gets the same signal as in enforce mode.
	assert_eq!(m.add_htlc(&request(1, 2, 2)), forward(false, ResourceBucket::General));
	assert_eq!(m.stats().would_have_failed.insufficient_reputation, 1);
	assert_eq!(m.stats().failed.total(), 0);
	assert_eq!(m.channel_snapshot(1, T0).unwrap().unallocated_htlcs, 1);
	assert!(l.contains("would fail"));
	resolve(&m, &accountable, false, T0 + 1);
	assert_eq!(m.channel_snapshot(1, T0).unwrap().unallocated_htlcs, 0);
}

#[test]
fn jit_forward_is_not_failed_for_lack_of_reputation() {
	let (e, l) = (TestEntropy::new(15), TestLogger::default());
	let m = manager(ResourceManagerConfig::default(), &e, &l);
	for scid in [1, 2, 3, 99] {
		ready(&m, scid, 483, 1_000_000_000);
	}
	// Channel 1 has revenue, so a channel without reputation is below its threshold.
	let paid = ForwardRequest { fee_msat: 12_000, ..request(1, 100, 3) };
	m.add_htlc(&paid);
	resolve(&m, &paid, true, T0);
	let jit = ForwardRequest {
		incoming_accountable: true,
		upgrade_accountability_allowed: true,
		released_by_user: true,
		..request(1, 1, 2)
	};
	let not_released = ForwardRequest { released_by_user: false, ..request(1, 2, 2) };
	let not_released = ForwardRequest {
		incoming_accountable: true,
		upgrade_accountability_allowed: true,
		..not_released
	};
	assert_eq!(
		m.add_htlc(&not_released),
		Decision::Fail { reason: FailureReason::InsufficientReputation }
	);
	assert_eq!(m.add_htlc(&jit), forward(true, ResourceBucket::Protected));
	assert_eq!(m.stats().jit_reputation_waivers, 1);
	// Once the channel has history, it is judged by its reputation.
	resolve(&m, &jit, false, T0 + 10);
	let again = ForwardRequest { id: HtlcId { incoming_scid: 1, incoming_htlc_id: 3 }, ..jit };
	assert_eq!(
		m.add_htlc(&again),
		Decision::Fail { reason: FailureReason::InsufficientReputation }
	);
}

#[test]
fn no_system_clock() {
	// The same inputs at any wall-clock time give the same outputs: two managers fed the same
	// history agree exactly, including on decayed values far in the future.
	let run = || {
		let (e, l) = (TestEntropy::new(16), TestLogger::default());
		let m = manager(ResourceManagerConfig::default(), &e, &l);
		ready(&m, 1, 483, 1_000_000_000);
		ready(&m, 2, 483, 1_000_000_000);
		let req = request(1, 1, 2);
		m.add_htlc(&req);
		resolve(&m, &req, true, T0 + 5);
		m.channel_snapshots(T0 + 10_000_000)
	};
	assert_eq!(run(), run());
}

#[test]
fn invalid_config_is_an_error() {
	let (e, l) = (TestEntropy::new(17), TestLogger::default());
	let bad = ResourceManagerConfig { protected_bucket_percent: 50, ..Default::default() };
	assert_eq!(
		DefaultResourceManager::new(bad, &e, &l).err(),
		Some(ConfigError::BucketSharesOver100(110))
	);
	let store = TestStore::default();
	assert!(matches!(read(&store, bad, &e, &l), Err(ReadError::Config(_))));
}

// ---- Persistence ----

fn populated<'a>(e: &'a TestEntropy, l: &'a TestLogger) -> Manager<'a> {
	let m = manager(ResourceManagerConfig::default(), e, l);
	for scid in [1, 2, 3, 99] {
		ready(&m, scid, 483, 1_000_000_000);
	}
	earn(&m, 2, 5_000, 0);
	let slow = ForwardRequest { upgrade_accountability_allowed: true, ..request(1, 1, 3) };
	m.replay_forward(&ReplayedForward {
		request: slow,
		outgoing_accountable: true,
		bucket: ResourceBucket::Congestion,
	});
	resolve(&m, &slow, false, T0 + 1_000);
	m
}

#[test]
fn persistence_round_trip() {
	let (e, l) = (TestEntropy::new(18), TestLogger::default());
	let m = populated(&e, &l);
	let store = TestStore::default();
	let fresh = read(&store, ResourceManagerConfig::default(), &e, &l).unwrap();
	assert!(fresh.channel_snapshots(T0).is_empty());
	persist(&store, &m).unwrap();
	let r = read(&store, ResourceManagerConfig::default(), &e, &l).unwrap();
	let now = T0 + 5_000;
	assert_eq!(m.channel_snapshots(now), r.channel_snapshots(now));
	assert_eq!(m.encode(), r.encode());
	let snap = r.channel_snapshot(3, now).unwrap();
	assert_eq!(snap.last_slow_congestion_resolution_secs, Some(T0 + 1_000));
	// Channels are found by id again.
	let channel_id = snap.channel_id.unwrap();
	assert_eq!(r.short_channel_id(&channel_id), Some(3));
	assert_eq!(m.short_channel_id(&channel_id), Some(3));
	assert!(snap.outgoing_reputation_msat < 0.0);
}

#[test]
fn corrupt_state_is_an_error() {
	let (e, l) = (TestEntropy::new(19), TestLogger::default());
	let bytes = populated(&e, &l).encode();
	let params = || (ResourceManagerConfig::default(), &e, &l);
	let decode = |b: &[u8]| {
		<Manager as ReadableArgs<_>>::read(&mut io::Cursor::new(b), params()).map(|_| ())
	};
	assert_eq!(decode(&bytes), Ok(()));
	for len in 0..bytes.len() {
		assert!(decode(&bytes[..len]).is_err(), "truncated at {}", len);
	}
	// A NaN reputation: find the stored bits of 5000.0 and replace them.
	let five_k = 5_000f64.to_bits().to_be_bytes();
	let pos = bytes.windows(8).position(|w| w == five_k).unwrap();
	let mut nan = bytes.clone();
	nan[pos..pos + 8].copy_from_slice(&f64::NAN.to_bits().to_be_bytes());
	assert_eq!(decode(&nan), Err(DecodeError::InvalidValue));
	// Through the store, it is a decode error, not a fresh start.
	let store = TestStore::default();
	store.write("", "", "resource_manager", bytes[..bytes.len() / 2].to_vec()).unwrap();
	assert!(matches!(
		read(&store, ResourceManagerConfig::default(), &e, &l),
		Err(ReadError::Decode(_))
	));
}

// ---- Properties ----

#[derive(Clone, Debug)]
enum Op {
	Add {
		incoming: u64,
		outgoing: u64,
		amount: u64,
		fee: u64,
		cltv_delta: u32,
		accountable: bool,
		marker: bool,
		released: bool,
	},
	Resolve {
		index: usize,
		settled: bool,
		after_secs: u64,
	},
	Wait(u64),
}

fn op() -> impl Strategy<Value = Op> {
	prop_oneof![
		3 => (1..5u64, 1..5u64, 1..50_000u64, 0..5_000u64, 0..200u32, any::<bool>(), any::<bool>(), any::<bool>())
			.prop_map(|(incoming, outgoing, amount, fee, cltv_delta, accountable, marker, released)| Op::Add {
				incoming, outgoing, amount, fee, cltv_delta, accountable, marker, released
			}),
		2 => (any::<usize>(), any::<bool>(), 0..600u64)
			.prop_map(|(index, settled, after_secs)| Op::Resolve { index, settled, after_secs }),
		1 => (0..100_000u64).prop_map(Op::Wait),
	]
}

fn channels(m: &Manager, slots: &[u16]) {
	for (i, s) in slots.iter().enumerate() {
		ready(m, i as u64 + 1, *s, *s as u64 * 40_000);
	}
}

/// Runs `ops`, returning the decisions. `batch` groups consecutive adds into batches of up to
/// that many requests.
fn run(m: &Manager, ops: &[Op], batch: usize, check: &mut dyn FnMut(&Manager)) -> Vec<Decision> {
	let mut now = T0;
	let mut next_id = 0;
	let mut pending: Vec<ForwardRequest> = Vec::new();
	let mut decisions = Vec::new();
	let mut queue: Vec<ForwardRequest> = Vec::new();
	let flush = |queue: &mut Vec<ForwardRequest>,
	             decisions: &mut Vec<Decision>,
	             pending: &mut Vec<ForwardRequest>| {
		let start = decisions.len();
		if batch == 1 {
			for r in queue.iter() {
				decisions.push(m.add_htlc(r));
			}
		} else {
			m.add_htlcs(queue, decisions);
		}
		for (r, d) in queue.iter().zip(&decisions[start..]) {
			if matches!(d, Decision::Forward { .. }) {
				pending.push(*r);
			}
		}
		queue.clear();
	};
	for op in ops {
		match op {
			Op::Add {
				incoming,
				outgoing,
				amount,
				fee,
				cltv_delta,
				accountable,
				marker,
				released,
			} => {
				next_id += 1;
				queue.push(ForwardRequest {
					id: HtlcId { incoming_scid: *incoming, incoming_htlc_id: next_id },
					outgoing_scid: *outgoing,
					incoming_amount_msat: *amount,
					outgoing_amount_msat: amount.saturating_sub(*fee),
					fee_msat: *fee,
					incoming_cltv_expiry: HEIGHT + cltv_delta,
					height: HEIGHT,
					incoming_accountable: *accountable,
					upgrade_accountability_allowed: *marker,
					released_by_user: *released,
					now_secs: now,
				});
				if queue.len() >= batch {
					flush(&mut queue, &mut decisions, &mut pending);
				}
			},
			Op::Resolve { index, settled, after_secs } => {
				flush(&mut queue, &mut decisions, &mut pending);
				if !pending.is_empty() {
					let r = pending.swap_remove(index % pending.len());
					now += after_secs;
					assert_eq!(resolve(m, &r, *settled, now), ResolveOutcome::Resolved);
				}
			},
			Op::Wait(secs) => {
				flush(&mut queue, &mut decisions, &mut pending);
				now += secs;
			},
		}
		check(m);
	}
	flush(&mut queue, &mut decisions, &mut pending);
	check(m);
	// Resolve everything left.
	for r in pending.drain(..) {
		assert_eq!(resolve(m, &r, true, now), ResolveOutcome::Resolved);
	}
	decisions
}

fn within_limits(m: &Manager) {
	for s in m.channel_snapshots(T0) {
		for b in [s.general, s.congestion, s.protected] {
			assert!(b.used_slots <= b.limits.slots as u32, "{:?}", s);
			assert!(b.used_liquidity_msat <= b.limits.liquidity_msat, "{:?}", s);
		}
		let slots = s.general.used_slots + s.congestion.used_slots + s.protected.used_slots;
		let total = s.general.limits.slots + s.congestion.limits.slots + s.protected.limits.slots;
		assert!(slots <= total as u32);
	}
}

fn all_released(m: &Manager) {
	assert_eq!(m.htlcs_in_flight(), 0);
	for s in m.channel_snapshots(T0) {
		for b in [s.general, s.congestion, s.protected] {
			assert_eq!((b.used_slots, b.used_liquidity_msat), (0, 0), "{:?}", s);
		}
		assert_eq!(s.in_flight_risk_msat, 0.0);
		assert_eq!(s.risk_bearing_htlcs_in_flight, 0);
		assert_eq!(s.unallocated_htlcs, 0);
	}
	let state = m.state();
	for c in state.channels.values() {
		let usage = c.general.usage();
		assert_eq!(usage.used_slots, 0);
	}
}

#[test]
fn property_workload_reaches_every_bucket() {
	// The generated workloads are not vacuous: they fill buckets, fail forwards, and use all
	// three buckets.
	use proptest::strategy::ValueTree;
	use proptest::test_runner::TestRunner;
	let mut runner = TestRunner::deterministic();
	let mut stats = ResourceManagerStats::default();
	for _ in 0..16 {
		let ops = proptest::collection::vec(op(), 300).new_tree(&mut runner).unwrap().current();
		let (e, l) = (TestEntropy::new(26), TestLogger::default());
		let m = manager(ResourceManagerConfig::default(), &e, &l);
		channels(&m, &[13, 20, 30, 40]);
		run(&m, &ops, 1, &mut |_| {});
		let s = m.stats();
		stats.forwarded_general += s.forwarded_general;
		stats.forwarded_congestion += s.forwarded_congestion;
		stats.forwarded_protected += s.forwarded_protected;
		stats.failed.general_bucket_full += s.failed.general_bucket_full;
		stats.failed.insufficient_reputation += s.failed.insufficient_reputation;
		stats.jit_reputation_waivers += s.jit_reputation_waivers;
	}
	assert!(stats.forwarded_general > 0, "{:?}", stats);
	assert!(stats.forwarded_congestion > 0, "{:?}", stats);
	assert!(stats.forwarded_protected > 0, "{:?}", stats);
	assert!(stats.failed.general_bucket_full > 0, "{:?}", stats);
	assert!(stats.failed.insufficient_reputation > 0, "{:?}", stats);
	assert!(stats.jit_reputation_waivers > 0, "{:?}", stats);
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

	#[test]
	fn usage_within_limits_and_balanced(
		slots in proptest::collection::vec(5..40u16, 4),
		ops in proptest::collection::vec(op(), 1..300),
		shadow in any::<bool>(),
	) {
		let (e, l) = (TestEntropy::new(21), TestLogger::default());
		let mode = if shadow { Mode::Shadow } else { Mode::Enforce };
		let m = manager(ResourceManagerConfig { mode, ..Default::default() }, &e, &l);
		channels(&m, &slots);
		run(&m, &ops, 1, &mut |m| within_limits(m));
		all_released(&m);
	}

	#[test]
	fn decisions_independent_of_batching(
		slots in proptest::collection::vec(5..40u16, 4),
		ops in proptest::collection::vec(op(), 1..300),
		batch in 2..20usize,
	) {
		let l = TestLogger::default();
		let (e1, e2) = (TestEntropy::new(22), TestEntropy::new(22));
		let one = manager(ResourceManagerConfig::default(), &e1, &l);
		let many = manager(ResourceManagerConfig::default(), &e2, &l);
		channels(&one, &slots);
		channels(&many, &slots);
		let a = run(&one, &ops, 1, &mut |_| {});
		let b = run(&many, &ops, batch, &mut |_| {});
		prop_assert_eq!(a, b);
		prop_assert_eq!(one.channel_snapshots(T0 + 1_000_000), many.channel_snapshots(T0 + 1_000_000));
	}

	#[test]
	fn persist_read_round_trip(
		slots in proptest::collection::vec(5..40u16, 4),
		ops in proptest::collection::vec(op(), 1..200),
		later in 0..20_000_000u64,
	) {
		let (e, l) = (TestEntropy::new(23), TestLogger::default());
		let m = manager(ResourceManagerConfig::default(), &e, &l);
		channels(&m, &slots);
		run(&m, &ops, 1, &mut |_| {});
		let store = TestStore::default();
		persist(&store, &m).unwrap();
		let r = read(&store, ResourceManagerConfig::default(), &e, &l).unwrap();
		prop_assert_eq!(m.channel_snapshots(T0 + later), r.channel_snapshots(T0 + later));
		prop_assert_eq!(m.encode(), r.encode());
		// The same requests after the restart get the same decisions.
		let d1 = run(&m, &ops, 1, &mut |_| {});
		let d2 = run(&r, &ops, 1, &mut |_| {});
		prop_assert_eq!(d1, d2);
	}

	#[test]
	fn reading_garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
		let (e, l) = (TestEntropy::new(24), TestLogger::default());
		let _ = <Manager as ReadableArgs<_>>::read(
			&mut io::Cursor::new(&bytes),
			(ResourceManagerConfig::default(), &e, &l),
		);
	}

	#[test]
	fn replay_rebuilds_usage(
		slots in proptest::collection::vec(5..40u16, 4),
		ops in proptest::collection::vec(op(), 1..200),
	) {
		// Replaying every forward decided so far into a restarted manager gives the same usage.
		let (e, l) = (TestEntropy::new(25), TestLogger::default());
		let m = manager(ResourceManagerConfig::default(), &e, &l);
		channels(&m, &slots);
		let mut forwards = Vec::new();
		let mut id = 0;
		for op in &ops {
			if let Op::Add { incoming, outgoing, amount, fee, cltv_delta, accountable, marker, released } = op {
				id += 1;
				let req = ForwardRequest {
					id: HtlcId { incoming_scid: *incoming, incoming_htlc_id: id },
					outgoing_scid: *outgoing,
					incoming_amount_msat: *amount,
					outgoing_amount_msat: *amount,
					fee_msat: *fee,
					incoming_cltv_expiry: HEIGHT + cltv_delta,
					height: HEIGHT,
					incoming_accountable: *accountable,
					upgrade_accountability_allowed: *marker,
					released_by_user: *released,
					now_secs: T0,
				};
				if let Decision::Forward { outgoing_accountable, bucket } = m.add_htlc(&req) {
					forwards.push(ReplayedForward { request: req, outgoing_accountable, bucket });
				}
			}
		}
		let store = TestStore::default();
		persist(&store, &m).unwrap();
		let r = read(&store, ResourceManagerConfig::default(), &e, &l).unwrap();
		channels(&r, &slots);
		for f in forwards.iter().chain(forwards.iter()) {
			r.replay_forward(f);
		}
		prop_assert_eq!(m.channel_snapshots(T0), r.channel_snapshots(T0));
		prop_assert_eq!(r.stats().duplicate_replays, forwards.len() as u64);
		for f in &forwards {
			r.resolve_htlc(&HtlcResolution {
				id: f.request.id,
				settled: false,
				resolved_at_secs: T0,
				outgoing_scid: None,
			});
		}
		all_released(&r);
	}
}
