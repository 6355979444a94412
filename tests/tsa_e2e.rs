//! End to end: the TSA server on 127.0.0.1:0, driven and checked by the openssl CLI.

mod common;

use std::{
    io::{Read, Write},
    net::TcpStream,
    time::{Duration, Instant},
};

use common::*;
use gica_pki::{
    der::{Decode, Encode},
    tsp::{FailureInfo, PkiFailureInfo, PkiStatus, TimeStampReq, TimeStampResp},
};

fn status_of(body: &[u8]) -> (PkiStatus, Option<PkiFailureInfo>) {
    let r = TimeStampResp::from_der(body).expect("body is a TimeStampResp");
    (r.status.status, r.status.fail_info)
}

fn assert_refused(reply: &HttpReply, bit: FailureInfo) {
    assert_eq!(reply.status, 200, "refusals are protocol answers");
    assert_eq!(
        reply.header("content-type"),
        Some("application/timestamp-reply")
    );
    assert_eq!(
        status_of(&reply.body),
        (PkiStatus::Rejection, Some(bit.into()))
    );
}

#[test]
fn openssl_queries_verify_for_rsa_and_p256_keys() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = fixture_str("ts/data.txt");
    let root = fixture_str("pki/root-ca.pem");
    for key in ["rsa", "p256"] {
        let server = TestServer::fixture(key, &[]);
        // -untrusted must hold the TSA certificate too when the token carries none.
        let untrusted = dir.path().join(format!("untrusted-{key}.pem"));
        let mut bundle = std::fs::read(fixture(&format!("pki/tsa-{key}.pem"))).expect("cert");
        bundle.extend(std::fs::read(fixture("pki/chain.pem")).expect("chain"));
        std::fs::write(&untrusted, bundle).expect("write");
        let untrusted = untrusted.to_str().expect("utf-8");
        for hash in ["-sha256", "-sha384", "-sha512"] {
            for cert in [true, false] {
                for nonce in [true, false] {
                    let tag = format!("{key}{hash}-cert{cert}-nonce{nonce}");
                    let q = dir.path().join(format!("{tag}.tsq"));
                    let r = dir.path().join(format!("{tag}.tsr"));
                    let (q, r) = (q.to_str().expect("utf-8"), r.to_str().expect("utf-8"));
                    let mut args = vec!["ts", "-query", "-data", &data, hash, "-out", q];
                    if cert {
                        args.push("-cert");
                    }
                    if !nonce {
                        args.push("-no_nonce");
                    }
                    openssl(&args);
                    let reply = query(server.addr, &std::fs::read(q).expect("tsq"));
                    assert_eq!(reply.status, 200, "{tag}");
                    assert_eq!(
                        reply.header("content-type"),
                        Some("application/timestamp-reply")
                    );
                    std::fs::write(r, &reply.body).expect("tsr");
                    let text =
                        String::from_utf8(openssl(&["ts", "-reply", "-in", r, "-text"]).stdout)
                            .expect("utf-8");
                    assert!(text.contains("Status: Granted."), "{tag}: {text}");
                    assert!(
                        text.contains(&format!("Hash Algorithm: {}", &hash[1..])),
                        "{tag}: {text}"
                    );
                    assert_eq!(text.contains("Nonce: 0x"), nonce, "{tag}: {text}");
                    let out = openssl(&[
                        "ts",
                        "-verify",
                        "-data",
                        &data,
                        "-in",
                        r,
                        "-CAfile",
                        &root,
                        "-untrusted",
                        untrusted,
                    ]);
                    assert!(
                        String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
                        "{tag}"
                    );
                    // Against the query: imprint, nonce and policy as asked.
                    openssl(&[
                        "ts",
                        "-verify",
                        "-queryfile",
                        q,
                        "-in",
                        r,
                        "-CAfile",
                        &root,
                        "-untrusted",
                        untrusted,
                    ]);
                    // certReq decides whether the token carries certificates.
                    let token = TimeStampResp::from_der(&reply.body)
                        .expect("resp")
                        .time_stamp_token
                        .expect("token");
                    let sd: gica_pki::cms::signed_data::SignedData =
                        token.content.decode_as().expect("sd");
                    assert_eq!(
                        sd.certificates.map(|c| c.0.len()),
                        cert.then_some(3),
                        "{tag}"
                    );
                }
            }
        }
        // Our own verifier agrees with openssl on the server's tokens.
        let req = gica_pki::tsp::TimeStampReqBuilder::new(gica_pki::DigestAlgorithm::Sha256)
            .data(b"x")
            .with_nonce()
            .cert_req(true)
            .build()
            .expect("req");
        let reply = query(server.addr, &req.to_der().expect("der"));
        let anchors =
            gica_pki::cert::load_pem_certs(&std::fs::read_to_string(&root).expect("root"))
                .expect("pem");
        gica_pki::tsp::TokenVerifier::new(anchors)
            .verify_response(&reply.body, &gica_pki::tsp::Expectation::request(&req))
            .expect("gica verifies the server's token");
    }
}

