//! Per-client limits of the RPC server: connections and request rate per IP
//! address, under a global connection cap that one client can never fill.
//!
//! jsonrpsee caps connections server-wide only, so one client holding them
//! all locks everyone else out. The server here accepts connections itself
//! ([`crate::rpc::serve`]), asks a [`ConnectionTable`] for each, and answers a
//! refused one with `429 Too Many Requests` and a JSON-RPC error body. Each
//! connection's calls pass a [`RateLimited`] middleware sharing its client's
//! token bucket, so a client cannot multiply its rate by opening more
//! connections. The same middleware answers a subscription asked for over
//! plain HTTP with a clear error ([`PlainHttp`] marks those calls).

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use jsonrpsee::{
    MethodResponse,
    core::middleware::{Batch, Notification, RpcServiceT},
    types::{ErrorObject, Id, Request},
};
use parking_lot::Mutex;
use tokio::io::AsyncWriteExt;

/// JSON-RPC error code of a call refused for the client's rate, and of a
/// connection refused for the client's (or the server's) connection count:
/// retry later.
pub const LIMITED: i32 = -32005;

/// JSON-RPC error code of a subscription asked for over plain HTTP.
pub const NEEDS_WEBSOCKET: i32 = -32004;

/// The methods that open or close a subscription.
const SUBSCRIPTION_METHODS: [&str; 2] = ["chunkseq_subscribe", "chunkseq_unsubscribe"];

/// Marks calls that came over plain HTTP, not a websocket (an extension
/// of the HTTP request, which jsonrpsee hands on to each call).
#[derive(Clone, Copy, Debug)]
pub struct PlainHttp;

/// HTTP middleware marking requests that are no websocket upgrade.
#[derive(Clone, Copy, Debug, Default)]
pub struct MarkPlainHttpLayer;

impl<S> tower::Layer<S> for MarkPlainHttpLayer {
    type Service = MarkPlainHttp<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MarkPlainHttp(inner)
    }
}

/// See [`MarkPlainHttpLayer`].
#[derive(Clone, Debug)]
pub struct MarkPlainHttp<S>(S);

impl<S, B> tower::Service<hyper::Request<B>> for MarkPlainHttp<S>
where
    S: tower::Service<hyper::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, mut request: hyper::Request<B>) -> Self::Future {
        let websocket = request
            .headers()
            .get(hyper::header::UPGRADE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"websocket"));
        if !websocket {
            request.extensions_mut().insert(PlainHttp);
        }
        self.0.call(request)
    }
}

/// How much of the RPC server one client (one IP address) may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RpcLimits {
    /// Open connections (HTTP keep-alive or websocket) of the whole server.
    pub max_connections: usize,
    /// Open connections of one client. Kept well below `max_connections`,
    /// so one client always leaves room for others.
    pub max_connections_per_client: usize,
    /// Calls per second of one client over all its connections (a batch
    /// counts each of its calls); bursts of up to one second's worth pass.
    pub requests_per_second: u32,
    /// Subscriptions one websocket connection may hold.
    pub max_subscriptions_per_connection: u32,
}

impl Default for RpcLimits {
    fn default() -> Self {
        Self {
            max_connections: 1_000,
            max_connections_per_client: 64,
            requests_per_second: 2_000,
            max_subscriptions_per_connection: 64,
        }
    }
}

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// This client holds its share already.
    #[error("too many connections from {ip}: at most {max} per client; close some and retry")]
    Client {
        /// The client.
        ip: IpAddr,
        /// Its share.
        max: usize,
    },
    /// The server is full.
    #[error("the server holds its maximum of {max} connections; retry later")]
    Server {
        /// The server's cap.
        max: usize,
    },
}

/// Open connections per client and in all.
#[derive(Debug)]
pub struct ConnectionTable {
    limits: RpcLimits,
    open: Mutex<(HashMap<IpAddr, usize>, usize)>,
}

/// One open connection; closing it (dropping this) frees its place.
#[derive(Debug)]
pub struct ConnectionGuard {
    table: Arc<ConnectionTable>,
    ip: IpAddr,
}

impl ConnectionTable {
    /// An empty table under `limits`.
    pub fn new(limits: RpcLimits) -> Arc<Self> {
        Arc::new(Self {
            limits,
            open: Mutex::new((HashMap::new(), 0)),
        })
    }

    /// Takes a place for a connection from `ip`, or says why not.
    pub fn try_open(self: &Arc<Self>, ip: IpAddr) -> Result<ConnectionGuard, Refusal> {
        let mut open = self.open.lock();
        let (per_client, total) = &mut *open;
        if *total >= self.limits.max_connections {
            return Err(Refusal::Server {
                max: self.limits.max_connections,
            });
        }
        let mine = per_client.entry(ip).or_insert(0);
        if *mine >= self.limits.max_connections_per_client {
            return Err(Refusal::Client {
                ip,
                max: self.limits.max_connections_per_client,
            });
        }
        *mine = mine.saturating_add(1);
        *total = total.saturating_add(1);
        Ok(ConnectionGuard {
            table: Arc::clone(self),
            ip,
        })
    }

    /// Open connections of `ip`.
    pub fn open_by(&self, ip: IpAddr) -> usize {
        self.open.lock().0.get(&ip).copied().unwrap_or(0)
    }
}

impl Drop for ConnectionGuard {
    fn drop(&mut self) {
        let mut open = self.table.open.lock();
        let (per_client, total) = &mut *open;
        *total = total.saturating_sub(1);
        if let Some(n) = per_client.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                per_client.remove(&self.ip);
            }
        }
    }
}

