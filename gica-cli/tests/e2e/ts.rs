//! `gica ts request | verify | show`.

use gica_pki::DigestAlgorithm;

use crate::{common::*, support::*};

fn tsa_url(server: &TestServer) -> String {
    format!("http://{}/tsa", server.addr)
}

/// A data file in `dir`.
fn data_file(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("contract.txt");
    std::fs::write(&p, b"the parties agree\n").expect("write data");
    p
}

fn root() -> String {
    fixture_str("pki/root-ca.pem")
}

fn chain() -> String {
    fixture_str("pki/chain.pem")
}

#[test]
fn request_writes_file_tsr_that_openssl_verifies() {
    let server = TestServer::fixture("p256", &[]);
    let dir = tempfile::tempdir().expect("tmp");
    let data = data_file(dir.path());
    gica(&["ts", "request", &s(&data), "--url", &tsa_url(&server)]).expect(
        0,
        &["granted", "contract.txt.tsr", POLICY, "signer", "TSA P-256"],
    );
    let tsr = dir.path().join("contract.txt.tsr");
    assert!(tsr.is_file(), "FILE.tsr written");
    let out = openssl(&[
        "ts",
        "-verify",
        "-in",
        &s(&tsr),
        "-data",
        &s(&data),
        "-CAfile",
        &root(),
        "-untrusted",
        &chain(),
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Verification: OK"),
        "{out:?}"
    );
    gica(&[
        "ts",
        "verify",
        &s(&data),
        "--token",
        &s(&tsr),
        "--anchors",
        &root(),
        "--untrusted",
        &chain(),
    ])
    .expect(0, &["verified", "contract.txt was time-stamped"]);
}

#[test]
fn request_by_digest_writes_to_out() {
    let server = TestServer::fixture("p256", &[]);
    let dir = tempfile::tempdir().expect("tmp");
    let data = data_file(dir.path());
    let hex = hex::encode(DigestAlgorithm::Sha384.digest(&std::fs::read(&data).expect("read")));
    let out = dir.path().join("by-digest.tsr");
    gica(&[
        "ts",
        "request",
        "--digest",
        &hex,
        "--hash",
        "sha384",
        "--out",
        &s(&out),
        "--url",
        &tsa_url(&server),
    ])
    .expect(0, &["granted", "by-digest.tsr", &hex]);
    // The token is over the file's SHA-384: the file itself verifies.
    gica(&[
        "ts",
        "verify",
        &s(&data),
        "--token",
        &s(&out),
        "--anchors",
        &root(),
        "--untrusted",
        &chain(),
    ])
    .expect(0, &["verified", "sha384"]);
    // A digest of the wrong length for the hash is a usage error.
    gica(&[
        "ts",
        "request",
        "--digest",
        "abcd",
        "--out",
        &s(&out),
        "--url",
        &tsa_url(&server),
    ])
    .expect(3, &["--digest", "the hash algorithm makes 32"]);
}

#[test]
fn request_from_stdin_writes_to_out() {
    let server = TestServer::fixture("p256", &[]);
    let dir = tempfile::tempdir().expect("tmp");
    let data = data_file(dir.path());
    let bytes = std::fs::read(&data).expect("read");
    let out = dir.path().join("stdin.tsr");
    gica_stdin(
        &[
            "ts",
            "request",
            "-",
            "--out",
            &s(&out),
            "--url",
            &tsa_url(&server),
        ],
        Some(&bytes),
    )
    .expect(0, &["granted", "stdin.tsr"]);
    gica(&[
        "ts",
        "verify",
        &s(&data),
        "--token",
        &s(&out),
        "--anchors",
        &root(),
        "--untrusted",
        &chain(),
    ])
    .expect(0, &["verified"]);
}

#[test]
fn request_from_stdin_without_out_is_a_usage_error() {
    let server = TestServer::fixture("p256", &[]);
    gica_stdin(
        &["ts", "request", "-", "--url", &tsa_url(&server)],
        Some(b"data"),
    )
    .expect(3, &["--out FILE.tsr is needed"]);
}

#[test]
fn request_for_a_policy_the_tsa_refuses_fails_with_unaccepted_policy() {
    let server = TestServer::fixture("p256", &[]);
    let dir = tempfile::tempdir().expect("tmp");
    let data = data_file(dir.path());
    gica(&[
        "ts",
        "request",
        &s(&data),
        "--policy",
        "1.2.3.4",
        "--url",
        &tsa_url(&server),
    ])
    .expect(1, &["FAILED", "unacceptedPolicy", &tsa_url(&server)]);
    assert!(
        !dir.path().join("contract.txt.tsr").exists(),
        "a refusal is not written as a token"
    );
}

#[test]
fn request_without_cert_verifies_with_the_tsa_cert_as_untrusted() {
    let server = TestServer::fixture("p256", &[]);
    let dir = tempfile::tempdir().expect("tmp");
    let data = data_file(dir.path());
    gica(&[
        "ts",
        "request",
        &s(&data),
        "--no-cert",
        "--url",
        &tsa_url(&server),
    ])
    .expect(0, &["granted", "no certificate in the token"]);
    let tsr = s(&dir.path().join("contract.txt.tsr"));
    let verify = |extra: &[&str]| {
        let mut args = vec![
            "ts",
            "verify",
            data.to_str().expect("utf-8"),
            "--token",
            &tsr,
            "--anchors",
        ];
        let root = root();
        args.push(&root);
        args.extend_from_slice(extra);
        gica(&args)
    };
    let chain = chain();
    verify(&["--untrusted", &chain]).expect(1, &["signer certificate not found", "--untrusted"]);
    let tsa = fixture_str("pki/tsa-p256.pem");
    verify(&["--untrusted", &tsa, "--untrusted", &chain]).expect(0, &["verified", "TSA P-256"]);
}

/// `gica ts verify` of testdata/ts (openssl-made) over data.txt with extra flags.
fn verify_vector(token: &str, extra: &[&str]) -> Run {
    let data = fixture_str("ts/data.txt");
    let token = fixture_str(&format!("ts/{token}"));
    let (root, chain) = (root(), chain());
    let mut args = vec![
        "ts",
        "verify",
        &data,
        "--token",
        &token,
        "--anchors",
        &root,
        "--untrusted",
        &chain,
    ];
    args.extend_from_slice(extra);
    gica(&args)
}

#[test]
fn verify_accepts_openssl_responses_and_tokens() {
    let tsa_rsa = fixture_str("pki/tsa-rsa.pem");
    for (token, extra, signer) in [
        ("resp-p256.tsr", vec![], "TSA P-256"),
        ("token-p256.der", vec![], "TSA P-256"),
        ("resp-rsa.tsr", vec![], "TSA RSA"),
        (
            "resp-rsa-nocert.tsr",
            vec!["--untrusted", &tsa_rsa],
            "TSA RSA",
        ),
    ] {
        verify_vector(token, &extra).expect(
            0,
            &[
                "verified",
                "data.txt was time-stamped",
                signer,
                "75d9c6f0aa09dcd6db4926439823e6a1c54faf57aa7a08b6ac61dbf6f447bc49",
                "accuracy      ±1.5 s",
                "revocation of the TSA's chain was not checked",
            ],
        );
    }
}

#[test]
fn verify_of_other_data_fails_naming_the_imprint() {
    let dir = tempfile::tempdir().expect("tmp");
    let other = data_file(dir.path());
    let (root, chain) = (root(), chain());
    gica(&[
        "ts",
        "verify",
        &s(&other),
        "--token",
        &fixture_str("ts/resp-p256.tsr"),
        "--anchors",
        &root,
        "--untrusted",
        &chain,
    ])
    .expect(
        1,
        &[
            "FAILED",
            "message imprint does not match",
            "the token is not over",
        ],
    );
}

/// resp-p256.tsr with one byte changed, written to `dir`.
fn tampered(dir: &std::path::Path, name: &str, at: impl Fn(&[u8]) -> usize) -> String {
    let mut der = std::fs::read(fixture("ts/resp-p256.tsr")).expect("read");
    let i = at(&der);
    der[i] ^= 0x01;
    let p = dir.join(name);
    std::fs::write(&p, der).expect("write");
    s(&p)
}

#[test]
fn verify_of_a_tampered_signature_fails_naming_the_signature() {
    let dir = tempfile::tempdir().expect("tmp");
    // The SignerInfo's signature is the last field of the response: its last octet is inside
    // the ECDSA s value.
    let token = tampered(dir.path(), "sig.tsr", |der| der.len() - 1);
    let (data, root, chain) = (fixture_str("ts/data.txt"), root(), chain());
    gica(&[
        "ts",
        "verify",
        &data,
        "--token",
        &token,
        "--anchors",
        &root,
        "--untrusted",
        &chain,
    ])
    .expect(1, &["FAILED", "sig.tsr: signature"]);
}

#[test]
fn verify_of_a_tampered_tst_info_fails_naming_the_message_digest() {
    let dir = tempfile::tempdir().expect("tmp");
    let imprint = hex::decode("75d9c6f0aa09dcd6db4926439823e6a1c54faf57aa7a08b6ac61dbf6f447bc49")
        .expect("hex");
    // A byte of the imprint inside the TSTInfo: the signed messageDigest no longer matches.
    let token = tampered(dir.path(), "tst.tsr", |der| {
        der.windows(imprint.len())
            .position(|w| w == imprint.as_slice())
            .expect("imprint in the TSTInfo")
            + 5
    });
    let (data, root, chain) = (fixture_str("ts/data.txt"), root(), chain());
    gica(&[
        "ts",
        "verify",
        &data,
        "--token",
        &token,
        "--anchors",
        &root,
        "--untrusted",
        &chain,
    ])
    .expect(1, &["FAILED", "tst.tsr: messageDigest does not match"]);
}

#[test]
fn verify_with_wrong_anchors_finds_no_path() {
    let other = fixture_str("pki/other-root.pem");
    let (data, chain) = (fixture_str("ts/data.txt"), chain());
    gica(&[
        "ts",
        "verify",
        &data,
        "--token",
        &fixture_str("ts/resp-p256.tsr"),
        "--anchors",
        &other,
        "--untrusted",
        &chain,
    ])
    .expect(1, &["FAILED", "no path to a trust anchor"]);
}

#[test]
fn verify_after_the_chain_expired_suggests_at_gentime() {
    verify_vector("resp-p256.tsr", &["--at", "2100-01-01T00:00:00Z"]).expect(
        1,
        &["FAILED", "expired", "2100-01-01T00:00:00Z", "--at gentime"],
    );
    verify_vector("resp-p256.tsr", &["--at", "gentime"]).expect(0, &["verified", "(genTime)"]);
}

#[test]
fn verify_with_crls_needs_every_ca_below_the_anchor_covered() {
    let dir = tempfile::tempdir().expect("tmp");
    let int_crl = fixture_str("crl/crl-empty.der");
    // int-ca's CRL covers the TSA certificate, but nothing covers int-ca itself.
    verify_vector("resp-p256.tsr", &["--crl", &int_crl])
        .expect(2, &["unknown: ", "CN=gica Test Intermediate CA", "--crl"]);
    let root_crl = s(&root_crl(dir.path()));
    verify_vector("resp-p256.tsr", &["--crl", &int_crl, "--crl", &root_crl])
        .expect(0, &["verified", "not revoked per 2 CRL(s)"]);
}

#[test]
fn verify_json_has_verdict_exit_code_gen_time_serial_and_chain() {
    let run = verify_vector("resp-p256.tsr", &["--json"]);
    run.expect(0, &[]);
    let v = run.json();
    assert_eq!(v["verdict"], "verified");
    assert_eq!(v["exit_code"], 0);
    assert!(
        v["gen_time"].as_str().is_some_and(|t| t.ends_with('Z')),
        "{v}"
    );
    assert!(v["serial"].as_str().is_some_and(|s| !s.is_empty()), "{v}");
    let chain: Vec<&str> = v["chain"]
        .as_array()
        .expect("chain array")
        .iter()
        .map(|c| c.as_str().expect("string"))
        .collect();
    assert_eq!(chain.len(), 3, "{v}");
    assert!(chain[0].contains("TSA P-256") && chain[2].contains("Root CA"));
    // Failures are JSON too, with the cause.
    let run = verify_vector("resp-p256.tsr", &["--json", "--at", "2100-01-01T00:00:00Z"]);
    run.expect(1, &[]);
    let v = run.json();
    assert_eq!(
        (v["verdict"].as_str(), v["exit_code"].as_i64()),
        (Some("FAILED"), Some(1))
    );
    assert!(
        v["summary"].as_str().is_some_and(|s| s.contains("expired")),
        "{v}"
    );
}

#[test]
fn show_prints_a_granted_response() {
    gica(&["ts", "show", &fixture_str("ts/resp-rsa.tsr")]).expect(
        0,
        &[
            "TimeStampResp",
            "status               granted",
            "TSA RSA",
            POLICY,
            "shown, not verified",
        ],
    );
    gica(&["ts", "show", &fixture_str("ts/token-p256.der")]).expect(0, &["TimeStampToken"]);
}

#[test]
fn show_prints_status_fail_info_and_status_string_of_a_refusal() {
    let server = TestServer::fixture("p256", &[]);
    let dir = tempfile::tempdir().expect("tmp");
    let tsq = dir.path().join("req.tsq");
    openssl(&[
        "ts",
        "-query",
        "-data",
        &fixture_str("ts/data.txt"),
        "-sha256",
        "-tspolicy",
        "1.2.3.4",
        "-cert",
        "-out",
        &s(&tsq),
    ]);
    let reply = query(server.addr, &std::fs::read(&tsq).expect("read"));
    assert_eq!(reply.status, 200);
    let tsr = dir.path().join("refused.tsr");
    std::fs::write(&tsr, &reply.body).expect("write");
    let run = gica(&["ts", "show", &s(&tsr)]);
    run.expect(
        0,
        &[
            "TimeStampResp",
            "status         rejection",
            "fail info      unacceptedPolicy",
            "status string  policy 1.2.3.4 is not accepted",
        ],
    );
    // The same refusal given to `ts verify` fails with what the TSA said.
    let (data, root, chain) = (fixture_str("ts/data.txt"), root(), chain());
    gica(&[
        "ts",
        "verify",
        &data,
        "--token",
        &s(&tsr),
        "--anchors",
        &root,
        "--untrusted",
        &chain,
    ])
    .expect(1, &["not granted", "unacceptedPolicy"]);
}

#[test]
fn show_of_garbage_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("tmp");
    let junk = dir.path().join("junk.tsr");
    std::fs::write(&junk, b"this is not DER").expect("write");
    gica(&["ts", "show", &s(&junk)]).expect(3, &["junk.tsr"]);
}

