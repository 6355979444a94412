//! Load run of the real OCSP responder, in-process, over loopback HTTP/1.1 keep-alive; all
//! measurements in one run of `cargo bench --bench ocsp`.
//!
//! 1. Microbenchmarks on one thread: raw ECDSA P-256 signing with the fixture intermediate CA
//!    key (testdata/pki/int-ca.key, the per-core ceiling), `Responder::sign` of one-CertID
//!    responses (without and with a nonce), the OCSP work of one cached GET outside HTTP
//!    (decode the path, parse the request, match the issuer, DER of the CertID), and one
//!    SQLite status lookup through the store.
//! 2. Starts `gica_ocsp_server::Service` (SQLite store in a temporary directory with tsa-p256
//!    recorded good, issuer int-ca signing its own responses, default settings) on
//!    127.0.0.1:0 on its own multi-thread tokio runtime, and a baseline next to it:
//!    `gica_serve::serve` with a handler that returns the same response bytes with
//!    Content-Type application/ocsp-response and does nothing else.
//! 3. Drives each from a one-thread tokio runtime with C keep-alive connections and a minimal
//!    hand-written HTTP/1.1 client (`load::drive`, shared with `benches/tsa_load.rs`), D
//!    seconds each after a warm-up, one phase after the other:
//!    - `get`: `GET /ocsp/{url-encoded base64 of a nonce-less request}` (the cached path);
//!    - `baseline`: the same GET against the static server;
//!    - `nonce`: `POST /ocsp` with a fresh nonce in every request (the signed-per-request
//!      path). The request is built once; each connection writes its number and a counter
//!      into the first 12 of the 32 nonce octets before every send, so no two requests of a
//!      run carry the same nonce and the client spends nothing on building them;
//!    - `mixed` (opt-in; the soak's default): both at once against the product, even-numbered
//!      connections sending the cached GET and odd-numbered ones the nonce POST.
//!
//!    The first response of every connection is verified in full (`OcspVerifier`: signature,
//!    status good, nonce echoed); every later one must be HTTP 200 with a successful
//!    OCSPResponse (and, for `nonce`, contain its own nonce; for `baseline`, the same length).
//! 4. Prints the rates, cached-GET / baseline (goal >= 80 %), nonce responses/s against raw
//!    signatures/s x cores (goal >= 85 %), p50/p99/max latency, errors, and where the CPU went
//!    (per thread kind, from /proc on Linux; signing is the product's `gica-sign-N` threads
//!    or the experiments' `srv-block-*`).
//!
//! The options common to the load benches, the fixtures, the raw signing rate, the server
//! runtime, the client and the CPU accounting are in `benches/load/mod.rs`, shared with
//! `benches/tsa_load.rs`; this file has the OCSP's own: the phases, their requests and
//! checks, the microbenchmarks, the experiments and the report.
//!
//! ```text
//! cargo bench --bench ocsp                          # 64 connections, 10 s a phase
//! cargo bench --bench ocsp -- --quick               # 2 s a phase
//! cargo bench --bench ocsp -- --secs 5 --conns 16 --phases get,baseline
//! cargo bench --bench ocsp -- --phases all          # and the experiments below
//! cargo bench --bench ocsp -- --soak 150            # 150 s of `mixed`, connections retired every 20 s
//! cargo bench --bench ocsp --features aws-lc -- --crypto aws-lc --phases nonce   # aws-lc-rs signs
//! ```
//!
//! A soak (`--soak SECS`, `--max-connection-age SECS`, see `benches/load/mod.rs`) runs the
//! `mixed` phase unless `--phases` says otherwise, with the connection age given to the servers
//! through their `max-connection-age` setting, and fails (exit status 1) unless every request
//! of every phase was answered: none lost as connections are retired.
//!
//! Environment: GICA_LOAD_SECS, GICA_LOAD_CONNS, GICA_LOAD_SIGNING_THREADS,
//! GICA_LOAD_SERVER_WORKERS (both default to the core count), GICA_LOAD_PHASES (a
//! comma-separated list of get, baseline, nonce, mixed, get-lean, nonce-pool, nonce-queue,
//! nonce-inline, or `default`, `experiments`, `all`), GICA_LOAD_CRYPTO (`rustcrypto`, the default,
//! or `aws-lc` with `--features aws-lc`: the raw rate, `Responder::sign` and the product server;
//! the experiments stay RustCrypto). Command-line flags (`--secs`, `--conns`, `--phases`, `--crypto`,
//! `--quick`) win over the environment; unknown arguments (cargo's `--bench`) are ignored.
//!
//! Experiments (opt-in, see `mod experiment`), to tell where the product's time goes:
//! `get-lean` (GET: path decoding, parsing and a map lookup only), `nonce-pool` (POST signed on
//! a `SigningPool`, status from memory instead of the store), `nonce-queue` (POST signed by
//! dedicated threads fed by a queue, status from memory) and `nonce-inline` (POST signed on the
//! async worker, status from memory).

