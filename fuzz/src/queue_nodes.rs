// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! `ChannelManager`s with the resource allocation queue, on three in-process nodes A - B - C
//! built with LDK's functional test utilities.
//!
//! B forwards through an enabled [`TestResourceManager`]; the input drives payments both ways,
//! the manager's policy (answer at once, defer, fail), its late decisions (on ids it was handed,
//! again on decided ones, and on made-up ids), the forwarding passes, the delivery of each
//! message, disconnections, timer ticks, blocks, restarts of any node at any point, in both
//! reload modes, and closes of either channel by either side, cooperative or forced, with HTLCs
//! queued, decided or in flight. Blocks carry the transactions the nodes broadcast, as a chain
//! would (see [`mine_block`]). At the end every link is reconnected, every forward the manager
//! was handed is failed (refused if already decided or failed back) and the nodes run, mining
//! blocks once a channel was closed, until nothing moves and every HTLC on chain is resolved.
//!
//! Invariants: every payment ends sent or failed at its payer, never both, never neither, and is
//! sent only if its payee claimed it (and, unless a channel was force-closed, whenever it did:
//! an HTLC trimmed as dust from a commitment on chain is lost by the forwarder); its payee sees
//! at most one HTLC for it (so B never forwards it twice); no channel the input did not close is
//! ever closed (the input cannot make a force-close unavoidable, see [`do_test`]); at the end no
//! HTLC is pending anywhere, the channels closed are gone and B's queue is empty.
//! B's manager keeps a ledger of what it was told (`ResourceLedger`), which checks the
//! exactly-once contract of `ResourceManager` as each notification arrives, across restarts: no
//! resolution of a forward it did not allocate, none twice, every forward still in flight
//! reported again after a restart (or handed again, when B's `ChannelManager` is rebuilt from
//! its channels); at the end every forward it allocated was resolved.

use std::cell::OnceCell;
use std::collections::{HashMap, HashSet, VecDeque};

use lightning::bitcoin::transaction::Version;
use lightning::bitcoin::{absolute, Amount, OutPoint, Sequence, Transaction, TxIn, TxOut, Txid};

use lightning::events::{Event, HTLCHandlingFailureType};
use lightning::ln::channelmanager::PaymentId;
use lightning::ln::functional_test_utils::*;
use lightning::ln::msgs::{
	BaseMessageHandler, ChannelMessageHandler, ErrorAction, Init, MessageSendEvent,
};
use lightning::ln::outbound_payment::{RecipientOnionFields, Retry};
use lightning::ln::resource_manager::{ResourceAllocation, ResourceAllocationId};
use lightning::ln::types::ChannelId;
use lightning::routing::router::{PaymentParameters, RouteParameters};
use lightning::types::payment::{PaymentHash, PaymentPreimage};
use lightning::util::ser::Writeable;
use lightning::util::test_utils::{
	TestChainMonitor, TestPersister, TestResourceDecision, TestResourceManager,
};
use lightning::util::wallet_utils::WalletSourceSync;

use crate::input::Input;

/// Restarts per input; each needs storage that outlives the nodes.
const MAX_RESTARTS: usize = 8;
/// `get_payment_preimage_hash` counts payments in a `u8`.
const MAX_PAYMENTS: usize = 200;
/// Rounds of the final settlement before something is considered stuck: a round delivers
/// everything and, once a channel was closed, mines a block, so that HTLCs on chain reach their
/// expiry.
const SETTLE_ROUNDS: usize = 400;
/// Wallet coins each node has, to bump its anchor channels' closing transactions.
const WALLET_COINS: u32 = 8;

/// The forwarding node, whose manager the input drives.
const B: usize = 1;
/// The two links, A - B and B - C, by node index.
const LINKS: [(usize, usize); 2] = [(0, 1), (1, 2)];

/// What happened to one payment, from its payer's and its payee's events.
struct Payment {
	payer: usize,
	payee: usize,
	hash: PaymentHash,
	preimage: PaymentPreimage,
	/// Whether `send_payment` accepted it, so that it must end sent or failed.
	accepted: bool,
	/// `PaymentSent` and `PaymentFailed` may be replayed after a restart, so they are flags.
	sent: bool,
	failed: bool,
	/// The most HTLCs one `PaymentClaimed` listed for it: a claim may be replayed after a
	/// restart, but one claim covers every HTLC the payee holds for the payment.
	claimed_htlcs: usize,
	/// HTLCs the payee failed back for it.
	receive_failures: u32,
}

