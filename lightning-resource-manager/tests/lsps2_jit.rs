// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! A payment over an LSPS2 just-in-time channel, with the LSP enforcing the default manager.
//!
//! A client without any channel buys a JIT channel from its LSP over LSPS2 and gets an intercept
//! SCID to put in its route hint. A payer pays it through the LSP, which intercepts the HTLC,
//! opens a zero-conf channel to the client and releases the HTLC onto it. That channel is new: no
//! HTLC over it has ever resolved, so it has no reputation. The default manager waives the
//! reputation requirement for a forward the user released onto a channel without history, so in
//! [`Mode::Enforce`] the JIT forward is not failed and the client gets paid.
//!
//! The waiver decides the outcome when the HTLC reaches the LSP `accountable`, which one test
//! arranges with a routing node in front of the LSP: without the waiver, that forward would be
//! failed for insufficient reputation. An unaccountable HTLC, as a payer sends it directly, gets
//! general resources whatever the reputation; the waiver is still applied and counted.

use lightning::bitcoin::secp256k1::PublicKey;
use lightning::events::Event;
use lightning::get_event_msg;
use lightning::get_route;
use lightning::ln::channelmanager::{
	Bolt11InvoiceParameters, PaymentId, TrustedChannelFeatures, MIN_FINAL_CLTV_EXPIRY_DELTA,
};
use lightning::ln::functional_test_utils::*;
use lightning::ln::msgs::{
	BaseMessageHandler, ChannelMessageHandler, CommitmentUpdate, MessageSendEvent, UpdateAddHTLC,
};
use lightning::ln::outbound_payment::RecipientOnionFields;
use lightning::ln::peer_handler::CustomMessageHandler;
use lightning::ln::types::ChannelId;
use lightning::routing::gossip::RoutingFees;
use lightning::routing::router::{PaymentParameters, RouteHint, RouteHintHop};
use lightning::sign::RandomBytes;
use lightning::types::payment::PaymentHash;
use lightning::util::config::HTLCInterceptionFlags;
use lightning::util::test_utils::{
	TestBroadcaster, TestKeysInterface, TestLogger, TestResourceDecision, TestResourceManager,
	TestStore,
};
use lightning_liquidity::events::LiquidityEvent;
use lightning_liquidity::lsps0::ser::LSPSDateTime;
use lightning_liquidity::lsps2::client::LSPS2ClientConfig;
use lightning_liquidity::lsps2::event::{LSPS2ClientEvent, LSPS2ServiceEvent};
use lightning_liquidity::lsps2::msgs::LSPS2RawOpeningFeeParams;
use lightning_liquidity::lsps2::service::LSPS2ServiceConfig;
use lightning_liquidity::utils::time::DefaultTimeProvider;
use lightning_liquidity::{LiquidityClientConfig, LiquidityManagerSync, LiquidityServiceConfig};
use lightning_resource_manager::{DefaultResourceManager, Mode, ResourceManagerConfig};

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PAYER: usize = 0;
const LSP: usize = 1;
const CLIENT: usize = 2;
/// A routing node between the payer and the LSP, in the test that has one.
const HOP: usize = 3;

/// What the payer pays, which is also the payment size the client buys the channel for.
const PAYMENT_MSAT: u64 = 1_000_000;
/// The LSP's fee for opening the channel, skimmed off the forwarded HTLC.
const OPENING_FEE_MSAT: u64 = 10_000;
/// The LSP's CLTV expiry delta for the hop to the client, which the route hint carries.
const LSP_CLTV_EXPIRY_DELTA: u32 = 144;
/// The value of the JIT channel the LSP opens, ample for the forwarded amount.
const JIT_CHANNEL_SAT: u64 = 100_000;
/// The `user_channel_id` the LSP picks for the JIT channel, which LSPS2 hands back to it in
/// [`LSPS2ServiceEvent::OpenChannel`].
const JIT_USER_CHANNEL_ID: u128 = 7;

/// A node's LSPS liquidity manager, over the functional test node's own components.
type Liquidity<'a, 'b, 'c> = LiquidityManagerSync<
	&'c TestKeysInterface,
	&'c TestKeysInterface,
	&'a TestChannelManager<'b, 'c>,
	Arc<TestStore>,
	DefaultTimeProvider,
	&'c TestBroadcaster,
>;

