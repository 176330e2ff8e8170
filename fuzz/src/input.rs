// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

/// Reads a fuzz input as a sequence of little-endian integers; every read past the end is
/// `None`, which ends the run.
pub(crate) struct Input<'a> {
	data: &'a [u8],
}

impl<'a> Input<'a> {
	pub(crate) fn new(data: &'a [u8]) -> Self {
		Self { data }
	}

	fn bytes<const N: usize>(&mut self) -> Option<[u8; N]> {
		if self.data.len() < N {
			return None;
		}
		let (head, tail) = self.data.split_at(N);
		self.data = tail;
		head.try_into().ok()
	}

	pub(crate) fn u8(&mut self) -> Option<u8> {
		self.bytes::<1>().map(|[byte]| byte)
	}

	pub(crate) fn bool(&mut self) -> Option<bool> {
		self.u8().map(|byte| byte & 1 == 1)
	}

	pub(crate) fn u16(&mut self) -> Option<u16> {
		self.bytes().map(u16::from_le_bytes)
	}

	pub(crate) fn u32(&mut self) -> Option<u32> {
		self.bytes().map(u32::from_le_bytes)
	}

	pub(crate) fn u64(&mut self) -> Option<u64> {
		self.bytes().map(u64::from_le_bytes)
	}
}
