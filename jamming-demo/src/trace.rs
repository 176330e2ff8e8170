// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! The long-horizon mode: the target's resource manager alone, on a trace of the demo's traffic.
//!
//! Reputation looks back 24 weeks and revenue 12, so whether an attacker can buy reputation for
//! less than the damage it does shows only after weeks; in-process nodes simulate a day in
//! minutes. The trace runs the same honest traffic ([`crate::simulation`]'s stream, seed for
//! seed) and the same attacks against the target alone: its real [`DefaultResourceManager`]
//! decides every forward, and the trace stands in for the rest of the node, the way
//! `ChannelManager` and the network would:
//!
//! - the target accepts [`TARGET_MAX_ACCEPTED_HTLCS`] HTLCs and a tenth of the channel's value
//!   from each peer (a sender never offers more); its peers accept as many from it, Carol and
//!   Dave only [`RECEIVER_MAX_ACCEPTED_HTLCS`]: a forward the outgoing channel cannot take
//!   fails there, and the manager is told at once;
//! - receivers settle within [`FAST_RESOLUTION_SECS`]; a held HTLC is failed back
//!   [`HOLD_SECS`] later, when LDK's receiver fails a payment it never claimed;
//! - fees are the target's policy; the cost of capital is [`CAPITAL_COST_PPM_PER_YEAR`].
//!
//! It leaves out what the manager does not see: on-chain fees (JIT channels, force-closes) and
//! the hops beyond the target, whose fees the attacker would also pay.
//!
//! Where a scenario runs on both, [`crate::run`]'s short runs and the trace's agree on honest
//! success (the demo's tests check it).
//!
//! [`DefaultResourceManager`]: lightning_resource_manager::DefaultResourceManager

use crate::scenario::{Scenario, SimulationConfig};
use crate::simulation::*;

use lightning::chain::channelmonitor::HTLC_FAIL_BACK_BUFFER;
use lightning::ln::channelmanager::MIN_CLTV_EXPIRY_DELTA;
use lightning::ln::functional_test_utils::TEST_FINAL_CLTV;
use lightning::ln::types::ChannelId;
use lightning_resource_manager::{
	ChannelInfo, Decision, ForwardRequest, HtlcId, HtlcResolution, ResourceBucket,
};

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use std::collections::{BTreeMap, HashMap};

/// How long a receiver takes to settle or fail an HTLC it does not hold: well within the
/// proposal's 90 s resolution period.
pub const FAST_RESOLUTION_SECS: u64 = 2;
/// How long a receiver holds an HTLC it never claims: LDK fails it back
/// `HTLC_FAIL_BACK_BUFFER` blocks before its `TEST_FINAL_CLTV`-block expiry.
pub const HOLD_SECS: u64 = (TEST_FINAL_CLTV - HTLC_FAIL_BACK_BUFFER) as u64 * BLOCK_SECS;
/// The cost of locking capital in HTLCs: 5 % a year, in parts per million.
pub const CAPITAL_COST_PPM_PER_YEAR: u64 = 50_000;
const YEAR_SECS: u64 = 365 * 24 * 3600;

// The target's channels, by short channel id.
const ALICE_IN: u64 = 1;
const BOB_IN: u64 = 2;
const MALLORY_IN: u64 = 3;
const CAROL_OUT: u64 = 4;
const DAVE_OUT: u64 = 5;
const SINK_OUT: u64 = 6;
/// The attacker's other channels from the target ([`Scenario::CongestionAbuse`]).
const EXTRA_SINKS: [u64; 9] = [7, 8, 9, 10, 11, 12, 13, 14, 15];
/// JIT channels ([`Scenario::JitWaiverAbuse`]) and laundering channels
/// ([`Scenario::CloseLaundering`]) get ids from here on.
const FIRST_OPENED_SCID: u64 = 1_000;

/// The HTLCs the about-turn and laundering attackers keep in flight per route: more than a
/// channel's general share, so that the rest must come from protected resources.
const ROUND_IN_FLIGHT: u64 = 30;
/// The fast payments per block with which the about-turn and laundering attackers earn their
/// sink's channel reputation: enough to beat Alice's and Bob's revenue thresholds within the
/// eight weeks.
const EARNING_PAYMENTS_PER_BLOCK: u64 = 4;
/// The HTLCs an attacker buys per JIT channel: all the waiver could cover.
const JIT_HTLCS_PER_CHANNEL: u64 = 10;
/// The congestion attacker's HTLCs in flight per channel of its own.
const CONGESTION_IN_FLIGHT_PER_SINK: u64 = 5;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sender {
	Honest,
	HonestToSink,
	Attacker,
}

