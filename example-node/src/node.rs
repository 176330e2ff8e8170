// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! The node: LDK's components wired together, started from (and persisted to) a directory.

use std::collections::HashMap;
use std::fmt;
use std::fs;
use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use lightning::bitcoin::secp256k1::PublicKey;
use lightning::bitcoin::{Amount, Block};
use lightning::chain::chaininterface::{ConfirmationTarget, FeeEstimator};
use lightning::chain::chainmonitor;
use lightning::chain::channelmonitor::ChannelMonitor;
use lightning::chain::{BlockLocator, Filter, Listen};
use lightning::events::Event;
use lightning::ln::channel_state::ChannelDetails;
use lightning::ln::channelmanager::{self, ChainParameters, ChannelManagerReadArgs, PaymentId};
use lightning::ln::outbound_payment::{RecipientOnionFields, Retry};
use lightning::ln::peer_handler::{self, IgnoringMessageHandler, MessageHandler};
use lightning::ln::types::ChannelId;
use lightning::onion_message::messenger::DefaultMessageRouter;
use lightning::routing::gossip::RoutingFees;
use lightning::routing::gossip::{self, P2PGossipSync};
use lightning::routing::router::{
	DefaultRouter, PaymentParameters, RouteHint, RouteHintHop, RouteParameters,
};
use lightning::routing::scoring::{
	ProbabilisticScorer, ProbabilisticScoringDecayParameters, ProbabilisticScoringFeeParameters,
};
use lightning::routing::utxo::UtxoLookup;
use lightning::sign::{EntropySource, InMemorySigner, KeysManager, NodeSigner};
use lightning::util::config::UserConfig;
use lightning::util::logger::Level;
use lightning::util::persist::{
	read_channel_monitors, KVStoreSync, CHANNEL_MANAGER_PERSISTENCE_KEY,
	CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE, CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
	NETWORK_GRAPH_PERSISTENCE_KEY, NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE,
	NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE, SCORER_PERSISTENCE_KEY,
	SCORER_PERSISTENCE_PRIMARY_NAMESPACE, SCORER_PERSISTENCE_SECONDARY_NAMESPACE,
};
use lightning::util::ser::{ReadableArgs, Writeable};
use lightning::util::sweep::OutputSweeperSync;
use lightning_background_processor::{
	process_events_async_with_kv_store_sync, GossipSync, NO_LIQUIDITY_MANAGER, NO_ONION_MESSENGER,
};
use lightning_net_tokio::SocketDescriptor;
use lightning_resource_manager::{persistence, ResourceManagerConfig};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::chain::FileChain;
use crate::logger::NodeLogger;
use crate::resource_manager::{DefaultManager, HoldingResourceManager};
use crate::store::NodeStore;
use crate::wallet::Wallet;

/// The fee rate every node assumes, in satoshis per 1000 weight units. All nodes agree on it, so
/// no fee update is ever refused.
const FEE_RATE_SAT_PER_KW: u32 = 1_000;

/// How long the node waits between two looks at the chain directory for new blocks.
const CHAIN_POLL_INTERVAL: Duration = Duration::from_millis(50);
/// How often the node redials the peers it lost.
const RECONNECT_INTERVAL: Duration = Duration::from_millis(250);
/// How often the node writes the resource manager's state, if it changed.
const RESOURCE_MANAGER_PERSIST_INTERVAL: Duration = Duration::from_millis(250);

/// The CLTV delta the recipient of a keysend payment asks for.
const KEYSEND_FINAL_CLTV_EXPIRY_DELTA: u32 = 40;

/// The file in the data directory holding the node's seed.
const SEED_FILE: &str = "keys_seed";
/// The file in the data directory listing the peers the node dials, one `pubkey@addr` a line.
const PEERS_FILE: &str = "peers";

/// Every node's fee estimate: [`FEE_RATE_SAT_PER_KW`] whatever the target.
pub struct FixedFeeEstimator;

impl FeeEstimator for FixedFeeEstimator {
	fn get_est_sat_per_1000_weight(&self, _confirmation_target: ConfirmationTarget) -> u32 {
		FEE_RATE_SAT_PER_KW
	}
}

/// The node's [`chainmonitor::ChainMonitor`].
pub type ChainMonitor = chainmonitor::ChainMonitor<
	InMemorySigner,
	Arc<dyn Filter + Send + Sync>,
	Arc<FileChain>,
	Arc<FixedFeeEstimator>,
	Arc<NodeLogger>,
	Arc<NodeStore>,
	Arc<KeysManager>,
