//! The sidecar agent in the demo: a program with no OAuth code calls the sandbox's partner API
//! through `tokenbroker agent`, which adds the token and ET-Client-Name.

use tokenbroker::{AuthStyle, ClientConfig, ClientName};
use tokenbroker_agent::{Agent, AgentConfig, AgentSettings, ProfileSpec, UpstreamSettings};
use tokenbroker_sandbox::partner_api::ENTUR_AUDIENCE;
use tokenbroker_sandbox::DevClient;
use tokenbroker_server::Dialect;

use crate::exit::{CliError, CliResult};

const REQUESTS: usize = 100;

/// Starts an agent in front of the sandbox at `base` and sends plain requests through it.
pub(super) async fn run(base: &str, entur: &DevClient, client_name: &str) -> CliResult {
    let agent = start(base, entur, client_name).await?;
    let origin = format!("http://{}", agent.addr());
    println!("\n7. The sidecar agent on {origin}: services call it without any OAuth code");
    let plain = reqwest::Client::new();
    let url = format!("{origin}/entur/personalisation/v1/programs/1");
    let status = plain.get(&url).send().await.map_err(net)?.status();
    println!("   GET /entur/personalisation/v1/programs/1, no credentials sent → {status} (the agent added Bearer and ET-Client-Name)");
    for _ in 1..REQUESTS {
        plain.get(&url).send().await.map_err(net)?;
    }
    let metrics = plain
        .get(format!("{origin}/metrics"))
        .send()
        .await
        .map_err(net)?
        .text()
        .await
        .map_err(net)?;
    let fetched = metrics
        .lines()
        .find(|l| {
            l.starts_with(
                "tokenbroker_agent_token_fetches_total{profile=\"entur\",outcome=\"success\"}",
            )
        })
        .and_then(|l| l.rsplit(' ').next())
        .unwrap_or("?");
    println!("   {REQUESTS} requests through the agent: {fetched} token request(s) to the AS (from /metrics)");
    let token: serde_json::Value = plain
        .get(format!("{origin}/v1/token/entur"))
        .send()
        .await
        .map_err(net)?
        .json()
        .await
        .map_err(net)?;
    println!(
        "   GET /v1/token/entur → token_type {}, expires_in {} s, for processes that call APIs themselves",
        token["token_type"], token["expires_in"]
    );
    agent.shutdown().await;
    Ok(())
}

async fn start(base: &str, entur: &DevClient, client_name: &str) -> CliResult<Agent> {
    let client = ClientConfig::builder(
        format!("{base}{}", Dialect::Entur.token_path()),
        entur.client_id.clone(),
        entur.client_secret.clone(),
    )
    .auth_style(AuthStyle::Json)
    .audience(ENTUR_AUDIENCE)
    .build()?;
    let profile = ProfileSpec {
        client_name: Some(ClientName::new(client_name)?),
        ..ProfileSpec::new("entur", client)
    };
    let settings: AgentSettings =
        toml::from_str("listen = \"127.0.0.1:0\"\nworker_threads = 1\nsecret_poll_interval = 0\n")
            .map_err(|e| CliError::failure(format!("demo agent settings: {e}")))?;
    let settings = AgentSettings {
        upstreams: vec![UpstreamSettings {
            name: "entur".into(),
            profile: "entur".into(),
            base_url: base.to_owned(),
            http2_prior_knowledge: false,
            ca_file: None,
        }],
        ..settings
    };
    Agent::start(AgentConfig::new(settings, vec![profile]))
        .await
        .map_err(|e| CliError::failure(format!("could not start the demo agent: {e}")))
}

fn net(error: reqwest::Error) -> CliError {
    CliError::failure(format!("demo request through the agent failed: {error}"))
}
