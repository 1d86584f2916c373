//! `tokenbroker admins`: bootstrap, list and revoke administrators of the admin API.

use std::time::Duration;

use tokenbroker_server::registry::{AdminRecord, Registry, Role};

use crate::args::{AdminsArgs, AdminsCommand};
use crate::commands::registry::{open, print_json, registry_error, OPERATOR};
use crate::exit::CliResult;
use crate::terminal::printable;

/// Runs one administrator-management command.
pub(crate) async fn run(args: AdminsArgs) -> CliResult {
    let registry = open(&args.registry).await?;
    let result = match args.command {
        AdminsCommand::Create {
            name,
            roles,
            expires_in,
            json,
        } => create(&registry, &name, &roles, expires_in, json).await,
        AdminsCommand::List { json } => list(&registry, json).await,
        AdminsCommand::Revoke { name } => registry
            .revoke_admin(&name, OPERATOR)
            .await
            .map_err(registry_error)
            .map(|()| println!("revoked administrator {}", printable(&name))),
    };
    registry.close().await;
    result
}

async fn create(
    registry: &Registry,
    name: &str,
    roles: &[String],
    expires_in: Option<u64>,
    json: bool,
) -> CliResult {
    let roles = roles
        .iter()
        .map(|role| role.parse::<Role>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(registry_error)?;
    let issued = registry
        .create_admin_expiring(name, &roles, expires_in.map(Duration::from_secs), OPERATOR)
        .await
        .map_err(registry_error)?;
    if json {
        return print_json(&issued);
    }
    println!(
        "created administrator {} with roles {:?}",
        printable(&issued.admin.name),
        issued.admin.roles
    );
    println!("token: {}", issued.token);
    println!("Send it as `Authorization: Bearer <token>` to /admin/…; it is shown only once.");
    Ok(())
}

async fn list(registry: &Registry, json: bool) -> CliResult {
    let admins = registry.list_admins().await.map_err(registry_error)?;
    if json {
        return print_json(&admins);
    }
    for admin in &admins {
        println!(
            "{}  {}  {}",
            printable(&admin.name),
            admin
                .roles
                .iter()
                .map(|role| role.as_str())
                .collect::<Vec<_>>()
                .join(","),
            state(admin)
        );
    }
    Ok(())
}

fn state(admin: &AdminRecord) -> String {
    match (admin.revoked_at, admin.expires_at) {
        (Some(at), _) => format!("revoked at {at}"),
        (None, Some(at)) => format!("expires at {at}"),
        (None, None) => "valid, no expiry".into(),
    }
}
