//! The admin HTTP API: administrators with the client-admin role manage clients; viewers read.

use serde_json::{json, Value};
use tokenbroker_server::registry::Role;
use tokenbroker_server::{AuthServer, ServerConfig};

const AUDIENCE: &str = "https://api.dev.entur.io";

struct Admin<'a> {
    server: &'a AuthServer,
    token: String,
}

impl Admin<'_> {
    async fn call(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let mut request = reqwest::Client::new()
            .request(method, format!("{}{path}", self.server.url()))
            .bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }
}

async fn token_status(server: &AuthServer, id: &str, secret: &str) -> u16 {
    tokenbroker_testkit::request_token(&server.url(), id, secret)
        .await
        .status()
        .as_u16()
}

#[tokio::test]
async fn client_admins_manage_clients_and_viewers_only_read() {
    use reqwest::Method;
    let server = AuthServer::start(ServerConfig::in_memory([]))
        .await
        .unwrap();
    let registry = server.registry();
    let alice = Admin {
        server: &server,
        token: registry
            .create_admin("alice", &[Role::ClientAdmin], "operator")
            .await
            .unwrap()
            .token,
    };
    let victor = Admin {
        server: &server,
        token: registry
            .create_admin("victor", &[Role::Viewer], "operator")
            .await
            .unwrap()
            .token,
    };

    // Create (client-admin only): the secret comes back once and works at the token endpoint.
    let new_client = json!({ "name": "route planner", "audiences": [AUDIENCE], "scopes": ["personalisation:read"] });
    let (status, refused) = victor
        .call(Method::POST, "/admin/clients", Some(new_client.clone()))
        .await;
    assert_eq!(status, 403);
    assert!(
        refused["error"].as_str().unwrap().contains("client-admin"),
        "{refused}"
    );
    let (status, created) = alice
        .call(Method::POST, "/admin/clients", Some(new_client))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(token_status(&server, &id, &secret).await, 200);

    // Read (viewers too).
    let (status, listed) = victor.call(Method::GET, "/admin/clients", None).await;
    assert_eq!((status, listed.as_array().unwrap().len()), (200, 1));
    let (_, shown) = victor
        .call(Method::GET, &format!("/admin/clients/{id}"), None)
        .await;
    assert_eq!(shown["audit_log"][0]["actor"], "admin:alice");
    assert!(
        !shown.to_string().contains(&secret),
        "secrets are never shown again"
    );

    // Rotate, disable, enable, delete.
    let (status, rotated) = alice
        .call(
            Method::POST,
            &format!("/admin/clients/{id}/rotate-secret"),
            Some(json!({ "overlap_seconds": 0 })),
        )
        .await;
    assert_eq!(status, 200);
    let new_secret = rotated["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(
        token_status(&server, &id, &secret).await,
        401,
        "no overlap: the old secret is retired"
    );
    assert_eq!(token_status(&server, &id, &new_secret).await, 200);
    assert_eq!(
        victor
            .call(Method::POST, &format!("/admin/clients/{id}/disable"), None)
            .await
            .0,
        403
    );
    assert_eq!(
        alice
            .call(Method::POST, &format!("/admin/clients/{id}/disable"), None)
            .await
            .0,
        204
    );
    // unauthorized_client: 400 (RFC 6749 §5.2).
    assert_eq!(token_status(&server, &id, &new_secret).await, 400);
    assert_eq!(
        alice
            .call(Method::POST, &format!("/admin/clients/{id}/enable"), None)
            .await
            .0,
        204
    );
    assert_eq!(token_status(&server, &id, &new_secret).await, 200);
    assert_eq!(
        alice
            .call(Method::DELETE, &format!("/admin/clients/{id}"), None)
            .await
            .0,
        204
    );
    assert_eq!(
        alice
            .call(Method::GET, &format!("/admin/clients/{id}"), None)
            .await
            .0,
        404
    );

    let (status, audit) = victor.call(Method::GET, "/admin/audit", None).await;
    assert_eq!(status, 200);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "admin.create",
            "admin.create",
            "client.create",
            "secret.rotate",
            "client.disable",
            "client.enable",
            "client.delete"
        ]
    );
}

#[tokio::test]
async fn the_admin_api_refuses_strangers_and_bad_requests() {
    use reqwest::Method;
    let server = AuthServer::start(ServerConfig::in_memory([]))
        .await
        .unwrap();
    let anonymous = reqwest::get(format!("{}/admin/clients", server.url()))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    assert!(anonymous.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Bearer"));
    let forged = Admin {
        server: &server,
        token: "tba_forged.token".into(),
    };
    assert_eq!(
        forged.call(Method::GET, "/admin/clients", None).await.0,
        401
    );

    let token = server
        .registry()
        .create_admin("alice", &[Role::ClientAdmin], "operator")
        .await
        .unwrap()
        .token;
    let alice = Admin {
        server: &server,
        token,
    };
    let (status, body) = alice
        .call(
            Method::POST,
            "/admin/clients",
            Some(json!({ "name": "x", "audiences": [] })),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("audience"),
        "{body}"
    );
    assert_eq!(
        alice
            .call(Method::POST, "/admin/clients/nobody/disable", None)
            .await
            .0,
        404
    );
}
