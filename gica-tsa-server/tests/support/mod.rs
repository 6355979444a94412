//! Helpers shared by the tests that drive the real `gica-tsa-server` binary.
#![allow(dead_code)]

use std::{
    io::{Read, Write},
    net::{SocketAddr, TcpStream},
    path::Path,
    process::Command,
    time::Duration,
};

pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gica-tsa-server"))
}

pub fn fixture(rel: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(rel)
        .to_str()
        .expect("utf-8")
        .to_string()
}

/// One HTTP/1.1 exchange; the status line must be 200. Returns the body.
pub fn exchange(addr: SocketAddr, head: &str, body: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    s.write_all(head.as_bytes()).expect("write");
    s.write_all(body).expect("write");
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).expect("read");
    assert!(
        buf.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf)
    );
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("headers")
        + 4;
    buf[end..].to_vec()
}

/// POSTs a time-stamp query to /tsa; the body of the 200 reply.
pub fn post_query(addr: SocketAddr, der: &[u8]) -> Vec<u8> {
    let head = format!(
        "POST /tsa HTTP/1.1\r\nHost: x\r\nContent-Type: application/timestamp-query\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        der.len()
    );
    exchange(addr, &head, der)
}

/// Runs openssl; panics with its output unless it succeeds. Returns stdout and stderr.
pub fn openssl(args: &[&str]) -> String {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "openssl {args:?}: {text}");
    text
}
