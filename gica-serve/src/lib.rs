//! Plumbing shared by the gica servers, written once: an accept loop with connection and time
//! limits, bounded body reading, graceful shutdown, Prometheus text rendering and logging setup.
//! [`tsa_client`] is the other direction: the RFC 3161 client the workflow servers stamp with.
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used)]

pub mod config;
pub mod keys;
pub mod tsa_client;

use std::{convert::Infallible, future::Future, net::SocketAddr, sync::Arc, time::Duration};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::server::conn::http1;
use hyper::{
    Request, Response, StatusCode,
    body::Incoming,
    header::{self, HeaderValue},
    service::service_fn,
};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::{net::TcpListener, sync::Semaphore};

/// A response with a complete body.
pub type HttpResponse = Response<Full<Bytes>>;

/// Bounds on what one client may cost the server.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Largest request body accepted; larger ones get 413 without being read.
    pub max_body: usize,
    /// Time allowed for a client to send the request headers. It is also the idle time-out
    /// of a keep-alive connection: hyper starts the header timer as soon as a connection is
    /// idle, so one that sends nothing for this long after a response is closed.
    pub header_timeout: Duration,
    /// Time allowed for a client to send the whole body once headers are in.
    pub body_timeout: Duration,
    /// Most connections open at once; further clients wait in the kernel's backlog.
    pub max_connections: usize,
    /// How long shutdown waits for requests in flight before closing connections.
    pub shutdown_grace: Duration,
    /// Age after which a keep-alive connection is retired: the next response carries
    /// `Connection: close` and the connection ends after it; one that stays idle instead is
    /// closed by the idle time-out ([`header_timeout`](Self::header_timeout)), never at the
    /// age itself, when its client may already be sending the next request.
    pub max_connection_age: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_body: 16 * 1024,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(10),
            max_connections: 4096,
            shutdown_grace: Duration::from_secs(30),
            max_connection_age: Duration::from_secs(300),
        }
    }
}

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// Larger than [`Limits::max_body`].
    #[error("request body larger than {0} bytes")]
    TooLarge(usize),
    /// Not complete within [`Limits::body_timeout`].
    #[error("request body not received in time")]
    Timeout,
    /// The connection failed while reading.
    #[error("reading request body: {0}")]
    Io(String),
}

impl BodyError {
    /// The HTTP status this error is answered with.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::Timeout => StatusCode::REQUEST_TIMEOUT,
            Self::Io(_) => StatusCode::BAD_REQUEST,
        }
    }
}

/// Reads a request body within `limits`: a declared Content-Length over the cap is refused
/// before any byte is read, and a body that grows past it is cut off.
pub async fn read_body(req: Request<Incoming>, limits: &Limits) -> Result<Bytes, BodyError> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limits.max_body as u64) {
        return Err(BodyError::TooLarge(limits.max_body));
    }
    let body = Limited::new(req.into_body(), limits.max_body);
    match tokio::time::timeout(limits.body_timeout, body.collect()).await {
        Err(_) => Err(BodyError::Timeout),
        Ok(Err(e))
            if e.downcast_ref::<http_body_util::LengthLimitError>()
                .is_some() =>
        {
            Err(BodyError::TooLarge(limits.max_body))
        }
        Ok(Err(e)) => Err(BodyError::Io(e.to_string())),
        Ok(Ok(collected)) => Ok(collected.to_bytes()),
    }
}

/// A response with `status`, a content type and a body.
pub fn respond(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> HttpResponse {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r
}

/// A plain-text response.
pub fn text(status: StatusCode, body: impl Into<String>) -> HttpResponse {
    let mut s = body.into();
    if !s.ends_with('\n') {
        s.push('\n');
    }
    respond(status, "text/plain; charset=utf-8", s)
}

/// 405 with the Allow header.
pub fn method_not_allowed(allow: &'static str) -> HttpResponse {
    let mut r = text(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("method not allowed; use {allow}"),
    );
    r.headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    r
}

/// Whether the request's Content-Type is `expected`, ignoring case and media-type parameters
/// (`application/timestamp-query; charset=binary` matches `application/timestamp-query`).
pub fn content_type_is<B>(req: &Request<B>, expected: &str) -> bool {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(expected))
}

/// Prometheus text exposition of `registry`, as a `/metrics` response.
pub fn metrics_response(registry: &prometheus_client::registry::Registry) -> HttpResponse {
    let mut out = String::new();
    match prometheus_client::encoding::text::encode(&mut out, registry) {
        Ok(()) => respond(
            StatusCode::OK,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
            out,
        ),
        Err(e) => text(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("metrics encoding failed: {e}"),
        ),
    }
}

