//! What every request handler shares: profiles, upstreams, metrics and limits.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use tokenbroker::redis_cache::{CacheCipher, RedisCacheConfig, RedisTokenCache};
use tokenbroker::ClientSecret;

use crate::error::AgentError;
use crate::metrics::AgentMetrics;
use crate::profile::{Profile, ProfileSpec};
use crate::settings::{AgentSettings, SharedCacheSettings, UpstreamSettings};

/// One serving thread's view: shared profiles and metrics, its own upstream connection pools.
pub(crate) struct AgentState {
    pub profiles: BTreeMap<String, Arc<Profile>>,
    pub upstreams: BTreeMap<String, Upstream>,
    pub metrics: Arc<AgentMetrics>,
    pub token_endpoint: bool,
    pub token_endpoint_secret: Option<ClientSecret>,
    pub max_replay_body: usize,
    pub upstream_timeout: Duration,
    pub shared_cache: bool,
}

/// One `[[agent.upstreams]]` entry, ready to forward to.
pub(crate) struct Upstream {
    pub name: String,
    /// The base URL; the request's rest of path is appended to its path.
    pub base: url::Url,
    pub profile: Arc<Profile>,
    pub http: UpstreamClient,
    /// Longest gap between two body frames of a response (`read_timeout`).
    pub read_timeout: Duration,
    connection: ConnectionSettings,
}

/// hyper's pooled client over TLS (rustls with the platform's trust store) or plain HTTP on
/// loopback. Used directly rather than through reqwest: reqwest's layers (redirects, retries,
/// URL conversions) cost ~30 % of the agent's throughput and the agent needs none of them.
pub(crate) type UpstreamClient = hyper_util::client::legacy::Client<
    hyper_rustls::HttpsConnector<hyper_util::client::legacy::connect::HttpConnector>,
    axum::body::Body,
>;

/// How connections to an upstream are made: kept to build one pool per serving thread.
#[derive(Clone)]
struct ConnectionSettings {
    connect_timeout: Duration,
    http2_prior_knowledge: bool,
    /// TLS settings: the platform's roots plus any `ca_file` ones, ALPN set by hyper-rustls.
    tls: Arc<rustls::ClientConfig>,
}

impl AgentState {
    pub(crate) fn build(
        settings: &AgentSettings,
        specs: Vec<ProfileSpec>,
    ) -> Result<Self, AgentError> {
        settings.validate().map_err(AgentError::Config)?;
        let shared = settings
            .shared_cache
            .as_ref()
            .map(shared_cache)
            .transpose()?;
        let mut profiles = BTreeMap::new();
        for spec in specs {
            let budget = settings.budget_for(&spec.name);
            let name = spec.name.clone();
            let profile = Profile::new(spec, budget, shared.clone()).map_err(AgentError::Config)?;
            profiles.insert(name, Arc::new(profile));
        }
        let mut upstreams = BTreeMap::new();
        for upstream in &settings.upstreams {
            let profile = profiles.get(&upstream.profile).ok_or_else(|| {
                AgentError::Config(format!(
                    "[[agent.upstreams]] {}: profile {:?} is not defined",
                    upstream.name, upstream.profile
                ))
            })?;
            upstreams.insert(
                upstream.name.clone(),
                Upstream::new(upstream, Arc::clone(profile), settings)?,
            );
        }
        let token_endpoint_secret = settings
            .token_endpoint_secret_env
            .as_deref()
            .map(|var| env_secret(var, "[agent] token_endpoint_secret_env"))
            .transpose()?
            .map(ClientSecret::new);
        Ok(Self {
            profiles,
            upstreams,
            metrics: Arc::new(AgentMetrics::default()),
            token_endpoint: settings.token_endpoint,
            token_endpoint_secret,
            max_replay_body: settings.max_replay_body_bytes,
            upstream_timeout: AgentSettings::duration(settings.upstream_timeout),
            shared_cache: shared.is_some(),
        })
    }
}

impl AgentState {
    /// The same profiles, metrics and limits with new upstream connection pools: each serving
    /// thread keeps its connections on its own event loop.
    pub(crate) fn for_another_thread(&self) -> Self {
        let upstreams = self
            .upstreams
            .iter()
            .map(|(name, upstream)| (name.clone(), upstream.with_new_pool()))
            .collect();
        Self {
            profiles: self.profiles.clone(),
            upstreams,
            metrics: Arc::clone(&self.metrics),
            token_endpoint: self.token_endpoint,
            token_endpoint_secret: self.token_endpoint_secret.clone(),
            max_replay_body: self.max_replay_body,
            upstream_timeout: self.upstream_timeout,
            shared_cache: self.shared_cache,
        }
    }
}

