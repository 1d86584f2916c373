//! See `tokenbroker_agent::fuzzing::path`.
#![no_main]

libfuzzer_sys::fuzz_target!(|path: &str| tokenbroker_agent::fuzzing::path(path));
