// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! What a run means against the proposal's criteria: honest success against peacetime, the
//! target's revenue loss and the attacker's total cost, over the attack.

use crate::scenario::{ManagerMode, Scenario, SimulationConfig};
use crate::simulation::RunResult;
use crate::trace::capital_cost_msat;

use comfy_table::{presets, CellAlignment, Table};

use std::io;

/// The share of peacetime honest success an attack may take at most, in percent of it.
pub const HONEST_SUCCESS_GOAL_PERCENT: f64 = 95.0;

/// One run against its peacetime baseline (the same seed and mode), over the attack: from the
/// attack's start to the end of the run.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
	/// The attack.
	pub scenario: Scenario,
	/// The target's resource manager.
	pub mode: ManagerMode,
	/// Honest success over the attack, in percent.
	pub honest_success_percent: f64,
	/// Honest success over the same time in peacetime, in percent.
	pub peacetime_success_percent: f64,
	/// The target's fees over the attack, in msat.
	pub revenue_msat: u64,
	/// The target's fees over the same time in peacetime, in msat.
	pub peacetime_revenue_msat: u64,
	/// The HTLCs the attacker sent over the whole run.
	pub attacker_htlcs: u64,
	/// The fees the attacker paid over the whole run, reputation building included, in msat.
	pub attacker_fees_msat: u64,
	/// Those paid before the attack started.
	pub attacker_fees_before_attack_msat: u64,
	/// The cost of the capital the attacker locked in HTLCs, in msat.
	pub attacker_capital_cost_msat: u64,
	/// The time the attacker's HTLCs held protected or congestion resources, in seconds.
	pub attacker_protected_htlc_secs: u64,
	/// The forwards the manager failed (would have failed, in shadow mode); `None` without one.
	pub manager_failed: Option<u64>,
	/// The whole run.
	pub result: RunResult,
}

impl Summary {
	/// Summarizes `result` against `peacetime`, both run with `config`'s times.
	pub fn new(config: &SimulationConfig, result: &RunResult, peacetime: &RunResult) -> Self {
		let (from, to) = (config.attack_start_secs, config.duration_secs);
		Self {
			scenario: config.scenario,
			mode: config.mode,
			honest_success_percent: result.honest_success_percent_between(from, to),
			peacetime_success_percent: peacetime.honest_success_percent_between(from, to),
			revenue_msat: result.revenue_between(from, to),
			peacetime_revenue_msat: peacetime.revenue_between(from, to),
			attacker_htlcs: result.attacker_htlcs,
			attacker_fees_msat: result.attacker_fees_paid_msat,
			attacker_fees_before_attack_msat: result.attacker_fees_before_attack_msat,
			attacker_capital_cost_msat: capital_cost_msat(result.attacker_locked_msat_secs),
			attacker_protected_htlc_secs: result.attacker_protected_htlc_secs,
			manager_failed: result.manager.map(|report| report.rejected),
			result: result.clone(),
		}
	}

	/// The target's revenue loss against peacetime, in msat (negative when the attack earned it
	/// more, with the attacker's own fees).
	pub fn revenue_loss_msat(&self) -> i64 {
		self.peacetime_revenue_msat as i64 - self.revenue_msat as i64
	}

	/// The attacker's total cost: fees, reputation building included, and capital × time.
	pub fn attacker_cost_msat(&self) -> u64 {
		self.attacker_fees_msat + self.attacker_capital_cost_msat
	}

	/// Whether honest success kept [`HONEST_SUCCESS_GOAL_PERCENT`] of peacetime's.
	pub fn honest_success_goal_met(&self) -> bool {
		self.honest_success_percent
			>= self.peacetime_success_percent * HONEST_SUCCESS_GOAL_PERCENT / 100.0
	}

	/// Whether the attack cost the attacker at least what it cost the target.
	pub fn cost_goal_met(&self) -> bool {
		self.attacker_cost_msat() as i64 >= self.revenue_loss_msat()
	}
}

fn sat(msat: i64) -> String {
	format!("{}", msat / 1000)
}

