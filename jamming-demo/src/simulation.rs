// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! One run: the network, its traffic over simulated time, and what it measured.
//!
//! The network, every node a real `ChannelManager` from LDK's functional test utilities:
//!
//! ```text
//!   alice --\              /-- carol --\
//!   bob ----- target ----+---- dave ---- sink
//!   mallory-/             \------------/
//! ```
//!
//! Alice and Bob pay Carol and Dave through the target. Mallory (the attacker) pays its own
//! sink through the target and Carol or Dave, so its HTLCs take the same target-to-receiver
//! channels as the honest payments; the sink settles, fails or holds them as the scenario says.
//! Carol and Dave accept only [`RECEIVER_MAX_ACCEPTED_HTLCS`] HTLCs at once from the target:
//! the slots a jamming attacker tries to fill.

use crate::clock::{SimulatedClock, SimulatedClockManager};
use crate::scenario::{ManagerMode, Scenario, SimulationConfig};

use lightning::bitcoin::hashes::sha256::Hash as Sha256;
use lightning::bitcoin::hashes::Hash;
use lightning::bolt11_invoice::Bolt11Invoice;
use lightning::chain::Confirm;
use lightning::events::Event;
use lightning::ln::channelmanager::{Bolt11InvoiceParameters, PaymentId};
use lightning::ln::functional_test_utils::*;
use lightning::ln::msgs::{BaseMessageHandler, ChannelMessageHandler, MessageSendEvent};
use lightning::ln::outbound_payment::RecipientOnionFields;
use lightning::routing::router::{PaymentParameters, RouteParameters};
use lightning::sign::RandomBytes;
use lightning::types::payment::{PaymentHash, PaymentPreimage};
use lightning::util::logger::{Logger, Record};
use lightning::util::test_utils::TestResourceManager;
use lightning_resource_manager::{DefaultResourceManager, Mode, ResourceManagerConfig};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use std::collections::HashMap;
use std::sync::Arc;

pub(crate) const ALICE: usize = 0;
pub(crate) const BOB: usize = 1;
const MALLORY: usize = 2;
const TARGET: usize = 3;
pub(crate) const CAROL: usize = 4;
pub(crate) const DAVE: usize = 5;
pub(crate) const SINK: usize = 6;
const NODE_COUNT: usize = 7;

const HONEST_SENDERS: [usize; 2] = [ALICE, BOB];
const HONEST_RECEIVERS: [usize; 2] = [CAROL, DAVE];

/// How many HTLCs Carol and Dave accept from the target at once.
pub const RECEIVER_MAX_ACCEPTED_HTLCS: u16 = 20;
/// How many HTLCs the target accepts from each peer at once (LDK's default), enough for the
/// attacker to fill both receivers' slots over its one channel.
pub const TARGET_MAX_ACCEPTED_HTLCS: u16 = 50;
pub(crate) const CHANNEL_VALUE_SAT: u64 = 10_000_000;
/// The target's fee policy on every channel.
pub(crate) const TARGET_FEE_BASE_MSAT: u32 = 1_000;
pub(crate) const TARGET_FEE_PROPORTIONAL_MILLIONTHS: u32 = 1_000;

/// The simulation's step: everything sent within one is delivered before the clock moves on.
pub const TICK_SECS: u64 = 60;
/// A block every ten minutes.
pub const BLOCK_SECS: u64 = 600;
/// Simulated time starts here (November 2023), in seconds since the UNIX epoch.
pub(crate) const START_UNIX_SECS: u64 = 1_700_000_000;

const HONEST_MIN_AMOUNT_MSAT: u64 = 10_000;
const HONEST_MAX_AMOUNT_MSAT: u64 = 10_000_000;
/// The share of honest payments that go to the sink once it turns malicious.
const SINK_ATTACK_SHARE: f64 = 1.0 / 3.0;
/// Small HTLCs: the attacker pays for slots, not liquidity.
pub(crate) const JAM_AMOUNT_MSAT: u64 = 20_000;
/// The HTLCs the attacker sends per route and block at most while topping its jam up: it backs
/// off rather than retrying without end when the target turns it away.
pub(crate) const JAM_TOP_UP_PER_BLOCK: u64 = 5;
/// Enough to fill the receiver's slots.
pub(crate) const JAM_TARGET_IN_FLIGHT: u64 = RECEIVER_MAX_ACCEPTED_HTLCS as u64;
/// The payments the attacker makes per route and block to earn reputation, and their size.
pub(crate) const REPUTATION_PAYMENTS_PER_BLOCK: u64 = 1;
pub(crate) const REPUTATION_PAYMENT_MSAT: u64 = 1_000_000;
/// The HTLCs the attacker sends per route and tick during a burst, and how long the bursts last.
pub(crate) const BURST_SIZE: u64 = 20;
pub(crate) const BURST_WINDOW_SECS: u64 = 3600;