/// Creates the liquidity manager of `node`, acting as an LSPS service, a client, or both.
fn liquidity_manager<'a, 'b, 'c>(
	node: &Node<'a, 'b, 'c>, service_config: Option<LiquidityServiceConfig>,
	client_config: Option<LiquidityClientConfig>,
) -> Liquidity<'a, 'b, 'c> {
	LiquidityManagerSync::new(
		node.keys_manager,
		node.keys_manager,
		node.node,
		Arc::new(TestStore::new(false)),
		node.tx_broadcaster,
		service_config,
		client_config,
	)
	.unwrap()
}

/// Delivers the one LSPS message `sender` has queued, which must be for `recipient_id`.
fn deliver_lsps_message(
	sender: &Liquidity, sender_id: PublicKey, recipient: &Liquidity, recipient_id: PublicKey,
) {
	let mut messages = sender.get_and_clear_pending_msg();
	assert_eq!(messages.len(), 1);
	let (node_id, message) = messages.pop().unwrap();
	assert_eq!(node_id, recipient_id);
	recipient.handle_custom_message(message, sender_id).unwrap();
}

/// Runs LSPS2's `get_info` and `buy` between the client and the LSP, for a channel that the
/// first payment of [`PAYMENT_MSAT`] opens. Returns the intercept SCID and the LSP's CLTV expiry
/// delta, as the client received them, for its route hint.
fn buy_jit_channel(nodes: &[Node], lsp: &Liquidity, client: &Liquidity) -> (u64, u32) {
	let lsp_id = nodes[LSP].node.get_our_node_id();
	let client_id = nodes[CLIENT].node.get_our_node_id();
	let lsp_handler = lsp.lsps2_service_handler().unwrap();
	let client_handler = client.lsps2_client_handler().unwrap();

	client_handler.request_opening_params(lsp_id, None);
	deliver_lsps_message(client, client_id, lsp, lsp_id);
	let request_id = match lsp.next_event() {
		Some(LiquidityEvent::LSPS2Service(LSPS2ServiceEvent::GetInfo { request_id, .. })) => {
			request_id
		},
		event => panic!("Unexpected event {event:?}"),
	};
	let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
	let fee_params = LSPS2RawOpeningFeeParams {
		min_fee_msat: OPENING_FEE_MSAT,
		proportional: 0,
		valid_until: LSPSDateTime::new_from_duration_since_epoch(now + Duration::from_secs(3600)),
		min_lifetime: 144,
		max_client_to_self_delay: 2016,
		min_payment_size_msat: 2 * OPENING_FEE_MSAT,
		max_payment_size_msat: 100 * PAYMENT_MSAT,
	};
	lsp_handler.opening_fee_params_generated(&client_id, request_id, vec![fee_params]).unwrap();
	deliver_lsps_message(lsp, lsp_id, client, client_id);
	let fee_params = match client.next_event() {
		Some(LiquidityEvent::LSPS2Client(LSPS2ClientEvent::OpeningParametersReady {
			mut opening_fee_params_menu,
			..
		})) => opening_fee_params_menu.remove(0),
		event => panic!("Unexpected event {event:?}"),
	};

	client_handler.select_opening_params(lsp_id, Some(PAYMENT_MSAT), fee_params).unwrap();
	deliver_lsps_message(client, client_id, lsp, lsp_id);
	let request_id = match lsp.next_event() {
		Some(LiquidityEvent::LSPS2Service(LSPS2ServiceEvent::BuyRequest {
			request_id,
			payment_size_msat,
			..
		})) => {
			assert_eq!(payment_size_msat, Some(PAYMENT_MSAT));
			request_id
		},
		event => panic!("Unexpected event {event:?}"),
	};
	let intercept_scid = nodes[LSP].node.get_intercept_scid();
	// The LSP trusts the client: it broadcasts the funding transaction at once.
	let client_trusts_lsp = false;
	lsp_handler
		.invoice_parameters_generated(
			&client_id,
			request_id,
			intercept_scid,
			LSP_CLTV_EXPIRY_DELTA,
			client_trusts_lsp,
			JIT_USER_CHANNEL_ID,
		)
		.unwrap();
	deliver_lsps_message(lsp, lsp_id, client, client_id);
	match client.next_event() {
		Some(LiquidityEvent::LSPS2Client(LSPS2ClientEvent::InvoiceParametersReady {
			counterparty_node_id,
			intercept_scid,
			cltv_expiry_delta,
			..
		})) => {
			assert_eq!(counterparty_node_id, lsp_id);
			(intercept_scid, cltv_expiry_delta)
		},
		event => panic!("Unexpected event {event:?}"),
	}
}

