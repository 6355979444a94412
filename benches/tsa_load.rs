//! Load run of the real TSA server, in-process, over loopback HTTP/1.1 keep-alive.
//!
//! 1. Measures the raw signing rate of the TSA key on one thread (the per-core ceiling).
//! 2. Starts `gica_tsa_server::TsaServer` on 127.0.0.1:0 (fixture key and chain, default
//!    `AuthorityConfig`, signing_threads = cores) on its own multi-thread tokio runtime.
//! 3. Drives it from a one-thread tokio runtime with C keep-alive connections, each sending a
//!    pre-built DER TimeStampReq (certReq false) back to back for D seconds, with a minimal
//!    hand-written HTTP/1.1 client so the client costs the server as little CPU as possible.
//!    The first response of every connection is decoded in full (granted, with a token);
//!    every later one must be HTTP 200 and look like a granted TimeStampResp. One of the first
//!    responses is verified as a token at the end.
//! 4. Prints tokens/s against the ideal (raw rate x cores), latencies, errors, and where the
//!    CPU went (per thread kind, from /proc on Linux).
//!
//! The options common to the load benches, the fixtures, the raw rate, the server runtime,
//! the client and the CPU accounting are in `benches/load/mod.rs`, shared with
//! `benches/ocsp.rs`; this file has the TSA's own: key and server choice, the request and
//! its checks, the experiments and the report.
//!
//! ```text
//! cargo bench --bench tsa_load                      # P-256, 64 connections, 10 s
//! cargo bench --bench tsa_load -- --quick           # 2 s
//! GICA_LOAD_KEY=rsa cargo bench --bench tsa_load    # RSA-2048
//! cargo bench --bench tsa_load -- --secs 5 --conns 16 --key rsa
//! cargo bench --bench tsa_load -- --soak 150       # 150 s soak, connections retired every 20 s
//! cargo bench --bench tsa_load --features aws-lc -- --crypto aws-lc   # signed by aws-lc-rs
//! ```
//!
//! A soak (`--soak SECS`, `--max-connection-age SECS`, see `benches/load/mod.rs`) runs the
//! product server with a short connection age and fails (exit status 1) unless every
//! request was answered: none lost as connections are retired.
//!
//! Environment: GICA_LOAD_SECS, GICA_LOAD_CONNS, GICA_LOAD_KEY (p256 | rsa),
//! GICA_LOAD_CRYPTO (`rustcrypto`, the default, or `aws-lc` in a build with `--features aws-lc`),
//! GICA_LOAD_SIGNING_THREADS, GICA_LOAD_SERVER_WORKERS (both default to the core count),
//! GICA_LOAD_SERVER (`tsa`, the default, or an experiment below).
//! Command-line flags (`--secs`, `--conns`, `--key`, `--crypto`, `--server`, `--quick`) win over the
//! environment; unknown arguments (cargo's `--bench`) are ignored.
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

use std::{sync::Arc, time::Duration};

use der::{Decode, Encode};
use gica_pki::{
    DigestAlgorithm, Signer,
    tsp::{
        Authority, AuthorityConfig, Expectation, PkiStatus, TimeStampReq, TimeStampReqBuilder,
        TimeStampResp, TokenVerifier,
    },
};
use gica_tsa_server::{QUERY_TYPE, SystemClock, TsaServer};
use tokio::net::TcpListener;

#[path = "load/mod.rs"]
mod load;

const POLICY: &str = "1.3.6.1.4.1.99999.1.1";

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
    load: load::Opts,
    key: KeyKind,
    server: ServerKind,
    crypto: gica_serve::keys::CryptoBackend,
}

impl Opts {
    fn from_env_and_args() -> Self {
        let (mut key, mut server) = (KeyKind::P256, ServerKind::Tsa);
        let mut crypto = gica_serve::keys::CryptoBackend::RustCrypto;
        let load = load::Opts::from_env_and_args(&mut [
            ("GICA_LOAD_KEY", "--key", &mut |v| key = KeyKind::parse(v)),
            ("GICA_LOAD_SERVER", "--server", &mut |v| {
                server = ServerKind::parse(v);
            }),
            ("GICA_LOAD_CRYPTO", "--crypto", &mut |v| {
                crypto =
                    gica_serve::keys::CryptoBackend::from_flag(v).unwrap_or_else(|e| panic!("{e}"));
            }),
        ]);
        Opts {
            load,
            key,
            server,
            crypto,
        }
    }
}

