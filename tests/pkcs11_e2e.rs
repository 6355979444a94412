//! End to end with keys on SoftHSM2: a TSA and an OCSP responder started with
//! `pkcs11:` URIs, checked by `openssl ts -verify`, `openssl ocsp` and `openssl crl`, and kept
//! answering while their token is removed and restored. Each test runs in its own process
//! with its own token directory (`SoftHsm::for_test`); without SoftHSM2 they are skipped.

mod common;

use std::{
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use common::{ocsp::*, *};
use gica_ocsp_server::config::CrlArgs;
use gica_pkcs11::testing::SoftHsm;

fn s(p: &Path) -> String {
    p.to_str().expect("utf-8").to_string()
}

/// Retries `check` (which says whether the server answered correctly) until it passes, for at
/// most 15 s: the first requests after a token comes back may still see it away.
fn eventually(what: &str, mut check: impl FnMut() -> Result<(), String>) {
    let start = Instant::now();
    loop {
        match check() {
            Ok(()) => return,
            Err(e) if start.elapsed() < Duration::from_secs(15) => {
                eprintln!("{what}: not yet: {e}");
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("{what}: {e}"),
        }
    }
}

/// Deletes token `label` and makes it again with the same key: to the running server its
/// sessions, login and key handle are gone.
fn remove_and_restore(hsm: &SoftHsm, label: &str, key: &str, object: &str) {
    hsm.delete_token(label).expect("delete token");
    hsm.init_token(label).expect("init token");
    hsm.import_key(label, &fixture(key), object, "01")
        .expect("import");
}

/// Asks `addr` for a time-stamp of testdata/ts/data.txt (SHA-256, certReq) as `openssl ts
/// -query` makes it; the response file.
fn fetch_time_stamp(addr: std::net::SocketAddr, dir: &Path) -> Result<PathBuf, String> {
    let (q, r) = (dir.join("req.tsq"), dir.join("resp.tsr"));
    let data = fixture_str("ts/data.txt");
    openssl(&[
        "ts",
        "-query",
        "-data",
        &data,
        "-sha256",
        "-cert",
        "-out",
        &s(&q),
    ]);
    let reply = query(addr, &std::fs::read(&q).map_err(|e| e.to_string())?);
    if reply.status != 200 {
        return Err(format!("HTTP {}", reply.status));
    }
    std::fs::write(&r, &reply.body).map_err(|e| e.to_string())?;
    Ok(r)
}

/// A time-stamp from the server at `addr`, verified by `openssl ts -verify`.
fn openssl_time_stamp(addr: std::net::SocketAddr, dir: &Path) -> Result<(), String> {
    let r = fetch_time_stamp(addr, dir)?;
    let data = fixture_str("ts/data.txt");
    let (ok, text) = openssl_try(&[
        "ts",
        "-verify",
        "-data",
        &data,
        "-in",
        &s(&r),
        "-CAfile",
        &fixture_str("pki/root-ca.pem"),
        "-untrusted",
        &fixture_str("pki/chain.pem"),
    ]);
    if ok && text.contains("Verification: OK") {
        Ok(())
    } else {
        Err(text)
    }
}

/// A time-stamp token from `addr` whose CMS signature `openssl cms -verify` accepts.
fn openssl_cms_verifies_token(addr: std::net::SocketAddr, dir: &Path) -> Result<(), String> {
    let r = fetch_time_stamp(addr, dir)?;
    let t = dir.join("token.der");
    openssl(&["ts", "-reply", "-in", &s(&r), "-token_out", "-out", &s(&t)]);
    let (ok, text) = openssl_try(&[
        "cms",
        "-verify",
        "-inform",
        "DER",
        "-in",
        &s(&t),
        "-CAfile",
        &fixture_str("pki/root-ca.pem"),
        "-certfile",
        &fixture_str("pki/chain.pem"),
        "-purpose",
        "any",
        "-out",
        &s(&dir.join("tstinfo.der")),
    ]);
    let alg = openssl(&["cms", "-cmsout", "-print", "-inform", "DER", "-in", &s(&t)]);
    let printed = String::from_utf8_lossy(&alg.stdout);
    if !printed.contains("rsassaPss") {
        return Err(format!("not an RSA-PSS signature: {printed}"));
    }
    if ok && text.contains("Verification successful") {
        Ok(())
    } else {
        Err(text)
    }
}

#[test]
fn tsa_with_a_token_key_survives_token_removal() {
    let Some(hsm) = SoftHsm::for_test("tsa_with_a_token_key_survives_token_removal") else {
        return;
    };
    hsm.init_token("gica").expect("token");
    hsm.import_key("gica", &fixture("pki/tsa-p256.key"), "tsa-key", "01")
        .expect("import");
    hsm.import_key("gica", &fixture("pki/tsa-rsa.key"), "tsa-rsa", "02")
        .expect("import");
    // The example, with this test's PIN file.
    let uri = format!(
        "pkcs11:token=gica;object=tsa-key?module-path={}&pin-source=file:{}",
        hsm.module().display(),
        hsm.pin_file().display()
    );
    let (cert, chain) = (
        fixture_str("pki/tsa-p256.pem"),
        fixture_str("pki/chain.pem"),
    );
    // A key that is not the certificate's is refused at start, read from the token.
    let wrong = hsm.uri("gica", "tsa-rsa");
    let argv = [
        "gica-tsa-server",
        "--cert",
        &cert,
        "--key",
        &wrong,
        "--policy",
        POLICY,
    ];
    let settings = gica_tsa_server::Settings::resolve(
        <gica_tsa_server::Args as clap::Parser>::try_parse_from(argv).expect("flags"),
    )
    .expect("settings");
    let refused = gica_tsa_server::TsaServer::from_settings(
        &settings,
        std::sync::Arc::new(gica_tsa_server::SystemClock),
    );
    assert!(
        refused.is_err(),
        "a TSA started with another key's certificate"
    );

    let server = TestServer::start(&[
        "--cert",
        &cert,
        "--key",
        &uri,
        "--chain",
        &chain,
        "--policy",
        POLICY,
        "--signing-threads",
        "2",
    ]);
    let dir = hsm.dir().to_path_buf();
    openssl_time_stamp(server.addr, &dir).expect("token from the HSM key");

    // An RSA key on the token, PKCS#1 v1.5 and PSS.
    for pss in [false, true] {
        let rsa_cert = fixture_str("pki/tsa-rsa.pem");
        let mut flags = vec![
            "--cert", &rsa_cert, "--key", &wrong, "--chain", &chain, "--policy", POLICY,
        ];
        if pss {
            flags.push("--rsa-pss");
        }
        let rsa = TestServer::start(&flags);
        if pss {
            // `openssl ts -verify` goes through OpenSSL's PKCS7 code, which has no RSA-PSS
            // (it fails for a software PSS key too); its CMS code has.
            openssl_cms_verifies_token(rsa.addr, &dir).expect("RSA-PSS token");
        } else {
            openssl_time_stamp(rsa.addr, &dir).expect("RSA token");
        }
        rsa.stop();
    }

    remove_and_restore(&hsm, "gica", "pki/tsa-p256.key", "tsa-key");
    eventually("a time-stamp after the token came back", || {
        openssl_time_stamp(server.addr, &dir)
    });
    for _ in 0..5 {
        openssl_time_stamp(server.addr, &dir).expect("and after");
    }
}

/// `openssl ocsp` (with a nonce, so every answer is freshly signed) for tsa-p256 (good) and
/// tsa-rsa (revoked).
fn openssl_ocsp(addr: std::net::SocketAddr) -> Result<(), String> {
    let (ok, text) = openssl_try(&[
        "ocsp",
        "-issuer",
        &fixture_str("pki/int-ca.pem"),
        "-cert",
        &fixture_str("pki/tsa-p256.pem"),
        "-cert",
        &fixture_str("pki/tsa-rsa.pem"),
        "-url",
        &format!("http://{addr}/ocsp"),
        "-CAfile",
        &fixture_str("pki/root-ca.pem"),
    ]);
    if ok
        && text.contains("Response verify OK")
        && text.contains("tsa-p256.pem: good")
        && text.contains("tsa-rsa.pem: revoked")
    {
        Ok(())
    } else {
        Err(text)
    }
}

fn openssl_crl_verifies(crl: &Path) {
    let (ok, text) = openssl_try(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        &s(crl),
        "-CAfile",
        &fixture_str("pki/int-ca.pem"),
        "-noout",
    ]);
    assert!(ok && text.contains("verify OK"), "{text}");
}

#[test]
fn ocsp_and_crls_with_a_token_key_survive_token_removal() {
    let Some(hsm) = SoftHsm::for_test("ocsp_and_crls_with_a_token_key_survive_token_removal")
    else {
        return;
    };
    hsm.init_token("ca").expect("token");
    hsm.import_key("ca", &fixture("pki/int-ca.key"), "int-ca", "01")
        .expect("import");
    let uri = hsm.uri("ca", "int-ca");
    let db = seeded_db(hsm.dir());

    // The crl admin command signs with the token key.
    let out = hsm.dir().join("admin.crl");
    let args = CrlArgs {
        db: db.clone(),
        issuer: fixture("pki/int-ca.pem"),
        ca_key: uri.clone().into(),
        out: out.clone(),
        next_update: Some("48h".into()),
        crl_url: None,
        crypto: None,
    };
    block_on(gica_ocsp_server::admin::crl(&args, &mut Vec::new())).expect("crl command");
    openssl_crl_verifies(&out);

    // The responder signs OCSP responses and CRLs with the CA key on the token.
    let server = start_ocsp(&db, |args| args.ca_key = Some(uri.clone().into()));
    openssl_ocsp(server.addr).expect("OCSP signed on the token");
    let crl = get(server.addr, "/crl/int-ca.crl");
    assert_eq!(crl.status, 200);
    let served = hsm.dir().join("served.crl");
    std::fs::write(&served, &crl.body).expect("write");
    openssl_crl_verifies(&served);

    remove_and_restore(&hsm, "ca", "pki/int-ca.key", "int-ca");
    eventually("OCSP after the token came back", || {
        openssl_ocsp(server.addr)
    });
    for _ in 0..5 {
        openssl_ocsp(server.addr).expect("and after");
    }
}
