// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! Three example nodes in one process, over loopback TCP, on a chain they mine themselves.
//!
//! Alice pays Carol through Bob, whose resource manager holds the forward. Bob is killed while
//! the HTLC waits in his queue, restarted from his directory, and the payment completes: Alice
//! learns the preimage, Carol is paid, Bob forwarded the HTLC exactly once, no HTLC is left
//! pending anywhere, and the reputation Bob's manager earned survives another restart.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use example_node::node::{Node, NodeConfig};
use lightning::events::Event;
use lightning::util::logger::Level;

const CHANNEL_VALUE_SAT: u64 = 1_000_000;
/// Small enough for the general bucket of a channel without reputation, which is what Bob's
/// manager gives Alice's HTLC: a much larger one is failed (`GeneralBucketFull`).
const AMOUNT_MSAT: u64 = 1_000_000;
/// Long enough for a slow CI machine; every wait ends as soon as its condition holds.
const TIMEOUT: Duration = Duration::from_secs(30);

fn config(name: &str, dir: &Path) -> NodeConfig {
	NodeConfig {
		name: name.to_string(),
		data_dir: dir.join(name),
		chain_dir: dir.join("chain"),
		listen_addr: "127.0.0.1:0".parse().unwrap(),
		log_level: log_level(),
		hold_forwards: false,
	}
}

/// The level of the nodes' log lines: `EXAMPLE_NODE_LOG=debug` (or `trace`, `info`) shows more.
fn log_level() -> Level {
	match std::env::var("EXAMPLE_NODE_LOG").as_deref() {
		Ok("trace") => Level::Trace,
		Ok("debug") => Level::Debug,
		Ok("info") => Level::Info,
		_ => Level::Warn,
	}
}

/// Polls `condition` until it holds, failing the test with `what` after [`TIMEOUT`].
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
	let start = Instant::now();
	while !condition() {
		assert!(start.elapsed() < TIMEOUT, "timed out waiting until {what}");
		tokio::time::sleep(Duration::from_millis(20)).await;
	}
	if start.elapsed() > Duration::from_secs(2) {
		eprintln!("waited {:?} until {what}", start.elapsed());
	}
}

async fn expect_ok<T, E: std::fmt::Debug>(
	what: &str, future: impl Future<Output = Result<T, E>>,
) -> T {
	future.await.unwrap_or_else(|e| panic!("{what}: {e:?}"))
}

fn count(events: &[Event], matches: impl Fn(&Event) -> bool) -> usize {
	events.iter().filter(|event| matches(event)).count()
}

