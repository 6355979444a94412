//! Helpers for the end-to-end tests: fixture paths, a TSA server on 127.0.0.1:0, a minimal
//! HTTP/1.1 client and the openssl CLI; OCSP helpers in [`ocsp`].
//!
//! Shared by the root package's tests and gica-cli's (`#[path = "../../tests/common/mod.rs"]`).
#![allow(dead_code)]

pub mod ocsp;

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    path::{Path, PathBuf},
    process::{Command, Output},
    sync::Arc,
    time::Duration,
};

use clap::Parser;
use gica_tsa_server::{Args, Settings, SystemClock, TsaServer};

pub const POLICY: &str = "1.3.6.1.4.1.99999.1.1";

/// A file under the workspace's `testdata/`, from the root package or any member crate.
pub fn fixture(rel: &str) -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    let base = here
        .ancestors()
        .map(|d| d.join("testdata"))
        .find(|d| d.join("pki").is_dir())
        .unwrap_or_else(|| panic!("no testdata/ above {}", here.display()));
    base.join(rel)
}

pub fn fixture_str(rel: &str) -> String {
    fixture(rel).to_str().expect("utf-8 path").to_string()
}

/// A TSA server running in this process on its own runtime; stops (gracefully) on drop.
pub struct TestServer {
    pub addr: SocketAddr,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Runs `serve(listener, shutdown)` on its own runtime, bound to 127.0.0.1:0.
    pub fn spawn<F, Fut>(serve: F) -> Self
    where
        F: FnOnce(tokio::net::TcpListener, tokio::sync::oneshot::Receiver<()>) -> Fut
            + Send
            + 'static,
        Fut: std::future::Future<Output = ()>,
    {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (shutdown_tx, shutdown_rx) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("send addr");
                serve(listener, shutdown_rx).await;
            });
        });
        let addr = addr_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("server started");
        Self {
            addr,
            shutdown: Some(shutdown_tx),
            thread: Some(thread),
        }
    }

    /// Starts with these flags (as an operator would write them), on 127.0.0.1:0.
    pub fn start(flags: &[&str]) -> Self {
        let argv = ["gica-tsa-server", "--listen", "127.0.0.1:0"]
            .iter()
            .chain(flags.iter())
            .copied();
        let settings =
            Settings::resolve(Args::try_parse_from(argv).expect("flags")).expect("settings");
        let server =
            Arc::new(TsaServer::from_settings(&settings, Arc::new(SystemClock)).expect("server"));
        Self::spawn(move |listener, shutdown| async move {
            server
                .serve(listener, async {
                    let _ = shutdown.await;
                })
                .await
                .expect("serve");
        })
    }

    /// The fixture TSA: P-256 or RSA key, chain, default policy POLICY.
    pub fn fixture(key: &str, extra: &[&str]) -> Self {
        let cert = fixture_str(&format!("pki/tsa-{key}.pem"));
        let keyf = fixture_str(&format!("pki/tsa-{key}.key"));
        let chain = fixture_str("pki/chain.pem");
        let mut flags = vec![
            "--cert", &cert, "--key", &keyf, "--chain", &chain, "--policy", POLICY,
        ];
        flags.extend_from_slice(extra);
        Self::start(&flags)
    }

    /// Asks the server to stop and waits for it to finish draining.
    pub fn stop(mut self) {
        self.stop_inner();
    }

    /// Triggers shutdown without waiting.
    pub fn trigger_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }

    pub fn join(mut self) {
        if let Some(t) = self.thread.take() {
            t.join().expect("server thread");
        }
    }

    fn stop_inner(&mut self) {
        self.trigger_shutdown();
        if let Some(t) = self.thread.take() {
            t.join().expect("server thread");
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop_inner();
    }
}

/// An HTTP response as read off the wire.
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpReply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends raw bytes and reads one response (the request should say `Connection: close`).
pub fn raw_http(addr: SocketAddr, request: &[u8]) -> HttpReply {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(request).expect("write");
    read_reply(&mut s)
}

pub fn read_reply(s: &mut TcpStream) -> HttpReply {
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read response");
    parse_reply(&buf)
}

pub fn parse_reply(buf: &[u8]) -> HttpReply {
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("end of headers");
    let head = std::str::from_utf8(&buf[..end]).expect("ascii headers");
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .expect("status line")
        .split(' ')
        .nth(1)
        .expect("code")
        .parse()
        .expect("number");
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    HttpReply {
        status,
        headers,
        body: buf[end + 4..].to_vec(),
    }
}

/// POSTs `body` with a content type.
pub fn post(addr: SocketAddr, path: &str, content_type: &str, body: &[u8]) -> HttpReply {
    let mut req = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    req.extend_from_slice(body);
    raw_http(addr, &req)
}

pub fn get(addr: SocketAddr, path: &str) -> HttpReply {
    raw_http(
        addr,
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
}

/// POSTs a time-stamp query to /tsa.
pub fn query(addr: SocketAddr, der: &[u8]) -> HttpReply {
    post(addr, "/tsa", "application/timestamp-query", der)
}

/// Runs openssl; panics with its stderr unless it succeeds.
pub fn openssl(args: &[&str]) -> Output {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl on PATH");
    assert!(
        out.status.success(),
        "openssl {} failed:\n{}{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs openssl and returns whether it succeeded, with its combined output.
pub fn openssl_try(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl on PATH");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}
