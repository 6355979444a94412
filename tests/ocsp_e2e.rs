//! End to end: gica-ocsp-server on 127.0.0.1:0 against `openssl ocsp`, `openssl crl` and
//! `openssl verify -crl_check`, and gica's OCSP client against `openssl ocsp` as a responder.

mod common;

use std::{
    path::Path,
    time::{Duration, SystemTime},
};

use base64ct::{Base64, Encoding};
use common::{ocsp::*, *};
use gica_ocsp_server::{
    config::ServeArgs,
    issuer_id,
    store::{AnyStore, RevocationWriter},
};
use gica_pki::{
    CrlReason, DigestAlgorithm,
    der::{Decode, Encode},
    ocsp::{OcspRequestBuilder, OcspResponse, OcspResponseStatus, OcspVerifier, VerifiedStatus},
    x509_cert::Certificate,
};

/// The next CRL of int-ca from the store at `db`, made as the `crl` command makes it (and
/// published, with `publish`); its DER.
fn make_crl(db: &str, publish: bool) -> Vec<u8> {
    block_on(async {
        let store = AnyStore::connect(db).await.expect("store");
        let key = gica_ocsp_server::load_key(&fixture("pki/int-ca.key")).expect("key");
        let issuer = cert("pki/int-ca.pem");
        let id = issuer_id(&issuer);
        let crl = gica_ocsp_server::crl::generate(
            &store,
            &id,
            &issuer,
            key.as_ref(),
            // Longer than a quarter of the servers' 24 h, or they would replace it at once.
            Duration::from_secs(2 * 86_400),
            None,
        )
        .await
        .expect("crl");
        if publish {
            assert!(store.publish_crl(&id, &crl).await.expect("publish"));
        }
        crl.der
    })
}

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8").to_string()
}

fn openssl_ocsp(addr: std::net::SocketAddr, extra: &[&str]) -> String {
    let url = format!("http://{addr}/ocsp");
    let mut args = vec![
        "ocsp",
        "-issuer",
        &*Box::leak(fixture_str("pki/int-ca.pem").into_boxed_str()),
    ];
    args.extend_from_slice(extra);
    let root = fixture_str("pki/root-ca.pem");
    args.extend_from_slice(&["-url", &url, "-CAfile", &root]);
    let out = openssl(&args);
    let text =
        String::from_utf8_lossy(&out.stdout).to_string() + &String::from_utf8_lossy(&out.stderr);
    assert!(text.contains("Response verify OK"), "{text}");
    text
}

#[test]
fn openssl_sees_good_revoked_and_unknown() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start_ocsp(&seeded_db(dir.path()), |_| {});
    let (p256, rsa, p384) = (
        fixture_str("pki/tsa-p256.pem"),
        fixture_str("pki/tsa-rsa.pem"),
        fixture_str("pki/tsa-p384.pem"),
    );
    for extra in [
        vec![],
        vec!["-no_nonce"],
        vec!["-sha256"],
        vec!["-sha512", "-no_nonce"],
    ] {
        let mut args = extra.clone();
        args.extend_from_slice(&["-cert", &p256, "-cert", &rsa, "-cert", &p384]);
        let out = openssl_ocsp(server.addr, &args);
        assert!(out.contains("tsa-p256.pem: good"), "{extra:?}: {out}");
        assert!(out.contains("tsa-rsa.pem: revoked"), "{extra:?}: {out}");
        assert!(out.contains("Reason: keyCompromise"), "{out}");
        assert!(
            out.contains("Revocation Time: Nov 14 22:13:20 2023 GMT"),
            "{out}"
        );
        assert!(
            out.contains("tsa-p384.pem: unknown"),
            "never issued is never good: {out}"
        );
    }
}

