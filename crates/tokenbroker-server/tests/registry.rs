//! The client registry's contract, against SQLite (memory and file) and a real PostgreSQL.

use std::time::Duration;

use tokenbroker_server::registry::{AuthFailure, NewClient, Pepper, Registry, RegistryError, Role};

const PEPPER: &[u8] = b"test-pepper-0123456789abcdef0123";

fn new_client(name: &str) -> NewClient {
    NewClient {
        name: name.into(),
        audiences: vec!["https://api.dev.entur.io".into()],
        scopes: vec![
            "personalisation:read".into(),
            "personalisation:write".into(),
        ],
        lifetime: Some(Duration::from_secs(86_400)),
        ..NewClient::default()
    }
}

async fn contract(registry: Registry) {
    // Counted and summed by the database, never by listing every client.
    assert_eq!(registry.count_clients().await.unwrap(), 0);
    assert_eq!(registry.longest_client_lifetime().await.unwrap(), None);
    // Create: a generated secret of 256 bits, shown once, stored hashed.
    let (client, issued) = registry
        .create_client(new_client("route planner"), "operator")
        .await
        .unwrap();
    assert!(issued.client_secret.len() >= 43);
    assert_eq!(registry.count_clients().await.unwrap(), 1);
    assert_eq!(
        registry.longest_client_lifetime().await.unwrap(),
        Some(Duration::from_secs(86_400))
    );
    assert!(!format!("{issued:?}").contains(&issued.client_secret));
    assert_eq!(client.audiences, vec!["https://api.dev.entur.io"]);
    assert_eq!(client.lifetime(), Some(Duration::from_secs(86_400)));
    assert_eq!(client.secrets.len(), 1);
    assert_eq!(client.secrets[0].kind, "hmac-sha256");
    let id = client.client_id.clone();

    // Authenticate.
    let ok = registry
        .authenticate(&id, &issued.client_secret)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ok.client_id, id);
    assert_eq!(
        registry
            .authenticate(&id, "wrong")
            .await
            .unwrap()
            .unwrap_err(),
        AuthFailure::WrongSecret
    );
    assert_eq!(
        registry
            .authenticate("nobody", "x")
            .await
            .unwrap()
            .unwrap_err(),
        AuthFailure::UnknownClient
    );
    assert!(registry.client(&id).await.unwrap().secrets[0]
        .last_used_at
        .is_some());

    // Rotation with overlap: both secrets work; rotation without overlap retires the others.
    let second = registry
        .rotate_secret(&id, Duration::from_secs(3600), "operator")
        .await
        .unwrap();
    assert!(registry
        .authenticate(&id, &issued.client_secret)
        .await
        .unwrap()
        .is_ok());
    assert!(registry
        .authenticate(&id, &second.client_secret)
        .await
        .unwrap()
        .is_ok());
    let third = registry
        .rotate_secret(&id, Duration::ZERO, "operator")
        .await
        .unwrap();
    assert!(registry
        .authenticate(&id, &issued.client_secret)
        .await
        .unwrap()
        .is_err());
    assert!(registry
        .authenticate(&id, &second.client_secret)
        .await
        .unwrap()
        .is_err());
    assert!(registry
        .authenticate(&id, &third.client_secret)
        .await
        .unwrap()
        .is_ok());
    assert_eq!(registry.client(&id).await.unwrap().secrets.len(), 3);

    // Disable and enable.
    registry.set_enabled(&id, false, "operator").await.unwrap();
    assert_eq!(
        registry
            .authenticate(&id, &third.client_secret)
            .await
            .unwrap()
            .unwrap_err(),
        AuthFailure::Disabled
    );
    registry.set_enabled(&id, true, "operator").await.unwrap();
    assert!(registry
        .authenticate(&id, &third.client_secret)
        .await
        .unwrap()
        .is_ok());

    // Imported secrets (Argon2id) and fixed ids.
    let imported = NewClient {
        client_id: Some("legacy-client".into()),
        secret: Some("a human chose this".into()),
        ..new_client("legacy")
    };
    let (legacy, _) = registry
        .create_client(imported.clone(), "operator")
        .await
        .unwrap();
    assert_eq!(legacy.secrets[0].kind, "argon2id");
    assert!(registry
        .authenticate("legacy-client", "a human chose this")
        .await
        .unwrap()
        .is_ok());
    assert!(matches!(
        registry.create_client(imported, "operator").await,
        Err(RegistryError::Invalid(message)) if message.contains("already exists")
    ));

    // Listing, and deletion.
    let all = registry.list_clients().await.unwrap();
    assert_eq!(all.len(), 2);
    registry
        .delete_client("legacy-client", "operator")
        .await
        .unwrap();
    assert!(matches!(
        registry.client("legacy-client").await,
        Err(RegistryError::UnknownClient(_))
    ));
    assert!(matches!(
        registry.delete_client("legacy-client", "operator").await,
        Err(RegistryError::UnknownClient(_))
    ));

    // The audit log tells the story, without secrets.
    let actions: Vec<String> = registry
        .audit_log(Some(&id))
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    assert_eq!(
        actions,
        [
            "client.create",
            "secret.rotate",
            "secret.rotate",
            "client.disable",
            "client.enable"
        ]
    );
    let everything = format!("{:?}", registry.audit_log(None).await.unwrap());
    assert!(everything.contains("client.delete"));
    assert!(
        !everything.contains(&third.client_secret) && !everything.contains("a human chose this")
    );

    // Administrators and roles.
    let admin = registry
        .create_admin("alice", &[Role::ClientAdmin], "operator")
        .await
        .unwrap();
    assert!(!format!("{admin:?}").contains(&admin.token));
    let found = registry
        .authenticate_admin(&admin.token)
        .await
        .unwrap()
        .unwrap();
    assert!(found.has(Role::ClientAdmin) && !found.has(Role::Viewer));
    assert_eq!(
        registry.authenticate_admin("tba_nope.nope").await.unwrap(),
        None
    );
    assert_eq!(
        registry
            .authenticate_admin(&format!("{}x", admin.token))
            .await
            .unwrap(),
        None
    );
    assert!(registry
        .create_admin("alice", &[Role::Viewer], "operator")
        .await
        .is_err());

    // Bad requests are refused with a reason.
    let nameless = NewClient {
        name: " ".into(),
        ..new_client("x")
    };
    assert!(matches!(
        registry.create_client(nameless, "operator").await,
        Err(RegistryError::Invalid(_))
    ));
    let no_audience = NewClient {
        audiences: vec![],
        ..new_client("x")
    };
    assert!(matches!(
        registry.create_client(no_audience, "operator").await,
        Err(RegistryError::Invalid(_))
    ));
}