/// Has the payer pay the client [`PAYMENT_MSAT`] along `upstream` (the payer, then any routing
/// nodes) to the LSP, then through the LSP along the route hint a JIT invoice carries, and brings
/// the HTLC to the LSP. Returns the payment hash and the routing fees the payer pays.
fn pay_through_intercept_scid(
	nodes: &[Node], upstream: &[usize], intercept_scid: u64, lsp_cltv_expiry_delta: u32,
) -> (PaymentHash, u64) {
	let lsp_id = nodes[LSP].node.get_our_node_id();
	// LSPS2 asks for a final CLTV delta two blocks above the usual one.
	let min_final_cltv_expiry_delta = MIN_FINAL_CLTV_EXPIRY_DELTA + 2;
	// The client says it claims the payment promptly, so that the payer may mark it.
	let invoice_params = Bolt11InvoiceParameters {
		amount_msats: Some(PAYMENT_MSAT),
		invoice_expiry_delta_secs: Some(3600),
		min_final_cltv_expiry_delta: Some(min_final_cltv_expiry_delta),
		accountable: true,
		..Default::default()
	};
	let invoice = nodes[CLIENT].node.create_bolt11_invoice(invoice_params).unwrap();
	let (payment_hash, payment_secret) = (invoice.payment_hash(), *invoice.payment_secret());
	// The LSP charges nothing for the hop: its fee is the opening fee, skimmed off the HTLC.
	let route_hint = RouteHint(vec![RouteHintHop {
		src_node_id: lsp_id,
		short_channel_id: intercept_scid,
		fees: RoutingFees { base_msat: 0, proportional_millionths: 0 },
		cltv_expiry_delta: lsp_cltv_expiry_delta as u16,
		htlc_minimum_msat: None,
		htlc_maximum_msat: None,
	}]);
	let client_id = nodes[CLIENT].node.get_our_node_id();
	let payment_params =
		PaymentParameters::from_node_id(client_id, min_final_cltv_expiry_delta as u32)
			.with_route_hints(vec![route_hint])
			.unwrap()
			.with_bolt11_features(nodes[CLIENT].node.bolt11_invoice_features())
			.unwrap();
	let payer = &nodes[upstream[0]];
	let route = get_route!(payer, payment_params, PAYMENT_MSAT).unwrap();
	let route_fees_msat = route.get_total_fees();
	// The payer lets the forwarders upgrade the HTLC, as the invoice allows.
	let onion = RecipientOnionFields::secret_only(payment_secret, PAYMENT_MSAT)
		.with_upgrade_accountability();
	let payment_id = PaymentId(payment_hash.0);
	payer.node.send_payment_with_route(route, payment_hash, onion, payment_id).unwrap();
	check_added_monitors(payer, 1);
	for hop in upstream.windows(2) {
		deliver_update_add(nodes, hop[0], hop[1]);
		nodes[hop[1]].node.process_pending_htlc_forwards();
		check_added_monitors(&nodes[hop[1]], 1);
	}
	deliver_update_add(nodes, *upstream.last().unwrap(), LSP);
	(payment_hash, route_fees_msat)
}

/// Delivers the one HTLC `nodes[sender]` adds towards `nodes[recipient]`, with the commitment
/// dance, and returns it.
fn deliver_update_add(nodes: &[Node], sender: usize, recipient: usize) -> UpdateAddHTLC {
	let sender_id = nodes[sender].node.get_our_node_id();
	let updates = get_htlc_update_msgs(&nodes[sender], &nodes[recipient].node.get_our_node_id());
	assert_eq!(updates.update_add_htlcs.len(), 1);
	nodes[recipient].node.handle_update_add_htlc(sender_id, &updates.update_add_htlcs[0]);
	do_commitment_signed_dance(
		&nodes[recipient],
		&nodes[sender],
		&updates.commitment_signed,
		false,
		false,
	);
	updates.update_add_htlcs[0].clone()
}