/// Whether the receiver's invoice for a payment of `kind` says it resolves the payment promptly
/// (BOLT 11 field `a`): honest receivers say so exactly when they claim or fail it at once, not
/// when they hold it; the attacker says so whatever it does, as it takes every resource it can
/// get.
pub(crate) fn invoice_is_accountable(attacker: bool, on_arrival: OnArrival) -> bool {
	attacker || on_arrival != OnArrival::Hold
}

/// The onion fields a sender builds from the receiver's invoice, as
/// [`ChannelManager::pay_for_bolt11_invoice`] does: the `upgrade_accountability` marker exactly
/// when the invoice is accountable, unless [`SimulationConfig::honest_upgrade_marker`] says
/// honest senders' software does not know the marker.
///
/// [`ChannelManager::pay_for_bolt11_invoice`]: lightning::ln::channelmanager::ChannelManager::pay_for_bolt11_invoice
fn onion_fields(
	kind: PaymentKind, invoice: &Bolt11Invoice, amount_msat: u64, config: &SimulationConfig,
) -> RecipientOnionFields {
	let onion = RecipientOnionFields::secret_only(*invoice.payment_secret(), amount_msat);
	let knows_marker = match kind {
		PaymentKind::Honest | PaymentKind::HonestToSink => config.honest_upgrade_marker,
		PaymentKind::Attacker { .. } => true,
	};
	if invoice.is_accountable() && knows_marker {
		onion.with_upgrade_accountability()
	} else {
		onion
	}
}

/// The cumulative counters of a run at one point in simulated time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sample {
	/// Seconds since the start of the run.
	pub secs: u64,
	/// Honest payments to honest receivers so far.
	pub honest_attempted: u64,
	/// Those that succeeded.
	pub honest_succeeded: u64,
	/// The fees the target earned so far.
	pub target_revenue_msat: u64,
}

/// The peak use of one of the target's buckets over a run, summed over its channels.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct BucketPeak {
	/// The most HTLCs in the bucket at once.
	pub slots: u64,
	/// The bucket's slots over all channels.
	pub slot_limit: u64,
	/// The most liquidity in the bucket at once.
	pub liquidity_msat: u64,
}

/// What the target's default manager saw, in shadow or enforce mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ManagerReport {
	/// General, congestion and protected buckets.
	pub buckets: [BucketPeak; 3],
	/// The forwards it failed (enforce) or would have failed (shadow).
	pub rejected: u64,
	/// Those of [`Self::rejected`] failed for insufficient reputation.
	pub rejected_for_reputation: u64,
}

/// What one run measured.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RunResult {
	/// Honest payments to honest receivers.
	pub honest_attempted: u64,
	/// Those that succeeded.
	pub honest_succeeded: u64,
	/// Honest payments to the sink once it turned malicious ([`Scenario::SinkAttack`]).
	pub honest_to_sink: u64,
	/// The honest capital the sink held times the time it held it, in msat × seconds.
	pub honest_locked_by_sink_msat_secs: u64,
	/// The fees the target earned.
	pub target_revenue_msat: u64,
	/// The HTLCs the attacker sent.
	pub attacker_htlcs: u64,
	/// The fees the attacker paid (for payments that settled).
	pub attacker_fees_paid_msat: u64,
	/// Those of [`Self::attacker_fees_paid_msat`] paid before the attack started, to earn
	/// reputation.
	pub attacker_fees_before_attack_msat: u64,
	/// The attacker's capital locked in HTLCs times the time it stayed locked, summed over its
	/// HTLCs, in msat × seconds.
	pub attacker_locked_msat_secs: u64,
	/// The time the attacker's HTLCs held the target's protected or congestion resources, summed
	/// over its HTLCs, in seconds (the trace only counts it).
	pub attacker_protected_htlc_secs: u64,
	/// `None` for the no-op manager.
	pub manager: Option<ManagerReport>,
	/// The counters at the end of every block.
	pub timeline: Vec<Sample>,
}

