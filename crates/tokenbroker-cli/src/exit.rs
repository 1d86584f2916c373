//! Exit codes and the one-line error the CLI prints.
//!
//! 0 ok · 2 usage or configuration error · 3 rejected by the server (401/403/OAuth error) ·
//! 4 network or server failure.

use std::fmt;
use std::process::ExitCode;

/// A failure of a command: what to print and which exit code to use.
#[derive(Debug)]
pub(crate) struct CliError {
    /// The exit code.
    pub code: u8,
    /// One line saying what failed and the likely fix.
    pub message: String,
}

/// Exit code for usage and configuration errors (clap uses 2 for usage errors too).
pub(crate) const USAGE: u8 = 2;
/// Exit code when the server rejected the request.
pub(crate) const REJECTED: u8 = 3;
/// Exit code for network or server failures.
pub(crate) const FAILURE: u8 = 4;

impl CliError {
    /// A usage or configuration error.
    pub(crate) fn usage(message: impl Into<String>) -> Self {
        Self {
            code: USAGE,
            message: message.into(),
        }
    }

    /// A network or server failure.
    pub(crate) fn failure(message: impl Into<String>) -> Self {
        Self {
            code: FAILURE,
            message: message.into(),
        }
    }

    /// The process exit code.
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.code)
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl From<tokenbroker::wire::WireError> for CliError {
    fn from(error: tokenbroker::wire::WireError) -> Self {
        tokenbroker::Error::from(error).into()
    }
}

impl From<tokenbroker::Error> for CliError {
    fn from(error: tokenbroker::Error) -> Self {
        use tokenbroker::Error;
        let code = match &error {
            Error::Config(_)
            | Error::Value(_)
            | Error::Environment(_)
            | Error::InsecureUrl { .. } => USAGE,
            Error::Rejected(_) => REJECTED,
            _ => FAILURE,
        };
        Self {
            code,
            message: error.to_string(),
        }
    }
}

/// The result of a command.
pub(crate) type CliResult<T = ()> = Result<T, CliError>;
