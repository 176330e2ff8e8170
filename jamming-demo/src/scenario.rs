// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! What a run simulates: the attack, the target's resource manager, and the run's length.

use core::fmt;
use core::str::FromStr;

use lightning_resource_manager::UnmarkedProtectedPolicy;

/// The attack a run simulates, on top of the same honest traffic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scenario {
	/// Honest traffic only: the baseline the others are compared with.
	Peacetime,
	/// The attacker keeps the target's channels to the honest receivers full of small HTLCs that
	/// its sink holds until close to their expiry.
	SlowJamming,
	/// The attacker first pays through the target like an honest node (its sink settles at once,
	/// earning the target fees), then sends `accountable` HTLCs that its sink holds.
	ReputationAbuse,
	/// A merchant behind the target turns malicious and holds the honest payments it is sent
	/// until close to their expiry.
	SinkAttack,
	/// The attacker sends bursts of HTLCs that its sink fails at once.
	FastFailBurst,
	/// From behind Alice and Bob, the attacker pays its own sink through the target's channel to
	/// it with fast settles for weeks, earning that channel reputation, then holds HTLCs to
	/// expiry on Alice's and Bob's protected buckets, half of them without the
	/// `upgrade_accountability` marker, round after round (trace only).
	AboutTurn,
	/// The target is an LSPS2 LSP: from behind Alice and Bob, the attacker buys a JIT channel
	/// every block and holds the HTLCs the LSP releases onto it (trace only).
	JitWaiverAbuse,
	/// Colluding peers: the sink's channel earns reputation for weeks, then each round a fresh
	/// incoming channel sends HTLCs the sink holds, and is force-closed to leave the reputation
	/// cost behind (trace only).
	CloseLaundering,
	/// A peer without reputation, from behind Alice, keeps an HTLC in the congestion bucket for
	/// each of ten channels of its own, held to expiry (trace only).
	CongestionAbuse,
}

impl Scenario {
	/// Every scenario, in the order the demo runs them.
	pub const ALL: [Scenario; 9] = [
		Scenario::Peacetime,
		Scenario::SlowJamming,
		Scenario::ReputationAbuse,
		Scenario::SinkAttack,
		Scenario::FastFailBurst,
		Scenario::AboutTurn,
		Scenario::JitWaiverAbuse,
		Scenario::CloseLaundering,
		Scenario::CongestionAbuse,
	];

	/// Whether the scenario runs on in-process nodes ([`crate::run`]) as well as on the trace
	/// ([`crate::trace::run`]).
	pub fn runs_on_nodes(&self) -> bool {
		matches!(
			self,
			Scenario::Peacetime
				| Scenario::SlowJamming
				| Scenario::ReputationAbuse
				| Scenario::SinkAttack
				| Scenario::FastFailBurst
		)
	}

	/// The scenario's name on the command line and in the output.
	pub fn name(&self) -> &'static str {
		match self {
			Scenario::Peacetime => "peacetime",
			Scenario::SlowJamming => "slow-jamming",
			Scenario::ReputationAbuse => "reputation-abuse",
			Scenario::SinkAttack => "sink-attack",
			Scenario::FastFailBurst => "fast-fail-burst",
			Scenario::AboutTurn => "about-turn",
			Scenario::JitWaiverAbuse => "jit-waiver-abuse",
			Scenario::CloseLaundering => "close-laundering",
			Scenario::CongestionAbuse => "congestion-abuse",
		}
	}
}

impl fmt::Display for Scenario {
	fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
		f.write_str(self.name())
	}
}

impl FromStr for Scenario {
	type Err = String;

	fn from_str(s: &str) -> Result<Self, Self::Err> {
		Scenario::ALL
			.into_iter()
			.find(|scenario| scenario.name() == s)
			.ok_or_else(|| format!("unknown scenario {s:?}"))
	}
}

/// The resource manager the target node runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ManagerMode {
	/// No resource manager: forwarding is upstream LDK's.
	Noop,
	/// The default manager in shadow mode: it forwards everything, counting what it would fail.
	Shadow,
	/// The default manager in enforce mode.
	Enforce,
}

impl ManagerMode {
	/// Every mode, in the order the demo shows them.
	pub const ALL: [ManagerMode; 3] =
		[ManagerMode::Noop, ManagerMode::Shadow, ManagerMode::Enforce];

	/// The mode's name on the command line and in the output.
	pub fn name(&self) -> &'static str {
		match self {
			ManagerMode::Noop => "no-op",
			ManagerMode::Shadow => "shadow",
			ManagerMode::Enforce => "enforce",
		}
	}
}

impl fmt::Display for ManagerMode {
	fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
		f.write_str(self.name())
	}
}

impl FromStr for ManagerMode {
	type Err = String;

	fn from_str(s: &str) -> Result<Self, Self::Err> {
		ManagerMode::ALL
			.into_iter()
			.find(|mode| mode.name() == s)
			.ok_or_else(|| format!("unknown mode {s:?}"))
	}
}

/// The parameters of one run.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SimulationConfig {
	/// The attack.
	pub scenario: Scenario,
	/// The target's resource manager.
	pub mode: ManagerMode,
	/// Seeds every random choice of the run (payment times, sizes and receivers).
	pub seed: u64,
	/// The simulated duration of the run, in seconds.
	pub duration_secs: u64,
	/// When the attack starts, in seconds from the start of the run. In
	/// [`Scenario::ReputationAbuse`] the attacker builds reputation before this.
	pub attack_start_secs: u64,
	/// How many payments each honest sender makes per simulated hour, on average.
	pub honest_payments_per_hour: f64,
	/// Whether honest senders put the `upgrade_accountability` marker in their onions, as
	/// senders that follow the proposal do; software that does not know it yet does not.
	pub honest_upgrade_marker: bool,
	/// What the target's manager does with HTLCs without the marker that only protected
	/// resources could take.
	pub unmarked_protected: UnmarkedProtectedPolicy,
}

impl SimulationConfig {
	/// The demo's defaults: a simulated day, the attack starting after four hours.
	pub fn new(scenario: Scenario, mode: ManagerMode, seed: u64) -> Self {
		Self {
			scenario,
			mode,
			seed,
			duration_secs: 24 * 3600,
			attack_start_secs: 4 * 3600,
			honest_payments_per_hour: 10.0,
			honest_upgrade_marker: true,
			unmarked_protected: UnmarkedProtectedPolicy::ForwardUnaccountable,
		}
	}

	/// The long-horizon defaults for the trace ([`crate::trace::run`]): eight weeks of honest
	/// traffic, dense enough for the target's channels to earn real revenue, then two weeks of
	/// attack.
	pub fn long_horizon(scenario: Scenario, mode: ManagerMode, seed: u64) -> Self {
		Self {
			duration_secs: 10 * WEEK_SECS,
			attack_start_secs: 8 * WEEK_SECS,
			honest_payments_per_hour: 30.0,
			..Self::new(scenario, mode, seed)
		}
	}
}

/// A week, in seconds.
pub const WEEK_SECS: u64 = 7 * 24 * 3600;