/// Answers a refused connection: `429 Too Many Requests` with a JSON-RPC
/// error body, then closes it.
pub async fn refuse(mut socket: tokio::net::TcpStream, why: Refusal) {
    let body = serde_json::json!({
        "jsonrpc": "2.0",
        "error": { "code": LIMITED, "message": why.to_string() },
        "id": null,
    })
    .to_string();
    let response = format!(
        "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        let _ = socket.write_all(response.as_bytes()).await;
        let _ = socket.shutdown().await;
    })
    .await;
}

/// A token bucket: `rate` tokens a second, holding at most `rate`.
#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Every client's bucket.
#[derive(Debug)]
pub struct RequestBuckets {
    rate: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

impl RequestBuckets {
    /// Buckets of `rate` calls a second.
    pub fn new(rate: u32) -> Arc<Self> {
        Arc::new(Self {
            rate,
            buckets: Mutex::new(HashMap::new()),
        })
    }

    /// Takes `n` calls from `ip`'s bucket; false when it holds fewer.
    pub fn take(&self, ip: IpAddr, n: usize) -> bool {
        let rate = f64::from(self.rate.max(1));
        let now = Instant::now();
        let mut buckets = self.buckets.lock();
        // Forget idle clients now and then (a full bucket is the default).
        if buckets.len() > 4_096 {
            buckets.retain(|_, b| now.duration_since(b.at) < Duration::from_secs(2));
        }
        let b = buckets.entry(ip).or_insert(Bucket {
            tokens: rate,
            at: now,
        });
        let refill = now.duration_since(b.at).as_secs_f64() * rate;
        b.tokens = (b.tokens + refill).min(rate);
        b.at = now;
        let n = n as f64;
        if b.tokens >= n {
            b.tokens -= n;
            true
        } else {
            false
        }
    }
}

/// RPC middleware of one connection: refuses calls beyond its client's rate.
#[derive(Clone, Debug)]
pub struct RateLimited<S> {
    service: S,
    ip: IpAddr,
    buckets: Arc<RequestBuckets>,
}

impl<S> RateLimited<S> {
    /// Wraps `service` for a connection from `ip`.
    pub const fn new(service: S, ip: IpAddr, buckets: Arc<RequestBuckets>) -> Self {
        Self {
            service,
            ip,
            buckets,
        }
    }

    fn refusal(&self) -> ErrorObject<'static> {
        ErrorObject::owned(
            LIMITED,
            format!(
                "too many requests from {}: at most {} a second per client; retry later",
                self.ip, self.buckets.rate
            ),
            None::<()>,
        )
    }
}

impl<S> RpcServiceT for RateLimited<S>
where
    S: RpcServiceT<
            MethodResponse = MethodResponse,
            BatchResponse = MethodResponse,
            NotificationResponse = MethodResponse,
        > + Send
        + Sync
        + Clone
        + 'static,
{
    type MethodResponse = MethodResponse;
    type NotificationResponse = MethodResponse;
    type BatchResponse = MethodResponse;

    fn call<'a>(&self, request: Request<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let allowed = self.buckets.take(self.ip, 1);
        let over_http = request.extensions().get::<PlainHttp>().is_some()
            && SUBSCRIPTION_METHODS.contains(&request.method_name());
        let refusal = if over_http {
            Some(ErrorObject::owned(
                NEEDS_WEBSOCKET,
                format!(
                    "{} needs a websocket connection (ws:// on this same port); over HTTP, poll chunkseq_getTransactionStatus or chunkseq_getBlock instead",
                    request.method_name()
                ),
                None::<()>,
            ))
        } else {
            (!allowed).then(|| self.refusal())
        };
        let service = self.service.clone();
        async move {
            match refusal {
                Some(e) => MethodResponse::error(request.id, e),
                None => service.call(request).await,
            }
        }
    }

    fn batch<'a>(&self, batch: Batch<'a>) -> impl Future<Output = MethodResponse> + Send + 'a {
        let allowed = self.buckets.take(self.ip, batch.len().max(1));
        let refusal = (!allowed).then(|| self.refusal());
        let service = self.service.clone();
        async move {
            match refusal {
                Some(e) => MethodResponse::error(Id::Null, e),
                None => service.batch(batch).await,
            }
        }
    }

    fn notification<'a>(
        &self,
        n: Notification<'a>,
    ) -> impl Future<Output = MethodResponse> + Send + 'a {
        self.service.notification(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_client_never_fills_the_server() {
        let table = ConnectionTable::new(RpcLimits {
            max_connections: 3,
            max_connections_per_client: 2,
            ..RpcLimits::default()
        });
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        let first = table.try_open(a).unwrap();
        let _second = table.try_open(a).unwrap();
        assert_eq!(
            table.try_open(a).unwrap_err(),
            Refusal::Client { ip: a, max: 2 }
        );
        let _other = table.try_open(b).unwrap();
        assert_eq!(
            table.try_open(b).unwrap_err(),
            Refusal::Server { max: 3 },
            "the server's cap holds too"
        );
        drop(first);
        assert_eq!(table.open_by(a), 1);
        assert!(
            table.try_open(b).is_ok(),
            "a closed connection frees its place"
        );
    }

    #[test]
    fn a_client_gets_its_rate_and_no_more() {
        let buckets = RequestBuckets::new(10);
        let (a, b): (IpAddr, IpAddr) = ([10, 0, 0, 1].into(), [10, 0, 0, 2].into());
        assert!(buckets.take(a, 10), "a second's worth at once");
        assert!(!buckets.take(a, 1), "then nothing");
        assert!(buckets.take(b, 5), "another client has its own");
        assert!(!buckets.take(b, 6), "a batch counts each call");
    }
}