impl RunResult {
	/// Honest success, in percent of the honest payments attempted.
	pub fn honest_success_percent(&self) -> f64 {
		if self.honest_attempted == 0 {
			return 100.0;
		}
		100.0 * self.honest_succeeded as f64 / self.honest_attempted as f64
	}

	/// Honest success among the payments sent between `from_secs` and `to_secs` (seconds since
	/// the start of the run, rounded down to the samples at the end of each block), in percent.
	pub fn honest_success_percent_between(&self, from_secs: u64, to_secs: u64) -> f64 {
		let (from, to) = (self.sample_at(from_secs), self.sample_at(to_secs));
		let attempted = to.honest_attempted - from.honest_attempted;
		if attempted == 0 {
			return 100.0;
		}
		100.0 * (to.honest_succeeded - from.honest_succeeded) as f64 / attempted as f64
	}

	/// The target's fees between `from_secs` and `to_secs`, in msat, rounded as
	/// [`Self::honest_success_percent_between`] rounds.
	pub fn revenue_between(&self, from_secs: u64, to_secs: u64) -> u64 {
		let (from, to) = (self.sample_at(from_secs), self.sample_at(to_secs));
		to.target_revenue_msat - from.target_revenue_msat
	}

	/// The last sample at or before `secs`.
	fn sample_at(&self, secs: u64) -> Sample {
		let before = self.timeline.iter().take_while(|sample| sample.secs <= secs).last();
		before.copied().unwrap_or_default()
	}

	/// One line of text, for the demo to pass results from the process that ran them.
	pub fn encode(&self) -> String {
		let mut fields = vec![
			self.honest_attempted,
			self.honest_succeeded,
			self.honest_to_sink,
			self.honest_locked_by_sink_msat_secs,
			self.target_revenue_msat,
			self.attacker_htlcs,
			self.attacker_fees_paid_msat,
			self.attacker_fees_before_attack_msat,
			self.attacker_locked_msat_secs,
			self.attacker_protected_htlc_secs,
		];
		match &self.manager {
			None => fields.push(0),
			Some(report) => {
				fields.push(1);
				fields.push(report.rejected);
				fields.push(report.rejected_for_reputation);
				for peak in report.buckets {
					fields.extend([peak.slots, peak.slot_limit, peak.liquidity_msat]);
				}
			},
		}
		for sample in &self.timeline {
			fields.extend([
				sample.secs,
				sample.honest_attempted,
				sample.honest_succeeded,
				sample.target_revenue_msat,
			]);
		}
		fields.iter().map(u64::to_string).collect::<Vec<_>>().join(" ")
	}

	/// Reads what [`Self::encode`] wrote.
	pub fn decode(line: &str) -> Option<Self> {
		let numbers = line.split(' ').map(|n| n.parse().ok()).collect::<Option<Vec<u64>>>()?;
		let mut numbers = numbers.into_iter();
		let mut next = || numbers.next();
		let mut result = RunResult {
			honest_attempted: next()?,
			honest_succeeded: next()?,
			honest_to_sink: next()?,
			honest_locked_by_sink_msat_secs: next()?,
			target_revenue_msat: next()?,
			attacker_htlcs: next()?,
			attacker_fees_paid_msat: next()?,
			attacker_fees_before_attack_msat: next()?,
			attacker_locked_msat_secs: next()?,
			attacker_protected_htlc_secs: next()?,
			..Default::default()
		};
		if next()? == 1 {
			let mut report = ManagerReport {
				rejected: next()?,
				rejected_for_reputation: next()?,
				..Default::default()
			};
			for peak in report.buckets.iter_mut() {
				*peak = BucketPeak { slots: next()?, slot_limit: next()?, liquidity_msat: next()? };
			}
			result.manager = Some(report);
		}
		while let Some(secs) = next() {
			result.timeline.push(Sample {
				secs,
				honest_attempted: next()?,
				honest_succeeded: next()?,
				target_revenue_msat: next()?,
			});
		}
		Some(result)
	}
}

/// The resource manager logs nothing: the demo reports its counters instead.
pub(crate) struct NoLogs;

impl Logger for NoLogs {
	fn log(&self, _record: Record) {}
}

pub(crate) type TargetManager = DefaultResourceManager<Arc<RandomBytes>, Arc<NoLogs>>;

