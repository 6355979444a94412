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
//!    hand-written HTTP/1.1 client (the one of `benches/tsa_load.rs`), D seconds each after a
//!    warm-up, one phase after the other:
//!    - `get`: `GET /ocsp/{url-encoded base64 of a nonce-less request}` (the cached path);
//!    - `baseline`: the same GET against the static server;
//!    - `nonce`: `POST /ocsp` with a fresh nonce in every request (the signed-per-request
//!      path). The request is built once; each connection writes its number and a counter
//!      into the first 12 of the 32 nonce octets before every send, so no two requests of a
//!      run carry the same nonce and the client spends nothing on building them.
//!
//!    The first response of every connection is verified in full (`OcspVerifier`: signature,
//!    status good, nonce echoed); every later one must be HTTP 200 with a successful
//!    OCSPResponse (and, for `nonce`, contain its own nonce; for `baseline`, the same length).
//! 4. Prints the rates, cached-GET / baseline (goal >= 80 %), nonce responses/s against raw
//!    signatures/s x cores (goal >= 85 %), p50/p99/max latency, errors, and where the CPU went
//!    (per thread kind, from /proc on Linux).
//!
//! ```text
//! cargo bench --bench ocsp                          # 64 connections, 10 s a phase
//! cargo bench --bench ocsp -- --quick               # 2 s a phase
//! cargo bench --bench ocsp -- --secs 5 --conns 16 --phases get,baseline
//! cargo bench --bench ocsp -- --phases all          # and the experiments below
//! ```
//!
//! Environment: GICA_LOAD_SECS, GICA_LOAD_CONNS, GICA_LOAD_SIGNING_THREADS,
//! GICA_LOAD_SERVER_WORKERS (both default to the core count), GICA_LOAD_PHASES (a
//! comma-separated list of get, baseline, nonce, get-lean, nonce-pool, nonce-queue,
//! nonce-inline, or
//! `default`, `experiments`, `all`). Command-line flags (`--secs`, `--conns`, `--phases`,
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
    ops::Range,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use base64ct::{Base64, Encoding};
use der::{Decode, Encode};
use gica_ocsp_server::{
    Service,
    config::{ServeArgs, ServeSettings},
    issuer_id,
    server::{RESPONSE_TYPE, decode_get_path},
    store::{AnyStore, RevocationStore},
};
use gica_pki::{
    DigestAlgorithm, Signer, SignerOptions, SoftwareSigner, cert,
    ocsp::{
        CertId, OcspRequest, OcspRequestBuilder, OcspVerifier, Responder, ResponderConfig, Status,
        VerifiedStatus, nonce_value, parse_request,
    },
    x509_cert::Certificate,
};
use hyper::StatusCode;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

/// Longest a single request may take before it counts as an error (the signing queue's own
/// wait is 5 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection gives up after this many failures in a row.
const MAX_CONSECUTIVE_FAILURES: u32 = 3;
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Bound on stopping a server once its clients are gone.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Goals, in percent.
const GOAL_GET_VS_BASELINE: f64 = 80.0;
const GOAL_NONCE_VS_IDEAL: f64 = 85.0;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum PhaseKind {
    Get,
    Baseline,
    Nonce,
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
                    "unknown phase {other:?}; use get, baseline, nonce, get-lean, nonce-pool, \
                     nonce-queue, nonce-inline, default, experiments or all"
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
            Self::GetLean => "EXPERIMENT get-lean",
            Self::NoncePool => "EXPERIMENT nonce-pool",
            Self::NonceQueue => "EXPERIMENT nonce-queue",
            Self::NonceInline => "EXPERIMENT nonce-inline",
        }
    }

    fn is_experiment(self) -> bool {
        !Self::ALL.contains(&self)
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
    secs: f64,
    warmup: f64,
    raw_secs: f64,
    conns: usize,
    signing_threads: Option<usize>,
    server_workers: Option<usize>,
    phases: Vec<PhaseKind>,
}

fn parse_num<T: std::str::FromStr>(what: &str, v: &str) -> T {
    v.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{what}: not a number: {v:?}"))
}

