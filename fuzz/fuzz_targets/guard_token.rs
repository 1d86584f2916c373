//! See `tokenbroker_guard::fuzzing::token`.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| tokenbroker_guard::fuzzing::token(text));