/// What a receiver does with a payment that reaches it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum OnArrival {
	Claim,
	FailAtOnce,
	/// Hold it: LDK fails it back by itself a few blocks before it expires.
	Hold,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum PaymentKind {
	Honest,
	HonestToSink,
	/// Over the attacker's route through Carol (0) or Dave (1).
	Attacker {
		route: usize,
	},
}

struct Payment {
	kind: PaymentKind,
	amount_msat: u64,
	sent_at_secs: u64,
}

/// The short channel ids a run needs to steer its routes.
struct Channels {
	target_carol: u64,
	target_dave: u64,
	target_sink: u64,
	carol_sink: u64,
	dave_sink: u64,
}

struct Simulation<'n, 'a, 'b, 'c> {
	nodes: &'n [Node<'a, 'b, 'c>],
	channels: Channels,
	clock: SimulatedClock,
	seed: u64,
	payment_count: u64,
	/// Every payment a receiver may see, with what it does on arrival.
	invoices: HashMap<PaymentHash, (PaymentPreimage, OnArrival)>,
	payments: HashMap<PaymentId, Payment>,
	attacker_in_flight: [u64; 2],
	/// Whether the attacker sets `accountable` on the HTLCs it sends.
	attacker_accountable: bool,
	config: SimulationConfig,
	result: RunResult,
}

impl<'n, 'a, 'b, 'c> Simulation<'n, 'a, 'b, 'c> {
	fn elapsed_secs(&self) -> u64 {
		self.clock.now_secs() - START_UNIX_SECS
	}

	/// Sends a payment over the cheapest route that avoids `avoid`. One that cannot leave (no
	/// route, or the first hop refuses it) fails at once and is only counted as sent.
	fn send(
		&mut self, sender: usize, payee: usize, amount_msat: u64, avoid: Vec<u64>,
		kind: PaymentKind, on_arrival: OnArrival,
	) {
		self.payment_count += 1;
		let mut preimage_input = self.seed.to_le_bytes().to_vec();
		preimage_input.extend_from_slice(&self.payment_count.to_le_bytes());
		let preimage = PaymentPreimage(Sha256::hash(&preimage_input).to_byte_array());
		let hash = PaymentHash(Sha256::hash(&preimage.0).to_byte_array());
		let recipient = &self.nodes[payee].node;
		let invoice_params = Bolt11InvoiceParameters {
			amount_msats: Some(amount_msat),
			invoice_expiry_delta_secs: Some(7200),
			payment_hash: Some(hash),
			accountable: invoice_is_accountable(
				matches!(kind, PaymentKind::Attacker { .. }),
				on_arrival,
			),
			..Default::default()
		};
		let invoice = recipient.create_bolt11_invoice(invoice_params).expect("a valid invoice");
		self.invoices.insert(hash, (preimage, on_arrival));

		let mut payment_params =
			PaymentParameters::from_node_id(recipient.get_our_node_id(), TEST_FINAL_CLTV)
				.with_bolt11_features(recipient.bolt11_invoice_features())
				.expect("bolt11 features");
		payment_params.previously_failed_channels = avoid;
		let route_params =
			RouteParameters::from_payment_params_and_value(payment_params, amount_msat);
		let route = match get_route(&self.nodes[sender], &route_params) {
			Ok(route) => route,
			// No route: the sender's channel has no slot or liquidity left.
			Err(_) => return,
		};
		let onion = onion_fields(kind, &invoice, amount_msat, &self.config);
		let id = PaymentId(hash.0);
		let sent_at_secs = self.elapsed_secs();
		if self.nodes[sender].node.send_payment_with_route(route, hash, onion, id).is_err() {
			return;
		}
		self.payments.insert(id, Payment { kind, amount_msat, sent_at_secs });
		if let PaymentKind::Attacker { route } = kind {
			self.attacker_in_flight[route] += 1;
		}
	}

	fn send_honest(&mut self, sender: usize, payee: usize, amount_msat: u64) {
		let channels = &self.channels;
		let (kind, on_arrival, avoid) = if payee == SINK {
			let avoid = vec![channels.carol_sink, channels.dave_sink];
			(PaymentKind::HonestToSink, OnArrival::Hold, avoid)
		} else {
			let avoid = vec![channels.target_sink, channels.carol_sink, channels.dave_sink];
			(PaymentKind::Honest, OnArrival::Claim, avoid)
		};
		match kind {
			PaymentKind::Honest => self.result.honest_attempted += 1,
			_ => self.result.honest_to_sink += 1,
		}
		self.send(sender, payee, amount_msat, avoid, kind, on_arrival);
	}

