// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! An example Lightning node built from the fork, with the default resource manager deciding
//! every forward.
//!
//! [`Node`] wires LDK's components as a node builder does:
//! - a [`ChannelManager`] whose resource manager is
//!   [`DefaultResourceManager`](lightning_resource_manager::DefaultResourceManager) (behind
//!   [`HoldingResourceManager`], which can hold its decisions to show a restart with a forward
//!   waiting in the queue);
//! - a [`ChainMonitor`] persisting channel monitors, and the `ChannelManager`, network graph and
//!   scorer, in `lightning-persister`'s filesystem store (wrapped by [`NodeStore`]), with the
//!   resource manager's state written next to the `ChannelManager` in the same store (whenever it
//!   changed, checked four times a second, and at a clean stop) and read back at start;
//! - the async background processor on tokio, which hands forwards to the resource manager
//!   before each forwarding pass;
//! - peers over TCP through `lightning-net-tokio`, redialed after a restart;
//! - public channels and keysend payments routed over the gossip the node receives.
//!
//! With no `bitcoind`, the nodes drive the chain themselves: [`FileChain`] is a regtest chain in
//! a directory all nodes share, mined by whichever node is asked to, confirming every broadcast
//! transaction; [`Wallet`] funds channels from the rewards of blocks the node mined. Neither is a
//! real chain or wallet: see their docs.
//!
//! Left out, as an example may: an output sweeper (`SpendableOutputs` after a channel closes are
//! only logged), an onion messenger (so no BOLT 12), invoices (payments are keysend), anchor
//! channels (they need a wallet that bumps fees) and reorgs (the shared chain never has one).
//!
//! The `example-node` binary runs one node with a command prompt; three of them sharing a chain
//! directory form a network by hand (see the README). `tests/three_nodes.rs` runs three nodes in
//! one process over loopback TCP and restarts the middle one while it holds a forward.
//!
//! [`ChannelManager`]: lightning::ln::channelmanager::ChannelManager
//! [`ChainMonitor`]: lightning::chain::chainmonitor::ChainMonitor
//! [`Node`]: node::Node
//! [`HoldingResourceManager`]: resource_manager::HoldingResourceManager
//! [`NodeStore`]: store::NodeStore
//! [`FileChain`]: chain::FileChain
//! [`Wallet`]: wallet::Wallet

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod chain;
pub mod logger;
pub mod node;
pub mod resource_manager;
pub mod store;
pub mod wallet;