use std::{
    collections::{BTreeMap, HashMap},
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use base64ct::{Base64, Encoding};
use der::{Decode, Encode};
use gica_ocsp_server::{
    Service,
    config::{ServeArgs, ServeSettings},
    issuer_id,
    server::{RESPONSE_TYPE, decode_get_path},
    store::{AnyStore, RevocationWriter, StatusSource},
};
use gica_pki::{
    DigestAlgorithm,
    ocsp::{
        CertId, OcspRequest, OcspRequestBuilder, OcspVerifier, Responder, ResponderConfig, Status,
        VerifiedStatus, nonce_value, parse_request,
    },
    x509_cert::Certificate,
};
use hyper::StatusCode;
use tokio::{
    io::AsyncWriteExt,
    net::{TcpListener, TcpStream},
};

#[path = "load/mod.rs"]
mod load;

/// The fixture intermediate CA: issuer of tsa-p256, signs its own OCSP responses.
const CA_CERT: &str = "int-ca.pem";
const CA_KEY: &str = "int-ca.key";
/// Goals, in percent.
const GOAL_GET_VS_BASELINE: f64 = 80.0;
const GOAL_NONCE_VS_IDEAL: f64 = 85.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PhaseKind {
    Get,
    Baseline,
    Nonce,
    Mixed,
    GetLean,
    NoncePool,
    NonceQueue,
    NonceInline,
}

impl PhaseKind {
    /// The default run.
    const ALL: [Self; 3] = [Self::Get, Self::Baseline, Self::Nonce];
    /// `--phases all`: the default run and the experiments.
    const WITH_EXPERIMENTS: [Self; 7] = [
        Self::Get,
        Self::Baseline,
        Self::Nonce,
        Self::GetLean,
        Self::NoncePool,
        Self::NonceQueue,
        Self::NonceInline,
    ];

    fn parse_list(s: &str) -> Vec<Self> {
        let mut v: Vec<Self> = Vec::new();
        for p in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match p.to_ascii_lowercase().as_str() {
                "get" | "cached" => v.push(Self::Get),
                "baseline" | "static" => v.push(Self::Baseline),
                "nonce" | "post" | "fresh" => v.push(Self::Nonce),
                "mixed" => v.push(Self::Mixed),
                "get-lean" => v.push(Self::GetLean),
                "nonce-pool" => v.push(Self::NoncePool),
                "nonce-queue" => v.push(Self::NonceQueue),
                "nonce-inline" => v.push(Self::NonceInline),
                "default" => v.extend(Self::ALL),
                "experiments" => {
                    v.extend([
                        Self::GetLean,
                        Self::NoncePool,
                        Self::NonceQueue,
                        Self::NonceInline,
                    ]);
                }
                "all" => v.extend(Self::WITH_EXPERIMENTS),
                other => panic!(
                    "unknown phase {other:?}; use get, baseline, nonce, mixed, get-lean, \
                     nonce-pool, nonce-queue, nonce-inline, default, experiments or all"
                ),
            }
        }
        v.sort();
        v.dedup();
        v
    }

    fn label(self) -> &'static str {
        match self {
            Self::Get => "cached GET /ocsp/{b64}, OcspServer",
            Self::Baseline => "baseline: static body, gica_serve::serve",
            Self::Nonce => "nonce POST /ocsp (signed per request)",
            Self::Mixed => "mixed: cached GET + nonce POST",
            Self::GetLean => "EXPERIMENT get-lean",
            Self::NoncePool => "EXPERIMENT nonce-pool",
            Self::NonceQueue => "EXPERIMENT nonce-queue",
            Self::NonceInline => "EXPERIMENT nonce-inline",
        }
    }

    fn is_experiment(self) -> bool {
        !Self::ALL.contains(&self) && self != Self::Mixed
    }

    fn is_nonce(self) -> bool {
        matches!(
            self,
            Self::Nonce | Self::NoncePool | Self::NonceQueue | Self::NonceInline
        )
    }
}

#[derive(Debug)]
struct Opts {
    load: load::Opts,
    phases: Vec<PhaseKind>,
    crypto: gica_serve::keys::CryptoBackend,
}

impl Opts {
    fn from_env_and_args() -> Self {
        let mut phases = None;
        let mut crypto = gica_serve::keys::CryptoBackend::RustCrypto;
        let load = load::Opts::from_env_and_args(&mut [
            ("GICA_LOAD_PHASES", "--phases", &mut |v| {
                phases = Some(PhaseKind::parse_list(v))
            }),
            ("GICA_LOAD_CRYPTO", "--crypto", &mut |v| {
                crypto =
                    gica_serve::keys::CryptoBackend::from_flag(v).unwrap_or_else(|e| panic!("{e}"));
            }),
        ]);
        let phases = match phases.filter(|p| !p.is_empty()) {
            Some(p) => p,
            None if load.soak => vec![PhaseKind::Mixed],
            None => PhaseKind::ALL.to_vec(),
        };
        Opts {
            load,
            phases,
            crypto,
        }
    }
}

fn magnitude(c: &Certificate) -> Vec<u8> {
    let s = c.tbs_certificate().serial_number().as_bytes();
    s[s.iter().take_while(|b| **b == 0).count()..].to_vec()
}

// ---------------------------------------------------------------------------------------------
// The client's side of the exchange (the client itself is `load::drive`).

/// Cheap check: `SEQUENCE { ENUMERATED 0 (successful), [0] ... }` spanning the whole body.
fn looks_successful(b: &[u8]) -> bool {
    load::der_looks_like(b, 0, &[0x0a, 0x01, 0x00, 0xa0])
}

/// What a phase sends and how its answers are checked.
#[derive(Clone)]
struct Phase {
    /// The whole HTTP request.
    request: Arc<[u8]>,
    /// Offset in `request` of the 32 nonce octets (nonce phase only).
    nonce_at: Option<usize>,
    /// Offset in `request` of the DER OCSPRequest body (POST only).
    body_at: Option<usize>,
    check: Check,
}

#[derive(Clone)]
enum Check {
    /// The static server: HTTP 200 and exactly this body length.
    Len(usize),
    /// A successful OCSPResponse; the first of each connection verified in full against
    /// `request` (or, if `None`, the OCSPRequest in the body just sent).
    Ocsp {
        verifier: Arc<OcspVerifier>,
        request: Option<Arc<OcspRequest>>,
    },
}

/// Full verification: signature, status good, nonce echoed, fresh.
fn verify_full(verifier: &OcspVerifier, body: &[u8], request: &OcspRequest) -> Result<(), String> {
    let v = verifier
        .verify(body, request, SystemTime::now())
        .map_err(|e| e.to_string())?;
    match v.first().map(|r| &r.status) {
        Some(VerifiedStatus::Good) => Ok(()),
        other => Err(format!("status {other:?}, expected good")),
    }
}

