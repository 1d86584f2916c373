//! See `tokenbroker::fuzzing::retry_after`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenbroker::fuzzing::retry_after(data));