/// The harness's view of the network, beside the nodes.
struct World {
	payments: Vec<Payment>,
	connected: [bool; 2],
	/// Messages sent and not yet delivered, by sender and recipient.
	in_flight: [[VecDeque<MessageSendEvent>; 3]; 3],
	/// Every forward B's manager was handed, in order, to decide on later.
	handed: Vec<ResourceAllocationId>,
	channel_ids: Vec<ChannelId>,
	/// The links whose channel the input closed, cooperatively or not.
	closed: [bool; 2],
	/// Whether the input force-closed a channel.
	force_closed: bool,
	/// The chain the nodes share: every transaction they broadcast waits here until it can be
	/// mined (see [`mine_block`]).
	mempool: Vec<Transaction>,
	/// Confirmed transactions, with their height.
	confirmed: HashMap<Txid, u32>,
	spent: HashSet<OutPoint>,
}

fn link_of(a: usize, b: usize) -> usize {
	if a.min(b) == 0 {
		0
	} else {
		1
	}
}

fn index_of(nodes: &[Node], node_id: &lightning::bitcoin::secp256k1::PublicKey) -> usize {
	nodes.iter().position(|node| node.node.get_our_node_id() == *node_id).expect("a known node")
}

/// Connects the two nodes of `link`, as a `PeerManager` would on a new connection.
fn connect(nodes: &[Node], world: &mut World, link: usize) {
	if world.connected[link] {
		return;
	}
	let (a, b) = LINKS[link];
	let init = |node: &Node| Init {
		features: node.node.init_features(),
		networks: None,
		remote_network_address: None,
	};
	nodes[a].node.peer_connected(nodes[b].node.get_our_node_id(), &init(&nodes[b]), true).unwrap();
	nodes[b].node.peer_connected(nodes[a].node.get_our_node_id(), &init(&nodes[a]), false).unwrap();
	world.connected[link] = true;
}

/// Disconnects the two nodes of `link`; what was in flight between them is lost.
fn disconnect(nodes: &[Node], world: &mut World, link: usize) {
	if !world.connected[link] {
		return;
	}
	let (a, b) = LINKS[link];
	nodes[a].node.peer_disconnected(nodes[b].node.get_our_node_id());
	nodes[b].node.peer_disconnected(nodes[a].node.get_our_node_id());
	world.in_flight[a][b].clear();
	world.in_flight[b][a].clear();
	world.connected[link] = false;
}