impl Opts {
    fn from_env_and_args() -> Self {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let mut o = Opts {
            secs: 10.0,
            warmup: 1.0,
            raw_secs: 2.0,
            conns: 64,
            signing_threads: None,
            server_workers: None,
            phases: PhaseKind::ALL.to_vec(),
        };
        let mut secs_set = false;
        if let Some(v) = env("GICA_LOAD_SECS") {
            o.secs = parse_num("GICA_LOAD_SECS", &v);
            secs_set = true;
        }
        if let Some(v) = env("GICA_LOAD_CONNS") {
            o.conns = parse_num("GICA_LOAD_CONNS", &v);
        }
        if let Some(v) = env("GICA_LOAD_SIGNING_THREADS") {
            o.signing_threads = Some(parse_num("GICA_LOAD_SIGNING_THREADS", &v));
        }
        if let Some(v) = env("GICA_LOAD_SERVER_WORKERS") {
            o.server_workers = Some(parse_num("GICA_LOAD_SERVER_WORKERS", &v));
        }
        if let Some(v) = env("GICA_LOAD_PHASES") {
            o.phases = PhaseKind::parse_list(&v);
        }
        let mut quick = false;
        let args: Vec<String> = std::env::args().skip(1).collect();
        let mut i = 0;
        while i < args.len() {
            let a = args[i].as_str();
            let (flag, inline) = match a.split_once('=') {
                Some((f, v)) => (f, Some(v.to_string())),
                None => (a, None),
            };
            let mut value = || {
                inline.clone().or_else(|| {
                    i += 1;
                    args.get(i).cloned()
                })
            };
            match flag {
                "--quick" => quick = true,
                "--secs" => {
                    if let Some(v) = value() {
                        o.secs = parse_num("--secs", &v);
                        secs_set = true;
                    }
                }
                "--conns" => {
                    if let Some(v) = value() {
                        o.conns = parse_num("--conns", &v);
                    }
                }
                "--phases" => {
                    if let Some(v) = value() {
                        o.phases = PhaseKind::parse_list(&v);
                    }
                }
                _ => {} // cargo's --bench, filters, anything else
            }
            i += 1;
        }
        if quick {
            if !secs_set {
                o.secs = 2.0;
            }
            o.warmup = 0.5;
            o.raw_secs = 1.0;
        }
        o.secs = o.secs.clamp(0.2, 3600.0);
        o.conns = o.conns.clamp(1, 4000);
        if o.phases.is_empty() {
            o.phases = PhaseKind::ALL.to_vec();
        }
        o
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

fn fixture_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/pki")
        .join(name)
}

fn fixture(name: &str) -> String {
    let p = fixture_path(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn cert1(name: &str) -> Certificate {
    cert::load_pem_certs(&fixture(name))
        .expect("fixture certificates")
        .remove(0)
}

fn ca_signer() -> SoftwareSigner {
    SoftwareSigner::from_pem(&fixture("int-ca.key"), SignerOptions::default()).expect("fixture key")
}

fn magnitude(c: &Certificate) -> Vec<u8> {
    let s = c.tbs_certificate().serial_number().as_bytes();
    s[s.iter().take_while(|b| **b == 0).count()..].to_vec()
}

// ---------------------------------------------------------------------------------------------
// Single-thread microbenchmarks.

/// A rate measured on one thread.
#[derive(Clone, Copy, Debug)]
struct Rate {
    /// Operations per wall-clock second.
    per_sec: f64,
    n: u64,
    /// Operations per CPU-second of this thread (None without /proc).
    per_cpu_second: Option<f64>,
}

impl Rate {
    fn us(&self) -> f64 {
        1e6 / self.per_sec
    }
}

/// Runs `op` back to back on this thread for about `secs`.
fn rate_of(secs: f64, ticks: f64, mut op: impl FnMut()) -> Rate {
    for _ in 0..3 {
        op();
    }
    let budget = Duration::from_secs_f64(secs);
    let cpu0 = stat_cpu_secs("/proc/thread-self/stat", ticks);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        op();
        n += 1;
    }
    let wall = start.elapsed().as_secs_f64();
    let cpu1 = stat_cpu_secs("/proc/thread-self/stat", ticks);
    let cpu = cpu0.zip(cpu1).map(|(a, b)| b - a).filter(|c| *c > 0.0);
    Rate {
        per_sec: n as f64 / wall,
        n,
        per_cpu_second: cpu.map(|c| n as f64 / c),
    }
}

// ---------------------------------------------------------------------------------------------
// The client.

#[derive(Default)]
struct ConnStats {
    ok: u64,
    errors: BTreeMap<String, u64>,
    latencies_us: Vec<u32>,
    verified: u64,
}

impl ConnStats {
    fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Reads one response into `buf`; returns (status code, body range).
async fn read_response(
    s: &mut TcpStream,
    buf: &mut Vec<u8>,
) -> Result<(u16, Range<usize>), String> {
    buf.clear();
    let header_end = loop {
        if s.read_buf(buf).await.map_err(|e| format!("read: {e}"))? == 0 {
            return Err("connection closed".into());
        }
        if let Some(p) = find(buf, b"\r\n\r\n") {
            break p + 4;
        }
        if buf.len() > MAX_HEADER_BYTES {
            return Err("headers too long".into());
        }
    };
    let head = &buf[..header_end];
    let status = head
        .strip_prefix(b"HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| std::str::from_utf8(c).ok())
        .and_then(|c| c.parse::<u16>().ok())
        .ok_or("bad status line")?;
    let len = head
        .split(|&b| b == b'\n')
        .find_map(|line| {
            let line = std::str::from_utf8(line).ok()?;
            let (name, value) = line.split_once(':')?;
            name.trim()
                .eq_ignore_ascii_case("content-length")
                .then(|| value.trim().parse::<usize>().ok())?
        })
        .ok_or("no Content-Length")?;
    let end = header_end + len;
    while buf.len() < end {
        if s.read_buf(buf)
            .await
            .map_err(|e| format!("read body: {e}"))?
            == 0
        {
            return Err("connection closed in body".into());
        }
    }
    if buf.len() > end {
        return Err("bytes after the response (unexpected pipelining)".into());
    }
    Ok((status, header_end..end))
}

/// Reads a DER length at `b[*i..]`.
fn der_len(b: &[u8], i: &mut usize) -> Option<usize> {
    let first = *b.get(*i)?;
    *i += 1;
    if first < 0x80 {
        return Some(usize::from(first));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 {
        return None;
    }
    let mut len = 0usize;
    for _ in 0..n {
        len = (len << 8) | usize::from(*b.get(*i)?);
        *i += 1;
    }
    Some(len)
}

/// Cheap check: `SEQUENCE { ENUMERATED 0 (successful), [0] ... }` spanning the whole body.
fn looks_successful(b: &[u8]) -> bool {
    let mut i = 0;
    if b.first() != Some(&0x30) {
        return false;
    }
    i += 1;
    match der_len(b, &mut i) {
        Some(l) if i + l == b.len() => {}
        _ => return false,
    }
    b.get(i..i + 4) == Some(&[0x0a, 0x01, 0x00, 0xa0][..])
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

async fn connection(
    id: u32,
    addr: SocketAddr,
    phase: Phase,
    measure_from: Instant,
    end: Instant,
) -> ConnStats {
    let mut st = ConnStats::default();
    let mut buf = Vec::with_capacity(8 * 1024);
    let mut request = phase.request.to_vec();
    let mut counter = 0u64;
    let mut stream: Option<TcpStream> = None;
    let mut failures = 0u32;
    let mut first = true;
    while Instant::now() < end && failures < MAX_CONSECUTIVE_FAILURES {
        let s = match stream.as_mut() {
            Some(s) => s,
            None => match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => {
                    let _ = s.set_nodelay(true);
                    stream.insert(s)
                }
                Ok(Err(e)) => {
                    st.error(format!("connect: {}", e.kind()));
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(_) => {
                    st.error("connect timeout");
                    failures += 1;
                    continue;
                }
            },
        };
        // A nonce nobody sent before in this run: connection number and counter.
        let nonce_range = phase.nonce_at.map(|at| {
            request[at..at + 4].copy_from_slice(&id.to_be_bytes());
            request[at + 4..at + 12].copy_from_slice(&counter.to_be_bytes());
            counter += 1;
            at..at + 12
        });
        let t0 = Instant::now();
        let exchange = async {
            s.write_all(&request)
                .await
                .map_err(|e| format!("write: {e}"))?;
            read_response(s, &mut buf).await
        };
        let result = match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(r) => r,
            Err(_) => Err("request timeout".into()),
        };
        let t1 = Instant::now();
        match result {
            Ok((200, body)) => {
                let body = &buf[body];
                let good = match &phase.check {
                    Check::Len(n) if body.len() == *n => Ok(()),
                    Check::Len(_) => Err("wrong body length".to_string()),
                    Check::Ocsp {
                        verifier,
                        request: fixed,
                    } => {
                        if first {
                            let parsed;
                            let req = match (fixed, phase.body_at) {
                                (Some(r), _) => Some(&**r),
                                (None, Some(at)) => {
                                    parsed = OcspRequest::from_der(&request[at..]).ok();
                                    parsed.as_ref()
                                }
                                (None, None) => None,
                            };
                            match req {
                                Some(r) => verify_full(verifier, body, r).map(|()| {
                                    st.verified += 1;
                                }),
                                None => Err("no request to verify against".into()),
                            }
                        } else if !looks_successful(body) {
                            Err("HTTP 200 but not a successful OCSPResponse".into())
                        } else if nonce_range
                            .as_ref()
                            .is_some_and(|r| find(body, &request[r.clone()]).is_none())
                        {
                            Err("nonce not echoed".into())
                        } else {
                            Ok(())
                        }
                    }
                };
                first = false;
                match good {
                    Ok(()) => {
                        failures = 0;
                        if t1 >= measure_from && t1 <= end {
                            st.ok += 1;
                            let us = (t1 - t0).as_micros().min(u128::from(u32::MAX)) as u32;
                            st.latencies_us.push(us);
                        }
                    }
                    Err(e) => {
                        st.error(format!("bad response: {e}"));
                        failures += 1;
                    }
                }
            }
            Ok((code, _)) => {
                st.error(format!("HTTP {code}"));
                failures += 1;
            }
            Err(e) => {
                st.error(e);
                failures += 1;
                stream = None; // the connection's state is unknown: reconnect
            }
        }
    }
    st
}

type CpuMark = (BTreeMap<u32, ThreadSample>, Option<(f64, f64)>, Instant);

/// One phase's outcome.
struct PhaseResult {
    kind: PhaseKind,
    ok: u64,
    verified: u64,
    errors: BTreeMap<String, u64>,
    latencies_us: Vec<u32>,
    window: f64,
    marks: Vec<CpuMark>,
}

impl PhaseResult {
    fn rate(&self) -> f64 {
        self.ok as f64 / self.window
    }

    fn n_errors(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// Drives `phase` at `addr` from one thread with `conns` connections; warm-up, then `secs`.
fn run_phase(
    kind: PhaseKind,
    addr: SocketAddr,
    phase: Phase,
    opts: &Opts,
    ticks: f64,
) -> PhaseResult {
    eprintln!(
        "{}: http://{addr}, {} connections, {:.1} s after {:.1} s warm-up",
        kind.label(),
        opts.conns,
        opts.secs,
        opts.warmup
    );
    let (conns, warmup, secs) = (opts.conns, opts.warmup, opts.secs);
    let client = std::thread::Builder::new()
        .name("load-client".into())
        .spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("client runtime");
            rt.block_on(async move {
                let start = Instant::now();
                let measure_from = start + Duration::from_secs_f64(warmup);
                let end = measure_from + Duration::from_secs_f64(secs);
                let tasks: Vec<_> = (0..conns)
                    .map(|i| {
                        let id = u32::try_from(i).expect("connection number");
                        tokio::spawn(connection(id, addr, phase.clone(), measure_from, end))
                    })
                    .collect();
                // CPU snapshots at the edges of the measured window.
                tokio::time::sleep_until(measure_from.into()).await;
                let m0 = (thread_cpu(ticks), machine_jiffies(), Instant::now());
                tokio::time::sleep_until(end.into()).await;
                let m1 = (thread_cpu(ticks), machine_jiffies(), Instant::now());
                let mut all = Vec::with_capacity(conns);
                for t in tasks {
                    match t.await {
                        Ok(s) => all.push(s),
                        Err(e) => {
                            let mut s = ConnStats::default();
                            s.error(format!("client task failed: {e}"));
                            all.push(s);
                        }
                    }
                }
                (all, vec![m0, m1])
            })
        })
        .expect("client thread");
    let (stats, marks) = client.join().expect("client thread panicked");
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for s in &stats {
        for (k, v) in &s.errors {
            *errors.entry(k.clone()).or_default() += v;
        }
    }
    let mut latencies_us: Vec<u32> = stats
        .iter()
        .flat_map(|s| s.latencies_us.iter().copied())
        .collect();
    latencies_us.sort_unstable();
    let window = match marks.as_slice() {
        [a, b] => (b.2 - a.2).as_secs_f64(),
        _ => secs,
    };
    PhaseResult {
        kind,
        ok: stats.iter().map(|s| s.ok).sum(),
        verified: stats.iter().map(|s| s.verified).sum(),
        errors,
        latencies_us,
        window,
        marks,
    }
}

/// One request on a fresh connection, for checking and sizing before the load.
fn probe(addr: SocketAddr, request: &[u8]) -> (u16, Vec<u8>, Vec<u8>) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("probe runtime");
    rt.block_on(async {
        let mut s = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(addr))
            .await
            .expect("probe connect in time")
            .expect("probe connect");
        let mut buf = Vec::new();
        let (status, body) = tokio::time::timeout(REQUEST_TIMEOUT, async {
            s.write_all(request).await.map_err(|e| e.to_string())?;
            read_response(&mut s, &mut buf).await
        })
        .await
        .expect("probe answered in time")
        .expect("probe response");
        (status, buf[..body.start].to_vec(), buf[body].to_vec())
    })
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc (Linux); silently empty elsewhere.

/// CPU and context switches of one kind of thread over a window.
#[derive(Clone, Copy, Debug, Default)]
struct Class {
    cpu: f64,
    switches: u64,
    /// Threads of this kind that ran in the window.
    threads: usize,
}

/// Thread kinds by name prefix (the last catches the rest), with their labels.
const CLASSES: [(&str, &str); 5] = [
    ("srv-block", "signing threads"),
    ("srv-worker", "server async workers"),
    ("sqlx", "SQLite (sqlx) workers"),
    ("load-client", "load client (1 thread)"),
    ("", "other threads"),
];
const SIGNING: usize = 0;
const SERVER_ASYNC: usize = 1;

/// One thread's name, CPU seconds and context switches (voluntary + involuntary).
#[derive(Clone, Debug)]
struct ThreadSample {
    name: String,
    cpu: f64,
    switches: u64,
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse::<f64>().ok())
        .filter(|t| *t > 0.0)
        .unwrap_or(100.0)
}

/// utime + stime of one /proc stat file, in seconds; and the command name.
fn parse_stat(stat: &str, ticks: f64) -> Option<(String, f64)> {
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let name = stat[open + 1..close].to_string();
    let fields: Vec<&str> = stat[close + 1..].split_whitespace().collect();
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    let t = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    Some((name, (t(11)? + t(12)?) / ticks))
}

fn stat_cpu_secs(path: &str, ticks: f64) -> Option<f64> {
    parse_stat(&std::fs::read_to_string(path).ok()?, ticks).map(|(_, s)| s)
}

/// Voluntary + involuntary context switches from a /proc status file.
fn parse_switches(status: &str) -> u64 {
    status
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.ends_with("ctxt_switches")
                .then(|| v.trim().parse::<u64>().ok())?
        })
        .sum()
}

/// Every thread of this process: tid -> sample.
fn thread_cpu(ticks: f64) -> BTreeMap<u32, ThreadSample> {
    let mut out = BTreeMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for e in dir.flatten() {
        let Some(tid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let switches = std::fs::read_to_string(e.path().join("status"))
            .map(|s| parse_switches(&s))
            .unwrap_or(0);
        if let Some((name, cpu)) = parse_stat(&stat, ticks) {
            out.insert(
                tid,
                ThreadSample {
                    name,
                    cpu,
                    switches,
                },
            );
        }
    }
    out
}

fn cpu_delta(
    before: &BTreeMap<u32, ThreadSample>,
    after: &BTreeMap<u32, ThreadSample>,
) -> [Class; CLASSES.len()] {
    let mut c = [Class::default(); CLASSES.len()];
    for (tid, t) in after {
        let b = before.get(tid);
        let cpu = t.cpu - b.map_or(0.0, |b| b.cpu);
        let switches = t.switches.saturating_sub(b.map_or(0, |b| b.switches));
        let i = CLASSES
            .iter()
            .position(|(prefix, _)| t.name.starts_with(prefix))
            .unwrap_or(CLASSES.len() - 1);
        c[i].cpu += cpu;
        c[i].switches += switches;
        if cpu > 0.0 || switches > 0 {
            c[i].threads += 1;
        }
    }
    c
}

/// Machine-wide (busy, total) jiffies from /proc/stat, to spot other load on the box.
fn machine_jiffies() -> Option<(f64, f64)> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    let line = s.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<f64> = line
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    let total: f64 = v.iter().take(8).sum();
    let idle = v.get(3)? + v.get(4).copied().unwrap_or(0.0);
    Some((total - idle, total))
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    f64::from(sorted[i]) / 1000.0
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

    type Signed = gica_pki::Result<Vec<u8>>;
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
            let (tx, rx) = mpsc::channel::<Job>();
            self.queue = Some(tx);
            let rx = Arc::new(Mutex::new(rx));
            (0..n.max(1))
                .map(|i| {
                    let rx = rx.clone();
                    let responder = self.responder.clone();
                    std::thread::Builder::new()
                        .name(format!("srv-block-q{i}"))
                        .spawn(move || {
                            loop {
                                let job = match rx.lock() {
                                    Ok(r) => r.recv(),
                                    Err(_) => return,
                                };
                                let Ok((answers, nonce, reply)) = job else {
                                    return;
                                };
                                let _ = reply.send(responder.sign(
                                    &answers,
                                    nonce.as_ref(),
                                    SystemTime::now(),
                                ));
                            }
                        })
                        .expect("queue thread")
                })
                .collect()
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
    let mut http = format!(
        "POST /ocsp HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/ocsp-request\r\n\
         Content-Length: {}\r\n\r\n",
        der.len()
    )
    .into_bytes();
    let body_at = http.len();
    http.extend_from_slice(der);
    let nonce_at = body_at + find(der, nonce).expect("nonce in the request DER");
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
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let server_workers = opts.server_workers.unwrap_or(cores).max(1);
    let ticks = clock_ticks();

    let issuer = cert1("int-ca.pem");
    let leaf = cert1("tsa-p256.pem");
    let cert_id = CertId::for_certificate(&leaf, &issuer, DigestAlgorithm::Sha1).expect("CertID");

    // 1) Microbenchmarks on this thread.
    let signer = ca_signer();
    let msg = [0x5au8; 100];
    let raw = rate_of(opts.raw_secs, ticks, || {
        std::hint::black_box(signer.sign(std::hint::black_box(&msg)).expect("signs"));
    });
    eprintln!(
        "raw ECDSA P-256 signing: {:.0}/s on one thread ({} in {:.1} s); {cores} cores",
        raw.per_sec, raw.n, opts.raw_secs
    );
    let responder = Responder::new(
        issuer.clone(),
        None,
        Arc::new(ca_signer()),
        ResponderConfig::default(),
    )
    .expect("responder");
    let answers = vec![(cert_id.clone(), Status::Good)];
    let resp_sign = rate_of(opts.raw_secs, ticks, || {
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
    let resp_sign_nonce = rate_of(opts.raw_secs / 2.0, ticks, || {
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
    let parse_cost = rate_of(opts.raw_secs / 4.0, ticks, || {
        let der = decode_get_path(std::hint::black_box(&b64)).expect("decodes");
        let parsed = parse_request(&der, 16).expect("parses");
        assert!(responder.serves(&parsed.cert_ids[0]));
        std::hint::black_box(parsed.cert_ids[0].to_der().expect("DER"));
    });
    // ... and its parts.
    let part_secs = opts.raw_secs / 8.0;
    let part_decode = rate_of(part_secs, ticks, || {
        std::hint::black_box(decode_get_path(std::hint::black_box(&b64)).expect("decodes"));
    });
    let part_parse = rate_of(part_secs, ticks, || {
        std::hint::black_box(parse_request(std::hint::black_box(&get_der), 16).expect("parses"));
    });
    let part_key = rate_of(part_secs, ticks, || {
        let id = std::hint::black_box(&cert_id);
        assert!(responder.serves(id));
        std::hint::black_box(id.to_der().expect("DER"));
    });

    // 2) The server and the baseline, on one multi-thread runtime.
    let dir = tempfile::tempdir().expect("temporary directory");
    let db = seeded_db(dir.path(), &issuer, &leaf);
    let args = ServeArgs {
        db: Some(db),
        issuer: Some(fixture_path("int-ca.pem")),
        ca_key: Some(fixture_path("int-ca.key")),
        signing_threads: opts.signing_threads,
        ..Default::default()
    };
    let settings = ServeSettings::resolve(&args).expect("settings");
    let signing_threads = settings.signing_threads;
    let limits = settings.limits;
    // Threads are named so their CPU can be told apart: the runtime spawns its workers first,
    // every later thread is the blocking pool, which here only runs signing jobs.
    let spawned = Arc::new(AtomicUsize::new(0));
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(server_workers)
        .thread_name_fn({
            let spawned = spawned.clone();
            move || {
                let n = spawned.fetch_add(1, Ordering::Relaxed);
                if n < server_workers {
                    format!("srv-worker-{n}")
                } else {
                    format!("srv-block-{}", n - server_workers)
                }
            }
        })
        .enable_all()
        .build()
        .expect("server runtime");
    let service = server_rt
        .block_on(Service::start(settings))
        .expect("service starts");
    let store = service.server().store().clone();
    let store_issuer = issuer_id(&issuer);
    let store_serial = magnitude(&leaf);
    // One status lookup at a time through the pool: the store's share of a nonce request.
    let store_lookup = server_rt.block_on(async {
        let budget = Duration::from_secs_f64(opts.raw_secs / 4.0);
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
                Arc::new(ca_signer()),
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
        let (addr, phase) = match kind {
            PhaseKind::Get => (ocsp_addr, get_phase(get_http.clone())),
            PhaseKind::Baseline => (
                base_addr,
                Phase {
                    request: base_http.clone(),
                    nonce_at: None,
                    body_at: None,
                    check: Check::Len(get_body.len()),
                },
            ),
            PhaseKind::Nonce => (ocsp_addr, nonce_phase(ocsp_addr)),
            PhaseKind::GetLean => (exp_addr(), get_phase(get_request(exp_addr(), &b64))),
            PhaseKind::NoncePool | PhaseKind::NonceQueue | PhaseKind::NonceInline => {
                (exp_addr(), nonce_phase(exp_addr()))
            }
        };
        let r = run_phase(*kind, addr, phase, &opts, ticks);
        eprintln!("    {:.0} responses/s, {} errors", r.rate(), r.n_errors());
        results.push(r);
    }

    // Shut both servers down (bounded).
    let _ = stop_ocsp.send(());
    let _ = stop_base.send(());
    let note = |r: Result<Result<std::io::Result<()>, tokio::task::JoinError>, _>| match r {
        Ok(Ok(Ok(()))) => "clean".to_string(),
        Ok(Ok(Err(e))) => format!("serve error: {e}"),
        Ok(Err(e)) => format!("serve task failed: {e}"),
        Err(_) => format!("did not stop within {} s", STOP_TIMEOUT.as_secs()),
    };
    let (ocsp_stop, base_stop, exp_stop) = server_rt.block_on(async {
        let a = tokio::time::timeout(STOP_TIMEOUT, ocsp_task).await;
        let b = tokio::time::timeout(STOP_TIMEOUT, base_task).await;
        let mut e = Vec::new();
        for (tx, task) in experiments {
            let _ = tx.send(());
            e.push(note(tokio::time::timeout(STOP_TIMEOUT, task).await));
        }
        (note(a), note(b), e)
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
        "== gica OCSP load: ECDSA P-256 (int-ca signs) | {} conns, HTTP/1.1 keep-alive, \
         loopback | {cores} cores ==",
        opts.conns
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
            r.rate(),
            percentile(&r.latencies_us, 0.50),
            percentile(&r.latencies_us, 0.99),
            percentile(&r.latencies_us, 1.0),
            r.n_errors(),
            r.verified
        );
        for (k, v) in &r.errors {
            println!("    {v:>8}  {k}");
        }
    }
    println!();
    if let (Some(g), Some(b)) = (find_phase(PhaseKind::Get), find_phase(PhaseKind::Baseline)) {
        let ratio = pct(g.rate(), b.rate());
        println!(
            "cached GET / baseline           {ratio:>9.1} %   (goal >= {GOAL_GET_VS_BASELINE:.0} %: \
             {})",
            verdict(ratio, GOAL_GET_VS_BASELINE)
        );
        // The load client shares the cores: the ratio is that of (server + client) CPU per
        // response. The server's own share, from the CPU accounting below:
        let server_us = |r: &PhaseResult| match r.marks.as_slice() {
            [(t0, _, _), (t1, _, _)] if r.ok > 0 => {
                let c = cpu_delta(t0, t1);
                Some((c[SERVER_ASYNC].cpu + c[SIGNING].cpu) / r.ok as f64 * 1e6)
            }
            _ => None,
        };
        if let (Some(gu), Some(bu)) = (server_us(g), server_us(b)) {
            println!(
                "  server CPU per response       cached GET {gu:.1} us, baseline {bu:.1} us \
                 (server-bound ratio {:.1} %)",
                pct(bu, gu)
            );
        }
    }
    if let Some(n) = find_phase(PhaseKind::Nonce) {
        let ratio = pct(n.rate(), ideal);
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
        if let Some(c) = raw.per_cpu_second.filter(|c| *c > raw.per_sec * 1.1) {
            println!(
                "  ... against raw per CPU-second x cores ({:.0}): {:.1} % (the raw thread \
                 was short of CPU)",
                c * cores as f64,
                pct(n.rate(), c * cores as f64)
            );
        }
    }
    // The experiments, against the same references.
    for r in results.iter().filter(|r| r.kind.is_experiment()) {
        if r.kind.is_nonce() {
            println!(
                "{:<32}{:>9.1} % of ideal",
                r.kind.label(),
                pct(r.rate(), ideal)
            );
        } else if let Some(b) = find_phase(PhaseKind::Baseline) {
            println!(
                "{:<32}{:>9.1} % of baseline{}",
                r.kind.label(),
                pct(r.rate(), b.rate()),
                find_phase(PhaseKind::Get)
                    .map(|g| format!("; cached GET is {:.1} % of it", pct(g.rate(), r.rate())))
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
        let [(t0, j0, _), (t1, j1, _)] = r.marks.as_slice() else {
            continue;
        };
        let classes = cpu_delta(t0, t1);
        let total: f64 = classes.iter().map(|c| c.cpu).sum();
        if total <= 0.0 {
            continue;
        }
        let per = |x: f64| {
            if r.ok == 0 { f64::NAN } else { x / r.ok as f64 }
        };
        println!("CPU, {} (tick {:.0} ms):", r.kind.label(), 1000.0 / ticks);
        println!(
            "    {:<28}{:>6} {:>12} {:>16} {:>8}",
            "", "cores", "us/response", "switches/resp", "threads"
        );
        for (c, (_, label)) in classes.iter().zip(CLASSES) {
            if c.cpu > 0.0 || c.switches > 0 {
                println!(
                    "    {label:<28}{:>6.2} {:>12.1} {:>16.2} {:>8}",
                    c.cpu / r.window,
                    per(c.cpu) * 1e6,
                    per(c.switches as f64),
                    c.threads
                );
            }
        }
        let switches: u64 = classes.iter().map(|c| c.switches).sum();
        println!(
            "    {:<28}{:>6.2} {:>12.1} {:>16.2}",
            "this process",
            total / r.window,
            per(total) * 1e6,
            per(switches as f64)
        );
        let signing = classes[SIGNING].cpu;
        if r.kind.is_nonce() && signing > 0.0 {
            let raw_cpu = raw.per_cpu_second.unwrap_or(raw.per_sec);
            println!(
                "    responses per signing-core-second {:>8.0} ({:.1} % of raw signatures per \
                 CPU-second)",
                r.ok as f64 / signing,
                pct(r.ok as f64 / signing, raw_cpu)
            );
        }
        if let (Some((b0, a0)), Some((b1, a1))) = (j0, j1) {
            let all = (a1 - a0).max(1.0);
            let busy = (b1 - b0) / all * cores as f64;
            let others = (busy - total / r.window).max(0.0);
            println!(
                "    machine busy, all processes{busy:>6.2} cores ({:.1} %); other processes \
                 {others:.2}",
                busy / cores as f64 * 100.0
            );
            contended |= others > 0.1;
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
}
