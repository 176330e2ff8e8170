// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! Every scenario over the long horizon on the trace (eight weeks of honest traffic, then two
//! of attack), against the proposal's criteria. The trace runs all of them in seconds, so this
//! is the whole horizon, not a shortened one.

use jamming_demo::report::{self, Summary};
use jamming_demo::{trace, ManagerMode, RunResult, Scenario, SimulationConfig};
use lightning_resource_manager::{ResourceManagerConfig, UnmarkedProtectedPolicy};

use std::collections::HashMap;

const SEED: u64 = 42;

/// Attacks that cost the attacker nothing the target could make it pay: a receiver that holds
/// the honest payments it is sent locks no capital of its own, and HTLCs failed at once pay no
/// fee. The manager cannot make the attacker's cost reach the target's loss there; it must not
/// make the loss larger.
const FREE_ATTACKS: [Scenario; 2] = [Scenario::SinkAttack, Scenario::FastFailBurst];

fn run_all() -> HashMap<(Scenario, ManagerMode), Summary> {
	let mut results = HashMap::new();
	for scenario in Scenario::ALL {
		for mode in ManagerMode::ALL {
			let config = SimulationConfig::long_horizon(scenario, mode, SEED);
			results.insert((scenario, mode), (config, trace::run(&config, &mut |_, _| {})));
		}
	}
	let mut summaries = HashMap::new();
	for (&(scenario, mode), (config, result)) in &results {
		let peacetime: &RunResult = &results[&(Scenario::Peacetime, mode)].1;
		summaries.insert((scenario, mode), Summary::new(config, result, peacetime));
	}
	summaries
}

#[test]
fn enforce_meets_the_proposals_criteria_over_weeks() {
	let summaries = run_all();
	let rows: Vec<Summary> = Scenario::ALL
		.into_iter()
		.flat_map(|s| ManagerMode::ALL.map(|mode| summaries[&(s, mode)].clone()))
		.collect();
	println!("{}", report::table(&rows));

	// The honest traffic is the same in every run, and weeks of it earned the target revenue.
	let peacetime = &summaries[&(Scenario::Peacetime, ManagerMode::Enforce)];
	assert!(peacetime.result.honest_attempted > 90_000, "{}", peacetime.result.honest_attempted);
	assert!(peacetime.peacetime_revenue_msat > 40_000_000, "{}", peacetime.peacetime_revenue_msat);
	for summary in summaries.values() {
		let sent = summary.result.honest_attempted + summary.result.honest_to_sink;
		assert_eq!(sent, peacetime.result.honest_attempted);
	}

	for scenario in Scenario::ALL.into_iter().filter(|s| *s != Scenario::Peacetime) {
		let enforced = &summaries[&(scenario, ManagerMode::Enforce)];
		let unprotected = &summaries[&(scenario, ManagerMode::Noop)];
		let attacked = enforced.attacker_htlcs > 0 || enforced.result.honest_to_sink > 0;
		assert!(attacked, "{scenario}: no attack");
		assert!(
			enforced.honest_success_goal_met(),
			"{scenario}: honest success {:.1}% against {:.1}% in peacetime",
			enforced.honest_success_percent,
			enforced.peacetime_success_percent
		);
		// The attacker is worse off than without a manager: the damage it buys is no larger.
		assert!(
			enforced.revenue_loss_msat() <= unprotected.revenue_loss_msat(),
			"{scenario}: loss {} with the manager, {} without",
			enforced.revenue_loss_msat(),
			unprotected.revenue_loss_msat()
		);
		assert!(enforced.honest_success_percent >= unprotected.honest_success_percent);
		if !FREE_ATTACKS.contains(&scenario) {
			assert!(
				enforced.cost_goal_met(),
				"{scenario}: the attacker paid {} msat for a loss of {} msat",
				enforced.attacker_cost_msat(),
				enforced.revenue_loss_msat()
			);
		}
	}

	// The attacks that jam the target without a manager do, and the manager stops them.
	for scenario in [
		Scenario::SlowJamming,
		Scenario::ReputationAbuse,
		Scenario::JitWaiverAbuse,
		Scenario::CongestionAbuse,
	] {
		let unprotected = &summaries[&(scenario, ManagerMode::Noop)];
		assert!(!unprotected.honest_success_goal_met(), "{scenario}: {unprotected:?}");
		assert!(unprotected.revenue_loss_msat() > 10_000_000, "{scenario}: {unprotected:?}");
		assert_eq!(summaries[&(scenario, ManagerMode::Enforce)].revenue_loss_msat(), 0);
	}
	// The reputation attackers paid weeks of fees before attacking.
	for scenario in [Scenario::AboutTurn, Scenario::CloseLaundering, Scenario::ReputationAbuse] {
		let enforced = &summaries[&(scenario, ManagerMode::Enforce)];
		assert!(enforced.attacker_fees_before_attack_msat > 10_000_000, "{scenario}");
	}
}

