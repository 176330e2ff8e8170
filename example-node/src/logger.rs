// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! A [`Logger`] that prints to standard error, prefixed with the node's name.

use lightning::util::logger::{Level, Logger, Record};

/// Prints LDK's log records at `min_level` or above to standard error.
pub struct NodeLogger {
	name: String,
	min_level: Level,
}

impl NodeLogger {
	/// A logger for the node called `name`.
	pub fn new(name: &str, min_level: Level) -> Self {
		Self { name: name.to_string(), min_level }
	}
}

impl Logger for NodeLogger {
	fn log(&self, record: Record) {
		if record.level >= self.min_level {
			eprintln!(
				"[{}] {:<5} {}:{} {}",
				self.name, record.level, record.module_path, record.line, record.args
			);
		}
	}
}
