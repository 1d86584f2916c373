//! Lets the `oauth2` crate (the third-party peer in interop tests and benchmarks) send its
//! requests through this workspace's reqwest version.

/// An `oauth2` async HTTP client backed by `http`.
pub(crate) fn oauth2_http(
    http: reqwest::Client,
) -> impl Fn(
    oauth2::HttpRequest,
) -> std::pin::Pin<
    Box<dyn std::future::Future<Output = Result<oauth2::HttpResponse, reqwest::Error>> + Send>,
> {
    move |request: oauth2::HttpRequest| {
        let http = http.clone();
        Box::pin(async move {
            let response = http.execute(request.try_into()?).await?;
            let mut converted = http::Response::builder().status(response.status());
            for (name, value) in response.headers() {
                converted = converted.header(name, value);
            }
            let body = response.bytes().await?.to_vec();
            Ok(converted.body(body).expect("a valid response"))
        })
    }
}
