//! `gica ocsp check` against gica-ocsp-server, `openssl ocsp -index`, and canned responses.

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use gica_pki::{
    DigestAlgorithm,
    ocsp::{CertId, Responder, ResponderConfig, Status, serial_of},
};

use crate::{
    common::{ocsp::*, *},
    support::*,
};

fn check(url: Option<&str>, leaf: &str, issuer: &str, extra: &[&str]) -> Run {
    let mut args = vec!["ocsp", "check", "--cert", leaf, "--issuer", issuer];
    if let Some(u) = url {
        args.extend_from_slice(&["--url", u]);
    }
    args.extend_from_slice(extra);
    gica(&args)
}

fn int_ca() -> String {
    fixture_str("pki/int-ca.pem")
}

/// `gica ocsp check` of a fixture certificate against gica-ocsp-server (seeded store), by
/// POST and by GET; each run checked by `assert`.
fn against_gica_server(leaf: &str, assert: impl Fn(&Run, &str)) {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start_ocsp(&seeded_db(dir.path()), |_| {});
    let url = format!("http://{}/ocsp", server.addr);
    for method in ["--post", "--get"] {
        let run = check(Some(&url), &fixture_str(leaf), &int_ca(), &[method]);
        assert(&run, &method[2..].to_ascii_uppercase());
    }
}

#[test]
fn gica_server_good_exits_0_by_post_and_get() {
    against_gica_server("pki/tsa-p256.pem", |run, method| {
        run.expect(
            0,
            &[
                "good: CN=gica Test TSA P-256",
                "this update",
                "next update",
                "CN=gica Test Intermediate CA,O=gica test,C=IR (the issuer)",
                "sent and echoed",
                method,
            ],
        );
    });
}

#[test]
fn gica_server_revoked_exits_1_with_time_and_reason() {
    against_gica_server("pki/tsa-rsa.pem", |run, method| {
        run.expect(
            1,
            &[
                "revoked: CN=gica Test TSA RSA",
                "revocation time  2023-11-14T22:13:20Z",
                "reason           keyCompromise",
                method,
            ],
        );
    });
}

#[test]
fn gica_server_never_issued_exits_2_unknown() {
    against_gica_server("pki/tsa-p384.pem", |run, method| {
        run.expect(
            2,
            &["unknown", "does not know CN=gica Test TSA P-384", method],
        );
    });
}

#[test]
fn gica_server_json_carries_status_time_and_reason() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start_ocsp(&seeded_db(dir.path()), |_| {});
    let url = format!("http://{}/ocsp", server.addr);
    let run = check(
        Some(&url),
        &fixture_str("pki/tsa-rsa.pem"),
        &int_ca(),
        &["--json"],
    );
    let v = run.json();
    assert_eq!(v["verdict"], "revoked");
    assert_eq!(v["exit_code"], 1);
    assert_eq!(v["revocation_time"], "2023-11-14T22:13:20Z");
    assert_eq!(v["reason"], "keyCompromise");
    assert_eq!(v["url"], url.as_str());
    assert!(v["this_update"].as_str().is_some() && v["next_update"].as_str().is_some());
}

#[test]
fn gica_server_with_the_wrong_issuer_fails() {
    let dir = tempfile::tempdir().expect("tmp");
    let server = start_ocsp(&seeded_db(dir.path()), |_| {});
    let url = format!("http://{}/ocsp", server.addr);
    check(
        Some(&url),
        &fixture_str("pki/tsa-p256.pem"),
        &fixture_str("pki/root-ca.pem"),
        &[],
    )
    .expect(1, &["FAILED", &url, "unauthorized"]);
}

#[test]
fn openssl_responder_good_exits_0() {
    let dir = tempfile::tempdir().expect("tmp");
    let responder = OpensslResponder::start(&openssl_index(dir.path()));
    let url = format!("http://{}/", responder.addr());
    check(Some(&url), &fixture_str("pki/tsa-p256.pem"), &int_ca(), &[]).expect(
        0,
        &["good: CN=gica Test TSA P-256", "sent and echoed", &url],
    );
}

#[test]
fn openssl_responder_revoked_exits_1() {
    let dir = tempfile::tempdir().expect("tmp");
    let responder = OpensslResponder::start(&openssl_index(dir.path()));
    let url = format!("http://{}/", responder.addr());
    check(
        Some(&url),
        &fixture_str("pki/tsa-rsa.pem"),
        &int_ca(),
        &["--get"],
    )
    .expect(
        1,
        &["revoked", "2023-11-14T22:13:20Z", "keyCompromise", "GET"],
    );
}

