// This file is Copyright its original authors, visible in version control
// history.
//
// This file is licensed under the Apache License, Version 2.0 <LICENSE-APACHE
// or http://www.apache.org/licenses/LICENSE-2.0> or the MIT license
// <LICENSE-MIT or http://opensource.org/licenses/MIT>, at your option.
// You may not use this file except in accordance with one or both of these
// licenses.

//! The default resource manager for LDK's forwarding accountability API.
//!
//! It implements the local resource conservation recommendations of the BOLT proposal for the
//! `accountable` HTLC signal: an outgoing channel's reputation is weighed against the revenue
//! of the incoming channel, and the incoming channel's HTLC slots and liquidity are split into
//! general, congestion and protected buckets, so that a peer holding HTLCs cannot jam the
//! channel for peers that have earned their reputation.

#![deny(missing_docs)]
#![forbid(unsafe_code)]
#![cfg_attr(not(feature = "std"), no_std)]

pub mod decaying_average;
