#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
	lightning_accountability_fuzz::queue_nodes::do_test(data);
});
