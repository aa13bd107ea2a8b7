//! The accept loop (hyper's HTTP/1 connection builder under an axum router), because a buyer-facing server
//! must bound what a slow or idle client can hold: a request's headers must arrive within the header
//! timeout, a kept-alive connection idle that long is closed (hyper starts the header timer as soon as it
//! waits for the next request), the body within the request timeout (a router layer), and at most
//! `max_connections` connections are served at once (further clients wait in the listen backlog, costing
//! nothing). `axum::serve` sets none of these.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;

use crate::Config;

/// What one listener allows its connections.
#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    pub header_timeout: Duration,
    pub max_connections: usize,
    pub max_header_bytes: usize,
}

impl ConnLimits {
    pub fn of(c: &Config) -> ConnLimits {
        ConnLimits {
            header_timeout: c.header_timeout,
            max_connections: c.max_connections,
            max_header_bytes: c.max_header_bytes,
        }
    }
}

/// Serves `app` on `listener` until `shutdown` resolves; then stops accepting, closes idle connections and
/// waits for the requests in flight.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // hyper's read buffer bounds the head it accepts (8 KiB at least); the router's check answers 431.
        .max_buf_size((limits.max_header_bytes * 2).max(8192) + 16 * 1024);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => p.expect("the semaphore is never closed"),
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment rather than spin.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let svc = tower::service_fn(move |mut req: Request<Incoming>| {
            req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
            app.clone().oneshot(req)
        });
        let conn = builder.serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
            drop(permit);
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
