// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! Persistence: the history that must survive a restart, written with LDK's TLV serialization.
//!
//! Persisted, per channel: its short channel id and [`ChannelId`], the salt of its general slot
//! assignment (so the assignment survives a restart), its last known limits, its
//! `outgoing_reputation` (value, time of last update, number of resolved HTLCs), its incoming
//! revenue (value, time of last update, time it started), the time of its last slow congestion
//! resolution and the JIT waivers it used. Averages are stored undecayed with the time they were
//! last updated; their windows come from the [`ResourceManagerConfig`] given on read.
//!
//! Not persisted: HTLCs in flight and bucket usage, which the startup replay
//! ([`DefaultResourceManager::replay_forward`]) rebuilds from the HTLCs themselves, and the
//! counters of [`DefaultResourceManager::stats`]. Only the bucket each HTLC in flight holds is
//! kept, and for a general one its slot, for the replay to put it back there: `ChannelManager`
//! knows the signal an HTLC left with, not the bucket it was given (a congestion HTLC and a
//! protected one both left `accountable`, an unmarked one on protected resources left without),
//! and which of its pair's slots an HTLC holds depends on the HTLCs that came and went before
//! it, as pairs share slots. An HTLC added after the state was written is replayed in the
//! bucket its signal suggests (general if it left unaccountable, else protected), in the first
//! free slot of its pair.
//!
//! # Format and versions
//!
//! The format is a TLV stream (see [`impl_writeable_tlv_based`]): odd fields may be ignored by
//! older readers, unknown even fields are refused. Its version is stored too (odd, so older
//! readers ignore it), and read as 1 when absent:
//! - 1: the first format;
//! - 2: the bucket of every HTLC in flight, not only the general slots; the revenue's start and
//!   the JIT waivers used. A channel of a version 1 state counts as warmed up (its revenue
//!   started long ago).
//!
//! Reading corrupt or truncated data returns a [`DecodeError`], never panics; so does a
//! non-finite stored average, an unknown bucket, or a channel or HTLC listed twice.
//!
//! Use [`persist`] and [`read`] with a [`KVStoreSync`], as LDK persists its scorer, under
//! [`RESOURCE_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE`], [`RESOURCE_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE`]
//! and [`RESOURCE_MANAGER_PERSISTENCE_KEY`]; or use the manager's [`Writeable`] and
//! [`ReadableArgs`] implementations directly.
//!
//! [`impl_writeable_tlv_based`]: lightning::impl_writeable_tlv_based
//! [`ChannelId`]: lightning::ln::types::ChannelId

use crate::buckets::general::NO_SLOT;
use crate::buckets::ResourceBucket;
use crate::config::{ConfigError, ResourceManagerConfig, MAX_ACCEPTED_HTLCS};
use crate::decaying_average::DecayingAverage;
use crate::incoming_revenue_threshold::IncomingRevenue;
use crate::manager::{ChannelState, DefaultResourceManager, RecordedBucket, State};
use crate::outgoing_reputation::OutgoingReputation;
use crate::prelude::*;
use crate::HtlcId;

use core::fmt;
use core::ops::Deref;

use lightning::io;
use lightning::ln::msgs::DecodeError;
use lightning::log_info;
use lightning::sign::EntropySource;
use lightning::util::hash_tables::{hash_map_with_capacity, new_hash_map, HashMap};
use lightning::util::logger::Logger;
use lightning::util::persist::KVStoreSync;
use lightning::util::ser::{ReadableArgs, Writeable, Writer};

/// The primary namespace under which the resource manager's state is persisted.
pub const RESOURCE_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE: &str = "";
/// The secondary namespace under which the resource manager's state is persisted.
pub const RESOURCE_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE: &str = "";
/// The key under which the resource manager's state is persisted.
pub const RESOURCE_MANAGER_PERSISTENCE_KEY: &str = "resource_manager";

/// The stored format. (A module of its own so that a lint the serialization macros trip,
/// `clippy::drop_non_drop`, can be allowed for them alone.)
mod format {
	#![allow(clippy::drop_non_drop)]

	use crate::prelude::*;
	use lightning::impl_writeable_tlv_based;
	use lightning::ln::types::ChannelId;

