// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! Runs the jamming scenarios with each resource manager mode and prints them side by side.
//!
//! Each run happens in a child process of the demo: the functional test nodes print every log
//! line on standard output, which the child discards, and report progress and the result on
//! standard error.

use jamming_demo::{run, ManagerMode, RunResult, Scenario, SimulationConfig};

use clap::{value_parser, Arg, ArgAction, ArgMatches, Command};
use comfy_table::{presets, CellAlignment, Table};
use indicatif::{ProgressBar, ProgressStyle};
use plotters::prelude::*;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command as Process, Stdio};
use std::sync::Mutex;
use std::time::Instant;

const PROGRESS_PREFIX: &str = "jamming-demo-progress ";
const RESULT_PREFIX: &str = "jamming-demo-result ";
/// A run's progress is reported in steps of a thousandth.
const PROGRESS_STEPS: u64 = 1000;
/// The honest success plotted at each point is that of the payments of the last two hours.
const SUCCESS_WINDOW_SECS: u64 = 2 * 3600;

fn command() -> Command {
	Command::new("jamming-demo")
		.about(
			"Channel jamming against a routing node of in-process LDK nodes, with no resource \
			 manager and the default manager in shadow and enforce modes, side by side.",
		)
		.arg(
			Arg::new("seed")
				.long("seed")
				.value_parser(value_parser!(u64))
				.default_value("42")
				.help("Seeds the honest traffic; the same seed gives the same output"),
		)
		.arg(Arg::new("scenario").long("scenario").default_value("all").help(
			"all, or one of peacetime, slow-jamming, reputation-abuse, sink-attack, \
					 fast-fail-burst (peacetime runs too, as the baseline)",
		))
		.arg(
			Arg::new("hours")
				.long("hours")
				.value_parser(value_parser!(u64).range(2..))
				.default_value("24")
				.help("Simulated hours per run"),
		)
		.arg(
			Arg::new("attack-start-hours")
				.long("attack-start-hours")
				.value_parser(value_parser!(u64))
				.default_value("4")
				.help("When the attack starts; the reputation attacker builds reputation before"),
		)
		.arg(
			Arg::new("jobs")
				.long("jobs")
				.value_parser(value_parser!(u64).range(1..))
				.default_value("2")
				.help("Runs at once"),
		)
		.arg(
			Arg::new("plot")
				.long("plot")
				.default_value("target/jamming-demo.svg")
				.help("Where to write the plot of honest success and revenue over time (SVG)"),
		)
		.arg(Arg::new("worker").long("worker").hide(true).action(ArgAction::SetTrue))
		.arg(Arg::new("mode").long("mode").hide(true))
}

fn config(matches: &ArgMatches, scenario: Scenario, mode: ManagerMode) -> SimulationConfig {
	let mut config = SimulationConfig::new(scenario, mode, *matches.get_one("seed").unwrap());
	config.duration_secs = matches.get_one::<u64>("hours").unwrap() * 3600;
	config.attack_start_secs = matches.get_one::<u64>("attack-start-hours").unwrap() * 3600;
	config
}

/// Runs one scenario and mode in this process, reporting on standard error.
fn worker(matches: &ArgMatches) -> Result<(), String> {
	let scenario = matches.get_one::<String>("scenario").unwrap().parse()?;
	let mode = matches.get_one::<String>("mode").ok_or("--mode is required")?.parse()?;
	let mut reported = u64::MAX;
	let result = run(&config(matches, scenario, mode), &mut |done, total| {
		let steps = done * PROGRESS_STEPS / total;
		if steps != reported {
			reported = steps;
			eprintln!("{PROGRESS_PREFIX}{steps}");
		}
	});
	eprintln!("{RESULT_PREFIX}{}", result.encode());
	Ok(())
}

/// Runs one scenario and mode in a child process, advancing `bar` as it reports progress.
fn run_child(
	matches: &ArgMatches, scenario: Scenario, mode: ManagerMode, bar: &ProgressBar,
) -> Result<RunResult, String> {
	let exe = std::env::current_exe().map_err(|e| e.to_string())?;
	let mut child = Process::new(exe)
		.args(["--worker", "--scenario", scenario.name(), "--mode", mode.name()])
		.args(["--seed", &matches.get_one::<u64>("seed").unwrap().to_string()])
		.args(["--hours", &matches.get_one::<u64>("hours").unwrap().to_string()])
		.arg("--attack-start-hours")
		.arg(matches.get_one::<u64>("attack-start-hours").unwrap().to_string())
		.stdin(Stdio::null())
		.stdout(Stdio::null())
		.stderr(Stdio::piped())
		.spawn()
		.map_err(|e| e.to_string())?;
	let mut result = None;
	let mut other_output = Vec::new();
	let mut reported = 0;
	for line in BufReader::new(child.stderr.take().unwrap()).lines() {
		let line = line.map_err(|e| e.to_string())?;
		if let Some(steps) = line.strip_prefix(PROGRESS_PREFIX) {
			let steps = steps.parse().unwrap_or(reported);
			bar.inc(steps - reported);
			reported = steps;
		} else if let Some(encoded) = line.strip_prefix(RESULT_PREFIX) {
			result = RunResult::decode(encoded);
		} else {
			other_output.push(line);
		}
	}
	let status = child.wait().map_err(|e| e.to_string())?;
	bar.inc(PROGRESS_STEPS - reported);
	match result {
		Some(result) if status.success() => Ok(result),
		_ => {
			let tail = other_output.len().saturating_sub(40);
			Err(format!(
				"{scenario}/{mode} failed ({status}):\n{}",
				other_output[tail..].join("\n")
			))
		},
	}
}