/// Collects what every node wants to send and handles every event, recording what happened to
/// the payments. Returns whether anything happened.
fn collect(nodes: &[Node], world: &mut World) -> bool {
	let mut moved = false;
	for (from, node) in nodes.iter().enumerate() {
		for event in node.node.get_and_clear_pending_msg_events() {
			moved = true;
			let to = match &event {
				MessageSendEvent::UpdateHTLCs { node_id, .. }
				| MessageSendEvent::SendRevokeAndACK { node_id, .. }
				| MessageSendEvent::SendChannelReestablish { node_id, .. }
				| MessageSendEvent::SendChannelReady { node_id, .. }
				| MessageSendEvent::SendAnnouncementSignatures { node_id, .. }
				| MessageSendEvent::SendChannelUpdate { node_id, .. }
				| MessageSendEvent::SendShutdown { node_id, .. }
				| MessageSendEvent::SendClosingSigned { node_id, .. }
				| MessageSendEvent::HandleError { node_id, .. } => index_of(nodes, node_id),
				// Gossip: the routes come from the graph built at setup.
				MessageSendEvent::BroadcastChannelUpdate { .. }
				| MessageSendEvent::BroadcastChannelAnnouncement { .. }
				| MessageSendEvent::BroadcastNodeAnnouncement { .. } => continue,
				_ => panic!("node {from} sent an unexpected message: {event:?}"),
			};
			if let MessageSendEvent::HandleError { action, .. } = &event {
				match action {
					ErrorAction::DisconnectPeer { .. }
					| ErrorAction::DisconnectPeerWithWarning { .. } => {
						disconnect(nodes, world, link_of(from, to));
						continue;
					},
					ErrorAction::IgnoreError
					| ErrorAction::IgnoreAndLog(_)
					| ErrorAction::IgnoreDuplicateGossip => continue,
					// A force-close tells the peer.
					ErrorAction::SendErrorMessage { .. } if world.closed[link_of(from, to)] => {},
					_ => panic!("node {from} sent an error to node {to}: {action:?}"),
				}
			}
			// A node answers a `channel_reestablish` for a channel it does not have with a bogus
			// one, to make its peer force-close: two nodes that both forgot the channel would
			// answer each other forever, so one for a channel its recipient forgot is dropped.
			if let MessageSendEvent::SendChannelReestablish { msg, .. } = &event {
				let bogus = msg.next_local_commitment_number == 0;
				let channels = nodes[to].node.list_channels();
				if bogus && channels.iter().all(|channel| channel.channel_id != msg.channel_id) {
					continue;
				}
			}
			if world.connected[link_of(from, to)] {
				world.in_flight[from][to].push_back(event);
			}
		}
		node.chain_monitor.added_monitors.lock().unwrap().clear();
		for tx in node.tx_broadcaster.txn_broadcasted.lock().unwrap().drain(..) {
			let txid = tx.compute_txid();
			if !world.confirmed.contains_key(&txid)
				&& world.mempool.iter().all(|pending| pending.compute_txid() != txid)
			{
				world.mempool.push(tx);
			}
		}
		for event in node.node.get_and_clear_pending_events() {
			moved = true;
			handle_event(nodes, world, from, event);
		}
		// A closed channel's monitor asks for its transactions to be bumped.
		for event in node.chain_monitor.chain_monitor.get_and_clear_pending_events() {
			moved = true;
			handle_event(nodes, world, from, event);
		}
	}
	for request in nodes[B].resource_manager.take_requests() {
		world.handed.push(request.id);
	}
	moved
}

fn payment_mut<'a>(world: &'a mut World, hash: &PaymentHash) -> &'a mut Payment {
	world.payments.iter_mut().find(|payment| payment.hash == *hash).expect("a payment we made")
}

fn handle_event(nodes: &[Node], world: &mut World, at: usize, event: Event) {
	match event {
		Event::PaymentClaimable { payment_hash, .. } => {
			let payment = payment_mut(world, &payment_hash);
			assert_eq!(payment.payee, at);
			// Claimed each time, as a user would: a payment must not be claimable again once
			// claimed, restarts included (see `README.md`).
			let preimage = payment.preimage;
			nodes[at].node.claim_funds(preimage);
		},
		Event::PaymentClaimed { payment_hash, htlcs, .. } => {
			let payment = payment_mut(world, &payment_hash);
			assert_eq!(payment.payee, at);
			payment.claimed_htlcs = payment.claimed_htlcs.max(htlcs.len());
		},
		Event::PaymentSent { payment_hash, .. } => {
			let payment = payment_mut(world, &payment_hash);
			assert_eq!(payment.payer, at);
			payment.sent = true;
		},
		Event::PaymentFailed { payment_hash, .. } => {
			let hash = payment_hash.expect("we only pay by hash");
			let payment = payment_mut(world, &hash);
			assert_eq!(payment.payer, at);
			payment.failed = true;
		},
		Event::HTLCHandlingFailed {
			failure_type: HTLCHandlingFailureType::Receive { payment_hash },
			..
		} => {
			payment_mut(world, &payment_hash).receive_failures += 1;
		},
		Event::ChannelClosed { channel_id, reason, .. } => {
			let link = world.channel_ids.iter().position(|id| *id == channel_id);
			let closed_by_input = link.is_some_and(|link| world.closed[link]);
			assert!(closed_by_input, "node {at} closed channel {channel_id}: {reason:?}");
		},
		Event::BumpTransaction(event) => nodes[at].bump_tx_handler.handle_event(&event),
		_ => {},
	}
	for payment in world.payments.iter() {
		assert!(!(payment.sent && payment.failed), "payment {} both sent and failed", payment.hash);
		let htlcs = payment.claimed_htlcs + payment.receive_failures as usize;
		assert!(
			htlcs <= 1,
			"node {} saw {} HTLCs claimed and {} failed for payment {}: forwarded twice",
			payment.payee,
			payment.claimed_htlcs,
			payment.receive_failures,
			payment.hash,
		);
	}
}