>;
/// The node's view of the public network.
pub type NetworkGraph = gossip::NetworkGraph<Arc<NodeLogger>>;
type Scorer = ProbabilisticScorer<Arc<NetworkGraph>, Arc<NodeLogger>>;
type Router = DefaultRouter<
	Arc<NetworkGraph>,
	Arc<NodeLogger>,
	Arc<KeysManager>,
	Arc<RwLock<Scorer>>,
	ProbabilisticScoringFeeParameters,
	Scorer,
>;
type MessageRouter = DefaultMessageRouter<Arc<NetworkGraph>, Arc<NodeLogger>, Arc<KeysManager>>;
/// The node's [`channelmanager::ChannelManager`], with the [`HoldingResourceManager`] deciding
/// forwards.
pub type ChannelManager = channelmanager::ChannelManager<
	Arc<ChainMonitor>,
	Arc<FileChain>,
	Arc<KeysManager>,
	Arc<KeysManager>,
	Arc<KeysManager>,
	Arc<FixedFeeEstimator>,
	Arc<Router>,
	Arc<MessageRouter>,
	Arc<HoldingResourceManager>,
	Arc<NodeLogger>,
>;
type GossipVerifier = Arc<dyn UtxoLookup + Send + Sync>;
type P2PGossip = P2PGossipSync<Arc<NetworkGraph>, GossipVerifier, Arc<NodeLogger>>;
/// The node's [`peer_handler::PeerManager`], over `lightning-net-tokio`'s sockets.
pub type PeerManager = peer_handler::PeerManager<
	SocketDescriptor,
	Arc<ChannelManager>,
	Arc<P2PGossip>,
	IgnoringMessageHandler,
	Arc<NodeLogger>,
	IgnoringMessageHandler,
	Arc<KeysManager>,
	Arc<ChainMonitor>,
>;
/// The output sweeper the node does not run (see the crate docs), named for the background
/// processor's `None`.
type Sweeper = OutputSweeperSync<
	Arc<FileChain>,
	Arc<Wallet>,
	Arc<FixedFeeEstimator>,
	Arc<dyn Filter + Send + Sync>,
	Arc<NodeStore>,
	Arc<NodeLogger>,
	Arc<KeysManager>,
>;

/// What a node needs to start.
#[derive(Clone, Debug)]
pub struct NodeConfig {
	/// The name in the node's log lines.
	pub name: String,
	/// Where the node keeps its seed, its peers and LDK's store.
	pub data_dir: PathBuf,
	/// The chain directory, shared by every node of the network (see [`FileChain`]).
	pub chain_dir: PathBuf,
	/// Where the node listens for peers; port 0 picks a free port.
	pub listen_addr: SocketAddr,
	/// The lowest level of LDK's log records that are printed.
	pub log_level: Level,
	/// Whether forwards wait for [`Node::release_forwards`] from the start; see
	/// [`HoldingResourceManager`].
	pub hold_forwards: bool,
}

/// Why a node failed to start or to do what it was asked.
#[derive(Debug)]
pub enum NodeError {
	/// Reading or writing the data or chain directory failed.
	Io(io::Error),
	/// The persisted state cannot be read, or does not fit the chain directory.
	State(String),
	/// LDK refused the request.
	Refused(String),
}

impl fmt::Display for NodeError {
	fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
		match self {
			NodeError::Io(e) => write!(f, "I/O error: {e}"),
			NodeError::State(e) => write!(f, "bad persisted state: {e}"),
			NodeError::Refused(e) => write!(f, "refused: {e}"),
		}
	}
}

impl std::error::Error for NodeError {}

impl From<io::Error> for NodeError {
	fn from(e: io::Error) -> Self {
		NodeError::Io(e)
	}
}

impl From<lightning::io::Error> for NodeError {
	fn from(e: lightning::io::Error) -> Self {
		NodeError::Io(io::Error::other(e.to_string()))
	}
}

/// The events the node handled, in order, for whoever watches the node (the CLI, the tests).
#[derive(Default)]
pub struct EventLog {
	events: Mutex<Vec<Event>>,
}

impl EventLog {
	/// A copy of every event handled so far.
	pub fn all(&self) -> Vec<Event> {
		self.events.lock().unwrap().clone()
	}

	fn push(&self, event: Event) {
		self.events.lock().unwrap().push(event);
	}
}

