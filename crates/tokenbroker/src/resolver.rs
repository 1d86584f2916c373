//! Name resolution for the library's HTTP clients: the system resolver (`getaddrinfo`, as
//! reqwest's default), with a failure that says it was DNS. Without it a name that does not
//! resolve reads "connection failed", like a refused port, and sends people to the firewall.

use std::net::SocketAddr;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Resolves with the system resolver; a failure is an [`UnresolvedHost`] in the error chain.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // The port is a placeholder: the connector sets the URL's own.
            let found = tokio::net::lookup_host((host.as_str(), 0))
                .await
                .map(|addrs| addrs.collect::<Vec<SocketAddr>>());
            match found {
                Ok(addrs) => Ok(Box::new(addrs.into_iter()) as Addrs),
                Err(source) => Err(Box::new(UnresolvedHost { host, source }) as _),
            }
        })
    }
}

/// A host name the system resolver could not turn into an address.
#[derive(Debug, thiserror::Error)]
#[error("the host name {host} does not resolve (DNS): {source}")]
pub(crate) struct UnresolvedHost {
    /// The name.
    pub(crate) host: String,
    /// What the resolver said.
    #[source]
    source: std::io::Error,
}

/// The [`UnresolvedHost`] somewhere in `error`'s chain of causes.
pub(crate) fn unresolved_host<'a>(
    error: &'a (dyn std::error::Error + 'static),
) -> Option<&'a UnresolvedHost> {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if let Some(found) = current.downcast_ref::<UnresolvedHost>() {
            return Some(found);
        }
        cause = current.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A label longer than DNS allows (63 bytes) fails in the resolver library itself, before
    /// any query leaves the machine; the URL parser accepts it. (Over HTTPS the TLS layer
    /// refuses the name first, so the test uses plain HTTP.)
    const UNRESOLVABLE_HOST: &str = concat!(
        "a-label-longer-than-sixty-three-bytes-never-leaves-this-machine-as-a-query",
        ".invalid"
    );

    #[tokio::test]
    async fn a_name_that_does_not_resolve_says_dns_and_names_the_host() {
        let http = reqwest::Client::builder()
            .dns_resolver(std::sync::Arc::new(SystemResolver))
            .build()
            .unwrap();
        let error = http
            .get(format!("http://{UNRESOLVABLE_HOST}/token"))
            .send()
            .await
            .unwrap_err();
        let found = unresolved_host(&error).expect("an UnresolvedHost in the chain");
        assert_eq!(found.host, UNRESOLVABLE_HOST);
        let message =
            crate::Error::network("https://as/token", error, std::time::Duration::from_secs(1))
                .to_string();
        assert!(message.contains("does not resolve (DNS)"), "{message}");
    }

    #[tokio::test]
    async fn loopback_names_resolve() {
        let addrs: Vec<_> = SystemResolver
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(
            addrs.iter().all(|addr| addr.ip().is_loopback()),
            "{addrs:?}"
        );
        assert!(!addrs.is_empty());
    }
}