#[test]
fn request_refuses_a_reply_that_answers_another_request() {
    // openssl's response to another query (over data.txt, with its own nonce), replayed.
    let canned = Canned::answering(
        "application/timestamp-reply",
        std::fs::read(fixture("ts/resp-p256.tsr")).expect("read"),
    );
    let url = canned.url("/tsa");
    let dir = tempfile::tempdir().expect("tmp");
    let data = data_file(dir.path());
    gica(&["ts", "request", &s(&data), "--url", &url])
        .expect(1, &["FAILED", &url, "message imprint does not match"]);
    assert!(!dir.path().join("contract.txt.tsr").exists());
    let out = s(&dir.path().join("replayed.tsr"));
    gica(&[
        "ts",
        "request",
        &fixture_str("ts/data.txt"),
        "--out",
        &out,
        "--url",
        &url,
    ])
    .expect(1, &["FAILED", &url, "nonce does not match"]);
}

#[test]
fn verify_with_another_expected_policy_fails_naming_both() {
    verify_vector("resp-p256.tsr", &["--policy", "1.3.6.1.4.1.99999.1.2"])
        .expect(1, &["FAILED", "policy", POLICY, "1.3.6.1.4.1.99999.1.2"]);
    verify_vector("resp-p256.tsr", &["--policy", POLICY]).expect(0, &["verified"]);
}

#[test]
fn request_with_sha512_and_no_nonce_is_granted() {
    let server = TestServer::fixture("p256", &[]);
    let dir = tempfile::tempdir().expect("tmp");
    let data = data_file(dir.path());
    gica(&[
        "ts",
        "request",
        &s(&data),
        "--hash",
        "sha512",
        "--no-nonce",
        "--url",
        &tsa_url(&server),
    ])
    .expect(0, &["granted", "sha512", "status, imprint, policy"]);
    let tsr = s(&dir.path().join("contract.txt.tsr"));
    let run = gica(&["ts", "show", &tsr, "--json"]);
    run.expect(0, &[]);
    let v = run.json();
    assert_eq!(v["hash"], "sha512");
    assert_eq!(v["nonce"], serde_json::Value::Null);
}
