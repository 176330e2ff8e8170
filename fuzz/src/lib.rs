// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! Fuzz targets for the accountability API and the default resource manager.
//!
//! Each target is a `do_test(data: &[u8])` that panics on a broken invariant. The binaries in
//! `fuzz_targets/` run them under libFuzzer (`cargo fuzz`) or AFL++ (`cargo afl`), see
//! `README.md`; `RUSTFLAGS="--cfg fuzzing" cargo test` replays every input checked in under
//! `test_cases/<target>/`, on stable, as CI does.

#![forbid(unsafe_code)]

mod input;
pub mod queue_nodes;
pub mod read_manager_state;
pub mod read_queue;
pub mod resource_manager;

#[cfg(test)]
mod replay;

#[cfg(all(feature = "libfuzzer_fuzz", feature = "afl_fuzz"))]
compile_error!("the features `libfuzzer_fuzz` and `afl_fuzz` pick the fuzzer: enable one of them");

/// The entry point of the `fuzz_targets/` binary of `$target`: its `do_test` under the fuzzer
/// the crate's features pick, or, with neither, run once on each file named on the command line.
#[macro_export]
macro_rules! fuzz_target {
	($target: ident) => {
		#[cfg(feature = "libfuzzer_fuzz")]
		libfuzzer_sys::fuzz_target!(|data: &[u8]| $crate::$target::do_test(data));

		#[cfg(feature = "afl_fuzz")]
		fn main() {
			afl::fuzz!(|data: &[u8]| $crate::$target::do_test(data));
		}

		#[cfg(not(any(feature = "libfuzzer_fuzz", feature = "afl_fuzz")))]
		fn main() {
			for path in std::env::args_os().skip(1) {
				let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
				$crate::$target::do_test(&data);
			}
		}
	};
}
