//! The client side of the demo: fetching, caching, refreshing ahead and error messages, against a
//! local authorization server started in-process.

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use tokenbroker::{
    AuthStyle, CachedTokenSource, ClientConfig, ClientConfigBuilder, ClientName, RefreshPolicy,
    TokenClient,
};
use tokenbroker_server::{AuthServer, Dialect, ServerConfig, StaticClient};

use crate::exit::{CliError, CliResult};

const ENTUR_AUDIENCE: &str = "https://api.dev.entur.io";
const ENTUR_CLIENT: &str = "demo-entur-client";
const TELENOR_CLIENT: &str = "demo-telenor-client";
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Runs the client-side part and prints its narrative to stdout.
pub(super) async fn run() -> CliResult {
    let secret = random_secret();
    let server = start_server(&secret).await?;
    println!(
        "tokenbroker demo — OAuth2 client credentials, both sides of the wire, on this machine\n"
    );
    println!(
        "Local authorization server: {} (RS256 JWTs, JWKS at /.well-known/jwks.json)",
        server.url()
    );
    println!("Clients: {ENTUR_CLIENT} (Entur style, audience {ENTUR_AUDIENCE}, 24 h tokens)");
    println!("         {TELENOR_CLIENT} (Telenor style, 1 h tokens)\n");

    entur_token(&server, &secret).await?;
    cache_and_single_flight(&server, &secret).await?;
    telenor_tokens(&server, &secret).await?;
    refresh_ahead(&secret).await?;
    helpful_errors(&server).await;
    Ok(())
}

async fn start_server(secret: &str) -> CliResult<AuthServer> {
    let clients = [
        StaticClient::new(ENTUR_CLIENT, secret, ENTUR_AUDIENCE)
            .with_scopes("personalisation:read")
            .with_lifetime(DAY),
        StaticClient::new(TELENOR_CLIENT, secret, "https://api.telenor.no").with_scopes("openapi"),
    ];
    AuthServer::start(ServerConfig::in_memory(clients))
        .await
        .map_err(|e| {
            CliError::failure(format!(
                "could not start the local authorization server: {e}"
            ))
        })
}

fn entur(server: &AuthServer, secret: &str) -> ClientConfigBuilder {
    ClientConfig::builder(server.token_url(Dialect::Entur), ENTUR_CLIENT, secret)
        .auth_style(AuthStyle::Json)
        .audience(ENTUR_AUDIENCE)
}

fn telenor(server: &AuthServer, dialect: Dialect, secret: &str) -> ClientConfigBuilder {
    ClientConfig::builder(server.token_url(dialect), TELENOR_CLIENT, secret)
        .auth_style(AuthStyle::Basic)
}

fn source(config: ClientConfigBuilder, policy: RefreshPolicy) -> CliResult<Arc<CachedTokenSource>> {
    Ok(Arc::new(CachedTokenSource::with_policy(
        TokenClient::new(config.build()?)?,
        policy,
    )))
}

async fn entur_token(server: &AuthServer, secret: &str) -> CliResult {
    println!("1. Entur style: POST /oauth/token with JSON {{client_id, client_secret, audience, grant_type}}");
    let token = TokenClient::new(entur(server, secret).build()?)?
        .fetch()
        .await?;
    let (header, claims) = tokenbroker::wire::jwt::decode_unverified(token.secret())
        .ok_or_else(|| CliError::failure("the server did not issue a JWT"))?;
    println!(
        "   token {} — a JWT, typ {}, kid {}…",
        token.fingerprint(),
        header["typ"],
        &header["kid"].as_str().unwrap_or("?")[..8]
    );
    println!(
        "   claims: sub {} · aud {} · scope {} · expires in {}",
        claims["sub"],
        claims["aud"],
        claims["scope"],
        human(token.remaining(SystemTime::now()))
    );
    println!(
        "   sent as `Authorization: Bearer <jwt>` plus `ET-Client-Name: {}`\n",
        ClientName::new("forsen_utvikling-infoplakat")?
    );
    Ok(())
}

async fn cache_and_single_flight(server: &AuthServer, secret: &str) -> CliResult {
    println!("2. Cache and single flight");
    let cached = source(entur(server, secret), RefreshPolicy::default())?;
    let started = Instant::now();
    for _ in 0..100_000 {
        cached.token().await?;
    }
    let per_call = started.elapsed() / 100_000;
    println!(
        "   100,000 calls to token(): {} token request(s) sent to the server; {:?} per cached call",
        cached.stats().fetches,
        per_call
    );
    let cold = source(entur(server, secret), RefreshPolicy::default())?;
    let callers: Vec<_> = (0..10_000)
        .map(|_| {
            let cold = Arc::clone(&cold);
            tokio::spawn(async move { cold.token().await })
        })
        .collect();
    for caller in callers {
        caller
            .await
            .map_err(|e| CliError::failure(e.to_string()))??;
    }
    println!(
        "   10,000 concurrent callers on a cold cache: {} token request(s) sent to the server\n",
        cold.stats().fetches
    );
    Ok(())
}