/// Handles the events the background processor hands over.
struct EventHandler {
	channel_manager: Arc<ChannelManager>,
	wallet: Arc<Wallet>,
	events: Arc<EventLog>,
	name: String,
}

impl EventHandler {
	fn handle_event(&self, event: Event) {
		match &event {
			Event::FundingGenerationReady {
				temporary_channel_id,
				counterparty_node_id,
				channel_value_satoshis,
				output_script,
				..
			} => {
				let value = Amount::from_sat(*channel_value_satoshis);
				let result = match self.wallet.pay_to(output_script.clone(), value) {
					Ok(tx) => self
						.channel_manager
						.funding_transaction_generated(
							*temporary_channel_id,
							*counterparty_node_id,
							tx,
						)
						.map_err(|e| format!("{e:?}")),
					Err(e) => Err(e.to_string()),
				};
				if let Err(e) = result {
					eprintln!("[{}] cannot fund channel {temporary_channel_id}: {e}", self.name);
					let _ = self.channel_manager.force_close_broadcasting_latest_txn(
						temporary_channel_id,
						counterparty_node_id,
						"funding failed".to_string(),
					);
				}
			},
			Event::OpenChannelRequest { temporary_channel_id, counterparty_node_id, .. } => {
				// LDK asks about every inbound channel; this node takes them all.
				let result = self.channel_manager.accept_inbound_channel(
					temporary_channel_id,
					counterparty_node_id,
					0,
					None,
				);
				if let Err(e) = result {
					eprintln!(
						"[{}] cannot accept channel {temporary_channel_id}: {e:?}",
						self.name
					);
				}
			},
			Event::PaymentClaimable { purpose, payment_hash, .. } => match purpose.preimage() {
				Some(preimage) => self.channel_manager.claim_funds(preimage),
				None => {
					eprintln!("[{}] no preimage for payment {payment_hash}", self.name);
					self.channel_manager.fail_htlc_backwards(payment_hash);
				},
			},
			Event::SpendableOutputs { outputs, .. } => {
				// A real node sweeps them (LDK's `OutputSweeper`) to its wallet.
				eprintln!("[{}] {} spendable outputs not swept", self.name, outputs.len());
			},
			_ => {},
		}
		self.events.push(event);
	}
}

/// A running node: see the crate docs.
pub struct Node {
	config: NodeConfig,
	chain: Arc<FileChain>,
	store: Arc<NodeStore>,
	keys_manager: Arc<KeysManager>,
	wallet: Arc<Wallet>,
	channel_manager: Arc<ChannelManager>,
	peer_manager: Arc<PeerManager>,
	network_graph: Arc<NetworkGraph>,
	resource_manager: Arc<HoldingResourceManager>,
	events: Arc<EventLog>,
	peers: Arc<Mutex<HashMap<PublicKey, SocketAddr>>>,
	listen_addr: SocketAddr,
	stop_sender: watch::Sender<()>,
	background: JoinHandle<Result<(), lightning::io::Error>>,
	tasks: Vec<JoinHandle<()>>,
}

fn now() -> Duration {
	SystemTime::now().duration_since(UNIX_EPOCH).expect("the clock is after 1970")
}

fn read_or_create_seed(data_dir: &std::path::Path) -> io::Result<[u8; 32]> {
	let path = data_dir.join(SEED_FILE);
	match fs::read(&path) {
		Ok(bytes) => bytes
			.try_into()
			.map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "the seed is not 32 bytes")),
		Err(e) if e.kind() == io::ErrorKind::NotFound => {
			let mut seed = [0; 32];
			getrandom::getrandom(&mut seed).map_err(|e| io::Error::other(e.to_string()))?;
			fs::write(&path, seed)?;
			Ok(seed)
		},
		Err(e) => Err(e),
	}
}

fn read_peers(data_dir: &std::path::Path) -> io::Result<HashMap<PublicKey, SocketAddr>> {
	let text = match fs::read_to_string(data_dir.join(PEERS_FILE)) {
		Ok(text) => text,
		Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(HashMap::new()),
		Err(e) => return Err(e),
	};
	let mut peers = HashMap::new();
	for line in text.lines().filter(|l| !l.trim().is_empty()) {
		let peer = parse_peer(line)
			.map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{line}: {e}")))?;
		peers.insert(peer.0, peer.1);
	}
	Ok(peers)
}

/// Parses `pubkey@host:port`.
pub fn parse_peer(text: &str) -> Result<(PublicKey, SocketAddr), String> {
	let (key, addr) = text.trim().split_once('@').ok_or("expected pubkey@host:port")?;
	let key = key.parse().map_err(|e| format!("bad public key: {e}"))?;
	let addr = addr.parse().map_err(|e| format!("bad address: {e}"))?;
	Ok((key, addr))
}