/// The main table: one row per run, fitting a 120-column terminal.
pub fn table(summaries: &[Summary]) -> String {
	let mut table = Table::new();
	table.load_preset(presets::ASCII_MARKDOWN);
	table.set_header(vec![
		"scenario", "mode", "honest %", "peace %", "loss sat", "cost sat", "fees sat", "prot. h",
		"failed", "goals",
	]);
	for summary in summaries {
		let goals = match (summary.honest_success_goal_met(), summary.cost_goal_met()) {
			(true, true) => "met",
			(false, true) => "honest",
			(true, false) => "cost",
			(false, false) => "both",
		};
		let failed = match (summary.mode, summary.manager_failed) {
			(_, None) => "-".to_string(),
			(ManagerMode::Shadow, Some(failed)) => format!("({failed})"),
			(_, Some(failed)) => failed.to_string(),
		};
		table.add_row(vec![
			summary.scenario.to_string(),
			summary.mode.to_string(),
			format!("{:.1}", summary.honest_success_percent),
			format!("{:.1}", summary.peacetime_success_percent),
			sat(summary.revenue_loss_msat()),
			sat(summary.attacker_cost_msat() as i64),
			sat(summary.attacker_fees_msat as i64),
			format!("{:.0}", summary.attacker_protected_htlc_secs as f64 / 3600.0),
			failed,
			goals.to_string(),
		]);
	}
	for column in table.column_iter_mut().skip(2) {
		column.set_cell_alignment(CellAlignment::Right);
	}
	table.to_string()
}

/// Writes every number of every run, one row per run, as CSV.
pub fn write_csv(writer: impl io::Write, summaries: &[Summary]) -> csv::Result<()> {
	let mut csv = csv::Writer::from_writer(writer);
	csv.write_record([
		"scenario",
		"mode",
		"honest_success_percent",
		"peacetime_success_percent",
		"honest_attempted",
		"honest_succeeded",
		"honest_to_sink",
		"honest_locked_by_sink_msat_secs",
		"revenue_msat",
		"peacetime_revenue_msat",
		"revenue_loss_msat",
		"run_revenue_msat",
		"attacker_htlcs",
		"attacker_fees_msat",
		"attacker_fees_before_attack_msat",
		"attacker_locked_msat_secs",
		"attacker_capital_cost_msat",
		"attacker_cost_msat",
		"attacker_protected_htlc_secs",
		"manager_failed",
		"manager_failed_for_reputation",
		"general_peak_slots",
		"congestion_peak_slots",
		"protected_peak_slots",
		"honest_success_goal_met",
		"cost_goal_met",
	])?;
	for summary in summaries {
		let result = &summary.result;
		let manager = result.manager.unwrap_or_default();
		let optional = |value: u64| match result.manager {
			Some(_) => value.to_string(),
			None => String::new(),
		};
		csv.write_record([
			summary.scenario.to_string(),
			summary.mode.to_string(),
			format!("{:.3}", summary.honest_success_percent),
			format!("{:.3}", summary.peacetime_success_percent),
			result.honest_attempted.to_string(),
			result.honest_succeeded.to_string(),
			result.honest_to_sink.to_string(),
			result.honest_locked_by_sink_msat_secs.to_string(),
			summary.revenue_msat.to_string(),
			summary.peacetime_revenue_msat.to_string(),
			summary.revenue_loss_msat().to_string(),
			result.target_revenue_msat.to_string(),
			summary.attacker_htlcs.to_string(),
			summary.attacker_fees_msat.to_string(),
			summary.attacker_fees_before_attack_msat.to_string(),
			result.attacker_locked_msat_secs.to_string(),
			summary.attacker_capital_cost_msat.to_string(),
			summary.attacker_cost_msat().to_string(),
			summary.attacker_protected_htlc_secs.to_string(),
			optional(manager.rejected),
			optional(manager.rejected_for_reputation),
			optional(manager.buckets[0].slots),
			optional(manager.buckets[1].slots),
			optional(manager.buckets[2].slots),
			summary.honest_success_goal_met().to_string(),
			summary.cost_goal_met().to_string(),
		])?;
	}
	csv.flush()?;
	Ok(())
}

#[cfg(test)]
mod tests {
	use super::*;

	#[test]
	fn the_table_fits_a_120_column_terminal() {
		let mut summaries = Vec::new();
		for scenario in Scenario::ALL {
			for mode in ManagerMode::ALL {
				let config = SimulationConfig::long_horizon(scenario, mode, 1);
				// Wider numbers than any run gives: 0.1 BTC of fees and losses, ten million
				// failed forwards, a million HTLC-hours.
				let result = RunResult {
					attacker_fees_paid_msat: 9_999_999_999,
					attacker_protected_htlc_secs: 999_999 * 3600,
					..Default::default()
				};
				let mut summary = Summary::new(&config, &result, &RunResult::default());
				summary.peacetime_revenue_msat = 0;
				summary.revenue_msat = 9_999_999_999;
				summary.manager_failed = Some(9_999_999);
				summaries.push(summary);
			}
		}
		let table = table(&summaries);
		assert_eq!(table.lines().count(), 2 + summaries.len());
		for line in table.lines() {
			assert!(line.chars().count() <= 120, "{} characters: {line}", line.chars().count());
		}
	}
}