/// Delivers the oldest message in flight from `from` to `to`, if any.
fn deliver_one(nodes: &[Node], world: &mut World, from: usize, to: usize) -> bool {
	let event = match world.in_flight[from][to].pop_front() {
		Some(event) => event,
		None => return false,
	};
	let sender = nodes[from].node.get_our_node_id();
	let handler = &nodes[to].node;
	match event {
		MessageSendEvent::UpdateHTLCs { updates, .. } => {
			for msg in updates.update_add_htlcs.iter() {
				handler.handle_update_add_htlc(sender, msg);
			}
			for msg in updates.update_fulfill_htlcs {
				handler.handle_update_fulfill_htlc(sender, msg);
			}
			for msg in updates.update_fail_htlcs.iter() {
				handler.handle_update_fail_htlc(sender, msg);
			}
			for msg in updates.update_fail_malformed_htlcs.iter() {
				handler.handle_update_fail_malformed_htlc(sender, msg);
			}
			if let Some(msg) = updates.update_fee.as_ref() {
				handler.handle_update_fee(sender, msg);
			}
			for msg in updates.commitment_signed.iter() {
				handler.handle_commitment_signed(sender, msg);
			}
		},
		MessageSendEvent::SendRevokeAndACK { msg, .. } => {
			handler.handle_revoke_and_ack(sender, &msg)
		},
		MessageSendEvent::SendChannelReestablish { msg, .. } => {
			handler.handle_channel_reestablish(sender, &msg)
		},
		MessageSendEvent::SendChannelReady { msg, .. } => {
			handler.handle_channel_ready(sender, &msg)
		},
		MessageSendEvent::SendAnnouncementSignatures { msg, .. } => {
			handler.handle_announcement_signatures(sender, &msg)
		},
		MessageSendEvent::SendChannelUpdate { msg, .. } => {
			handler.handle_channel_update(sender, &msg)
		},
		MessageSendEvent::SendShutdown { msg, .. } => handler.handle_shutdown(sender, &msg),
		MessageSendEvent::SendClosingSigned { msg, .. } => {
			handler.handle_closing_signed(sender, &msg)
		},
		MessageSendEvent::HandleError { action: ErrorAction::SendErrorMessage { msg }, .. } => {
			handler.handle_error(sender, &msg)
		},
		_ => unreachable!("only messages to peers are queued"),
	}
	true
}

/// Delivers every message in flight, and what they cause, until nothing moves.
fn deliver_all(nodes: &[Node], world: &mut World) {
	loop {
		let mut moved = collect(nodes, world);
		for from in 0..3 {
			for to in 0..3 {
				while deliver_one(nodes, world, from, to) {
					moved = true;
				}
			}
		}
		if !moved {
			break;
		}
	}
}

/// Whether `tx` can be mined in a block at `height`: its inputs confirmed (or earlier in the
/// block) and unspent, its absolute and relative time locks (in blocks) met.
fn can_mine(world: &World, tx: &Transaction, height: u32) -> bool {
	if let absolute::LockTime::Blocks(lock_height) = tx.lock_time {
		if lock_height.to_consensus_u32() >= height {
			return false;
		}
	}
	tx.input.iter().all(|input| {
		let Some(&parent_height) = world.confirmed.get(&input.previous_output.txid) else {
			return false;
		};
		let depth = match input.sequence.to_relative_lock_time() {
			Some(lightning::bitcoin::relative::LockTime::Blocks(blocks)) => blocks.value() as u32,
			_ => 0,
		};
		!world.spent.contains(&input.previous_output) && height >= parent_height + depth
	})
}