/// The fixture key, signed with by `crypto` (the servers' `--crypto`).
fn tsa_signer(key_file: &str, crypto: gica_serve::keys::CryptoBackend) -> Arc<dyn Signer> {
    gica_serve::keys::load_signer(
        &load::fixture_path(key_file),
        gica_pki::SignerOptions::default(),
        crypto,
        1,
    )
    .expect("fixture key")
}

// ---------------------------------------------------------------------------------------------
// The client's side of the exchange (the client itself is `load::drive`).

/// Every connection sends the same pre-built request.
struct Exchange {
    request: Arc<[u8]>,
}

impl load::Exchange for Exchange {
    fn request(&mut self) -> &[u8] {
        &self.request
    }

    /// The first answer is decoded in full; every later one gets the cheap check only.
    fn check(&mut self, first: bool, body: &[u8]) -> Result<load::Checked, String> {
        if (!first || decodes_granted(body)) && looks_granted(body) {
            Ok(if first {
                load::Checked::Fully
            } else {
                load::Checked::Cheaply
            })
        } else {
            Err("HTTP 200 but not a granted TimeStampResp".into())
        }
    }
}

/// Cheap check: `SEQUENCE { SEQUENCE { INTEGER 0 (granted) ...} ...}` spanning the whole body.
fn looks_granted(b: &[u8]) -> bool {
    load::der_looks_like(b, 1, &[0x02, 0x01, 0x00])
}

/// Full decode: granted with a token.
fn decodes_granted(b: &[u8]) -> bool {
    TimeStampResp::from_der(b).is_ok_and(|r| {
        matches!(r.status.status, PkiStatus::Granted) && r.time_stamp_token.is_some()
    })
}

// ---------------------------------------------------------------------------------------------
// Experimental servers (bench-only), see the module docs.

mod experiment {
    use std::{
        future::Future,
        sync::{Arc, mpsc},
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
        super::load::queue_threads("srv-block-p", n, move |(body, reply): Job| {
            let _ = reply.send(answer(&authority, &body));
        })
    }

