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

use jamming_demo::report::{self, Summary};
use jamming_demo::scenario::WEEK_SECS;
use jamming_demo::{run, trace, ManagerMode, RunResult, Scenario, SimulationConfig};
use lightning_resource_manager::UnmarkedProtectedPolicy;

use clap::parser::ValueSource;
use clap::{value_parser, Arg, ArgAction, ArgMatches, Command};
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
/// The honest success plotted at each point is that of the payments of the last two hours, or
/// of the last day in runs of weeks.
const SUCCESS_WINDOW_SECS: u64 = 2 * 3600;
const LONG_SUCCESS_WINDOW_SECS: u64 = 24 * 3600;
/// Runs longer than this are plotted in days.
const PLOT_IN_DAYS_AFTER_SECS: u64 = 3 * 24 * 3600;

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
			 fast-fail-burst, and on the trace about-turn, jit-waiver-abuse, close-laundering, \
			 congestion-abuse (peacetime runs too, as the baseline)",
		))
		.arg(
			Arg::new("engine")
				.long("engine")
				.value_parser(["nodes", "trace"])
				.default_value("nodes")
				.help(
					"nodes: in-process LDK nodes; trace: the target's manager alone on a trace \
					 of the same traffic, fast enough for weeks",
				),
		)
		.arg(Arg::new("long-horizon").long("long-horizon").action(ArgAction::SetTrue).help(
			"On the trace: eight weeks of honest traffic (30 payments an hour per \
					 sender), then two weeks of attack; --hours and --attack-start-hours \
					 override the times",
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
			Arg::new("honest-without-marker")
				.long("honest-without-marker")
				.action(ArgAction::SetTrue)
				.help("Honest senders leave the upgrade_accountability marker out of their onions"),
		)
		.arg(
			Arg::new("unmarked-policy")
				.long("unmarked-policy")
				.value_parser(["forward", "fail"])
				.default_value("forward")
				.help(
					"What the manager does with an HTLC without the marker that only protected \
					 resources could take: forward it unaccountable, or fail it",
				),
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
		.arg(
			Arg::new("csv")
				.long("csv")
				.default_value("target/jamming-demo.csv")
				.help("Where to write every number of every run (CSV)"),
		)
		.arg(Arg::new("worker").long("worker").hide(true).action(ArgAction::SetTrue))
		.arg(Arg::new("mode").long("mode").hide(true))
}

fn long_horizon(matches: &ArgMatches) -> bool {
	matches.get_flag("long-horizon")
}

fn on_trace(matches: &ArgMatches) -> bool {
	long_horizon(matches) || matches.get_one::<String>("engine").unwrap() == "trace"
}

fn config(matches: &ArgMatches, scenario: Scenario, mode: ManagerMode) -> SimulationConfig {
	let seed = *matches.get_one("seed").unwrap();
	let mut config = if long_horizon(matches) {
		SimulationConfig::long_horizon(scenario, mode, seed)
	} else {
		SimulationConfig::new(scenario, mode, seed)
	};
	let given = |name| matches.value_source(name) == Some(ValueSource::CommandLine);
	if !long_horizon(matches) || given("hours") {
		config.duration_secs = matches.get_one::<u64>("hours").unwrap() * 3600;
	}
	if !long_horizon(matches) || given("attack-start-hours") {
		config.attack_start_secs = matches.get_one::<u64>("attack-start-hours").unwrap() * 3600;
	}
	config.honest_upgrade_marker = !matches.get_flag("honest-without-marker");
	config.unmarked_protected = match matches.get_one::<String>("unmarked-policy").unwrap().as_str()
	{
		"fail" => UnmarkedProtectedPolicy::Fail,
		_ => UnmarkedProtectedPolicy::ForwardUnaccountable,
	};
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
		.args(["--unmarked-policy", matches.get_one::<String>("unmarked-policy").unwrap()])
		.args(matches.get_flag("honest-without-marker").then_some("--honest-without-marker"))
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

/// The honest success of the payments sent in the window before each sample, in percent.
fn windowed_success(result: &RunResult, window_secs: u64, unit_secs: f64) -> Vec<(f64, f64)> {
	let mut points = Vec::new();
	for (index, sample) in result.timeline.iter().enumerate() {
		let start = sample.secs.saturating_sub(window_secs);
		let before = result.timeline[..index].iter().rev().find(|s| s.secs <= start);
		let (attempted, succeeded) = match before {
			Some(before) => (
				sample.honest_attempted - before.honest_attempted,
				sample.honest_succeeded - before.honest_succeeded,
			),
			None => (sample.honest_attempted, sample.honest_succeeded),
		};
		if attempted > 0 {
			points.push((
				sample.secs as f64 / unit_secs,
				100.0 * succeeded as f64 / attempted as f64,
			));
		}
	}
	points
}

fn plot(
	path: &str, scenarios: &[Scenario], results: &HashMap<(Scenario, ManagerMode), RunResult>,
	config: &SimulationConfig,
) -> Result<(), Box<dyn std::error::Error>> {
	if let Some(parent) = std::path::Path::new(path).parent() {
		std::fs::create_dir_all(parent)?;
	}
	let in_days = config.duration_secs > PLOT_IN_DAYS_AFTER_SECS;
	let (unit_secs, unit, window_secs, window) = match in_days {
		true => (86_400.0, "days", LONG_SUCCESS_WINDOW_SECS, "last day"),
		false => (3_600.0, "hours", SUCCESS_WINDOW_SECS, "last 2 h"),
	};
	let x_max = config.duration_secs as f64 / unit_secs;
	let attack_start = config.attack_start_secs as f64 / unit_secs;
	let root = SVGBackend::new(path, (1200, 320 * scenarios.len() as u32)).into_drawing_area();
	root.fill(&WHITE)?;
	let rows = root.split_evenly((scenarios.len(), 2));
	for (row, &scenario) in scenarios.iter().enumerate() {
		let max_revenue = ManagerMode::ALL
			.iter()
			.map(|&mode| results[&(scenario, mode)].target_revenue_msat as f64 / 1000.0)
			.fold(1.0, f64::max);
		for column in 0..2 {
			let success_desc = format!("% ok, {window}");
			let (caption, y_max, y_desc) = match column {
				0 => (format!("{scenario}: honest success"), 105.0, success_desc.as_str()),
				_ => (format!("{scenario}: target revenue"), max_revenue * 1.05, "sat"),
			};
			let mut chart = ChartBuilder::on(&rows[row * 2 + column])
				.caption(caption, ("sans-serif", 18))
				.margin(10)
				.x_label_area_size(35)
				.y_label_area_size(60)
				.build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
			chart.configure_mesh().x_desc(unit).y_desc(y_desc).draw()?;
			if scenario != Scenario::Peacetime {
				let marker = vec![(attack_start, 0.0), (attack_start, y_max)];
				chart
					.draw_series(DashedLineSeries::new(marker, 6, 4, BLACK.stroke_width(1)))?
					.label("attack starts")
					.legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK));
			}
			for mode in ManagerMode::ALL {
				let result = &results[&(scenario, mode)];
				let points: Vec<(f64, f64)> = match column {
					0 => windowed_success(result, window_secs, unit_secs),
					_ => result
						.timeline
						.iter()
						.map(|s| (s.secs as f64 / unit_secs, s.target_revenue_msat as f64 / 1000.0))
						.collect(),
				};
				// Lines that overlap stay apart: a wide pale line under a dashed one under a
				// thin one.
				let (color, width) = match mode {
					ManagerMode::Noop => (RED.mix(0.35), 6),
					ManagerMode::Shadow => (BLUE.mix(1.0), 2),
					ManagerMode::Enforce => (GREEN.mix(1.0), 1),
				};
				let style = color.stroke_width(width);
				let series = match mode {
					ManagerMode::Shadow => {
						chart.draw_series(DashedLineSeries::new(points, 8, 6, style))?
					},
					_ => chart.draw_series(LineSeries::new(points, style))?,
				};
				series
					.label(mode.name())
					.legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], style));
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

/// Runs every run with `run_one`, `jobs` at once; returns the results, or every failure.
fn run_all(
	runs: &[(Scenario, ManagerMode)], jobs: usize,
	run_one: &(dyn Fn(Scenario, ManagerMode) -> Result<RunResult, String> + Sync),
) -> Result<HashMap<(Scenario, ManagerMode), RunResult>, Vec<String>> {
	let queue = Mutex::new(runs.to_vec());
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
				match run_one(scenario, mode) {
					Ok(result) => {
						results.lock().unwrap().insert((scenario, mode), result);
					},
					Err(error) => failures.lock().unwrap().push(error),
				}
			});
		}
	});
	let failures = failures.into_inner().unwrap();
	match failures.is_empty() {
		true => Ok(results.into_inner().unwrap()),
		false => Err(failures),
	}
}

