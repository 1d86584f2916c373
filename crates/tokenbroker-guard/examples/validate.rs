//! Validates one access token with the guard, as an API would: `validate ISSUER AUDIENCE < token`.
//! Prints the verified claims, or the rejection (and exits 1). Used by `bench/guard_interop.sh`
//! to check tokens from issuers nobody here wrote.

use std::io::Read;

use tokenbroker_guard::{Guard, GuardConfig};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let mut args = std::env::args().skip(1);
    let (Some(issuer), Some(audience)) = (args.next(), args.next()) else {
        eprintln!("usage: validate ISSUER AUDIENCE < token");
        return std::process::ExitCode::from(2);
    };
    let mut token = String::new();
    if std::io::stdin().read_to_string(&mut token).is_err() {
        eprintln!("cannot read the token from stdin");
        return std::process::ExitCode::from(2);
    }
    let guard = match Guard::start(GuardConfig::new(issuer, audience)).await {
        Ok(guard) => guard,
        Err(error) => {
            eprintln!("{error}");
            return std::process::ExitCode::from(2);
        }
    };
    match guard.verify(token.trim()).await {
        Ok(verified) => {
            println!(
                "valid: {}",
                serde_json::Value::Object(verified.claims().clone())
            );
            std::process::ExitCode::SUCCESS
        }
        Err(rejection) => {
            println!("rejected: {rejection}");
            std::process::ExitCode::from(1)
        }
    }
}
