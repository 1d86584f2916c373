//! See `tokenbroker_guard::fuzzing::jwks`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenbroker_guard::fuzzing::jwks(data));
