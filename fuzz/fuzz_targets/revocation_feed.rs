//! See `tokenbroker_guard::fuzzing::revocation_feed`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenbroker_guard::fuzzing::revocation_feed(data));
