//! The API side of the demo: the providers' statuses from the sandbox's demo partner APIs, the 401 →
//! re-authenticate → retry recovery after a logout, and Telenor's X-JWT flow.

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest_middleware::ClientWithMiddleware;
use tokenbroker::{
    AuthMiddleware, AuthStyle, CachedTokenSource, ClientConfig, ClientName, TokenClient,
    XJwtConfig, XJwtSource,
};
use tokenbroker_sandbox::partner_api::{ENTUR_AUDIENCE, PROGRAMS_SCOPE};
use tokenbroker_sandbox::{DevClient, Sandbox, SandboxOptions, COMMUNICATION_USER_ID};
use tokenbroker_server::registry::NewClient;
use tokenbroker_server::{Dialect, ServerConfig};

use crate::exit::{CliError, CliResult};

const CLIENT_NAME: &str = "forsen_utvikling-infoplakat";

/// Starts the sandbox in a temporary data directory and walks the API-side story.
pub(super) async fn run() -> CliResult {
    let data_dir = std::env::temp_dir().join(format!("tokenbroker-demo-{}", std::process::id()));
    let result = walk(&data_dir).await;
    let _ = std::fs::remove_dir_all(&data_dir);
    result
}

async fn walk(data_dir: &std::path::Path) -> CliResult {
    let mut config = ServerConfig::new(data_dir);
    config.listen = "127.0.0.1:0".parse().expect("a valid address");
    let sandbox = Sandbox::start_with_options(config, SandboxOptions::default())
        .await
        .map_err(|e| CliError::failure(format!("could not start the sandbox: {e}")))?;
    let base = sandbox.server.issuer().to_owned();
    println!("\n6. The API side: the sandbox at {base} — demo partner APIs behind the guard");
    let entur = dev_client(&sandbox, "dev-entur")?;
    let entur_api = client(&base, &entur, Dialect::Entur, Some(ENTUR_AUDIENCE))?;
    let programs = format!("{base}/personalisation/v1/programs/1");

    let (status, _) = send(&entur_api.http, &programs).await?;
    println!("   GET /personalisation/v1/programs/1 with a token and ET-Client-Name → {status}");
    let bare = reqwest::Client::new();
    let status = bare
        .get(&programs)
        .header("ET-Client-Name", CLIENT_NAME)
        .send()
        .await
        .map_err(net)?
        .status();
    println!("   without a token → {status} (missing token)");
    let no_name = no_client_name(&entur_api);
    let (status, body) = send(&no_name, &programs).await?;
    println!("   without ET-Client-Name → {status}: {}", message(&body));
    let unscoped = unscoped_client(&sandbox, &base).await?;
    let (status, body) = send(&unscoped.http, &programs).await?;
    println!(
        "   a valid token without {PROGRAMS_SCOPE} → {status}: {}",
        message(&body)
    );

    expiring_mid_request(&sandbox, &base).await?;
    logout_and_recover(&base, &entur_api).await?;
    x_jwt_flow(&sandbox, &base).await?;
    super::agent_side::run(&base, &entur, CLIENT_NAME).await?;
    sandbox.server.stop().await;
    Ok(())
}

/// A bearer source and an API client with the profile's headers.
struct ApiClient {
    source: Arc<CachedTokenSource>,
    http: ClientWithMiddleware,
}

fn client(
    base: &str,
    dev: &DevClient,
    dialect: Dialect,
    audience: Option<&str>,
) -> CliResult<ApiClient> {
    let mut config = ClientConfig::builder(
        format!("{base}{}", dialect.token_path()),
        &dev.client_id,
        dev.client_secret.clone(),
    )
    .auth_style(if dialect == Dialect::Entur {
        AuthStyle::Json
    } else {
        AuthStyle::Basic
    });
    if let Some(audience) = audience {
        config = config.audience(audience);
    }
    let source = Arc::new(CachedTokenSource::new(TokenClient::new(config.build()?)?));
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(AuthMiddleware::new(Arc::clone(&source)).client_name(ClientName::new(CLIENT_NAME)?))
        .build();
    Ok(ApiClient { source, http })
}

fn no_client_name(api: &ApiClient) -> ClientWithMiddleware {
    reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(AuthMiddleware::new(Arc::clone(&api.source)))
        .build()
}

/// Registers `new` with the sandbox's server and returns an API client for it.
async fn registered(sandbox: &Sandbox, base: &str, new: NewClient) -> CliResult<ApiClient> {
    let (record, issued) = sandbox
        .server
        .registry()
        .create_client(new, "demo")
        .await
        .map_err(|e| CliError::failure(e.to_string()))?;
    let dev = DevClient {
        client_id: record.client_id,
        client_secret: issued.client_secret,
        audience: ENTUR_AUDIENCE,
        purpose: "",
    };
    client(base, &dev, Dialect::Entur, Some(ENTUR_AUDIENCE))
}