	/// The general slot an HTLC in flight from the channel holds.
	pub(super) struct PersistedGeneralSlot {
		pub(super) incoming_htlc_id: u64,
		pub(super) slot: u16,
	}

	impl_writeable_tlv_based!(PersistedGeneralSlot, {
		(0, incoming_htlc_id, required),
		(2, slot, required),
	});

	/// The bucket of an HTLC in flight from the channel, unless it is in
	/// [`PersistedChannel::general_slots`].
	pub(super) struct PersistedBucket {
		pub(super) incoming_htlc_id: u64,
		/// [`ResourceBucket::to_u8`].
		///
		/// [`ResourceBucket::to_u8`]: crate::ResourceBucket::to_u8
		pub(super) bucket: u8,
	}

	impl_writeable_tlv_based!(PersistedBucket, {
		(0, incoming_htlc_id, required),
		(2, bucket, required),
	});

	pub(super) struct PersistedChannel {
		pub(super) short_channel_id: u64,
		pub(super) channel_id: Option<ChannelId>,
		pub(super) salt: [u8; 32],
		pub(super) max_accepted_htlcs: Option<u16>,
		pub(super) max_htlc_value_in_flight_msat: Option<u64>,
		/// `f64::to_bits` of the undecayed reputation.
		pub(super) reputation_bits: u64,
		pub(super) reputation_updated_secs: u64,
		pub(super) resolved_outgoing_htlcs: u64,
		/// `f64::to_bits` of the undecayed revenue.
		pub(super) revenue_bits: u64,
		pub(super) revenue_updated_secs: u64,
		pub(super) last_slow_congestion_resolution_secs: Option<u64>,
		/// By HTLC id.
		pub(super) general_slots: Vec<PersistedGeneralSlot>,
		/// By HTLC id. Since version 2.
		pub(super) other_buckets: Vec<PersistedBucket>,
		/// Since version 2.
		pub(super) revenue_start_secs: Option<u64>,
		/// Since version 2.
		pub(super) jit_waived_htlcs: u16,
	}

	impl_writeable_tlv_based!(PersistedChannel, {
		(0, short_channel_id, required),
		(1, channel_id, option),
		(2, salt, required),
		(3, max_accepted_htlcs, option),
		(4, reputation_bits, required),
		(5, max_htlc_value_in_flight_msat, option),
		(6, reputation_updated_secs, required),
		(7, last_slow_congestion_resolution_secs, option),
		(8, resolved_outgoing_htlcs, required),
		(9, general_slots, optional_vec),
		(10, revenue_bits, required),
		(11, other_buckets, optional_vec),
		(12, revenue_updated_secs, required),
		(13, revenue_start_secs, option),
		(15, jit_waived_htlcs, (default_value, 0)),
	});

	pub(super) struct PersistedState {
		pub(super) channels: Vec<PersistedChannel>,
		pub(super) version: u16,
	}

	impl_writeable_tlv_based!(PersistedState, {
		(0, channels, required_vec),
		(1, version, (default_value, 1)),
	});
}

use format::{PersistedBucket, PersistedChannel, PersistedGeneralSlot, PersistedState};

/// The version written, see [the format](self#format-and-versions).
const VERSION: u16 = 2;

fn finite(bits: u64) -> Result<f64, DecodeError> {
	let value = f64::from_bits(bits);
	if value.is_finite() {
		Ok(value)
	} else {
		Err(DecodeError::InvalidValue)
	}
}

