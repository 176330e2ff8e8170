// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! Forwarding throughput through the middle node of a 3-node in-process network.
//!
//! `forward_throughput MANAGER FORWARDS [WARM_UP]` builds three LDK nodes with LDK's functional
//! test utilities (sender, middle, recipient; one channel between each pair of neighbours), gives
//! the middle node the resource manager `MANAGER`, and forwards `FORWARDS` payments, one at a
//! time, through it, after `WARM_UP` (default 50) untimed ones. One forward is the whole life of
//! an HTLC at the middle node: `update_add_htlc` and the commitment dance with the sender, the
//! forwarding pass (resource hand-off included), the commitment dance with the recipient, the
//! recipient's `update_fulfill_htlc` and its dance, the claim passed back to the sender and its
//! dance, and the `PaymentForwarded` event. Every message is delivered by hand, in order.
//!
//! Only the middle node's calls are timed (the sender's and recipient's work is not its
//! throughput), in wall-clock time and in the CPU time of the thread, which other processes on a
//! loaded machine disturb much less; the whole network's wall-clock time is printed beside them.
//! The result is one line of `key=value` pairs on stderr, for `ci/bench.sh`:
//!
//! `manager=noop forwards=100 middle_ns_per_forward=123456 middle_cpu_ns_per_forward=120000
//! network_ns_per_forward=345678`
//!
//! `MANAGER` is one of
//! - `noop`: no resource manager (upstream's forwarding, or the fork's with a disabled manager);
//! - `queue` (fork only): every forward through the resource allocation queue, approved at once;
//! - `default` (fork only): `lightning_resource_manager::DefaultResourceManager` in enforce mode.
//!
//! LDK's test logger formats every log line of every node and prints it on stdout, as a node
//! logging at trace level does: send stdout to `/dev/null`.
//!
//! Built without the `fork` feature, the program compiles against pristine upstream, which only
//! knows `noop`.
//!
//! For instruction counts, run it under `valgrind --tool=callgrind --collect-atstart=no
//! --toggle-collect='*on_middle_node*'`: only the middle node's calls are counted, those of the
//! warm-up included.

use lightning::bitcoin::hashes::sha256::Hash as Sha256;
use lightning::bitcoin::hashes::Hash;
use lightning::events::Event;
use lightning::get_route_and_payment_hash;
use lightning::ln::channelmanager::PaymentId;
use lightning::ln::functional_test_utils::*;
use lightning::ln::msgs::{BaseMessageHandler, ChannelMessageHandler, MessageSendEvent};
use lightning::ln::outbound_payment::RecipientOnionFields;
use lightning::routing::router::Route;
use lightning::types::payment::{PaymentHash, PaymentPreimage};

#[cfg(feature = "fork")]
use lightning::ln::resource_manager::ResourceManager;
#[cfg(feature = "fork")]
use lightning::util::test_utils::{TestLogger, TestResourceManager};

use std::time::{Duration, Instant};

const SENDER: usize = 0;
const MIDDLE: usize = 1;
const RECIPIENT: usize = 2;

/// Large enough for every forward of a run to move its amount from the sender to the recipient.
const CHANNEL_VALUE_SAT: u64 = 10_000_000;
/// Above the dust limit, so each HTLC is an output of the commitment transactions, with its
/// signatures, as a typical forward is.
const AMOUNT_MSAT: u64 = 1_000_000;
/// Forwards before the timed ones, by default: the first forwards grow the nodes' maps and the
/// manager's state.
const WARM_UP_FORWARDS: u64 = 50;

/// The resource manager of the middle node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Manager {
	Noop,
	#[cfg(feature = "fork")]
	Queue,
	#[cfg(feature = "fork")]
	Default,
}

impl Manager {
	fn parse(name: &str) -> Option<Self> {
		match name {
			"noop" => Some(Self::Noop),
			#[cfg(feature = "fork")]
			"queue" => Some(Self::Queue),
			#[cfg(feature = "fork")]
			"default" => Some(Self::Default),
			_ => None,
		}
	}

	fn name(self) -> &'static str {
		match self {
			Self::Noop => "noop",
			#[cfg(feature = "fork")]
			Self::Queue => "queue",
			#[cfg(feature = "fork")]
			Self::Default => "default",
		}
	}
}

/// The time the middle node's calls took.
#[derive(Clone, Copy, Default)]
struct MiddleTime {
	wall: Duration,
	cpu: Duration,
}

/// The CPU time this thread has used.
fn thread_cpu_time() -> Duration {
	cpu_time::ThreadTime::now().as_duration()
}

