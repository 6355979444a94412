//! Load run of the real TSA server, in-process, over loopback HTTP/1.1 keep-alive.
//!
//! 1. Measures the raw signing rate of the TSA key on one thread (the per-core ceiling).
//! 2. Starts `gica_tsa_server::TsaServer` on 127.0.0.1:0 (fixture key and chain, default
//!    `AuthorityConfig`, signing_threads = cores) on its own multi-thread tokio runtime.
//! 3. Drives it from a one-thread tokio runtime with C keep-alive connections, each sending a
//!    pre-built DER TimeStampReq (certReq false) back to back for D seconds, with a minimal
//!    hand-written HTTP/1.1 client so the client costs the server as little CPU as possible.
//! 4. Prints tokens/s against the ideal (raw rate x cores), latencies, errors, and where the
//!    CPU went (per thread kind, from /proc on Linux).
//!
//! ```text
//! cargo bench --bench tsa_load                      # P-256, 64 connections, 10 s
//! cargo bench --bench tsa_load -- --quick           # 2 s
//! GICA_LOAD_KEY=rsa cargo bench --bench tsa_load    # RSA-2048
//! cargo bench --bench tsa_load -- --secs 5 --conns 16 --key rsa
//! ```
//!
//! Environment: GICA_LOAD_SECS, GICA_LOAD_CONNS, GICA_LOAD_KEY (p256 | rsa),
//! GICA_LOAD_SIGNING_THREADS, GICA_LOAD_SERVER_WORKERS (both default to the core count),
//! GICA_LOAD_SERVER (`tsa`, the default, or an experiment below).
//! Command-line flags win over the environment; unknown arguments (cargo's `--bench`) are
//! ignored.
//!
//! Experiments (`--server inline|pool|blocking`), to tell the cost of the HTTP stack from the
//! cost of the hand-off to signing threads. All are bench-only stand-ins, not the product: the
//! same `gica_serve::serve` and `Authority::respond`, but no metrics, logging or content-type
//! check.
//! - `inline`: `respond` runs on the async worker that read the request (no hand-off).
//! - `pool`: N dedicated signing threads fed by a queue; the async side never holds a permit
//!   while a signing thread is idle.
//! - `blocking`: the design TsaServer had before `gica_serve::SigningPool` (a semaphore of N
//!   permits and `spawn_blocking`), with the permit released the moment signing ends.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::{Duration, Instant},
};

use der::{Decode, Encode};
use gica_pki::{
    DigestAlgorithm, Signer, SignerOptions, SoftwareSigner, cert,
    tsp::{
        Authority, AuthorityConfig, Expectation, PkiStatus, TimeStampReq, TimeStampReqBuilder,
        TimeStampResp, TokenVerifier,
    },
    x509_cert::Certificate,
};
use gica_tsa_server::{QUERY_TYPE, SystemClock, TsaServer};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};

const POLICY: &str = "1.3.6.1.4.1.99999.1.1";
/// Longest a single request may take before it counts as an error (the server's own queue
/// wait is 5 s).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection gives up after this many failures in a row.
const MAX_CONSECUTIVE_FAILURES: u32 = 3;
const MAX_HEADER_BYTES: usize = 16 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum KeyKind {
    P256,
    Rsa,
}