/// Base64 of an OCSP request for tsa-p256 whose text holds '+', '/' and ends in '='.
fn awkward_request() -> (Vec<u8>, String) {
    let issuer = cert("pki/int-ca.pem");
    let leaf = cert("pki/tsa-p256.pem");
    // The nonce's length moves the padding, its bytes the alphabet; a bounded search.
    for len in 1..=32usize {
        for n in 0u32..2000 {
            let mut nonce = n.to_be_bytes().to_vec();
            nonce.resize(len.max(4), 0xfb);
            nonce.truncate(len);
            let req = OcspRequestBuilder::new()
                .certificate(&leaf, &issuer, DigestAlgorithm::Sha256)
                .expect("id")
                .nonce(nonce)
                .build()
                .to_der()
                .expect("der");
            let b64 = Base64::encode_string(&req);
            if b64.contains('+') && b64.contains('/') && b64.ends_with('=') {
                return (req, b64);
            }
        }
    }
    panic!("no request spelled with '+', '/' and '='")
}

#[test]
fn get_requests_decode_every_spelling() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start_ocsp(&seeded_db(dir.path()), |_| {});
    let (der, b64) = awkward_request();
    let req = gica_pki::ocsp::OcspRequest::from_der(&der).expect("req");
    let url_safe = b64
        .replace('+', "-")
        .replace('/', "_")
        .trim_end_matches('=')
        .to_string();
    for path in [
        format!("/ocsp/{b64}"),
        format!("/ocsp/{}", b64.replace('=', "%3D")),
        format!(
            "/ocsp/{}",
            b64.replace('+', "%2B")
                .replace('/', "%2F")
                .replace('=', "%3D")
        ),
        format!("/ocsp//{b64}"),
        format!("/ocsp/{}", b64.trim_end_matches('=')),
        format!("/ocsp/{url_safe}"),
        format!("/{b64}"),
    ] {
        let r = get(server.addr, &path);
        assert_eq!(r.status, 200, "{path}");
        assert_eq!(
            r.header("content-type"),
            Some("application/ocsp-response"),
            "{path}"
        );
        let v = OcspVerifier::new(cert("pki/int-ca.pem"))
            .verify(&r.body, &req, SystemTime::now())
            .expect(&path);
        assert_eq!(v[0].status, VerifiedStatus::Good, "{path}");
    }
    // Undecodable: malformedRequest, never a 5xx.
    for path in ["/ocsp/%zz", "/ocsp/!!!!", "/ocsp/MAA="] {
        let r = get(server.addr, path);
        assert_eq!(r.status, 200, "{path}");
        let resp = OcspResponse::from_der(&r.body).expect("OCSPResponse");
        assert_eq!(
            resp.response_status,
            OcspResponseStatus::MalformedRequest,
            "{path}"
        );
    }
}

