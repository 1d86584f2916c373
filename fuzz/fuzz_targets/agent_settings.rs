//! The agent's `[agent]` table: settings that validate, or a one-line error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tokenbroker::profile::parse_toml;
use tokenbroker_agent::AgentSettings;

fuzz_target!(|text: &str| {
    match parse_toml::<AgentSettings>(text) {
        Ok(settings) => {
            if let Err(message) = settings.validate() {
                assert!(!message.contains('\n'), "a multi-line error: {message}");
            }
        }
        Err(message) => assert!(!message.contains('\n'), "a multi-line error: {message}"),
    }
});