/// Hands `nodes[at]` the fulfill `nodes[downstream]` sent it, with the commitment dance. Returns
/// the event `nodes[at]` gives for it and the fulfill it sends on to `nodes[upstream]`.
fn relay_fulfill(
	nodes: &[Node], downstream: usize, at: usize, upstream: usize, fulfill: &CommitmentUpdate,
) -> (Event, CommitmentUpdate) {
	let downstream_id = nodes[downstream].node.get_our_node_id();
	nodes[at]
		.node
		.handle_update_fulfill_htlc(downstream_id, fulfill.update_fulfill_htlcs[0].clone());
	let mut events = nodes[at].node.get_and_clear_pending_events();
	assert_eq!(events.len(), 1, "{events:?}");
	// The preimage is stored for the upstream channel before it is passed on.
	check_added_monitors(&nodes[at], 1);
	let upstream_fulfill =
		get_htlc_update_msgs(&nodes[at], &nodes[upstream].node.get_our_node_id());
	do_commitment_signed_dance(
		&nodes[at],
		&nodes[downstream],
		&fulfill.commitment_signed,
		false,
		false,
	);
	(events.pop().unwrap(), upstream_fulfill)
}

/// Opens the zero-conf channel LSPS2 asked the LSP to open to the client, and returns its id as
/// the LSP's [`Event::ChannelReady`] names it.
fn open_zero_conf_jit_channel(nodes: &[Node], user_channel_id: u128) -> ChannelId {
	let lsp_id = nodes[LSP].node.get_our_node_id();
	let client_id = nodes[CLIENT].node.get_our_node_id();
	// A JIT channel is private: the client is only reachable through the LSP's route hint.
	let mut channel_config = test_default_channel_config();
	channel_config.channel_handshake_config.announce_for_forwarding = false;
	nodes[LSP]
		.node
		.create_channel(client_id, JIT_CHANNEL_SAT, 0, user_channel_id, None, Some(channel_config))
		.unwrap();
	let open_channel = get_event_msg!(nodes[LSP], MessageSendEvent::SendOpenChannel, client_id);
	nodes[CLIENT].node.handle_open_channel(lsp_id, &open_channel);
	let temporary_channel_id = match &nodes[CLIENT].node.get_and_clear_pending_events()[..] {
		[Event::OpenChannelRequest { temporary_channel_id, .. }] => *temporary_channel_id,
		events => panic!("Unexpected events {events:?}"),
	};
	// The client trusts its LSP not to double-spend the funding: the channel is usable at once.
	nodes[CLIENT]
		.node
		.accept_inbound_channel_from_trusted_peer(
			&temporary_channel_id,
			&lsp_id,
			0,
			TrustedChannelFeatures::ZeroConf,
			None,
		)
		.unwrap();
	let accept_channel = get_event_msg!(nodes[CLIENT], MessageSendEvent::SendAcceptChannel, lsp_id);
	assert_eq!(accept_channel.common_fields.minimum_depth, 0);
	nodes[LSP].node.handle_accept_channel(client_id, &accept_channel);

	let (temporary_channel_id, funding_tx, _) =
		create_funding_transaction(&nodes[LSP], &client_id, JIT_CHANNEL_SAT, user_channel_id);
	nodes[LSP]
		.node
		.funding_transaction_generated(temporary_channel_id, client_id, funding_tx)
		.unwrap();
	let funding_created =
		get_event_msg!(nodes[LSP], MessageSendEvent::SendFundingCreated, client_id);
	nodes[CLIENT].node.handle_funding_created(lsp_id, &funding_created);
	check_added_monitors(&nodes[CLIENT], 1);
	for event in nodes[CLIENT].node.get_and_clear_pending_msg_events() {
		match event {
			MessageSendEvent::SendFundingSigned { msg, .. } => {
				nodes[LSP].node.handle_funding_signed(client_id, &msg);
				check_added_monitors(&nodes[LSP], 1);
			},
			MessageSendEvent::SendChannelReady { msg, .. } => {
				nodes[LSP].node.handle_channel_ready(client_id, &msg);
			},
			event => panic!("Unexpected event {event:?}"),
		}
	}
	deliver_channel_ready_and_updates(&nodes[LSP], &nodes[CLIENT]);
	deliver_channel_ready_and_updates(&nodes[CLIENT], &nodes[LSP]);

	let client_events = nodes[CLIENT].node.get_and_clear_pending_events();
	assert!(
		matches!(client_events[..], [Event::ChannelPending { .. }, Event::ChannelReady { .. }]),
		"{client_events:?}"
	);
	match &nodes[LSP].node.get_and_clear_pending_events()[..] {
		[Event::ChannelPending { .. }, Event::ChannelReady {
			channel_id, user_channel_id: ready_id, counterparty_node_id, ..
		}] => {
			assert_eq!(*ready_id, user_channel_id);
			assert_eq!(*counterparty_node_id, client_id);
			*channel_id
		},
		events => panic!("Unexpected events {events:?}"),
	}
}

