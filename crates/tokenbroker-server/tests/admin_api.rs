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
            "keys.create",
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

#[tokio::test]
async fn patch_changes_a_clients_settings_and_the_next_token_carries_them() {
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
    let (_, created) = alice
        .call(
            Method::POST,
            "/admin/clients",
            Some(json!({ "name": "planner", "audiences": [AUDIENCE], "scopes": ["a"] })),
        )
        .await;
    let id = created["client_id"].as_str().unwrap().to_owned();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    let path = format!("/admin/clients/{id}");

    let (status, client) = alice
        .call(
            Method::PATCH,
            &path,
            Some(json!({ "scopes": ["a", "b"], "lifetime_seconds": 600, "name": "route planner" })),
        )
        .await;
    assert_eq!(status, 200, "{client}");
    assert_eq!(client["scopes"], json!(["a", "b"]));
    assert_eq!(client["name"], "route planner");
    assert_eq!(client["audiences"], json!([AUDIENCE]), "untouched");
    let issued: Value = tokenbroker_testkit::request_token(&server.url(), &id, &secret)
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(issued["scope"], "a b");
    assert_eq!(issued["expires_in"], 600);

    // `null` returns to the server's default; absent leaves it.
    let (_, client) = alice
        .call(
            Method::PATCH,
            &path,
            Some(json!({ "lifetime_seconds": null })),
        )
        .await;
    assert_eq!(client["lifetime_seconds"], Value::Null);
    assert_eq!(client["scopes"], json!(["a", "b"]));

    // Refusals, each as JSON.
    let refusals = [
        (&victor, json!({ "scopes": [] }), 403),
        (&alice, json!({}), 400),
        (&alice, json!({ "audiences": [] }), 400),
        (&alice, json!({ "lifetime_seconds": 0 }), 400),
        (&alice, json!({ "secret": "x" }), 422),
        (&alice, json!({ "scopes": "a b" }), 422),
    ];
    for (who, body, expected) in refusals {
        let (status, answer) = who.call(Method::PATCH, &path, Some(body.clone())).await;
        assert_eq!(status, expected, "{body} → {answer}");
        assert!(answer["error"].is_string(), "{body} → {answer}");
    }
    let (status, answer) = alice
        .call(
            Method::PATCH,
            "/admin/clients/nobody",
            Some(json!({ "name": "x" })),
        )
        .await;
    assert_eq!((status, answer["error"].is_string()), (404, true));
    let audit = registry.audit_log(Some(&id)).await.unwrap();
    let update = audit.iter().find(|e| e.action == "client.update").unwrap();
    assert_eq!(update.actor, "admin:alice");
    assert!(update.detail.contains("scopes=a,b"), "{}", update.detail);
}

