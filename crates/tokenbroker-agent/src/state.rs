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
    pub http: reqwest::Client,
    connection: ConnectionSettings,
}

/// How connections to an upstream are made: kept to build one pool per serving thread.
#[derive(Clone, Copy)]
struct ConnectionSettings {
    connect_timeout: Duration,
    read_timeout: Duration,
    http2_prior_knowledge: bool,
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
    pub(crate) fn for_another_thread(&self) -> Result<Self, AgentError> {
        let upstreams = self
            .upstreams
            .iter()
            .map(|(name, upstream)| Ok((name.clone(), upstream.with_new_pool()?)))
            .collect::<Result<_, AgentError>>()?;
        Ok(Self {
            profiles: self.profiles.clone(),
            upstreams,
            metrics: Arc::clone(&self.metrics),
            token_endpoint: self.token_endpoint,
            token_endpoint_secret: self.token_endpoint_secret.clone(),
            max_replay_body: self.max_replay_body,
            upstream_timeout: self.upstream_timeout,
            shared_cache: self.shared_cache,
        })
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
            read_timeout: AgentSettings::duration(agent.read_timeout),
            http2_prior_knowledge: settings.http2_prior_knowledge,
        };
        Ok(Self {
            http: connection.client(&settings.name)?,
            name: settings.name.clone(),
            base,
            profile,
            connection,
        })
    }

    fn with_new_pool(&self) -> Result<Self, AgentError> {
        Ok(Self {
            name: self.name.clone(),
            base: self.base.clone(),
            profile: Arc::clone(&self.profile),
            http: self.connection.client(&self.name)?,
            connection: self.connection,
        })
    }
}

impl Upstream {
    /// `base_url` + `rest` (+ `?query`), from the already parsed base: no host parsing per
    /// request.
    pub(crate) fn url_for(&self, rest: &str, query: Option<&str>) -> url::Url {
        let mut url = self.base.clone();
        let path = format!("{}{rest}", self.base.path().trim_end_matches('/'));
        url.set_path(&path);
        url.set_query(query);
        url
    }
}

impl ConnectionSettings {
    fn client(&self, upstream: &str) -> Result<reqwest::Client, AgentError> {
        let mut http = reqwest::Client::builder()
            // Redirects are the caller's business: pass them through, don't follow them with
            // credentials attached.
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(self.connect_timeout)
            .read_timeout(self.read_timeout)
            .pool_idle_timeout(Duration::from_secs(90))
            .tcp_nodelay(true);
        if self.http2_prior_knowledge {
            http = http.http2_prior_knowledge();
        }
        http.build().map_err(|e| {
            AgentError::Config(format!(
                "[[agent.upstreams]] {upstream}: cannot set up HTTP: {e}"
            ))
        })
    }
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
