//! See `tokenbroker::fuzzing::x_jwt_answer`.
#![no_main]

libfuzzer_sys::fuzz_target!(|input: (u16, &[u8])| tokenbroker::fuzzing::x_jwt_answer(
    input.0, input.1
));
