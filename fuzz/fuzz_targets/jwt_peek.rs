//! A token read without verification (the client reads `exp` to schedule its refresh): parts
//! or nothing, times within the NumericDate range we accept.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenbroker_wire::jwt::{decode_unverified, peek_times};

fuzz_target!(|text: &str| {
    let _ = decode_unverified(text);
    let _ = peek_times(text);
});