	/// Sends an attacker HTLC to its sink, through Carol (route 0) or Dave (route 1).
	fn send_attacker(&mut self, route: usize, amount_msat: u64, on_arrival: OnArrival) {
		let channels = &self.channels;
		let avoid = match route {
			0 => vec![channels.target_dave, channels.target_sink],
			_ => vec![channels.target_carol, channels.target_sink],
		};
		self.result.attacker_htlcs += 1;
		let kind = PaymentKind::Attacker { route };
		self.send(MALLORY, SINK, amount_msat, avoid, kind, on_arrival);
	}

	fn payment_resolved(&mut self, id: PaymentId, fee_paid_msat: Option<u64>) {
		let payment = match self.payments.remove(&id) {
			Some(payment) => payment,
			None => return,
		};
		match payment.kind {
			PaymentKind::Honest if fee_paid_msat.is_some() => self.result.honest_succeeded += 1,
			PaymentKind::Attacker { route } => {
				self.attacker_in_flight[route] -= 1;
				self.result.attacker_fees_paid_msat += fee_paid_msat.unwrap_or(0);
				if payment.sent_at_secs < self.config.attack_start_secs {
					self.result.attacker_fees_before_attack_msat += fee_paid_msat.unwrap_or(0);
				}
				let held_secs = self.elapsed_secs() - payment.sent_at_secs;
				self.result.attacker_locked_msat_secs += payment.amount_msat * held_secs;
			},
			PaymentKind::HonestToSink => {
				let held_secs = self.elapsed_secs() - payment.sent_at_secs;
				self.result.honest_locked_by_sink_msat_secs += payment.amount_msat * held_secs;
			},
			_ => {},
		}
	}

	fn handle_event(&mut self, node: usize, event: Event) {
		match event {
			Event::PaymentClaimable { payment_hash, .. } => {
				let (preimage, on_arrival) = self.invoices[&payment_hash];
				match on_arrival {
					OnArrival::Claim => self.nodes[node].node.claim_funds(preimage),
					OnArrival::FailAtOnce => {
						self.nodes[node].node.fail_htlc_backwards(&payment_hash)
					},
					OnArrival::Hold => {},
				}
			},
			Event::PaymentSent { payment_id: Some(id), fee_paid_msat, .. } => {
				self.payment_resolved(id, Some(fee_paid_msat.unwrap_or(0)))
			},
			Event::PaymentFailed { payment_id, .. } => self.payment_resolved(payment_id, None),
			Event::PaymentForwarded { total_fee_earned_msat, .. } if node == TARGET => {
				self.result.target_revenue_msat += total_fee_earned_msat.unwrap_or(0)
			},
			Event::PaymentClaimed { payment_hash, .. } => {
				self.invoices.remove(&payment_hash);
			},
			// Path-level outcomes, failed forwards retried by the next forwarding pass, and
			// forwards elsewhere: the payment-level events above say all the demo needs.
			_ => {},
		}
	}

	/// Delivers a message `from` a node to its peer; returns whether it was one that moves
	/// HTLCs (gossip is dropped: every node already knows the whole graph).
	fn deliver(&self, from: usize, event: MessageSendEvent) -> bool {
		let from_id = self.nodes[from].node.get_our_node_id();
		let node_by_id = |node_id| {
			self.nodes.iter().find(|node| node.node.get_our_node_id() == node_id).unwrap()
		};
		match event {
			MessageSendEvent::UpdateHTLCs { node_id, updates, .. } => {
				let to = &node_by_id(node_id).node;
				for add in &updates.update_add_htlcs {
					if from == MALLORY && self.attacker_accountable {
						// The attacker's software signals its HTLCs `accountable`.
						let mut add = add.clone();
						add.accountable = Some(true);
						to.handle_update_add_htlc(from_id, &add);
					} else {
						to.handle_update_add_htlc(from_id, add);
					}
				}
				for fulfill in updates.update_fulfill_htlcs {
					to.handle_update_fulfill_htlc(from_id, fulfill);
				}
				for fail in &updates.update_fail_htlcs {
					to.handle_update_fail_htlc(from_id, fail);
				}
				for fail in &updates.update_fail_malformed_htlcs {
					to.handle_update_fail_malformed_htlc(from_id, fail);
				}
				if let Some(update_fee) = &updates.update_fee {
					to.handle_update_fee(from_id, update_fee);
				}
				to.handle_commitment_signed_batch_test(from_id, &updates.commitment_signed);
				true
			},
			MessageSendEvent::SendRevokeAndACK { node_id, msg } => {
				node_by_id(node_id).node.handle_revoke_and_ack(from_id, &msg);
				true
			},
			MessageSendEvent::SendChannelUpdate { .. }
			| MessageSendEvent::BroadcastChannelUpdate { .. }
			| MessageSendEvent::BroadcastChannelAnnouncement { .. }
			| MessageSendEvent::BroadcastNodeAnnouncement { .. }
			| MessageSendEvent::SendAnnouncementSignatures { .. } => false,
			event => panic!("Unexpected message from node {from}: {event:?}"),
		}
	}

