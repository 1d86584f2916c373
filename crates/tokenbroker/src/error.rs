//! Everything that can go wrong, each as one readable line: what failed, where, and the likely fix.
//!
//! The hints come from the providers' troubleshooting lists (Entur: 401/403/408/301/302/405,
//! `invalid_grant`, `unauthorized_client`; Telenor: numeric error codes). Messages never contain
//! a secret or a token: server-supplied text is trimmed and scrubbed of the client secret before it
//! is kept.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crate::wire::oauth_error::TelenorCode;
use crate::wire::provider::MismatchedEnvironment;
use crate::wire::WireError;

/// The result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a token could not be had, or a configuration could not be used.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration is unusable; the cause names the setting and the rule.
    #[error("invalid configuration: {0}")]
    Config(#[source] ConfigError),

    /// A configured value breaks a wire rule (a URL, a client name, a choice); the cause names
    /// the value and the rule.
    #[error("invalid configuration: {0}")]
    Value(#[source] WireError),

    /// An Entur token URL paired with another environment's audience.
    #[error("invalid configuration: {0}")]
    Environment(#[source] MismatchedEnvironment),

    /// A URL that would carry credentials or tokens is not HTTPS (Entur partner authentication);
    /// the wording is the wire rule's own.
    #[error("{}", WireError::InsecureUrl { url: url.clone() })]
    InsecureUrl {
        /// The offending URL, without user info or query.
        url: String,
    },

    /// The token endpoint could not be reached or did not answer in time.
    #[error("could not reach the token endpoint {url}: {reason}; check the URL, DNS and network")]
    Network {
        /// The token endpoint.
        url: String,
        /// What the transport reported, in a few words.
        reason: String,
        /// The transport's error (without the URL, which may carry a query).
        #[source]
        source: Arc<reqwest::Error>,
    },

    /// The authorization server refused the request (4xx, an OAuth error, or a redirect).
    #[error("{0}")]
    Rejected(Rejection),

    /// The authorization server failed or asked us to slow down (5xx, 429, 408); worth a retry.
    #[error("token endpoint {url} failed with HTTP {status}{detail}; retrying later may help")]
    Unavailable {
        /// The token endpoint.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
        /// A short description from the body (already prefixed with `: `), or empty.
        detail: String,
    },

    /// The authorization server answered with something that is not a usable token response.
    #[error("token endpoint {url} sent an unusable response (HTTP {status}): {problem}")]
    InvalidResponse {
        /// The token endpoint.
        url: String,
        /// The HTTP status of the response.
        status: u16,
        /// What is wrong with it.
        problem: String,
    },

    /// The source's [`FetchBudget`](crate::FetchBudget) is spent: no token request was sent.
    #[error(
        "token budget exhausted: {limit} token requests per {window} already made; the next is \
         allowed in {} s (a loop invalidating tokens? otherwise raise the budget)",
        retry_in.as_secs()
    )]
    BudgetExhausted {
        /// The cap that was hit.
        limit: u32,
        /// `hour` or `day`.
        window: &'static str,
        /// When the oldest counted request leaves the window.
        retry_in: Duration,
    },

    /// A refresh in progress was cut short (its task stopped, e.g. at runtime shutdown).
    #[error("token refresh was interrupted: the refresh task stopped: {0}")]
    Interrupted(#[source] Arc<tokio::task::JoinError>),

    /// The shared cache could not seal a token for storage (the system's random generator or
    /// the AEAD failed); the token is still used, just not shared.
    #[error("could not seal the token for the shared cache: {0}")]
    Seal(&'static str),
}

impl Error {
    /// True when trying again later may succeed (network trouble, 5xx, 429, 408).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Network { .. } | Self::Unavailable { .. } | Self::Interrupted(_) => true,
            Self::InvalidResponse { status, .. } => *status >= 500,
            Self::Config(_)
            | Self::Value(_)
            | Self::Environment(_)
            | Self::InsecureUrl { .. }
            | Self::Rejected(_)
            | Self::BudgetExhausted { .. }
            | Self::Seal(_) => false,
        }
    }

    /// The server's `Retry-After`, when it sent one.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::Unavailable { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// The message without its "invalid configuration" heading, for callers that already say
    /// where the configuration came from ("profile NAME in FILE: …").
    pub fn detail(&self) -> Detail<'_> {
        Detail(self)
    }

    /// The rejection details, when the server refused the request.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Self::Rejected(rejection) => Some(rejection),
            _ => None,
        }
    }
}

impl From<ConfigError> for Error {
    fn from(error: ConfigError) -> Self {
        Self::Config(error)
    }
}

impl From<WireError> for Error {
    fn from(error: WireError) -> Self {
        match error {
            WireError::InsecureUrl { url } => Self::InsecureUrl { url },
            other => Self::Value(other),
        }
    }
}

