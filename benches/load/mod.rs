//! What the load benches `benches/tsa_load.rs`, `benches/ocsp.rs` and `benches/registry.rs`
//! share. Each includes it with `#[path = "load/mod.rs"] mod load;`; a file in a subdirectory
//! of benches/ is not a bench target of its own.
//!
//! - Options common to both ([`Opts`]): GICA_LOAD_SECS / `--secs` (measured seconds, default
//!   10), GICA_LOAD_CONNS / `--conns` (keep-alive connections, default 64),
//!   GICA_LOAD_SIGNING_THREADS and GICA_LOAD_SERVER_WORKERS (both default to the core count),
//!   `--quick` (2 s unless `--secs` is given, shorter warm-up and single-thread runs),
//!   GICA_LOAD_MAX_CONNECTION_AGE / `--max-connection-age` (seconds; the servers' default
//!   otherwise) and GICA_LOAD_SOAK / `--soak SECS` (a soak: SECS seconds, connection age 20 s
//!   unless given, every failure counted and the run failed on any; see [`soak_report`]); a
//!   bench adds its own as (variable, flag, setter). Flags win over the environment; unknown
//!   arguments (cargo's `--bench`) are ignored.
//! - Fixtures from testdata/pki.
//! - Single-thread rates ([`rate_of`], [`raw_sign_rate`]: the per-core ceiling).
//! - The servers' multi-thread runtime with named threads ([`server_runtime`]), the
//!   experiments' queue-fed threads ([`queue_threads`]) and a bounded wait for a server to
//!   stop ([`stopped`]).
//! - The load client ([`drive`]): C keep-alive connections from a one-thread tokio runtime on
//!   a thread of its own, with a minimal hand-written HTTP/1.1 client so that the client costs
//!   the server as little CPU as possible. Like any keep-alive client it opens a new connection
//!   after a response that says `Connection: close` (counted), and counts connection-level
//!   failures (a request lost to a closed or broken connection) apart. What a connection sends and how it checks the
//!   answers is the bench's ([`Exchange`]).
//! - CPU accounting from /proc on Linux (silently empty elsewhere): CPU seconds and context
//!   switches per kind of thread ([`THREAD_KINDS`]) over the measured window, and the machine's
//!   load from other processes.

use std::{
    collections::BTreeMap,
    net::SocketAddr,
    ops::Range,
    path::{Path, PathBuf},
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
        mpsc,
    },
    time::{Duration, Instant},
};

use gica_pki::{Signer, SignerOptions, SoftwareSigner, cert, x509_cert::Certificate};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    runtime::Runtime,
    task::{JoinError, JoinHandle},
};

/// Longest a single request may take before it counts as an error (the servers' signing
/// queues wait 5 s at most).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection gives up after this many failures in a row.
const MAX_CONSECUTIVE_FAILURES: u32 = 3;
const MAX_HEADER_BYTES: usize = 16 * 1024;
/// Bound on stopping a server once its clients are gone.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Other processes busy for more than this many cores make the numbers unreliable.
pub const CONTENDED_CORES: f64 = 0.1;
/// Connection age of a soak unless `--max-connection-age` says otherwise: short, so that a
/// run of a few minutes passes several.
const SOAK_CONNECTION_AGE: u64 = 20;

// ---------------------------------------------------------------------------------------------
// Options.

/// The options every load bench takes.
#[derive(Debug)]
pub struct Opts {
    /// Measured seconds (of each phase).
    pub secs: f64,
    /// Seconds of load before the measured window.
    pub warmup: f64,
    /// Seconds of the single-thread raw signing measurement.
    pub raw_secs: f64,
    /// Keep-alive connections of the load client.
    pub conns: usize,
    pub signing_threads: Option<usize>,
    pub server_workers: Option<usize>,
    /// The servers' `max_connection_age` in seconds, if not their default.
    pub max_connection_age: Option<u64>,
    /// A soak run (`--soak SECS`).
    pub soak: bool,
}

/// A bench's own option: its environment variable, its flag, and what to do with a value.
pub type Own<'a> = (&'static str, &'static str, &'a mut dyn FnMut(&str));

pub fn parse_num<T: std::str::FromStr>(what: &str, v: &str) -> T {
    v.trim()
        .parse()
        .unwrap_or_else(|_| panic!("{what}: not a number: {v:?}"))
}

