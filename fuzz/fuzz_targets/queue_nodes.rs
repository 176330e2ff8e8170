//! The `queue_nodes` target's binary, see `README.md`.
#![cfg_attr(feature = "libfuzzer_fuzz", no_main)]
lightning_accountability_fuzz::fuzz_target!(queue_nodes);