/// Brings a channel monitor from its best block to the chain's tip.
fn sync_monitor(
	monitor: &ChannelMonitor<InMemorySigner>, chain: &FileChain, fee_estimator: &FixedFeeEstimator,
	logger: &NodeLogger,
) -> Result<(), NodeError> {
	let best = monitor.current_best_block();
	check_on_chain(chain, &best)?;
	for height in best.height + 1..=chain.tip_height()? {
		let block = chain_block(chain, height)?;
		let txdata: Vec<_> = block.txdata.iter().enumerate().collect();
		monitor.block_connected(&block.header, &txdata, height, chain, fee_estimator, logger);
	}
	Ok(())
}

fn chain_block(chain: &FileChain, height: u32) -> Result<Block, NodeError> {
	chain.block_at(height)?.ok_or_else(|| NodeError::State(format!("no block at {height}")))
}

/// Checks that `best` is a block of `chain`: the chain never reorganizes, so a node whose best
/// block is not on it was synced to another chain.
fn check_on_chain(chain: &FileChain, best: &BlockLocator) -> Result<(), NodeError> {
	if chain.block_hash_at(best.height)? != Some(best.block_hash) {
		return Err(NodeError::State(format!(
			"block {} at height {} is not in the chain directory",
			best.block_hash, best.height
		)));
	}
	Ok(())
}

fn user_config() -> UserConfig {
	let mut config = UserConfig::default();
	// Public channels, so that payers find routes through the gossip they receive.
	config.channel_handshake_config.announce_for_forwarding = true;
	// Anchor channels need on-chain funds to bump fees at close: more wallet than this example has.
	config.channel_handshake_config.negotiate_anchors_zero_fee_htlc_tx = false;
	config
}

