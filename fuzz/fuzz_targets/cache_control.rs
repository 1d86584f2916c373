//! See `tokenbroker_guard::fuzzing::cache_control`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenbroker_guard::fuzzing::cache_control(data));
