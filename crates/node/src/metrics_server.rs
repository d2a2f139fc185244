//! The metrics endpoint: `GET /metrics` (Prometheus text format) and
//! `GET /health` on their own port, as operators scrape them.

use std::{net::SocketAddr, sync::Arc};

use http_body_util::Full;
use hyper::{Request, Response, body::Incoming, server::conn::http1, service::service_fn};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tracing::debug;

use crate::{metrics::NodeMetrics, node::SyncState};

type Body = Full<hyper::body::Bytes>;

fn respond(status: u16, content_type: &str, body: String) -> Response<Body> {
    let mut r = Response::new(Full::new(hyper::body::Bytes::from(body)));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    if let Ok(v) = hyper::header::HeaderValue::from_str(content_type) {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

fn route(
    req: &Request<Incoming>,
    metrics: &NodeMetrics,
    sync: &Mutex<SyncState>,
) -> Response<Body> {
    match (req.method().as_str(), req.uri().path()) {
        ("GET", "/metrics") => respond(
            200,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            metrics.render(),
        ),
        ("GET", "/health") if sync.lock().synced => respond(200, "text/plain", "ok\n".into()),
        ("GET", "/health") => respond(503, "text/plain", "syncing\n".into()),
        _ => respond(
            404,
            "text/plain",
            "not found: try /metrics or /health\n".into(),
        ),
    }
}

/// Serves metrics on `addr` until the runtime stops; returns the bound address.
pub(crate) async fn serve(
    addr: SocketAddr,
    metrics: Arc<NodeMetrics>,
    sync: Arc<Mutex<SyncState>>,
) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind(addr).await?;
    let local = listener.local_addr()?;
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let metrics = Arc::clone(&metrics);
            let sync = Arc::clone(&sync);
            tokio::spawn(async move {
                let service = service_fn(move |req| {
                    let r = route(&req, &metrics, &sync);
                    async move { Ok::<_, std::convert::Infallible>(r) }
                });
                if let Err(e) = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    debug!(target: "chunkseq::metrics", error = %e, "metrics connection");
                }
            });
        }
    });
    Ok(local)
}