impl Upstream {
    fn new(
        settings: &UpstreamSettings,
        profile: Arc<Profile>,
        agent: &AgentSettings,
    ) -> Result<Self, AgentError> {
        let what = format!("[[agent.upstreams]] {} base_url", settings.name);
        let base = tokenbroker::endpoint::parse_secure_url(&settings.base_url, &what)
            .map_err(|e| AgentError::Config(e.to_string()))?;
        if base.query().is_some() || base.fragment().is_some() {
            return Err(AgentError::Config(format!(
                "{what} must not have a query or fragment"
            )));
        }
        let connection = ConnectionSettings {
            connect_timeout: AgentSettings::duration(agent.connect_timeout),
            http2_prior_knowledge: settings.http2_prior_knowledge,
            tls: Arc::new(tls_config(settings)?),
        };
        Ok(Self {
            http: connection.client(),
            name: settings.name.clone(),
            base,
            profile,
            read_timeout: AgentSettings::duration(agent.read_timeout),
            connection,
        })
    }

    fn with_new_pool(&self) -> Self {
        Self {
            name: self.name.clone(),
            base: self.base.clone(),
            profile: Arc::clone(&self.profile),
            http: self.connection.client(),
            read_timeout: self.read_timeout,
            connection: self.connection.clone(),
        }
    }
}

impl Upstream {
    /// `base_url` + `rest` (+ `?query`) as a request URI, from the already parsed base: no host
    /// parsing per request. `None` when the result is not a valid URI.
    pub(crate) fn uri_for(&self, rest: &str, query: Option<&str>) -> Option<http::Uri> {
        let base_path = self.base.path().trim_end_matches('/');
        let path_and_query = match query {
            Some(query) => format!("{base_path}{rest}?{query}"),
            None => format!("{base_path}{rest}"),
        };
        let path_and_query = if path_and_query.is_empty() {
            "/".to_owned()
        } else {
            path_and_query
        };
        http::Uri::builder()
            .scheme(self.base.scheme())
            .authority(&self.base[url::Position::BeforeHost..url::Position::AfterPort])
            .path_and_query(path_and_query)
            .build()
            .ok()
    }
}

impl ConnectionSettings {
    fn client(&self) -> UpstreamClient {
        let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(Some(self.connect_timeout));
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(self.tls.as_ref().clone())
            // Plain HTTP only reaches loopback: base_url passed the HTTPS rule.
            .https_or_http()
            .enable_http1()
            .enable_http2()
            .wrap_connector(tcp);
        let mut client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new());
        // Redirects are the caller's business: this client passes them through, never follows.
        client
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(hyper_util::rt::TokioTimer::new())
            .http2_only(self.http2_prior_knowledge);
        client.build(connector)
    }
}

/// The platform's trust store (as reqwest uses), plus the upstream's `ca_file` certificates.
fn tls_config(settings: &UpstreamSettings) -> Result<rustls::ClientConfig, AgentError> {
    use rustls_pki_types::pem::PemObject;
    let what = format!("[[agent.upstreams]] {}", settings.name);
    let extra_roots = match &settings.ca_file {
        Some(path) => {
            let certificates = rustls_pki_types::CertificateDer::pem_file_iter(path)
                .and_then(|certificates| certificates.collect::<Result<Vec<_>, _>>())
                .map_err(|e| {
                    AgentError::Config(format!(
                        "{what} ca_file {}: not a readable PEM certificate file: {e}",
                        path.display()
                    ))
                })?;
            if certificates.is_empty() {
                return Err(AgentError::Config(format!(
                    "{what} ca_file {} holds no certificate",
                    path.display()
                )));
            }
            certificates
        }
        None => Vec::new(),
    };
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let verifier =
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra_roots, provider.clone())
            .map_err(|e| AgentError::Config(format!("{what}: cannot set up TLS: {e}")))?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| AgentError::Config(format!("{what}: cannot set up TLS: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(config)
}

fn shared_cache(settings: &SharedCacheSettings) -> Result<Arc<RedisTokenCache>, AgentError> {
    let key = env_secret(&settings.key_env, "[agent.shared_cache] key_env")?;
    let cipher = CacheCipher::from_base64(&key, &format!("${}", settings.key_env))
        .map_err(|e| AgentError::Config(format!("[agent.shared_cache] {}", strip(&e))))?;
    let mut config = RedisCacheConfig::new(settings.redis_url.clone(), cipher);
    config.key_prefix = settings.key_prefix.clone();
    config.operation_timeout = Duration::from_millis(settings.timeout_ms.max(1));
    config.max_wait = Duration::from_millis(settings.max_wait_ms);
    let cache = RedisTokenCache::new(config)
        .map_err(|e| AgentError::Config(format!("[agent.shared_cache] {}", strip(&e))))?;
    Ok(Arc::new(cache))
}

fn env_secret(var: &str, key: &str) -> Result<String, AgentError> {
    match std::env::var(var) {
        Ok(value) if !value.trim().is_empty() => Ok(value),
        _ => Err(AgentError::Config(format!(
            "{key}: environment variable {var} is not set"
        ))),
    }
}

fn strip(error: &tokenbroker::Error) -> String {
    let text = error.to_string();
    text.strip_prefix("invalid configuration: ")
        .map(str::to_owned)
        .unwrap_or(text)
}
