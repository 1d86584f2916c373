//! See `tokenbroker_guard::fuzzing::claims`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenbroker_guard::fuzzing::claims(data));
