#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
	lightning_accountability_fuzz::read_queue::do_test(data);
});