fn sat(msat: u64) -> String {
	format!("{}", msat / 1000)
}

fn sat_hours(msat_secs: u64) -> String {
	format!("{:.1}", msat_secs as f64 / 1000.0 / 3600.0)
}

fn print_table(scenarios: &[Scenario], results: &HashMap<(Scenario, ManagerMode), RunResult>) {
	let mut table = Table::new();
	table.load_preset(presets::ASCII_MARKDOWN);
	table.set_header(vec![
		"scenario",
		"mode",
		"honest ok / sent",
		"honest ok %",
		"target revenue (sat)",
		"vs peacetime",
		"attacker HTLCs",
		"attacker fees (sat)",
		"attacker locked (sat*h)",
		"honest held by sink (sat*h)",
		"general peak slots / liq (sat)",
		"congestion peak",
		"protected peak",
		"failed (would fail) / for reputation",
	]);
	for &scenario in scenarios {
		for mode in ManagerMode::ALL {
			let result = &results[&(scenario, mode)];
			let peacetime = results[&(Scenario::Peacetime, mode)].target_revenue_msat;
			let revenue_ratio = if peacetime == 0 {
				"-".to_string()
			} else {
				format!("{:.0}%", 100.0 * result.target_revenue_msat as f64 / peacetime as f64)
			};
			let (buckets, rejected) = match &result.manager {
				None => (vec!["-".to_string(); 3], "-".to_string()),
				Some(report) => {
					let buckets = report.buckets.iter().map(|peak| {
						format!("{}/{} / {}", peak.slots, peak.slot_limit, sat(peak.liquidity_msat))
					});
					let rejected = match mode {
						ManagerMode::Shadow => format!("({})", report.rejected),
						_ => report.rejected.to_string(),
					};
					let rejected = format!("{rejected} / {}", report.rejected_for_reputation);
					(buckets.collect(), rejected)
				},
			};
			let mut row = vec![
				scenario.to_string(),
				mode.to_string(),
				format!("{} / {}", result.honest_succeeded, result.honest_attempted),
				format!("{:.1}", result.honest_success_percent()),
				sat(result.target_revenue_msat),
				revenue_ratio,
				result.attacker_htlcs.to_string(),
				sat(result.attacker_fees_paid_msat),
				sat_hours(result.attacker_locked_msat_secs),
				sat_hours(result.honest_locked_by_sink_msat_secs),
			];
			row.extend(buckets);
			row.push(rejected);
			table.add_row(row);
		}
	}
	for column in table.column_iter_mut().skip(2) {
		column.set_cell_alignment(CellAlignment::Right);
	}
	println!("{table}");
}

/// The honest success of the payments sent in the window before each sample, in percent.
fn windowed_success(result: &RunResult) -> Vec<(f64, f64)> {
	let mut points = Vec::new();
	for (index, sample) in result.timeline.iter().enumerate() {
		let start = sample.secs.saturating_sub(SUCCESS_WINDOW_SECS);
		let before = result.timeline[..index].iter().rev().find(|s| s.secs <= start);
		let (attempted, succeeded) = match before {
			Some(before) => (
				sample.honest_attempted - before.honest_attempted,
				sample.honest_succeeded - before.honest_succeeded,
			),
			None => (sample.honest_attempted, sample.honest_succeeded),
		};
		if attempted > 0 {
			points.push((sample.secs as f64 / 3600.0, 100.0 * succeeded as f64 / attempted as f64));
		}
	}
	points
}