async fn unscoped_client(sandbox: &Sandbox, base: &str) -> CliResult<ApiClient> {
    let new = NewClient {
        name: "demo-unscoped".into(),
        audiences: vec![ENTUR_AUDIENCE.into()],
        ..NewClient::default()
    };
    registered(sandbox, base, new).await
}

async fn expiring_mid_request(sandbox: &Sandbox, base: &str) -> CliResult {
    let new = NewClient {
        name: "demo-brief".into(),
        audiences: vec![ENTUR_AUDIENCE.into()],
        scopes: vec![PROGRAMS_SCOPE.into()],
        lifetime: Some(Duration::from_secs(2)),
        ..NewClient::default()
    };
    let brief = registered(sandbox, base, new).await?;
    let left = brief
        .source
        .token()
        .await?
        .remaining(std::time::SystemTime::now());
    let started = Instant::now();
    let export = format!("{base}/personalisation/v1/programs/1/export?seconds=30");
    let (status, body) = send(&brief.http, &export).await?;
    println!(
        "   a 30 s export with a token that has {:.1} s left → {status} after {:.1} s: {}",
        left.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        message(&body)
    );
    Ok(())
}

async fn logout_and_recover(base: &str, api: &ApiClient) -> CliResult {
    let programs = format!("{base}/personalisation/v1/programs/1");
    let before = api.source.token().await?;
    let logout = reqwest::Client::new()
        .get(format!("{base}/oauth/v2/logout"))
        .bearer_auth(before.secret())
        .send()
        .await
        .map_err(net)?;
    println!(
        "   logout of the current token → {} {}",
        logout.status(),
        logout.text().await.map_err(net)?
    );
    // The guard learns of revocations from the feed it polls every 2 s.
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    let fetches = api.source.fetch_count();
    let (status, _) = send(&api.http, &programs).await?;
    println!(
        "   next call: the API answers 401, the client re-authenticates once ({} new token) and retries → {status}",
        api.source.fetch_count() - fetches
    );
    Ok(())
}

async fn x_jwt_flow(sandbox: &Sandbox, base: &str) -> CliResult {
    let telenor = dev_client(sandbox, "dev-telenor")?;
    let api = client(base, &telenor, Dialect::TelenorSweden, None)?;
    let x_jwt = XJwtConfig::new(
        base,
        "Mobile Subscriptions Administration API",
        "demo-communication",
        COMMUNICATION_USER_ID,
        sandbox.communication_user.password.clone(),
    )?;
    let x_jwt = Arc::new(XJwtSource::new(Arc::clone(&api.source), x_jwt));
    let http = reqwest_middleware::ClientBuilder::new(reqwest::Client::new())
        .with(AuthMiddleware::new(Arc::clone(&api.source)).x_jwt(Arc::clone(&x_jwt)))
        .build();
    let (status, _) = send(
        &http,
        &format!("{base}/b2b/mobile-admin/productCatalogManagement/v1/serviceRules"),
    )
    .await?;
    let (_, x) = x_jwt.credentials().await?;
    println!(
        "   Telenor X-JWT: bearer → hasPermission → X-JWT {} ({} left) → serviceRules with Bearer + X-JWT + X-Transaction-Id → {status}",
        x.fingerprint(),
        humantime::format_duration(Duration::from_secs(x.remaining(std::time::SystemTime::now()).as_secs()))
    );
    Ok(())
}

fn dev_client(sandbox: &Sandbox, id: &str) -> CliResult<DevClient> {
    sandbox
        .clients
        .iter()
        .find(|c| c.client_id == id)
        .cloned()
        .ok_or_else(|| CliError::failure(format!("the sandbox has no {id} client")))
}

async fn send(http: &ClientWithMiddleware, url: &str) -> CliResult<(reqwest::StatusCode, String)> {
    let response = http
        .get(url)
        .send()
        .await
        .map_err(|e| CliError::failure(format!("request to {url} failed: {e}")))?;
    let status = response.status();
    Ok((status, response.text().await.map_err(net)?))
}

fn message(body: &str) -> String {
    serde_json::from_str::<serde_json::Value>(body)
        .ok()
        .and_then(|v| {
            v.get("error_description")
                .and_then(|d| d.as_str())
                .map(str::to_owned)
        })
        .unwrap_or_else(|| body.chars().take(120).collect())
}

fn net(error: reqwest::Error) -> CliError {
    CliError::failure(error.to_string())
}