impl From<MismatchedEnvironment> for Error {
    fn from(error: MismatchedEnvironment) -> Self {
        Self::Environment(error)
    }
}

/// An [`Error`] shown without the "invalid configuration" heading ([`Error::detail`]).
#[derive(Debug)]
pub struct Detail<'a>(&'a Error);

impl fmt::Display for Detail<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Error::Config(error) => error.fmt(f),
            Error::Value(error) => error.fmt(f),
            Error::Environment(error) => error.fmt(f),
            other => other.fmt(f),
        }
    }
}

/// A setting the client cannot work with: each variant names the setting and the rule.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// `client_id` is empty or blank.
    #[error("client_id is empty")]
    EmptyClientId,
    /// `client_id` holds control characters (they would break the request).
    #[error("client_id contains control characters")]
    ClientIdControlCharacters,
    /// `client_secret` is empty.
    #[error("client_secret is empty; set client_secret_env or client_secret_file")]
    EmptyClientSecret,
    /// An extra token-request parameter would replace one the client sets.
    #[error("extra parameter {0:?} would override a parameter tokenbroker sets itself")]
    ReservedParameter(String),
    /// `default_lifetime` is zero.
    #[error("default_lifetime must be more than zero")]
    ZeroDefaultLifetime,
    /// The HTTP client could not be built (the TLS backend failed to initialise).
    #[error("could not set up the HTTP client: {0}")]
    HttpClient(#[source] Arc<reqwest::Error>),
    /// The shared cache's URL is not one the Redis client accepts.
    #[cfg(feature = "redis")]
    #[error("shared cache URL {url} is not usable: {source}")]
    SharedCacheUrl {
        /// The URL without its password.
        url: String,
        /// Why the Redis client refused it.
        source: Arc<redis::RedisError>,
    },
    /// The token cache directory cannot be used.
    #[error("token cache directory {path} {problem}")]
    TokenCacheDir {
        /// The directory.
        path: String,
        /// What is wrong with it.
        problem: String,
    },
    /// The shared cache's encryption key is not base64.
    #[error("{origin} is not base64 (generate one with `openssl rand -base64 32`)")]
    CacheKeyNotBase64 {
        /// Where the key came from (a setting or variable name).
        origin: String,
    },
    /// The shared cache's encryption key is not 256 bits.
    #[error(
        "{origin} must be 32 bytes (256 bits) of base64, not {length} bytes (generate one with \
         `openssl rand -base64 32`)"
    )]
    CacheKeyLength {
        /// Where the key came from (a setting or variable name).
        origin: String,
        /// How many bytes it has.
        length: usize,
    },
}

impl Error {
    /// A transport failure talking to `url`, in a few words, keeping the transport's error as the
    /// source. `timeout` is the request timeout, named when it was the cause.
    pub(crate) fn network(url: &str, error: reqwest::Error, timeout: Duration) -> Self {
        let reason = if let Some(unresolved) = crate::resolver::unresolved_host(&error) {
            unresolved.to_string()
        } else if error.is_timeout() {
            format!("no answer within {} s", timeout.as_secs_f32())
        } else if error.is_connect() {
            "connection failed".to_owned()
        } else {
            // reqwest's Display repeats the URL; the source chain has the cause.
            innermost_cause(&error)
        };
        Self::Network {
            url: url.to_owned(),
            reason,
            source: Arc::new(error.without_url()),
        }
    }
}

/// The innermost cause of `error`, as text. HTTP client errors wrap the useful reason (refused,
/// reset, unknown certificate) in layers that only repeat the URL or say "client error".
pub fn innermost_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut cause = error;
    while let Some(inner) = cause.source() {
        cause = inner;
    }
    cause.to_string()
}

/// A refusal from the authorization server: RFC 6749 §5.2 error fields and, for Telenor-style
/// servers, their numeric error code (Telenor Norway client credentials grant).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The token endpoint.
    pub url: String,
    /// The HTTP status.
    pub status: u16,
    /// The RFC 6749 §5.2 `error` code, e.g. `invalid_client`.
    pub error: Option<String>,
    /// The server's `error_description`, trimmed and scrubbed of secrets.
    pub description: Option<String>,
    /// A Telenor/Apigee numeric error code, e.g. `22` for "Basic Authentication failed".
    pub provider_code: Option<u32>,
}