/// Runs `call` on the middle node, adding its duration to `middle_time`.
///
/// Never inlined, so that callgrind can count the middle node's instructions alone.
#[inline(never)]
fn on_middle_node<R>(
	nodes: &[Node], middle_time: &mut MiddleTime, call: impl FnOnce(&Node) -> R,
) -> R {
	let start = Instant::now();
	let start_cpu = thread_cpu_time();
	let result = call(&nodes[MIDDLE]);
	middle_time.cpu += thread_cpu_time() - start_cpu;
	middle_time.wall += start.elapsed();
	result
}

/// Runs `call` on `nodes[index]`, timed if it is the middle node.
fn on_node<R>(
	nodes: &[Node], index: usize, middle_time: &mut MiddleTime, call: impl FnOnce(&Node) -> R,
) -> R {
	if index == MIDDLE {
		on_middle_node(nodes, middle_time, call)
	} else {
		call(&nodes[index])
	}
}

fn node_index(nodes: &[Node], node_id: &lightning::bitcoin::secp256k1::PublicKey) -> usize {
	nodes.iter().position(|node| node.node.get_our_node_id() == *node_id).unwrap()
}

/// Delivers a message `nodes[from]` sent. Returns whether it was a message of the forward.
fn deliver(
	nodes: &[Node], from: usize, event: MessageSendEvent, middle_time: &mut MiddleTime,
) -> bool {
	let from_id = nodes[from].node.get_our_node_id();
	match event {
		MessageSendEvent::UpdateHTLCs { node_id, updates, .. } => {
			let to = node_index(nodes, &node_id);
			on_node(nodes, to, middle_time, |node| {
				for msg in &updates.update_add_htlcs {
					node.node.handle_update_add_htlc(from_id, msg);
				}
				for msg in updates.update_fulfill_htlcs {
					node.node.handle_update_fulfill_htlc(from_id, msg);
				}
				for msg in &updates.update_fail_htlcs {
					node.node.handle_update_fail_htlc(from_id, msg);
				}
				assert!(updates.update_fail_malformed_htlcs.is_empty());
				assert!(updates.update_fee.is_none());
				node.node.handle_commitment_signed_batch_test(from_id, &updates.commitment_signed);
			});
			true
		},
		MessageSendEvent::SendRevokeAndACK { node_id, msg } => {
			let to = node_index(nodes, &node_id);
			on_node(nodes, to, middle_time, |node| node.node.handle_revoke_and_ack(from_id, &msg));
			true
		},
		// Gossip plays no part in forwarding.
		MessageSendEvent::BroadcastChannelUpdate { .. }
		| MessageSendEvent::SendChannelUpdate { .. } => false,
		event => panic!("Unexpected message {event:?}"),
	}
}

/// Delivers every message the nodes send until none is left.
fn deliver_all(nodes: &[Node], middle_time: &mut MiddleTime) {
	loop {
		let mut delivered = false;
		for from in 0..nodes.len() {
			let events = on_node(nodes, from, middle_time, |node| {
				node.node.get_and_clear_pending_msg_events()
			});
			for event in events {
				delivered |= deliver(nodes, from, event, middle_time);
			}
		}
		if !delivered {
			return;
		}
	}
}

/// Forgets what the test utilities record for tests' assertions, which would otherwise grow with
/// every forward.
fn clear_test_records(nodes: &[Node]) {
	for node in nodes {
		node.chain_monitor.added_monitors.lock().unwrap().clear();
		node.chain_monitor.monitor_updates.lock().unwrap().clear();
		node.logger.lines.lock().unwrap().clear();
		node.logger.context.lock().unwrap().clear();
		#[cfg(feature = "fork")]
		{
			node.resource_manager.take_requests();
			node.resource_manager.take_notifications();
		}
	}
}