#[test]
fn wrong_anchor_or_data_fails_openssl_verification() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::fixture("p256", &[]);
    let q = dir.path().join("q.tsq");
    let r = dir.path().join("r.tsr");
    let (q, r) = (q.to_str().expect("utf-8"), r.to_str().expect("utf-8"));
    openssl(&[
        "ts",
        "-query",
        "-data",
        &fixture_str("ts/data.txt"),
        "-sha256",
        "-cert",
        "-out",
        q,
    ]);
    std::fs::write(r, query(server.addr, &std::fs::read(q).expect("q")).body).expect("write");
    let chain = fixture_str("pki/chain.pem");
    let (ok, out) = openssl_try(&[
        "ts",
        "-verify",
        "-data",
        &fixture_str("ts/data.txt"),
        "-in",
        r,
        "-CAfile",
        &fixture_str("pki/other-root.pem"),
        "-untrusted",
        &chain,
    ]);
    assert!(!ok, "verified against an unrelated root: {out}");
    let other = dir.path().join("other.txt");
    std::fs::write(&other, b"not the data").expect("write");
    let (ok, out) = openssl_try(&[
        "ts",
        "-verify",
        "-data",
        other.to_str().expect("utf-8"),
        "-in",
        r,
        "-CAfile",
        &fixture_str("pki/root-ca.pem"),
        "-untrusted",
        &chain,
    ]);
    assert!(!ok, "verified other data: {out}");
}