/// Connects one block to every node, with every transaction they broadcast that can be mined at
/// its height. A transaction that lost to a conflict is dropped.
fn mine_block(nodes: &[Node], world: &mut World) {
	let height = nodes[0].best_block_info().1 + 1;
	let mut txdata = Vec::new();
	while let Some(index) = world.mempool.iter().position(|tx| can_mine(world, tx, height)) {
		let tx = world.mempool.remove(index);
		world.spent.extend(tx.input.iter().map(|input| input.previous_output));
		world.confirmed.insert(tx.compute_txid(), height);
		txdata.push(tx);
	}
	let spent = &world.spent;
	world.mempool.retain(|tx| tx.input.iter().all(|input| !spent.contains(&input.previous_output)));
	for node in nodes {
		if txdata.is_empty() {
			connect_blocks(node, 1);
		} else {
			connect_block(
				node,
				&create_dummy_block(node.best_block_hash(), height, txdata.clone()),
			);
		}
	}
}

/// The input closes the channel of `link`, from `closer`'s side: a force-close broadcasts
/// `closer`'s commitment and tells the peer; a cooperative close starts the shutdown, which
/// completes once no HTLC is left on the channel.
fn close(nodes: &[Node], world: &mut World, closer: usize, link: usize, cooperative: bool) {
	if world.closed[link] {
		return;
	}
	let (a, b) = LINKS[link];
	let peer = if closer == a { b } else { a };
	let channel_id = world.channel_ids[link];
	let peer_id = nodes[peer].node.get_our_node_id();
	let result = if cooperative {
		nodes[closer].node.close_channel(&channel_id, &peer_id)
	} else {
		let message = "closed by the fuzz input".to_owned();
		nodes[closer].node.force_close_broadcasting_latest_txn(&channel_id, &peer_id, message)
	};
	// Refused while the peer is disconnected, for a cooperative close.
	if result.is_ok() {
		world.closed[link] = true;
		world.force_closed |= !cooperative;
	}
}

/// Runs the forwarding passes of every node, the resource allocation hand-off first.
fn process_all(nodes: &[Node]) {
	for node in nodes {
		node.node.process_pending_resource_allocations();
		node.node.process_pending_htlc_forwards();
	}
}

fn send_payment(nodes: &[Node], world: &mut World, payer: usize, amount_msat: u64) {
	if world.payments.len() >= MAX_PAYMENTS {
		return;
	}
	let payee = 2 - payer;
	let (preimage, hash, secret) =
		get_payment_preimage_hash(&nodes[payee], Some(amount_msat), None);
	let payee_id = nodes[payee].node.get_our_node_id();
	let params = PaymentParameters::from_node_id(payee_id, TEST_FINAL_CLTV);
	let route_params = RouteParameters::from_payment_params_and_value(params, amount_msat);
	let onion = RecipientOnionFields::secret_only(secret, amount_msat);
	// No retries: a failure reaches the payer as one `PaymentFailed`.
	let accepted = nodes[payer]
		.node
		.send_payment(hash, onion, PaymentId(hash.0), route_params, Retry::Attempts(0))
		.is_ok();
	world.payments.push(Payment {
		payer,
		payee,
		hash,
		preimage,
		accepted,
		sent: false,
		failed: false,
		claimed_htlcs: 0,
		receive_failures: 0,
	});
}

fn allocation(input: &mut Input) -> Option<ResourceAllocation> {
	Some(match input.u8()? % 3 {
		0 => ResourceAllocation::Fail,
		1 => ResourceAllocation::Forward { outgoing_accountable: false },
		_ => ResourceAllocation::Forward { outgoing_accountable: true },
	})
}

/// Reconnects every link and delivers everything, then answers every forward B's manager was
/// handed and runs the forwarding passes, until nothing moves.
fn settle(nodes: &[Node], world: &mut World) {
	nodes[B].resource_manager.set_decision(TestResourceDecision::Relay);
	for link in 0..LINKS.len() {
		connect(nodes, world, link);
	}
	for round in 0.. {
		if round == SETTLE_ROUNDS {
			let left = left_on_chain(nodes, world).unwrap_or_default();
			panic!("the network does not settle: {left}");
		}
		deliver_all(nodes, world);
		for id in world.handed.iter() {
			// Refused for forwards already decided or failed back, which is expected.
			let _ = nodes[B].allocate_resources(*id, ResourceAllocation::Fail);
		}
		process_all(nodes);
		let quiet = !collect(nodes, world)
			&& !nodes.iter().any(|node| node.node.needs_pending_htlc_processing());
		if !world.closed.contains(&true) {
			if quiet {
				break;
			}
			continue;
		}
		// HTLCs on chain resolve as blocks come, until every payment ended.
		if quiet && left_on_chain(nodes, world).is_none() {
			break;
		}
		mine_block(nodes, world);
	}
}

