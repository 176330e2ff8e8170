// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! Replays the checked-in inputs of every target, so that `cargo test` (and CI) runs the corpus
//! and the regression cases on stable.
//!
//! The slow targets replay a fixed sample of their corpus by default: every regression case
//! (a file named `regression-*`), every hand-written scenario (`scenario-*`) and at most [`SAMPLE_SIZE`] inputs spread evenly over the rest in file
//! name order (the names are content hashes, so the sample is an arbitrary but fixed one). With
//! `FUZZ_REPLAY=all` in the environment, every target replays every input, as `ci/ci-full.sh`
//! does.

use std::io::Write;
use std::path::PathBuf;

/// At most how many corpus inputs a sampled replay runs besides the regression cases and the
/// scenarios.
const SAMPLE_SIZE: usize = 200;

/// Whether a replay runs all of a target's inputs or a sample of them.
#[derive(Clone, Copy)]
enum Replay {
	All,
	Sample,
}

/// The inputs a sampled replay runs: every regression case and scenario, and at most
/// `SAMPLE_SIZE` of the others, evenly spaced over them. `inputs` is sorted.
fn sample(inputs: Vec<PathBuf>) -> Vec<PathBuf> {
	let always_replayed = |input: &PathBuf| {
		input
			.file_name()
			.and_then(|name| name.to_str())
			.is_some_and(|name| name.starts_with("regression-") || name.starts_with("scenario-"))
	};
	let (mut chosen, corpus): (Vec<_>, Vec<_>) = inputs.into_iter().partition(always_replayed);
	let step = corpus.len().div_ceil(SAMPLE_SIZE).max(1);
	chosen.extend(corpus.into_iter().step_by(step));
	chosen
}

/// Runs `target` on the files of `test_cases/<name>/`, which must hold some: all of them, or
/// a sample for a slow target unless `FUZZ_REPLAY=all`.
fn replay(name: &str, target: fn(&[u8]), replay: Replay) {
	let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test_cases").join(name);
	let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
		.unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
		.map(|entry| entry.unwrap().path())
		.collect();
	inputs.sort();
	assert!(!inputs.is_empty(), "no inputs in {}", dir.display());
	let total = inputs.len();
	let all = std::env::var("FUZZ_REPLAY").is_ok_and(|value| value == "all");
	if let (Replay::Sample, false) = (replay, all) {
		inputs = sample(inputs);
	}
	let replayed = inputs.len();
	let failed: Vec<String> = inputs
		.into_iter()
		.filter(|input| {
			let data = std::fs::read(input).unwrap();
			std::panic::catch_unwind(|| target(&data)).is_err()
		})
		.map(|input| input.display().to_string())
		.collect();
	assert!(failed.is_empty(), "{} of {replayed} inputs failed: {failed:#?}", failed.len());
	// Written to stderr directly, past the test harness's capture, which would otherwise hold it
	// with the nodes' logs (`--show-output` would print those too: hundreds of megabytes).
	let line = format!("{name}: replayed {replayed} of {total} inputs\n");
	let _ = std::io::stderr().write_all(line.as_bytes());
}

#[test]
fn sample_keeps_every_regression_case_and_spreads_the_rest() {
	let mut inputs: Vec<PathBuf> = (0..1000).map(|i| PathBuf::from(format!("{i:04}"))).collect();
	inputs.push(PathBuf::from("dir/regression-b"));
	inputs.push(PathBuf::from("regression-a"));
	inputs.push(PathBuf::from("scenario-c"));
	inputs.sort();
	let chosen = sample(inputs);
	assert!(chosen.contains(&PathBuf::from("dir/regression-b")));
	assert!(chosen.contains(&PathBuf::from("regression-a")));
	assert!(chosen.contains(&PathBuf::from("scenario-c")));
	assert_eq!(chosen.len(), 3 + SAMPLE_SIZE);
	assert_eq!(chosen[3], PathBuf::from("0000"));
	assert_eq!(chosen.last().unwrap(), &PathBuf::from("0995"));

	let few: Vec<PathBuf> = (0..3).map(|i| PathBuf::from(i.to_string())).collect();
	assert_eq!(sample(few.clone()), few);
}

#[test]
fn resource_manager() {
	replay("resource_manager", crate::resource_manager::do_test, Replay::Sample);
}

#[test]
fn read_manager_state() {
	replay("read_manager_state", crate::read_manager_state::do_test, Replay::All);
}

#[test]
fn queue_nodes() {
	replay("queue_nodes", crate::queue_nodes::do_test, Replay::Sample);
}

#[test]
fn read_queue() {
	replay("read_queue", crate::read_queue::do_test, Replay::All);
}
