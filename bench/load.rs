//! The load generator: a fixed number of HTTP/1.1 keep-alive connections (hyper's own client
//! connection, no pool and no TLS, so as little of the shared CPU as possible goes to the
//! client), each a task that sends its next request when the last answer has arrived.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::SendRequest;
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// One keep-alive connection to the server.
pub struct Conn {
    addr: SocketAddr,
    sender: SendRequest<Full<Bytes>>,
}

impl Conn {
    pub async fn open(addr: SocketAddr) -> Conn {
        Conn {
            addr,
            sender: handshake(addr).await,
        }
    }

    /// Sends one request; the status and the body. A broken connection is reopened once.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&[u8]>,
    ) -> (StatusCode, Bytes) {
        for _ in 0..2 {
            let mut req = Request::builder()
                .method(method.clone())
                .uri(path)
                .header(hyper::header::HOST, "127.0.0.1");
            if let Some(token) = bearer {
                req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
            }
            if body.is_some() {
                req = req.header(hyper::header::CONTENT_TYPE, "application/json");
            }
            let req = req
                .body(Full::new(Bytes::copy_from_slice(body.unwrap_or_default())))
                .expect("a valid request");
            if self.sender.ready().await.is_err() {
                self.sender = handshake(self.addr).await;
                continue;
            }
            match self.sender.send_request(req).await {
                Ok(res) => {
                    let status = res.status();
                    let bytes = res
                        .into_body()
                        .collect()
                        .await
                        .map(|b| b.to_bytes())
                        .unwrap_or_default();
                    return (status, bytes);
                }
                Err(_) => self.sender = handshake(self.addr).await,
            }
        }
        (StatusCode::SERVICE_UNAVAILABLE, Bytes::new())
    }
}

impl Conn {
    /// One request of a scenario: whether it answered `expected`, and the connection back.
    pub async fn expect(
        mut self,
        method: Method,
        path: &str,
        bearer: Option<&str>,
        body: Option<&[u8]>,
        expected: StatusCode,
    ) -> (bool, Conn) {
        let ok = self.send(method, path, bearer, body).await.0 == expected;
        (ok, self)
    }
}

async fn handshake(addr: SocketAddr) -> SendRequest<Full<Bytes>> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .expect("the server accepts connections");
    tcp.set_nodelay(true).ok();
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tcp))
        .await
        .expect("an HTTP/1.1 handshake");
    tokio::spawn(connection);
    sender
}

/// What one scenario measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Measured {
    pub requests: u64,
    pub errors: u64,
    pub seconds: f64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

/// How every scenario is driven: the same connections, warm-up and bounds.
#[derive(Clone, Copy)]
pub struct Load {
    pub connections: usize,
    pub warmup: Duration,
    pub seconds: Duration,
    pub max_requests: u64,
}

impl Load {
    pub async fn run<S, F>(&self, addr: SocketAddr, step: S) -> Measured
    where
        S: Fn(usize, u64, Conn) -> F + Send + Sync + Clone + 'static,
        F: Future<Output = (bool, Conn)> + Send,
    {
        drive(
            addr,
            self.connections,
            self.warmup,
            self.seconds,
            self.max_requests,
            step,
        )
        .await
    }
}

/// Runs `step` on `connections` connections for `duration` (or until `max_requests` answers
/// in all), after `warmup` of the same load that is not counted. `step(worker, i, conn)` sends
/// one request on `conn` and gives it back with whether the answer was the expected one.
async fn drive<S, F>(
    addr: SocketAddr,
    connections: usize,
    warmup: Duration,
    duration: Duration,
    max_requests: u64,
    step: S,
) -> Measured
where
    S: Fn(usize, u64, Conn) -> F + Send + Sync + Clone + 'static,
    F: Future<Output = (bool, Conn)> + Send,
{
    let done = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let measure_from = started + warmup;
    let end = measure_from + duration;
    let mut tasks = Vec::new();
    for worker in 0..connections {
        let (step, done) = (step.clone(), done.clone());
        tasks.push(tokio::spawn(async move {
            let mut conn = Conn::open(addr).await;
            let (mut latencies, mut errors, mut i) = (Vec::with_capacity(1 << 16), 0u64, 0u64);
            loop {
                let t = Instant::now();
                if t >= end || done.load(Ordering::Relaxed) >= max_requests {
                    break;
                }
                let (ok, back) = step(worker, i, conn).await;
                conn = back;
                i += 1;
                if t >= measure_from {
                    latencies.push(t.elapsed());
                    errors += u64::from(!ok);
                    done.fetch_add(1, Ordering::Relaxed);
                }
            }
            (latencies, errors)
        }));
    }
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("a load task");
        all.extend(l);
        errors += e;
    }
    let seconds = Instant::now()
        .min(end)
        .saturating_duration_since(measure_from)
        .as_secs_f64()
        .max(1e-9);
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    Measured {
        requests: all.len() as u64,
        errors,
        seconds,
        per_second: all.len() as f64 / seconds,
        p50_ms: pct(0.50),
        p99_ms: pct(0.99),
    }
}
