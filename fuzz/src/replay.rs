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

use std::path::PathBuf;

/// Runs `target` on every file of `test_cases/<name>/`, which must hold some.
fn replay(name: &str, target: fn(&[u8])) {
	let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("test_cases").join(name);
	let mut inputs: Vec<PathBuf> = std::fs::read_dir(&dir)
		.unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
		.map(|entry| entry.unwrap().path())
		.collect();
	inputs.sort();
	assert!(!inputs.is_empty(), "no inputs in {}", dir.display());
	let total = inputs.len();
	let failed: Vec<String> = inputs
		.into_iter()
		.filter(|input| {
			let data = std::fs::read(input).unwrap();
			std::panic::catch_unwind(|| target(&data)).is_err()
		})
		.map(|input| input.display().to_string())
		.collect();
	assert!(failed.is_empty(), "{} of {total} inputs failed: {failed:#?}", failed.len());
}

#[test]
fn resource_manager() {
	replay("resource_manager", crate::resource_manager::do_test);
}

#[test]
fn read_manager_state() {
	replay("read_manager_state", crate::read_manager_state::do_test);
}

#[test]
fn queue_nodes() {
	replay("queue_nodes", crate::queue_nodes::do_test);
}

#[test]
fn read_queue() {
	replay("read_queue", crate::read_queue::do_test);
}
