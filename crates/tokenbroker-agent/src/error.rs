//! Why the agent could not start: one line naming the setting or the address.

/// A start-up failure.
#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    /// The configuration is unusable; the message names the key.
    #[error("{0}")]
    Config(String),
    /// The client library refused a setting; the source says why.
    #[error("{setting}: {}", source.detail())]
    Client {
        /// The setting (`profile NAME`, `[agent.shared_cache] redis_url`, …).
        setting: String,
        /// The library's error.
        #[source]
        source: tokenbroker::Error,
    },
    /// A value breaks a wire rule (a URL that is not HTTPS, …); the error names the setting.
    #[error(transparent)]
    Wire(#[from] tokenbroker::wire::WireError),
    /// A setting could not be put to use (a CA file, the TLS stack); the source says why.
    #[error("{setting}: {source}")]
    Setting {
        /// The setting and what was being done with it.
        setting: String,
        /// The cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A listener could not be opened.
    #[error("cannot listen on {what}: {source}")]
    Listen {
        /// The address or socket path.
        what: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
}

impl AgentError {
    /// Whether the configuration was refused (fix the file), rather than the machine failing
    /// (an address in use).
    pub fn is_configuration(&self) -> bool {
        !matches!(self, Self::Listen { .. })
    }
}
