// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! A channel-jamming demo on in-process LDK nodes.
//!
//! A network of honest and attacking nodes, each a real `ChannelManager` of the fork exchanging
//! real messages in-process, runs over simulated time ([`simulation`]). The target routing node
//! runs no resource manager, or the default manager in shadow or enforce mode
//! ([`ManagerMode`]), under one of the [`Scenario`]s; each run reports the honest payments that
//! went through, the target's fee revenue, the attacker's cost and the use of the target's
//! buckets ([`RunResult`]).
//!
//! Weeks of traffic run on the [`trace`]: the target's manager alone, on the same honest traffic
//! and attacks, four of them trace-only. [`report`] measures a run against the proposal's
//! criteria: honest success against peacetime, the target's revenue loss, the attacker's cost.
//!
//! ```no_run
//! use jamming_demo::{run, ManagerMode, Scenario, SimulationConfig};
//!
//! let config = SimulationConfig::new(Scenario::SlowJamming, ManagerMode::Enforce, 42);
//! let result = run(&config, &mut |_done_secs, _total_secs| {});
//! println!("honest success: {:.1}%", result.honest_success_percent());
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod clock;
pub mod report;
pub mod scenario;
pub mod simulation;
pub mod trace;

pub use report::Summary;
pub use scenario::{ManagerMode, Scenario, SimulationConfig};
pub use simulation::{run, BucketPeak, ManagerReport, RunResult, Sample};