/// How the attacker's HTLCs on a route are signalled, and what the receiver does.
#[derive(Clone, Copy, Debug)]
struct Route {
	incoming_scid: u64,
	outgoing_scid: u64,
	/// The blocks the HTLC has left after the target: the receiver's final CLTV, plus Carol's or
	/// Dave's delta when the sink is behind them.
	downstream_cltv: u32,
	accountable: bool,
	upgrade_marker: bool,
	released_by_user: bool,
}

impl Route {
	fn new(incoming_scid: u64, outgoing_scid: u64) -> Self {
		Self {
			incoming_scid,
			outgoing_scid,
			downstream_cltv: TEST_FINAL_CLTV,
			accountable: false,
			upgrade_marker: true,
			released_by_user: false,
		}
	}

	/// The attacker's route to its sink behind Carol (0) or Dave (1), as on the nodes.
	fn via_receiver(route: usize) -> Self {
		let outgoing = if route == 0 { CAROL_OUT } else { DAVE_OUT };
		Self {
			downstream_cltv: TEST_FINAL_CLTV + MIN_CLTV_EXPIRY_DELTA as u32,
			..Self::new(MALLORY_IN, outgoing)
		}
	}
}

#[derive(Clone, Copy, Debug, Default)]
struct Load {
	htlcs: u64,
	msat: u64,
}

/// One of the target's channels: what it accepts from its peer, what the peer accepts from it,
/// and what is in flight each way.
#[derive(Clone, Copy, Debug)]
struct Channel {
	max_accepted_htlcs: u16,
	peer_max_accepted_htlcs: u16,
	max_in_flight_msat: u64,
	incoming: Load,
	outgoing: Load,
}

struct InFlight {
	id: HtlcId,
	outgoing_scid: u64,
	incoming_amount_msat: u64,
	outgoing_amount_msat: u64,
	fee_msat: u64,
	sender: Sender,
	settle: bool,
	sent_at_secs: u64,
	/// Held protected or congestion resources.
	protected: bool,
}

struct Trace<'c> {
	config: &'c SimulationConfig,
	manager: Option<std::sync::Arc<TargetManager>>,
	now_secs: u64,
	height: u32,
	channels: HashMap<u64, Channel>,
	next_htlc_id: HashMap<u64, u64>,
	next_opened_scid: u64,
	/// In flight, by resolution time (and a sequence number, for ties).
	in_flight: BTreeMap<(u64, u64), InFlight>,
	sequence: u64,
	/// The attacker's HTLCs in flight per outgoing channel.
	attacker_in_flight: HashMap<u64, u64>,
	/// The incoming channel of the current laundering round, and when it is to close.
	laundering: Option<(u64, u64)>,
	result: RunResult,
}

fn channel_id(scid: u64) -> ChannelId {
	let mut bytes = [0; 32];
	bytes[..8].copy_from_slice(&scid.to_be_bytes());
	ChannelId(bytes)
}

impl<'c> Trace<'c> {
	fn open_channel(&mut self, scid: u64, peer_max_accepted_htlcs: u16) {
		let channel = Channel {
			max_accepted_htlcs: TARGET_MAX_ACCEPTED_HTLCS,
			peer_max_accepted_htlcs,
			max_in_flight_msat: CHANNEL_VALUE_SAT * 1000 / 10,
			incoming: Load::default(),
			outgoing: Load::default(),
		};
		self.channels.insert(scid, channel);
		if let Some(manager) = &self.manager {
			manager.channel_ready(&ChannelInfo {
				short_channel_id: scid,
				channel_id: channel_id(scid),
				max_accepted_htlcs: channel.max_accepted_htlcs,
				max_htlc_value_in_flight_msat: channel.max_in_flight_msat,
			});
		}
	}

	fn open_new_channel(&mut self, peer_max_accepted_htlcs: u16) -> u64 {
		let scid = self.next_opened_scid;
		self.next_opened_scid += 1;
		self.open_channel(scid, peer_max_accepted_htlcs);
		scid
	}