/// One connection of a phase.
struct Exchange {
    /// The connection's number, in its nonces.
    id: u32,
    /// Requests sent, in the nonces.
    counter: u64,
    /// The request as last sent.
    request: Vec<u8>,
    phase: Phase,
}

impl Exchange {
    fn new(id: u32, phase: Phase) -> Self {
        Self {
            id,
            counter: 0,
            request: phase.request.to_vec(),
            phase,
        }
    }

    /// The nonce octets of the request last sent, where the connection wrote them.
    fn nonce(&self) -> Option<&[u8]> {
        self.phase.nonce_at.map(|at| &self.request[at..at + 12])
    }

    fn check_body(&self, first: bool, body: &[u8]) -> Result<load::Checked, String> {
        match &self.phase.check {
            Check::Len(n) if body.len() == *n => Ok(load::Checked::Cheaply),
            Check::Len(_) => Err("wrong body length".to_string()),
            Check::Ocsp {
                verifier,
                request: fixed,
            } => {
                if first {
                    let parsed;
                    let req = match (fixed, self.phase.body_at) {
                        (Some(r), _) => Some(&**r),
                        (None, Some(at)) => {
                            parsed = OcspRequest::from_der(&self.request[at..]).ok();
                            parsed.as_ref()
                        }
                        (None, None) => None,
                    };
                    match req {
                        Some(r) => verify_full(verifier, body, r).map(|()| load::Checked::Fully),
                        None => Err("no request to verify against".into()),
                    }
                } else if !looks_successful(body) {
                    Err("HTTP 200 but not a successful OCSPResponse".into())
                } else if self.nonce().is_some_and(|n| load::find(body, n).is_none()) {
                    Err("nonce not echoed".into())
                } else {
                    Ok(load::Checked::Cheaply)
                }
            }
        }
    }
}

impl load::Exchange for Exchange {
    fn request(&mut self) -> &[u8] {
        // A nonce nobody sent before in this run: connection number and counter.
        if let Some(at) = self.phase.nonce_at {
            self.request[at..at + 4].copy_from_slice(&self.id.to_be_bytes());
            self.request[at + 4..at + 12].copy_from_slice(&self.counter.to_be_bytes());
            self.counter += 1;
        }
        &self.request
    }

    fn check(&mut self, first: bool, body: &[u8]) -> Result<load::Checked, String> {
        self.check_body(first, body)
            .map_err(|e| format!("bad response: {e}"))
    }
}

/// One phase's outcome.
struct PhaseResult {
    kind: PhaseKind,
    run: load::Run,
}

/// Drives `phases` (connection i sends phase i mod n) at `addr` from one thread with `conns`
/// connections; warm-up, then `secs`.
fn run_phase(
    kind: PhaseKind,
    addr: SocketAddr,
    phases: &[Phase],
    opts: &load::Opts,
    ticks: f64,
) -> PhaseResult {
    eprintln!(
        "{}: http://{addr}, {} connections, {:.1} s after {:.1} s warm-up",
        kind.label(),
        opts.conns,
        opts.secs,
        opts.warmup
    );
    let exchanges = (0..opts.conns)
        .map(|i| {
            let id = u32::try_from(i).expect("connection number");
            Exchange::new(id, phases[i % phases.len()].clone())
        })
        .collect();
    PhaseResult {
        kind,
        run: load::drive(addr, exchanges, opts, ticks),
    }
}

