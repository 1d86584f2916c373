//! `tokenbroker serve`: run the authorization server until SIGINT/SIGTERM, then drain and stop.

use std::time::Duration;

use serde_json::json;
use tokenbroker_sandbox::{CommunicationUser, DevClient, Sandbox};
use tokenbroker_server::registry::{RegistryError, Seeded};
use tokenbroker_server::{
    AuthServer, KeyStoreError, Profile, ServeError, ServerConfig, INTROSPECTION_PATH, JWKS_PATH,
    REVOCATION_PATH, STANDARD_TOKEN_PATH,
};

use crate::args::ServeArgs;
use crate::commands::registry::default_data_dir;
use crate::config::{self, ServerSection};
use crate::exit::{CliError, CliResult};

/// Starts the server, prints where it listens, and serves until told to stop.
pub(crate) async fn run(args: &ServeArgs) -> CliResult {
    let file = match config::locate(args.config.as_deref())? {
        Some(path) => config::load(&path)?.server.unwrap_or_default(),
        None => ServerSection::default(),
    };
    // The sandbox keeps nothing unless asked: dev clients with secrets printed on the terminal
    // must not end up in the real data directory, where a later plain `serve` would honour them.
    let temporary = if args.dev
        && args.data_dir.is_none()
        && file.data_dir.is_none()
        && args.database_url.is_none()
        && file.database_url.is_none()
    {
        use std::os::unix::fs::PermissionsExt;
        let failed = |e: std::io::Error| {
            CliError::failure(format!(
                "cannot create the sandbox's temporary data directory: {e}"
            ))
        };
        let dir = tempfile::Builder::new()
            .prefix("tokenbroker-dev-")
            .tempdir()
            .map_err(failed)?;
        // Like every data directory: the owner's only (it holds the pepper and the keys).
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o700))
            .map_err(failed)?;
        Some(dir)
    } else {
        None
    };
    let server_config = merge(
        args,
        file,
        temporary.as_ref().map(|dir| dir.path().to_path_buf()),
    )?;
    let data_dir = server_config
        .data_dir()
        .map(std::path::Path::to_path_buf)
        .unwrap_or_default();
    let profile = server_config.profile;
    let (server, dev_clients, communication_user) = if args.dev {
        let sandbox = Sandbox::start(server_config).await.map_err(serve_error)?;
        (
            sandbox.server,
            sandbox.clients,
            Some(sandbox.communication_user),
        )
    } else {
        let server = AuthServer::start(server_config)
            .await
            .map_err(serve_error)?;
        (server, Vec::new(), None)
    };
    let seeded = match &args.seed {
        Some(path) => {
            let clients = crate::seed_file::load(path)?;
            let actor = format!("seed file {}", path.display());
            server
                .registry()
                .seed(&clients, &actor)
                .await
                .map_err(|e| CliError::usage(e.to_string()))?
        }
        None => Vec::new(),
    };
    let started = Started {
        server: &server,
        data_dir: &data_dir,
        temporary: temporary.is_some(),
        profile,
        dev_clients: &dev_clients,
        seeded: &seeded,
        communication_user: communication_user.as_ref(),
    };
    if args.json {
        println!("{}", started.json());
    } else {
        started.print().await;
    }
    shutdown_signal().await;
    eprintln!("tokenbroker serve: shutting down, finishing in-flight requests");
    server.stop().await;
    // Removed only now, after the server let go of its registry.
    drop(temporary);
    Ok(())
}

/// A refused configuration is a usage error (exit 2) with the flags that fix it; a failing
/// environment (port taken, database down) is a failure (exit 1).
fn serve_error(error: ServeError) -> CliError {
    let hint = match &error {
        ServeError::PlainHttpBeyondLoopback { .. } => {
            " (pass --tls-cert and --tls-key, or --insecure-http)"
        }
        ServeError::RedirectWithoutTls => {
            " (--http-redirect-listen needs --tls-cert and --tls-key)"
        }
        ServeError::IssuerRequired | ServeError::Registry(RegistryError::IssuerMismatch { .. }) => {
            " (pass --issuer)"
        }
        ServeError::Keys(KeyStoreError::KekMismatch { .. }) => {
            " (every node needs the same key-encryption key: its kek file, --kek-file or TOKENBROKER_KEK)"
        }
        _ => "",
    };
    if error.is_configuration() {
        CliError::usage(format!("{error}{hint}"))
    } else {
        CliError::failure(error.to_string())
    }
}