/// Delivers the `channel_ready` and channel updates `sender` has for `recipient`, and asserts it
/// has nothing else to send.
fn deliver_channel_ready_and_updates(sender: &Node, recipient: &Node) {
	let sender_id = sender.node.get_our_node_id();
	let recipient_id = recipient.node.get_our_node_id();
	for event in sender.node.get_and_clear_pending_msg_events() {
		match event {
			MessageSendEvent::SendChannelReady { node_id, msg } => {
				assert_eq!(node_id, recipient_id);
				recipient.node.handle_channel_ready(sender_id, &msg);
			},
			MessageSendEvent::SendChannelUpdate { node_id, msg } => {
				assert_eq!(node_id, recipient_id);
				recipient.node.handle_channel_update(sender_id, &msg);
			},
			event => panic!("Unexpected event {event:?}"),
		}
	}
}

/// Pays the client over a JIT channel the LSP opens for the payment, with the default manager
/// enforcing on the LSP, and checks the manager let the JIT forward through on the reputation
/// waiver.
///
/// With `through_accountable_hop`, the payer pays through a routing node that forwards the HTLC
/// to the LSP `accountable`: then only an outgoing channel with sufficient reputation may take
/// it, which the new JIT channel only has through the waiver. Without, the payer pays the LSP
/// directly and the HTLC arrives unaccountable.
fn pay_over_jit_channel(through_accountable_hop: bool) {
	let node_count = if through_accountable_hop { 4 } else { 3 };
	let chanmon_cfgs = create_chanmon_cfgs(node_count);
	let mut node_cfgs = create_node_cfgs(node_count, &chanmon_cfgs);
	let logger = Arc::new(TestLogger::new());
	let entropy = Arc::new(RandomBytes::new([42; 32]));
	let manager =
		DefaultResourceManager::new(ResourceManagerConfig::default(), entropy, logger).unwrap();
	let manager = Arc::new(manager);
	assert_eq!(manager.config().mode, Mode::Enforce);
	node_cfgs[LSP].resource_manager = TestResourceManager::with_delegate(manager.clone());
	if through_accountable_hop {
		// As a hop's manager does when it gives an HTLC protected or congestion resources.
		let hop_manager = TestResourceManager::new_enabled();
		hop_manager.set_decision(TestResourceDecision::Forward { outgoing_accountable: true });
		node_cfgs[HOP].resource_manager = hop_manager;
	}
	let mut configs = vec![None; node_count];
	let mut lsp_config = test_default_channel_config();
	// LSPS2 works by intercepting the HTLCs sent to the SCIDs the LSP hands its clients.
	lsp_config.htlc_interception_flags = HTLCInterceptionFlags::ToInterceptSCIDs as u8;
	configs[LSP] = Some(lsp_config);
	let mut client_config = test_default_channel_config();
	// The LSP takes its opening fee by forwarding less than the payer sent.
	client_config.channel_config.accept_underpaying_htlcs = true;
	configs[CLIENT] = Some(client_config);
	let node_chanmgrs = create_node_chanmgrs(node_count, &node_cfgs, &configs);
	let nodes = create_network(node_count, &node_cfgs, &node_chanmgrs);
	let lsp_id = nodes[LSP].node.get_our_node_id();
	let client_id = nodes[CLIENT].node.get_our_node_id();

	let upstream: &[usize] = if through_accountable_hop { &[PAYER, HOP] } else { &[PAYER] };
	for hop in upstream.windows(2) {
		create_announced_chan_between_nodes_with_value(&nodes, hop[0], hop[1], 1_000_000, 0);
	}
	let previous_hop = *upstream.last().unwrap();
	create_announced_chan_between_nodes_with_value(&nodes, previous_hop, LSP, 1_000_000, 0);
	assert!(nodes[CLIENT].node.list_channels().is_empty());

	let service_config = LiquidityServiceConfig {
		lsps1_service_config: None,
		lsps2_service_config: Some(LSPS2ServiceConfig { promise_secret: [7; 32] }),
		lsps5_service_config: None,
		advertise_service: true,
	};
	let lsp_liquidity = liquidity_manager(&nodes[LSP], Some(service_config), None);
	let client_config = LiquidityClientConfig {
		lsps1_client_config: None,
		lsps2_client_config: Some(LSPS2ClientConfig::default()),
		lsps5_client_config: None,
	};
	let client_liquidity = liquidity_manager(&nodes[CLIENT], None, Some(client_config));
	let lsps2_service = lsp_liquidity.lsps2_service_handler().unwrap();

	let (intercept_scid, lsp_cltv_expiry_delta) =
		buy_jit_channel(&nodes, &lsp_liquidity, &client_liquidity);
	let (payment_hash, route_fees_msat) =
		pay_through_intercept_scid(&nodes, upstream, intercept_scid, lsp_cltv_expiry_delta);

	// The LSP intercepts the HTLC before any resource decision: the manager sees nothing yet.
	nodes[LSP].node.process_pending_htlc_forwards();
	match &nodes[LSP].node.get_and_clear_pending_events()[..] {
		[Event::HTLCIntercepted {
			intercept_id,
			requested_next_hop_scid,
			payment_hash: intercepted_hash,
			inbound_amount_msat,
			expected_outbound_amount_msat,
			..
		}] => {
			assert_eq!(*requested_next_hop_scid, intercept_scid);
			assert_eq!(*intercepted_hash, payment_hash);
			lsps2_service
				.htlc_intercepted(
					*requested_next_hop_scid,
					*intercept_id,
					*expected_outbound_amount_msat,
					*intercepted_hash,
					*inbound_amount_msat,
				)
				.unwrap();
		},
		events => panic!("Unexpected events {events:?}"),
	}
	assert!(nodes[LSP].resource_manager.requests.lock().unwrap().is_empty());

	// The payment covers the opening fee, so LSPS2 asks for the channel.
	let user_channel_id = match lsp_liquidity.next_event() {
		Some(LiquidityEvent::LSPS2Service(LSPS2ServiceEvent::OpenChannel {
			their_network_key,
			amt_to_forward_msat,
			opening_fee_msat,
			user_channel_id,
			intercept_scid: open_scid,
		})) => {
			assert_eq!(their_network_key, client_id);
			assert_eq!(opening_fee_msat, OPENING_FEE_MSAT);
			assert_eq!(amt_to_forward_msat, PAYMENT_MSAT - OPENING_FEE_MSAT);
			assert_eq!(open_scid, intercept_scid);
			assert_eq!(user_channel_id, JIT_USER_CHANNEL_ID);
			user_channel_id
		},
		event => panic!("Unexpected event {event:?}"),
	};
	let jit_channel_id = open_zero_conf_jit_channel(&nodes, user_channel_id);

	// Once the channel is ready, LSPS2 releases the HTLC onto it, and the next forwarding pass
	// tells the manager of the channel, hands it the forward and carries out its decision.
	lsps2_service.channel_ready(user_channel_id, &jit_channel_id, &client_id).unwrap();
	nodes[LSP].node.process_pending_htlc_forwards();
	let requests = nodes[LSP].resource_manager.take_requests();
	assert_eq!(requests.len(), 1, "{requests:?}");
	let request = &requests[0];
	assert!(request.released_by_user);
	assert_eq!(request.outgoing_channel, Some((client_id, jit_channel_id)));
	assert_eq!(request.outgoing_amount_msat, PAYMENT_MSAT - OPENING_FEE_MSAT);
	assert_eq!(request.incoming_accountable, through_accountable_hop);
	// Our fee on the JIT channel is not zero, so the HTLC's own risk exceeds the reputation of a
	// channel without history: only the waiver makes it sufficient.
	assert!(request.forwarding_fee_msat.unwrap() > 0);
	let stats = manager.stats();
	// The waiver is used up only by a forward that needs the reputation: an accountable one.
	let waivers = through_accountable_hop as u64;
	assert_eq!(stats.jit_reputation_waivers, waivers, "{stats:?}");
	assert_eq!(stats.failed.total(), 0, "{stats:?}");
	if through_accountable_hop {
		// An accountable HTLC needs sufficient reputation, and then gets protected resources.
		assert_eq!(stats.forwarded_protected, 1, "{stats:?}");
	} else {
		// An unaccountable HTLC gets general resources while they have room.
		assert_eq!(stats.forwarded_general, 1, "{stats:?}");
	}
	assert_eq!(manager.htlcs_in_flight(), 1);

	// The forward goes out to the client, who receives the payment minus the opening fee.
	check_added_monitors(&nodes[LSP], 1);
	let jit_htlc = deliver_update_add(&nodes, LSP, CLIENT);
	assert_eq!(jit_htlc.accountable, Some(through_accountable_hop));
	nodes[CLIENT].node.process_pending_htlc_forwards();
	let preimage = match &nodes[CLIENT].node.get_and_clear_pending_events()[..] {
		[Event::PaymentClaimable {
			payment_hash: claimable_hash,
			purpose,
			amount_msat,
			counterparty_skimmed_fee_msat,
			..
		}] => {
			assert_eq!(*claimable_hash, payment_hash);
			assert_eq!(*amount_msat, PAYMENT_MSAT - OPENING_FEE_MSAT);
			assert_eq!(*counterparty_skimmed_fee_msat, OPENING_FEE_MSAT);
			purpose.preimage().unwrap()
		},
		events => panic!("Unexpected events {events:?}"),
	};

	// The client claims; the preimage goes back through the LSP to the payer.
	nodes[CLIENT].node.claim_funds(preimage);
	check_added_monitors(&nodes[CLIENT], 1);
	let client_events = nodes[CLIENT].node.get_and_clear_pending_events();
	assert!(matches!(client_events[..], [Event::PaymentClaimed { .. }]), "{client_events:?}");
	let fulfill = get_htlc_update_msgs(&nodes[CLIENT], &lsp_id);
	let (forwarded, mut fulfill) = relay_fulfill(&nodes, CLIENT, LSP, previous_hop, &fulfill);
	match forwarded {
		Event::PaymentForwarded { skimmed_fee_msat, .. } => {
			assert_eq!(skimmed_fee_msat, Some(OPENING_FEE_MSAT));
			lsps2_service.payment_forwarded(jit_channel_id, OPENING_FEE_MSAT).unwrap();
		},
		event => panic!("Unexpected event {event:?}"),
	}
	let mut downstream = LSP;
	for hop in upstream.windows(2).rev() {
		let (forwarded, upstream_fulfill) =
			relay_fulfill(&nodes, downstream, hop[1], hop[0], &fulfill);
		assert!(matches!(forwarded, Event::PaymentForwarded { .. }), "{forwarded:?}");
		(downstream, fulfill) = (hop[1], upstream_fulfill);
	}
	let payer = &nodes[PAYER];
	let downstream_id = nodes[downstream].node.get_our_node_id();
	payer.node.handle_update_fulfill_htlc(downstream_id, fulfill.update_fulfill_htlcs[0].clone());
	do_commitment_signed_dance(payer, &nodes[downstream], &fulfill.commitment_signed, false, false);
	expect_payment_sent(payer, preimage, Some(Some(route_fees_msat)), true, true);

	// The manager learns of the resolution in the next pass: the JIT channel now has history, so
	// the waiver is spent and its next forwards are judged by their reputation.
	nodes[LSP].node.process_pending_htlc_forwards();
	assert_eq!(manager.htlcs_in_flight(), 0);
	let jit_scid = manager.short_channel_id(&jit_channel_id).unwrap();
	let snapshot = manager.channel_snapshot(jit_scid, request.queued_at.as_secs()).unwrap();
	assert_eq!(snapshot.resolved_outgoing_htlcs, 1);
	let stats = manager.stats();
	assert_eq!(stats.jit_reputation_waivers, waivers, "{stats:?}");
	assert_eq!(stats.failed.total(), 0, "{stats:?}");
}

#[test]
fn unaccountable_jit_payment_succeeds_with_enforcing_manager() {
	pay_over_jit_channel(false);
}

#[test]
fn accountable_jit_payment_succeeds_on_the_reputation_waiver() {
	pay_over_jit_channel(true);
}
