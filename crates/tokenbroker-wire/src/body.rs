//! A body from the other side of the wire, read up to a limit.
//!
//! Every response the client, guard and agent read comes from a server that may be hostile or
//! broken, and every size limit on them is enforced here, once: a declared `Content-Length`
//! above the limit is refused before a byte is read, and a body without one stops at the limit.

use bytes::Bytes;
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};

/// Why [`read_limited`] returned no body.
#[derive(Debug, thiserror::Error)]
pub enum LimitedBodyError<E> {
    /// The body is (or declares itself) larger than the limit.
    #[error("the body is larger than {} KiB", limit / 1024)]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// Reading the body failed.
    #[error("reading the body failed")]
    Read(#[source] E),
}

/// The whole of `body`, or [`LimitedBodyError::TooLarge`] once it passes `limit` bytes.
///
/// The memory held is at most `limit` plus one frame, whatever the peer sends.
pub async fn read_limited<B>(body: B, limit: usize) -> Result<Bytes, LimitedBodyError<B::Error>>
where
    B: Body,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(error) => match error.downcast::<B::Error>() {
            Ok(read) => Err(LimitedBodyError::Read(*read)),
            // Limited's only other error is its own.
            Err(other) => {
                debug_assert!(other.is::<LengthLimitError>());
                Err(LimitedBodyError::TooLarge { limit })
            }
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::{Full, StreamBody};

    #[tokio::test]
    async fn a_body_at_the_limit_is_read_and_one_byte_more_is_refused() {
        let at = read_limited(Full::new(Bytes::from(vec![7u8; 1024])), 1024).await;
        assert_eq!(at.unwrap().len(), 1024);
        let over = read_limited(Full::new(Bytes::from(vec![7u8; 1025])), 1024).await;
        assert!(matches!(
            over,
            Err(LimitedBodyError::TooLarge { limit: 1024 })
        ));
    }

    #[tokio::test]
    async fn a_stream_without_a_length_stops_at_the_limit() {
        let frames = (0..100).map(|_| {
            Ok::<_, std::io::Error>(http_body::Frame::data(Bytes::from_static(&[1u8; 100])))
        });
        let read = read_limited(StreamBody::new(futures::stream::iter(frames)), 1000).await;
        assert!(matches!(
            read,
            Err(LimitedBodyError::TooLarge { limit: 1000 })
        ));
    }

    #[tokio::test]
    async fn read_errors_keep_their_cause() {
        let frames = [Err::<http_body::Frame<Bytes>, _>(std::io::Error::other(
            "reset",
        ))];
        let read = read_limited(StreamBody::new(futures::stream::iter(frames)), 1000).await;
        match read {
            Err(LimitedBodyError::Read(cause)) => assert_eq!(cause.to_string(), "reset"),
            other => panic!("expected a read error, got {other:?}"),
        }
    }
}