/// After a close: what is left before every payment ended, every closed channel is gone and
/// every forward B's manager allocated resources to was resolved, if anything.
fn left_on_chain(nodes: &[Node], world: &World) -> Option<String> {
	let open = world.payments.iter().filter(|p| p.accepted && !p.sent && !p.failed).count();
	let channels = world
		.closed
		.iter()
		.zip(world.channel_ids.iter())
		.filter(|(closed, id)| {
			**closed
				&& nodes.iter().any(|node| {
					node.node.list_channels().iter().any(|channel| channel.channel_id == **id)
				})
		})
		.count();
	nodes[B].node.test_deliver_resource_notifications();
	let forwards = nodes[B].resource_manager.ledger.lock().unwrap().open_forwards().len();
	if open + channels + forwards == 0 {
		return None;
	}
	Some(format!(
		"{open} payments not ended, {channels} closed channels still listed, {forwards} forwards \
		 not resolved at B, {} transactions waiting",
		world.mempool.len()
	))
}

/// Checks, once everything settled, that every payment ended once and nothing is left behind.
fn check_settled(nodes: &[Node], world: &World) {
	for payment in world.payments.iter() {
		if payment.accepted {
			assert!(payment.sent || payment.failed, "payment {} lost", payment.hash);
		} else {
			assert!(!payment.sent, "payment {} refused at send succeeded", payment.hash);
		}
		assert!(!payment.sent || payment.claimed_htlcs == 1, "payment {} unclaimed", payment.hash);
		// Once a channel went on chain, the forwarder may lose an HTLC its payee claimed: one
		// trimmed from the confirmed commitment as dust cannot be claimed there.
		if !world.force_closed {
			assert!(
				payment.sent || payment.claimed_htlcs == 0,
				"payment {} claimed unpaid",
				payment.hash
			);
		}
	}
	for (index, node) in nodes.iter().enumerate() {
		let channels = node.node.list_channels();
		let open_links = LINKS
			.iter()
			.zip(world.closed.iter())
			.filter(|((a, b), closed)| (*a == index || *b == index) && !**closed)
			.count();
		assert_eq!(channels.len(), open_links, "channels at node {index}");
		for channel in channels {
			assert!(channel.pending_inbound_htlcs.is_empty(), "an HTLC stuck at node {index}");
			assert!(channel.pending_outbound_htlcs.is_empty(), "an HTLC stuck at node {index}");
		}
		assert!(!node.node.needs_pending_htlc_processing());
	}
	// Every forward B's manager allocated resources to was resolved, once (the ledger checks
	// each notification as it arrives, restarts included).
	nodes[B].node.test_deliver_resource_notifications();
	let open = nodes[B].resource_manager.ledger.lock().unwrap().open_forwards();
	assert!(open.is_empty(), "forwards never resolved at B: {open:?}");
}