impl Node {
	/// Starts the node from `config.data_dir`, creating a new node there if it is empty.
	///
	/// Reads the channel monitors, the `ChannelManager` (with the forwards waiting for the
	/// resource manager's decision), the network graph, the scorer and the resource manager's
	/// state from the store, brings them to the chain's tip, listens for peers, redials the
	/// peers it dialed before, and starts the background processor.
	pub async fn start(config: NodeConfig) -> Result<Node, NodeError> {
		fs::create_dir_all(&config.data_dir)?;
		let seed = read_or_create_seed(&config.data_dir)?;
		let start = now();
		let keys_manager =
			Arc::new(KeysManager::new(&seed, start.as_secs(), start.subsec_nanos(), true));
		let logger = Arc::new(NodeLogger::new(&config.name, config.log_level));
		let store = Arc::new(NodeStore::new(config.data_dir.join("ldk")));
		let chain = Arc::new(FileChain::open(&config.chain_dir)?);
		let fee_estimator = Arc::new(FixedFeeEstimator);
		let wallet = Arc::new(Wallet::new(&seed));

		let network_graph = match store.read(
			NETWORK_GRAPH_PERSISTENCE_PRIMARY_NAMESPACE,
			NETWORK_GRAPH_PERSISTENCE_SECONDARY_NAMESPACE,
			NETWORK_GRAPH_PERSISTENCE_KEY,
		) {
			Ok(bytes) => NetworkGraph::read(&mut &bytes[..], Arc::clone(&logger))
				.map_err(|e| NodeError::State(format!("network graph: {e:?}")))?,
			Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => {
				NetworkGraph::new(chain.network(), Arc::clone(&logger))
			},
			Err(e) => return Err(e.into()),
		};
		let network_graph = Arc::new(network_graph);
		let decay_params = ProbabilisticScoringDecayParameters::default();
		let scorer = match store.read(
			SCORER_PERSISTENCE_PRIMARY_NAMESPACE,
			SCORER_PERSISTENCE_SECONDARY_NAMESPACE,
			SCORER_PERSISTENCE_KEY,
		) {
			Ok(bytes) => {
				let args = (decay_params, Arc::clone(&network_graph), Arc::clone(&logger));
				Scorer::read(&mut &bytes[..], args)
					.map_err(|e| NodeError::State(format!("scorer: {e:?}")))?
			},
			Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => {
				Scorer::new(decay_params, Arc::clone(&network_graph), Arc::clone(&logger))
			},
			Err(e) => return Err(e.into()),
		};
		let scorer = Arc::new(RwLock::new(scorer));
		let router = Arc::new(DefaultRouter::new(
			Arc::clone(&network_graph),
			Arc::clone(&logger),
			Arc::clone(&keys_manager),
			Arc::clone(&scorer),
			ProbabilisticScoringFeeParameters::default(),
		));
		let message_router = Arc::new(DefaultMessageRouter::new(
			Arc::clone(&network_graph),
			Arc::clone(&keys_manager),
		));

		// The resource manager's history, stored next to the `ChannelManager`.
		let default_manager: Arc<DefaultManager> = Arc::new(
			persistence::read(
				Arc::clone(&store),
				ResourceManagerConfig::default(),
				Arc::clone(&keys_manager),
				Arc::clone(&logger),
			)
			.map_err(|e| NodeError::State(format!("resource manager: {e:?}")))?,
		);
		let resource_manager =
			Arc::new(HoldingResourceManager::new(default_manager, Arc::clone(&logger)));
		resource_manager.set_hold(config.hold_forwards);

		let chain_monitor: Arc<ChainMonitor> = Arc::new(chainmonitor::ChainMonitor::new(
			None,
			Arc::clone(&chain),
			Arc::clone(&logger),
			Arc::clone(&fee_estimator),
			Arc::clone(&store),
			Arc::clone(&keys_manager),
			keys_manager.get_peer_storage_key(),
			false,
		));

		let monitors = read_channel_monitors(
			Arc::clone(&store),
			Arc::clone(&keys_manager),
			Arc::clone(&keys_manager),
		)?;
		let mut monitors: Vec<ChannelMonitor<InMemorySigner>> =
			monitors.into_iter().map(|(_, monitor)| monitor).collect();
		let user_config = user_config();
		let channel_manager = match store.read(
			CHANNEL_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
			CHANNEL_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
			CHANNEL_MANAGER_PERSISTENCE_KEY,
		) {
			Ok(bytes) => {
				let args = ChannelManagerReadArgs::new(
					Arc::clone(&keys_manager),
					Arc::clone(&keys_manager),
					Arc::clone(&keys_manager),
					Arc::clone(&fee_estimator),
					Arc::clone(&chain_monitor),
					Arc::clone(&chain),
					Arc::clone(&router),
					Arc::clone(&message_router),
					Arc::clone(&resource_manager),
					Arc::clone(&logger),
					user_config,
					monitors.iter().collect(),
				);
				let (_, channel_manager) =
					<(BlockLocator, ChannelManager)>::read(&mut &bytes[..], args)
						.map_err(|e| NodeError::State(format!("channel manager: {e:?}")))?;
				channel_manager
			},
			Err(e) if e.kind() == lightning::io::ErrorKind::NotFound => {
				let params = ChainParameters {
					network: chain.network(),
					best_block: BlockLocator::from_network(chain.network()),
				};
				channelmanager::ChannelManager::new(
					Arc::clone(&fee_estimator),
					Arc::clone(&chain_monitor),
					Arc::clone(&chain),
					Arc::clone(&router),
					Arc::clone(&message_router),
					Arc::clone(&resource_manager),
					Arc::clone(&logger),
					Arc::clone(&keys_manager),
					Arc::clone(&keys_manager),
					Arc::clone(&keys_manager),
					user_config,
					params,
					start.as_secs() as u32,
				)
			},
			Err(e) => return Err(e.into()),
		};
		let channel_manager = Arc::new(channel_manager);

		// Bring everything to the chain's tip before the monitors go to the `ChainMonitor`.
		for monitor in &monitors {
			sync_monitor(monitor, &chain, &fee_estimator, &logger)?;
		}
		for monitor in monitors.drain(..) {
			let channel_id = monitor.channel_id();
			chain_monitor.load_existing_monitor(channel_id, monitor).map_err(|()| {
				NodeError::State(format!("channel monitor {channel_id} cannot be loaded"))
			})?;
		}
		let best = channel_manager.current_best_block();
		check_on_chain(&chain, &best)?;
		for height in 1..=best.height {
			wallet.block_connected(&chain_block(&chain, height)?);
		}
		let synced = ChainSync {
			chain: Arc::clone(&chain),
			chain_monitor: Arc::clone(&chain_monitor),
			channel_manager: Arc::clone(&channel_manager),
			wallet: Arc::clone(&wallet),
		};
		synced.sync_to_tip()?;

		let gossip_sync: Arc<P2PGossip> =
			Arc::new(P2PGossipSync::new(Arc::clone(&network_graph), None, Arc::clone(&logger)));
		let mut ephemeral_bytes = [0; 32];
		ephemeral_bytes.copy_from_slice(&keys_manager.get_secure_random_bytes());
		let peer_manager: Arc<PeerManager> = Arc::new(peer_handler::PeerManager::new(
			MessageHandler {
				chan_handler: Arc::clone(&channel_manager),
				route_handler: Arc::clone(&gossip_sync),
				onion_message_handler: IgnoringMessageHandler {},
				custom_message_handler: IgnoringMessageHandler {},
				send_only_message_handler: Arc::clone(&chain_monitor),
			},
			start.as_secs() as u32,
			&ephemeral_bytes,
			Arc::clone(&logger),
			Arc::clone(&keys_manager),
		));

		let mut tasks = Vec::new();
		let listener = TcpListener::bind(config.listen_addr).await?;
		let listen_addr = listener.local_addr()?;
		let listening_peer_manager = Arc::clone(&peer_manager);
		tasks.push(tokio::spawn(async move {
			loop {
				let stream = match listener.accept().await {
					Ok((stream, _)) => stream,
					Err(_) => continue,
				};
				if let Ok(stream) = stream.into_std() {
					let peer_manager = Arc::clone(&listening_peer_manager);
					tokio::spawn(lightning_net_tokio::setup_inbound(peer_manager, stream));
				}
			}
		}));

		tasks.push(tokio::spawn(async move {
			loop {
				tokio::time::sleep(CHAIN_POLL_INTERVAL).await;
				if let Err(e) = synced.sync_to_tip() {
					eprintln!("Chain sync stopped: {e}");
					return;
				}
			}
		}));

		let peers = Arc::new(Mutex::new(read_peers(&config.data_dir)?));
		let reconnect_peers = Arc::clone(&peers);
		let reconnect_peer_manager = Arc::clone(&peer_manager);
		tasks.push(tokio::spawn(async move {
			loop {
				let wanted: Vec<_> =
					reconnect_peers.lock().unwrap().iter().map(|(k, a)| (*k, *a)).collect();
				for (node_id, addr) in wanted {
					if reconnect_peer_manager.peer_by_node_id(&node_id).is_none() {
						let peer_manager = Arc::clone(&reconnect_peer_manager);
						let _ = lightning_net_tokio::connect_outbound(peer_manager, node_id, addr)
							.await;
					}
				}
				tokio::time::sleep(RECONNECT_INTERVAL).await;
			}
		}));

		let persisted_manager = Arc::clone(resource_manager.default_manager());
		let manager_store = Arc::clone(&store);
		tasks.push(tokio::spawn(async move {
			let mut last_written = persisted_manager.encode();
			loop {
				tokio::time::sleep(RESOURCE_MANAGER_PERSIST_INTERVAL).await;
				let state = persisted_manager.encode();
				if state != last_written {
					match persistence::persist(Arc::clone(&manager_store), &persisted_manager) {
						Ok(()) => last_written = state,
						Err(e) => eprintln!("Failed to persist the resource manager: {e}"),
					}
				}
			}
		}));

		let events = Arc::new(EventLog::default());
		let handler = Arc::new(EventHandler {
			channel_manager: Arc::clone(&channel_manager),
			wallet: Arc::clone(&wallet),
			events: Arc::clone(&events),
			name: config.name.clone(),
		});
		let (stop_sender, stop_receiver) = watch::channel(());
		let sleeper = move |duration: Duration| {
			let mut stop = stop_receiver.clone();
			Box::pin(async move {
				tokio::select! {
					_ = tokio::time::sleep(duration) => false,
					_ = stop.changed() => true,
				}
			})
		};
		let background = tokio::spawn(process_events_async_with_kv_store_sync(
			Arc::clone(&store),
			move |event| {
				let handler = Arc::clone(&handler);
				async move {
					handler.handle_event(event);
					Ok(())
				}
			},
			Arc::clone(&chain_monitor),
			Arc::clone(&channel_manager),
			NO_ONION_MESSENGER,
			GossipSync::p2p(Arc::clone(&gossip_sync)),
			Arc::clone(&peer_manager),
			NO_LIQUIDITY_MANAGER,
			None::<Arc<Sweeper>>,
			Arc::clone(&logger),
			Some(Arc::clone(&scorer)),
			sleeper,
			false,
			|| Some(now()),
		));

		Ok(Node {
			config,
			chain,
			store,
			keys_manager,
			wallet,
			channel_manager,
			peer_manager,
			network_graph,
			resource_manager,
			events,
			peers,
			listen_addr,
			stop_sender,
			background,
			tasks,
		})
	}

