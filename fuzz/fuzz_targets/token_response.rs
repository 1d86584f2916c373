//! See `tokenbroker::fuzzing::token_response`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tokenbroker::fuzzing::token_response(data));
