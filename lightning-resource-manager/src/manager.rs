// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! [`DefaultResourceManager`]: the algorithm, put together.

use crate::buckets::congestion::{CongestionBucket, CongestionRequest};
use crate::buckets::general::{GeneralBucket, GeneralCheck, NO_SLOT};
use crate::buckets::protected::ProtectedBucket;
use crate::buckets::{BucketSplit, ResourceBucket};
use crate::config::{ConfigError, Mode, ResourceManagerConfig};
use crate::decision::{
	decide, Allocation, ChannelInfo, Decision, FailureReason, ForwardRequest, HtlcId,
	HtlcResolution, ReplayOutcome, ReplayedForward, ResolveOutcome, TableInputs,
};
use crate::in_flight_risk::{hold_blocks, htlc_risk_numerator, InFlightRisk};
use crate::incoming_revenue_threshold::IncomingRevenue;
use crate::introspection::{ChannelSnapshot, ResourceManagerStats};
use crate::outgoing_reputation::{effective_fee, OutgoingReputation};
use crate::prelude::*;

use core::ops::{Deref, DerefMut};

use lightning::ln::types::ChannelId;
use lightning::sign::EntropySource;
use lightning::util::hash_tables::{new_hash_map, new_hash_set, HashMap, HashSet};
use lightning::util::logger::Logger;
use lightning::{log_debug, log_trace};

/// Everything known about one channel, in both its roles.
#[derive(Clone, Debug)]
pub(crate) struct ChannelState {
	pub(crate) channel_id: Option<ChannelId>,
	/// The key of the general bucket's slot assignment, random and persisted.
	pub(crate) salt: [u8; 32],
	/// `max_accepted_htlcs` and `max_htlc_value_in_flight_msat`, once known.
	pub(crate) limits: Option<(u16, u64)>,
	pub(crate) reputation: OutgoingReputation,
	pub(crate) in_flight_risk: InFlightRisk,
	pub(crate) last_slow_congestion_resolution_secs: Option<u64>,
	pub(crate) revenue: IncomingRevenue,
	pub(crate) general: GeneralBucket,
	pub(crate) congestion: CongestionBucket,
	pub(crate) protected: ProtectedBucket,
	pub(crate) unallocated_htlcs: u32,
	/// How many forwards onto this channel had their lack of reputation waived by the JIT rule.
	pub(crate) jit_waived_htlcs: u16,
}

impl ChannelState {
	pub(crate) fn new(salt: [u8; 32], config: &ResourceManagerConfig, now_secs: u64) -> Self {
		Self {
			channel_id: None,
			salt,
			limits: None,
			reputation: OutgoingReputation::new(config.reputation_window_secs(), now_secs),
			in_flight_risk: InFlightRisk::default(),
			last_slow_congestion_resolution_secs: None,
			revenue: IncomingRevenue::new(
				config.revenue_window_secs,
				config.revenue_window_count,
				now_secs,
			),
			general: GeneralBucket::default(),
			congestion: CongestionBucket::default(),
			protected: ProtectedBucket::default(),
			unallocated_htlcs: 0,
			jit_waived_htlcs: 0,
		}
	}

	pub(crate) fn set_limits(
		&mut self, max_accepted_htlcs: u16, max_htlc_value_in_flight_msat: u64,
		config: &ResourceManagerConfig,
	) {
		self.limits = Some((max_accepted_htlcs, max_htlc_value_in_flight_msat));
		let split = BucketSplit::new(max_accepted_htlcs, max_htlc_value_in_flight_msat, config);
		self.general.set_limits(split.general);
		self.congestion.set_limits(split.congestion);
		self.protected.set_limits(split.protected);
	}

	fn snapshot(
		&self, scid: u64, now_secs: u64, config: &ResourceManagerConfig,
	) -> ChannelSnapshot {
		ChannelSnapshot {
			short_channel_id: scid,
			channel_id: self.channel_id,
			outgoing_reputation_msat: self.reputation.value_at(now_secs),
			in_flight_risk_msat: self.in_flight_risk.value(config.resolution_period_secs),
			risk_bearing_htlcs_in_flight: self.in_flight_risk.htlcs(),
			resolved_outgoing_htlcs: self.reputation.resolved_htlcs(),
			last_slow_congestion_resolution_secs: self.last_slow_congestion_resolution_secs,
			incoming_revenue_threshold_msat: self.revenue.threshold_at(now_secs),
			general: self.general.usage(),
			congestion: self.congestion.usage(),
			protected: self.protected.usage(),
			unallocated_htlcs: self.unallocated_htlcs,
		}
	}
}

