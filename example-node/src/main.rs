// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! `example-node`: one node of the example, driven by commands on standard input.
//!
//! Run three with the same `--chain-dir` and different `--data-dir`s and ports to form a network
//! by hand; see the README, "Build a node from the fork".

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Parser, Subcommand};
use example_node::node::{parse_peer, Node, NodeConfig};
use lightning::bitcoin::secp256k1::PublicKey;
use lightning::routing::gossip::RoutingFees;
use lightning::routing::router::{RouteHint, RouteHintHop};
use lightning::util::logger::Level;
use tokio::io::{AsyncBufReadExt, BufReader};

/// An example Lightning node built from the fork, with the default resource manager deciding
/// forwards, on a regtest chain the nodes mine themselves.
#[derive(Parser)]
#[command(version)]
struct Args {
	/// Where the node keeps its seed, its peers and LDK's store; created if missing.
	#[arg(long)]
	data_dir: PathBuf,
	/// The chain directory, the same for every node of the network.
	#[arg(long)]
	chain_dir: PathBuf,
	/// Where to listen for peers.
	#[arg(long, default_value = "127.0.0.1:9735")]
	listen: SocketAddr,
	/// The name in log lines; the data directory's name by default.
	#[arg(long)]
	name: Option<String>,
	/// The lowest level of LDK's log lines shown: error, warn, info, debug or trace.
	#[arg(long, default_value = "warn", value_parser = parse_level)]
	log_level: Level,
	/// Hold every forward until `release` (also the forwards queued before a restart).
	#[arg(long)]
	hold_forwards: bool,
}

fn parse_level(text: &str) -> Result<Level, String> {
	match text {
		"error" => Ok(Level::Error),
		"warn" => Ok(Level::Warn),
		"info" => Ok(Level::Info),
		"debug" => Ok(Level::Debug),
		"trace" => Ok(Level::Trace),
		_ => Err(format!("unknown level {text}")),
	}
}

/// Parses a route hint as the `hints` command prints it.
fn parse_hint(text: &str) -> Result<RouteHint, String> {
	let parts: Vec<&str> = text.split(':').collect();
	let [node, scid, base, ppm, cltv] = parts[..] else {
		return Err(format!("{text}: expected pubkey:scid:base_msat:ppm:cltv_delta"));
	};
	let bad = |what: &str| format!("{text}: bad {what}");
	Ok(RouteHint(vec![RouteHintHop {
		src_node_id: node.parse().map_err(|_| bad("public key"))?,
		short_channel_id: scid.parse().map_err(|_| bad("short channel id"))?,
		fees: RoutingFees {
			base_msat: base.parse().map_err(|_| bad("base fee"))?,
			proportional_millionths: ppm.parse().map_err(|_| bad("proportional fee"))?,
		},
		cltv_expiry_delta: cltv.parse().map_err(|_| bad("CLTV delta"))?,
		htlc_minimum_msat: None,
		htlc_maximum_msat: None,
	}]))
}

/// A command read from standard input.
#[derive(Parser)]
#[command(no_binary_name = true, disable_help_flag = true)]
struct Line {
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// The node's id, address, best block and wallet balance.
	Info,
	/// Connects to a peer, `pubkey@host:port`, and redials it whenever the connection drops.
	Connect { peer: String },
	/// Opens a public channel of `sats` to a connected peer, funded by the node's wallet.
	Open { node_id: PublicKey, sats: u64 },
	/// Mines blocks paying the node's wallet and confirming every broadcast transaction.
	Mine { count: u32 },
	/// Pays `msat` to a node by keysend, over a route found in the gossip and the node's `hints`.
	Pay { node_id: PublicKey, msat: u64, hints: Vec<String> },
	/// This node's route hints, `last_hop_pubkey:scid:base_msat:ppm:cltv_delta`, for payers.
	Hints,
	/// The node's channels.
	Channels,
	/// The connected peers.
	Peers,
	/// The events handled since the last `events`.
	Events,
	/// Hold forwards (`on`) or decide them at once (`off`).
	Hold { on_off: String },
	/// Has the resource manager decide the held forwards.
	Release,
	/// What the resource manager knows of each channel.
	Manager,
	/// Stops the node cleanly. (Kill the process instead to see a crash.)
	Stop,
}

