// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! Simulated time for the resource manager.
//!
//! `ChannelManager` stamps forward requests and resolutions with the wall clock. The demo runs
//! days of traffic in seconds, so [`SimulatedClockManager`] rewrites those stamps from a
//! [`SimulatedClock`] before handing them to the real manager, which uses no other time.

use lightning::ln::resource_manager::{
	ForwardRequest, ResourceAllocation, ResourceAllocationId, ResourceManager, ResourceNotification,
};

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// The simulation's clock, in seconds since the UNIX epoch, shared by the simulation (which
/// advances it) and the [`SimulatedClockManager`] (which reads it).
#[derive(Clone, Debug, Default)]
pub struct SimulatedClock(Arc<AtomicU64>);

impl SimulatedClock {
	/// A clock reading `unix_secs`.
	pub fn new(unix_secs: u64) -> Self {
		Self(Arc::new(AtomicU64::new(unix_secs)))
	}

	/// The current simulated time, in seconds since the UNIX epoch.
	pub fn now_secs(&self) -> u64 {
		self.0.load(Ordering::Relaxed)
	}

	/// Moves the clock to `unix_secs`.
	pub fn set(&self, unix_secs: u64) {
		self.0.store(unix_secs, Ordering::Relaxed);
	}

	fn now(&self) -> Duration {
		Duration::from_secs(self.now_secs())
	}
}

/// A [`ResourceManager`] that passes everything on to `inner` with the timestamps
/// `ChannelManager` took from the wall clock replaced by the [`SimulatedClock`]'s time.
///
/// The simulation delivers every message of a step before moving the clock, so the time a
/// notification is handed over is the time its event happened.
pub struct SimulatedClockManager<RM: ResourceManager> {
	inner: RM,
	clock: SimulatedClock,
}

impl<RM: ResourceManager> SimulatedClockManager<RM> {
	/// Wraps `inner`, stamping what it is handed with `clock`.
	pub fn new(inner: RM, clock: SimulatedClock) -> Self {
		Self { inner, clock }
	}
}

impl<RM: ResourceManager> ResourceManager for SimulatedClockManager<RM> {
	fn is_enabled(&self) -> bool {
		self.inner.is_enabled()
	}

	fn handle_notifications(&self, mut notifications: Vec<ResourceNotification>) {
		let now = self.clock.now();
		for notification in notifications.iter_mut() {
			match notification {
				ResourceNotification::ForwardResolved(resolved) => {
					resolved.resolved_at = now;
					// The wall-clock send time means nothing in simulated time.
					resolved.added_at = None;
				},
				ResourceNotification::ForwardInFlight(forward) => forward.added_at = now,
				_ => {},
			}
		}
		self.inner.handle_notifications(notifications)
	}

	fn handle_forward_requests(
		&self, mut requests: Vec<ForwardRequest>,
	) -> Vec<(ResourceAllocationId, ResourceAllocation)> {
		let now = self.clock.now();
		for request in requests.iter_mut() {
			request.queued_at = now;
		}
		self.inner.handle_forward_requests(requests)
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	use lightning::bitcoin::secp256k1::{PublicKey, Secp256k1, SecretKey};
	use lightning::ln::resource_manager::ResolvedForward;
	use lightning::ln::types::ChannelId;

	use std::sync::Mutex;

	/// Records what it is handed and forwards everything.
	#[derive(Default)]
	struct Recorder {
		requests: Mutex<Vec<ForwardRequest>>,
		notifications: Mutex<Vec<ResourceNotification>>,
	}

	impl ResourceManager for Recorder {
		fn is_enabled(&self) -> bool {
			true
		}

		fn handle_notifications(&self, notifications: Vec<ResourceNotification>) {
			self.notifications.lock().unwrap().extend(notifications);
		}

		fn handle_forward_requests(
			&self, requests: Vec<ForwardRequest>,
		) -> Vec<(ResourceAllocationId, ResourceAllocation)> {
			let decisions = requests
				.iter()
				.map(|request| {
					(request.id, ResourceAllocation::Forward { outgoing_accountable: false })
				})
				.collect();
			self.requests.lock().unwrap().extend(requests);
			decisions
		}
	}

	const WALL_CLOCK: Duration = Duration::from_secs(1_800_000_000);

	fn id() -> ResourceAllocationId {
		ResourceAllocationId { incoming_channel_id: ChannelId([1; 32]), incoming_htlc_id: 7 }
	}

	#[test]
	fn stamps_requests_and_resolutions_with_simulated_time() {
		let clock = SimulatedClock::new(1_700_000_000);
		let manager = SimulatedClockManager::new(Arc::new(Recorder::default()), clock.clone());
		let node_id = PublicKey::from_secret_key(
			&Secp256k1::new(),
			&SecretKey::from_slice(&[2; 32]).unwrap(),
		);
		let request = ForwardRequest {
			id: id(),
			incoming_counterparty_node_id: node_id,
			incoming_outbound_scid_alias: 42,
			incoming_amount_msat: 2_000,
			incoming_cltv_expiry: 900,
			incoming_accountable: false,
			upgrade_accountability: false,
			outgoing_short_channel_id: 43,
			outgoing_channel: None,
			outgoing_amount_msat: 1_000,
			outgoing_cltv_expiry: 800,
			forwarding_fee_msat: Some(1_000),
			released_by_user: false,
			best_block_height: 700,
			queued_at: WALL_CLOCK,
		};
		let decisions = manager.handle_forward_requests(vec![request.clone()]);
		assert_eq!(
			decisions,
			vec![(id(), ResourceAllocation::Forward { outgoing_accountable: false })]
		);

		clock.set(1_700_000_060);
		let resolved = ResolvedForward {
			id: id(),
			incoming_outbound_scid_alias: 42,
			outgoing_channel_id: None,
			outgoing_htlc_id: None,
			incoming_amount_msat: Some(2_000),
			outgoing_amount_msat: Some(1_000),
			fee_earned_msat: Some(1_000),
			settled: true,
			added_at: Some(WALL_CLOCK),
			resolved_at: WALL_CLOCK,
			outgoing_accountable: Some(false),
		};
		manager.handle_notifications(vec![ResourceNotification::ForwardResolved(resolved.clone())]);

		let recorder = &manager.inner;
		let handed = recorder.requests.lock().unwrap();
		assert_eq!(
			handed[..],
			[ForwardRequest { queued_at: Duration::from_secs(1_700_000_000), ..request }]
		);
		let notified = recorder.notifications.lock().unwrap();
		let expected = ResolvedForward {
			resolved_at: Duration::from_secs(1_700_000_060),
			added_at: None,
			..resolved
		};
		assert_eq!(notified[..], [ResourceNotification::ForwardResolved(expected)]);
	}
}