/// Forwards payment number `n` from the sender to the recipient through the middle node, and
/// back the claim.
fn forward(nodes: &[Node], route: &Route, n: u64, middle_time: &mut MiddleTime) {
	let mut preimage = [0; 32];
	preimage[..8].copy_from_slice(&n.to_be_bytes());
	let preimage = PaymentPreimage(preimage);
	let payment_hash = PaymentHash(Sha256::hash(&preimage.0).to_byte_array());
	let (payment_secret, _) = nodes[RECIPIENT]
		.node
		.create_inbound_payment_for_hash(payment_hash, Some(AMOUNT_MSAT), 7200, None, None)
		.unwrap();
	let onion = RecipientOnionFields::secret_only(payment_secret, AMOUNT_MSAT);
	let payment_id = PaymentId(payment_hash.0);
	nodes[SENDER]
		.node
		.send_payment_with_route(route.clone(), payment_hash, onion, payment_id)
		.unwrap();
	deliver_all(nodes, middle_time);

	// As the background processor does.
	on_middle_node(nodes, middle_time, |node| {
		#[cfg(feature = "fork")]
		node.node.process_pending_resource_allocations();
		node.node.process_pending_htlc_forwards();
	});
	deliver_all(nodes, middle_time);

	nodes[RECIPIENT].node.process_pending_htlc_forwards();
	let events = nodes[RECIPIENT].node.get_and_clear_pending_events();
	assert!(matches!(events[..], [Event::PaymentClaimable { .. }]), "{events:?}");
	nodes[RECIPIENT].node.claim_funds(preimage);
	deliver_all(nodes, middle_time);

	let events =
		on_middle_node(nodes, middle_time, |node| node.node.get_and_clear_pending_events());
	assert!(matches!(events[..], [Event::PaymentForwarded { .. }]), "{events:?}");
	let events = nodes[SENDER].node.get_and_clear_pending_events();
	assert!(events.iter().any(|event| matches!(event, Event::PaymentSent { .. })), "{events:?}");
	let events = nodes[RECIPIENT].node.get_and_clear_pending_events();
	assert!(matches!(events[..], [Event::PaymentClaimed { .. }]), "{events:?}");
	// Handling the events releases the last `revoke_and_ack`s, held until the claim is known to
	// be handled.
	deliver_all(nodes, middle_time);
	clear_test_records(nodes);
}

fn usage() -> ! {
	#[cfg(feature = "fork")]
	let managers = "noop|queue|default";
	#[cfg(not(feature = "fork"))]
	let managers = "noop";
	eprintln!("usage: forward_throughput {managers} FORWARDS [WARM_UP]");
	std::process::exit(2);
}

fn main() {
	let args: Vec<String> = std::env::args().collect();
	if args.len() != 3 && args.len() != 4 {
		usage();
	}
	let manager = Manager::parse(&args[1]).unwrap_or_else(|| usage());
	let forwards: u64 = args[2].parse().unwrap_or_else(|_| usage());
	let warm_up = match args.get(3) {
		Some(arg) => arg.parse().unwrap_or_else(|_| usage()),
		None => WARM_UP_FORWARDS,
	};

	let chanmon_cfgs = create_chanmon_cfgs(3);
	#[allow(unused_mut)]
	let mut node_cfgs = create_node_cfgs(3, &chanmon_cfgs);
	#[cfg(feature = "fork")]
	{
		use lightning::sign::RandomBytes;
		use lightning_resource_manager::{DefaultResourceManager, ResourceManagerConfig};
		use std::sync::Arc;

		// The functional tests' manager is off unless `LDK_TEST_RESOURCE_MANAGER=1`.
		assert!(!node_cfgs[MIDDLE].resource_manager.is_enabled());
		match manager {
			Manager::Noop => {},
			// Relays every forward at once, through the queue.
			Manager::Queue => {
				node_cfgs[MIDDLE].resource_manager = TestResourceManager::new_enabled()
			},
			Manager::Default => {
				let config = ResourceManagerConfig::default();
				let entropy = Arc::new(RandomBytes::new([42; 32]));
				let logger = Arc::new(TestLogger::new());
				let manager = DefaultResourceManager::new(config, entropy, logger).unwrap();
				node_cfgs[MIDDLE].resource_manager =
					TestResourceManager::with_delegate(Arc::new(manager));
			},
		}
	}
	let node_chanmgrs = create_node_chanmgrs(3, &node_cfgs, &[None, None, None]);
	let nodes = create_network(3, &node_cfgs, &node_chanmgrs);
	create_announced_chan_between_nodes_with_value(&nodes, SENDER, MIDDLE, CHANNEL_VALUE_SAT, 0);
	create_announced_chan_between_nodes_with_value(&nodes, MIDDLE, RECIPIENT, CHANNEL_VALUE_SAT, 0);
	let (route, ..) = get_route_and_payment_hash!(nodes[SENDER], nodes[RECIPIENT], AMOUNT_MSAT);
	assert_eq!(route.paths[0].hops.len(), 2);
	clear_test_records(&nodes);

	let mut middle_time = MiddleTime::default();
	for n in 0..warm_up {
		forward(&nodes, &route, n, &mut middle_time);
	}
	let mut middle_time = MiddleTime::default();
	let start = Instant::now();
	for n in warm_up..warm_up + forwards {
		forward(&nodes, &route, n, &mut middle_time);
	}
	let network_time = start.elapsed();

	// On stderr: the test utilities' logger prints every log line on stdout.
	eprintln!(
		"manager={} forwards={} middle_ns_per_forward={:.0} middle_cpu_ns_per_forward={:.0} \
		 network_ns_per_forward={:.0}",
		manager.name(),
		forwards,
		middle_time.wall.as_nanos() as f64 / forwards as f64,
		middle_time.cpu.as_nanos() as f64 / forwards as f64,
		network_time.as_nanos() as f64 / forwards as f64,
	);
}
