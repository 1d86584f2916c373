//! Watching a raw connection (TCP or Unix socket) from the client's side: how long until the server closes it.

use std::time::{Duration, Instant};

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Reads from `stream` until the server closes it, writing one header byte every 100 ms
/// meanwhile when `trickle` (a slowloris); how long the server took to close it, or `None` if it
/// kept the connection open for `patience`.
pub async fn closed_within<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    trickle: bool,
    patience: Duration,
) -> Option<Duration> {
    let started = Instant::now();
    let mut buffer = [0u8; 1024];
    let closed = async {
        loop {
            tokio::select! {
                read = stream.read(&mut buffer) => match read {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                },
                _ = tokio::time::sleep(Duration::from_millis(100)), if trickle => {
                    if stream.write_all(b"X").await.is_err() {
                        return;
                    }
                }
            }
        }
    };
    tokio::time::timeout(patience, closed)
        .await
        .ok()
        .map(|()| started.elapsed())
}