#[test]
fn get_responses_carry_rfc5019_cache_headers_and_304() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start_ocsp(&seeded_db(dir.path()), |a| a.validity = Some("2h".into()));
    let req = OcspRequestBuilder::new()
        .certificate(
            &cert("pki/tsa-p256.pem"),
            &cert("pki/int-ca.pem"),
            DigestAlgorithm::Sha1,
        )
        .expect("id")
        .build()
        .to_der()
        .expect("der");
    let path = format!("/ocsp/{}", Base64::encode_string(&req).replace('=', "%3D"));
    let first = get(server.addr, &path);
    assert_eq!(first.status, 200);
    let cc = first.header("cache-control").expect("Cache-Control");
    let max_age: u64 = cc
        .split("max-age=")
        .nth(1)
        .and_then(|r| r.split(',').next())
        .expect("max-age")
        .parse()
        .expect("n");
    assert!((7000..=7200).contains(&max_age), "{cc}");
    for h in ["last-modified", "expires", "etag"] {
        assert!(first.header(h).is_some(), "{h} missing");
    }
    let second = get(server.addr, &path);
    assert_eq!(second.body, first.body, "served from the cache");
    let etag = first.header("etag").expect("etag").to_string();
    let r = raw_http(
        server.addr,
        format!(
            "GET {path} HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\nConnection: close\r\n\r\n"
        )
        .as_bytes(),
    );
    assert_eq!(r.status, 304);
    assert!(r.body.is_empty());
    // HEAD: the same status and caching headers, no body (RFC 9110 9.3.2).
    let head = raw_http(
        server.addr,
        format!("HEAD {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    assert_eq!(head.status, 200);
    assert!(head.body.is_empty(), "HEAD sent a body");
    assert_eq!(head.header("etag"), first.header("etag"));
    assert_eq!(
        head.header("content-type"),
        Some("application/ocsp-response")
    );
    assert_eq!(
        head.header("content-length"),
        Some(first.body.len().to_string().as_str())
    );
    // POST responses and nonce responses are not for caches.
    let post_r = post(server.addr, "/ocsp", "application/ocsp-request", &req);
    assert_eq!(post_r.header("cache-control"), Some("no-store"));
}

#[test]
fn malformed_unauthorized_and_http_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start_ocsp(&seeded_db(dir.path()), |_| {});
    let status = |body: &[u8]| {
        OcspResponse::from_der(body)
            .expect("OCSPResponse")
            .response_status
    };
    for body in [&b""[..], b"garbage", &[0x30, 0x82, 0xff, 0xff]] {
        let r = post(server.addr, "/ocsp", "application/ocsp-request", body);
        assert_eq!(
            (r.status, status(&r.body)),
            (200, OcspResponseStatus::MalformedRequest)
        );
    }
    // A certificate of an issuer not served: unauthorized.
    let other = OcspRequestBuilder::new()
        .certificate(
            &cert("pki/int-ca.pem"),
            &cert("pki/root-ca.pem"),
            DigestAlgorithm::Sha256,
        )
        .expect("id")
        .build()
        .to_der()
        .expect("der");
    let r = post(server.addr, "/", "application/ocsp-request", &other);
    assert_eq!(status(&r.body), OcspResponseStatus::Unauthorized);
    assert_eq!(post(server.addr, "/ocsp", "text/plain", &other).status, 415);
    let big = vec![0x30; 20_000];
    assert_eq!(
        post(server.addr, "/ocsp", "application/ocsp-request", &big).status,
        413
    );
    assert_eq!(
        raw_http(
            server.addr,
            b"PUT /ocsp HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        )
        .status,
        405
    );
    let m = String::from_utf8(get(server.addr, "/metrics").body).expect("utf-8");
    assert!(
        m.contains("gica_ocsp_requests_total{method=\"POST\",outcome=\"malformedRequest\"} 3"),
        "{m}"
    );
    assert_eq!(get(server.addr, "/healthz").status, 200);
    let head = raw_http(
        server.addr,
        b"HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    assert_eq!(head.status, 200);
}

#[test]
fn a_revocation_reaches_cached_responses() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = seeded_db(dir.path());
    // 4 s: polled every 2 s, so the nonce request below comes while a status read before the
    // revocation would still be kept, were invalidation to miss it.
    let server = start_ocsp(&db, |a| a.max_staleness = Some("4s".into()));
    let issuer = cert("pki/int-ca.pem");
    let leaf = cert("pki/tsa-p256.pem");
    let req = OcspRequestBuilder::new()
        .certificate(&leaf, &issuer, DigestAlgorithm::Sha1)
        .expect("id")
        .build();
    let path = format!(
        "/ocsp/{}",
        Base64::encode_string(&req.to_der().expect("der")).replace('=', "%3D")
    );
    let status_now = || {
        let r = get(server.addr, &path);
        OcspVerifier::new(issuer.clone())
            .verify(&r.body, &req, SystemTime::now())
            .expect("verifies")[0]
            .status
            .clone()
    };
    assert_eq!(status_now(), VerifiedStatus::Good);
    // Another process (here: another connection to the same database) revokes.
    block_on(async {
        let store = AnyStore::connect(&db).await.expect("store");
        store
            .revoke(
                &issuer_id(&issuer),
                &magnitude(&leaf),
                SystemTime::now(),
                Some(CrlReason::Superseded),
                None,
            )
            .await
            .expect("revoke");
    });
    // Bounded wait for the poller: poll the responder, not a sleep.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        if matches!(
            status_now(),
            VerifiedStatus::Revoked {
                reason: Some(CrlReason::Superseded),
                ..
            }
        ) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "revocation never reached the cache"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The statuses kept in memory were dropped too: a nonce request (signed fresh, status
    // from memory when known) and another spelling of the GET (another path alias) agree.
    let with_nonce = OcspRequestBuilder::new()
        .certificate(&leaf, &issuer, DigestAlgorithm::Sha1)
        .expect("id")
        .with_nonce()
        .expect("nonce")
        .build();
    let r = post(
        server.addr,
        "/ocsp",
        "application/ocsp-request",
        &with_nonce.to_der().expect("der"),
    );
    let v = OcspVerifier::new(issuer.clone())
        .verify(&r.body, &with_nonce, SystemTime::now())
        .expect("verifies");
    assert!(
        matches!(v[0].status, VerifiedStatus::Revoked { .. }),
        "{:?}",
        v[0].status
    );
    let unpadded = format!(
        "/ocsp/{}",
        Base64::encode_string(&req.to_der().expect("der")).trim_end_matches('=')
    );
    let r = get(server.addr, &unpadded);
    let v = OcspVerifier::new(issuer.clone())
        .verify(&r.body, &req, SystemTime::now())
        .expect("verifies");
    assert!(matches!(v[0].status, VerifiedStatus::Revoked { .. }));
}

#[test]
fn crls_verify_with_openssl_for_an_intermediate() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = seeded_db(dir.path());
    let server = start_ocsp(&db, |a| a.name = Some("int".into()));
    let r = get(server.addr, "/crl/int.crl");
    assert_eq!(
        (r.status, r.header("content-type")),
        (200, Some("application/pkix-crl"))
    );
    let der_path = dir.path().join("int.crl");
    std::fs::write(&der_path, &r.body).expect("write");
    let text = String::from_utf8(
        openssl(&[
            "crl",
            "-inform",
            "DER",
            "-in",
            &s(&der_path),
            "-CAfile",
            &fixture_str("pki/int-ca.pem"),
            "-noout",
            "-text",
        ])
        .stdout,
    )
    .expect("utf-8");
    assert!(text.contains("Key Compromise"), "{text}");
    // AKI must be the intermediate's SKI.
    let ski = String::from_utf8(
        openssl(&[
            "x509",
            "-in",
            &fixture_str("pki/int-ca.pem"),
            "-noout",
            "-ext",
            "subjectKeyIdentifier",
        ])
        .stdout,
    )
    .expect("utf-8");
    let ski = ski.lines().nth(1).expect("ski line").trim().to_string();
    assert!(
        text.contains(&ski),
        "AKI is not the issuer's SKI {ski}: {text}"
    );
    let (_, verify_out) = openssl_try(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        &s(&der_path),
        "-CAfile",
        &fixture_str("pki/int-ca.pem"),
        "-noout",
    ]);
    assert!(verify_out.contains("verify OK"), "{verify_out}");
    // openssl verify -crl_check: revoked leaf rejected, good leaf accepted.
    let pem_path = dir.path().join("int.crl.pem");
    openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        &s(&der_path),
        "-out",
        &s(&pem_path),
    ]);
    let chain = fixture_str("pki/chain.pem");
    let check = |leaf: &str| {
        openssl_try(&[
            "verify",
            "-crl_check",
            "-CAfile",
            &chain,
            "-CRLfile",
            &s(&pem_path),
            "-purpose",
            "any",
            &fixture_str(leaf),
        ])
    };
    let (ok, out) = check("pki/tsa-p256.pem");
    assert!(ok, "good leaf: {out}");
    let (ok, out) = check("pki/tsa-rsa.pem");
    assert!(!ok && out.contains("revoked"), "revoked leaf: {out}");
    // The next CRL, made by another writer on the same database, has a higher number.
    let next = make_crl(&db, false);
    let next = gica_pki::crl::verify_crl(&next, &cert("pki/int-ca.pem"), SystemTime::now())
        .expect("verifies");
    let first = gica_pki::crl::verify_crl(&r.body, &cert("pki/int-ca.pem"), SystemTime::now())
        .expect("verifies");
    assert!(next.crl_number.to_u64() > first.crl_number.to_u64());
}

