//! `tokenbroker demo`: the whole client-credentials story on this machine — the client side
//! against an in-process authorization server, then the API side against the sandbox (the server
//! with demo partner APIs behind the guard), and the sidecar agent in front of it. No network, no
//! configuration; exits 0.

mod agent_side;
mod api_side;
mod client_side;

use std::time::Instant;

use crate::exit::CliResult;

/// Runs both parts and prints the narrative to stdout.
pub(crate) async fn run() -> CliResult {
    let started = Instant::now();
    client_side::run().await?;
    api_side::run().await?;
    println!(
        "\nDone in {:.1} s. Try `tokenbroker serve --dev` for the sandbox, and the README for real providers.",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