impl Opts {
    /// The common options from the environment, then the command line; the values of the
    /// bench's `own` options go to their setters in the same order.
    pub fn from_env_and_args(own: &mut [Own<'_>]) -> Self {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.trim().is_empty());
        let mut o = Opts {
            secs: 10.0,
            warmup: 1.0,
            raw_secs: 2.0,
            conns: 64,
            signing_threads: None,
            server_workers: None,
            max_connection_age: None,
            soak: false,
        };
        let mut secs_set = false;
        let mut soak_secs = None;
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
        if let Some(v) = env("GICA_LOAD_MAX_CONNECTION_AGE") {
            o.max_connection_age = Some(parse_num("GICA_LOAD_MAX_CONNECTION_AGE", &v));
        }
        if let Some(v) = env("GICA_LOAD_SOAK") {
            soak_secs = Some(parse_num::<f64>("GICA_LOAD_SOAK", &v));
        }
        for (var, _, set) in own.iter_mut() {
            if let Some(v) = env(var) {
                set(&v);
            }
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
                "--max-connection-age" => {
                    if let Some(v) = value() {
                        o.max_connection_age = Some(parse_num("--max-connection-age", &v));
                    }
                }
                "--soak" => {
                    if let Some(v) = value() {
                        soak_secs = Some(parse_num("--soak", &v));
                    }
                }
                flag => {
                    // The bench's own, else cargo's --bench, filters, anything else.
                    if let Some((_, _, set)) = own.iter_mut().find(|(_, f, _)| *f == flag)
                        && let Some(v) = value()
                    {
                        set(&v);
                    }
                }
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
        if let Some(secs) = soak_secs {
            o.soak = true;
            o.secs = secs;
            o.max_connection_age.get_or_insert(SOAK_CONNECTION_AGE);
        }
        o.secs = o.secs.clamp(0.2, 3600.0);
        assert_ne!(
            o.max_connection_age,
            Some(0),
            "--max-connection-age must be positive"
        );
        o.conns = o.conns.clamp(1, 4000);
        o
    }
}

impl Opts {
    /// The servers' default limits with the connection age of this run.
    pub fn limits(&self) -> gica_serve::Limits {
        let mut limits = gica_serve::Limits::default();
        if let Some(secs) = self.max_connection_age {
            limits.max_connection_age = Duration::from_secs(secs);
        }
        limits
    }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

// ---------------------------------------------------------------------------------------------
// Fixtures.

pub fn fixture_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/pki")
        .join(name)
}

pub fn fixture(name: &str) -> String {
    let p = fixture_path(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn certs(name: &str) -> Vec<Certificate> {
    cert::load_pem_certs(&fixture(name)).expect("fixture certificates")
}

/// The first certificate of a fixture.
pub fn cert1(name: &str) -> Certificate {
    certs(name).remove(0)
}

/// The software signer of a fixture key.
#[allow(dead_code, reason = "used by ocsp only")]
pub fn signer(name: &str) -> SoftwareSigner {
    SoftwareSigner::from_pem(&fixture(name), SignerOptions::default()).expect("fixture key")
}

// ---------------------------------------------------------------------------------------------
// Single-thread rates.

/// A rate measured on one thread.
#[derive(Clone, Copy, Debug)]
pub struct Rate {
    /// Operations per wall-clock second.
    pub per_sec: f64,
    pub n: u64,
    /// Operations per CPU-second of this thread (None without /proc).
    pub per_cpu_second: Option<f64>,
    /// CPU used by everything else on the machine meanwhile, in cores (None without /proc).
    #[allow(dead_code, reason = "read by tsa_load only")]
    pub others: Option<f64>,
}

impl Rate {
    /// Microseconds an operation.
    pub fn us(&self) -> f64 {
        1e6 / self.per_sec
    }
}

/// Runs `op` back to back on this thread for about `secs` (after three unmeasured runs).
pub fn rate_of(secs: f64, ticks: f64, mut op: impl FnMut()) -> Rate {
    for _ in 0..3 {
        op();
    }
    let budget = Duration::from_secs_f64(secs);
    let (cpu0, j0) = (
        stat_cpu_secs("/proc/thread-self/stat", ticks),
        machine_jiffies(),
    );
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        op();
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
    Rate {
        per_sec: n as f64 / wall,
        n,
        per_cpu_second: cpu.map(|c| n as f64 / c),
        others,
    }
}

/// Raw signatures of a 100-byte message per second on this thread, for about `secs`.
pub fn raw_sign_rate(signer: &dyn Signer, secs: f64, ticks: f64) -> Rate {
    let msg = [0x5au8; 100];
    rate_of(secs, ticks, || {
        std::hint::black_box(signer.sign(std::hint::black_box(&msg)).expect("signs"));
    })
}

// ---------------------------------------------------------------------------------------------
// The servers' side.

/// A multi-thread runtime of `workers` async workers for the servers. Threads are named so
/// their CPU can be told apart (see [`THREAD_KINDS`]): the runtime spawns its workers first,
/// `srv-worker-N`; every later thread is its blocking pool, `srv-block-N`.
pub fn server_runtime(workers: usize) -> Runtime {
    named_runtime("srv", workers)
}

/// [`server_runtime`] with threads named `{prefix}-worker-N` and `{prefix}-block-N`: a second
/// server in the same process (the registry bench's TSA, `tsa-`) is told apart by its prefix.
pub fn named_runtime(prefix: &'static str, workers: usize) -> Runtime {
    let spawned = Arc::new(AtomicUsize::new(0));
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .thread_name_fn(move || {
            let n = spawned.fetch_add(1, Ordering::Relaxed);
            if n < workers {
                format!("{prefix}-worker-{n}")
            } else {
                format!("{prefix}-block-{}", n - workers)
            }
        })
        .enable_all()
        .build()
        .expect("server runtime")
}

/// `n` threads (at least one) named `{name}N` that run `work` on the jobs of one queue until
/// every sender is gone: the experiments' dedicated signing threads.
pub fn queue_threads<J: Send + 'static>(
    name: &str,
    n: usize,
    work: impl Fn(J) + Send + Sync + 'static,
) -> (mpsc::Sender<J>, Vec<std::thread::JoinHandle<()>>) {
    let (tx, rx) = mpsc::channel::<J>();
    let rx = Arc::new(Mutex::new(rx));
    let work = Arc::new(work);
    let threads = (0..n.max(1))
        .map(|i| {
            let (rx, work) = (rx.clone(), work.clone());
            std::thread::Builder::new()
                .name(format!("{name}{i}"))
                .spawn(move || {
                    loop {
                        let job = match rx.lock() {
                            Ok(r) => r.recv(),
                            Err(_) => return,
                        };
                        let Ok(job) = job else { return };
                        work(job);
                    }
                })
                .expect("queue thread")
        })
        .collect();
    (tx, threads)
}

/// Waits, bounded, for a server task that was told to stop; how it ended, for the report.
pub async fn stopped(task: JoinHandle<std::io::Result<()>>) -> String {
    let r: Result<Result<std::io::Result<()>, JoinError>, _> =
        tokio::time::timeout(STOP_TIMEOUT, task).await;
    match r {
        Ok(Ok(Ok(()))) => "clean".to_string(),
        Ok(Ok(Err(e))) => format!("serve error: {e}"),
        Ok(Err(e)) => format!("serve task failed: {e}"),
        Err(_) => format!("did not stop within {} s", STOP_TIMEOUT.as_secs()),
    }
}

// ---------------------------------------------------------------------------------------------
// The client.

/// What one connection sends and how it checks the answers.
pub trait Exchange: Send + 'static {
    /// The whole HTTP request to send next; it may be rewritten before each send (a fresh
    /// nonce).
    fn request(&mut self) -> &[u8];

    /// Checks the body of an HTTP 200 answer to the request just sent; `first` for the first
    /// answer on the connection, to be checked in full where the bench can. An error is
    /// counted as it is worded.
    fn check(&mut self, first: bool, body: &[u8]) -> Result<Checked, String>;
}

/// How a good answer was checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Checked {
    /// In full (decoded, or its signature verified): counts in [`Run::verified`] and may be
    /// the [`Run::sample`].
    Fully,
    /// By cheap checks only.
    Cheaply,
}

/// `POST {path}` of `body` to `addr`, and the offset of the body in it.
pub fn post_request(
    addr: SocketAddr,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (Vec<u8>, usize) {
    let mut http = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    let body_at = http.len();
    http.extend_from_slice(body);
    (http, body_at)
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Whether a response head says `Connection: close`.
pub fn says_close(head: &[u8]) -> bool {
    head.split(|&b| b == b'\n').any(|line| {
        std::str::from_utf8(line)
            .ok()
            .and_then(|l| l.split_once(':'))
            .is_some_and(|(name, value)| {
                name.trim().eq_ignore_ascii_case("connection")
                    && value
                        .split(',')
                        .any(|t| t.trim().eq_ignore_ascii_case("close"))
            })
    })
}

/// Reads one response into `buf`; returns (status code, body range).
pub async fn read_response(
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

/// The length of the DER SEQUENCE at the start of `b`, and what follows its header.
fn der_sequence(b: &[u8]) -> Option<(usize, &[u8])> {
    let rest = b.strip_prefix(&[0x30])?;
    let mut i = 0;
    let len = der_len(rest, &mut i)?;
    Some((len, &rest[i..]))
}

/// Cheap check of a response body without decoding it: a DER SEQUENCE spanning the whole
/// body whose contents, inside `nested` more SEQUENCE headers, start with `prefix`.
pub fn der_looks_like(body: &[u8], nested: usize, prefix: &[u8]) -> bool {
    let Some((len, mut rest)) = der_sequence(body) else {
        return false;
    };
    if len != rest.len() {
        return false;
    }
    for _ in 0..nested {
        match der_sequence(rest) {
            Some((_, inner)) => rest = inner,
            None => return false,
        }
    }
    rest.starts_with(prefix)
}

#[derive(Default)]
struct ConnStats {
    ok: u64,
    /// Every answer, in the window or not.
    answers: u64,
    /// Requests lost to the connection (closed, reset, timed out) and failed connects.
    lost: u64,
    /// Responses that said `Connection: close`.
    closed_by_server: u64,
    errors: BTreeMap<String, u64>,
    latencies_us: Vec<u32>,
    verified: u64,
    sample: Option<Vec<u8>>,
}

impl ConnStats {
    fn error(&mut self, kind: impl Into<String>) {
        *self.errors.entry(kind.into()).or_default() += 1;
    }
}

async fn connection<E: Exchange>(
    addr: SocketAddr,
    mut ex: E,
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
                    st.lost += 1;
                    failures += 1;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
                Err(_) => {
                    st.error("connect timeout");
                    st.lost += 1;
                    failures += 1;
                    continue;
                }
            },
        };
        let request = ex.request();
        let t0 = Instant::now();
        let exchange = async {
            s.write_all(request)
                .await
                .map_err(|e| format!("write: {e}"))?;
            read_response(s, &mut buf).await
        };
        let result = match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
            Ok(r) => r,
            Err(_) => Err("request timeout".into()),
        };
        let t1 = Instant::now();
        let close = matches!(&result, Ok((_, body)) if says_close(&buf[..body.start]));
        st.answers += u64::from(result.is_ok());
        match result {
            Ok((200, body)) => {
                let body = &buf[body];
                match ex.check(first, body) {
                    Ok(checked) => {
                        if checked == Checked::Fully {
                            st.verified += 1;
                            if st.sample.is_none() {
                                st.sample = Some(body.to_vec());
                            }
                        }
                        failures = 0;
                        if t1 >= measure_from && t1 <= end {
                            st.ok += 1;
                            let us = (t1 - t0).as_micros().min(u128::from(u32::MAX)) as u32;
                            st.latencies_us.push(us);
                        }
                    }
                    Err(e) => {
                        st.error(e);
                        failures += 1;
                    }
                }
                first = false;
            }
            Ok((code, _)) => {
                st.error(format!("HTTP {code}"));
                failures += 1;
            }
            Err(e) => {
                st.error(e);
                st.lost += 1;
                failures += 1;
                stream = None; // the connection's state is unknown: reconnect
            }
        }
        if close {
            st.closed_by_server += 1;
            stream = None;
        }
    }
    st
}