/// One request on a fresh connection, for checking and sizing before the load.
fn probe(addr: SocketAddr, request: &[u8]) -> (u16, Vec<u8>, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("probe runtime");
    rt.block_on(async {
        let mut s = tokio::time::timeout(load::CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .expect("probe connect in time")
            .expect("probe connect");
        let mut buf = Vec::new();
        let (status, body) = tokio::time::timeout(load::REQUEST_TIMEOUT, async {
            s.write_all(request).await.map_err(|e| e.to_string())?;
            load::read_response(&mut s, &mut buf).await
        })
        .await
        .expect("probe answered in time")
        .expect("probe response");
        (status, buf[..body.start].to_vec(), buf[body].to_vec())
    })
}

// ---------------------------------------------------------------------------------------------
// Experimental servers (bench-only, `--phases experiments`), to tell where the product's time
// goes. The same `gica_serve::serve`, `decode_get_path`, `parse_request`, `Responder::sign`
// and `SigningPool` as the product, but no store, metrics, RFC 5019 caching headers or
// content-type check.
// - `get-lean`: GET answered from a map CertID DER -> response bytes (prefilled with the
//   product's cached response): path decoding, request parsing and the lookup only.
// - `nonce-pool`: POST signed on a `SigningPool` (as the product), status from memory.
// - `nonce-queue`: POST signed by N dedicated threads that take jobs from one queue (no
//   semaphore, no spawn_blocking): a thread that finishes a signature takes the next job
//   without any hop through the async side. Status from memory.
// - `nonce-inline`: POST signed on the async worker that read it, status from memory.

mod experiment {
    use std::{
        collections::HashMap,
        future::Future,
        sync::{Arc, Mutex, mpsc},
        thread::JoinHandle,
        time::{Duration, SystemTime},
    };

    use bytes::Bytes;
    use gica_ocsp_server::server::{RESPONSE_TYPE, decode_get_path};
    use gica_pki::{
        der::Encode,
        ocsp::{CertId, OcspResponseStatus, Responder, Status, parse_request},
        x509_cert::ext::Extension,
    };
    use gica_serve::{HttpResponse, Limits, SigningPool};
    use hyper::{Method, Request, StatusCode, body::Incoming, header, header::HeaderValue};
    use tokio::{net::TcpListener, sync::oneshot};

    /// Where signing runs.
    #[derive(Clone, Copy, Debug)]
    pub enum Signing {
        Inline,
        Pool,
        Queue,
    }

    type Signed = Result<Vec<u8>, gica_pki::ocsp::ResponderError>;
    type Job = (
        Vec<(CertId, Status)>,
        Option<Extension>,
        oneshot::Sender<Signed>,
    );

    pub struct State {
        responder: Arc<Responder>,
        queue: Option<mpsc::Sender<Job>>,
        statuses: HashMap<Vec<u8>, Status>,
        cache: Mutex<HashMap<Vec<u8>, Bytes>>,
        pool: SigningPool,
        limits: Limits,
    }

    fn status(s: OcspResponseStatus) -> HttpResponse {
        gica_serve::respond(
            StatusCode::OK,
            RESPONSE_TYPE,
            Bytes::copy_from_slice(&s.response_der()),
        )
    }

    impl State {
        pub fn new(
            responder: Responder,
            statuses: &HashMap<Vec<u8>, Status>,
            cached: (Vec<u8>, Vec<u8>),
            limits: Limits,
            signing_threads: usize,
        ) -> Self {
            Self {
                responder: Arc::new(responder),
                queue: None,
                statuses: statuses.clone(),
                cache: Mutex::new(HashMap::from([(cached.0, Bytes::from(cached.1))])),
                pool: SigningPool::new(signing_threads, Duration::from_secs(5)),
                limits,
            }
        }

        /// `n` threads named `srv-block-qN` signing jobs from one queue until it closes.
        pub fn start_queue(&mut self, n: usize) -> Vec<JoinHandle<()>> {
            let responder = self.responder.clone();
            let (tx, threads) = super::load::queue_threads(
                "srv-block-q",
                n,
                move |(answers, nonce, reply): Job| {
                    let _ = reply.send(responder.sign(&answers, nonce.as_ref(), SystemTime::now()));
                },
            );
            self.queue = Some(tx);
            threads
        }

        fn get(&self, req: &Request<Incoming>) -> HttpResponse {
            let pq = req.uri().path_and_query().map_or("", |p| p.as_str());
            let raw = pq.strip_prefix("/ocsp").unwrap_or(pq);
            let Some(der) = decode_get_path(raw) else {
                return status(OcspResponseStatus::MalformedRequest);
            };
            let parsed = match parse_request(&der, 16) {
                Ok(p) => p,
                Err(s) => return status(s),
            };
            if !parsed.cert_ids.iter().all(|id| self.responder.serves(id)) {
                return status(OcspResponseStatus::Unauthorized);
            }
            let Ok(key) = parsed.cert_ids[0].to_der() else {
                return status(OcspResponseStatus::MalformedRequest);
            };
            let hit = self
                .cache
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .get(&key)
                .cloned();
            match hit {
                Some(b) => gica_serve::respond(StatusCode::OK, RESPONSE_TYPE, b),
                None => gica_serve::text(StatusCode::NOT_FOUND, "not cached"),
            }
        }

        async fn post(self: Arc<Self>, body: Bytes, signing: Signing) -> HttpResponse {
            let parsed = match parse_request(&body, 16) {
                Ok(p) => p,
                Err(s) => return status(s),
            };
            if !parsed.cert_ids.iter().all(|id| self.responder.serves(id)) {
                return status(OcspResponseStatus::Unauthorized);
            }
            let answers: Vec<_> = parsed
                .cert_ids
                .into_iter()
                .map(|id| {
                    let s = id
                        .serial_magnitude()
                        .and_then(|m| self.statuses.get(m))
                        .copied()
                        .unwrap_or(Status::NotIssued);
                    (id, s)
                })
                .collect();
            let nonce = parsed.nonce;
            let signed = match signing {
                Signing::Inline => self
                    .responder
                    .sign(&answers, nonce.as_ref(), SystemTime::now()),
                Signing::Pool => {
                    let responder = self.responder.clone();
                    let job = self
                        .pool
                        .run(move || responder.sign(&answers, nonce.as_ref(), SystemTime::now()));
                    match job.await {
                        Ok(r) => r,
                        Err(_) => return status(OcspResponseStatus::TryLater),
                    }
                }
                Signing::Queue => {
                    let (tx, rx) = oneshot::channel();
                    let sent = self
                        .queue
                        .as_ref()
                        .is_some_and(|q| q.send((answers, nonce, tx)).is_ok());
                    if !sent {
                        return status(OcspResponseStatus::TryLater);
                    }
                    match rx.await {
                        Ok(r) => r,
                        Err(_) => return status(OcspResponseStatus::InternalError),
                    }
                }
            };
            match signed {
                Ok(der) => {
                    let mut r = gica_serve::respond(StatusCode::OK, RESPONSE_TYPE, der);
                    r.headers_mut()
                        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
                    r
                }
                Err(_) => status(OcspResponseStatus::InternalError),
            }
        }
    }

    pub async fn serve(
        listener: TcpListener,
        state: Arc<State>,
        signing: Signing,
        limits: Limits,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        gica_serve::serve(
            listener,
            limits,
            move |req: Request<Incoming>, _peer| {
                let st = state.clone();
                async move {
                    if req.method() == Method::GET {
                        return st.get(&req);
                    }
                    if req.method() != Method::POST {
                        return gica_serve::method_not_allowed("GET, POST");
                    }
                    match gica_serve::read_body(req, &st.limits).await {
                        Ok(body) => st.post(body, signing).await,
                        Err(e) => gica_serve::text(e.status(), e.to_string()),
                    }
                }
            },
            shutdown,
        )
        .await
    }
}

// ---------------------------------------------------------------------------------------------

fn block_on_current<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

/// `GET /ocsp/{b64}` to `addr`.
fn get_request(addr: SocketAddr, b64: &str) -> Arc<[u8]> {
    format!("GET /ocsp/{b64} HTTP/1.1\r\nHost: {addr}\r\n\r\n")
        .into_bytes()
        .into()
}

/// `POST /ocsp` of `der` to `addr`; with the offsets of the body and of `nonce` in it.
fn post_request(addr: SocketAddr, der: &[u8], nonce: &[u8]) -> (Vec<u8>, usize, usize) {
    let (http, body_at) = load::post_request(addr, "/ocsp", "application/ocsp-request", der);
    let nonce_at = body_at + load::find(der, nonce).expect("nonce in the request DER");
    (http, body_at, nonce_at)
}

/// The statuses the experiments answer from memory: tsa-p256 good.
fn leaf_serial_status(leaf: &Certificate) -> HashMap<Vec<u8>, Status> {
    HashMap::from([(magnitude(leaf), Status::Good)])
}

/// A store with tsa-p256 recorded good (as tests/ocsp_e2e.rs `seeded_db`, minus the others).
fn seeded_db(dir: &std::path::Path, issuer: &Certificate, leaf: &Certificate) -> String {
    let url = format!("sqlite:{}", dir.join("ocsp.db").display());
    block_on_current(async {
        let store = AnyStore::connect(&url).await.expect("store");
        store
            .record_issued(&issuer_id(issuer), &magnitude(leaf), None)
            .await
            .expect("record");
    });
    url
}

fn pct(a: f64, b: f64) -> f64 {
    if b > 0.0 { a / b * 100.0 } else { f64::NAN }
}

fn verdict(value: f64, goal: f64) -> &'static str {
    if value >= goal { "MET" } else { "BELOW GOAL" }
}