/// A forwarded HTLC in flight: what its resolution needs, in 40 bytes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct PendingHtlc {
	outgoing_scid: u64,
	incoming_amount_msat: u64,
	fee_msat: u64,
	added_at_secs: u64,
	/// `incoming_cltv_expiry - height` when added, for its in-flight risk.
	hold_blocks: u32,
	/// The general slot, or [`NO_SLOT`].
	general_slot: u16,
	/// The bucket, and [`INCOMING_CLOSED`] and [`OUTGOING_CLOSED`].
	bucket: u8,
	outgoing_accountable: bool,
}

/// Set in [`PendingHtlc::bucket`] once the HTLC's incoming channel closed (or was not known when
/// the HTLC was replayed): it holds nothing there any more.
const INCOMING_CLOSED: u8 = 0x40;
/// Set in [`PendingHtlc::bucket`] once the HTLC's outgoing channel closed (or was not known when
/// the HTLC was replayed).
const OUTGOING_CLOSED: u8 = 0x80;

impl PendingHtlc {
	fn bucket(&self) -> ResourceBucket {
		ResourceBucket::from_u8(self.bucket & !(INCOMING_CLOSED | OUTGOING_CLOSED))
	}

	fn incoming_open(&self) -> bool {
		self.bucket & INCOMING_CLOSED == 0
	}

	fn outgoing_open(&self) -> bool {
		self.bucket & OUTGOING_CLOSED == 0
	}

	/// Whether the HTLC carries its in-flight risk against its outgoing channel, and a slow
	/// resolution costs that channel reputation: when it left `accountable`, and whenever it
	/// holds protected or congestion resources, whatever its signal, so that no HTLC holds them
	/// for free. A forward [`Mode::Shadow`] let through without resources bears none: in
	/// enforce mode it would not exist.
	fn bears_risk(&self) -> bool {
		match self.bucket() {
			ResourceBucket::Protected | ResourceBucket::Congestion => true,
			ResourceBucket::General => self.outgoing_accountable,
			ResourceBucket::Unallocated => false,
		}
	}

	fn risk_numerator(&self, resolution_period_secs: u64) -> u128 {
		htlc_risk_numerator(self.fee_msat, self.hold_blocks, resolution_period_secs)
	}
}

/// The bucket (and general slot) an HTLC in flight held when the state was persisted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct RecordedBucket {
	pub(crate) bucket: ResourceBucket,
	/// The general slot, or [`NO_SLOT`].
	pub(crate) general_slot: u16,
}

/// The mutable state, behind the manager's lock.
pub(crate) struct State {
	pub(crate) channels: HashMap<u64, ChannelState>,
	/// The key in `channels` of each channel whose id we know.
	scids_by_channel_id: HashMap<ChannelId, u64>,
	pending: HashMap<HtlcId, PendingHtlc>,
	/// The bucket (and general slot) each HTLC then in flight held when the state was read, for
	/// the startup replay to put it back there; dropped at the first request after it.
	replay_buckets: HashMap<HtlcId, RecordedBucket>,
	/// While `ChannelManager` replays what is open and in flight after a load, what it
	/// reported so far.
	replay: Option<Replay>,
	stats: ResourceManagerStats,
}

/// The channels and HTLCs a replay reported.
struct Replay {
	channels: HashSet<u64>,
	htlcs: HashSet<HtlcId>,
}

impl State {
	pub(crate) fn new(
		channels: HashMap<u64, ChannelState>, replay_buckets: HashMap<HtlcId, RecordedBucket>,
	) -> Self {
		let scids_by_channel_id = channels
			.iter()
			.filter_map(|(scid, channel)| Some((channel.channel_id?, *scid)))
			.collect();
		let stats = ResourceManagerStats::default();
		let pending = new_hash_map();
		Self { channels, scids_by_channel_id, pending, replay_buckets, replay: None, stats }
	}

	/// The bucket of each HTLC in flight, and of each one still to be replayed, so that state
	/// written before the replay is over keeps them.
	pub(crate) fn buckets_in_flight(&self) -> impl Iterator<Item = (HtlcId, RecordedBucket)> + '_ {
		let in_flight = self.pending.iter().map(|(id, htlc)| {
			(*id, RecordedBucket { bucket: htlc.bucket(), general_slot: htlc.general_slot })
		});
		let to_replay = self.replay_buckets.iter().map(|(id, recorded)| (*id, *recorded));
		in_flight.chain(to_replay.filter(|(id, _)| !self.pending.contains_key(id)))
	}
}

#[cfg(feature = "std")]
type Lock<T> = std::sync::Mutex<T>;
#[cfg(not(feature = "std"))]
type Lock<T> = core::cell::RefCell<T>;