/// The outcome of one [`drive`].
pub struct Run {
    /// Good responses that arrived in the measured window.
    pub ok: u64,
    /// Good responses checked in full (the first of each connection, where the bench can).
    #[allow(dead_code, reason = "read by ocsp only")]
    pub verified: u64,
    /// Error counts by kind.
    pub errors: BTreeMap<String, u64>,
    /// Every answer, warm-up included.
    pub answers: u64,
    /// Requests lost at the connection level (closed or broken connection, time-out, failed
    /// connect), warm-up included; also in `errors`.
    pub lost: u64,
    /// Responses that said `Connection: close` (the server retiring a connection).
    pub closed_by_server: u64,
    /// Latencies of the `ok` responses, sorted.
    pub latencies_us: Vec<u32>,
    /// Seconds of the measured window.
    pub window: f64,
    /// The body of a good response checked in full.
    #[allow(dead_code, reason = "read by tsa_load only")]
    pub sample: Option<Vec<u8>>,
    /// CPU marks at the window's edges.
    marks: [Mark; 2],
}

impl Run {
    pub fn rate(&self) -> f64 {
        self.ok as f64 / self.window
    }

    pub fn n_errors(&self) -> u64 {
        self.errors.values().sum()
    }

    /// The latency at percentile `p` (0..=1), in milliseconds.
    pub fn latency_ms(&self, p: f64) -> f64 {
        let sorted = &self.latencies_us;
        if sorted.is_empty() {
            return f64::NAN;
        }
        let i = ((sorted.len() - 1) as f64 * p).round() as usize;
        f64::from(sorted[i]) / 1000.0
    }

