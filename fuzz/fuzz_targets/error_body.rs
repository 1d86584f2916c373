//! See `tokenbroker::fuzzing::error_body`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenbroker::fuzzing::error_body(data));
