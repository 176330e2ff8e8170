// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! The cost of the default manager on a routing node's workload, in steady state.
//!
//! `cargo bench -p lightning-resource-manager --bench steady_state`
//!
//! Each workload is a number of channels of 483 slots, each holding a number of forwards in
//! flight as the incoming channel, spread over the three buckets, to random outgoing channels.
//! One iteration adds a forward between a random pair of channels and, if it is forwarded,
//! resolves the oldest one in flight in the bucket it went to, so the buckets stay as full.
//!
//! Criterion times an iteration on every workload. A report measured in this same process then
//! prints, for each workload, the median iteration against the median of the smallest workload
//! and against a bare map of as many HTLCs in flight, inserting one and removing one per step
//! (the cost of the memory the workload needs, which no manager avoids: the manager's cost
//! should stay a constant multiple of it as channels and HTLCs in flight grow), the share of adds forwarded (a
//! failed add skips the resolve, so it is cheaper), and the heap allocations per iteration (there
//! should be none); the heap the manager takes for each workload and the process's resident
//! memory with the largest loaded (which includes the benchmark's own lists of the 2.4 M HTLCs in
//! flight, 38 MB); and the time to persist and read back the state of 10,000 channels.

use criterion::Criterion;

use lightning::ln::types::ChannelId;
use lightning::sign::RandomBytes;
use lightning::util::logger::{Logger, Record};
use lightning::util::persist::KVStoreSync;
use lightning::util::test_utils::TestStore;
use lightning_resource_manager::persistence::{
	persist, read, RESOURCE_MANAGER_PERSISTENCE_KEY,
	RESOURCE_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
	RESOURCE_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
};
use lightning_resource_manager::{
	ChannelInfo, Decision, DefaultResourceManager, ForwardRequest, HtlcId, HtlcResolution,
	ReplayedForward, ResourceBucket, ResourceManagerConfig,
};

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Counts heap allocations and live heap bytes, to check that deciding allocates nothing and
/// to weigh the manager's state.
struct CountingAllocator;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);
static LIVE_BYTES: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for CountingAllocator {
	unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
		ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
		LIVE_BYTES.fetch_add(layout.size(), Ordering::Relaxed);
		System.alloc(layout)
	}

	unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
		LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
		System.dealloc(ptr, layout)
	}

	unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
		ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
		LIVE_BYTES.fetch_add(new_size, Ordering::Relaxed);
		LIVE_BYTES.fetch_sub(layout.size(), Ordering::Relaxed);
		System.realloc(ptr, layout, new_size)
	}
}

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

struct NoLogs;

impl Logger for NoLogs {
	fn log(&self, _record: Record) {}
}

type Manager = DefaultResourceManager<Arc<RandomBytes>, Arc<NoLogs>>;

const SLOTS: u16 = 483;
const HEIGHT: u32 = 900_000;
const START_SECS: u64 = 1_700_000_000;

#[derive(Clone, Copy)]
struct Workload {
	channels: u64,
	in_flight_per_channel: u64,
}

impl Workload {
	fn name(&self) -> String {
		format!("{}ch_x{}", self.channels, self.in_flight_per_channel)
	}
}

/// A manager holding a workload, and the forwards it has in flight in each bucket, oldest first.
struct SteadyState {
	manager: Manager,
	channels: u64,
	in_flight: [VecDeque<HtlcId>; 4],
	/// The heap the manager took to load the workload.
	manager_heap_bytes: usize,
	/// The adds forwarded so far.
	forwarded: u64,
	next_htlc_id: u64,
	rng: u64,
	now_secs: u64,
}

fn channel_id(scid: u64) -> ChannelId {
	let mut bytes = [0; 32];
	bytes[..8].copy_from_slice(&scid.to_be_bytes());
	ChannelId(bytes)
}