	/// The node's id.
	pub fn node_id(&self) -> PublicKey {
		self.channel_manager.get_our_node_id()
	}

	/// The address the node listens on.
	pub fn listen_addr(&self) -> SocketAddr {
		self.listen_addr
	}

	/// The config the node was started with (with the port it listens on filled in).
	pub fn config(&self) -> NodeConfig {
		NodeConfig { listen_addr: self.listen_addr, ..self.config.clone() }
	}

	/// The node's `ChannelManager`.
	pub fn channel_manager(&self) -> &Arc<ChannelManager> {
		&self.channel_manager
	}

	/// The node's view of the public network, from gossip.
	pub fn network_graph(&self) -> &Arc<NetworkGraph> {
		&self.network_graph
	}

	/// The default resource manager deciding the node's forwards.
	pub fn resource_manager(&self) -> &Arc<DefaultManager> {
		self.resource_manager.default_manager()
	}

	/// The events the node handled since it started.
	pub fn events(&self) -> Vec<Event> {
		self.events.all()
	}

	/// The node's channels.
	pub fn channels(&self) -> Vec<ChannelDetails> {
		self.channel_manager.list_channels()
	}

	/// The ids of the peers connected now.
	pub fn connected_peers(&self) -> Vec<PublicKey> {
		self.peer_manager.list_peers().into_iter().map(|p| p.counterparty_node_id).collect()
	}