	fn elapsed_secs(&self) -> u64 {
		self.now_secs - START_UNIX_SECS
	}

	/// Offers an HTLC of `amount_msat` (what is forwarded) to the target over `route`; returns
	/// whether it left the target.
	fn forward(
		&mut self, route: Route, amount_msat: u64, sender: Sender, on_arrival: OnArrival,
	) -> bool {
		let fee_msat = TARGET_FEE_BASE_MSAT as u64
			+ amount_msat * TARGET_FEE_PROPORTIONAL_MILLIONTHS as u64 / 1_000_000;
		let incoming_amount_msat = amount_msat + fee_msat;
		let incoming = self.channels[&route.incoming_scid];
		if incoming.incoming.htlcs >= incoming.max_accepted_htlcs as u64
			|| incoming.incoming.msat + incoming_amount_msat > incoming.max_in_flight_msat
		{
			// The sender's node knows the target's limits and does not offer it.
			return false;
		}
		let next_id = self.next_htlc_id.entry(route.incoming_scid).or_default();
		let id = HtlcId { incoming_scid: route.incoming_scid, incoming_htlc_id: *next_id };
		*next_id += 1;

		let decision = match &self.manager {
			None => Decision::Forward {
				outgoing_accountable: route.accountable,
				bucket: ResourceBucket::Unallocated,
			},
			Some(manager) => manager.add_htlc(&ForwardRequest {
				id,
				outgoing_scid: route.outgoing_scid,
				incoming_amount_msat,
				outgoing_amount_msat: amount_msat,
				fee_msat,
				incoming_cltv_expiry: self.height
					+ MIN_CLTV_EXPIRY_DELTA as u32
					+ route.downstream_cltv,
				height: self.height,
				incoming_accountable: route.accountable,
				upgrade_accountability_allowed: route.upgrade_marker,
				released_by_user: route.released_by_user,
				now_secs: self.now_secs,
			}),
		};
		let bucket = match decision {
			Decision::Forward { bucket, .. } => bucket,
			Decision::Fail { .. } => return false,
		};
		let outgoing = self.channels[&route.outgoing_scid];
		if outgoing.outgoing.htlcs >= outgoing.peer_max_accepted_htlcs as u64
			|| outgoing.outgoing.msat + amount_msat > outgoing.max_in_flight_msat
		{
			// The next hop has no room: `ChannelManager` fails the forward and says so.
			self.tell_resolved(id, false);
			return false;
		}
		let channel = self.channels.get_mut(&route.incoming_scid).unwrap();
		channel.incoming.htlcs += 1;
		channel.incoming.msat += incoming_amount_msat;
		let channel = self.channels.get_mut(&route.outgoing_scid).unwrap();
		channel.outgoing.htlcs += 1;
		channel.outgoing.msat += amount_msat;
		if sender == Sender::Attacker {
			*self.attacker_in_flight.entry(route.outgoing_scid).or_default() += 1;
		}
		let resolves_in = match on_arrival {
			OnArrival::Hold => HOLD_SECS,
			OnArrival::Claim | OnArrival::FailAtOnce => FAST_RESOLUTION_SECS,
		};
		let htlc = InFlight {
			id,
			outgoing_scid: route.outgoing_scid,
			incoming_amount_msat,
			outgoing_amount_msat: amount_msat,
			fee_msat,
			sender,
			settle: on_arrival == OnArrival::Claim,
			sent_at_secs: self.elapsed_secs(),
			protected: matches!(bucket, ResourceBucket::Protected | ResourceBucket::Congestion),
		};
		self.sequence += 1;
		self.in_flight.insert((self.now_secs + resolves_in, self.sequence), htlc);
		true
	}

	fn tell_resolved(&self, id: HtlcId, settled: bool) {
		if let Some(manager) = &self.manager {
			manager.resolve_htlc(&HtlcResolution {
				id,
				settled,
				resolved_at_secs: self.now_secs,
				outgoing_scid: None,
			});
		}
	}

