// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! The demo's headline on a shortened slow-jamming run: with the default manager enforcing,
//! honest payments through the jammed target succeed within 5 % of peacetime, while without a
//! resource manager they collapse.

use jamming_demo::{run, trace, ManagerMode, RunResult, Scenario, SimulationConfig};

const SEED: u64 = 7;
const HOURS: u64 = 6;
const ATTACK_START_HOURS: u64 = 1;

fn shortened_config(scenario: Scenario, mode: ManagerMode) -> SimulationConfig {
	let mut config = SimulationConfig::new(scenario, mode, SEED);
	config.duration_secs = HOURS * 3600;
	config.attack_start_secs = ATTACK_START_HOURS * 3600;
	config
}

fn shortened(scenario: Scenario, mode: ManagerMode) -> RunResult {
	run(&shortened_config(scenario, mode), &mut |_, _| {})
}

/// The long-horizon trace stands in for the nodes over weeks: on the same runs, it must tell
/// the same story.
fn assert_trace_agrees(scenario: Scenario, mode: ManagerMode, nodes: &RunResult) {
	let traced = trace::run(&shortened_config(scenario, mode), &mut |_, _| {});
	let (on_nodes, on_trace) = (success_under_attack(nodes), success_under_attack(&traced));
	println!("{scenario}/{mode}: honest success {on_nodes:.1}% on the nodes, {on_trace:.1}% on the trace");
	assert_eq!(traced.honest_attempted, nodes.honest_attempted);
	assert!(
		(on_nodes - on_trace).abs() <= 5.0,
		"{scenario}/{mode}: {on_nodes:.1}% vs {on_trace:.1}%"
	);
	if scenario != Scenario::Peacetime {
		assert!(traced.attacker_htlcs > 0);
	}
}

/// Honest success while the attack runs (the same window in peacetime).
fn success_under_attack(result: &RunResult) -> f64 {
	result.honest_success_percent_between(ATTACK_START_HOURS * 3600, HOURS * 3600)
}

#[test]
fn enforce_keeps_honest_payments_going_under_slow_jamming() {
	let peacetime = shortened(Scenario::Peacetime, ManagerMode::Enforce);
	let enforced = shortened(Scenario::SlowJamming, ManagerMode::Enforce);
	let unprotected = shortened(Scenario::SlowJamming, ManagerMode::Noop);
	let (peacetime_ok, enforced_ok, unprotected_ok) = (
		success_under_attack(&peacetime),
		success_under_attack(&enforced),
		success_under_attack(&unprotected),
	);
	println!("honest success: peacetime {peacetime_ok:.1}%, slow jamming with enforce {enforced_ok:.1}%, without a manager {unprotected_ok:.1}%");

	// The same honest traffic was sent in all three runs, and the attacker did attack.
	assert_eq!(peacetime.honest_attempted, enforced.honest_attempted);
	assert_eq!(peacetime.honest_attempted, unprotected.honest_attempted);
	assert!(peacetime.honest_attempted >= 50, "{peacetime:?}");
	assert_eq!(peacetime.attacker_htlcs, 0);
	assert!(enforced.attacker_htlcs > 0 && unprotected.attacker_htlcs > 0);
	// The manager turned the attacker away, and the attacker still held what it got through.
	assert!(enforced.manager.unwrap().rejected > 0);
	assert!(enforced.attacker_locked_msat_secs > 0);

	assert!(
		enforced_ok >= peacetime_ok - 5.0,
		"enforce {enforced_ok:.1}% vs peacetime {peacetime_ok:.1}%"
	);
	assert!(
		unprotected_ok < peacetime_ok / 2.0,
		"no-op {unprotected_ok:.1}% vs peacetime {peacetime_ok:.1}%"
	);

	assert_trace_agrees(Scenario::Peacetime, ManagerMode::Enforce, &peacetime);
	assert_trace_agrees(Scenario::SlowJamming, ManagerMode::Enforce, &enforced);
	assert_trace_agrees(Scenario::SlowJamming, ManagerMode::Noop, &unprotected);
}

#[test]
fn runs_with_the_same_seed_are_identical() {
	let mut config = SimulationConfig::new(Scenario::SlowJamming, ManagerMode::Shadow, SEED);
	config.duration_secs = 2 * 3600;
	config.attack_start_secs = 3600;
	let first = run(&config, &mut |_, _| {});
	let second = run(&config, &mut |_, _| {});
	assert_eq!(first, second);
	assert_eq!(RunResult::decode(&first.encode()), Some(first));
}