impl KeyKind {
    fn parse(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "rsa" | "rsa2048" | "rsa-2048" => Self::Rsa,
            "p256" | "p-256" | "ec" | "ecdsa" => Self::P256,
            other => panic!("unknown key {other:?}; use p256 or rsa"),
        }
    }

    fn fixture(self) -> &'static str {
        match self {
            Self::P256 => "tsa-p256",
            Self::Rsa => "tsa-rsa",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::P256 => "ECDSA P-256",
            Self::Rsa => "RSA-2048 PKCS#1 v1.5",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ServerKind {
    /// The product: `gica_tsa_server::TsaServer`.
    Tsa,
    /// Experiment: sign on the async worker.
    Inline,
    /// Experiment: dedicated signing threads behind a queue.
    Pool,
    /// Experiment: semaphore + spawn_blocking, permit released inside the closure.
    Blocking,
}

impl ServerKind {
    fn parse(s: &str) -> Self {
        match s.to_ascii_lowercase().as_str() {
            "tsa" | "tsaserver" => Self::Tsa,
            "inline" => Self::Inline,
            "pool" => Self::Pool,
            "blocking" => Self::Blocking,
            other => panic!("unknown server {other:?}; use tsa, inline, pool or blocking"),
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Tsa => "TsaServer",
            Self::Inline => "EXPERIMENT inline signing",
            Self::Pool => "EXPERIMENT signing-thread pool",
            Self::Blocking => "EXPERIMENT spawn_blocking, early permit release",
        }
    }
}

#[derive(Debug)]
struct Opts {
    secs: f64,
    warmup: f64,
    raw_secs: f64,
    conns: usize,
    key: KeyKind,
    signing_threads: Option<usize>,
    server_workers: Option<usize>,
    server: ServerKind,
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
            key: KeyKind::P256,
            signing_threads: None,
            server_workers: None,
            server: ServerKind::Tsa,
        };
        let mut secs_set = false;
        if let Some(v) = env("GICA_LOAD_SECS") {
            o.secs = parse_num("GICA_LOAD_SECS", &v);
            secs_set = true;
        }
        if let Some(v) = env("GICA_LOAD_CONNS") {
            o.conns = parse_num("GICA_LOAD_CONNS", &v);
        }
        if let Some(v) = env("GICA_LOAD_KEY") {
            o.key = KeyKind::parse(&v);
        }
        if let Some(v) = env("GICA_LOAD_SIGNING_THREADS") {
            o.signing_threads = Some(parse_num("GICA_LOAD_SIGNING_THREADS", &v));
        }
        if let Some(v) = env("GICA_LOAD_SERVER_WORKERS") {
            o.server_workers = Some(parse_num("GICA_LOAD_SERVER_WORKERS", &v));
        }
        if let Some(v) = env("GICA_LOAD_SERVER") {
            o.server = ServerKind::parse(&v);
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
                "--key" => {
                    if let Some(v) = value() {
                        o.key = KeyKind::parse(&v);
                    }
                }
                "--server" => {
                    if let Some(v) = value() {
                        o.server = ServerKind::parse(&v);
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
        o
    }
}

fn fixture(name: &str) -> String {
    let p = format!("{}/testdata/pki/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn certs(name: &str) -> Vec<Certificate> {
    cert::load_pem_certs(&fixture(name)).expect("fixture certificates")
}

fn signer(key: KeyKind) -> SoftwareSigner {
    SoftwareSigner::from_pem(
        &fixture(&format!("{}.key", key.fixture())),
        SignerOptions::default(),
    )
    .expect("fixture key")
}

/// The raw signing measurement.
struct Raw {
    /// Signatures per wall-clock second.
    rate: f64,
    n: u64,
    /// Signatures per CPU-second of the signing thread (None without /proc).
    per_cpu_second: Option<f64>,
    /// CPU used by everything else on the machine meanwhile, in cores.
    others: Option<f64>,
}

/// Signatures per second on this thread, signing a 100-byte message for about `secs`.
fn raw_sign_rate(s: &SoftwareSigner, secs: f64, ticks: f64) -> Raw {
    let msg = [0x5au8; 100];
    for _ in 0..3 {
        std::hint::black_box(s.sign(&msg).expect("signs"));
    }
    let budget = Duration::from_secs_f64(secs);
    let (cpu0, j0) = (
        stat_cpu_secs("/proc/thread-self/stat", ticks),
        machine_jiffies(),
    );
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        std::hint::black_box(s.sign(std::hint::black_box(&msg)).expect("signs"));
        n += 1;
    }
    let wall = start.elapsed().as_secs_f64();
    let (cpu1, j1) = (
        stat_cpu_secs("/proc/thread-self/stat", ticks),
        machine_jiffies(),
    );
    let cpu = cpu0.zip(cpu1).map(|(a, b)| b - a).filter(|c| *c > 0.0);
    let others = match (j0, j1, cpu) {
        (Some((b0, _)), Some((b1, _)), Some(c)) => Some(((b1 - b0) / ticks - c) / wall),
        _ => None,
    };
    Raw {
        rate: n as f64 / wall,
        n,
        per_cpu_second: cpu.map(|c| n as f64 / c),
        others,
    }
}

// ---------------------------------------------------------------------------------------------
// The client.

#[derive(Default)]
struct ConnStats {
    ok: u64,
    errors: BTreeMap<String, u64>,
    latencies_us: Vec<u32>,
    sample: Option<Vec<u8>>,
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
) -> Result<(u16, std::ops::Range<usize>), String> {
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

/// Cheap check: `SEQUENCE { SEQUENCE { INTEGER 0 (granted) ...} ...}` spanning the whole body.
fn looks_granted(b: &[u8]) -> bool {
    let mut i = 0;
    if b.first() != Some(&0x30) {
        return false;
    }
    i += 1;
    match der_len(b, &mut i) {
        Some(l) if i + l == b.len() => {}
        _ => return false,
    }
    if b.get(i) != Some(&0x30) {
        return false;
    }
    i += 1;
    if der_len(b, &mut i).is_none() {
        return false;
    }
    b.get(i..i + 3) == Some(&[0x02, 0x01, 0x00][..])
}

/// Full decode: granted with a token.
fn decodes_granted(b: &[u8]) -> bool {
    TimeStampResp::from_der(b).is_ok_and(|r| {
        matches!(r.status.status, PkiStatus::Granted) && r.time_stamp_token.is_some()
    })
}

async fn connection(
    addr: SocketAddr,
    request: Arc<[u8]>,
    measure_from: Instant,
    end: Instant,
) -> ConnStats {
    let mut st = ConnStats::default();
    let mut buf = Vec::with_capacity(8 * 1024);
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
                let good = if first {
                    first = false;
                    let ok = decodes_granted(body) && looks_granted(body);
                    if ok && st.sample.is_none() {
                        st.sample = Some(body.to_vec());
                    }
                    ok
                } else {
                    looks_granted(body)
                };
                if good {
                    failures = 0;
                    if t1 >= measure_from && t1 <= end {
                        st.ok += 1;
                        let us = (t1 - t0).as_micros().min(u128::from(u32::MAX)) as u32;
                        st.latencies_us.push(us);
                    }
                } else {
                    st.error("HTTP 200 but not a granted TimeStampResp");
                    failures += 1;
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

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc (Linux); silently empty elsewhere.

#[derive(Clone, Copy, Debug, Default)]
struct Cpu {
    signing: f64,
    server_async: f64,
    client: f64,
    other: f64,
}

impl Cpu {
    fn total(&self) -> f64 {
        self.signing + self.server_async + self.client + self.other
    }
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

/// Per-thread CPU seconds of this process: tid -> (name, seconds).
fn thread_cpu(ticks: f64) -> BTreeMap<u32, (String, f64)> {
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
        if let Some(x) = parse_stat(&stat, ticks) {
            out.insert(tid, x);
        }
    }
    out
}

fn cpu_delta(before: &BTreeMap<u32, (String, f64)>, after: &BTreeMap<u32, (String, f64)>) -> Cpu {
    let mut c = Cpu::default();
    for (tid, (name, secs)) in after {
        let d = secs - before.get(tid).map_or(0.0, |b| b.1);
        if name.starts_with("srv-block") || name.starts_with("gica-sign") {
            c.signing += d;
        } else if name.starts_with("srv-worker") {
            c.server_async += d;
        } else if name.starts_with("load-client") {
            c.client += d;
        } else {
            c.other += d;
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
// Experimental servers (bench-only), see the module docs.

mod experiment {
    use std::{
        future::Future,
        sync::{Arc, Mutex, mpsc},
        thread::JoinHandle,
        time::SystemTime,
    };

    use bytes::Bytes;
    use gica_pki::tsp::{Authority, random_serial};
    use gica_tsa_server::REPLY_TYPE;
    use hyper::StatusCode;
    use tokio::{
        net::TcpListener,
        sync::{Semaphore, oneshot},
    };

    pub type Job = (Bytes, oneshot::Sender<Vec<u8>>);

    /// Where `respond` runs.
    #[derive(Clone)]
    pub enum Signing {
        /// On the async worker.
        Inline,
        /// In the dedicated pool.
        Pool(mpsc::Sender<Job>),
        /// In tokio's blocking pool, at most as many at once as the semaphore has permits.
        Blocking(Arc<Semaphore>),
    }

    fn answer(authority: &Authority, body: &[u8]) -> Vec<u8> {
        authority
            .respond(body, SystemTime::now(), random_serial().expect("serial"))
            .der
    }

    /// `n` threads named `srv-block-pN` taking jobs from one queue until it closes.
    pub fn pool(authority: Arc<Authority>, n: usize) -> (mpsc::Sender<Job>, Vec<JoinHandle<()>>) {
        let (tx, rx) = mpsc::channel::<Job>();
        let rx = Arc::new(Mutex::new(rx));
        let threads = (0..n)
            .map(|i| {
                let rx = rx.clone();
                let authority = authority.clone();
                std::thread::Builder::new()
                    .name(format!("srv-block-p{i}"))
                    .spawn(move || {
                        loop {
                            let job = match rx.lock() {
                                Ok(r) => r.recv(),
                                Err(_) => return,
                            };
                            let Ok((body, reply)) = job else { return };
                            let _ = reply.send(answer(&authority, &body));
                        }
                    })
                    .expect("pool thread")
            })
            .collect();
        (tx, threads)
    }

    /// `gica_serve::serve` with a handler that signs as `signing` says.
    pub async fn serve(
        listener: TcpListener,
        authority: Arc<Authority>,
        signing: Signing,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let limits = gica_serve::Limits::default();
        gica_serve::serve(
            listener,
            limits,
            move |req, _peer| {
                let authority = authority.clone();
                let signing = signing.clone();
                async move {
                    let body = match gica_serve::read_body(req, &limits).await {
                        Ok(b) => b,
                        Err(e) => return gica_serve::text(e.status(), e.to_string()),
                    };
                    let der = match signing {
                        Signing::Inline => answer(&authority, &body),
                        Signing::Blocking(sem) => {
                            let Ok(permit) = sem.acquire_owned().await else {
                                return gica_serve::text(StatusCode::SERVICE_UNAVAILABLE, "closed");
                            };
                            let job = tokio::task::spawn_blocking(move || {
                                let der = answer(&authority, &body);
                                drop(permit);
                                der
                            });
                            match job.await {
                                Ok(d) => d,
                                Err(_) => {
                                    return gica_serve::text(
                                        StatusCode::INTERNAL_SERVER_ERROR,
                                        "signing task failed",
                                    );
                                }
                            }
                        }
                        Signing::Pool(tx) => {
                            let (otx, orx) = oneshot::channel();
                            if tx.send((body, otx)).is_err() {
                                return gica_serve::text(
                                    StatusCode::SERVICE_UNAVAILABLE,
                                    "pool gone",
                                );
                            }
                            match orx.await {
                                Ok(d) => d,
                                Err(_) => {
                                    return gica_serve::text(
                                        StatusCode::INTERNAL_SERVER_ERROR,
                                        "signing thread failed",
                                    );
                                }
                            }
                        }
                    };
                    gica_serve::respond(StatusCode::OK, REPLY_TYPE, der)
                }
            },
            shutdown,
        )
        .await
    }
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let opts = Opts::from_env_and_args();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let signing_threads = opts.signing_threads.unwrap_or(cores).max(1);
    let server_workers = opts.server_workers.unwrap_or(cores).max(1);
    let ticks = clock_ticks();

    // a) raw signing rate on one thread.
    let raw_signer = signer(opts.key);
    let raw = raw_sign_rate(&raw_signer, opts.raw_secs, ticks);
    let (raw_rate, raw_n) = (raw.rate, raw.n);
    let ideal = raw_rate * cores as f64;
    eprintln!(
        "raw {} signing: {raw_rate:.0}/s on one thread ({raw_n} in {:.1} s); {cores} cores",
        opts.key.label(),
        opts.raw_secs
    );

    // b) the server.
    let tsa_cert = certs(&format!("{}.pem", opts.key.fixture())).remove(0);
    let chain = certs("chain.pem");
    let mut config = AuthorityConfig::new(POLICY.parse().expect("policy OID"));
    config.chain = chain.clone();
    let authority =
        Authority::new(tsa_cert.clone(), Arc::new(signer(opts.key)), config).expect("authority");
    // Threads are named so their CPU can be told apart: the runtime spawns its workers first,
    // every later thread is the blocking pool (signing, in the `blocking` experiment). The
    // server's own signing threads are `gica-sign-N`, the `pool` experiment's `srv-block-pN`.
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
    let listener = server_rt
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let stop = async {
        let _ = stop_rx.await;
    };
    let mut pool_threads = Vec::new();
    let serving = match opts.server {
        ServerKind::Tsa => {
            let server = Arc::new(
                TsaServer::new(
                    authority,
                    gica_serve::Limits::default(),
                    signing_threads,
                    Arc::new(SystemClock),
                )
                .expect("server"),
            );
            server_rt.spawn(server.serve(listener, stop))
        }
        ServerKind::Inline => server_rt.spawn(experiment::serve(
            listener,
            Arc::new(authority),
            experiment::Signing::Inline,
            stop,
        )),
        ServerKind::Pool => {
            let authority = Arc::new(authority);
            let (tx, threads) = experiment::pool(authority.clone(), signing_threads);
            pool_threads = threads;
            server_rt.spawn(experiment::serve(
                listener,
                authority,
                experiment::Signing::Pool(tx),
                stop,
            ))
        }
        ServerKind::Blocking => server_rt.spawn(experiment::serve(
            listener,
            Arc::new(authority),
            experiment::Signing::Blocking(Arc::new(tokio::sync::Semaphore::new(signing_threads))),
            stop,
        )),
    };

    // c) the load.
    let req: TimeStampReq = TimeStampReqBuilder::new(DigestAlgorithm::Sha256)
        .data(b"a document to be time-stamped")
        .with_nonce()
        .cert_req(false)
        .build()
        .expect("request");
    let req_der = req.to_der().expect("request DER");
    let mut http = format!(
        "POST /tsa HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {QUERY_TYPE}\r\n\
         Content-Length: {}\r\n\r\n",
        req_der.len()
    )
    .into_bytes();
    http.extend_from_slice(&req_der);
    let http: Arc<[u8]> = http.into();

    eprintln!(
        "{} on http://{addr}/tsa: {server_workers} async workers, {signing_threads} signing \
         threads; {} connections for {:.1} s after {:.1} s warm-up",
        opts.server.label(),
        opts.conns,
        opts.secs,
        opts.warmup
    );
    let conns = opts.conns;
    let (warmup, secs) = (opts.warmup, opts.secs);
    let cpu_marks: Arc<std::sync::Mutex<Vec<_>>> = Arc::default();
    let client = std::thread::Builder::new()
        .name("load-client".into())
        .spawn({
            let cpu_marks = cpu_marks.clone();
            move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("client runtime");
                rt.block_on(async move {
                    let start = Instant::now();
                    let measure_from = start + Duration::from_secs_f64(warmup);
                    let end = measure_from + Duration::from_secs_f64(secs);
                    let tasks: Vec<_> = (0..conns)
                        .map(|_| tokio::spawn(connection(addr, http.clone(), measure_from, end)))
                        .collect();
                    // CPU snapshots at the edges of the measured window.
                    tokio::time::sleep_until(measure_from.into()).await;
                    let m0 = (thread_cpu(ticks), machine_jiffies(), Instant::now());
                    tokio::time::sleep_until(end.into()).await;
                    let m1 = (thread_cpu(ticks), machine_jiffies(), Instant::now());
                    if let Ok(mut m) = cpu_marks.lock() {
                        m.push(m0);
                        m.push(m1);
                    }
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
                    all
                })
            }
        })
        .expect("client thread");
    let stats = client.join().expect("client thread panicked");

    // Shut the server down (bounded).
    let _ = stop_tx.send(());
    let stopped =
        server_rt.block_on(async { tokio::time::timeout(Duration::from_secs(10), serving).await });
    let shutdown_note = match stopped {
        Ok(Ok(Ok(()))) => "clean".to_string(),
        Ok(Ok(Err(e))) => format!("serve error: {e}"),
        Ok(Err(e)) => format!("serve task failed: {e}"),
        Err(_) => "did not stop within 10 s".to_string(),
    };
    server_rt.shutdown_timeout(Duration::from_secs(2));
    // The pool's queue closed with the server's handler; its threads have returned or will
    // after their current job.
    for t in pool_threads {
        let _ = t.join();
    }

    // d) summary.
    let ok: u64 = stats.iter().map(|s| s.ok).sum();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for s in &stats {
        for (k, v) in &s.errors {
            *errors.entry(k.clone()).or_default() += v;
        }
    }
    let n_errors: u64 = errors.values().sum();
    let mut lat: Vec<u32> = stats
        .iter()
        .flat_map(|s| s.latencies_us.iter().copied())
        .collect();
    lat.sort_unstable();
    let marks = cpu_marks.lock().map(|m| m.clone()).unwrap_or_default();
    let window = match marks.as_slice() {
        [a, b] => (b.2 - a.2).as_secs_f64(),
        _ => secs,
    };
    let rate = ok as f64 / window;
    let ratio = rate / ideal * 100.0;

    let sample_check = match stats.iter().find_map(|s| s.sample.as_deref()) {
        None => "no sample response".to_string(),
        Some(der) => {
            let mut untrusted = vec![tsa_cert];
            untrusted.extend(chain);
            match TokenVerifier::new(certs("root-ca.pem"))
                .untrusted(untrusted)
                .verify_response(der, &Expectation::request(&req))
            {
                Ok(_) => format!("verified ({} bytes)", der.len()),
                Err(e) => format!("FAILED: {e}"),
            }
        }
    };

    println!();
    println!(
        "== gica TSA load: {} | {} | {} conns, HTTP/1.1 keep-alive, loopback ==",
        opts.key.label(),
        opts.server.label(),
        conns
    );
    println!(
        "server threads              {server_workers} async workers, {signing_threads} signing"
    );
    println!(
        "raw signatures/s (1 core)   {raw_rate:>10.0}   ({})",
        match (raw.per_cpu_second, raw.others) {
            (Some(c), Some(o)) =>
                format!("{c:.0} per CPU-second; other processes used {o:.2} cores meanwhile"),
            _ => "no /proc: contention unknown".into(),
        }
    );
    println!("cores                       {cores:>10}");
    println!("ideal (raw x cores)         {ideal:>10.0}");
    println!("server tokens/s             {rate:>10.0}   ({ok} tokens in {window:.2} s)");
    println!("ratio tokens/s / ideal      {ratio:>9.1} %");
    println!(
        "latency p50 / p99 / max     {:>10.2} / {:.2} / {:.2} ms",
        percentile(&lat, 0.50),
        percentile(&lat, 0.99),
        percentile(&lat, 1.0)
    );
    println!("errors                      {n_errors:>10}");
    for (k, v) in &errors {
        println!("    {v:>8}  {k}");
    }
    println!("sample token                {sample_check}");
    println!("server shutdown             {shutdown_note}");
    let mut contended = raw.others.is_some_and(|o| o > 0.1);
    if let [(t0, j0, _), (t1, j1, _)] = marks.as_slice() {
        let cpu = cpu_delta(t0, t1);
        if cpu.total() > 0.0 {
            let per_token_us = |secs: f64| {
                if ok == 0 {
                    f64::NAN
                } else {
                    secs / ok as f64 * 1e6
                }
            };
            println!(
                "CPU in the window (cores busy; us per token), tick {:.0} ms:",
                1000.0 / ticks
            );
            for (name, secs) in [
                ("signing threads (respond)", cpu.signing),
                ("server async workers", cpu.server_async),
                ("load client (1 thread)", cpu.client),
                ("other threads", cpu.other),
                ("this process", cpu.total()),
            ] {
                println!(
                    "    {name:<26}{:>6.2} cores  {:>8.1} us/token",
                    secs / window,
                    per_token_us(secs)
                );
            }
            println!(
                "    raw sign, for comparison         {:>8.1} us/signature",
                1e6 / raw_rate
            );
            if cpu.signing > 0.0 {
                println!(
                    "    tokens per signing-core-second   {:>8.0} ({:.1} % of raw)",
                    ok as f64 / cpu.signing,
                    ok as f64 / cpu.signing / raw_rate * 100.0
                );
            }
            if let (Some((b0, a0)), Some((b1, a1))) = (j0, j1) {
                let all = (a1 - a0).max(1.0);
                let busy = (b1 - b0) / all * cores as f64;
                let others = (busy - cpu.total() / window).max(0.0);
                println!(
                    "    machine busy, all processes{busy:>6.2} cores ({:.1} %); idle {:.2}",
                    busy / cores as f64 * 100.0,
                    (cores as f64 - busy).max(0.0)
                );
                println!("    other processes           {others:>6.2} cores");
                contended |= others > 0.1;
            }
        }
    }
    if contended {
        println!(
            "WARNING: other processes used more than 0.1 core during the run; the numbers are \
             not reliable, run again on a quiet machine"
        );
    }
}