	/// Resolves every HTLC due by `until`, in order, each at its time.
	fn resolve_due(&mut self, until: u64) {
		let now = self.now_secs;
		while let Some(entry) = self.in_flight.first_entry() {
			if entry.key().0 > until {
				break;
			}
			let (resolved_at, _) = *entry.key();
			let htlc = entry.remove();
			self.now_secs = resolved_at;
			self.tell_resolved(htlc.id, htlc.settle);
			self.now_secs = now;

			let channel = self.channels.get_mut(&htlc.id.incoming_scid).unwrap();
			channel.incoming.htlcs -= 1;
			channel.incoming.msat -= htlc.incoming_amount_msat;
			let channel = self.channels.get_mut(&htlc.outgoing_scid).unwrap();
			channel.outgoing.htlcs -= 1;
			channel.outgoing.msat -= htlc.outgoing_amount_msat;

			let held_secs = resolved_at - START_UNIX_SECS - htlc.sent_at_secs;
			let result = &mut self.result;
			if htlc.settle {
				result.target_revenue_msat += htlc.fee_msat;
			}
			match htlc.sender {
				Sender::Honest if htlc.settle => result.honest_succeeded += 1,
				Sender::Honest => {},
				Sender::HonestToSink => {
					result.honest_locked_by_sink_msat_secs += htlc.incoming_amount_msat * held_secs
				},
				Sender::Attacker => {
					*self.attacker_in_flight.get_mut(&htlc.outgoing_scid).unwrap() -= 1;
					if htlc.settle {
						result.attacker_fees_paid_msat += htlc.fee_msat;
						if htlc.sent_at_secs < self.config.attack_start_secs {
							result.attacker_fees_before_attack_msat += htlc.fee_msat;
						}
					}
					result.attacker_locked_msat_secs += htlc.incoming_amount_msat * held_secs;
					if htlc.protected {
						result.attacker_protected_htlc_secs += held_secs;
					}
				},
			}
		}
	}

	fn attacker_in_flight(&self, outgoing_scid: u64) -> u64 {
		self.attacker_in_flight.get(&outgoing_scid).copied().unwrap_or(0)
	}

	/// Sends the attacker's HTLC over `route`, counting it.
	fn attack(&mut self, route: Route, amount_msat: u64, on_arrival: OnArrival) -> bool {
		self.result.attacker_htlcs += 1;
		self.forward(route, amount_msat, Sender::Attacker, on_arrival)
	}

	/// Tops the attacker's held HTLCs on `route` up towards `in_flight`, at most
	/// [`JAM_TOP_UP_PER_BLOCK`] at once, alternating signals when `mixed`: half arrive without
	/// the marker, half `accountable` with it.
	fn top_up(&mut self, route: Route, in_flight: u64, mixed: bool) {
		let missing = in_flight.saturating_sub(self.attacker_in_flight(route.outgoing_scid));
		for sent in 0..missing.min(JAM_TOP_UP_PER_BLOCK) {
			let route = match (mixed, sent % 2) {
				(false, _) => route,
				(true, 0) => Route { accountable: false, upgrade_marker: false, ..route },
				(true, _) => Route { accountable: true, upgrade_marker: true, ..route },
			};
			self.attack(route, JAM_AMOUNT_MSAT, OnArrival::Hold);
		}
	}