/// Runs `data` as a sequence of operations on the three nodes.
///
/// Blocks are connected as a node's background processor sees them: every link up, every
/// forwarding pass run and every message delivered before each block; and the payee claims as
/// soon as it can. No HTLC can then come close enough to its expiry on a channel to force it
/// closed unless B holds it undecided past the queue's timeout, so any closure the input did not
/// ask for is a bug. Restarts reload the node's current state (as after a clean shutdown) with
/// its monitors, closed channels' included; a stale `ChannelManager` would force-close by design.
/// The restart operation's byte picks a close instead when its top three bits are 100 (forced)
/// or 101 (cooperative), values the regression cases do not use.
pub fn do_test(data: &[u8]) {
	// The functional test utilities pick a random block connection style unless told.
	if std::env::var_os("LDK_TEST_CONNECT_STYLE").is_none() {
		std::env::set_var("LDK_TEST_CONNECT_STYLE", "FULL_BLOCK_VIA_LISTEN");
	}
	let mut input = Input::new(data);

	let chanmon_cfgs = create_chanmon_cfgs(3);
	// What restarted nodes are made of, declared before what borrows it.
	let persisters: [OnceCell<TestPersister>; MAX_RESTARTS] = Default::default();
	let chain_monitors: [OnceCell<TestChainMonitor>; MAX_RESTARTS] = Default::default();
	let mut node_cfgs = create_node_cfgs(3, &chanmon_cfgs);
	node_cfgs[B].resource_manager = TestResourceManager::new_enabled();
	let managers: [OnceCell<TestChannelManager>; MAX_RESTARTS] = Default::default();
	let node_chanmgrs = create_node_chanmgrs(3, &node_cfgs, &[None, None, None]);
	let mut nodes = create_network(3, &node_cfgs, &node_chanmgrs);
	// Each side can pay the other from the start.
	let chan_ab = create_announced_chan_between_nodes_with_value(&nodes, 0, 1, 100_000, 50_000_000);
	let chan_bc = create_announced_chan_between_nodes_with_value(&nodes, 1, 2, 100_000, 50_000_000);
	nodes[B].resource_manager.set_decision(TestResourceDecision::Defer);

	let mut world = World {
		payments: Vec::new(),
		connected: [true, true],
		in_flight: Default::default(),
		handed: Vec::new(),
		channel_ids: vec![chan_ab.2, chan_bc.2],
		closed: [false, false],
		force_closed: false,
		mempool: Vec::new(),
		confirmed: HashMap::new(),
		spent: HashSet::new(),
	};
	// The funding transactions are mined; coins in every wallet pay for bumping a closing
	// anchor channel's transactions.
	for node in nodes.iter() {
		node.tx_broadcaster.txn_broadcasted.lock().unwrap().clear();
	}
	for funding in [&chan_ab.3, &chan_bc.3] {
		world.confirmed.insert(funding.compute_txid(), 0);
	}
	let coins = Transaction {
		version: Version::TWO,
		lock_time: absolute::LockTime::ZERO,
		input: vec![TxIn { sequence: Sequence::MAX, ..Default::default() }],
		output: nodes
			.iter()
			.flat_map(|node| {
				let script_pubkey = node.wallet_source.get_change_script().unwrap();
				(0..WALLET_COINS).map(move |_| TxOut {
					value: Amount::ONE_BTC,
					script_pubkey: script_pubkey.clone(),
				})
			})
			.collect(),
	};
	for (index, node) in nodes.iter().enumerate() {
		for coin in 0..WALLET_COINS {
			node.wallet_source.add_utxo(coins.clone(), index as u32 * WALLET_COINS + coin);
		}
	}
	world.confirmed.insert(coins.compute_txid(), 0);
	let mut restarts = 0;
	collect(&nodes, &mut world);

	while let Some(op) = input.u8() {
		match op % 16 {
			0 | 1 => {
				let (Some(from_c), Some(amount)) = (input.bool(), input.u16()) else { break };
				let payer = if from_c { 2 } else { 0 };
				send_payment(&nodes, &mut world, payer, 1_000 + amount as u64 * 100);
			},
			2 => {
				let Some(policy) = input.u8() else { break };
				let decision = match policy % 4 {
					0 => TestResourceDecision::Defer,
					1 => TestResourceDecision::Relay,
					2 => TestResourceDecision::Fail,
					_ => TestResourceDecision::Forward { outgoing_accountable: true },
				};
				nodes[B].resource_manager.set_decision(decision);
			},
			3 | 4 => {
				// A decision on a forward the manager was handed, maybe decided already.
				let (Some(index), Some(allocation)) = (input.u8(), allocation(&mut input)) else {
					break;
				};
				if !world.handed.is_empty() {
					let id = world.handed[index as usize % world.handed.len()];
					let _ = nodes[B].allocate_resources(id, allocation);
				}
			},
			5 => {
				// A decision on an id that may name nothing.
				let (Some(channel), Some(htlc_id), Some(allocation)) =
					(input.u8(), input.u64(), allocation(&mut input))
				else {
					break;
				};
				let incoming_channel_id = match world.channel_ids.get(channel as usize % 3) {
					Some(channel_id) => *channel_id,
					None => ChannelId([channel; 32]),
				};
				let id = ResourceAllocationId { incoming_channel_id, incoming_htlc_id: htlc_id };
				let _ = nodes[B].allocate_resources(id, allocation);
			},
			6 => {
				let Some(node) = input.u8() else { break };
				nodes[node as usize % 3].node.process_pending_resource_allocations();
			},
			7 => {
				let Some(node) = input.u8() else { break };
				nodes[node as usize % 3].node.process_pending_htlc_forwards();
			},
			8..=10 => {
				let Some(direction) = input.u8() else { break };
				let (a, b) = LINKS[direction as usize % 2];
				let (from, to) = if direction & 2 == 0 { (a, b) } else { (b, a) };
				deliver_one(&nodes, &mut world, from, to);
			},
			11 => deliver_all(&nodes, &mut world),
			12 => {
				let Some(link) = input.u8() else { break };
				let link = link as usize % 2;
				if world.connected[link] {
					disconnect(&nodes, &mut world, link);
				} else {
					connect(&nodes, &mut world, link);
				}
			},
			13 => {
				let Some(node) = input.u8() else { break };
				nodes[node as usize % 3].node.timer_tick_occurred();
			},
			14 => {
				let Some(blocks) = input.u8() else { break };
				// As a node's background processor would, around every block.
				for link in 0..LINKS.len() {
					connect(&nodes, &mut world, link);
				}
				for _ in 0..blocks % 16 + 1 {
					process_all(&nodes);
					deliver_all(&nodes, &mut world);
					mine_block(&nodes, &mut world);
				}
				process_all(&nodes);
				deliver_all(&nodes, &mut world);
			},
			_ => {
				let Some(which) = input.u8() else { break };
				// Its top three bits pick a close instead: by `which % 3`, of its channel to B
				// or, for B, of the one `which & 8` picks; 100 forced, 101 cooperative.
				if let 4 | 5 = which >> 5 {
					let closer = which as usize % 3;
					let link = match closer {
						0 => 0,
						2 => 1,
						_ => (which as usize >> 3) & 1,
					};
					close(&nodes, &mut world, closer, link, which >> 5 == 5);
					collect(&nodes, &mut world);
					continue;
				}
				if restarts == MAX_RESTARTS {
					continue;
				}
				let index = which as usize % 3;
				let reconstruct = which & 4 != 0;
				// Messages not yet sent are lost with the connections.
				collect(&nodes, &mut world);
				for (link, (a, b)) in LINKS.iter().enumerate() {
					if *a == index || *b == index {
						disconnect(&nodes, &mut world, link);
					}
				}
				let node = &mut nodes[index];
				let config = node.node.get_current_config();
				let encoded = node.node.encode();
				// Closed channels' monitors too: they resolve what the channel left on chain.
				let monitors: Vec<Vec<u8>> = node
					.chain_monitor
					.chain_monitor
					.list_monitors()
					.into_iter()
					.map(|channel_id| lightning::get_monitor!(node, channel_id).encode())
					.collect();
				let monitors: Vec<&[u8]> = monitors.iter().map(|monitor| &monitor[..]).collect();

				assert!(persisters[restarts].set(TestPersister::new()).is_ok());
				let chain_monitor = TestChainMonitor::new(
					Some(node.chain_source),
					node.tx_broadcaster,
					node.logger,
					node.fee_estimator,
					persisters[restarts].get().unwrap(),
					node.keys_manager,
				);
				assert!(chain_monitors[restarts].set(chain_monitor).is_ok());
				node.chain_monitor = chain_monitors[restarts].get().unwrap();
				let manager = _reload_node(node, config, &encoded, &monitors, Some(reconstruct));
				assert!(managers[restarts].set(manager).is_ok());
				node.node = managers[restarts].get().unwrap();
				node.onion_messenger.set_offers_handler(node.node);
				node.onion_messenger.set_async_payments_handler(node.node);
				restarts += 1;
			},
		}
		collect(&nodes, &mut world);
	}

	settle(&nodes, &mut world);
	check_settled(&nodes, &world);
}