/// What `serve` says once it listens: a text block for a person (its first line, `listening on
/// URL`, is the contract scripts wait for), or with `--json` one JSON object on one line.
struct Started<'a> {
    server: &'a AuthServer,
    data_dir: &'a std::path::Path,
    temporary: bool,
    profile: Profile,
    dev_clients: &'a [DevClient],
    seeded: &'a [Seeded],
    communication_user: Option<&'a CommunicationUser>,
}

impl Started<'_> {
    fn json(&self) -> serde_json::Value {
        let issuer = self.server.issuer();
        let dev_clients: Vec<_> = self
            .dev_clients
            .iter()
            .map(|c| {
                json!({
                    "client_id": c.client_id,
                    "client_secret": c.client_secret,
                    "audience": c.audience,
                    "purpose": c.purpose,
                })
            })
            .collect();
        json!({
            "url": self.server.url(),
            "admin_url": self.server.admin_url(),
            "issuer": issuer,
            "profile": format!("{:?}", self.profile).to_lowercase(),
            "signing_kid": self.server.signing_kid(),
            "token_endpoint": format!("{issuer}{STANDARD_TOKEN_PATH}"),
            "jwks_uri": format!("{issuer}{JWKS_PATH}"),
            "introspection_endpoint": format!("{issuer}{INTROSPECTION_PATH}"),
            "revocation_endpoint": format!("{issuer}{REVOCATION_PATH}"),
            "data_dir": self.data_dir,
            "data_dir_temporary": self.temporary,
            "dev_clients": dev_clients,
            "seeded_clients": self.seeded,
            "communication_user": self.communication_user.map(|user| json!({
                "user_id": user.user_id,
                "password": user.password,
            })),
        })
    }

    async fn print(&self) {
        let server = self.server;
        println!("listening on {}", server.url());
        if let Some(admin) = server.admin_url() {
            println!("admin API and metrics on {admin}");
        }
        if let Some(redirect) = server.redirect_addr() {
            println!("plain HTTP on http://{redirect} answers 301/405 towards HTTPS");
        }
        println!(
            "issuer {} · profile {:?} · signing key {}",
            server.issuer(),
            self.profile,
            server.signing_kid()
        );
        let data_dir = self.data_dir.display();
        if self.temporary {
            println!("data directory {data_dir} (temporary: removed when the sandbox stops; --data-dir keeps one)");
        } else {
            println!("data directory {data_dir}");
        }
        if !self.seeded.is_empty() {
            let created = self.seeded.iter().filter(|s| s.created).count();
            println!(
                "seeded {created} client(s); {} already existed and were left as they are",
                self.seeded.len() - created
            );
        }
        // Counted, not listed: a registry of a million clients starts as fast as one of ten.
        let clients = server.registry().count_clients().await.unwrap_or(0);
        if clients == 0 {
            println!(
                "No clients yet. Create one:\n  tokenbroker clients --data-dir {data_dir} create --name my-app --audience https://api.dev.entur.io --json"
            );
        } else {
            println!("{clients} client(s) registered");
        }
        println!("token endpoint {}/oauth2/token (also /oauth/token, /oauth/v2/token, /openapi/oauth2/token)", server.issuer());
        print_sandbox(server.issuer(), self.dev_clients);
        if let Some(user) = self.communication_user {
            print_communication(server.issuer(), user);
        }
    }
}