	/// The height of the last block the node processed.
	pub fn best_block_height(&self) -> u32 {
		self.channel_manager.current_best_block().height
	}

	/// What the node's on-chain wallet holds.
	pub fn wallet_balance(&self) -> Amount {
		self.wallet.balance()
	}

	/// How many times the `ChannelManager` was written since the node started.
	pub fn channel_manager_writes(&self) -> u64 {
		self.store.channel_manager_writes()
	}

	/// Connects to `node_id` at `addr`, and keeps redialing it whenever the connection drops,
	/// after restarts too.
	pub async fn connect(&self, node_id: PublicKey, addr: SocketAddr) -> Result<(), NodeError> {
		let newly_added = self.peers.lock().unwrap().insert(node_id, addr) != Some(addr);
		if newly_added {
			let text: String = self
				.peers
				.lock()
				.unwrap()
				.iter()
				.map(|(key, addr)| format!("{key}@{addr}\n"))
				.collect();
			fs::write(self.config.data_dir.join(PEERS_FILE), text)?;
		}
		if self.peer_manager.peer_by_node_id(&node_id).is_some() {
			return Ok(());
		}
		let peer_manager = Arc::clone(&self.peer_manager);
		match lightning_net_tokio::connect_outbound(peer_manager, node_id, addr).await {
			Some(_) => Ok(()),
			None => Err(NodeError::Refused(format!("cannot connect to {addr}"))),
		}
	}

	/// Opens a public channel of `value_sat` to the connected peer `node_id`, funded by the
	/// node's wallet once the peer accepts.
	pub fn open_channel(&self, node_id: PublicKey, value_sat: u64) -> Result<ChannelId, NodeError> {
		self.channel_manager
			.create_channel(node_id, value_sat, 0, 0, None, None)
			.map_err(|e| NodeError::Refused(format!("{e:?}")))
	}

	/// The last hops to this node over each of its usable channels, as an invoice carries them:
	/// a payer routes to this node with them even before gossip told it of the channels.
	pub fn route_hints(&self) -> Vec<RouteHint> {
		let mut hints = Vec::new();
		for channel in self.channel_manager.list_usable_channels() {
			let (info, scid) = match (
				channel.counterparty.forwarding_info.as_ref(),
				channel.get_inbound_payment_scid(),
			) {
				(Some(info), Some(scid)) => (info, scid),
				_ => continue,
			};
			hints.push(RouteHint(vec![RouteHintHop {
				src_node_id: channel.counterparty.node_id,
				short_channel_id: scid,
				fees: RoutingFees {
					base_msat: info.fee_base_msat,
					proportional_millionths: info.fee_proportional_millionths,
				},
				cltv_expiry_delta: info.cltv_expiry_delta,
				htlc_minimum_msat: channel.inbound_htlc_minimum_msat,
				htlc_maximum_msat: channel.inbound_htlc_maximum_msat,
			}]));
		}
		hints
	}

