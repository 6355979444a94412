//! `--crypto`: the real binary signs with the backend asked for, says so in its log and in
//! /metrics, and its tokens verify with `openssl ts -verify`; asking for a backend the build
//! lacks is a startup error. The aws-lc half runs with `--features aws-lc`:
//! `cargo test -p gica-tsa-server --features aws-lc --test crypto`.

mod support;

use std::{
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    path::Path,
    process::{Child, ChildStderr, Command, Stdio},
};

use support::{bin, exchange, fixture, openssl};

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8")
}

/// Starts the binary and reads stdout until it says where it listens (no sleeps).
fn start(args: &[&str]) -> (Child, SocketAddr, ChildStderr) {
    let mut child = bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        if let Some(rest) = line.strip_prefix("listening on http://") {
            let addr = rest.trim_end_matches("/tsa").parse().expect("address");
            return (child, addr, stderr);
        }
        lines.push(line);
    }
    let mut err = String::new();
    let _ = stderr.read_to_string(&mut err);
    let _ = child.wait();
    panic!("server exited before listening: {lines:?} {err}");
}

fn sigterm_and_wait(mut child: Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
    let status = child.wait().expect("wait");
    assert!(status.success(), "exit after SIGTERM: {status:?}");
}

/// Serves the fixture TSA `key` with `--crypto backend`; a token openssl verifies, the
/// backend and algorithm in /metrics and in the startup log.
fn serves_with(backend: &str, key: &str, algorithm: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let (child, addr, mut stderr) = start(&[
        "--listen",
        "127.0.0.1:0",
        "--policy",
        "1.2.3.4.1",
        "--cert",
        &fixture(&format!("pki/tsa-{key}.pem")),
        "--key",
        &fixture(&format!("pki/tsa-{key}.key")),
        "--chain",
        &fixture("pki/chain.pem"),
        "--log-format",
        "json",
        "--crypto",
        backend,
    ]);
    let data = dir.path().join("data.txt");
    std::fs::write(&data, format!("signed by {backend}")).expect("write");
    let (q, r) = (dir.path().join("q.tsq"), dir.path().join("r.tsr"));
    openssl(&[
        "ts",
        "-query",
        "-data",
        s(&data),
        "-sha256",
        "-cert",
        "-out",
        s(&q),
    ]);
    let der = std::fs::read(&q).expect("query");
    let head = format!(
        "POST /tsa HTTP/1.1\r\nHost: x\r\nContent-Type: application/timestamp-query\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        der.len()
    );
    std::fs::write(&r, exchange(addr, &head, &der)).expect("write");
    let out = openssl(&[
        "ts",
        "-verify",
        "-data",
        s(&data),
        "-in",
        s(&r),
        "-CAfile",
        &fixture("pki/root-ca.pem"),
        "-untrusted",
        &fixture("pki/chain.pem"),
    ]);
    assert!(out.contains("Verification: OK"), "{backend} {key}: {out}");

    let metrics = exchange(
        addr,
        "GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        b"",
    );
    let metrics = String::from_utf8(metrics).expect("utf-8");
    let info = format!(r#"gica_tsa_signer_info{{backend="{backend}",algorithm="{algorithm}"}} 1"#);
    assert!(metrics.contains(&info), "{info} not in:\n{metrics}");

    sigterm_and_wait(child);
    let mut log = String::new();
    stderr.read_to_string(&mut log).expect("log");
    assert!(
        log.lines().any(|l| l.contains("signing key loaded")
            && l.contains(&format!(r#""backend":"{backend}""#))
            && l.contains(&format!(r#""algorithm":"{algorithm}""#))),
        "{log}"
    );
    assert!(
        log.lines().any(|l| l.contains("gica-tsa-server started")
            && l.contains(&format!(r#""crypto":"{backend}""#))),
        "{log}"
    );
}

#[test]
fn rustcrypto_is_the_default_and_can_be_named() {
    serves_with("rustcrypto", "p256", "ecdsa-p256-sha256");
}

#[cfg(feature = "aws-lc")]
#[test]
fn aws_lc_serves_tokens_openssl_verifies() {
    serves_with("aws-lc", "p256", "ecdsa-p256-sha256");
    serves_with("aws-lc", "rsa", "rsa-pkcs1-sha256");
    serves_with("aws-lc", "p384", "ecdsa-p384-sha384");
}

#[cfg(feature = "aws-lc")]
#[test]
fn aws_lc_serves_the_demo() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo = dir.path().join("demo");
    let (child, addr, _stderr) = start(&[
        "--demo",
        "--listen",
        "127.0.0.1:0",
        "--demo-dir",
        s(&demo),
        "--crypto",
        "aws-lc",
    ]);
    let data = dir.path().join("data.txt");
    std::fs::write(&data, b"demo").expect("write");
    let (q, r) = (dir.path().join("q.tsq"), dir.path().join("r.tsr"));
    openssl(&["ts", "-query", "-data", s(&data), "-sha384", "-out", s(&q)]);
    let der = std::fs::read(&q).expect("query");
    let head = format!(
        "POST /tsa HTTP/1.1\r\nHost: x\r\nContent-Type: application/timestamp-query\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        der.len()
    );
    std::fs::write(&r, exchange(addr, &head, &der)).expect("write");
    let untrusted = dir.path().join("untrusted.pem");
    let mut bundle = std::fs::read(demo.join("tsa.pem")).expect("TSA certificate");
    bundle.extend(std::fs::read(demo.join("chain.pem")).expect("chain"));
    std::fs::write(&untrusted, bundle).expect("write");
    let out = openssl(&[
        "ts",
        "-verify",
        "-data",
        s(&data),
        "-in",
        s(&r),
        "-CAfile",
        s(&demo.join("root.pem")),
        "-untrusted",
        s(&untrusted),
    ]);
    assert!(out.contains("Verification: OK"), "{out}");
    sigterm_and_wait(child);
}

#[cfg(not(feature = "aws-lc"))]
#[test]
fn aws_lc_in_a_build_without_it_is_a_startup_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = bin()
        .args([
            "--demo",
            "--listen",
            "127.0.0.1:0",
            "--demo-dir",
            s(dir.path()),
            "--crypto",
            "aws-lc",
        ])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("crypto: aws-lc is not in this build")
            && err.contains("--features aws-lc")
            && !err.contains("panicked"),
        "{err}"
    );
    assert!(out.stdout.is_empty(), "it must not have listened");
}

#[test]
fn unknown_backends_are_refused() {
    let out = bin()
        .args(["--demo", "--listen", "127.0.0.1:0", "--crypto", "openssl"])
        .output()
        .expect("run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("use rustcrypto or aws-lc"), "{err}");
}
