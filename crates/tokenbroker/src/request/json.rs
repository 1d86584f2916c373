//! The JSON token request (Entur/Auth0, seed 002):
//! `POST application/json {"client_id", "client_secret", "audience", "grant_type": "client_credentials"}`.

use serde_json::{Map, Value};

use crate::config::ClientConfig;

/// Puts the credentials and parameters in a JSON body.
pub(crate) fn apply(
    request: reqwest::RequestBuilder,
    config: &ClientConfig,
) -> reqwest::RequestBuilder {
    request.json(&body(config))
}

fn body(config: &ClientConfig) -> Value {
    let mut body = Map::new();
    body.insert("client_id".into(), config.client_id().into());
    body.insert(
        "client_secret".into(),
        config.client_secret().expose().into(),
    );
    for (name, value) in config.params().pairs() {
        match body.get_mut(name) {
            // Repeated parameters (several RFC 8707 resources) become an array.
            Some(Value::Array(values)) => values.push(value.into()),
            Some(existing) => *existing = Value::Array(vec![existing.take(), value.into()]),
            None => {
                body.insert(name.into(), value.into());
            }
        }
    }
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ClientConfig;
    use crate::request::AuthStyle;

    #[test]
    fn body_matches_the_entur_example() {
        let config = ClientConfig::builder("https://partner.entur.org/oauth/token", "id", "sec")
            .auth_style(AuthStyle::Json)
            .audience("https://api.entur.io")
            .resource("https://a.example")
            .resource("https://b.example")
            .build()
            .unwrap();
        let body = body(&config);
        assert_eq!(body["client_id"], "id");
        assert_eq!(body["client_secret"], "sec");
        assert_eq!(body["audience"], "https://api.entur.io");
        assert_eq!(body["grant_type"], "client_credentials");
        assert_eq!(body["resource"].as_array().unwrap().len(), 2);
    }
}
