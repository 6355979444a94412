//! Usage and I/O errors: exit 3 with the URL or file that failed; never a hang.

use std::time::Duration;

use crate::{common::*, support::*};

fn request(url: &str, extra: &[&str]) -> Run {
    let data = fixture_str("ts/data.txt");
    let dir = tempfile::tempdir().expect("tmp");
    let out = s(&dir.path().join("out.tsr"));
    let mut args = vec!["ts", "request", &data, "--out", &out, "--url", url];
    args.extend_from_slice(extra);
    gica(&args)
}

#[test]
fn an_unreachable_url_is_an_io_error_naming_it() {
    let url = format!("http://127.0.0.1:{}/tsa", closed_port());
    request(&url, &[]).expect(3, &["error", &url]);
    let crl = format!("http://127.0.0.1:{}/crl/x.crl", closed_port());
    gica(&["crl", "show", &crl]).expect(3, &[&crl]);
}

#[test]
fn a_server_that_never_answers_times_out() {
    let silent = Canned::silent();
    let url = silent.url("/tsa");
    let run = request(&url, &["--timeout", "1"]);
    run.expect(3, &[&url, "no answer within 1 s"]);
    assert!(run.took < Duration::from_secs(20), "took {:?}", run.took);
    let ocsp = silent.url("/ocsp");
    gica(&[
        "--timeout",
        "1",
        "ocsp",
        "check",
        "--cert",
        &fixture_str("pki/tsa-p256.pem"),
        "--issuer",
        &fixture_str("pki/int-ca.pem"),
        "--url",
        &ocsp,
    ])
    .expect(3, &[&ocsp, "no answer within 1 s"]);
}

#[test]
fn a_body_over_the_cap_is_refused() {
    // 2 MiB: twice the cap on a TimeStampResp.
    let big = Canned::answering("application/timestamp-reply", vec![0x30; 2 << 20]);
    let url = big.url("/tsa");
    request(&url, &[]).expect(3, &[&url, "larger than"]);
}

#[test]
fn an_http_error_status_is_an_io_error() {
    let server = TestServer::fixture("p256", &[]);
    let url = format!("http://{}/nowhere", server.addr);
    request(&url, &[]).expect(3, &[&url, "HTTP 404"]);
}

#[test]
fn a_reply_that_is_not_a_time_stamp_names_the_media_type() {
    let html = Canned::answering("text/html", b"<html>login</html>".to_vec());
    let url = html.url("/tsa");
    request(&url, &[]).expect(1, &[&url, "Content-Type text/html", "is the URL right?"]);
}

#[test]
fn a_missing_file_is_an_io_error_naming_it() {
    let dir = tempfile::tempdir().expect("tmp");
    let missing = s(&dir.path().join("no-such.tsr"));
    gica(&[
        "ts",
        "verify",
        &fixture_str("ts/data.txt"),
        "--token",
        &missing,
        "--anchors",
        &fixture_str("pki/root-ca.pem"),
    ])
    .expect(3, &["error", &missing]);
    let leaf = s(&dir.path().join("no-such-leaf.pem"));
    gica(&[
        "cert",
        "verify",
        &leaf,
        "--anchors",
        &fixture_str("pki/root-ca.pem"),
    ])
    .expect(3, &[&leaf]);
    let data = s(&dir.path().join("no-such-data"));
    gica(&["ts", "request", &data, "--url", "http://127.0.0.1:1/tsa"]).expect(3, &[&data]);
}

#[test]
fn help_exits_0_and_documents_the_exit_codes() {
    let run = gica(&["--help"]);
    run.expect(
        0,
        &[
            "Exit codes:",
            "0  verified",
            "1  verification failed",
            "2  status unknown",
            "3  usage or I/O error",
        ],
    );
    for sub in [
        &["ts", "request", "--help"][..],
        &["ocsp", "check", "--help"],
        &["cert", "verify", "--help"],
    ] {
        gica(sub).expect(0, &["Example:"]);
    }
}

#[test]
fn an_unknown_flag_is_a_usage_error() {
    gica(&["ts", "show", "--frobnicate", "x.tsr"]).expect(3, &["--frobnicate"]);
    gica(&["ts", "request", "--url", "http://x/"]).expect(3, &[]);
    gica(&["nonsense"]).expect(3, &[]);
}
