// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! The default resource manager for LDK's forwarding accountability API.
//!
//! It implements the local resource conservation recommendations of the BOLT proposal for the
//! `accountable` HTLC signal: an outgoing channel's reputation is weighed against the revenue
//! of the incoming channel, and the incoming channel's HTLC slots and liquidity are split into
//! general, congestion and protected buckets, so that a peer holding HTLCs cannot jam the
//! channel for peers that have earned their reputation.
//!
//! [`DefaultResourceManager`] is the algorithm; the spec it implements is summarized in the module
//! docs: [`outgoing_reputation`], [`incoming_revenue_threshold`], [`in_flight_risk`], [`buckets`]
//! (general, congestion, protected), [`slot_assignment`] and [`decision`]. Its history is persisted
//! with [`persistence`]. It is deterministic: every time it uses comes from its inputs.
//!
//! # Example
//!
//! ```
//! use lightning::ln::types::ChannelId;
//! use lightning::sign::EntropySource;
//! use lightning::util::logger::{Logger, Record};
//! use lightning_resource_manager::{
//!     ChannelInfo, Decision, DefaultResourceManager, ForwardRequest, HtlcId, HtlcResolution,
//!     ResourceBucket, ResourceManagerConfig,
//! };
//!
//! struct Entropy;
//! impl EntropySource for Entropy {
//!     fn get_secure_random_bytes(&self) -> [u8; 32] {
//!         [42; 32] // Use a real source of randomness, such as a `KeysManager`.
//!     }
//! }
//! struct NoLogs;
//! impl Logger for NoLogs {
//!     fn log(&self, _record: Record) {}
//! }
//!
//! let manager = DefaultResourceManager::new(ResourceManagerConfig::default(), &Entropy, &NoLogs)
//!     .expect("the defaults are valid");
//! for scid in [1, 2] {
//!     manager.channel_ready(&ChannelInfo {
//!         short_channel_id: scid,
//!         channel_id: ChannelId([scid as u8; 32]),
//!         max_accepted_htlcs: 483,
//!         max_htlc_value_in_flight_msat: 100_000_000,
//!     });
//! }
//! let request = ForwardRequest {
//!     id: HtlcId { incoming_scid: 1, incoming_htlc_id: 0 },
//!     outgoing_scid: 2,
//!     incoming_amount_msat: 101_000,
//!     outgoing_amount_msat: 100_000,
//!     fee_msat: 1_000,
//!     incoming_cltv_expiry: 800_080,
//!     height: 800_000,
//!     incoming_accountable: false,
//!     upgrade_accountability_allowed: false,
//!     released_by_user: false,
//!     now_secs: 1_700_000_000,
//! };
//! let decision = manager.add_htlc(&request);
//! assert_eq!(
//!     decision,
//!     Decision::Forward { outgoing_accountable: false, bucket: ResourceBucket::General }
//! );
//! manager.resolve_htlc(&HtlcResolution {
//!     id: request.id,
//!     settled: true,
//!     resolved_at_secs: 1_700_000_002,
//!     outgoing_scid: None,
//! });
//! let snapshot = manager.channel_snapshot(2, 1_700_000_002).unwrap();
//! assert_eq!(snapshot.outgoing_reputation_msat, 1_000.0);
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub mod buckets;
pub mod channel_manager;
pub mod config;
pub mod decaying_average;
pub mod decision;
pub mod in_flight_risk;
pub mod incoming_revenue_threshold;
pub mod introspection;
mod manager;
pub mod outgoing_reputation;
pub mod persistence;
pub mod slot_assignment;

#[cfg(test)]
mod soundness_tests;
#[cfg(test)]
mod tests;

pub use buckets::congestion::CongestionIneligibility;
pub use buckets::{BucketLimits, BucketUsage, ResourceBucket};
pub use config::{ConfigError, Mode, ResourceManagerConfig, UnmarkedProtectedPolicy};
pub use decision::{
	ChannelInfo, Decision, FailureReason, ForwardRequest, HtlcId, HtlcResolution, ReplayOutcome,
	ReplayedForward, ResolveOutcome,
};
pub use introspection::{ChannelSnapshot, FailureCounts, ResourceManagerStats};
pub use manager::DefaultResourceManager;

mod prelude {
	#![allow(unused_imports)]
	pub use alloc::{vec, vec::Vec};
}