	/// Runs every node until no message, event or forward is left.
	fn pump(&mut self) {
		loop {
			let mut busy = false;
			for index in 0..self.nodes.len() {
				let node = &self.nodes[index];
				if node.node.needs_pending_htlc_processing() {
					node.node.process_pending_htlc_forwards();
				}
				for event in node.node.get_and_clear_pending_events() {
					busy = true;
					self.handle_event(index, event);
				}
				for message in node.node.get_and_clear_pending_msg_events() {
					busy |= self.deliver(index, message);
				}
				// Every monitor update completes at once; nothing checks them.
				node.chain_monitor.added_monitors.lock().unwrap().clear();
				busy |= node.node.needs_pending_htlc_processing();
			}
			if !busy {
				return;
			}
		}
	}

	/// Mines a block on every node, stamped with the simulated time.
	fn mine_block(&self) {
		for node in self.nodes {
			let (prev_hash, height) = node.best_block_info();
			let block = create_dummy_block(prev_hash, self.clock.now_secs() as u32, Vec::new());
			node.blocks.lock().unwrap().push((block.clone(), height + 1));
			node.chain_monitor.chain_monitor.best_block_updated(&block.header, height + 1);
			node.node.best_block_updated(&block.header, height + 1);
			node.node.timer_tick_occurred();
		}
	}
}

/// Mines blocks on the nodes behind the others until every node has the same tip height.
fn level_chain_tips(nodes: &[Node]) {
	let tip = nodes.iter().map(|node| node.best_block_info().1).max().unwrap();
	for node in nodes {
		let behind = tip - node.best_block_info().1;
		if behind > 0 {
			connect_blocks(node, behind);
		}
	}
}

/// The honest traffic of one tick: `(sender, payee, amount_msat)`, the same whatever the
/// scenario and mode, so that runs with the same seed compare the same payments.
pub(crate) fn honest_payments(
	rng: &mut ChaCha8Rng, config: &SimulationConfig, elapsed_secs: u64,
) -> Vec<(usize, usize, u64)> {
	let probability = config.honest_payments_per_hour * TICK_SECS as f64 / 3600.0;
	let mut payments = Vec::new();
	for sender in HONEST_SENDERS {
		// Draw everything every tick, used or not, to keep the stream the same across runs.
		let sends = rng.random::<f64>() < probability;
		let log_span = (HONEST_MAX_AMOUNT_MSAT as f64 / HONEST_MIN_AMOUNT_MSAT as f64).ln();
		let amount_msat =
			(HONEST_MIN_AMOUNT_MSAT as f64 * (rng.random::<f64>() * log_span).exp()) as u64;
		let mut payee = HONEST_RECEIVERS[rng.random_range(0..HONEST_RECEIVERS.len())];
		let to_sink = rng.random::<f64>() < SINK_ATTACK_SHARE;
		if config.scenario == Scenario::SinkAttack
			&& elapsed_secs >= config.attack_start_secs
			&& to_sink
		{
			payee = SINK;
		}
		if sends {
			payments.push((sender, payee, amount_msat));
		}
	}
	payments
}

/// Raises `peaks` to the use of the manager's buckets now, summed over its channels.
pub(crate) fn record_bucket_peaks(
	manager: &TargetManager, now_secs: u64, peaks: &mut [BucketPeak; 3],
) {
	let mut used = [BucketPeak::default(); 3];
	for snapshot in manager.channel_snapshots(now_secs) {
		let buckets = [snapshot.general, snapshot.congestion, snapshot.protected];
		for (total, usage) in used.iter_mut().zip(buckets) {
			total.slots += usage.used_slots as u64;
			total.slot_limit += usage.limits.slots as u64;
			total.liquidity_msat += usage.used_liquidity_msat;
		}
	}
	for (peak, now) in peaks.iter_mut().zip(used) {
		peak.slots = peak.slots.max(now.slots);
		peak.slot_limit = now.slot_limit;
		peak.liquidity_msat = peak.liquidity_msat.max(now.liquidity_msat);
	}
}

