//! See `tokenbroker::fuzzing::profiles_file`.
#![no_main]

libfuzzer_sys::fuzz_target!(|text: &str| tokenbroker::fuzzing::profiles_file(text));
