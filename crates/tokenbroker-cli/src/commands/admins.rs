//! `tokenbroker admins`: bootstrap, list and revoke administrators of the admin API.

use std::time::Duration;

use secrecy::SecretString;
use tokenbroker_server::registry::{AdminRecord, NewAdmin, Registry, Role};

use crate::args::{AdminsArgs, AdminsCommand};
use crate::commands::registry::{open, print_json, read_secret_line, registry_error, OPERATOR};
use crate::exit::CliResult;
use crate::terminal::{printable, when};

/// Runs one administrator-management command.
pub(crate) async fn run(args: AdminsArgs) -> CliResult {
    let registry = open(&args.registry).await?;
    let result = match args.command {
        AdminsCommand::Create {
            name,
            roles,
            expires_in,
            password_stdin,
            json,
        } => {
            let password = if password_stdin {
                Some(read_password()?)
            } else {
                None
            };
            let new = NewAdmin {
                name,
                roles: parse_roles(&roles)?,
                token_expires_in: expires_in.map(Duration::from_secs),
                password,
            };
            create(&registry, &new, json).await
        }
        AdminsCommand::SetPassword { name, .. } => {
            let password = read_password()?;
            registry
                .set_admin_password(&name, &password, OPERATOR)
                .await
                .map_err(registry_error)
                .map(|()| {
                    println!(
                        "set the portal password of administrator {}",
                        printable(&name)
                    )
                })
        }
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

fn parse_roles(roles: &[String]) -> CliResult<Vec<Role>> {
    roles
        .iter()
        .map(|role| role.parse::<Role>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(registry_error)
}

fn read_password() -> CliResult<SecretString> {
    read_secret_line(std::io::stdin().lock(), "the password")
}

async fn create(registry: &Registry, new: &NewAdmin, json: bool) -> CliResult {
    let issued = registry
        .add_admin(new, OPERATOR)
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
    let token = match (admin.revoked_at, admin.expires_at) {
        (Some(at), _) => format!("revoked at {}", when(at)),
        (None, Some(at)) => format!("expires at {}", when(at)),
        (None, None) => "valid, no expiry".into(),
    };
    let portal = if admin.has_password {
        "portal password set"
    } else {
        "no portal password"
    };
    format!("{token}, {portal}")
}