impl SteadyState {
	fn new(workload: Workload) -> Self {
		let mut per_bucket = [0; 4];
		for n in 0..workload.in_flight_per_channel {
			per_bucket[bucket_index(initial_bucket(n))] += workload.channels as usize;
		}
		// Room for one more, which steps add before they resolve one.
		let in_flight = per_bucket.map(|count| VecDeque::with_capacity(count + 1));
		let heap_before = LIVE_BYTES.load(Ordering::Relaxed);
		let entropy = Arc::new(RandomBytes::new([7; 32]));
		let config = ResourceManagerConfig::default();
		let manager = DefaultResourceManager::new(config, entropy, Arc::new(NoLogs)).unwrap();
		let mut state = Self {
			manager,
			channels: workload.channels,
			in_flight,
			manager_heap_bytes: 0,
			forwarded: 0,
			next_htlc_id: 0,
			rng: 0x2545_f491_4f6c_dd1d,
			now_secs: START_SECS,
		};
		for scid in 1..=workload.channels {
			state.manager.channel_ready(&ChannelInfo {
				short_channel_id: scid,
				channel_id: channel_id(scid),
				max_accepted_htlcs: SLOTS,
				max_htlc_value_in_flight_msat: 1_000_000_000_000,
			});
		}
		for incoming_scid in 1..=workload.channels {
			for n in 0..workload.in_flight_per_channel {
				let bucket = initial_bucket(n);
				let request = state.request(incoming_scid);
				let outgoing_accountable = bucket != ResourceBucket::General;
				let forward = ReplayedForward { request, outgoing_accountable, bucket };
				state.manager.replay_forward(&forward);
				state.in_flight[bucket_index(bucket)].push_back(request.id);
			}
		}
		state.manager_heap_bytes = LIVE_BYTES.load(Ordering::Relaxed) - heap_before;
		state
	}

	fn random(&mut self) -> u64 {
		// xorshift64*: deterministic, so every run sees the same workload.
		self.rng ^= self.rng >> 12;
		self.rng ^= self.rng << 25;
		self.rng ^= self.rng >> 27;
		self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d)
	}

	fn request(&mut self, incoming_scid: u64) -> ForwardRequest {
		let mut outgoing_scid = self.random() % self.channels + 1;
		if outgoing_scid == incoming_scid {
			outgoing_scid = outgoing_scid % self.channels + 1;
		}
		self.next_htlc_id += 1;
		let incoming_accountable = self.random() % 4 == 0;
		ForwardRequest {
			id: HtlcId { incoming_scid, incoming_htlc_id: self.next_htlc_id },
			outgoing_scid,
			incoming_amount_msat: 101_000,
			outgoing_amount_msat: 100_000,
			fee_msat: 1_000,
			incoming_cltv_expiry: HEIGHT + 80,
			height: HEIGHT,
			incoming_accountable,
			upgrade_accountability_allowed: false,
			released_by_user: false,
			now_secs: self.now_secs,
		}
	}

	/// One add between a random pair of channels and, if it was forwarded, one resolve of the
	/// oldest forward in flight in the same bucket, so that the buckets stay as full.
	fn step(&mut self) {
		self.now_secs += 1;
		let incoming_scid = self.random() % self.channels + 1;
		let request = self.request(incoming_scid);
		if let Decision::Forward { bucket, .. } = self.manager.add_htlc(&request) {
			self.forwarded += 1;
			let in_flight = &mut self.in_flight[bucket_index(bucket)];
			in_flight.push_back(request.id);
			let id = in_flight.pop_front().unwrap();
			let settled = self.random() % 8 != 0;
			let resolution = HtlcResolution {
				id,
				settled,
				resolved_at_secs: self.now_secs,
				outgoing_scid: None,
			};
			self.manager.resolve_htlc(&resolution);
		}
	}
}

/// The bucket of a channel's `n`th forward in flight at the start: each bucket is about as full
/// as the others, 40 % of the forwards general, 20 % congestion, 40 % protected, as the buckets'
/// shares.
fn initial_bucket(n: u64) -> ResourceBucket {
	match n % 5 {
		0 | 1 => ResourceBucket::General,
		2 => ResourceBucket::Congestion,
		_ => ResourceBucket::Protected,
	}
}