    /// Where the CPU went in the measured window.
    pub fn cpu(&self, cores: usize) -> CpuUse {
        let [a, b] = &self.marks;
        let kinds = cpu_delta(&a.threads, &b.threads);
        let total = kinds.iter().map(|c| c.cpu).sum::<f64>();
        let machine = match (a.machine, b.machine) {
            (Some((b0, a0)), Some((b1, a1))) => {
                let all = (a1 - a0).max(1.0);
                let busy = (b1 - b0) / all * cores as f64;
                Some((busy, (busy - total / self.window).max(0.0)))
            }
            _ => None,
        };
        CpuUse {
            kinds,
            total,
            machine,
        }
    }
}

/// Drives the server at `addr` with one keep-alive connection per exchange, from a thread of
/// its own (`load-client`) running a one-thread tokio runtime: `opts.warmup` seconds of load,
/// then `opts.secs` measured (the good responses that arrive in the window count), with CPU
/// marks at the window's edges.
pub fn drive<E: Exchange>(addr: SocketAddr, exchanges: Vec<E>, opts: &Opts, ticks: f64) -> Run {
    let (warmup, secs) = (opts.warmup, opts.secs);
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
                let tasks: Vec<_> = exchanges
                    .into_iter()
                    .map(|ex| tokio::spawn(connection(addr, ex, measure_from, end)))
                    .collect();
                tokio::time::sleep_until(measure_from.into()).await;
                let m0 = Mark::now(ticks);
                tokio::time::sleep_until(end.into()).await;
                let m1 = Mark::now(ticks);
                let mut all = Vec::with_capacity(tasks.len());
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
                (all, [m0, m1])
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
    Run {
        ok: stats.iter().map(|s| s.ok).sum(),
        verified: stats.iter().map(|s| s.verified).sum(),
        errors,
        answers: stats.iter().map(|s| s.answers).sum(),
        lost: stats.iter().map(|s| s.lost).sum(),
        closed_by_server: stats.iter().map(|s| s.closed_by_server).sum(),
        latencies_us,
        window: (marks[1].at - marks[0].at).as_secs_f64(),
        sample: stats.into_iter().find_map(|s| s.sample),
        marks,
    }
}

