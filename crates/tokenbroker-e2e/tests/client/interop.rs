//! A client nobody here wrote — the `oauth2` crate — gets tokens from our authorization server
//! with client_secret_basic and client_secret_post, and our client library understands them.

use oauth2::basic::BasicClient;
use oauth2::{AuthType, ClientId, ClientSecret, Scope, TokenResponse, TokenUrl};
use tokenbroker_server::{AuthServer, ServerConfig, StaticClient};

const SECRET: &str = "interop+secret/with:specials";

#[tokio::test]
async fn the_oauth2_crate_gets_tokens_with_basic_and_post() {
    let client = StaticClient::new("interop-client", SECRET, "https://api.example")
        .with_scopes("read write");
    let server = AuthServer::start(ServerConfig::in_memory([client]))
        .await
        .unwrap();
    let http = super::common::oauth2_http::oauth2_http(reqwest::Client::new());
    for auth_type in [AuthType::BasicAuth, AuthType::RequestBody] {
        let peer = BasicClient::new(ClientId::new("interop-client".into()))
            .set_client_secret(ClientSecret::new(SECRET.into()))
            .set_auth_type(auth_type.clone())
            .set_token_uri(TokenUrl::new(format!("{}/oauth2/token", server.url())).unwrap());
        let response = peer
            .exchange_client_credentials()
            .add_scope(Scope::new("read".into()))
            .request_async(&http)
            .await
            .unwrap_or_else(|e| panic!("{auth_type:?}: {e:?}"));
        let claims = tokenbroker::wire::jwt::decode_unverified(response.access_token().secret())
            .unwrap()
            .1;
        assert_eq!(claims["client_id"], "interop-client");
        assert_eq!(claims["scope"], "read");
        assert_eq!(response.expires_in().unwrap().as_secs(), 3600);
    }
    assert_eq!(server.tokens_issued(), 2);
}