fn plot(
	path: &str, scenarios: &[Scenario], results: &HashMap<(Scenario, ManagerMode), RunResult>,
	hours: f64,
) -> Result<(), Box<dyn std::error::Error>> {
	if let Some(parent) = std::path::Path::new(path).parent() {
		std::fs::create_dir_all(parent)?;
	}
	let root = SVGBackend::new(path, (1200, 320 * scenarios.len() as u32)).into_drawing_area();
	root.fill(&WHITE)?;
	let colors = [RED, BLUE, GREEN];
	let rows = root.split_evenly((scenarios.len(), 2));
	for (row, &scenario) in scenarios.iter().enumerate() {
		let max_revenue = ManagerMode::ALL
			.iter()
			.map(|&mode| results[&(scenario, mode)].target_revenue_msat as f64 / 1000.0)
			.fold(1.0, f64::max);
		for column in 0..2 {
			let (caption, y_max, y_desc) = match column {
				0 => (format!("{scenario}: honest success"), 105.0, "% ok, last 2 h"),
				_ => (format!("{scenario}: target revenue"), max_revenue * 1.05, "sat"),
			};
			let mut chart = ChartBuilder::on(&rows[row * 2 + column])
				.caption(caption, ("sans-serif", 18))
				.margin(10)
				.x_label_area_size(35)
				.y_label_area_size(60)
				.build_cartesian_2d(0.0..hours, 0.0..y_max)?;
			chart.configure_mesh().x_desc("hours").y_desc(y_desc).draw()?;
			for (mode, color) in ManagerMode::ALL.into_iter().zip(colors) {
				let result = &results[&(scenario, mode)];
				let points = match column {
					0 => windowed_success(result),
					_ => result
						.timeline
						.iter()
						.map(|s| (s.secs as f64 / 3600.0, s.target_revenue_msat as f64 / 1000.0))
						.collect(),
				};
				chart
					.draw_series(LineSeries::new(points, color.stroke_width(2)))?
					.label(mode.name())
					.legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
			}
			chart
				.configure_series_labels()
				.position(SeriesLabelPosition::LowerRight)
				.background_style(WHITE.mix(0.8))
				.border_style(BLACK)
				.draw()?;
		}
	}
	root.present()?;
	Ok(())
}

fn main() {
	let matches = command().get_matches();
	if matches.get_flag("worker") {
		if let Err(error) = worker(&matches) {
			eprintln!("{error}");
			std::process::exit(2);
		}
		return;
	}

	let scenarios: Vec<Scenario> = match matches.get_one::<String>("scenario").unwrap().as_str() {
		"all" => Scenario::ALL.to_vec(),
		name => match name.parse() {
			Ok(Scenario::Peacetime) => vec![Scenario::Peacetime],
			Ok(scenario) => vec![Scenario::Peacetime, scenario],
			Err(error) => {
				eprintln!("{error}");
				std::process::exit(2);
			},
		},
	};
	let runs: Vec<(Scenario, ManagerMode)> = scenarios
		.iter()
		.flat_map(|&scenario| ManagerMode::ALL.into_iter().map(move |mode| (scenario, mode)))
		.collect();
	let jobs = *matches.get_one::<u64>("jobs").unwrap() as usize;
	println!(
		"{} runs of {} simulated hours ({} at once), seed {}",
		runs.len(),
		matches.get_one::<u64>("hours").unwrap(),
		jobs,
		matches.get_one::<u64>("seed").unwrap()
	);

	let started = Instant::now();
	let bar = ProgressBar::new(runs.len() as u64 * PROGRESS_STEPS);
	bar.set_style(
		ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {percent:>3}% eta {eta} {msg}")
			.unwrap()
			.progress_chars("=> "),
	);
	let queue = Mutex::new(runs.clone());
	let results = Mutex::new(HashMap::new());
	let failures = Mutex::new(Vec::new());
	std::thread::scope(|scope| {
		for _ in 0..jobs.min(runs.len()) {
			scope.spawn(|| loop {
				let next = queue.lock().unwrap().pop();
				let (scenario, mode) = match next {
					Some(run) => run,
					None => return,
				};
				bar.set_message(format!("{scenario}/{mode}"));
				match run_child(&matches, scenario, mode, &bar) {
					Ok(result) => {
						results.lock().unwrap().insert((scenario, mode), result);
					},
					Err(error) => failures.lock().unwrap().push(error),
				}
			});
		}
	});
	bar.finish_and_clear();
	let failures = failures.into_inner().unwrap();
	if !failures.is_empty() {
		for failure in failures {
			eprintln!("{failure}");
		}
		std::process::exit(1);
	}
	let results = results.into_inner().unwrap();

	print_table(&scenarios, &results);
	let plot_path = matches.get_one::<String>("plot").unwrap();
	let hours = *matches.get_one::<u64>("hours").unwrap() as f64;
	match plot(plot_path, &scenarios, &results, hours) {
		Ok(()) => println!("plot: {plot_path}"),
		Err(error) => eprintln!("could not write the plot {plot_path}: {error}"),
	}
	println!("took {:.0} s", started.elapsed().as_secs_f64());
	let _ = std::io::stdout().flush();
}