/// Prints the outcome of a soak run of `what` and whether it passed: every request answered,
/// none lost at the connection level, no error of any kind.
pub fn soak_report(what: &str, run: &Run, opts: &Opts) -> bool {
    let age = opts.limits().max_connection_age.as_secs();
    let secs = opts.warmup + opts.secs;
    let passed = run.lost == 0 && run.n_errors() == 0 && run.answers > 0;
    println!();
    println!(
        "== soak: {what} | {} conns, {secs:.0} s, max connection age {age} s (~{:.1} ages) ==",
        opts.conns,
        secs / age.max(1) as f64
    );
    println!("requests answered           {:>10}", run.answers);
    println!(
        "connection-level failures   {:>10}   (requests lost to a closed or broken connection)",
        run.lost
    );
    println!(
        "connections closed by age   {:>10}   (responses with Connection: close)",
        run.closed_by_server
    );
    println!("errors, all kinds           {:>10}", run.n_errors());
    for (k, v) in &run.errors {
        println!("    {v:>8}  {k}");
    }
    println!(
        "soak                        {}",
        if passed { "PASSED" } else { "FAILED" }
    );
    passed
}

// ---------------------------------------------------------------------------------------------
// CPU accounting from /proc (Linux); silently empty elsewhere.

/// Kinds of threads by name prefixes, with their labels; the last catches the rest. Signing
/// runs on `gica_serve::SigningPool`'s `gica-sign-N` threads in the products, and on the
/// runtime's blocking pool or the experiments' own `srv-block-*` threads otherwise.
pub const THREAD_KINDS: [(&[&str], &str); 6] = [
    (&["srv-block", "gica-sign"], "signing threads"),
    (&["srv-worker"], "server async workers"),
    (&["sqlx"], "SQLite (sqlx) workers"),
    (&["tsa-"], "in-process TSA (tsa-*)"),
    (&["load-client"], "load client (1 thread)"),
    (&[""], "other threads"),
];
pub const SIGNING: usize = 0;
pub const SERVER_ASYNC: usize = 1;
#[allow(dead_code, reason = "read by registry only")]
pub const SQLITE: usize = 2;
#[allow(dead_code, reason = "read by registry only")]
pub const TSA: usize = 3;