/// How to try the sandbox's Telenor Communication APIs.
fn print_communication(issuer: &str, user: &CommunicationUser) {
    println!(
        "\nTelenor Communication (X-JWT): POST {issuer}{}?service=<API name> with Bearer (dev-telenor), X-Transaction-Id and \
         {{\"clientId\": \"any\", \"userId\": {}, \"password\": \"{}\"}}; then GET {issuer}{} with Bearer + X-JWT + X-Transaction-Id",
        tokenbroker_sandbox::communication::HAS_PERMISSION_PATH,
        user.user_id,
        user.password,
        tokenbroker_sandbox::communication::SERVICE_RULES_PATH,
    );
}

/// The dev clients and commands to try, for `--dev`.
fn print_sandbox(issuer: &str, clients: &[DevClient]) {
    if clients.is_empty() {
        return;
    }
    println!("\nSandbox: demo partner APIs on this listener, and dev clients (new secrets on every start):");
    for client in clients {
        println!(
            "  {}  secret {}  audience {}",
            client.client_id, client.client_secret, client.audience
        );
        println!("    {}", client.purpose);
    }
    if let Some(entur) = clients.iter().find(|c| c.client_id == "dev-entur") {
        println!("\nTry:");
        println!(
            "  SECRET={} tokenbroker request --token-url {issuer}/oauth/token --client-id dev-entur \\\n    --client-secret-env SECRET --auth-style json --audience {} \\\n    --client-name forsen_utvikling-infoplakat {issuer}/personalisation/v1/programs/1",
            entur.client_secret, entur.audience
        );
    }
}

/// The server configuration: flags over the config file's `[server]` table over defaults; the
/// data directory falls back to `temporary` (the sandbox's), then the user data directory.
fn merge(
    args: &ServeArgs,
    file: ServerSection,
    temporary: Option<std::path::PathBuf>,
) -> CliResult<ServerConfig> {
    let data_dir = args
        .data_dir
        .clone()
        .or(file.data_dir)
        .or(temporary)
        .unwrap_or_else(default_data_dir);
    let mut config = ServerConfig::new(data_dir);
    if let Some(listen) = args.listen.or(file.listen) {
        config.listen = listen;
    }
    config.database_url = args.database_url.clone().or(file.database_url);
    let kek_args = crate::args::KekArgs {
        kek_file: args.kek.kek_file.clone().or(file.kek_file),
    };
    config.kek = crate::commands::registry::kek(&kek_args)?;
    config.issuer = args.issuer.clone().or(file.issuer);
    if let Some(profile) = args.profile.as_deref().or(file.profile.as_deref()) {
        config.profile = profile.parse::<Profile>().map_err(CliError::usage)?;
    }
    config.default_lifetime = args
        .lifetime
        .or(file.default_lifetime)
        .map(Duration::from_secs);
    config.insecure_http = args.insecure_http || file.insecure_http;
    match (
        args.tls_cert.clone().or(file.tls_cert),
        args.tls_key.clone().or(file.tls_key),
    ) {
        (Some(cert), Some(key)) => config.tls = Some(tokenbroker_server::TlsFiles { cert, key }),
        (None, None) => {}
        _ => return Err(CliError::usage("TLS needs both tls_cert and tls_key")),
    }
    config.http_redirect = args.http_redirect_listen.or(file.http_redirect_listen);
    config.admin_listen = args.admin_listen.or(file.admin_listen);
    let proxies = if args.trusted_proxies.is_empty() {
        &file.trusted_proxies
    } else {
        &args.trusted_proxies
    };
    config.trusted_proxies = proxies
        .iter()
        .map(|cidr| {
            cidr.parse().map_err(|e| {
                CliError::usage(format!(
                    "trusted proxy {cidr:?} is not a CIDR (e.g. 10.0.0.0/8): {e}"
                ))
            })
        })
        .collect::<CliResult<_>>()?;
    if let Some(algorithm) = args.algorithm.as_deref().or(file.algorithm.as_deref()) {
        config.algorithm = algorithm
            .parse()
            .map_err(|e: tokenbroker_server::KeyError| CliError::usage(e.to_string()))?;
    }
    Ok(config)
}

async fn shutdown_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(_) => {
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