/// The default resource manager: the local resource conservation algorithm of the BOLT proposal
/// for the `accountable` HTLC signal.
///
/// Each incoming channel's slots and liquidity are split into general, congestion and protected
/// buckets (see [`buckets`]); each outgoing channel earns an [`outgoing_reputation`] that must
/// clear the incoming channel's [`incoming_revenue_threshold`] for the HTLC to reach protected
/// resources. The decision table is in [`decision`].
///
/// # Sufficient reputation
///
/// An outgoing channel has sufficient reputation for a new HTLC when
///
/// `outgoing_reputation - in_flight_risk - htlc_risk >= incoming_revenue_threshold`
///
/// where `htlc_risk` is the new HTLC's **own** risk, the [`opportunity_cost`] of holding it until
/// its incoming CLTV expiry. Counting it means a channel cannot take an HTLC whose worst case
/// would already exceed its margin, and a large fee cannot be used to reach protected resources
/// with a long hold: the larger the fee, the larger the risk.
///
/// # JIT channels
///
/// A forward with [`ForwardRequest::released_by_user`] set, onto an outgoing channel with no
/// history (no outgoing HTLC on it was ever resolved, [`ChannelSnapshot::resolved_outgoing_htlcs`]
/// is zero), is treated as having sufficient reputation, for at most
/// [`ResourceManagerConfig::jit_waiver_max_htlcs`] forwards per channel, and only while the
/// forward fits in half the incoming channel's protected bucket. This is the payment an
/// LSPS2 service releases onto the JIT channel it just opened to its client; every other rule
/// (bucket room, the outgoing `accountable` rule, the relay rule) still applies, and the waived
/// HTLCs carry their risk like any other on protected resources. Once the channel has resolved
/// an HTLC, or used up its waivers, it is judged by its reputation like any other.
///
/// A payer can trigger the waiver: paying a client of an LSPS2 service makes it intercept the
/// HTLCs, open a channel and release them, with no decision of the user. The bound makes a
/// waiver cost the attacker a channel open per few HTLCs it holds (paid by the LSP, if the
/// attacker never settles), and holding them costs that channel its reputation. Buying a
/// channel per block, an attacker would still collect fresh waivers without end: the half of the
/// protected bucket they may not touch is what keeps the incoming channel's protection for the
/// outgoing channels that earned it. Waivers used are counted in
/// [`ResourceManagerStats::jit_reputation_waivers`] and persisted.
///
/// # Modes
///
/// In [`Mode::Enforce`] a rejected forward is answered with [`Decision::Fail`]. In
/// [`Mode::Shadow`] it is forwarded with [`ResourceBucket::Unallocated`], its `accountable` signal
/// relayed as it arrived (the algorithm would have set none, as it would have failed it), and
/// counted in [`ResourceManagerStats::would_have_failed`]; everything else, including the signal
/// of forwards the algorithm accepts, is as in enforce mode. A forward let through that way
/// touches nothing the algorithm weighs (no bucket, no risk, no reputation, no revenue), as it
/// would not exist in enforce mode: shadow mode decides exactly as enforce mode would on the
/// same traffic, and its counts do not grow on their own.
///
/// # Unmarked HTLCs on protected resources
///
/// Every HTLC on protected or congestion resources carries its in-flight risk against its
/// outgoing channel, and a slow resolution of it costs that channel reputation as if it had left
/// `accountable`, whatever signal it left with (see [`UnmarkedProtectedPolicy`]). Without this an
/// outgoing channel that earned reputation once could fill protected buckets with HTLCs it holds
/// to expiry, keep its reputation and start again (the proposal's "about-turn").
///
/// # Accounting
///
/// Every forward is balanced by exactly one [`resolve_htlc`], or [`request_timed_out`] when it
/// never went out, or a [`replay_complete`] that did not report it. A repeated request or replay for an HTLC in flight changes
/// nothing; a resolution for an HTLC not in flight is counted
/// ([`ResourceManagerStats::unknown_resolutions`]), logged, and ignored. Nothing panics on bad
/// input.
///
/// Time only comes from the inputs, never from a clock. Adding and resolving costs the same
/// whatever the number of channels and HTLCs in flight: usage and risk are running sums, and the
/// general slots are recomputed with one ChaCha20 block rather than cached. Nothing allocates in
/// steady state.
///
/// [`buckets`]: crate::buckets
/// [`decision`]: crate::decision
/// [`outgoing_reputation`]: crate::outgoing_reputation
/// [`incoming_revenue_threshold`]: crate::incoming_revenue_threshold
/// [`opportunity_cost`]: crate::outgoing_reputation::opportunity_cost
/// [`resolve_htlc`]: Self::resolve_htlc
/// [`request_timed_out`]: Self::request_timed_out
/// [`replay_complete`]: Self::replay_complete
/// [`UnmarkedProtectedPolicy`]: crate::UnmarkedProtectedPolicy
/// [`ResourceManagerConfig::jit_waiver_max_htlcs`]: crate::ResourceManagerConfig::jit_waiver_max_htlcs
pub struct DefaultResourceManager<ES: Deref, L: Deref>
where
	ES::Target: EntropySource,
	L::Target: Logger,
{
	pub(crate) config: ResourceManagerConfig,
	entropy_source: ES,
	pub(crate) logger: L,
	state: Lock<State>,
}