/// CPU and context switches of one kind of thread over a window.
#[derive(Clone, Copy, Debug, Default)]
pub struct Class {
    /// CPU seconds.
    pub cpu: f64,
    /// Voluntary + involuntary.
    pub switches: u64,
    /// Threads of this kind that ran in the window.
    pub threads: usize,
}

/// Where the CPU of this process went over a window.
pub struct CpuUse {
    /// By kind, as in [`THREAD_KINDS`].
    pub kinds: [Class; THREAD_KINDS.len()],
    /// CPU seconds of the whole process.
    pub total: f64,
    /// Cores busy on the whole machine on average, and those of them not used by this
    /// process.
    pub machine: Option<(f64, f64)>,
}

/// One thread's name, CPU seconds and context switches (voluntary + involuntary).
#[derive(Clone, Debug)]
struct ThreadSample {
    name: String,
    cpu: f64,
    switches: u64,
}

/// A snapshot of this process's threads and of the machine.
struct Mark {
    threads: BTreeMap<u32, ThreadSample>,
    machine: Option<(f64, f64)>,
    at: Instant,
}

impl Mark {
    fn now(ticks: f64) -> Self {
        Self {
            threads: thread_cpu(ticks),
            machine: machine_jiffies(),
            at: Instant::now(),
        }
    }
}

/// Clock ticks a second, for /proc times.
pub fn clock_ticks() -> f64 {
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

/// utime + stime of one /proc stat file (`/proc/self/stat`: the whole process), in seconds.
pub fn stat_cpu_secs(path: &str, ticks: f64) -> Option<f64> {
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
) -> [Class; THREAD_KINDS.len()] {
    let mut c = [Class::default(); THREAD_KINDS.len()];
    for (tid, t) in after {
        let b = before.get(tid);
        let cpu = t.cpu - b.map_or(0.0, |b| b.cpu);
        let switches = t.switches.saturating_sub(b.map_or(0, |b| b.switches));
        let i = THREAD_KINDS
            .iter()
            .position(|(prefixes, _)| prefixes.iter().any(|p| t.name.starts_with(p)))
            .unwrap_or(THREAD_KINDS.len() - 1);
        c[i].cpu += cpu;
        c[i].switches += switches;
        if cpu > 0.0 || switches > 0 {
            c[i].threads += 1;
        }
    }
    c
}

/// Machine-wide (busy, total) jiffies from /proc/stat, to spot other load on the box.
pub fn machine_jiffies() -> Option<(f64, f64)> {
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