#[tokio::main]
async fn main() {
	let args = Args::parse();
	let name = args.name.clone().unwrap_or_else(|| {
		args.data_dir.file_name().map_or("node".into(), |n| n.to_string_lossy().into_owned())
	});
	let config = NodeConfig {
		name,
		data_dir: args.data_dir,
		chain_dir: args.chain_dir,
		listen_addr: args.listen,
		log_level: args.log_level,
		hold_forwards: args.hold_forwards,
	};
	let node = match Node::start(config).await {
		Ok(node) => node,
		Err(e) => {
			eprintln!("Cannot start the node: {e}");
			std::process::exit(1);
		},
	};
	println!("{}@{}", node.node_id(), node.listen_addr());
	let mut lines = BufReader::new(tokio::io::stdin()).lines();
	let mut events_shown = 0;
	while let Ok(Some(line)) = lines.next_line().await {
		let words: Vec<&str> = line.split_whitespace().collect();
		if words.is_empty() {
			continue;
		}
		let command = match Line::try_parse_from(words) {
			Ok(line) => line.command,
			Err(e) => {
				println!("{e}");
				continue;
			},
		};
		if let Command::Stop = command {
			break;
		}
		run(&node, command, &mut events_shown).await;
	}
	if let Err(e) = node.stop().await {
		eprintln!("Stopping: {e}");
	}
}

async fn run(node: &Node, command: Command, events_shown: &mut usize) {
	match command {
		Command::Info => {
			println!("node id   {}", node.node_id());
			println!("listening {}", node.listen_addr());
			println!("height    {}", node.best_block_height());
			println!("wallet    {}", node.wallet_balance());
			println!("held      {} forwards", node.held_forwards());
		},
		Command::Connect { peer } => match parse_peer(&peer) {
			Ok((node_id, addr)) => match node.connect(node_id, addr).await {
				Ok(()) => println!("connected"),
				Err(e) => println!("{e}"),
			},
			Err(e) => println!("{e}"),
		},
		Command::Open { node_id, sats } => match node.open_channel(node_id, sats) {
			Ok(channel_id) => println!("opening channel {channel_id}"),
			Err(e) => println!("{e}"),
		},
		Command::Mine { count } => match node.mine(count) {
			Ok(height) => println!("tip at {height}"),
			Err(e) => println!("{e}"),
		},
		Command::Pay { node_id, msat, hints } => {
			let hints: Result<Vec<RouteHint>, String> =
				hints.iter().map(|h| parse_hint(h)).collect();
			match hints.map(|hints| node.keysend(node_id, msat, hints)) {
				Ok(Ok(payment_id)) => println!("sending payment {payment_id}"),
				Ok(Err(e)) => println!("{e}"),
				Err(e) => println!("{e}"),
			}
		},
		Command::Hints => {
			for hint in node.route_hints() {
				for hop in hint.0 {
					println!(
						"{}:{}:{}:{}:{}",
						hop.src_node_id,
						hop.short_channel_id,
						hop.fees.base_msat,
						hop.fees.proportional_millionths,
						hop.cltv_expiry_delta
					);
				}
			}
		},
		Command::Channels => {
			for c in node.channels() {
				println!(
					"{} peer {} scid {:?} value {} sat out {} msat in {} msat usable {} htlcs {}/{}",
					c.channel_id,
					c.counterparty.node_id,
					c.short_channel_id,
					c.channel_value_satoshis,
					c.outbound_capacity_msat,
					c.inbound_capacity_msat,
					c.is_usable,
					c.pending_inbound_htlcs.len(),
					c.pending_outbound_htlcs.len(),
				);
			}
		},
		Command::Peers => {
			for peer in node.connected_peers() {
				println!("{peer}");
			}
		},
		Command::Events => {
			let events = node.events();
			for event in &events[(*events_shown).min(events.len())..] {
				println!("{event:?}");
			}
			*events_shown = events.len();
		},
		Command::Hold { on_off } => match on_off.as_str() {
			"on" => node.set_hold_forwards(true),
			"off" => node.set_hold_forwards(false),
			_ => println!("hold on|off"),
		},
		Command::Release => println!("released {} forwards", node.release_forwards()),
		Command::Manager => {
			let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
			for snapshot in node.resource_manager().channel_snapshots(now) {
				println!("{snapshot:?}");
			}
			println!("{:?}", node.resource_manager().stats());
		},
		Command::Stop => {},
	}
}