#[test]
fn gica_client_against_openssl_responder() {
    let dir = tempfile::tempdir().expect("tmp");
    let (rsa, p256) = (cert("pki/tsa-rsa.pem"), cert("pki/tsa-p256.pem"));
    let responder = OpensslResponder::start(&openssl_index(dir.path()));
    let issuer = cert("pki/int-ca.pem");
    let addr = responder.addr();
    let ask = |leaf: &Certificate| {
        let req = OcspRequestBuilder::new()
            .certificate(leaf, &issuer, DigestAlgorithm::Sha1)
            .expect("id")
            .with_nonce()
            .expect("nonce")
            .build();
        let r = post(
            addr,
            "/",
            "application/ocsp-request",
            &req.to_der().expect("der"),
        );
        OcspVerifier::new(issuer.clone())
            .verify(&r.body, &req, SystemTime::now())
            .expect("gica verifies openssl's response")[0]
            .status
            .clone()
    };
    assert_eq!(ask(&p256), VerifiedStatus::Good);
    match ask(&rsa) {
        VerifiedStatus::Revoked { reason, .. } => {
            assert_eq!(reason, Some(CrlReason::KeyCompromise))
        }
        other => panic!("expected revoked, got {other:?}"),
    }
}

#[test]
fn concurrent_misses_for_one_cert_id_sign_once() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start_ocsp(&seeded_db(dir.path()), |_| {});
    let req = OcspRequestBuilder::new()
        .certificate(
            &cert("pki/tsa-p256.pem"),
            &cert("pki/int-ca.pem"),
            DigestAlgorithm::Sha256,
        )
        .expect("id")
        .build()
        .to_der()
        .expect("der");
    let addr = server.addr;
    let threads: Vec<_> = (0..16)
        .map(|_| {
            let req = req.clone();
            std::thread::spawn(move || post(addr, "/ocsp", "application/ocsp-request", &req))
        })
        .collect();
    let bodies: Vec<Vec<u8>> = threads
        .into_iter()
        .map(|t| t.join().expect("thread").body)
        .collect();
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "every client got the one cached response"
    );
    let m = String::from_utf8(get(addr, "/metrics").body).expect("utf-8");
    assert!(
        m.contains("gica_ocsp_signing_seconds_count 1\n"),
        "signed more than once: {m}"
    );
}