impl<ES: Deref, L: Deref> Writeable for DefaultResourceManager<ES, L>
where
	ES::Target: EntropySource,
	L::Target: Logger,
{
	fn write<W: Writer>(&self, writer: &mut W) -> Result<(), io::Error> {
		let persisted = {
			let state = self.state();
			let mut general_slots: HashMap<u64, Vec<PersistedGeneralSlot>> = new_hash_map();
			let mut other_buckets: HashMap<u64, Vec<PersistedBucket>> = new_hash_map();
			for (id, recorded) in state.buckets_in_flight() {
				let incoming_htlc_id = id.incoming_htlc_id;
				let slot = recorded.general_slot;
				if recorded.bucket == ResourceBucket::General && slot != NO_SLOT {
					let slots = general_slots.entry(id.incoming_scid).or_default();
					slots.push(PersistedGeneralSlot { incoming_htlc_id, slot });
				} else {
					let buckets = other_buckets.entry(id.incoming_scid).or_default();
					buckets.push(PersistedBucket {
						incoming_htlc_id,
						bucket: recorded.bucket.to_u8(),
					});
				}
			}
			let mut channels: Vec<PersistedChannel> = state
				.channels
				.iter()
				.map(|(scid, c)| PersistedChannel {
					short_channel_id: *scid,
					channel_id: c.channel_id,
					salt: c.salt,
					max_accepted_htlcs: c.limits.map(|l| l.0),
					max_htlc_value_in_flight_msat: c.limits.map(|l| l.1),
					reputation_bits: c.reputation.average().stored_value().to_bits(),
					reputation_updated_secs: c.reputation.average().last_updated_secs(),
					resolved_outgoing_htlcs: c.reputation.resolved_htlcs(),
					revenue_bits: c.revenue.average().stored_value().to_bits(),
					revenue_updated_secs: c.revenue.average().last_updated_secs(),
					last_slow_congestion_resolution_secs: c.last_slow_congestion_resolution_secs,
					general_slots: {
						let mut slots = general_slots.remove(scid).unwrap_or_default();
						slots.sort_unstable_by_key(|s| s.incoming_htlc_id);
						slots
					},
					other_buckets: {
						let mut buckets = other_buckets.remove(scid).unwrap_or_default();
						buckets.sort_unstable_by_key(|b| b.incoming_htlc_id);
						buckets
					},
					revenue_start_secs: c.revenue.start_secs(),
					jit_waived_htlcs: c.jit_waived_htlcs,
				})
				.collect();
			// The same state always gives the same bytes.
			channels.sort_unstable_by_key(|c| c.short_channel_id);
			PersistedState { channels, version: VERSION }
		};
		persisted.write(writer)
	}
}

impl<ES: Deref, L: Deref> ReadableArgs<(ResourceManagerConfig, ES, L)>
	for DefaultResourceManager<ES, L>
where
	ES::Target: EntropySource,
	L::Target: Logger,
{
	/// Reads a manager written by its [`Writeable`] implementation. An invalid configuration is
	/// an [`DecodeError::InvalidValue`]; use [`read`] to tell the two apart.
	fn read<R: io::Read>(
		reader: &mut R, (config, entropy_source, logger): (ResourceManagerConfig, ES, L),
	) -> Result<Self, DecodeError> {
		config.validate().map_err(|_| DecodeError::InvalidValue)?;
		let persisted: PersistedState = lightning::util::ser::Readable::read(reader)?;
		let mut channels = hash_map_with_capacity(persisted.channels.len());
		let mut replay_buckets = new_hash_map();
		for p in persisted.channels {
			let id =
				|incoming_htlc_id| HtlcId { incoming_scid: p.short_channel_id, incoming_htlc_id };
			for s in p.general_slots {
				let recorded =
					RecordedBucket { bucket: ResourceBucket::General, general_slot: s.slot };
				if s.slot >= MAX_ACCEPTED_HTLCS
					|| replay_buckets.insert(id(s.incoming_htlc_id), recorded).is_some()
				{
					return Err(DecodeError::InvalidValue);
				}
			}
			for b in p.other_buckets {
				if b.bucket > ResourceBucket::Unallocated.to_u8() {
					return Err(DecodeError::InvalidValue);
				}
				let bucket = ResourceBucket::from_u8(b.bucket);
				let recorded = RecordedBucket { bucket, general_slot: NO_SLOT };
				if replay_buckets.insert(id(b.incoming_htlc_id), recorded).is_some() {
					return Err(DecodeError::InvalidValue);
				}
			}
			let reputation = OutgoingReputation::from_parts(
				DecayingAverage::from_parts(
					config.reputation_window_secs(),
					finite(p.reputation_bits)?,
					p.reputation_updated_secs,
				),
				p.resolved_outgoing_htlcs,
			);
			// Version 1 did not record the start: its channels count as warmed up.
			let revenue_start_secs =
				if persisted.version < 2 { Some(0) } else { p.revenue_start_secs };
			let revenue = IncomingRevenue::from_parts(
				DecayingAverage::from_parts(
					config.revenue_average_window_secs(),
					finite(p.revenue_bits)?,
					p.revenue_updated_secs,
				),
				config.revenue_window_secs,
				config.revenue_window_count,
				revenue_start_secs,
			);
			let mut channel = ChannelState::new(p.salt, &config, 0);
			channel.channel_id = p.channel_id;
			channel.reputation = reputation;
			channel.revenue = revenue;
			channel.last_slow_congestion_resolution_secs = p.last_slow_congestion_resolution_secs;
			channel.jit_waived_htlcs = p.jit_waived_htlcs;
			if let (Some(slots), Some(liquidity)) =
				(p.max_accepted_htlcs, p.max_htlc_value_in_flight_msat)
			{
				channel.set_limits(slots, liquidity, &config);
			}
			if channels.insert(p.short_channel_id, channel).is_some() {
				return Err(DecodeError::InvalidValue);
			}
		}
		let state = State::new(channels, replay_buckets);
		DefaultResourceManager::from_state(config, entropy_source, logger, state)
			.map_err(|_| DecodeError::InvalidValue)
	}
}