/// Runs one scenario and mode on the trace, in this process, advancing `bar`.
fn run_on_trace(
	matches: &ArgMatches, scenario: Scenario, mode: ManagerMode, bar: &ProgressBar,
) -> RunResult {
	let mut reported = 0;
	trace::run(&config(matches, scenario, mode), &mut |done, total| {
		let steps = done * PROGRESS_STEPS / total;
		bar.inc(steps - reported);
		reported = steps;
	})
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

	let on_trace = on_trace(&matches);
	let scenarios: Vec<Scenario> = match matches.get_one::<String>("scenario").unwrap().as_str() {
		"all" => Scenario::ALL.into_iter().filter(|s| on_trace || s.runs_on_nodes()).collect(),
		name => match name.parse() {
			Ok(scenario) if !on_trace && !Scenario::runs_on_nodes(&scenario) => {
				eprintln!(
					"{scenario} runs on the trace only: add --engine trace or --long-horizon"
				);
				std::process::exit(2);
			},
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
	let shown = config(&matches, Scenario::Peacetime, ManagerMode::Noop);
	println!(
		"{} runs on the {} of {:.1} simulated days, the attack from day {:.1} ({} at once), seed {}",
		runs.len(),
		if on_trace { "trace" } else { "nodes" },
		shown.duration_secs as f64 / 86_400.0,
		shown.attack_start_secs as f64 / 86_400.0,
		jobs,
		shown.seed,
	);
	if shown.duration_secs >= 2 * WEEK_SECS && !on_trace {
		println!("(weeks on in-process nodes take hours: --long-horizon runs them on the trace)");
	}

	let started = Instant::now();
	let bar = ProgressBar::new(runs.len() as u64 * PROGRESS_STEPS);
	bar.set_style(
		ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {percent:>3}% eta {eta} {msg}")
			.unwrap()
			.progress_chars("=> "),
	);
	let results = run_all(&runs, jobs, &|scenario, mode| match on_trace {
		true => Ok(run_on_trace(&matches, scenario, mode, &bar)),
		false => {
			bar.set_message(format!("{scenario}/{mode}"));
			run_child(&matches, scenario, mode, &bar)
		},
	});
	let results = match results {
		Ok(results) => results,
		Err(failures) => {
			bar.finish_and_clear();
			for failure in failures {
				eprintln!("{failure}");
			}
			std::process::exit(1);
		},
	};
	bar.finish_and_clear();

	let summaries: Vec<Summary> = runs
		.iter()
		.map(|&(scenario, mode)| {
			let peacetime = &results[&(Scenario::Peacetime, mode)];
			Summary::new(&config(&matches, scenario, mode), &results[&(scenario, mode)], peacetime)
		})
		.collect();
	println!("{}", report::table(&summaries));
	println!(
		"Over the attack, against peacetime with the same manager: honest success (goal: {:.0} % of\n\
		 peacetime's), the target's revenue loss, the attacker's total cost (fees, reputation\n\
		 building included, and capital at {:.0} % a year) and its fees, the hours its HTLCs held\n\
		 protected or congestion resources (trace only), and the forwards the manager failed\n\
		 (would have failed). Goals: met, or the one not met (honest success, cost >= loss), or both.",
		report::HONEST_SUCCESS_GOAL_PERCENT,
		trace::CAPITAL_COST_PPM_PER_YEAR as f64 / 10_000.0,
	);
	let csv_path = matches.get_one::<String>("csv").unwrap();
	let written = std::fs::File::create(csv_path)
		.map_err(csv::Error::from)
		.and_then(|file| report::write_csv(file, &summaries));
	match written {
		Ok(()) => println!("every number: {csv_path}"),
		Err(error) => eprintln!("could not write {csv_path}: {error}"),
	}
	let plot_path = matches.get_one::<String>("plot").unwrap();
	match plot(plot_path, &scenarios, &results, &shown) {
		Ok(()) => println!("plot: {plot_path}"),
		Err(error) => eprintln!("could not write the plot {plot_path}: {error}"),
	}
	println!("took {:.0} s", started.elapsed().as_secs_f64());
	let _ = std::io::stdout().flush();
}
