//! Request bodies: buffered when small enough to send twice, streamed otherwise.
//!
//! A 401 from the upstream is retried once with a new token, which needs the body again. Bodies
//! up to `max_replay_body_bytes` are read into memory first; a bigger one (by `Content-Length`,
//! or found out while reading a chunked one) is streamed through as it arrives and its 401 is
//! passed to the caller unretried.

use axum::body::Body;
use bytes::{Bytes, BytesMut};
use futures::StreamExt;

/// What the upstream request will carry.
pub(crate) enum OutgoingBody {
    /// The whole body, replayable.
    Buffered(Bytes),
    /// The body as it arrives; can be sent once.
    Streamed(Body),
}

/// Why a body could not be prepared.
#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// Reading it failed.
    #[error("could not read the request body: {0}")]
    Read(#[from] axum::Error),
    /// The caller did not send the buffered part in time (a slow-body attack, or a stuck
    /// client): it would hold memory and a connection for as long as it liked.
    #[error("the request body did not arrive within {} s", .0.as_secs_f32())]
    TooSlow(std::time::Duration),
}

/// Reads up to `limit` bytes of `body` within `patience`; streams it when it is (or turns out)
/// larger (a streamed body is bounded by the upstream's own timeouts).
pub(crate) async fn prepare(
    body: Body,
    content_length: Option<u64>,
    limit: usize,
    patience: std::time::Duration,
) -> Result<OutgoingBody, BodyError> {
    tokio::time::timeout(patience, read(body, content_length, limit))
        .await
        .map_err(|_| BodyError::TooSlow(patience))?
        .map_err(BodyError::Read)
}

async fn read(
    body: Body,
    content_length: Option<u64>,
    limit: usize,
) -> Result<OutgoingBody, axum::Error> {
    if content_length.is_some_and(|length| length > limit as u64) {
        return Ok(OutgoingBody::Streamed(body));
    }
    if http_body::Body::is_end_stream(&body) {
        // Most proxied requests (GETs) have no body: nothing to read.
        return Ok(OutgoingBody::Buffered(Bytes::new()));
    }
    let mut stream = body.into_data_stream();
    let mut buffered = BytesMut::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if buffered.len() + chunk.len() > limit {
            let head = futures::stream::iter([Ok(buffered.freeze()), Ok(chunk)]);
            return Ok(OutgoingBody::Streamed(Body::from_stream(
                head.chain(stream),
            )));
        }
        buffered.extend_from_slice(&chunk);
    }
    Ok(OutgoingBody::Buffered(buffered.freeze()))
}
