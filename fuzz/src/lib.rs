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
//! `fuzz_targets/` run them under libFuzzer (`cargo fuzz`, see `README.md`); `cargo test` replays
//! every input checked in under `test_cases/<target>/`, on stable, as CI does.

#![forbid(unsafe_code)]

mod input;
pub mod queue_nodes;
pub mod read_manager_state;
pub mod read_queue;
pub mod resource_manager;

#[cfg(test)]
mod replay;
