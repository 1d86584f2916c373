//! `tokenbroker admins create`: bootstrap administrators of the admin API.

use tokenbroker_server::registry::Role;

use crate::args::{AdminsArgs, AdminsCommand};
use crate::commands::registry::{open, print_json, registry_error, OPERATOR};
use crate::exit::CliResult;

/// Runs one administrator-management command.
pub(crate) async fn run(args: AdminsArgs) -> CliResult {
    let AdminsCommand::Create { name, roles, json } = args.command;
    let roles = roles
        .iter()
        .map(|role| role.parse::<Role>())
        .collect::<Result<Vec<_>, _>>()
        .map_err(registry_error)?;
    let registry = open(&args.registry).await?;
    let result = registry
        .create_admin(&name, &roles, OPERATOR)
        .await
        .map_err(registry_error);
    registry.close().await;
    let issued = result?;
    if json {
        print_json(&issued)
    } else {
        println!(
            "created administrator {} with roles {:?}",
            issued.admin.name, issued.admin.roles
        );
        println!("token: {}", issued.token);
        println!("Send it as `Authorization: Bearer <token>` to /admin/…; it is shown only once.");
        Ok(())
    }
}