impl Rejection {
    /// The likely fix, from the providers' troubleshooting lists.
    pub fn hint(&self) -> &'static str {
        if let Some(hint) = self
            .provider_code
            .and_then(|code| telenor_hint(self.status, code))
        {
            return hint;
        }
        match self.error.as_deref() {
            Some("invalid_client") => return HINT_BAD_CREDENTIALS,
            Some("unauthorized_client") => {
                return "the client is not authorized for this grant: its client_secret may have \
                        been changed, or the client_credentials grant is not enabled for it"
            }
            Some("invalid_grant") => {
                return "wrong client id or secret, or a client from another environment: check that \
                        the token URL and the audience belong to the same environment"
            }
            Some("invalid_scope") => return HINT_PERMISSION,
            Some("invalid_target") => {
                return "the audience/resource is not granted to this client on this server: server \
                        and audience must belong to the same environment"
            }
            Some("access_denied") => return HINT_PERMISSION,
            Some("unsupported_grant_type") | Some("invalid_request") => return HINT_WIRE_STYLE,
            _ => {}
        }
        match self.status {
            301 | 302 | 307 | 308 => {
                "the server redirects plain HTTP: use the https:// URL of the token endpoint"
            }
            405 => "method not allowed: use HTTPS, and check that the URL is the token endpoint",
            401 => HINT_BAD_CREDENTIALS,
            403 => HINT_PERMISSION,
            404 => {
                "no token endpoint at this URL: check token_url (Entur /oauth/token, Telenor Norway \
                 /oauth/v2/token, Telenor Sweden /openapi/oauth2/token)"
            }
            400 => HINT_WIRE_STYLE,
            _ => "check the client configuration against the provider's documentation",
        }
    }
}

const HINT_BAD_CREDENTIALS: &str =
    "check client_id and client_secret: the secret may be wrong or may have been changed";
const HINT_PERMISSION: &str =
    "the client lacks the permission (scope or audience) it asked for: ask the API owner to grant it";
const HINT_WIRE_STYLE: &str = "the server did not accept the request's shape: check auth_style \
     (json for Entur, basic for Telenor, form for client_secret_post servers) and the parameters";

fn telenor_hint(status: u16, code: u32) -> Option<&'static str> {
    Some(match TelenorCode::lookup(status, code)? {
        TelenorCode::INVALID_GRANT_TYPE | TelenorCode::GRANT_TYPE_NOT_PERMITTED => HINT_WIRE_STYLE,
        TelenorCode::INVALID_CLIENT_ID
        | TelenorCode::BASIC_AUTH_FAILED
        | TelenorCode::INVALID_CLIENT_DATA => HINT_BAD_CREDENTIALS,
        TelenorCode::BAD_AUTHORIZATION_HEADER => {
            "send Authorization: Basic base64(client_id:client_secret): set auth_style = basic \
             (or try basic_encoding = raw if the secret has special characters)"
        }
        TelenorCode::NOT_AUTHORIZED | TelenorCode::ILLEGAL_SCOPE => HINT_PERMISSION,
        _ => return None,
    })
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "token endpoint {} rejected the request: HTTP {}",
            self.url, self.status
        )?;
        if let Some(error) = &self.error {
            write!(f, " {error}")?;
        }
        if let Some(code) = self.provider_code {
            match TelenorCode::lookup(self.status, code) {
                Some(known) => write!(f, " (error code {code}: {})", known.meaning)?,
                None => write!(f, " (error code {code})")?,
            }
        }
        if let Some(description) = &self.description {
            write!(f, ": {description}")?;
        }
        write!(f, " — {}", self.hint())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejection(status: u16, error: Option<&str>, code: Option<u32>) -> Rejection {
        Rejection {
            url: "https://as.example/oauth/token".into(),
            status,
            error: error.map(str::to_owned),
            description: None,
            provider_code: code,
        }
    }

    #[test]
    fn hints_follow_the_provider_pages() {
        let cases = [
            (rejection(401, Some("invalid_client"), None), "secret"),
            (rejection(401, Some("unauthorized_client"), None), "changed"),
            (
                rejection(403, Some("invalid_grant"), None),
                "same environment",
            ),
            (rejection(403, None, None), "permission"),
            (rejection(400, Some("invalid_scope"), None), "permission"),
            (rejection(301, None, None), "https://"),
            (rejection(405, None, None), "HTTPS"),
            (rejection(401, None, Some(22)), "client_secret"),
            (rejection(401, None, Some(6)), "Basic"),
            (rejection(400, None, Some(2)), "auth_style"),
        ];
        for (rejection, expected) in cases {
            let line = rejection.to_string();
            assert!(line.contains(expected), "{line}");
            assert!(!line.contains('\n'));
        }
    }

    #[test]
    fn telenor_codes_are_spelled_out() {
        let line = rejection(401, None, Some(22)).to_string();
        assert!(
            line.contains("error code 22: Basic Authentication failed"),
            "{line}"
        );
    }

    #[test]
    fn transient_errors_are_the_retryable_ones() {
        let unavailable = Error::Unavailable {
            url: "u".into(),
            status: 503,
            retry_after: Some(Duration::from_secs(3)),
            detail: String::new(),
        };
        assert!(unavailable.is_transient());
        assert_eq!(unavailable.retry_after(), Some(Duration::from_secs(3)));
        assert!(!Error::Rejected(rejection(401, None, None)).is_transient());
    }
}
