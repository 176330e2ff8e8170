// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! A slot-jamming attack on in-process LDK nodes, with and without the default manager.
//!
//! An attacker sends payments through our routing node to a peer of ours it controls, which
//! holds them, until our channel to that peer has no HTLC slot left. An honest sender then pays
//! the same peer through us. Without a resource manager the honest payment fails; with the
//! default manager the attacker's unaccountable HTLCs are confined to the general and
//! congestion buckets of its own channel, and the honest payment goes through.

use lightning::events::Event;
use lightning::get_route_and_payment_hash;
use lightning::ln::channelmanager::PaymentId;
use lightning::ln::functional_test_utils::*;
use lightning::ln::msgs::{BaseMessageHandler, ChannelMessageHandler, MessageSendEvent};
use lightning::ln::outbound_payment::RecipientOnionFields;
use lightning::sign::RandomBytes;
use lightning::util::test_utils::{TestLogger, TestResourceManager};
use lightning_resource_manager::{DefaultResourceManager, ResourceManagerConfig};

use std::sync::Arc;

const ATTACKER: usize = 0;
const HONEST: usize = 1;
const ROUTER: usize = 2;
const SINK: usize = 3;

/// The HTLCs the sink accepts from us at once: the slots the attacker tries to fill.
const SINK_MAX_ACCEPTED_HTLCS: u16 = 20;
const AMOUNT_MSAT: u64 = 10_000;

/// Sends a payment from `nodes[sender]` to the sink through the router and returns whether it
/// reached the sink, which holds it, or was failed back by the router.
fn send_to_sink(nodes: &[Node], sender: usize) -> bool {
	let (route, payment_hash, _, payment_secret) =
		get_route_and_payment_hash!(nodes[sender], nodes[SINK], AMOUNT_MSAT);
	let onion = RecipientOnionFields::secret_only(payment_secret, AMOUNT_MSAT);
	let payment_id = PaymentId(payment_hash.0);
	nodes[sender].node.send_payment_with_route(route, payment_hash, onion, payment_id).unwrap();
	check_added_monitors(&nodes[sender], 1);
	let router_id = nodes[ROUTER].node.get_our_node_id();
	let updates = get_htlc_update_msgs(&nodes[sender], &router_id);
	let sender_id = nodes[sender].node.get_our_node_id();
	nodes[ROUTER].node.handle_update_add_htlc(sender_id, &updates.update_add_htlcs[0]);
	do_commitment_signed_dance(
		&nodes[ROUTER],
		&nodes[sender],
		&updates.commitment_signed,
		false,
		false,
	);

	nodes[ROUTER].node.process_pending_htlc_forwards();
	let events = nodes[ROUTER].node.get_and_clear_pending_events();
	if events.iter().any(|event| matches!(event, Event::HTLCHandlingFailed { .. })) {
		// The failure goes back to the sender in the next forwarding pass.
		nodes[ROUTER].node.process_pending_htlc_forwards();
	}
	check_added_monitors(&nodes[ROUTER], 1);
	let mut msg_events = nodes[ROUTER].node.get_and_clear_pending_msg_events();
	assert_eq!(msg_events.len(), 1, "{msg_events:?}");
	let (node_id, updates) = match msg_events.pop().unwrap() {
		MessageSendEvent::UpdateHTLCs { node_id, updates, .. } => (node_id, updates),
		event => panic!("Unexpected event {event:?}"),
	};
	if node_id == nodes[SINK].node.get_our_node_id() {
		nodes[SINK].node.handle_update_add_htlc(router_id, &updates.update_add_htlcs[0]);
		do_commitment_signed_dance(
			&nodes[SINK],
			&nodes[ROUTER],
			&updates.commitment_signed,
			false,
			false,
		);
		nodes[SINK].node.process_pending_htlc_forwards();
		let events = nodes[SINK].node.get_and_clear_pending_events();
		assert!(matches!(events[..], [Event::PaymentClaimable { .. }]), "{events:?}");
		true
	} else {
		assert_eq!(node_id, sender_id);
		nodes[sender].node.handle_update_fail_htlc(router_id, &updates.update_fail_htlcs[0]);
		do_commitment_signed_dance(
			&nodes[sender],
			&nodes[ROUTER],
			&updates.commitment_signed,
			false,
			false,
		);
		let events = nodes[sender].node.get_and_clear_pending_events();
		assert!(events.iter().any(|event| matches!(event, Event::PaymentFailed { .. })));
		false
	}
}

/// Runs the attack with the router's manager, then has the honest node pay the sink. Returns
/// how many HTLCs the attacker got the sink to hold, and whether the honest payment arrived.
fn jam_then_pay(router_resource_manager: TestResourceManager) -> (usize, bool) {
	let chanmon_cfgs = create_chanmon_cfgs(4);
	let mut node_cfgs = create_node_cfgs(4, &chanmon_cfgs);
	node_cfgs[ROUTER].resource_manager = router_resource_manager;
	let mut sink_config = test_default_channel_config();
	sink_config.channel_handshake_config.our_max_accepted_htlcs = SINK_MAX_ACCEPTED_HTLCS;
	let configs = [None, None, None, Some(sink_config)];
	let node_chanmgrs = create_node_chanmgrs(4, &node_cfgs, &configs);
	let nodes = create_network(4, &node_cfgs, &node_chanmgrs);
	create_announced_chan_between_nodes(&nodes, ATTACKER, ROUTER);
	create_announced_chan_between_nodes(&nodes, HONEST, ROUTER);
	create_announced_chan_between_nodes(&nodes, ROUTER, SINK);

	let mut held = 0;
	// Twice the slots the sink has: the attacker keeps trying once it is turned away.
	for _ in 0..2 * SINK_MAX_ACCEPTED_HTLCS {
		if send_to_sink(&nodes, ATTACKER) {
			held += 1;
		}
	}
	(held, send_to_sink(&nodes, HONEST))
}

#[test]
fn attacker_fills_the_outgoing_channel_without_a_manager() {
	let (held, honest_paid) = jam_then_pay(TestResourceManager::new());
	assert_eq!(held, SINK_MAX_ACCEPTED_HTLCS as usize);
	assert!(!honest_paid);
}

#[test]
fn default_manager_keeps_slots_for_the_honest_sender() {
	let logger = Arc::new(TestLogger::new());
	let entropy = Arc::new(RandomBytes::new([42; 32]));
	let manager =
		DefaultResourceManager::new(ResourceManagerConfig::default(), entropy, logger).unwrap();
	let manager = Arc::new(manager);
	let (held, honest_paid) = jam_then_pay(TestResourceManager::with_delegate(manager.clone()));
	assert!(held > 0 && held < SINK_MAX_ACCEPTED_HTLCS as usize, "held {held}");
	assert!(honest_paid);
	// The attacker's HTLCs are still held; they were turned away, not failed later.
	assert_eq!(manager.htlcs_in_flight(), held + 1);
	assert!(manager.stats().failed.general_bucket_full > 0);
}
