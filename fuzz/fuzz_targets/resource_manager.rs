#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
	lightning_accountability_fuzz::resource_manager::do_test(data);
});