/// Why [`read`] failed.
#[derive(Debug)]
pub enum ReadError {
	/// The configuration is invalid.
	Config(ConfigError),
	/// The store failed (other than by not having the key).
	Io(io::Error),
	/// The stored state is corrupt or truncated.
	Decode(DecodeError),
}

impl fmt::Display for ReadError {
	fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
		match self {
			Self::Config(e) => write!(f, "invalid resource manager configuration: {}", e),
			Self::Io(e) => write!(f, "could not read the resource manager's state: {}", e),
			Self::Decode(e) => write!(f, "corrupt resource manager state: {}", e),
		}
	}
}

#[cfg(feature = "std")]
impl std::error::Error for ReadError {}

/// Writes the manager's history to `kv_store` under [`RESOURCE_MANAGER_PERSISTENCE_KEY`].
pub fn persist<K: Deref, ES: Deref, L: Deref>(
	kv_store: K, manager: &DefaultResourceManager<ES, L>,
) -> Result<(), io::Error>
where
	K::Target: KVStoreSync,
	ES::Target: EntropySource,
	L::Target: Logger,
{
	kv_store.write(
		RESOURCE_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
		RESOURCE_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
		RESOURCE_MANAGER_PERSISTENCE_KEY,
		manager.encode(),
	)
}

