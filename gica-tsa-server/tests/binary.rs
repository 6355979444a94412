//! The real `gica-tsa-server` binary: demo mode, startup refusals, SIGTERM.

mod support;

use std::{
    io::{BufRead, BufReader, Read},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
};

use support::{bin, fixture, openssl, post_query};

/// Starts the binary and reads stdout until it says where it listens (no sleeps).
fn start(args: &[&str]) -> (Child, SocketAddr, Vec<String>) {
    let mut child = bin()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = Vec::new();
    for line in BufReader::new(stdout).lines() {
        let line = line.expect("line");
        lines.push(line.clone());
        if let Some(rest) = line.strip_prefix("listening on http://") {
            let addr = rest.trim_end_matches("/tsa").parse().expect("address");
            return (child, addr, lines);
        }
    }
    let mut err = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut err);
    }
    let _ = child.wait();
    panic!("server exited before listening: {lines:?} {err}");
}

fn sigterm(child: &Child) {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(ok.success());
}

#[test]
fn demo_mode_serves_tokens_openssl_verifies_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let demo: PathBuf = dir.path().join("demo");
    let (mut child, addr, lines) = start(&[
        "--demo",
        "--listen",
        "127.0.0.1:0",
        "--demo-dir",
        demo.to_str().expect("utf-8"),
    ]);
    assert!(
        lines.iter().any(|l| l.contains("trust anchor")),
        "{lines:?}"
    );
    let data = dir.path().join("data.txt");
    std::fs::write(&data, b"demo").expect("write");
    let q = dir.path().join("q.tsq");
    let r = dir.path().join("r.tsr");
    let s = |p: &Path| p.to_str().expect("utf-8").to_string();
    openssl(&[
        "ts",
        "-query",
        "-data",
        &s(&data),
        "-sha512",
        "-cert",
        "-out",
        &s(&q),
    ]);
    std::fs::write(&r, post_query(addr, &std::fs::read(&q).expect("q"))).expect("write");
    let out = openssl(&[
        "ts",
        "-verify",
        "-data",
        &s(&data),
        "-in",
        &s(&r),
        "-CAfile",
        &s(&demo.join("root.pem")),
        "-untrusted",
        &s(&demo.join("chain.pem")),
    ]);
    assert!(out.contains("Verification: OK"), "{out}");
    sigterm(&child);
    let status = child.wait().expect("wait");
    assert!(status.success(), "exit after SIGTERM: {status:?}");
}

fn refused(args: &[&str]) -> String {
    let out = bin().args(args).output().expect("run");
    assert!(!out.status.success(), "started with {args:?}");
    String::from_utf8_lossy(&out.stderr).to_string()
}

#[test]
fn startup_refuses_unfit_certificates_and_keys() {
    let with = |cert: &str, key: &str| {
        refused(&[
            "--listen",
            "127.0.0.1:0",
            "--policy",
            "1.2.3",
            "--cert",
            &fixture(cert),
            "--key",
            &fixture(key),
        ])
    };
    for bad in ["tsa-eku-noncritical", "tsa-eku-extra", "tsa-no-eku"] {
        let err = with(&format!("pki/{bad}.pem"), &format!("pki/{bad}.key"));
        assert!(err.contains("extendedKeyUsage"), "{bad}: {err}");
    }
    let err = with("pki/tsa-p256.pem", "pki/tsa-rsa.key");
    assert!(err.contains("does not match"), "{err}");
    let err = with("pki/tsa-expired.pem", "pki/tsa-expired.key");
    assert!(err.contains("not valid now"), "{err}");
    let err = refused(&["--policy", "1.2.3"]);
    assert!(err.contains("--cert"), "{err}");
    let err = refused(&["--demo", "--policy", "not-an-oid"]);
    assert!(err.contains("policy"), "{err}");
}
