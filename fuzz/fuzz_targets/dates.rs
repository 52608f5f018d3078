#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| gemba_fuzz::checks::dates(data));
