//! `tokenbroker clients`: create, update, list, show, rotate-secret, disable, enable, delete.

use std::time::Duration;

use secrecy::ExposeSecret;
use serde_json::json;
use tokenbroker_server::registry::{ClientChanges, ClientRecord, NewClient, Registry};

use crate::args::{ClientsArgs, ClientsCommand, LifetimeArg};
use crate::commands::registry::{open, print_json, read_secret_line, registry_error, OPERATOR};
use crate::exit::CliResult;
use crate::terminal::{printable, when};

/// Runs one client-administration command.
pub(crate) async fn run(args: ClientsArgs) -> CliResult {
    let registry = open(&args.registry).await?;
    let result = match args.command {
        ClientsCommand::Create {
            name,
            audiences,
            scope,
            lifetime,
            refresh_token,
            introspect,
            secret_stdin,
            json,
        } => {
            let secret = if secret_stdin {
                Some(read_secret_line(
                    std::io::stdin().lock(),
                    "the client secret",
                )?)
            } else {
                None
            };
            let new = NewClient {
                name,
                audiences,
                scopes: words(scope.as_deref().unwrap_or_default()),
                lifetime: lifetime.map(Duration::from_secs),
                refresh_tokens: refresh_token,
                introspect,
                secret: secret.map(|s| s.expose_secret().to_owned()),
                ..NewClient::default()
            };
            let (client, issued) = registry
                .create_client(new, OPERATOR)
                .await
                .map_err(registry_error)?;
            if secret_stdin {
                // The secret is the caller's own: never echoed.
                if json {
                    return print_json(&client);
                }
                println!(
                    "created client {} ({}) with the imported secret",
                    client.client_id,
                    printable(&client.name)
                );
                Ok(())
            } else if json {
                print_json(&json!({
                    "client_id": client.client_id,
                    "client_secret": issued.client_secret,
                    "name": client.name,
                    "audiences": client.audiences,
                    "scopes": client.scopes,
                    "lifetime_seconds": client.lifetime_seconds,
                    "refresh_tokens": client.refresh_tokens,
                    "introspect": client.introspect,
                }))
            } else {
                println!(
                    "created client {} ({})",
                    client.client_id,
                    printable(&client.name)
                );
                println!("client_id:     {}", client.client_id);
                println!("client_secret: {}", issued.client_secret);
                println!("Store the secret now: it is shown only once.");
                Ok(())
            }
        }
        ClientsCommand::Update {
            id,
            name,
            audiences,
            scope,
            lifetime,
            refresh_token,
            introspect,
            json,
        } => {
            let changes = ClientChanges {
                name,
                audiences: (!audiences.is_empty()).then_some(audiences),
                scopes: scope.as_deref().map(words),
                lifetime: lifetime.map(|lifetime| match lifetime {
                    LifetimeArg::Default => None,
                    LifetimeArg::Seconds(seconds) => Some(Duration::from_secs(seconds)),
                }),
                refresh_tokens: refresh_token,
                introspect,
            };
            update(&registry, &id, &changes, json).await
        }
        ClientsCommand::List { json } => {
            let clients = registry.list_clients().await.map_err(registry_error)?;
            if json {
                print_json(&clients)
            } else {
                for client in &clients {
                    println!("{}", summary(client));
                }
                Ok(())
            }
        }
        ClientsCommand::Show { id, json } => {
            let client = registry.client(&id).await.map_err(registry_error)?;
            let audit = registry
                .audit_log(Some(&id))
                .await
                .map_err(registry_error)?;
            if json {
                print_json(&json!({ "client": client, "audit_log": audit }))
            } else {
                println!("{}", summary(&client));
                for secret in &client.secrets {
                    println!(
                        "  secret {} {} created {} expires {} last used {}",
                        secret.secret_id,
                        secret.kind,
                        when(secret.created_at),
                        secret.expires_at.map_or("never".into(), when),
                        secret.last_used_at.map_or("never".into(), when)
                    );
                }
                for event in &audit {
                    println!(
                        "  {}",
                        printable(&format!(
                            "{} {} by {} {}",
                            when(event.at),
                            event.action,
                            event.actor,
                            event.detail
                        ))
                    );
                }
                Ok(())
            }
        }
        ClientsCommand::RotateSecret { id, overlap, json } => {
            let issued = registry
                .rotate_secret(&id, Duration::from_secs(overlap), OPERATOR)
                .await
                .map_err(registry_error)?;
            if json {
                print_json(&issued)
            } else {
                println!("client_secret: {}", issued.client_secret);
                println!("The previous secret(s) stay valid for {overlap} s. Store the new one now: it is shown only once.");
                Ok(())
            }
        }
        ClientsCommand::Disable { id } => {
            registry
                .set_enabled(&id, false, OPERATOR)
                .await
                .map_err(registry_error)?;
            println!("disabled client {id}");
            Ok(())
        }
        ClientsCommand::Enable { id } => {
            registry
                .set_enabled(&id, true, OPERATOR)
                .await
                .map_err(registry_error)?;
            println!("enabled client {id}");
            Ok(())
        }
        ClientsCommand::Delete { id } => {
            registry
                .delete_client(&id, OPERATOR)
                .await
                .map_err(registry_error)?;
            println!("deleted client {id}");
            Ok(())
        }
    };
    registry.close().await;
    result
}

async fn update(registry: &Registry, id: &str, changes: &ClientChanges, json: bool) -> CliResult {
    let client = registry
        .update_client(id, changes, OPERATOR)
        .await
        .map_err(registry_error)?;
    if json {
        return print_json(&client);
    }
    println!("updated {}", summary(&client));
    Ok(())
}

/// Space-separated words (scopes).
fn words(text: &str) -> Vec<String> {
    text.split_whitespace().map(str::to_owned).collect()
}

/// One line per client; stored text goes through [`printable`], so a name cannot drive the
/// terminal.
fn summary(client: &ClientRecord) -> String {
    printable(&format!(
        "{} {:?} {} audiences [{}] scopes [{}] lifetime {}{}",
        client.client_id,
        client.name,
        if client.enabled {
            "enabled"
        } else {
            "DISABLED"
        },
        client.audiences.join(" "),
        client.scopes.join(" "),
        client
            .lifetime_seconds
            .map_or("server default".into(), |s| format!("{s} s")),
        if client.introspect {
            " resource-server"
        } else {
            ""
        },
    ))
    .into_owned()
}