/// Reads a manager from `kv_store`, or creates one without history when nothing was persisted
/// yet (the key is not found). Corrupt or truncated state is a [`ReadError::Decode`]: it is not
/// silently replaced by an empty history.
pub fn read<K: Deref, ES: Deref, L: Deref>(
	kv_store: K, config: ResourceManagerConfig, entropy_source: ES, logger: L,
) -> Result<DefaultResourceManager<ES, L>, ReadError>
where
	K::Target: KVStoreSync,
	ES::Target: EntropySource,
	L::Target: Logger,
{
	config.validate().map_err(ReadError::Config)?;
	let bytes = match kv_store.read(
		RESOURCE_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
		RESOURCE_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
		RESOURCE_MANAGER_PERSISTENCE_KEY,
	) {
		Ok(bytes) => bytes,
		Err(e) if e.kind() == io::ErrorKind::NotFound => {
			log_info!(logger, "Resource manager: no persisted state, starting without history");
			return DefaultResourceManager::new(config, entropy_source, logger)
				.map_err(ReadError::Config);
		},
		Err(e) => return Err(ReadError::Io(e)),
	};
	let mut reader = io::Cursor::new(&bytes);
	<DefaultResourceManager<ES, L> as ReadableArgs<_>>::read(
		&mut reader,
		(config, entropy_source, logger),
	)
	.map_err(ReadError::Decode)
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::tests::{TestEntropy, TestLogger};

	fn channel(short_channel_id: u64) -> PersistedChannel {
		PersistedChannel {
			short_channel_id,
			channel_id: None,
			salt: [1; 32],
			max_accepted_htlcs: Some(483),
			max_htlc_value_in_flight_msat: Some(1_000),
			reputation_bits: 1.5f64.to_bits(),
			reputation_updated_secs: 10,
			resolved_outgoing_htlcs: 1,
			revenue_bits: 0f64.to_bits(),
			revenue_updated_secs: 0,
			last_slow_congestion_resolution_secs: None,
			general_slots: Vec::new(),
			other_buckets: Vec::new(),
			revenue_start_secs: None,
			jit_waived_htlcs: 0,
		}
	}

	fn state(channels: Vec<PersistedChannel>) -> PersistedState {
		PersistedState { channels, version: VERSION }
	}

	fn decode(state: PersistedState) -> Result<(), DecodeError> {
		let (e, l) = (TestEntropy::new(0), TestLogger::default());
		let bytes = state.encode();
		<DefaultResourceManager<&TestEntropy, &TestLogger> as ReadableArgs<_>>::read(
			&mut io::Cursor::new(&bytes),
			(ResourceManagerConfig::default(), &e, &l),
		)
		.map(|_| ())
	}

	#[test]
	fn channel_listed_twice_is_invalid() {
		assert_eq!(decode(state(vec![channel(1), channel(2)])), Ok(()));
		assert_eq!(decode(state(vec![channel(1), channel(1)])), Err(DecodeError::InvalidValue));
	}

	#[test]
	fn non_finite_averages_are_invalid() {
		for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY] {
			let bad = state(vec![PersistedChannel { revenue_bits: bad.to_bits(), ..channel(1) }]);
			assert_eq!(decode(bad), Err(DecodeError::InvalidValue));
		}
	}

	#[test]
	fn general_slots_out_of_range_or_repeated_are_invalid() {
		let slot = |incoming_htlc_id, slot| PersistedGeneralSlot { incoming_htlc_id, slot };
		let with_slots =
			|general_slots| state(vec![PersistedChannel { general_slots, ..channel(1) }]);
		assert_eq!(decode(with_slots(vec![slot(0, 0), slot(1, MAX_ACCEPTED_HTLCS - 1)])), Ok(()));
		assert_eq!(
			decode(with_slots(vec![slot(0, MAX_ACCEPTED_HTLCS)])),
			Err(DecodeError::InvalidValue)
		);
		assert_eq!(
			decode(with_slots(vec![slot(0, 1), slot(0, 2)])),
			Err(DecodeError::InvalidValue)
		);
	}

	#[test]
	fn buckets_unknown_or_given_twice_are_invalid() {
		let bucket = |incoming_htlc_id, bucket| PersistedBucket { incoming_htlc_id, bucket };
		let with = |general_slots, other_buckets| {
			state(vec![PersistedChannel { general_slots, other_buckets, ..channel(1) }])
		};
		assert_eq!(decode(with(Vec::new(), vec![bucket(0, 1), bucket(1, 3)])), Ok(()));
		assert_eq!(decode(with(Vec::new(), vec![bucket(0, 4)])), Err(DecodeError::InvalidValue));
		let slot = vec![PersistedGeneralSlot { incoming_htlc_id: 0, slot: 0 }];
		assert_eq!(decode(with(slot, vec![bucket(0, 2)])), Err(DecodeError::InvalidValue));
	}

	#[test]
	fn a_version_1_state_still_reads_and_its_channels_are_warm() {
		// Version 1 wrote neither the version nor the fields of version 2.
		let v1 = PersistedState { version: 1, ..state(vec![channel(1)]) };
		let mut bytes = Vec::new();
		v1.write(&mut bytes).unwrap();
		let (e, l) = (TestEntropy::new(0), TestLogger::default());
		let m = <DefaultResourceManager<&TestEntropy, &TestLogger> as ReadableArgs<_>>::read(
			&mut io::Cursor::new(&bytes),
			(ResourceManagerConfig::default(), &e, &l),
		)
		.unwrap();
		assert_eq!(m.state().channels[&1].revenue.start_secs(), Some(0));
		// A version 2 state keeps an unstarted channel unstarted.
		let bytes = state(vec![channel(1)]).encode();
		let m = <DefaultResourceManager<&TestEntropy, &TestLogger> as ReadableArgs<_>>::read(
			&mut io::Cursor::new(&bytes),
			(ResourceManagerConfig::default(), &e, &l),
		)
		.unwrap();
		assert_eq!(m.state().channels[&1].revenue.start_secs(), None);
	}
}