/// Registers `signer_info` in `registry`: a gauge at 1 for each signer, labelled with
/// `labels` (e.g. the issuer it signs for) and the signer's `backend` and `algorithm`
/// ([`keys::algorithm_label`]), so `/metrics` says what signs.
///
/// ```
/// use gica_pki::SoftwareSigner;
/// let mut registry = prometheus_client::registry::Registry::with_prefix("gica_tsa");
/// let key = SoftwareSigner::generate_p256().unwrap();
/// gica_serve::register_signer_info(&mut registry, [(vec![], &key as &dyn gica_pki::Signer)]);
/// let mut text = String::new();
/// prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
/// assert!(text.contains(r#"gica_tsa_signer_info{backend="rustcrypto",algorithm="ecdsa-p256-sha256"} 1"#), "{text}");
/// ```
pub fn register_signer_info<'a>(
    registry: &mut prometheus_client::registry::Registry,
    signers: impl IntoIterator<Item = (Vec<(String, String)>, &'a dyn gica_pki::Signer)>,
) {
    let info = prometheus_client::metrics::family::Family::<
        Vec<(String, String)>,
        prometheus_client::metrics::gauge::Gauge,
    >::default();
    for (mut labels, signer) in signers {
        labels.push(("backend".into(), signer.backend().into()));
        labels.push(("algorithm".into(), keys::algorithm_label(signer)));
        info.get_or_create(&labels).set(1);
    }
    registry.register(
        "signer_info",
        "What signs: the signing backend (--crypto) and the key's algorithm",
        info,
    );
}

/// A future that resolves when the process gets SIGTERM or SIGINT (Ctrl-C).
///
/// The handlers are installed when this is called, not when the future is first polled: call
/// it before announcing the server ("listening on ..."), so that a signal sent right after
/// the announcement drains the server instead of killing the process. Call it inside a Tokio
/// runtime.
pub fn shutdown_signal() -> impl Future<Output = ()> + Send + 'static {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        let term = signal(SignalKind::terminate()).ok();
        let int = signal(SignalKind::interrupt()).ok();
        async fn recv(s: Option<Signal>) {
            match s {
                Some(mut s) => {
                    s.recv().await;
                }
                None => std::future::pending::<()>().await,
            }
        }
        async move {
            tokio::select! {
                () = recv(int) => tracing::info!("SIGINT received, shutting down"),
                () = recv(term) => tracing::info!("SIGTERM received, shutting down"),
            }
        }
    }
    #[cfg(not(unix))]
    async {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
        tracing::info!("Ctrl-C received, shutting down");
    }
}

