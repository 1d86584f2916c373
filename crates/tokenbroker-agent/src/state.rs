//! What every request handler shares: profiles, upstreams, metrics and limits.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use http::uri::{Authority, PathAndQuery, Scheme};
use tokenbroker::redis_cache::{CacheCipher, RedisCacheConfig, RedisTokenCache};
use tokenbroker::{ClientSecret, Clock};

use crate::caller_check::CallerPolicy;
use crate::error::AgentError;
use crate::metrics::AgentMetrics;
use crate::profile::{Profile, ProfileSpec};
use crate::settings::{AgentSettings, SharedCacheSettings, UpstreamSettings};
use crate::upstream_client::{ConnectionSettings, UpstreamClient};

/// One serving thread's view: shared profiles and metrics, its own upstream connection pools.
pub(crate) struct AgentState {
    pub profiles: BTreeMap<String, Arc<Profile>>,
    pub upstreams: BTreeMap<String, Upstream>,
    pub metrics: Arc<AgentMetrics>,
    pub token_endpoint: bool,
    pub token_endpoint_secret: Option<ClientSecret>,
    pub max_replay_body: usize,
    pub upstream_timeout: Duration,
    /// How long an unused upstream connection is kept (`upstream_idle_timeout`).
    pub upstream_idle_timeout: Duration,
    pub shared_cache: bool,
    /// Time a caller has to send a request's headers (`header_read_timeout`).
    pub header_read_timeout: Duration,
    /// Time a caller has to send a body the agent buffers (`body_read_timeout`).
    pub body_read_timeout: Duration,
    /// One permit per open caller connection, shared by every serving thread
    /// (`max_connections`).
    pub connection_permits: Arc<tokio::sync::Semaphore>,
    /// Which callers the TCP listener serves (programs, not web pages).
    pub callers: CallerPolicy,
}

/// One `[[agent.upstreams]]` entry, ready to forward to.
pub(crate) struct Upstream {
    pub name: String,
    /// The base URL's path without its trailing `/`; the request's rest of path is appended.
    base_path: String,
    pub profile: Arc<Profile>,
    /// This thread's connections to the upstream. Used directly rather than through reqwest:
    /// reqwest's layers (redirects, retries, URL conversions) cost ~30 % of the agent's
    /// throughput and the agent needs none of them.
    pub http: UpstreamClient,
    /// Longest gap between two body frames of a response (`read_timeout`).
    pub read_timeout: Duration,
}