#[test]
fn responders_sharing_a_store_serve_one_crl() {
    let dir = tempfile::tempdir().expect("tmp");
    let db = seeded_db(dir.path());
    // Polls every second: CRLs published by anyone are picked up within that.
    let fast = |a: &mut ServeArgs| a.max_staleness = Some("2s".into());
    let first = start_ocsp(&db, fast);
    let second = start_ocsp(&db, fast);
    let number_of = |der: &[u8]| {
        gica_pki::crl::verify_crl(der, &cert("pki/int-ca.pem"), SystemTime::now())
            .expect("verifies")
            .crl_number
            .to_u64()
            .expect("small number")
    };
    // Both may have made a CRL at start (they start at once); within a CRL check (1 s) both
    // serve the one with the highest number: the same bytes.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let a = loop {
        let a = get(first.addr, "/crl/int-ca.crl");
        let b = get(second.addr, "/crl/int-ca.crl");
        assert_eq!((a.status, b.status), (200, 200));
        if a.body == b.body {
            break a;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "two responders kept serving two different CRLs"
        );
        std::thread::sleep(Duration::from_millis(100));
    };

    // The time the served CRL has left is a gauge (24 h CRLs, made just now).
    let m = String::from_utf8(get(first.addr, "/metrics").body).expect("utf-8");
    let left: i64 = m
        .lines()
        .find_map(|l| l.strip_prefix("gica_ocsp_crl_seconds_to_next_update{issuer=\"int-ca\"} "))
        .unwrap_or_else(|| panic!("no CRL gauge in {m}"))
        .parse()
        .expect("seconds");
    assert!((86_000..=86_400).contains(&left), "{left}");

    // A CRL made elsewhere (the `crl` command) and published reaches both.
    let made = make_crl(&db, true);
    assert!(number_of(&made) > number_of(&a.body));
    for server in [&first, &second] {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while get(server.addr, "/crl/int-ca.crl").body != made {
            assert!(
                std::time::Instant::now() < deadline,
                "the published CRL never reached {}",
                server.addr
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}