#[tokio::test]
async fn sqlite_in_memory() {
    contract(
        Registry::open("sqlite::memory:", Pepper::new(PEPPER))
            .await
            .unwrap(),
    )
    .await;
}

#[tokio::test]
async fn sqlite_file_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("registry.db").display());
    let registry = Registry::open(&url, Pepper::new(PEPPER)).await.unwrap();
    contract(registry.clone()).await;
    let (client, issued) = registry
        .create_client(new_client("keeper"), "operator")
        .await
        .unwrap();
    registry.close().await;

    let reopened = Registry::open(&url, Pepper::new(PEPPER)).await.unwrap();
    assert!(reopened
        .authenticate(&client.client_id, &issued.client_secret)
        .await
        .unwrap()
        .is_ok());
    // A different pepper could not verify any stored hash (the pepper is part of the secret),
    // so the registry refuses to open with one, saying what to restore.
    reopened.close().await;
    let error = Registry::open(&url, Pepper::new(b"another pepper"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::PepperMismatch { .. }),
        "{error}"
    );
    assert!(
        error.to_string().contains("Restore this node's pepper"),
        "{error}"
    );
}

#[tokio::test]
async fn postgresql() {
    let server = tokenbroker_testkit::Postgres::start();
    let registry = Registry::open(&server.url, Pepper::new(PEPPER))
        .await
        .unwrap();
    contract(registry.clone()).await;
    // Two nodes sharing one registry see the same clients.
    let (client, issued) = registry
        .create_client(new_client("shared"), "operator")
        .await
        .unwrap();
    let other_node = Registry::open(&server.url, Pepper::new(PEPPER))
        .await
        .unwrap();
    assert!(other_node
        .authenticate(&client.client_id, &issued.client_secret)
        .await
        .unwrap()
        .is_ok());
    // A node with another pepper is refused at open, not left rejecting every secret.
    let error = Registry::open(&server.url, Pepper::new(b"a node's own pepper"))
        .await
        .unwrap_err();
    assert!(
        matches!(error, RegistryError::PepperMismatch { .. }),
        "{error}"
    );
    registry.close().await;
    other_node.close().await;
}

#[tokio::test]
async fn unreachable_database_is_a_clear_error() {
    let error = Registry::open("postgres://nobody@127.0.0.1:1/none", Pepper::new(PEPPER))
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.starts_with("registry database postgres://nobody@127.0.0.1:1/none"),
        "{message}"
    );
}

/// A pepper file that went missing next to a used registry is an error naming both files, not a
/// fresh pepper that would silently invalidate every stored secret.
#[tokio::test]
async fn a_missing_pepper_is_not_replaced() {
    use tokenbroker_server::{DataDir, DataDirProblem};
    let dir = tempfile::tempdir().unwrap();
    let data = DataDir::open(dir.path().join("data")).unwrap();
    let registry = Registry::open(&data.registry_url().unwrap(), data.pepper().unwrap())
        .await
        .unwrap();
    registry
        .create_client(new_client("kept"), "operator")
        .await
        .unwrap();
    registry.close().await;
    std::fs::remove_file(data.path().join("pepper")).unwrap();
    let error = data.pepper().unwrap_err();
    assert!(
        matches!(error.problem, DataDirProblem::MissingPepper { .. }),
        "{error}"
    );
    assert!(
        error
            .to_string()
            .contains("restore the pepper from a backup"),
        "{error}"
    );
    assert!(
        !data.path().join("pepper").exists(),
        "no new pepper was written"
    );
}