/// Serves HTTP/1.1 on `listener` with `handler` until `shutdown` resolves, then stops
/// accepting and waits up to [`Limits::shutdown_grace`] for requests in flight to finish.
///
/// Every wait is bounded: a connection that sends nothing, or sits idle between requests, is
/// closed after [`Limits::header_timeout`], and headers must arrive within it. A connection
/// older than [`Limits::max_connection_age`] answers its next request with
/// `Connection: close` and then ends, so a keep-alive client always learns of the close from
/// a response instead of losing a request it was already sending. HTTP/2 is not offered: the PKI
/// protocols' clients speak HTTP/1.1 (RFC 5019 3.2), and h2's many streams per connection
/// would multiply the memory one client can hold.
pub async fn serve<H, F>(
    listener: TcpListener,
    limits: Limits,
    handler: H,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()>
where
    H: Fn(Request<Incoming>, SocketAddr) -> F + Send + Sync + 'static,
    F: Future<Output = HttpResponse> + Send + 'static,
{
    let handler = Arc::new(handler);
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p { Ok(p) => p, Err(_) => break },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(50)) => continue,
                        () = &mut shutdown => break,
                    }
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let h = handler.clone();
        let builder = builder.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            // A client that connects and says nothing is dropped (hyper's header timer only
            // starts with the first byte).
            let mut first = [0u8; 1];
            match tokio::time::timeout(limits.header_timeout, stream.peek(&mut first)).await {
                Ok(Ok(n)) if n > 0 => {}
                _ => return,
            }
            // None: an age past what the clock can hold, i.e. never retired.
            let retire_at = tokio::time::Instant::now().checked_add(limits.max_connection_age);
            let service = service_fn(move |req| {
                let fut = h(req, peer);
                async move {
                    let mut response = fut.await;
                    // Judged when the answer is ready, so a request in flight at the age gets
                    // it too; hyper closes the connection once this response is written.
                    if retire_at.is_some_and(|t| tokio::time::Instant::now() >= t) {
                        response
                            .headers_mut()
                            .insert(header::CONNECTION, HeaderValue::from_static("close"));
                    }
                    Ok::<_, Infallible>(response)
                }
            });
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(conn);
            let mut closing = false;
            loop {
                tokio::select! {
                    r = conn.as_mut() => {
                        if let Err(e) = r {
                            tracing::debug!(%peer, error = %e, "connection ended with an error");
                        }
                        break;
                    }
                    // Draining: an idle connection closes at once, a busy one after its
                    // response. Clients racing this close are expected at shutdown.
                    _ = stop.changed(), if !closing => {
                        closing = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    tokio::select! {
        _ = permits.acquire_many(all) => tracing::info!("all connections drained"),
        () = tokio::time::sleep(limits.shutdown_grace) => tracing::warn!("shutdown grace period over; closing remaining connections"),
    }
    Ok(())
}

/// Sets up tracing: `json` for one JSON object a line, else human-readable; level from
/// `RUST_LOG`, default `info`.
pub fn init_tracing(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

type Job = Box<dyn FnOnce() + Send + 'static>;

/// Runs signing jobs: by default on `threads` long-lived threads fed by a bounded queue, so
/// a slow key (RSA, a remote signer) never stalls accepting and parsing; a job waits at most
/// `wait` for a queue slot, then the caller answers "busy" in its protocol's terms.
///
/// A server whose key signs in well under [`INLINE_BELOW`] (ECDSA P-256 takes about 60 us)
/// can ask for its jobs to run in place instead, on the calling async worker
/// ([`inline_if_fast`](Self::inline_if_fast), decided once from a probe signature at start,
/// so no mix of requests can move it): the load runs (`cargo bench --bench ocsp -- --phases
/// nonce,nonce-inline`) show the hand-off to a signing thread and back costing more CPU than
/// such a signature. In place, at most one job runs per async worker at a time; under
/// overload requests wait in their connections (bounded by the connection limit) instead of
/// being answered "busy".
#[derive(Debug, Clone)]
pub struct SigningPool {
    tx: std::sync::mpsc::SyncSender<Job>,
    slots: Arc<Semaphore>,
    wait: Duration,
    inline: bool,
}

/// Probe signatures faster than this make [`SigningPool::inline_if_fast`] run jobs in place.
pub const INLINE_BELOW: Duration = Duration::from_micros(250);

/// No signing slot became free in time (or the pool is gone).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("all signing slots are busy")]
pub struct Busy;

/// Jobs that may wait in the queue per signing thread.
const QUEUE_PER_THREAD: usize = 256;

/// Runs a job; a panic is logged and becomes `None`.
fn caught<T>(job: impl FnOnce() -> T) -> Option<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(job)) {
        Ok(v) => Some(v),
        Err(_) => {
            tracing::error!("a signing job panicked");
            None
        }
    }
}

impl SigningPool {
    /// A pool of `threads` signing threads (at least one).
    pub fn new(threads: usize, wait: Duration) -> Self {
        let threads = threads.max(1);
        let depth = threads * QUEUE_PER_THREAD;
        let (tx, rx) = std::sync::mpsc::sync_channel::<Job>(depth);
        let rx = Arc::new(std::sync::Mutex::new(rx));
        for n in 0..threads {
            let rx = rx.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("gica-sign-{n}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(p) => p.into_inner().recv(),
                        };
                        match job {
                            // Jobs catch their own panics (`caught`): the thread lives on.
                            Ok(job) => job(),
                            Err(_) => return, // every sender is gone: the pool was dropped
                        }
                    }
                });
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a signing thread");
            }
        }
        Self {
            tx,
            slots: Arc::new(Semaphore::new(depth)),
            wait,
            inline: false,
        }
    }

    /// Times `probe` (one job's signing, with the key the pool will serve: a warm-up, then
    /// the median of five) and makes jobs run in place when it is under [`INLINE_BELOW`].
    #[must_use]
    pub fn inline_if_fast(mut self, mut probe: impl FnMut()) -> Self {
        probe();
        let mut times: Vec<Duration> = (0..5)
            .map(|_| {
                let start = std::time::Instant::now();
                probe();
                start.elapsed()
            })
            .collect();
        times.sort();
        self.inline = times[2] < INLINE_BELOW;
        tracing::info!(
            probe_us = times[2].as_micros() as u64,
            inline = self.inline,
            "signing speed probed"
        );
        self
    }

    /// [`inline_if_fast`](Self::inline_if_fast) for the keys the pool will serve: one job
    /// signs `probe` once with each (the slowest key decides). A signer that
    /// [may block](gica_pki::Signer::may_block) (a hardware token) keeps every job on the
    /// signing threads, however fast it measured.
    #[must_use]
    pub fn inline_if_fast_signers<'a>(
        self,
        signers: impl IntoIterator<Item = &'a dyn gica_pki::Signer> + Clone,
        probe: &[u8],
    ) -> Self {
        if signers.clone().into_iter().any(|s| s.may_block()) {
            tracing::info!("a signing key may block: signing stays on the signing threads");
            return self;
        }
        self.inline_if_fast(|| {
            for signer in signers.clone() {
                let _ = signer.sign(probe);
            }
        })
    }

    /// Whether jobs run in place (see [`inline_if_fast`](Self::inline_if_fast)).
    pub fn runs_inline(&self) -> bool {
        self.inline
    }

    /// Runs `job`: in place when so configured, else on a signing thread. On a signing
    /// thread the queue slot is held by the job itself, so a client that hangs up does not
    /// free it while the job still waits or runs. A job that panics is reported as [`Busy`].
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, Busy> {
        if self.inline {
            return caught(job).ok_or(Busy);
        }
        let permit = match tokio::time::timeout(self.wait, self.slots.clone().acquire_owned()).await
        {
            Ok(Ok(p)) => p,
            _ => return Err(Busy),
        };
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        let boxed: Job = Box::new(move || {
            let _permit = permit;
            if let Some(v) = caught(job) {
                let _ = done_tx.send(v);
            }
        });
        // The permit guarantees room in the channel, so this never blocks.
        self.tx.send(boxed).map_err(|_| Busy)?;
        done_rx.await.map_err(|_| Busy)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn thread_name() -> String {
        std::thread::current().name().unwrap_or("").to_string()
    }

    #[tokio::test]
    async fn fast_keys_sign_in_place_and_slow_ones_on_signing_threads() {
        let pool = SigningPool::new(1, Duration::from_secs(5));
        assert!(!pool.runs_inline());
        assert_eq!(pool.run(thread_name).await.expect("ran"), "gica-sign-0");
        // A slow probe keeps the threads.
        let slow = pool
            .clone()
            .inline_if_fast(|| std::thread::sleep(Duration::from_millis(1)));
        assert!(!slow.runs_inline());
        assert_eq!(slow.run(thread_name).await.expect("ran"), "gica-sign-0");
        // A fast one runs jobs on the caller, whatever the jobs then take.
        let fast = pool.inline_if_fast(|| {});
        assert!(fast.runs_inline());
        let here = thread_name();
        assert_eq!(fast.run(thread_name).await.expect("ran"), here);
        fast.run(|| std::thread::sleep(Duration::from_millis(2)))
            .await
            .expect("ran");
        assert!(fast.runs_inline());
        // A signer that may block stays on the threads, however fast it signs.
        #[derive(Debug)]
        struct Token(gica_pki::SoftwareSigner);
        impl gica_pki::Signer for Token {
            fn signature_algorithm(&self) -> &gica_pki::spki::AlgorithmIdentifierOwned {
                self.0.signature_algorithm()
            }
            fn digest_algorithm(&self) -> gica_pki::DigestAlgorithm {
                self.0.digest_algorithm()
            }
            fn public_key(&self) -> &gica_pki::spki::SubjectPublicKeyInfoOwned {
                self.0.public_key()
            }
            fn sign(&self, message: &[u8]) -> gica_pki::Result<Vec<u8>> {
                self.0.sign(message)
            }
            fn may_block(&self) -> bool {
                true
            }
        }
        let token = Token(gica_pki::SoftwareSigner::generate_p256().expect("key"));
        let kept = SigningPool::new(1, Duration::from_secs(5))
            .inline_if_fast_signers([&token as &dyn gica_pki::Signer], b"probe");
        assert!(!kept.runs_inline());
        // A panicking job is Busy, in place and on a thread; the thread survives it.
        assert!(fast.run(|| panic!("boom")).await.is_err());
        assert!(slow.run(|| panic!("boom")).await.is_err());
        assert_eq!(slow.run(thread_name).await.expect("ran"), "gica-sign-0");
    }
}