#[tokio::test]
async fn every_admin_api_error_is_json_even_for_malformed_bodies_routes_and_methods() {
    let server = AuthServer::start(ServerConfig::in_memory([]))
        .await
        .unwrap();
    let token = server
        .registry()
        .create_admin("alice", &[Role::ClientAdmin], "operator")
        .await
        .unwrap()
        .token;
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{}{path}", server.url());
    let cases = [
        http.post(url("/admin/clients")).body("{not json"),
        http.post(url("/admin/clients"))
            .header("content-type", "application/json")
            .body("{not json"),
        http.post(url("/admin/clients"))
            .header("content-type", "application/json")
            .body(r#"{"name": "x"}"#),
        http.get(url("/admin/nothing-here")),
        http.put(url("/admin/clients")),
        http.post(url("/admin/clients/some-id/rotate-secret"))
            .header("content-type", "application/json")
            .body(r#"{"overlap_seconds": "soon"}"#),
    ];
    let mut statuses = Vec::new();
    for request in cases {
        let response = request.bearer_auth(&token).send().await.unwrap();
        statuses.push(response.status().as_u16());
        assert_eq!(
            response.headers()["content-type"],
            "application/json",
            "{}",
            response.status()
        );
        let body: Value = response.json().await.unwrap();
        assert!(
            body["error"].as_str().is_some_and(|e| !e.is_empty()),
            "{body}"
        );
    }
    assert_eq!(statuses, [415, 400, 422, 404, 405, 422]);
}

#[tokio::test]
async fn an_imported_secret_is_stored_with_argon2id_and_never_echoed() {
    use reqwest::Method;
    let server = AuthServer::start(ServerConfig::in_memory([]))
        .await
        .unwrap();
    let alice = Admin {
        server: &server,
        token: server
            .registry()
            .create_admin("alice", &[Role::ClientAdmin], "operator")
            .await
            .unwrap()
            .token,
    };
    let imported = "moved-from-the-old-issuer-2024";
    let (status, body) = alice
        .call(
            Method::POST,
            "/admin/clients",
            Some(json!({ "name": "legacy", "audiences": [AUDIENCE], "client_secret": imported })),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    assert!(!body.to_string().contains(imported));
    assert_eq!(body["client"]["secrets"][0]["kind"], "argon2id");
    let id = body["client_id"].as_str().unwrap();
    assert_eq!(token_status(&server, id, imported).await, 200);
    assert_eq!(
        token_status(&server, id, "moved-from-the-old-issuer-2025").await,
        401
    );

    let (status, body) = alice
        .call(
            Method::POST,
            "/admin/clients",
            Some(json!({ "name": "weak", "audiences": [AUDIENCE], "client_secret": "short" })),
        )
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"].as_str().unwrap().contains("8 to 1024 bytes"),
        "{body}"
    );
    assert!(!body.to_string().contains("\"short\""));
}

#[tokio::test]
async fn the_openapi_document_describes_exactly_the_routes_served() {
    let server = AuthServer::start(ServerConfig::in_memory([]))
        .await
        .unwrap();
    let token = server
        .registry()
        .create_admin("alice", &[Role::ClientAdmin], "operator")
        .await
        .unwrap()
        .token;
    let response = reqwest::get(format!("{}/admin/openapi.json", server.url()))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let document: Value = response.json().await.unwrap();
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        document["openapi"]
    );
    assert_eq!(
        document["components"]["securitySchemes"]["administrator"]["scheme"],
        "bearer"
    );

    let mut documented = Vec::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if ["get", "post", "patch", "delete", "put"].contains(&method.as_str()) {
                documented.push(format!("{} {path}", method.to_uppercase()));
            }
        }
    }
    documented.sort();
    assert_eq!(
        documented,
        [
            "DELETE /admin/clients/{id}",
            "GET /admin/audit",
            "GET /admin/clients",
            "GET /admin/clients/{id}",
            "PATCH /admin/clients/{id}",
            "POST /admin/clients",
            "POST /admin/clients/{id}/disable",
            "POST /admin/clients/{id}/enable",
            "POST /admin/clients/{id}/rotate-secret",
        ]
    );
    // Every documented operation is served: an unknown id gives 404 "no client", never the
    // router's "no such route" or 405.
    let http = reqwest::Client::new();
    for operation in &documented {
        let (method, path) = operation.split_once(' ').unwrap();
        let url = format!("{}{}", server.url(), path.replace("{id}", "nobody"));
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut request = http.request(method, url).bearer_auth(&token);
        if operation.starts_with("PATCH") {
            request = request.json(&json!({ "name": "x" }));
        }
        if operation == "POST /admin/clients" {
            request = request.json(&json!({ "name": "x", "audiences": [AUDIENCE] }));
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert!(
            !body["error"]
                .as_str()
                .unwrap_or("")
                .contains("no such admin API route")
                && status != 405,
            "{operation}: {status} {body}"
        );
        assert!(
            [200, 201, 404].contains(&status),
            "{operation}: {status} {body}"
        );
    }
    // The request bodies are described field by field.
    let schemas = &document["components"]["schemas"];
    let required = &schemas["CreateClient"]["required"];
    assert_eq!(
        required,
        &json!(["name", "audiences"]),
        "{}",
        schemas["CreateClient"]
    );
    assert!(schemas["UpdateClient"]["properties"]["lifetime_seconds"].is_object());
    assert!(schemas["ClientRecord"]["properties"]["secrets"].is_object());
}