fn main() {
    let wall_start = Instant::now();
    let opts = Opts::from_env_and_args();
    let cores = load::cores();
    let server_workers = opts.load.server_workers.unwrap_or(cores).max(1);
    let ticks = load::clock_ticks();
    let raw_secs = opts.load.raw_secs;

    let issuer = load::cert1(CA_CERT);
    let leaf = load::cert1("tsa-p256.pem");
    let cert_id = CertId::for_certificate(&leaf, &issuer, DigestAlgorithm::Sha1).expect("CertID");

    // 1) Microbenchmarks on this thread, with the key signed with by `--crypto`.
    let ca_signer = gica_serve::keys::load_signer(
        &load::fixture_path(CA_KEY),
        gica_pki::SignerOptions::default(),
        opts.crypto,
        1,
    )
    .expect("fixture key");
    let raw = load::raw_sign_rate(ca_signer.as_ref(), raw_secs, ticks);
    eprintln!(
        "raw ECDSA P-256 signing ({}): {:.0}/s on one thread ({} in {:.1} s); {cores} cores",
        opts.crypto, raw.per_sec, raw.n, raw_secs
    );
    let responder = Responder::new(
        issuer.clone(),
        None,
        ca_signer.clone(),
        ResponderConfig::default(),
    )
    .expect("responder");
    let answers = vec![(cert_id.clone(), Status::Good)];
    let resp_sign = load::rate_of(raw_secs, ticks, || {
        std::hint::black_box(
            responder
                .sign(&answers, None, SystemTime::now())
                .expect("signs"),
        );
    });
    let nonce_req = OcspRequestBuilder::new()
        .cert_id(cert_id.clone())
        .with_nonce()
        .expect("nonce")
        .build();
    let nonce_ext = nonce_req
        .tbs_request
        .request_extensions
        .as_ref()
        .and_then(|e| e.first())
        .cloned()
        .expect("nonce extension");
    let resp_sign_nonce = load::rate_of(raw_secs / 2.0, ticks, || {
        std::hint::black_box(
            responder
                .sign(&answers, Some(&nonce_ext), SystemTime::now())
                .expect("signs"),
        );
    });
    eprintln!(
        "Responder::sign: {:.0}/s without nonce, {:.0}/s with nonce, on one thread",
        resp_sign.per_sec, resp_sign_nonce.per_sec
    );

    // The nonce-less request of the GET phase, and its path.
    let get_req = OcspRequestBuilder::new().cert_id(cert_id.clone()).build();
    let get_der = get_req.to_der().expect("request DER");
    let b64 = Base64::encode_string(&get_der)
        .replace('+', "%2B")
        .replace('/', "%2F")
        .replace('=', "%3D");
    // The OCSP work of a cached GET outside HTTP: what `OcspServer::answer` does before the
    // cache lookup.
    let parse_cost = load::rate_of(raw_secs / 4.0, ticks, || {
        let der = decode_get_path(std::hint::black_box(&b64)).expect("decodes");
        let parsed = parse_request(&der, 16).expect("parses");
        assert!(responder.serves(&parsed.cert_ids[0]));
        std::hint::black_box(parsed.cert_ids[0].to_der().expect("DER"));
    });
    // ... and its parts.
    let part_secs = raw_secs / 8.0;
    let part_decode = load::rate_of(part_secs, ticks, || {
        std::hint::black_box(decode_get_path(std::hint::black_box(&b64)).expect("decodes"));
    });
    let part_parse = load::rate_of(part_secs, ticks, || {
        std::hint::black_box(parse_request(std::hint::black_box(&get_der), 16).expect("parses"));
    });
    let part_key = load::rate_of(part_secs, ticks, || {
        let id = std::hint::black_box(&cert_id);
        assert!(responder.serves(id));
        std::hint::black_box(id.to_der().expect("DER"));
    });

    // 2) The server and the baseline, on one multi-thread runtime.
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = seeded_db(dir.path(), &issuer, &leaf);
    let args = ServeArgs {
        db: Some(db),
        issuer: Some(load::fixture_path(CA_CERT)),
        ca_key: Some(load::fixture_path(CA_KEY)),
        common: gica_serve::config::CommonArgs {
            signing_threads: opts.load.signing_threads,
            max_connection_age: opts.load.max_connection_age,
            crypto: Some(opts.crypto.name().into()),
            ..Default::default()
        },
        ..Default::default()
    };
    let settings = ServeSettings::resolve(&args).expect("settings");
    let signing_threads = settings.signing_threads;
    let limits = settings.limits;
    // Threads are named so their CPU can be told apart (`load::server_runtime`); the product
    // signs on its `SigningPool`'s `gica-sign-N` threads.
    let server_rt = load::server_runtime(server_workers);
    let service = server_rt
        .block_on(Service::start(settings))
        .expect("service starts");
    let store = service.server().store().clone();
    let store_issuer = issuer_id(&issuer);
    let store_serial = magnitude(&leaf);
    // One status lookup at a time through the pool: the store's share of a nonce request.
    let store_lookup = server_rt.block_on(async {
        let budget = Duration::from_secs_f64(raw_secs / 4.0);
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < budget {
            let r = store
                .status(&store_issuer, &store_serial)
                .await
                .expect("lookup");
            assert!(r.is_some(), "tsa-p256 is recorded");
            n += 1;
        }
        n as f64 / start.elapsed().as_secs_f64()
    });
    let (ocsp_listener, base_listener) = server_rt.block_on(async {
        (
            TcpListener::bind("127.0.0.1:0").await.expect("bind"),
            TcpListener::bind("127.0.0.1:0").await.expect("bind"),
        )
    });
    let ocsp_addr = ocsp_listener.local_addr().expect("address");
    let base_addr = base_listener.local_addr().expect("address");
    let (stop_ocsp, stop_ocsp_rx) = tokio::sync::oneshot::channel::<()>();
    let ocsp_task = server_rt.spawn(service.serve(ocsp_listener, async {
        let _ = stop_ocsp_rx.await;
    }));

    let get_http = get_request(ocsp_addr, &b64);
    let verifier = Arc::new(OcspVerifier::new(issuer.clone()));
    // Probe: the response the baseline will serve, checked in full.
    let (status, get_head, get_body) = probe(ocsp_addr, &get_http);
    assert_eq!(status, 200, "GET probe");
    verify_full(&verifier, &get_body, &get_req).expect("GET probe verifies");

    let body = bytes::Bytes::from(get_body.clone());
    let (stop_base, stop_base_rx) = tokio::sync::oneshot::channel::<()>();
    let base_task = server_rt.spawn(gica_serve::serve(
        base_listener,
        limits,
        move |_req, _peer| {
            let body = body.clone();
            async move { gica_serve::respond(StatusCode::OK, RESPONSE_TYPE, body) }
        },
        async {
            let _ = stop_base_rx.await;
        },
    ));
    let base_http = get_request(base_addr, &b64);
    let (status, base_head, base_body) = probe(base_addr, &base_http);
    assert_eq!(status, 200, "baseline probe");
    assert_eq!(base_body, get_body, "baseline serves the same bytes");

    // The nonce POST: built once; the connection writes its nonce into `nonce_at`.
    let nonce_der = nonce_req.to_der().expect("request DER");
    let nonce_octets = nonce_value(&nonce_ext).to_vec();
    assert_eq!(nonce_octets.len(), 32);
    let (post_http, _, _) = post_request(ocsp_addr, &nonce_der, &nonce_octets);
    let (status, post_head, post_body) = probe(ocsp_addr, &post_http);
    assert_eq!(status, 200, "POST probe");
    verify_full(&verifier, &post_body, &nonce_req).expect("POST probe verifies");

    let wire = |head: &[u8], body: &[u8]| format!("{} + {} bytes", head.len(), body.len());
    eprintln!(
        "responses on the wire (headers + body): cached GET {}, baseline {}, nonce POST {}",
        wire(&get_head, &get_body),
        wire(&base_head, &base_body),
        wire(&post_head, &post_body)
    );

    // 3) The load, one phase after the other.
    // Experimental servers (bench-only), started only when their phase is asked for.
    let mut experiments = Vec::new();
    let mut exp_addrs = BTreeMap::new();
    let mut queue_threads = Vec::new();
    for kind in opts.phases.iter().filter(|k| k.is_experiment()) {
        let listener = server_rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind");
        exp_addrs.insert(*kind, listener.local_addr().expect("address"));
        let mut state = experiment::State::new(
            Responder::new(
                issuer.clone(),
                None,
                Arc::new(load::signer(CA_KEY)),
                ResponderConfig::default(),
            )
            .expect("responder"),
            &leaf_serial_status(&leaf),
            (cert_id.to_der().expect("CertID DER"), get_body.clone()),
            limits,
            signing_threads,
        );
        let mode = match kind {
            PhaseKind::NonceInline => experiment::Signing::Inline,
            PhaseKind::NonceQueue => {
                queue_threads.extend(state.start_queue(signing_threads));
                experiment::Signing::Queue
            }
            _ => experiment::Signing::Pool,
        };
        let state = Arc::new(state);
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = server_rt.spawn(experiment::serve(listener, state, mode, limits, async {
            let _ = rx.await;
        }));
        experiments.push((tx, task));
    }

    let mut results = Vec::new();
    for kind in &opts.phases {
        let get_phase = |request: Arc<[u8]>| Phase {
            request,
            nonce_at: None,
            body_at: None,
            check: Check::Ocsp {
                verifier: verifier.clone(),
                request: Some(Arc::new(get_req.clone())),
            },
        };
        let nonce_phase = |addr: SocketAddr| {
            let (request, body_at, nonce_at) = post_request(addr, &nonce_der, &nonce_octets);
            Phase {
                request: request.into(),
                nonce_at: Some(nonce_at),
                body_at: Some(body_at),
                check: Check::Ocsp {
                    verifier: verifier.clone(),
                    request: None,
                },
            }
        };
        let exp_addr = || exp_addrs.get(kind).copied().expect("experiment server");
        let (addr, phases) = match kind {
            PhaseKind::Get => (ocsp_addr, vec![get_phase(get_http.clone())]),
            PhaseKind::Baseline => (
                base_addr,
                vec![Phase {
                    request: base_http.clone(),
                    nonce_at: None,
                    body_at: None,
                    check: Check::Len(get_body.len()),
                }],
            ),
            PhaseKind::Nonce => (ocsp_addr, vec![nonce_phase(ocsp_addr)]),
            PhaseKind::Mixed => (
                ocsp_addr,
                vec![get_phase(get_http.clone()), nonce_phase(ocsp_addr)],
            ),
            PhaseKind::GetLean => (exp_addr(), vec![get_phase(get_request(exp_addr(), &b64))]),
            PhaseKind::NoncePool | PhaseKind::NonceQueue | PhaseKind::NonceInline => {
                (exp_addr(), vec![nonce_phase(exp_addr())])
            }
        };
        let r = run_phase(*kind, addr, &phases, &opts.load, ticks);
        eprintln!(
            "    {:.0} responses/s, {} errors",
            r.run.rate(),
            r.run.n_errors()
        );
        results.push(r);
    }

    // Shut both servers down (bounded).
    let _ = stop_ocsp.send(());
    let _ = stop_base.send(());
    let (ocsp_stop, base_stop, exp_stop) = server_rt.block_on(async {
        let a = load::stopped(ocsp_task).await;
        let b = load::stopped(base_task).await;
        let mut e = Vec::new();
        for (tx, task) in experiments {
            let _ = tx.send(());
            e.push(load::stopped(task).await);
        }
        (a, b, e)
    });
    server_rt.shutdown_timeout(Duration::from_secs(2));
    // The queue's threads end when the experiment's state is dropped with its server.
    let give_up = Instant::now() + Duration::from_secs(2);
    while queue_threads.iter().any(|t| !t.is_finished()) && Instant::now() < give_up {
        std::thread::sleep(Duration::from_millis(10));
    }
    for t in queue_threads.into_iter().filter(|t| t.is_finished()) {
        let _ = t.join();
    }

    // 4) Summary.
    let ideal = raw.per_sec * cores as f64;
    let find_phase = |k: PhaseKind| results.iter().find(|r| r.kind == k);
    println!();
    println!(
        "== gica OCSP load: ECDSA P-256 (int-ca signs, {}) | {} conns, HTTP/1.1 keep-alive, \
         loopback | {cores} cores ==",
        opts.crypto, opts.load.conns
    );
    println!(
        "server threads                  {server_workers} async workers, {signing_threads} \
         signing (SigningPool), SQLite store; client: 1 thread"
    );
    println!(
        "raw signatures/s (1 thread)     {:>10.0}   {:>7.1} us each{}",
        raw.per_sec,
        raw.us(),
        raw.per_cpu_second
            .map(|c| format!("; {c:.0} per CPU-second"))
            .unwrap_or_default()
    );
    println!(
        "Responder::sign/s (1 thread)    {:>10.0}   {:>7.1} us each ({:.1} % of raw; \
         {:.1} us of DER around the signature)",
        resp_sign.per_sec,
        resp_sign.us(),
        pct(resp_sign.per_sec, raw.per_sec),
        resp_sign.us() - raw.us()
    );
    println!(
        "  ... with a nonce              {:>10.0}   {:>7.1} us each",
        resp_sign_nonce.per_sec,
        resp_sign_nonce.us()
    );
    println!(
        "cached-GET OCSP work, no HTTP   {:>10.0}/s {:>7.1} us each (decode path, parse, match \
         issuer, CertID DER)",
        parse_cost.per_sec,
        parse_cost.us()
    );
    println!(
        "  ... parts                     decode_get_path {:.1} us, parse_request {:.1} us, \
         serves + CertID DER {:.1} us",
        part_decode.us(),
        part_parse.us(),
        part_key.us()
    );
    println!(
        "SQLite status lookup, serial    {store_lookup:>10.0}/s {:>7.1} us each (one at a time)",
        1e6 / store_lookup
    );
    println!(
        "response bytes (head + body)    cached GET {}, baseline {}, nonce POST {}",
        wire(&get_head, &get_body),
        wire(&base_head, &base_body),
        wire(&post_head, &post_body)
    );
    println!();
    println!(
        "{:<42}{:>11}{:>9}{:>9}{:>9}{:>8}{:>9}",
        "phase", "resp/s", "p50 ms", "p99 ms", "max ms", "errors", "verified"
    );
    for r in &results {
        println!(
            "{:<42}{:>11.0}{:>9.2}{:>9.2}{:>9.2}{:>8}{:>9}",
            r.kind.label(),
            r.run.rate(),
            r.run.latency_ms(0.50),
            r.run.latency_ms(0.99),
            r.run.latency_ms(1.0),
            r.run.n_errors(),
            r.run.verified
        );
        for (k, v) in &r.run.errors {
            println!("    {v:>8}  {k}");
        }
    }
    println!();
    // The load client shares the cores: the ratios are those of (server + client) CPU per
    // response. The server's own share, from the CPU accounting below:
    let server_us = |r: &PhaseResult| {
        (r.run.ok > 0).then(|| {
            let c = r.run.cpu(cores).kinds;
            (c[load::SERVER_ASYNC].cpu + c[load::SIGNING].cpu) / r.run.ok as f64 * 1e6
        })
    };
    if let (Some(g), Some(b)) = (find_phase(PhaseKind::Get), find_phase(PhaseKind::Baseline)) {
        let ratio = pct(g.run.rate(), b.run.rate());
        println!(
            "cached GET / baseline           {ratio:>9.1} %   (goal >= {GOAL_GET_VS_BASELINE:.0} %: \
             {})",
            verdict(ratio, GOAL_GET_VS_BASELINE)
        );
        if let (Some(gu), Some(bu)) = (server_us(g), server_us(b)) {
            println!(
                "  server CPU per response       cached GET {gu:.1} us, baseline {bu:.1} us \
                 (server-bound ratio {:.1} %)",
                pct(bu, gu)
            );
        }
    }
    if let Some(n) = find_phase(PhaseKind::Nonce) {
        let ratio = pct(n.run.rate(), ideal);
        println!(
            "ideal (raw x {cores} cores)           {ideal:>10.0}   (Responder::sign with nonce x \
             cores: {:.0})",
            resp_sign_nonce.per_sec * cores as f64
        );
        println!(
            "nonce responses/s / ideal       {ratio:>9.1} %   (goal >= {GOAL_NONCE_VS_IDEAL:.0} %: \
             {})",
            verdict(ratio, GOAL_NONCE_VS_IDEAL)
        );
        if let Some(su) = server_us(n) {
            let raw_us = 1e6 / raw.per_cpu_second.unwrap_or(raw.per_sec);
            println!(
                "  server CPU per response       {su:.1} us against {raw_us:.1} us a raw signature \
                 (server-bound ratio {:.1} %)",
                pct(raw_us, su)
            );
        }
        if let Some(c) = raw.per_cpu_second.filter(|c| *c > raw.per_sec * 1.1) {
            println!(
                "  ... against raw per CPU-second x cores ({:.0}): {:.1} % (the raw thread \
                 was short of CPU)",
                c * cores as f64,
                pct(n.run.rate(), c * cores as f64)
            );
        }
    }
    // The experiments, against the same references.
    for r in results.iter().filter(|r| r.kind.is_experiment()) {
        if r.kind.is_nonce() {
            println!(
                "{:<32}{:>9.1} % of ideal",
                r.kind.label(),
                pct(r.run.rate(), ideal)
            );
        } else if let Some(b) = find_phase(PhaseKind::Baseline) {
            println!(
                "{:<32}{:>9.1} % of baseline{}",
                r.kind.label(),
                pct(r.run.rate(), b.run.rate()),
                find_phase(PhaseKind::Get)
                    .map(|g| format!(
                        "; cached GET is {:.1} % of it",
                        pct(g.run.rate(), r.run.rate())
                    ))
                    .unwrap_or_default()
            );
        }
    }
    println!(
        "server shutdown                 OcspServer {ocsp_stop}; baseline {base_stop}{}",
        exp_stop
            .iter()
            .map(|n| format!("; experiment {n}"))
            .collect::<String>()
    );

    // Where the CPU went, per phase.
    let mut contended = false;
    for r in &results {
        let (ok, window) = (r.run.ok, r.run.window);
        let cpu = r.run.cpu(cores);
        let total = cpu.total;
        if total <= 0.0 {
            continue;
        }
        let per = |x: f64| {
            if ok == 0 { f64::NAN } else { x / ok as f64 }
        };
        println!("CPU, {} (tick {:.0} ms):", r.kind.label(), 1000.0 / ticks);
        println!(
            "    {:<28}{:>6} {:>12} {:>16} {:>8}",
            "", "cores", "us/response", "switches/resp", "threads"
        );
        for (c, (_, label)) in cpu.kinds.iter().zip(load::THREAD_KINDS) {
            if c.threads > 0 {
                println!(
                    "    {label:<28}{:>6.2} {:>12.1} {:>16.2} {:>8}",
                    c.cpu / window,
                    per(c.cpu) * 1e6,
                    per(c.switches as f64),
                    c.threads
                );
            }
        }
        let switches: u64 = cpu.kinds.iter().map(|c| c.switches).sum();
        println!(
            "    {:<28}{:>6.2} {:>12.1} {:>16.2}",
            "this process",
            total / window,
            per(total) * 1e6,
            per(switches as f64)
        );
        let signing = cpu.kinds[load::SIGNING].cpu;
        if r.kind.is_nonce() && signing < 0.1 * total {
            println!(
                "    signing ran on the async workers (SigningPool: jobs under {} us run in place)",
                gica_serve::INLINE_BELOW.as_micros()
            );
        } else if r.kind.is_nonce() && signing > 0.0 {
            let raw_cpu = raw.per_cpu_second.unwrap_or(raw.per_sec);
            println!(
                "    responses per signing-core-second {:>8.0} ({:.1} % of raw signatures per \
                 CPU-second)",
                ok as f64 / signing,
                pct(ok as f64 / signing, raw_cpu)
            );
        }
        if let Some((busy, others)) = cpu.machine {
            println!(
                "    machine busy, all processes{busy:>6.2} cores ({:.1} %); other processes \
                 {others:.2}",
                busy / cores as f64 * 100.0
            );
            contended |= others > load::CONTENDED_CORES;
        }
    }
    if raw.per_cpu_second.is_some_and(|c| c > raw.per_sec * 1.1) {
        contended = true;
        println!(
            "WARNING: the raw signing thread got less than 90 % of a core (other load); the \
             ideal is understated"
        );
    }
    if contended {
        println!(
            "WARNING: other processes used more than 0.1 core during a phase; the numbers are \
             not reliable, run again on a quiet machine"
        );
    }
    println!(
        "wall time of this run           {:.1} s",
        wall_start.elapsed().as_secs_f64()
    );
    if opts.load.soak {
        let mut passed = true;
        for r in &results {
            passed &= load::soak_report(&format!("OCSP {}", r.kind.label()), &r.run, &opts.load);
        }
        if !passed {
            std::process::exit(1);
        }
    }
}