/// The default [`UnmarkedProtectedPolicy`] is the one the demo favours: with honest senders whose
/// software does not set the `upgrade_accountability` marker, failing their HTLCs on protected
/// resources leaves them nothing once an attacker fills the general bucket, while forwarding
/// them costs nothing in protection, as an unmarked HTLC pays for protected resources too.
#[test]
fn the_default_unmarked_policy_is_the_one_the_demo_favours() {
	let run = |scenario, unmarked_protected| {
		let config = SimulationConfig {
			honest_upgrade_marker: false,
			unmarked_protected,
			..SimulationConfig::long_horizon(scenario, ManagerMode::Enforce, SEED)
		};
		let peacetime = trace::run(
			&SimulationConfig { scenario: Scenario::Peacetime, ..config },
			&mut |_, _| {},
		);
		Summary::new(&config, &trace::run(&config, &mut |_, _| {}), &peacetime)
	};
	let (forward, fail) =
		(UnmarkedProtectedPolicy::ForwardUnaccountable, UnmarkedProtectedPolicy::Fail);
	assert_eq!(ResourceManagerConfig::default().unmarked_protected, forward);

	let mut failing_hurts = false;
	for scenario in [Scenario::JitWaiverAbuse, Scenario::CongestionAbuse, Scenario::AboutTurn] {
		let (forwarded, failed) = (run(scenario, forward), run(scenario, fail));
		println!(
			"{scenario}: honest success {:.1}% forwarding, {:.1}% failing; protected HTLC-hours \
			 {} forwarding, {} failing",
			forwarded.honest_success_percent,
			failed.honest_success_percent,
			forwarded.attacker_protected_htlc_secs / 3600,
			failed.attacker_protected_htlc_secs / 3600,
		);
		assert!(forwarded.honest_success_goal_met(), "{scenario}: {forwarded:?}");
		failing_hurts |= !failed.honest_success_goal_met();
		// Forwarding them does not let the attacker hold protected resources for longer.
		let (with_forward, with_fail) =
			(forwarded.attacker_protected_htlc_secs, failed.attacker_protected_htlc_secs);
		assert!(
			with_forward <= with_fail + with_fail / 20,
			"{scenario}: {with_forward} s vs {with_fail} s"
		);
	}
	assert!(failing_hurts);
}

#[test]
fn trace_runs_with_the_same_seed_are_identical() {
	let config = SimulationConfig {
		duration_secs: 3 * 24 * 3600,
		attack_start_secs: 2 * 24 * 3600,
		..SimulationConfig::long_horizon(Scenario::AboutTurn, ManagerMode::Shadow, SEED)
	};
	let first = trace::run(&config, &mut |_, _| {});
	assert_eq!(first, trace::run(&config, &mut |_, _| {}));
	assert!(first.attacker_htlcs > 0);
}