	/// The attacker's moves at this tick.
	fn attacker_moves(&mut self, elapsed: u64, new_block: bool) {
		let attacking = elapsed >= self.config.attack_start_secs;
		let earn = |trace: &mut Self, route: Route| {
			let route = Route { upgrade_marker: false, ..route };
			for _ in 0..EARNING_PAYMENTS_PER_BLOCK {
				trace.attack(route, REPUTATION_PAYMENT_MSAT, OnArrival::Claim);
			}
		};
		match self.config.scenario {
			Scenario::Peacetime | Scenario::SinkAttack => {},
			Scenario::SlowJamming | Scenario::ReputationAbuse if attacking && new_block => {
				let accountable = self.config.scenario == Scenario::ReputationAbuse;
				for route in 0..2 {
					let route = Route { accountable, ..Route::via_receiver(route) };
					self.top_up(route, JAM_TARGET_IN_FLIGHT, false);
				}
			},
			Scenario::ReputationAbuse if new_block => {
				for route in 0..2 {
					let route = Route::via_receiver(route);
					for _ in 0..REPUTATION_PAYMENTS_PER_BLOCK {
						self.attack(route, REPUTATION_PAYMENT_MSAT, OnArrival::Claim);
					}
				}
			},
			Scenario::SlowJamming | Scenario::ReputationAbuse => {},
			Scenario::FastFailBurst => {
				if attacking && elapsed < self.config.attack_start_secs + BURST_WINDOW_SECS {
					for route in 0..2 {
						for _ in 0..BURST_SIZE {
							self.attack(
								Route::via_receiver(route),
								JAM_AMOUNT_MSAT,
								OnArrival::FailAtOnce,
							);
						}
					}
				}
			},
			Scenario::AboutTurn if new_block => {
				// The sink's channel earns its reputation from the attacker's own channel, which
				// leaves Alice's and Bob's revenue thresholds where honest traffic put them; it
				// never stops earning, to buy back what each round costs.
				earn(self, Route::new(MALLORY_IN, SINK_OUT));
				if attacking {
					for incoming in [ALICE_IN, BOB_IN] {
						// Both routes share the sink's channel: fill it per incoming channel.
						let in_flight = self.attacker_in_flight(SINK_OUT);
						let route = Route::new(incoming, SINK_OUT);
						self.top_up(route, in_flight + ROUND_IN_FLIGHT / 2, true);
					}
				}
			},
			Scenario::JitWaiverAbuse if attacking && new_block => {
				let jit_scid = self.open_new_channel(TARGET_MAX_ACCEPTED_HTLCS);
				for sent in 0..JIT_HTLCS_PER_CHANNEL {
					let incoming = if sent % 2 == 0 { ALICE_IN } else { BOB_IN };
					let route = Route { released_by_user: true, ..Route::new(incoming, jit_scid) };
					self.attack(route, JAM_AMOUNT_MSAT, OnArrival::Hold);
				}
			},
			Scenario::CloseLaundering if new_block => {
				if attacking {
					self.launder();
				}
				earn(self, Route::new(MALLORY_IN, SINK_OUT));
			},
			Scenario::CongestionAbuse if attacking && new_block => {
				for sink in [SINK_OUT].into_iter().chain(EXTRA_SINKS) {
					self.top_up(Route::new(ALICE_IN, sink), CONGESTION_IN_FLIGHT_PER_SINK, false);
				}
			},
			Scenario::AboutTurn
			| Scenario::JitWaiverAbuse
			| Scenario::CloseLaundering
			| Scenario::CongestionAbuse => {},
		}
	}

	/// A round of [`Scenario::CloseLaundering`]: a fresh incoming channel sends a round of held
	/// HTLCs and is force-closed a block later; the next round starts once the sink has failed
	/// them all.
	fn launder(&mut self) {
		match self.laundering {
			Some((incoming, close_at)) if self.now_secs >= close_at => {
				// Its HTLCs stay in flight until the sink fails them.
				if let Some(manager) = &self.manager {
					manager.channel_closed(incoming);
				}
				self.laundering = None;
			},
			Some(_) => {},
			None if self.attacker_in_flight(SINK_OUT) == 0 => {
				let incoming = self.open_new_channel(TARGET_MAX_ACCEPTED_HTLCS);
				self.laundering = Some((incoming, self.now_secs + BLOCK_SECS));
				let route = Route::new(incoming, SINK_OUT);
				for _ in 0..ROUND_IN_FLIGHT.div_ceil(JAM_TOP_UP_PER_BLOCK) {
					self.top_up(route, ROUND_IN_FLIGHT, true);
				}
			},
			None => {},
		}
	}

	fn send_honest(&mut self, sender: usize, payee: usize, amount_msat: u64) {
		let incoming = if sender == ALICE { ALICE_IN } else { BOB_IN };
		let (outgoing, who, on_arrival) = match payee {
			CAROL => (CAROL_OUT, Sender::Honest, OnArrival::Claim),
			DAVE => (DAVE_OUT, Sender::Honest, OnArrival::Claim),
			_ => (SINK_OUT, Sender::HonestToSink, OnArrival::Hold),
		};
		match who {
			Sender::Honest => self.result.honest_attempted += 1,
			_ => self.result.honest_to_sink += 1,
		}
		// Senders follow the receiver's invoice, as on the nodes.
		let upgrade_marker =
			self.config.honest_upgrade_marker && invoice_is_accountable(false, on_arrival);
		let route = Route { upgrade_marker, ..Route::new(incoming, outgoing) };
		self.forward(route, amount_msat, who, on_arrival);
	}
}