/// What the manager saw over a run in `mode`, with the bucket `peaks` recorded along it.
pub(crate) fn manager_report(
	manager: &TargetManager, mode: ManagerMode, peaks: [BucketPeak; 3],
) -> ManagerReport {
	let stats = manager.stats();
	let rejected = match mode {
		ManagerMode::Shadow => stats.would_have_failed,
		_ => stats.failed,
	};
	ManagerReport {
		buckets: peaks,
		rejected: rejected.total(),
		rejected_for_reputation: rejected.insufficient_reputation,
	}
}

/// The target's default manager for `config`'s mode, `None` for [`ManagerMode::Noop`].
pub(crate) fn target_manager(config: &SimulationConfig) -> Option<Arc<TargetManager>> {
	match config.mode {
		ManagerMode::Noop => None,
		ManagerMode::Shadow | ManagerMode::Enforce => {
			let mode =
				if config.mode == ManagerMode::Shadow { Mode::Shadow } else { Mode::Enforce };
			let manager_config = ResourceManagerConfig {
				mode,
				unmarked_protected: config.unmarked_protected,
				..Default::default()
			};
			let mut salt_seed = [0; 32];
			salt_seed[..8].copy_from_slice(&config.seed.to_le_bytes());
			let entropy = Arc::new(RandomBytes::new(salt_seed));
			let manager = DefaultResourceManager::new(manager_config, entropy, Arc::new(NoLogs))
				.expect("the default configuration is valid");
			Some(Arc::new(manager))
		},
	}
}