async fn telenor_tokens(server: &AuthServer, secret: &str) -> CliResult {
    println!("3. Telenor style: Authorization: Basic base64(client_id:client_secret) + grant_type=client_credentials");
    let norway = TokenClient::new(telenor(server, Dialect::TelenorNorway, secret).build()?)?
        .fetch()
        .await?;
    println!(
        "   Norway /oauth/v2/token → token {}, expires in {}",
        norway.fingerprint(),
        human(norway.remaining(SystemTime::now()))
    );
    let sweden = TokenClient::new(telenor(server, Dialect::TelenorSweden, secret).build()?)?
        .fetch()
        .await?;
    println!(
        "   Sweden /openapi/oauth2/token answers \"expires_in\": \"3600\" (a string, as Telenor Sweden Open APIs shows) → understood: expires in {}\n",
        human(sweden.remaining(SystemTime::now()))
    );
    Ok(())
}

async fn refresh_ahead(secret: &str) -> CliResult {
    println!("4. Refresh ahead with 3-second tokens: a caller asks every 20 ms for 5 s");
    let short = StaticClient::new("demo-short-lived", secret, ENTUR_AUDIENCE)
        .with_lifetime(Duration::from_secs(3));
    let short_server = AuthServer::start(ServerConfig::in_memory([short]))
        .await
        .map_err(|e| CliError::failure(e.to_string()))?;
    let config = ClientConfig::builder(
        short_server.token_url(Dialect::Entur),
        "demo-short-lived",
        secret,
    )
    .auth_style(AuthStyle::Json);
    let cached = source(config, RefreshPolicy::default())?;
    let deadline = Instant::now() + Duration::from_secs(5);
    let (mut calls, mut least_left, mut slowest) = (0u32, Duration::MAX, Duration::ZERO);
    while Instant::now() < deadline {
        let asked = Instant::now();
        let token = cached.token().await?;
        slowest = slowest.max(asked.elapsed());
        least_left = least_left.min(token.remaining(SystemTime::now()));
        calls += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    println!(
        "   {calls} calls, {} tokens refreshed ahead in the background, {} call(s) waited for a fetch (the cold first one)",
        cached.stats().fetches.saturating_sub(1),
        cached.wait_count()
    );
    println!("   every token handed out had ≥ {least_left:.1?} left; slowest call {slowest:.1?}\n");
    Ok(())
}

async fn helpful_errors(server: &AuthServer) {
    println!("5. Errors say what went wrong and how to fix it");
    let wrong_secret = ClientConfig::builder(
        server.token_url(Dialect::Entur),
        ENTUR_CLIENT,
        "not-the-secret",
    )
    .auth_style(AuthStyle::Json)
    .audience(ENTUR_AUDIENCE);
    show(fetch(wrong_secret).await);
    let telenor_wrong = ClientConfig::builder(
        server.token_url(Dialect::TelenorNorway),
        TELENOR_CLIENT,
        "nope",
    );
    show(fetch(telenor_wrong).await);
    show(
        ClientConfig::entur(tokenbroker::EnturEnvironment::Prod, "id", "secret")
            .audience("https://api.dev.entur.io")
            .build()
            .map(|_| ()),
    );
    show(
        ClientName::new("Forsen Utvikling-Infoplakat")
            .map(|_| ())
            .map_err(Into::into),
    );
    show(
        ClientConfig::builder("http://partner.entur.org/oauth/token", "id", "secret")
            .build()
            .map(|_| ()),
    );
}

async fn fetch(config: ClientConfigBuilder) -> Result<(), tokenbroker::Error> {
    TokenClient::new(config.build()?)?.fetch().await.map(|_| ())
}

fn show(result: Result<(), tokenbroker::Error>) {
    match result {
        Ok(()) => println!("   (unexpectedly succeeded)"),
        Err(error) => println!("   ✗ {error}"),
    }
}

fn human(duration: Duration) -> String {
    humantime::format_duration(Duration::from_secs(duration.as_secs())).to_string()
}

/// The demo's client secret: different on every run, so nothing depends on a fixed one.
fn random_secret() -> String {
    (0..4)
        .map(|_| format!("{:016x}", fastrand::u64(..)))
        .collect()
}