impl<ES: Deref, L: Deref> DefaultResourceManager<ES, L>
where
	ES::Target: EntropySource,
	L::Target: Logger,
{
	/// Creates a manager with no history, after checking `config`.
	///
	/// `entropy_source` draws one random salt per channel (see [`slot_assignment`]).
	///
	/// [`slot_assignment`]: crate::slot_assignment
	pub fn new(
		config: ResourceManagerConfig, entropy_source: ES, logger: L,
	) -> Result<Self, ConfigError> {
		Self::from_state(config, entropy_source, logger, State::new(new_hash_map(), new_hash_map()))
	}

	pub(crate) fn from_state(
		config: ResourceManagerConfig, entropy_source: ES, logger: L, state: State,
	) -> Result<Self, ConfigError> {
		config.validate()?;
		Ok(Self { config, entropy_source, logger, state: Lock::new(state) })
	}

	/// The configuration.
	pub fn config(&self) -> &ResourceManagerConfig {
		&self.config
	}

	#[cfg(feature = "std")]
	pub(crate) fn state(&self) -> impl DerefMut<Target = State> + '_ {
		self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
	}

	#[cfg(not(feature = "std"))]
	pub(crate) fn state(&self) -> impl DerefMut<Target = State> + '_ {
		self.state.borrow_mut()
	}

	fn channel_entry<'a>(
		&self, channels: &'a mut HashMap<u64, ChannelState>, scid: u64, now_secs: u64,
	) -> &'a mut ChannelState {
		channels.entry(scid).or_insert_with(|| {
			ChannelState::new(self.entropy_source.get_secure_random_bytes(), &self.config, now_secs)
		})
	}

	/// A channel became ready, or changed (a splice changed its limits). Its buckets are resized;
	/// HTLCs in flight stay counted. Call it before any forward over the channel: forwards from a
	/// channel never named here fail with [`FailureReason::UnknownIncomingChannel`].
	pub fn channel_ready(&self, info: &ChannelInfo) {
		let mut state = self.state();
		if let Some(replay) = state.replay.as_mut() {
			replay.channels.insert(info.short_channel_id);
		}
		state.scids_by_channel_id.insert(info.channel_id, info.short_channel_id);
		let channel = self.channel_entry(&mut state.channels, info.short_channel_id, 0);
		channel.channel_id = Some(info.channel_id);
		channel.set_limits(
			info.max_accepted_htlcs,
			info.max_htlc_value_in_flight_msat,
			&self.config,
		);
		log_trace!(
			self.logger,
			"Resource manager: channel {} ({}) has {} slots and {} msat in flight",
			info.short_channel_id,
			info.channel_id,
			info.max_accepted_htlcs,
			info.max_htlc_value_in_flight_msat
		);
	}

	/// A channel changed; the same as [`Self::channel_ready`].
	pub fn channel_changed(&self, info: &ChannelInfo) {
		self.channel_ready(info)
	}

	/// A channel closed: everything known about it, its reputation, revenue and salt included,
	/// is forgotten. The HTLCs in flight from or to it stay in flight until they are resolved
	/// (on chain, if need be): until then an HTLC still holds its incoming channel's resources,
	/// and its resolution still counts towards its outgoing channel's reputation, whichever of
	/// the two closed.
	pub fn channel_closed(&self, short_channel_id: u64) {
		let mut state = self.state();
		let State { channels, scids_by_channel_id, pending, .. } = &mut *state;
		if let Some(channel_id) = channels.remove(&short_channel_id).and_then(|c| c.channel_id) {
			scids_by_channel_id.remove(&channel_id);
		}
		let mut in_flight = 0;
		for (id, htlc) in pending.iter_mut() {
			if id.incoming_scid == short_channel_id {
				htlc.bucket |= INCOMING_CLOSED;
				in_flight += 1;
			}
			if htlc.outgoing_scid == short_channel_id {
				htlc.bucket |= OUTGOING_CLOSED;
				in_flight += 1;
			}
		}
		log_debug!(
			self.logger,
			"Resource manager: channel {} closed with {} HTLCs in flight",
			short_channel_id,
			in_flight
		);
	}

	/// `ChannelManager` was loaded and starts reporting every usable channel
	/// ([`Self::channel_ready`]) and every forward in flight ([`Self::replay_forward`]), until
	/// [`Self::replay_complete`].
	pub fn replay_started(&self) {
		self.state().replay = Some(Replay { channels: new_hash_set(), htlcs: new_hash_set() });
	}

	/// The replay [`Self::replay_started`] began is over: the channels and HTLCs it did not
	/// report closed or were resolved while their notification was lost, and are forgotten (an
	/// HTLC is released without touching any reputation or revenue, as its outcome is unknown).
	/// Without a replay under way, does nothing.
	pub fn replay_complete(&self) {
		let mut state = self.state();
		let State { channels, scids_by_channel_id, pending, replay, stats, .. } = &mut *state;
		let replay = match replay.take() {
			Some(replay) => replay,
			None => return,
		};
		let rp = self.config.resolution_period_secs;
		let mut forgotten_htlcs = 0u64;
		pending.retain(|id, htlc| {
			if replay.htlcs.contains(id) {
				return true;
			}
			release(channels, id, htlc, rp);
			forgotten_htlcs += 1;
			false
		});
		let before = channels.len();
		channels.retain(|scid, _| replay.channels.contains(scid));
		scids_by_channel_id.retain(|_, scid| replay.channels.contains(scid));
		let forgotten_channels = (before - channels.len()) as u64;
		stats.forgotten_after_replay_htlcs += forgotten_htlcs;
		stats.forgotten_after_replay_channels += forgotten_channels;
		log_debug!(
			self.logger,
			"Resource manager: replay complete, forgot {} channels and {} HTLCs it did not report",
			forgotten_channels,
			forgotten_htlcs
		);
	}

	/// The short channel id under which [`Self::channel_ready`] was told of the channel with id
	/// `channel_id`, if it was and the channel is not closed.
	pub fn short_channel_id(&self, channel_id: &ChannelId) -> Option<u64> {
		self.state().scids_by_channel_id.get(channel_id).copied()
	}

	/// Decides on a forward. A request for an HTLC already in flight is answered with the
	/// decision recorded for it, and changes nothing.
	pub fn add_htlc(&self, request: &ForwardRequest) -> Decision {
		let mut state = self.state();
		self.add_htlc_locked(&mut state, request)
	}

	/// Decides on a batch of forwards, in order, appending the decisions to `decisions`. The same
	/// as calling [`Self::add_htlc`] on each in turn: decisions do not depend on batching.
	pub fn add_htlcs(&self, requests: &[ForwardRequest], decisions: &mut Vec<Decision>) {
		let mut state = self.state();
		decisions.reserve(requests.len());
		for request in requests {
			let decision = self.add_htlc_locked(&mut state, request);
			decisions.push(decision);
		}
	}

	fn add_htlc_locked(&self, state: &mut State, req: &ForwardRequest) -> Decision {
		if !state.replay_buckets.is_empty() {
			// The startup replay is over.
			state.replay_buckets = new_hash_map();
		}
		if let Some(htlc) = state.pending.get(&req.id) {
			state.stats.duplicate_adds += 1;
			return Decision::Forward {
				outgoing_accountable: htlc.outgoing_accountable,
				bucket: htlc.bucket(),
			};
		}
		let config = &self.config;
		let rp = config.resolution_period_secs;
		let hold = hold_blocks(req.incoming_cltv_expiry, req.height);
		let own_risk_numerator = htlc_risk_numerator(req.fee_msat, hold, rp);

		let mut jit_waiver = false;
		let result = match state.channels.get(&req.id.incoming_scid) {
			Some(incoming) if incoming.limits.is_some() => {
				let outgoing = state.channels.get(&req.outgoing_scid);
				let (reputation, risk, has_history, last_slow, waivers) = match outgoing {
					Some(c) => (
						c.reputation.value_at(req.now_secs),
						c.in_flight_risk.value(rp),
						c.reputation.resolved_htlcs() > 0,
						c.last_slow_congestion_resolution_secs,
						c.jit_waived_htlcs,
					),
					None => (0.0, 0.0, false, None, 0),
				};
				let threshold = incoming.revenue.threshold_at(req.now_secs);
				let own_risk = own_risk_numerator as f64 / rp as f64;
				let mut sufficient = reputation - risk - own_risk >= threshold;
				jit_waiver = !sufficient
					&& req.released_by_user
					&& !has_history && waivers < config.jit_waiver_max_htlcs
					&& incoming.protected.has_room_for_waived(req.incoming_amount_msat);
				sufficient |= jit_waiver;
				let inputs = TableInputs {
					incoming_accountable: req.incoming_accountable,
					upgrade_accountability_allowed: req.upgrade_accountability_allowed,
					sufficient_reputation: sufficient,
					protected_has_room: incoming.protected.has_room(req.incoming_amount_msat),
					unmarked_protected: config.unmarked_protected,
				};
				let general = || match incoming.general.find_slot(
					&incoming.salt,
					req.id.incoming_scid,
					req.outgoing_scid,
					req.incoming_amount_msat,
					config,
				) {
					GeneralCheck::Slot(slot) => Some(slot),
					_ => None,
				};
				let congestion = || {
					incoming.congestion.check(&CongestionRequest {
						outgoing_scid: req.outgoing_scid,
						amount_msat: req.incoming_amount_msat,
						incoming_accountable: req.incoming_accountable,
						upgrade_accountability_allowed: req.upgrade_accountability_allowed,
						general_saturated: incoming.general.is_saturated(req.incoming_amount_msat),
						last_slow_resolution_secs: last_slow,
						now_secs: req.now_secs,
						lookback_secs: config.revenue_window_secs,
					})
				};
				decide(&inputs, general, congestion)
			},
			_ => Err(FailureReason::UnknownIncomingChannel),
		};
		// The waiver is used up only by a forward that needed the reputation.
		let waiver_used = jit_waiver
			&& result.as_ref().is_ok_and(|allocation| {
				allocation.bucket == ResourceBucket::Protected || req.incoming_accountable
			});
		if waiver_used {
			state.stats.jit_reputation_waivers += 1;
			if let Some(outgoing) = state.channels.get_mut(&req.outgoing_scid) {
				outgoing.jit_waived_htlcs = outgoing.jit_waived_htlcs.saturating_add(1);
			}
		}

		let allocation = match result {
			Ok(allocation) => allocation,
			Err(reason) => match config.mode {
				Mode::Enforce => {
					state.stats.failed.count(&reason);
					log_debug!(
						self.logger,
						"Resource manager: failing HTLC {} of channel {} to channel {}: {:?}",
						req.id.incoming_htlc_id,
						req.id.incoming_scid,
						req.outgoing_scid,
						reason
					);
					return Decision::Fail { reason };
				},
				Mode::Shadow => {
					state.stats.would_have_failed.count(&reason);
					log_debug!(
						self.logger,
						"Resource manager (shadow): would fail HTLC {} of channel {} to channel {}: {:?}",
						req.id.incoming_htlc_id,
						req.id.incoming_scid,
						req.outgoing_scid,
						reason
					);
					Allocation {
						bucket: ResourceBucket::Unallocated,
						general_slot: None,
						outgoing_accountable: req.incoming_accountable,
					}
				},
			},
		};
		match allocation.bucket {
			ResourceBucket::General => state.stats.forwarded_general += 1,
			ResourceBucket::Congestion => state.stats.forwarded_congestion += 1,
			ResourceBucket::Protected => {
				state.stats.forwarded_protected += 1;
				if !allocation.outgoing_accountable {
					state.stats.forwarded_protected_unaccountable += 1;
				}
			},
			ResourceBucket::Unallocated => {},
		}
		let htlc = PendingHtlc {
			outgoing_scid: req.outgoing_scid,
			incoming_amount_msat: req.incoming_amount_msat,
			fee_msat: req.fee_msat,
			added_at_secs: req.now_secs,
			hold_blocks: hold,
			general_slot: allocation.general_slot.unwrap_or(NO_SLOT),
			bucket: allocation.bucket.to_u8(),
			outgoing_accountable: allocation.outgoing_accountable,
		};
		self.occupy(state, &req.id, &htlc, false);
		log_trace!(
			self.logger,
			"Resource manager: forwarding HTLC {} of channel {} to channel {} on {:?}, accountable: {}",
			req.id.incoming_htlc_id,
			req.id.incoming_scid,
			req.outgoing_scid,
			allocation.bucket,
			allocation.outgoing_accountable
		);
		Decision::Forward {
			outgoing_accountable: allocation.outgoing_accountable,
			bucket: allocation.bucket,
		}
	}

	/// Counts `htlc` in flight: its bucket on the incoming channel, its risk on the outgoing one.
	/// With `known_channels_only`, a channel we do not know of (it closed) gets no entry: the
	/// HTLC holds nothing there.
	fn occupy(
		&self, state: &mut State, id: &HtlcId, htlc: &PendingHtlc, known_channels_only: bool,
	) {
		let mut htlc = *htlc;
		let now = htlc.added_at_secs;
		let channels = &mut state.channels;
		let incoming = if known_channels_only {
			channels.get_mut(&id.incoming_scid)
		} else {
			Some(self.channel_entry(channels, id.incoming_scid, now))
		};
		match incoming {
			Some(incoming) => {
				// The channel forwards from now on, as far as its revenue's warm-up goes.
				incoming.revenue.start(now);
				match htlc.bucket() {
					ResourceBucket::General => {
						incoming.general.occupy(htlc.general_slot, htlc.incoming_amount_msat)
					},
					ResourceBucket::Congestion => {
						incoming.congestion.occupy(htlc.outgoing_scid, htlc.incoming_amount_msat)
					},
					ResourceBucket::Protected => {
						incoming.protected.occupy(htlc.incoming_amount_msat)
					},
					ResourceBucket::Unallocated => incoming.unallocated_htlcs += 1,
				}
			},
			None => htlc.bucket |= INCOMING_CLOSED,
		}
		// The outgoing channel gets an entry even when the HTLC bears no risk: its reputation
		// will change.
		let outgoing = if known_channels_only {
			channels.get_mut(&htlc.outgoing_scid)
		} else {
			Some(self.channel_entry(channels, htlc.outgoing_scid, now))
		};
		match outgoing {
			Some(outgoing) if htlc.bears_risk() => {
				outgoing.in_flight_risk.add(htlc.risk_numerator(self.config.resolution_period_secs))
			},
			Some(_) => {},
			None => htlc.bucket |= OUTGOING_CLOSED,
		}
		state.pending.insert(*id, htlc);
	}

	/// Records the resolution of a forwarded HTLC: releases its resources, updates the
	/// reputation of the channel it left on with its [`effective_fee`] and, when settled, the
	/// incoming channel's revenue with its fee. A forward [`Mode::Shadow`] let through without
	/// resources changes neither. A resolution for an HTLC not in flight (already resolved,
	/// forgotten by a replay, or never seen) is counted, logged and otherwise ignored.
	///
	/// [`effective_fee`]: crate::outgoing_reputation::effective_fee
	pub fn resolve_htlc(&self, resolution: &HtlcResolution) -> ResolveOutcome {
		let mut state = self.state();
		let State { channels, pending, stats, .. } = &mut *state;
		let htlc = match pending.remove(&resolution.id) {
			Some(htlc) => htlc,
			None => {
				stats.unknown_resolutions += 1;
				log_debug!(
					self.logger,
					"Resource manager: resolution of HTLC {} of channel {}, which is not in flight",
					resolution.id.incoming_htlc_id,
					resolution.id.incoming_scid
				);
				return ResolveOutcome::Unknown;
			},
		};
		let rp = self.config.resolution_period_secs;
		release(channels, &resolution.id, &htlc, rp);
		if htlc.bucket() == ResourceBucket::Unallocated {
			return ResolveOutcome::Resolved;
		}
		let at = resolution.resolved_at_secs;
		let hold_secs = at.saturating_sub(htlc.added_at_secs);
		if resolution.settled && htlc.incoming_open() {
			if let Some(incoming) = channels.get_mut(&resolution.id.incoming_scid) {
				incoming.revenue.record_settled(htlc.fee_msat, at);
			}
		}
		let left_on = resolution.outgoing_scid.unwrap_or(htlc.outgoing_scid);
		let open = left_on != htlc.outgoing_scid || htlc.outgoing_open();
		if let Some(outgoing) = channels.get_mut(&left_on).filter(|_| open) {
			let fee =
				effective_fee(htlc.fee_msat, hold_secs, resolution.settled, htlc.bears_risk(), rp);
			outgoing.reputation.record_resolution(fee, at);
			if htlc.bucket() == ResourceBucket::Congestion && hold_secs > rp {
				let last = outgoing.last_slow_congestion_resolution_secs.unwrap_or(0);
				outgoing.last_slow_congestion_resolution_secs = Some(last.max(at));
			}
		}
		ResolveOutcome::Resolved
	}

	/// A forward decided at once was failed back by `ChannelManager` for a timeout before the
	/// decision reached it (a race with its timer), so it never went out and no resolution will
	/// follow: releases what it was given, touching no reputation or revenue. Does nothing for
	/// an HTLC not in flight (one decided to fail, or never seen). Returns whether it was.
	pub fn request_timed_out(&self, id: &HtlcId) -> bool {
		let mut state = self.state();
		let State { channels, pending, stats, .. } = &mut *state;
		match pending.remove(id) {
			Some(htlc) => {
				release(channels, id, &htlc, self.config.resolution_period_secs);
				stats.timed_out_after_decision += 1;
				log_debug!(
					self.logger,
					"Resource manager: HTLC {} of channel {} timed out before its decision applied",
					id.incoming_htlc_id,
					id.incoming_scid
				);
				true
			},
			None => false,
		}
	}

	/// Counts a forward that was in flight before a restart, in the bucket and with the signal
	/// it was given, whatever the limits say now. Replaying an HTLC already in flight changes
	/// nothing. The bucket is the one recorded in the persisted state (see [`persistence`]) when
	/// it has one for the HTLC, else [`ReplayedForward::bucket`]; a general HTLC goes back to the
	/// slot it held, if that slot is free, else to the first free slot of its pair. Give the
	/// channels' [`ChannelInfo`] first: on a channel not known (one that closed), the HTLC holds
	/// nothing, and is only tracked until its resolution. Replay before deciding on new
	/// forwards: the first decision forgets the recorded buckets the replay did not use.
	///
	/// [`persistence`]: crate::persistence
	pub fn replay_forward(&self, forward: &ReplayedForward) -> ReplayOutcome {
		let mut state = self.state();
		let req = &forward.request;
		if let Some(replay) = state.replay.as_mut() {
			replay.htlcs.insert(req.id);
		}
		if state.pending.contains_key(&req.id) {
			state.stats.duplicate_replays += 1;
			return ReplayOutcome::AlreadyInFlight;
		}
		let recorded = state.replay_buckets.remove(&req.id);
		let bucket = recorded.map_or(forward.bucket, |recorded| recorded.bucket);
		let general_slot = match state.channels.get_mut(&req.id.incoming_scid) {
			Some(incoming) if bucket == ResourceBucket::General => {
				let recorded_slot = recorded.map(|recorded| recorded.general_slot);
				match recorded_slot.filter(|slot| incoming.general.is_free(*slot)) {
					// Where it was: which of its pair's slots an HTLC holds depends on the HTLCs
					// that came and went before it, and pairs share slots, so only this keeps
					// later decisions as they would have been without the restart.
					Some(slot) => slot,
					None => incoming.general.replay_slot(
						&incoming.salt,
						req.id.incoming_scid,
						req.outgoing_scid,
						&self.config,
					),
				}
			},
			_ => NO_SLOT,
		};
		let htlc = PendingHtlc {
			outgoing_scid: req.outgoing_scid,
			incoming_amount_msat: req.incoming_amount_msat,
			fee_msat: req.fee_msat,
			added_at_secs: req.now_secs,
			hold_blocks: hold_blocks(req.incoming_cltv_expiry, req.height),
			general_slot,
			bucket: bucket.to_u8(),
			outgoing_accountable: forward.outgoing_accountable,
		};
		// A channel that closed before the restart is not brought back.
		self.occupy(&mut state, &req.id, &htlc, true);
		ReplayOutcome::Added
	}

	/// A snapshot of one channel at `now_secs`, if anything is known about it.
	pub fn channel_snapshot(
		&self, short_channel_id: u64, now_secs: u64,
	) -> Option<ChannelSnapshot> {
		let state = self.state();
		state
			.channels
			.get(&short_channel_id)
			.map(|c| c.snapshot(short_channel_id, now_secs, &self.config))
	}

	/// Snapshots of every known channel at `now_secs`, by short channel id.
	pub fn channel_snapshots(&self, now_secs: u64) -> Vec<ChannelSnapshot> {
		let state = self.state();
		let mut snapshots: Vec<_> = state
			.channels
			.iter()
			.map(|(scid, c)| c.snapshot(*scid, now_secs, &self.config))
			.collect();
		snapshots.sort_unstable_by_key(|s| s.short_channel_id);
		snapshots
	}

	/// The counters since creation.
	pub fn stats(&self) -> ResourceManagerStats {
		self.state().stats
	}

	/// How many forwarded HTLCs are in flight.
	pub fn htlcs_in_flight(&self) -> usize {
		self.state().pending.len()
	}

	/// The decision recorded for an HTLC in flight.
	pub fn in_flight_decision(&self, id: &HtlcId) -> Option<Decision> {
		self.state().pending.get(id).map(|htlc| Decision::Forward {
			outgoing_accountable: htlc.outgoing_accountable,
			bucket: htlc.bucket(),
		})
	}
}