fn now_secs() -> u64 {
	SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn payment_completes_after_the_middle_node_restarts_holding_the_forward() {
	let dir = tempfile::tempdir().unwrap();
	let alice = expect_ok("start alice", Node::start(config("alice", dir.path()))).await;
	let bob = expect_ok("start bob", Node::start(config("bob", dir.path()))).await;
	let carol = expect_ok("start carol", Node::start(config("carol", dir.path()))).await;
	let (bob_id, carol_id) = (bob.node_id(), carol.node_id());

	// Alice and Carol dial Bob, and will redial him when he comes back.
	expect_ok("alice connects", alice.connect(bob_id, bob.listen_addr())).await;
	expect_ok("carol connects", carol.connect(bob_id, bob.listen_addr())).await;
	wait_until("bob has both peers", || bob.connected_peers().len() == 2).await;

	// Coins for the two funders, then Alice -> Bob -> Carol channels.
	alice.mine(1).unwrap();
	let height = bob.mine(1).unwrap();
	let nodes = [&alice, &bob, &carol];
	wait_until("all nodes see the coins", || nodes.iter().all(|n| n.best_block_height() == height))
		.await;
	assert!(alice.wallet_balance().to_sat() > CHANNEL_VALUE_SAT);
	alice.open_channel(bob_id, CHANNEL_VALUE_SAT).unwrap();
	bob.open_channel(carol_id, CHANNEL_VALUE_SAT).unwrap();
	// `ChannelPending` comes once the funder has broadcast the funding transaction.
	let pending =
		|node: &Node| count(&node.events(), |e| matches!(e, Event::ChannelPending { .. }));
	wait_until("both funding transactions are broadcast", || {
		pending(&alice) == 1 && pending(&bob) == 2 && pending(&carol) == 1
	})
	.await;
	// Six confirmations: the channels are ready and announced.
	let height = carol.mine(6).unwrap();
	wait_until("all nodes see the blocks", || {
		nodes.iter().all(|n| n.best_block_height() == height)
	})
	.await;
	wait_until("the channels are usable", || {
		alice.channel_manager().list_usable_channels().len() == 1
			&& bob.channel_manager().list_usable_channels().len() == 2
			&& carol.channel_manager().list_usable_channels().len() == 1
	})
	.await;
	// Carol's route hint (Bob's channel to her, with Bob's fees) lets Alice route without
	// waiting for gossip.
	wait_until("carol knows bob's forwarding fees", || carol.route_hints().len() == 1).await;
	let hints = carol.route_hints();

	// Bob holds the forward, so that it sits in his queue; the HTLC is committed to him.
	bob.set_hold_forwards(true);
	let payment_id = alice.keysend(carol_id, AMOUNT_MSAT, hints).unwrap();
	wait_until("bob holds the forward", || bob.held_forwards() == 1).await;
	// A block makes Bob's `ChannelManager` write itself again: the queued HTLC is then on disk.
	let writes = bob.channel_manager_writes();
	let height = alice.mine(1).unwrap();
	wait_until("bob writes his ChannelManager", || {
		bob.best_block_height() == height && bob.channel_manager_writes() > writes
	})
	.await;

	// The manager's state (the channels it was told of) is on disk too, next to the
	// `ChannelManager`.
	let manager_file = dir.path().join("bob").join("ldk").join("resource_manager");
	wait_until("bob writes his manager's state", || manager_file.exists()).await;

	// Kill Bob: no more writes, tasks stopped where they were, sockets closed.
	let bob_config = bob.config();
	let bob_events_before = bob.events();
	bob.kill().await;
	wait_until("alice and carol lose bob", || {
		alice.connected_peers().is_empty() && carol.connected_peers().is_empty()
	})
	.await;
	assert_eq!(count(&bob_events_before, |e| matches!(e, Event::PaymentForwarded { .. })), 0);
	assert_eq!(count(&alice.events(), |e| matches!(e, Event::PaymentSent { .. })), 0);
	assert_eq!(count(&carol.events(), |e| matches!(e, Event::PaymentClaimable { .. })), 0);

	// Bob comes back from his directory on the same port, still holding forwards until both
	// peers are back (a forward to a disconnected peer would fail).
	let bob =
		expect_ok("restart bob", Node::start(NodeConfig { hold_forwards: true, ..bob_config }))
			.await;
	assert_eq!(bob.node_id(), bob_id);
	wait_until("alice and carol redial bob", || {
		bob.connected_peers().len() == 2 && bob.channel_manager().list_usable_channels().len() == 2
	})
	.await;
	wait_until("bob's manager is handed the forward again", || bob.held_forwards() == 1).await;
	assert_eq!(bob.release_forwards(), 1);

	wait_until("alice learns the preimage", || {
		count(&alice.events(), |e| matches!(e, Event::PaymentSent { .. })) == 1
	})
	.await;
	wait_until("no HTLC is pending anywhere", || nodes_htlcs_settled(&[&alice, &bob, &carol]))
		.await;

	let alice_events = alice.events();
	let fee_paid = alice_events
		.iter()
		.find_map(|e| match e {
			Event::PaymentSent { payment_id: id, fee_paid_msat, .. } => {
				assert_eq!(*id, Some(payment_id));
				*fee_paid_msat
			},
			_ => None,
		})
		.expect("alice paid a fee");
	assert!(fee_paid > 0);
	assert_eq!(
		count(&alice_events, |e| matches!(
			e,
			Event::PaymentFailed { .. } | Event::PaymentPathFailed { .. }
		)),
		0
	);

	let carol_events = carol.events();
	let claimed: Vec<u64> = carol_events
		.iter()
		.filter_map(|e| match e {
			Event::PaymentClaimed { amount_msat, .. } => Some(*amount_msat),
			_ => None,
		})
		.collect();
	assert_eq!(claimed, vec![AMOUNT_MSAT]);

	let bob_events = bob.events();
	let forwarded: Vec<(u64, Option<u64>)> = bob_events
		.iter()
		.filter_map(|e| match e {
			Event::PaymentForwarded {
				outbound_amount_forwarded_msat,
				total_fee_earned_msat,
				..
			} => Some((*outbound_amount_forwarded_msat, *total_fee_earned_msat)),
			_ => None,
		})
		.collect();
	assert_eq!(forwarded, vec![(AMOUNT_MSAT, Some(fee_paid))]);
	assert_eq!(count(&bob_events, |e| matches!(e, Event::HTLCHandlingFailed { .. })), 0);

	// Bob's manager saw the forward settle: the outgoing channel earned reputation, nothing is
	// in flight, and the reputation is in the store next to the `ChannelManager`.
	let outgoing_scid = bob_channel_to(&bob, carol_id).outbound_scid_alias.unwrap();
	wait_until("bob's manager counts the forward as resolved", || {
		bob.resource_manager().htlcs_in_flight() == 0
			&& bob
				.resource_manager()
				.channel_snapshot(outgoing_scid, now_secs())
				.is_some_and(|s| s.resolved_outgoing_htlcs == 1)
	})
	.await;
	let reputation = bob
		.resource_manager()
		.channel_snapshot(outgoing_scid, now_secs())
		.unwrap()
		.outgoing_reputation_msat;
	assert!(reputation > 0.0, "reputation {reputation}");

	let bob_config = bob.config();
	expect_ok("stop bob", bob.stop()).await;
	let bob = expect_ok("restart bob again", Node::start(bob_config)).await;
	let snapshot = bob.resource_manager().channel_snapshot(outgoing_scid, now_secs()).unwrap();
	assert_eq!(snapshot.resolved_outgoing_htlcs, 1);
	assert!(snapshot.outgoing_reputation_msat > 0.0);
	assert!(snapshot.outgoing_reputation_msat <= reputation);

	for node in [alice, bob, carol] {
		expect_ok("stop", node.stop()).await;
	}
}

fn bob_channel_to(
	bob: &Node, peer: lightning::bitcoin::secp256k1::PublicKey,
) -> lightning::ln::channel_state::ChannelDetails {
	bob.channels()
		.into_iter()
		.find(|c| c.counterparty.node_id == peer)
		.expect("a channel to the peer")
}

fn nodes_htlcs_settled(nodes: &[&Node]) -> bool {
	nodes.iter().all(|node| {
		node.channels()
			.iter()
			.all(|c| c.pending_inbound_htlcs.is_empty() && c.pending_outbound_htlcs.is_empty())
	})
}