/// Runs one scenario with one manager on a fresh network, calling `progress` with the simulated
/// seconds done and the total.
///
/// # Panics
///
/// If the scenario runs only on the trace ([`Scenario::runs_on_nodes`]).
pub fn run(config: &SimulationConfig, progress: &mut dyn FnMut(u64, u64)) -> RunResult {
	assert!(
		config.scenario.runs_on_nodes(),
		"{} runs on the trace only (crate::trace::run)",
		config.scenario
	);
	let clock = SimulatedClock::new(START_UNIX_SECS);
	let chanmon_cfgs = create_chanmon_cfgs(NODE_COUNT);
	let mut node_cfgs = create_node_cfgs(NODE_COUNT, &chanmon_cfgs);
	let manager = target_manager(config);
	node_cfgs[TARGET].resource_manager = match &manager {
		None => TestResourceManager::new(),
		Some(manager) => TestResourceManager::with_delegate(Arc::new(SimulatedClockManager::new(
			Arc::clone(manager),
			clock.clone(),
		))),
	};

	let mut target_config = test_default_channel_config();
	target_config.channel_handshake_config.our_max_accepted_htlcs = TARGET_MAX_ACCEPTED_HTLCS;
	target_config.channel_config.forwarding_fee_base_msat = TARGET_FEE_BASE_MSAT;
	target_config.channel_config.forwarding_fee_proportional_millionths =
		TARGET_FEE_PROPORTIONAL_MILLIONTHS;
	let mut receiver_config = test_default_channel_config();
	receiver_config.channel_handshake_config.our_max_accepted_htlcs = RECEIVER_MAX_ACCEPTED_HTLCS;
	let mut configs = vec![None; NODE_COUNT];
	configs[TARGET] = Some(target_config);
	configs[CAROL] = Some(receiver_config.clone());
	configs[DAVE] = Some(receiver_config);
	let node_chanmgrs = create_node_chanmgrs(NODE_COUNT, &node_cfgs, &configs);
	let nodes = create_network(NODE_COUNT, &node_cfgs, &node_chanmgrs);

	let open = |funder, peer| {
		let (update, ..) = create_announced_chan_between_nodes_with_value(
			&nodes,
			funder,
			peer,
			CHANNEL_VALUE_SAT,
			0,
		);
		// Opening a channel mines blocks on its two ends only: bring every node to the tip.
		level_chain_tips(&nodes);
		update.contents.short_channel_id
	};
	for sender in [ALICE, BOB, MALLORY] {
		open(sender, TARGET);
	}
	let channels = Channels {
		target_carol: open(TARGET, CAROL),
		target_dave: open(TARGET, DAVE),
		target_sink: open(TARGET, SINK),
		carol_sink: open(CAROL, SINK),
		dave_sink: open(DAVE, SINK),
	};

	let mut sim = Simulation {
		nodes: &nodes,
		channels,
		clock: clock.clone(),
		seed: config.seed,
		payment_count: 0,
		invoices: HashMap::new(),
		payments: HashMap::new(),
		attacker_in_flight: [0; 2],
		attacker_accountable: false,
		config: *config,
		result: RunResult::default(),
	};
	sim.pump();
	for node in &nodes {
		node.node.get_and_clear_pending_events();
	}

	let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
	let mut peaks = [BucketPeak::default(); 3];
	let ticks = config.duration_secs / TICK_SECS;
	for tick in 1..=ticks {
		let elapsed = tick * TICK_SECS;
		clock.set(START_UNIX_SECS + elapsed);
		let new_block = elapsed % BLOCK_SECS == 0;
		if new_block {
			sim.mine_block();
			sim.pump();
		}

		let attacking = elapsed >= config.attack_start_secs;
		match config.scenario {
			Scenario::SlowJamming | Scenario::ReputationAbuse if attacking && new_block => {
				sim.attacker_accountable = config.scenario == Scenario::ReputationAbuse;
				for route in 0..2 {
					let missing =
						JAM_TARGET_IN_FLIGHT.saturating_sub(sim.attacker_in_flight[route]);
					for _ in 0..missing.min(JAM_TOP_UP_PER_BLOCK) {
						sim.send_attacker(route, JAM_AMOUNT_MSAT, OnArrival::Hold);
					}
				}
			},
			Scenario::ReputationAbuse if new_block => {
				for route in 0..2 {
					for _ in 0..REPUTATION_PAYMENTS_PER_BLOCK {
						sim.send_attacker(route, REPUTATION_PAYMENT_MSAT, OnArrival::Claim);
					}
				}
			},
			Scenario::FastFailBurst
				if attacking && elapsed < config.attack_start_secs + BURST_WINDOW_SECS =>
			{
				for route in 0..2 {
					for _ in 0..BURST_SIZE {
						sim.send_attacker(route, JAM_AMOUNT_MSAT, OnArrival::FailAtOnce);
					}
				}
			},
			_ => {},
		}
		for (sender, payee, amount_msat) in honest_payments(&mut rng, config, elapsed) {
			sim.send_honest(sender, payee, amount_msat);
		}
		sim.pump();

		if let Some(manager) = &manager {
			record_bucket_peaks(manager, clock.now_secs(), &mut peaks);
		}
		if new_block || tick == ticks {
			sim.result.timeline.push(Sample {
				secs: elapsed,
				honest_attempted: sim.result.honest_attempted,
				honest_succeeded: sim.result.honest_succeeded,
				target_revenue_msat: sim.result.target_revenue_msat,
			});
		}
		progress(elapsed, ticks * TICK_SECS);
	}

	let mut result = sim.result;
	for payment in sim.payments.values() {
		// Still held at the end: count the time it was locked so far.
		let locked_msat_secs = payment.amount_msat * (config.duration_secs - payment.sent_at_secs);
		match payment.kind {
			PaymentKind::Attacker { .. } => result.attacker_locked_msat_secs += locked_msat_secs,
			PaymentKind::HonestToSink => result.honest_locked_by_sink_msat_secs += locked_msat_secs,
			PaymentKind::Honest => {},
		}
	}
	if let Some(manager) = &manager {
		// Every outgoing channel's forwards went through the manager: a channel's short channel
		// id must not pass for a phantom SCID (a bug this check caught in the series).
		let requests = nodes[TARGET].resource_manager.requests.lock().unwrap();
		let mut expected = vec![sim.channels.target_carol, sim.channels.target_dave];
		if config.scenario == Scenario::SinkAttack {
			expected.push(sim.channels.target_sink);
		}
		for scid in expected {
			assert!(
				requests.iter().any(|request| request.outgoing_short_channel_id == scid),
				"forwards over channel {scid} bypassed the resource manager"
			);
		}
		result.manager = Some(manager_report(manager, config.mode, peaks));
	}
	result
}