/// The samples a run keeps: every block for short runs, fewer for long ones.
fn sample_every_secs(duration_secs: u64) -> u64 {
	const MAX_SAMPLES: u64 = 1_500;
	duration_secs.div_ceil(MAX_SAMPLES).div_ceil(BLOCK_SECS).max(1) * BLOCK_SECS
}

/// Runs one scenario with one manager on the trace, calling `progress` with the simulated
/// seconds done and the total.
pub fn run(config: &SimulationConfig, progress: &mut dyn FnMut(u64, u64)) -> RunResult {
	let mut trace = Trace {
		config,
		manager: target_manager(config),
		now_secs: START_UNIX_SECS,
		height: 800_000,
		channels: HashMap::new(),
		next_htlc_id: HashMap::new(),
		next_opened_scid: FIRST_OPENED_SCID,
		in_flight: BTreeMap::new(),
		sequence: 0,
		attacker_in_flight: HashMap::new(),
		laundering: None,
		result: RunResult::default(),
	};
	for scid in [ALICE_IN, BOB_IN, MALLORY_IN, SINK_OUT].into_iter().chain(EXTRA_SINKS) {
		trace.open_channel(scid, TARGET_MAX_ACCEPTED_HTLCS);
	}
	for scid in [CAROL_OUT, DAVE_OUT] {
		trace.open_channel(scid, RECEIVER_MAX_ACCEPTED_HTLCS);
	}

	let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
	let mut peaks = [BucketPeak::default(); 3];
	let sample_every = sample_every_secs(config.duration_secs);
	let ticks = config.duration_secs / TICK_SECS;
	let report_every = (ticks / 1000).max(1);
	for tick in 1..=ticks {
		let elapsed = tick * TICK_SECS;
		trace.now_secs = START_UNIX_SECS + elapsed;
		let new_block = elapsed % BLOCK_SECS == 0;
		if new_block {
			trace.height += 1;
		}
		trace.attacker_moves(elapsed, new_block);
		for (sender, payee, amount_msat) in honest_payments(&mut rng, config, elapsed) {
			trace.send_honest(sender, payee, amount_msat);
		}
		// Within the tick, as the nodes deliver everything sent in a tick before the next.
		trace.resolve_due(trace.now_secs + TICK_SECS - 1);

		if let Some(manager) = &trace.manager {
			// Once a block: a snapshot walks every channel, JIT channels included.
			if new_block {
				record_bucket_peaks(manager, trace.now_secs, &mut peaks);
			}
		}
		if elapsed % sample_every == 0 || tick == ticks {
			trace.result.timeline.push(Sample {
				secs: elapsed,
				honest_attempted: trace.result.honest_attempted,
				honest_succeeded: trace.result.honest_succeeded,
				target_revenue_msat: trace.result.target_revenue_msat,
			});
		}
		if tick % report_every == 0 || tick == ticks {
			progress(elapsed, ticks * TICK_SECS);
		}
	}

	let mut result = std::mem::take(&mut trace.result);
	let end_secs = START_UNIX_SECS + config.duration_secs;
	for (_, htlc) in trace.in_flight.iter() {
		// Still held at the end: count the time it was locked so far.
		let held_secs = end_secs - START_UNIX_SECS - htlc.sent_at_secs;
		match htlc.sender {
			Sender::Attacker => {
				result.attacker_locked_msat_secs += htlc.incoming_amount_msat * held_secs;
				if htlc.protected {
					result.attacker_protected_htlc_secs += held_secs;
				}
			},
			Sender::HonestToSink => {
				result.honest_locked_by_sink_msat_secs += htlc.incoming_amount_msat * held_secs
			},
			Sender::Honest => {},
		}
	}
	if let Some(manager) = &trace.manager {
		result.manager = Some(manager_report(manager, config.mode, peaks));
	}
	result
}

/// The cost of `locked_msat_secs` of capital locked, at [`CAPITAL_COST_PPM_PER_YEAR`], in msat.
pub fn capital_cost_msat(locked_msat_secs: u64) -> u64 {
	(locked_msat_secs as u128 * CAPITAL_COST_PPM_PER_YEAR as u128 / 1_000_000 / YEAR_SECS as u128)
		as u64
}
