//! Why the agent could not start: one line naming the setting or the address.

/// A start-up failure.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The configuration is unusable; the message names the key.
    #[error("{0}")]
    Config(String),
    /// A listener could not be opened.
    #[error("cannot listen on {what}: {source}")]
    Listen {
        /// The address or socket path.
        what: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
}