#[test]
fn a_response_for_another_certificate_fails() {
    // openssl's response about tsa-p256, served whatever is asked.
    let canned = Canned::answering(
        "application/ocsp-response",
        std::fs::read(fixture("ocsp/resp-p256-good.der")).expect("read"),
    );
    let url = canned.url("/ocsp");
    check(
        Some(&url),
        &fixture_str("pki/tsa-rsa.pem"),
        &int_ca(),
        &["--no-nonce"],
    )
    .expect(1, &["FAILED", &url, "no answer for a CertID"]);
    // With a nonce sent, the canned answer's own nonce gives it away first.
    check(Some(&url), &fixture_str("pki/tsa-p256.pem"), &int_ca(), &[])
        .expect(1, &["nonce does not match", "--no-nonce"]);
}

#[test]
fn a_response_without_next_update_fails() {
    // openssl -index without -nmin/-ndays leaves nextUpdate out: RFC 5019 clients refuse it.
    let canned = Canned::answering(
        "application/ocsp-response",
        std::fs::read(fixture("ocsp/resp-p256-good.der")).expect("read"),
    );
    check(
        Some(&canned.url("/")),
        &fixture_str("pki/tsa-p256.pem"),
        &int_ca(),
        &["--no-nonce"],
    )
    .expect(1, &["FAILED", "no nextUpdate"]);
}

#[test]
fn a_stale_response_fails() {
    // Signed by int-ca two days ago, valid for an hour.
    let issuer = cert("pki/int-ca.pem");
    let leaf = cert("pki/tsa-p256.pem");
    let key = gica_ocsp_server::load_key(&fixture("pki/int-ca.key")).expect("key");
    let responder = Responder::new(
        issuer.clone(),
        None,
        Arc::clone(&key),
        ResponderConfig::default(),
    )
    .expect("responder");
    let id = CertId::new(
        &issuer,
        serial_of(&leaf).expect("serial"),
        DigestAlgorithm::Sha1,
    )
    .expect("CertID");
    let then = SystemTime::now() - Duration::from_secs(2 * 86_400);
    let der = responder
        .sign(&[(id, Status::Good)], None, then)
        .expect("sign");
    let canned = Canned::answering("application/ocsp-response", der);
    check(
        Some(&canned.url("/")),
        &fixture_str("pki/tsa-p256.pem"),
        &int_ca(),
        &["--no-nonce"],
    )
    .expect(1, &["FAILED", "has passed (the response is stale)"]);
}

#[test]
fn the_responder_url_comes_from_authority_info_access() {
    let dir = tempfile::tempdir().expect("tmp");
    // The leaf's serial is recorded before the server starts; the certificate is made once
    // the server's address (its AIA) is known.
    let serial = "5eed0001";
    let db = seeded_db_with(dir.path(), &[hex::decode(serial).expect("hex")]);
    let server = start_ocsp(&db, |_| {});
    let url = format!("http://{}/ocsp", server.addr);
    let leaf = make_leaf(dir.path(), "aia-leaf", serial, Some(&url));
    check(None, &s(&leaf), &int_ca(), &[]).expect(0, &["good: ", "aia-leaf", &url]);
    check(None, &s(&leaf), &int_ca(), &["--get"]).expect(0, &["good: ", "GET"]);
    // --anchors validates the path as well.
    check(
        None,
        &s(&leaf),
        &int_ca(),
        &["--anchors", &fixture_str("pki/root-ca.pem")],
    )
    .expect(0, &["good: ", "Root CA"]);
    // Without AIA and without --url there is nobody to ask.
    check(None, &fixture_str("pki/tsa-p256.pem"), &int_ca(), &[])
        .expect(3, &["names no OCSP responder", "--url"]);
}

#[test]
fn try_later_is_transient_and_exits_3() {
    // OCSPResponse { responseStatus tryLater(3) }.
    let canned = Canned::answering(
        "application/ocsp-response",
        vec![0x30, 0x03, 0x0a, 0x01, 0x03],
    );
    let url = canned.url("/");
    check(Some(&url), &fixture_str("pki/tsa-p256.pem"), &int_ca(), &[])
        .expect(3, &[&url, "responder answered tryLater"]);
}