    /// `gica_serve::serve` with a handler that signs as `signing` says.
    pub async fn serve(
        listener: TcpListener,
        authority: Arc<Authority>,
        signing: Signing,
        limits: gica_serve::Limits,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
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
    let cores = load::cores();
    let signing_threads = opts.load.signing_threads.unwrap_or(cores).max(1);
    let server_workers = opts.load.server_workers.unwrap_or(cores).max(1);
    let ticks = load::clock_ticks();
    let key_file = format!("{}.key", opts.key.fixture());

    // a) raw signing rate on one thread.
    let signer = tsa_signer(&key_file, opts.crypto);
    let raw = load::raw_sign_rate(signer.as_ref(), opts.load.raw_secs, ticks);
    let raw_rate = raw.per_sec;
    let ideal = raw_rate * cores as f64;
    eprintln!(
        "raw {} signing ({}): {raw_rate:.0}/s on one thread ({} in {:.1} s); {cores} cores",
        opts.key.label(),
        opts.crypto,
        raw.n,
        opts.load.raw_secs
    );

    // b) the server, on a runtime with named threads (`load::server_runtime`); signing runs
    // on the server's `gica-sign-N` threads, the blocking pool (`blocking` experiment) or the
    // `pool` experiment's `srv-block-pN`.
    let tsa_cert = load::cert1(&format!("{}.pem", opts.key.fixture()));
    let chain = load::certs("chain.pem");
    let mut config = AuthorityConfig::new(POLICY.parse().expect("policy OID"));
    config.chain = chain.clone();
    let authority = Authority::new(tsa_cert.clone(), signer, config).expect("authority");
    let server_rt = load::server_runtime(server_workers);
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
                    opts.load.limits(),
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
            opts.load.limits(),
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
                opts.load.limits(),
                stop,
            ))
        }
        ServerKind::Blocking => server_rt.spawn(experiment::serve(
            listener,
            Arc::new(authority),
            experiment::Signing::Blocking(Arc::new(tokio::sync::Semaphore::new(signing_threads))),
            opts.load.limits(),
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
    let http: Arc<[u8]> = load::post_request(addr, "/tsa", QUERY_TYPE, &req_der)
        .0
        .into();

    let conns = opts.load.conns;
    eprintln!(
        "{} on http://{addr}/tsa: {server_workers} async workers, {signing_threads} signing \
         threads; {conns} connections for {:.1} s after {:.1} s warm-up",
        opts.server.label(),
        opts.load.secs,
        opts.load.warmup
    );
    let exchanges = (0..conns)
        .map(|_| Exchange {
            request: http.clone(),
        })
        .collect();
    let run = load::drive(addr, exchanges, &opts.load, ticks);

    // Shut the server down (bounded).
    let _ = stop_tx.send(());
    let shutdown_note = server_rt.block_on(load::stopped(serving));
    server_rt.shutdown_timeout(Duration::from_secs(2));
    // The pool's queue closed with the server's handler; its threads have returned or will
    // after their current job.
    for t in pool_threads {
        let _ = t.join();
    }

    // d) summary.
    let ok = run.ok;
    let window = run.window;
    let rate = run.rate();
    let ratio = rate / ideal * 100.0;

    let sample_check = match run.sample.as_deref() {
        None => "no sample response".to_string(),
        Some(der) => {
            let mut untrusted = vec![tsa_cert];
            untrusted.extend(chain);
            match TokenVerifier::new(load::certs("root-ca.pem"))
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
        "== gica TSA load: {} ({}) | {} | {} conns, HTTP/1.1 keep-alive, loopback ==",
        opts.key.label(),
        opts.crypto,
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
        run.latency_ms(0.50),
        run.latency_ms(0.99),
        run.latency_ms(1.0)
    );
    println!("errors                      {:>10}", run.n_errors());
    for (k, v) in &run.errors {
        println!("    {v:>8}  {k}");
    }
    println!("sample token                {sample_check}");
    println!("server shutdown             {shutdown_note}");
    let mut contended = raw.others.is_some_and(|o| o > load::CONTENDED_CORES);
    let cpu = run.cpu(cores);
    if cpu.total > 0.0 {
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
        for (c, (_, name)) in cpu.kinds.iter().zip(load::THREAD_KINDS) {
            if c.threads > 0 {
                println!(
                    "    {name:<26}{:>6.2} cores  {:>8.1} us/token",
                    c.cpu / window,
                    per_token_us(c.cpu)
                );
            }
        }
        println!(
            "    {:<26}{:>6.2} cores  {:>8.1} us/token",
            "this process",
            cpu.total / window,
            per_token_us(cpu.total)
        );
        println!(
            "    raw sign, for comparison         {:>8.1} us/signature",
            raw.us()
        );
        let signing = cpu.kinds[load::SIGNING].cpu;
        let server = signing + cpu.kinds[load::SERVER_ASYNC].cpu;
        if server > 0.0 {
            println!(
                "    server CPU per token             {:>8.1} us (server-bound ratio {:.1} %: raw \
                 signature / server CPU per token)",
                per_token_us(server),
                raw.us() / per_token_us(server) * 100.0
            );
        }
        if signing < 0.1 * cpu.total {
            println!(
                "    signing ran on the async workers (SigningPool: jobs under {} us run in place)",
                gica_serve::INLINE_BELOW.as_micros()
            );
        } else if signing > 0.0 {
            println!(
                "    tokens per signing-core-second   {:>8.0} ({:.1} % of raw)",
                ok as f64 / signing,
                ok as f64 / signing / raw_rate * 100.0
            );
        }
        if let Some((busy, others)) = cpu.machine {
            println!(
                "    machine busy, all processes{busy:>6.2} cores ({:.1} %); idle {:.2}",
                busy / cores as f64 * 100.0,
                (cores as f64 - busy).max(0.0)
            );
            println!("    other processes           {others:>6.2} cores");
            contended |= others > load::CONTENDED_CORES;
        }
    }
    if contended {
        println!(
            "WARNING: other processes used more than 0.1 core during the run; the numbers are \
             not reliable, run again on a quiet machine"
        );
    }
    if opts.load.soak
        && !load::soak_report(
            &format!("TSA ({}, {})", opts.key.label(), opts.server.label()),
            &run,
            &opts.load,
        )
    {
        std::process::exit(1);
    }
}