/// Releases what an HTLC holds: its bucket on the incoming channel and its risk on the outgoing
/// channel, unless they closed.
fn release(channels: &mut HashMap<u64, ChannelState>, id: &HtlcId, htlc: &PendingHtlc, rp: u64) {
	let incoming = channels.get_mut(&id.incoming_scid).filter(|_| htlc.incoming_open());
	if let Some(incoming) = incoming {
		match htlc.bucket() {
			ResourceBucket::General => {
				incoming.general.release(htlc.general_slot, htlc.incoming_amount_msat)
			},
			ResourceBucket::Congestion => {
				incoming.congestion.release(htlc.outgoing_scid, htlc.incoming_amount_msat)
			},
			ResourceBucket::Protected => incoming.protected.release(htlc.incoming_amount_msat),
			ResourceBucket::Unallocated => {
				incoming.unallocated_htlcs = incoming.unallocated_htlcs.saturating_sub(1)
			},
		}
	}
	if htlc.bears_risk() && htlc.outgoing_open() {
		if let Some(outgoing) = channels.get_mut(&htlc.outgoing_scid) {
			outgoing.in_flight_risk.remove(htlc.risk_numerator(rp));
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn in_flight_record_stays_small() {
		// 2.4 M HTLCs in flight must fit in well under 300 MB: 16-byte key + 40-byte record.
		assert_eq!(core::mem::size_of::<HtlcId>(), 16);
		assert_eq!(core::mem::size_of::<PendingHtlc>(), 40);
	}
}