impl AgentState {
    pub(crate) fn build(
        settings: &AgentSettings,
        specs: Vec<ProfileSpec>,
        clock: &Arc<dyn Clock>,
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
            let profile = Profile::new(spec, budget, shared.clone(), Arc::clone(clock))?;
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
            upstream_idle_timeout: AgentSettings::duration(settings.upstream_idle_timeout),
            shared_cache: shared.is_some(),
            header_read_timeout: AgentSettings::duration(settings.header_read_timeout),
            body_read_timeout: AgentSettings::duration(settings.body_read_timeout),
            connection_permits: Arc::new(tokio::sync::Semaphore::new(settings.max_connections)),
            callers: CallerPolicy {
                allowed_hosts: settings
                    .allowed_hosts
                    .iter()
                    .map(|host| host.to_ascii_lowercase())
                    .collect(),
                allowed_origins: settings.allowed_origins.clone(),
            },
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
            upstream_idle_timeout: self.upstream_idle_timeout,
            shared_cache: self.shared_cache,
            header_read_timeout: self.header_read_timeout,
            body_read_timeout: self.body_read_timeout,
            connection_permits: Arc::clone(&self.connection_permits),
            callers: self.callers.clone(),
        }
    }

    /// Closes upstream connections unused for `upstream_idle_timeout`, checking four times per
    /// timeout, until the task is dropped. Runs on the thread whose pools these are.
    pub(crate) async fn close_idle_connections(self: Arc<Self>) {
        let period = (self.upstream_idle_timeout / 4).max(Duration::from_millis(50));
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            for upstream in self.upstreams.values() {
                upstream.http.close_idle();
            }
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
        // The API gets the profile's tokens: plain HTTP only where the profile allows it.
        let base = tokenbroker::wire::https::parse_secure_url_allowing(
            &settings.base_url,
            &what,
            &profile.plain_http_hosts,
        )?;
        if base.query().is_some() || base.fragment().is_some() {
            return Err(AgentError::Config(format!(
                "{what} must not have a query or fragment"
            )));
        }
        let connection = ConnectionSettings {
            connect_timeout: AgentSettings::duration(agent.connect_timeout),
            http2_prior_knowledge: settings.http2_prior_knowledge,
            tls: Arc::new(tls_config(settings)?),
            idle_timeout: AgentSettings::duration(agent.upstream_idle_timeout),
        };
        let origin = &base[url::Position::BeforeHost..url::Position::AfterPort];
        let http = Scheme::try_from(base.scheme())
            .ok()
            .zip(Authority::try_from(origin).ok())
            .and_then(|(scheme, authority)| UpstreamClient::new(scheme, authority, connection))
            .ok_or_else(|| AgentError::Config(format!("{what}: {origin:?} is not a valid host")))?;
        Ok(Self {
            http,
            name: settings.name.clone(),
            base_path: base.path().trim_end_matches('/').to_owned(),
            profile,
            read_timeout: AgentSettings::duration(agent.read_timeout),
        })
    }

    fn with_new_pool(&self) -> Self {
        Self {
            name: self.name.clone(),
            base_path: self.base_path.clone(),
            profile: Arc::clone(&self.profile),
            http: self.http.for_another_thread(),
            read_timeout: self.read_timeout,
        }
    }

    /// The base URL's path + `rest` (+ `?query`): what is requested upstream. `None` when that
    /// is not a valid request target.
    pub(crate) fn path_for(&self, rest: &str, query: Option<&str>) -> Option<PathAndQuery> {
        let mut target = String::with_capacity(
            self.base_path.len() + rest.len() + query.map_or(0, |query| query.len() + 1) + 1,
        );
        target.push_str(&self.base_path);
        target.push_str(rest);
        if target.is_empty() {
            target.push('/');
        }
        if let Some(query) = query {
            target.push('?');
            target.push_str(query);
        }
        PathAndQuery::from_maybe_shared(bytes::Bytes::from(target)).ok()
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
                .map_err(|e| AgentError::Setting {
                    setting: format!(
                        "{what} ca_file {}: not a readable PEM certificate file",
                        path.display()
                    ),
                    source: Box::new(e),
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
            .map_err(|e| AgentError::Setting {
                setting: format!("{what}: cannot set up TLS"),
                source: Box::new(e),
            })?;
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| AgentError::Setting {
            setting: format!("{what}: cannot set up TLS"),
            source: Box::new(e),
        })?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    Ok(config)
}

fn shared_cache(settings: &SharedCacheSettings) -> Result<Arc<RedisTokenCache>, AgentError> {
    let key = env_secret(&settings.key_env, "[agent.shared_cache] key_env")?;
    let cipher =
        CacheCipher::from_base64(&key, &format!("${}", settings.key_env)).map_err(|source| {
            AgentError::Client {
                setting: "[agent.shared_cache]".into(),
                source,
            }
        })?;
    let mut config = RedisCacheConfig::new(settings.redis_url.clone(), cipher);
    config.key_prefix = settings.key_prefix.clone();
    config.operation_timeout = Duration::from_millis(settings.timeout_ms.max(1));
    config.max_wait = Duration::from_millis(settings.max_wait_ms);
    let cache = RedisTokenCache::new(config).map_err(|source| AgentError::Client {
        setting: "[agent.shared_cache]".into(),
        source,
    })?;
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
