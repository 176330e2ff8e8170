//! The `read_queue` target's binary, see `README.md`.
#![cfg_attr(feature = "libfuzzer_fuzz", no_main)]
lightning_accountability_fuzz::fuzz_target!(read_queue);