fn bucket_index(bucket: ResourceBucket) -> usize {
	match bucket {
		ResourceBucket::General => 0,
		ResourceBucket::Congestion => 1,
		ResourceBucket::Protected => 2,
		ResourceBucket::Unallocated => 3,
	}
}

const BATCHES: usize = 200;
const STEPS_PER_BATCH: u32 = 1_000;
const WARM_UP_STEPS: u32 = 10_000;

/// The median time of one [`SteadyState::step`], the heap allocations per step, and the share
/// of adds forwarded.
fn measure(state: &mut SteadyState) -> (Duration, f64, f64) {
	let mut batch_times = Vec::with_capacity(BATCHES);
	let allocations_before = ALLOCATIONS.load(Ordering::Relaxed);
	let forwarded_before = state.forwarded;
	let median = median_step_time(&mut batch_times, || state.step());
	let allocations = ALLOCATIONS.load(Ordering::Relaxed) - allocations_before;
	let steps = (WARM_UP_STEPS + BATCHES as u32 * STEPS_PER_BATCH) as f64;
	let forwarded = (state.forwarded - forwarded_before) as f64;
	(median, allocations as f64 / steps, forwarded / steps)
}

/// The floor under the manager's cost: a bare map of the same number of HTLCs in flight,
/// entries as large as the manager's, where a step inserts one HTLC and removes the oldest.
/// Whatever the manager does, it pays for this much memory traffic.
struct BareMap {
	map: lightning::util::hash_tables::HashMap<HtlcId, [u64; 5]>,
	in_flight: VecDeque<HtlcId>,
	channels: u64,
	next_htlc_id: u64,
	rng: u64,
}

impl BareMap {
	fn new(workload: Workload) -> Self {
		let total = (workload.channels * workload.in_flight_per_channel) as usize;
		let mut bare = Self {
			map: lightning::util::hash_tables::new_hash_map(),
			in_flight: VecDeque::with_capacity(total + 1),
			channels: workload.channels,
			next_htlc_id: 0,
			rng: 0x2545_f491_4f6c_dd1d,
		};
		for _ in 0..total {
			let id = bare.next_id();
			bare.map.insert(id, [0; 5]);
			bare.in_flight.push_back(id);
		}
		bare
	}

	fn next_id(&mut self) -> HtlcId {
		self.rng ^= self.rng >> 12;
		self.rng ^= self.rng << 25;
		self.rng ^= self.rng >> 27;
		let incoming_scid = self.rng.wrapping_mul(0x2545_f491_4f6c_dd1d) % self.channels + 1;
		self.next_htlc_id += 1;
		HtlcId { incoming_scid, incoming_htlc_id: self.next_htlc_id }
	}

	fn step(&mut self) {
		let id = self.next_id();
		self.map.insert(id, [self.next_htlc_id; 5]);
		self.in_flight.push_back(id);
		let oldest = self.in_flight.pop_front().unwrap();
		std::hint::black_box(self.map.remove(&oldest));
	}
}

/// The median time of `step` over batches, after a warm-up. Allocates nothing if `batch_times`
/// has room for [`BATCHES`].
fn median_step_time(batch_times: &mut Vec<Duration>, mut step: impl FnMut()) -> Duration {
	batch_times.clear();
	for _ in 0..WARM_UP_STEPS {
		step();
	}
	for _ in 0..BATCHES {
		let start = Instant::now();
		for _ in 0..STEPS_PER_BATCH {
			step();
		}
		batch_times.push(start.elapsed() / STEPS_PER_BATCH);
	}
	batch_times.sort_unstable();
	batch_times[BATCHES / 2]
}

/// This process's resident memory, where `/proc` tells it.
fn resident_bytes() -> Option<usize> {
	let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
	let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
	Some(pages * 4096)
}