	/// Pays `amount_msat` to `node_id` by keysend over a route found in the gossip and
	/// `route_hints` (see [`Self::route_hints`]), with no retry (so a failure shows).
	pub fn keysend(
		&self, node_id: PublicKey, amount_msat: u64, route_hints: Vec<RouteHint>,
	) -> Result<PaymentId, NodeError> {
		let payment_params =
			PaymentParameters::for_keysend(node_id, KEYSEND_FINAL_CLTV_EXPIRY_DELTA, false)
				.with_route_hints(route_hints)
				.map_err(|()| NodeError::Refused("route hints for a blinded payee".into()))?;
		let route_params =
			RouteParameters::from_payment_params_and_value(payment_params, amount_msat);
		let payment_id = PaymentId(self.keys_manager.get_secure_random_bytes());
		self.channel_manager
			.send_spontaneous_payment(
				None,
				RecipientOnionFields::spontaneous_empty(amount_msat),
				payment_id,
				route_params,
				Retry::Attempts(0),
			)
			.map_err(|e| NodeError::Refused(format!("{e:?}")))?;
		Ok(payment_id)
	}

	/// Mines `count` blocks paying this node's wallet, confirming the mempool. Returns the height
	/// of the new tip; the nodes process the blocks within [`CHAIN_POLL_INTERVAL`].
	pub fn mine(&self, count: u32) -> Result<u32, NodeError> {
		Ok(self.chain.mine(count, self.wallet.receive_script())?)
	}

	/// Whether forwards handed to the resource manager from now on wait for
	/// [`Self::release_forwards`].
	pub fn set_hold_forwards(&self, hold: bool) {
		self.resource_manager.set_hold(hold);
	}

	/// How many forwards wait for [`Self::release_forwards`].
	pub fn held_forwards(&self) -> usize {
		self.resource_manager.held_count()
	}

	/// Has the default manager decide the held forwards; returns how many it decided.
	pub fn release_forwards(&self) -> usize {
		let decisions = self.resource_manager.decide_held();
		let count = decisions.len();
		for (id, allocation) in decisions {
			if let Err(e) = self.channel_manager.allocate_resources(id, allocation) {
				eprintln!("[{}] decision refused: {e:?}", self.config.name);
			}
		}
		count
	}

	/// Stops the node cleanly: the background processor writes everything and exits, the
	/// resource manager's state is written, then connections and the listener are closed.
	pub async fn stop(self) -> Result<(), NodeError> {
		let _ = self.stop_sender.send(());
		let result = self.background.await;
		persistence::persist(Arc::clone(&self.store), self.resource_manager.default_manager())?;
		Self::close(self.tasks, &self.peer_manager).await;
		match result {
			Ok(result) => Ok(result?),
			Err(e) => Err(NodeError::State(format!("background processor: {e}"))),
		}
	}

	/// Kills the node as a crash would: nothing more is written, every task stops where it is,
	/// and the sockets close. What is on disk is what the node wrote before.
	pub async fn kill(self) {
		self.background.abort();
		let _ = self.background.await;
		Self::close(self.tasks, &self.peer_manager).await;
	}

	/// Stops the tasks and closes every socket, waiting until the listener is closed, so that a
	/// node started next can listen on the same port.
	async fn close(tasks: Vec<JoinHandle<()>>, peer_manager: &PeerManager) {
		for task in &tasks {
			task.abort();
		}
		for task in tasks {
			let _ = task.await;
		}
		peer_manager.disconnect_all_peers();
	}
}

/// Feeds the chain's blocks to the node, in order: the `ChainMonitor` first, then the
/// `ChannelManager`, then the wallet.
struct ChainSync {
	chain: Arc<FileChain>,
	chain_monitor: Arc<ChainMonitor>,
	channel_manager: Arc<ChannelManager>,
	wallet: Arc<Wallet>,
}

impl ChainSync {
	fn sync_to_tip(&self) -> Result<(), NodeError> {
		let mut best = self.channel_manager.current_best_block();
		while let Some(block) = self.chain.block_at(best.height + 1)? {
			if block.header.prev_blockhash != best.block_hash {
				return Err(NodeError::State(format!(
					"block {} does not build on our best block {}",
					block.block_hash(),
					best.block_hash
				)));
			}
			self.chain_monitor.block_connected(&block, best.height + 1);
			self.channel_manager.block_connected(&block, best.height + 1);
			self.wallet.block_connected(&block);
			best = self.channel_manager.current_best_block();
		}
		Ok(())
	}
}