#[test]
fn every_refusal_is_a_time_stamp_resp() {
    let dir = tempfile::tempdir().expect("tempdir");
    let server = TestServer::fixture("p256", &["--accept-policy", "1.3.6.1.4.1.99999.1.2"]);
    let data = fixture_str("ts/data.txt");
    let make = |name: &str, extra: &[&str]| {
        let q = dir.path().join(name);
        let qs = q.to_str().expect("utf-8").to_string();
        let mut args = vec!["ts", "-query", "-data", &data, "-out", &qs];
        args.extend_from_slice(extra);
        openssl(&args);
        std::fs::read(q).expect("query")
    };
    // SHA-1 (openssl's own choice) and MD5: badAlg.
    assert_refused(
        &query(server.addr, &make("sha1.tsq", &["-sha1"])),
        FailureInfo::BadAlg,
    );
    assert_refused(
        &query(server.addr, &make("md5.tsq", &["-md5"])),
        FailureInfo::BadAlg,
    );
    // A policy not configured: unacceptedPolicy; an accepted one is granted.
    assert_refused(
        &query(
            server.addr,
            &make("pol.tsq", &["-sha256", "-tspolicy", "1.2.3.9"]),
        ),
        FailureInfo::UnacceptedPolicy,
    );
    let ok = query(
        server.addr,
        &make(
            "pol2.tsq",
            &["-sha256", "-tspolicy", "1.3.6.1.4.1.99999.1.2"],
        ),
    );
    assert_eq!(status_of(&ok.body).0, PkiStatus::Granted);
    // Imprint of the wrong length for its algorithm: badDataFormat.
    let mut req = TimeStampReq::from_der(&make("len.tsq", &["-sha256"])).expect("req");
    req.message_imprint.hashed_message =
        gica_pki::der::asn1::OctetString::new(vec![7; 20]).expect("octets");
    assert_refused(
        &query(server.addr, &req.to_der().expect("der")),
        FailureInfo::BadDataFormat,
    );
    // Version 2: badRequest.
    req.message_imprint.hashed_message =
        gica_pki::der::asn1::OctetString::new(vec![7; 32]).expect("octets");
    req.version = 2;
    assert_refused(
        &query(server.addr, &req.to_der().expect("der")),
        FailureInfo::BadRequest,
    );
    // An extension: unacceptedExtension.
    req.version = 1;
    req.extensions = Some(vec![gica_pki::x509_cert::ext::Extension {
        extn_id: "1.2.3.4".parse().expect("oid"),
        critical: true,
        extn_value: gica_pki::der::asn1::OctetString::new(vec![5, 0]).expect("octets"),
    }]);
    assert_refused(
        &query(server.addr, &req.to_der().expect("der")),
        FailureInfo::UnacceptedExtension,
    );
    // Garbage, empty and truncated bodies: badDataFormat, never an HTTP error.
    let good = make("good.tsq", &["-sha256"]);
    assert_refused(&query(server.addr, b""), FailureInfo::BadDataFormat);
    assert_refused(
        &query(server.addr, b"\x30\x82\xff\xff garbage"),
        FailureInfo::BadDataFormat,
    );
    assert_refused(
        &query(server.addr, &good[..good.len() / 2]),
        FailureInfo::BadDataFormat,
    );
    // The metrics saw them.
    let metrics = String::from_utf8(get(server.addr, "/metrics").body).expect("utf-8");
    assert!(
        metrics.contains("gica_tsa_failures_total{fail_info=\"badAlg\"} 2"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gica_tsa_failures_total{fail_info=\"badDataFormat\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("gica_tsa_requests_total{outcome=\"granted\"} 1"),
        "{metrics}"
    );
}

#[test]
fn http_level_errors() {
    let server = TestServer::fixture("p256", &["--max-body", "1024"]);
    let der = std::fs::read(fixture("ts/req-p256.tsq")).expect("tsq");
    // Media-type parameters and case are tolerated; the root path works too.
    let r = post(
        server.addr,
        "/",
        "Application/TimeStamp-Query; charset=binary",
        &der,
    );
    assert_eq!((r.status, status_of(&r.body).0), (200, PkiStatus::Granted));
    // Wrong or missing content type: 415.
    assert_eq!(
        post(server.addr, "/tsa", "application/octet-stream", &der).status,
        415
    );
    assert_eq!(
        raw_http(
            server.addr,
            format!(
                "POST /tsa HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                der.len()
            )
            .as_bytes()
        )
        .status,
        415
    );
    // Declared too large: 413 before the body is sent.
    let r = raw_http(
        server.addr,
        b"POST /tsa HTTP/1.1\r\nHost: x\r\nContent-Type: application/timestamp-query\r\nContent-Length: 100000000\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(r.status, 413);
    // Chunked and growing past the cap: 413.
    let mut chunked = b"POST /tsa HTTP/1.1\r\nHost: x\r\nContent-Type: application/timestamp-query\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for _ in 0..4 {
        chunked.extend_from_slice(b"200\r\n");
        chunked.extend_from_slice(&[0x30; 512]);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(raw_http(server.addr, &chunked).status, 413);
    // Wrong methods and paths.
    let r = get(server.addr, "/tsa");
    assert_eq!((r.status, r.header("allow")), (405, Some("POST")));
    assert_eq!(get(server.addr, "/nope").status, 404);
    // Operator endpoints.
    let r = get(server.addr, "/tsa/certchain");
    assert_eq!(r.status, 200);
    let pem = String::from_utf8(r.body).expect("pem");
    assert_eq!(
        pem.matches("BEGIN CERTIFICATE").count(),
        3,
        "TSA, intermediate, root"
    );
    assert_eq!(get(server.addr, "/healthz").status, 200);
    let m = get(server.addr, "/metrics");
    let text = String::from_utf8(m.body).expect("utf-8");
    assert!(text.contains("gica_tsa_certificate_expiry_days"), "{text}");
    assert!(text.contains("gica_tsa_signing_seconds_bucket"), "{text}");
    assert!(
        text.contains("gica_tsa_requests_total{outcome=\"unsupported_media_type\"} 2"),
        "{text}"
    );
    assert!(
        text.contains("gica_tsa_requests_total{outcome=\"payload_too_large\"} 2"),
        "{text}"
    );
}

#[test]
fn slow_clients_are_cut_off() {
    let server = TestServer::fixture("p256", &["--client-timeout", "1"]);
    // Headers that never finish: the connection is closed, not held.
    let started = Instant::now();
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(b"POST /tsa HTTP/1.1\r\nHost: x\r\n")
        .expect("write");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "header timeout did not fire"
    );
    // A connection that sends nothing at all is closed too.
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let started = Instant::now();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(buf.is_empty());
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "silent connection was held"
    );
    // A body that stalls: 408.
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    s.write_all(b"POST /tsa HTTP/1.1\r\nHost: x\r\nContent-Type: application/timestamp-query\r\nContent-Length: 100\r\nConnection: close\r\n\r\n0123456789")
        .expect("write");
    assert_eq!(read_reply(&mut s).status, 408);
}

#[test]
fn shutdown_drains_requests_in_flight() {
    let mut server = TestServer::fixture("p256", &[]);
    let der = std::fs::read(fixture("ts/req-p256.tsq")).expect("tsq");
    let mut s = TcpStream::connect(server.addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let head = format!(
        "POST /tsa HTTP/1.1\r\nHost: x\r\nContent-Type: application/timestamp-query\r\nContent-Length: {}\r\n\r\n",
        der.len()
    );
    s.write_all(head.as_bytes()).expect("headers");
    s.write_all(&der[..10]).expect("part of the body");
    // The accept loop takes connections in order, so once this later probe is answered the
    // first connection is accepted and in flight.
    assert_eq!(get(server.addr, "/healthz").status, 200);
    server.trigger_shutdown();
    s.write_all(&der[10..]).expect("rest of the body");
    let reply = read_reply(&mut s);
    assert_eq!(reply.status, 200, "the request in flight was answered");
    assert_eq!(status_of(&reply.body).0, PkiStatus::Granted);
    server.join();
}