/// The median time to persist, and to read back, the state of `channels` channels with some
/// history.
fn persistence_times(channels: u64) -> (Duration, Duration, usize) {
	let mut state = SteadyState::new(Workload { channels, in_flight_per_channel: 2 });
	for _ in 0..4 * channels {
		state.step();
	}
	let store = TestStore::new(false);
	let (mut persist_times, mut read_times) = (Vec::new(), Vec::new());
	for _ in 0..5 {
		let start = Instant::now();
		persist(&store, &state.manager).unwrap();
		persist_times.push(start.elapsed());
		let start = Instant::now();
		let entropy = Arc::new(RandomBytes::new([8; 32]));
		let config = ResourceManagerConfig::default();
		let read_back = read(&store, config, entropy, Arc::new(NoLogs)).unwrap();
		read_times.push(start.elapsed());
		assert_eq!(read_back.channel_snapshots(state.now_secs).len(), channels as usize);
	}
	persist_times.sort_unstable();
	read_times.sort_unstable();
	let bytes = KVStoreSync::read(
		&store,
		RESOURCE_MANAGER_PERSISTENCE_PRIMARY_NAMESPACE,
		RESOURCE_MANAGER_PERSISTENCE_SECONDARY_NAMESPACE,
		RESOURCE_MANAGER_PERSISTENCE_KEY,
	)
	.unwrap()
	.len();
	(persist_times[2], read_times[2], bytes)
}

fn main() {
	// The largest first, so that the resident memory measured is its own.
	let workloads = [
		Workload { channels: 10_000, in_flight_per_channel: 240 },
		Workload { channels: 1_000, in_flight_per_channel: 240 },
		Workload { channels: 10, in_flight_per_channel: 240 },
		Workload { channels: 10_000, in_flight_per_channel: 10 },
		Workload { channels: 1_000, in_flight_per_channel: 10 },
		Workload { channels: 10, in_flight_per_channel: 10 },
	];
	let mut criterion = Criterion::default()
		.sample_size(50)
		.warm_up_time(Duration::from_secs(1))
		.measurement_time(Duration::from_secs(3))
		.configure_from_args();
	let mut report = Vec::new();
	for workload in workloads {
		let mut state = SteadyState::new(workload);
		let resident = resident_bytes();
		criterion.bench_function(&format!("add_and_resolve/{}", workload.name()), |b| {
			b.iter(|| state.step())
		});
		let (median, allocations_per_step, forwarded) = measure(&mut state);
		let heap = state.manager_heap_bytes;
		drop(state);
		let mut bare_map = BareMap::new(workload);
		let bare_median = median_step_time(&mut Vec::with_capacity(BATCHES), || bare_map.step());
		let ratio_to_bare = median.as_nanos() as f64 / bare_median.as_nanos() as f64;
		let row = (median, ratio_to_bare, allocations_per_step, forwarded, heap);
		report.push((workload, row, resident));
	}
	criterion.final_summary();

	let (_, (baseline, ..), _) = report.last().unwrap();
	println!();
	println!("steady state, one add and one resolve, measured in this process:");
	println!(
		"{:>14} {:>10} {:>8} {:>12} {:>12} {:>10} {:>12} {:>13}",
		"workload",
		"in flight",
		"median",
		"vs 10ch_x10",
		"vs bare map",
		"forwarded",
		"allocs/step",
		"manager heap"
	);
	for (workload, (median, ratio_to_bare, allocations, forwarded, heap), _) in &report {
		println!(
			"{:>14} {:>10} {:>6.0}ns {:>11.2}x {:>11.2}x {:>9.0}% {:>12.3} {:>10.1} MB",
			workload.name(),
			workload.channels * workload.in_flight_per_channel,
			median.as_nanos() as f64,
			median.as_nanos() as f64 / baseline.as_nanos() as f64,
			ratio_to_bare,
			forwarded * 100.0,
			allocations,
			*heap as f64 / 1e6,
		);
	}
	if let (workload, _, Some(resident)) = &report[0] {
		let name = workload.name();
		println!("resident memory with {name} loaded: {:.1} MB", *resident as f64 / 1e6);
	}
	let (persist_time, read_time, bytes) = persistence_times(10_000);
	println!(
		"persist 10000 channels: {:.1} ms, read back: {:.1} ms ({:.1} kB)",
		persist_time.as_secs_f64() * 1e3,
		read_time.as_secs_f64() * 1e3,
		bytes as f64 / 1e3
	);
}
