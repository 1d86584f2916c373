//! Why a value from outside (configuration, arguments) does not fit the vocabulary.

/// A value that breaks one of the wire rules; the message names the value and the rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// A URL that would carry credentials or tokens is not HTTPS (Entur partner authentication:
    /// "Communication to authentication servers enforce HTTPS").
    #[error(
        "refusing to send credentials or tokens to {url} over plain HTTP: use an https:// URL \
         (plain HTTP goes only to loopback addresses such as 127.0.0.1 or localhost, and to \
         hosts named in allow_insecure_http, e.g. allow_insecure_http = [\"mock-as\"])"
    )]
    InsecureUrl {
        /// The offending URL, without user info or query.
        url: String,
    },

    /// An `allow_insecure_http` entry that is neither a host name nor `*.` and a domain.
    #[error(
        "allow_insecure_http entry {entry:?} is not a host name or a `*.domain` pattern \
         (e.g. \"mock-as\", \"*.svc.cluster.local\")"
    )]
    InvalidPlainHttpHost {
        /// The entry given.
        entry: String,
    },

    /// A URL that does not parse.
    #[error("{what} {value:?} is not a valid URL: {source}")]
    InvalidUrl {
        /// Which setting held it (e.g. `token_url`).
        what: String,
        /// The text given.
        value: String,
        /// Why it does not parse.
        #[source]
        source: url::ParseError,
    },

    /// An `ET-Client-Name` that breaks Entur's rule.
    #[error(
        "client_name {value:?}: {reason}; ET-Client-Name must be <company>-<application>, \
         lowercase, no spaces (for example forsen_utvikling-infoplakat)"
    )]
    InvalidClientName {
        /// The value given.
        value: String,
        /// Which part of the rule it breaks.
        reason: String,
    },

    /// A value that is not one of a setting's choices.
    #[error("{what} {value:?} is unknown; use {expected}")]
    UnknownValue {
        /// The setting (e.g. `auth_style`).
        what: &'static str,
        /// The value given.
        value: String,
        /// The accepted values.
        expected: &'static str,
    },
}

impl WireError {
    pub(crate) fn unknown(what: &'static str, value: &str, expected: &'static str) -> Self {
        Self::UnknownValue {
            what,
            value: value.to_owned(),
            expected,
        }
    }
}
