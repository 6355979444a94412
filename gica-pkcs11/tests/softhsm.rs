//! Pkcs11Signer on SoftHSM2: every test gets its own token directory and process
//! (`SoftHsm::for_test`), imports the fixture keys of testdata/pki (no RSA key generation) or
//! generates a P-256 key on the token, and checks signatures with gica's verifier and openssl.

use std::{
    path::{Path, PathBuf},
    process::Command,
    time::{Duration, Instant},
};

use gica_pkcs11::{Pkcs11Error, Pkcs11Options, Pkcs11Signer, testing::SoftHsm};
use gica_pki::{DigestAlgorithm, Signer, SignerOptions, SoftwareSigner, oid};

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata/pki")
        .join(name)
}

fn software(name: &str, options: SignerOptions) -> SoftwareSigner {
    let pem = std::fs::read_to_string(fixture(name)).expect("fixture key");
    SoftwareSigner::from_pem(&pem, options).expect("software key")
}

fn open(uri: &str, options: SignerOptions) -> Result<Pkcs11Signer, Pkcs11Error> {
    Pkcs11Signer::open(uri, Pkcs11Options::new(options, 2))
}

/// openssl's verdict on `sig` over `msg` by the public key of certificate `cert`.
fn openssl_verifies(
    dir: &Path,
    cert: &Path,
    digest: &str,
    pss: bool,
    msg: &[u8],
    sig: &[u8],
) -> bool {
    let pubkey = dir.join("pub.pem");
    let out = Command::new("openssl")
        .args(["x509", "-pubkey", "-noout", "-in"])
        .arg(cert)
        .output()
        .expect("openssl x509");
    std::fs::write(&pubkey, out.stdout).expect("write");
    let (m, s) = (dir.join("msg"), dir.join("sig"));
    std::fs::write(&m, msg).expect("write");
    std::fs::write(&s, sig).expect("write");
    let mut cmd = Command::new("openssl");
    cmd.args(["dgst", &format!("-{digest}"), "-verify"])
        .arg(&pubkey);
    if pss {
        cmd.args([
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:digest",
        ]);
    }
    let out = cmd
        .arg("-signature")
        .arg(&s)
        .arg(&m)
        .output()
        .expect("openssl dgst");
    out.status.success() && String::from_utf8_lossy(&out.stdout).contains("Verified OK")
}

#[test]
fn signatures_match_software_keys_and_verify_with_openssl() {
    let Some(hsm) = SoftHsm::for_test("signatures_match_software_keys_and_verify_with_openssl")
    else {
        return;
    };
    hsm.init_token("gica").expect("token");
    for (name, id) in [("tsa-p256", "01"), ("tsa-p384", "02"), ("tsa-rsa", "03")] {
        hsm.import_key("gica", &fixture(&format!("{name}.key")), name, id)
            .expect("import");
    }
    let msg = b"a message signed on the token";
    let cases = [
        (
            "tsa-p256",
            SignerOptions::default(),
            "sha256",
            false,
            oid::ECDSA_WITH_SHA256,
        ),
        (
            "tsa-p384",
            SignerOptions::default(),
            "sha384",
            false,
            oid::ECDSA_WITH_SHA384,
        ),
        (
            "tsa-p256",
            SignerOptions {
                digest: Some(DigestAlgorithm::Sha512),
                rsa_pss: false,
            },
            "sha512",
            false,
            oid::ECDSA_WITH_SHA512,
        ),
        (
            "tsa-rsa",
            SignerOptions::default(),
            "sha256",
            false,
            oid::SHA256_WITH_RSA,
        ),
        (
            "tsa-rsa",
            SignerOptions {
                digest: Some(DigestAlgorithm::Sha384),
                rsa_pss: false,
            },
            "sha384",
            false,
            oid::SHA384_WITH_RSA,
        ),
        (
            "tsa-rsa",
            SignerOptions {
                digest: None,
                rsa_pss: true,
            },
            "sha256",
            true,
            oid::RSASSA_PSS,
        ),
        (
            "tsa-rsa",
            SignerOptions {
                digest: Some(DigestAlgorithm::Sha512),
                rsa_pss: true,
            },
            "sha512",
            true,
            oid::RSASSA_PSS,
        ),
    ];
    for (name, options, digest, pss, alg) in cases {
        let tag = format!("{name} {digest} pss={pss}");
        let signer = open(&hsm.uri("gica", name), options).expect(&tag);
        let soft = software(&format!("{name}.key"), options);
        assert_eq!(signer.public_key(), soft.public_key(), "{tag}");
        assert_eq!(
            signer.signature_algorithm(),
            soft.signature_algorithm(),
            "{tag}"
        );
        assert_eq!(signer.signature_algorithm().oid, alg, "{tag}");
        assert_eq!(signer.digest_algorithm(), soft.digest_algorithm(), "{tag}");
        for _ in 0..3 {
            let sig = signer.sign(msg).expect(&tag);
            gica_pki::verify_signature(
                signer.public_key(),
                signer.signature_algorithm(),
                None,
                msg,
                &sig,
            )
            .expect(&tag);
            assert!(
                gica_pki::verify_signature(
                    signer.public_key(),
                    signer.signature_algorithm(),
                    None,
                    b"other",
                    &sig
                )
                .is_err(),
                "{tag}"
            );
            let cert = fixture(&format!("{name}.pem"));
            assert!(
                openssl_verifies(hsm.dir(), &cert, digest, pss, msg, &sig),
                "{tag}"
            );
            assert!(
                !openssl_verifies(hsm.dir(), &cert, digest, pss, b"other", &sig),
                "{tag}"
            );
        }
    }
}

#[test]
fn a_key_generated_on_the_token_signs_from_many_threads() {
    let Some(hsm) = SoftHsm::for_test("a_key_generated_on_the_token_signs_from_many_threads")
    else {
        return;
    };
    if Command::new("pkcs11-tool").arg("--help").output().is_err() {
        eprintln!("SKIPPED: pkcs11-tool (OpenSC) is not installed (apt-get install opensc)");
        return;
    }
    hsm.init_token("gen").expect("token");
    hsm.generate_p256("gen", "fresh", "0a0b").expect("keygen");
    // By id alone, percent-encoded.
    let uri = format!(
        "pkcs11:token=gen;id=%0a%0B?module-path={}&pin-source=file:{}",
        hsm.module().display(),
        hsm.pin_file().display()
    );
    let signer = std::sync::Arc::new(open(&uri, SignerOptions::default()).expect("open"));
    assert_eq!(signer.signature_algorithm().oid, oid::ECDSA_WITH_SHA256);
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let signer = signer.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let msg = format!("thread {t} message {i}");
                    let sig = signer.sign(msg.as_bytes()).expect("sign");
                    gica_pki::verify_signature(
                        signer.public_key(),
                        signer.signature_algorithm(),
                        None,
                        msg.as_bytes(),
                        &sig,
                    )
                    .expect("verify");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
}

#[test]
fn uri_selectors_and_refusals() {
    let Some(hsm) = SoftHsm::for_test("uri_selectors_and_refusals") else {
        return;
    };
    hsm.init_token("one").expect("token");
    hsm.init_token("two").expect("token");
    let p256 = fixture("tsa-p256.key");
    hsm.import_key("one", &p256, "k", "01").expect("import");
    hsm.import_key("two", &p256, "k", "01").expect("import");
    hsm.import_key("two", &fixture("tsa-p384.key"), "dup", "02")
        .expect("import");
    hsm.import_key("two", &fixture("tsa-p384.key"), "dup", "03")
        .expect("import");
    let m = hsm.module().display().to_string();
    let pin = hsm.pin_file().display().to_string();
    let ok = |uri: String| open(&uri, SignerOptions::default()).map(|s| s.public_key().clone());
    let want = software("tsa-p256.key", SignerOptions::default())
        .public_key()
        .clone();
    assert_eq!(
        ok(format!(
            "pkcs11:token=one;object=k?module-path={m}&pin-source=file:{pin}"
        ))
        .expect("by label"),
        want
    );
    assert_eq!(
        ok(format!(
            "pkcs11:token=two;object=k;type=private?module-path={m}&pin-source=file://{pin}"
        ))
        .expect("file://"),
        want
    );
    // The serial softhsm2-util reports for token "one".
    let slots = String::from_utf8(
        hsm.run("softhsm2-util", &["--show-slots"])
            .expect("slots")
            .stdout,
    )
    .expect("utf-8");
    let serial = slots
        .split("Slot ")
        .find(|s| s.contains("Label:            one"))
        .and_then(|s| {
            s.lines()
                .find(|l| l.trim_start().starts_with("Serial number:"))
        })
        .and_then(|l| l.split(':').nth(1))
        .map(|s| s.trim().to_string())
        .expect("serial of token one");
    assert_eq!(
        ok(format!(
            "pkcs11:serial={serial};object=k?module-path={m}&pin-source=file:{pin}"
        ))
        .expect("by serial"),
        want
    );
    // The PIN from the environment (the child process has GICA_PKCS11_PIN set).
    assert_eq!(
        ok(format!("pkcs11:token=one;object=k?module-path={m}")).expect("env PIN"),
        want
    );

    let err = |uri: String| match open(&uri, SignerOptions::default()) {
        Ok(_) => panic!("{uri} opened"),
        Err(e) => e,
    };
    // The same key on two tokens, and two keys of one label.
    assert!(matches!(
        err(format!(
            "pkcs11:object=k?module-path={m}&pin-source=file:{pin}"
        )),
        Pkcs11Error::Ambiguous(_, 2)
    ));
    assert!(matches!(
        err(format!(
            "pkcs11:token=two;object=dup?module-path={m}&pin-source=file:{pin}"
        )),
        Pkcs11Error::Ambiguous(_, 2)
    ));
    assert!(matches!(
        err(format!(
            "pkcs11:token=three;object=k?module-path={m}&pin-source=file:{pin}"
        )),
        Pkcs11Error::TokenNotFound(_)
    ));
    assert!(matches!(
        err(format!(
            "pkcs11:token=one;object=nope?module-path={m}&pin-source=file:{pin}"
        )),
        Pkcs11Error::KeyNotFound(_)
    ));
    let wrong = hsm.dir().join("wrong-pin");
    std::fs::write(&wrong, "0000\n").expect("write");
    let e = err(format!(
        "pkcs11:token=one;object=k?module-path={m}&pin-source=file:{}",
        wrong.display()
    ));
    assert!(matches!(e, Pkcs11Error::Login { .. }), "{e}");
    assert!(e.to_string().contains("PinIncorrect"), "{e}");
    assert!(matches!(
        err(format!(
            "pkcs11:token=one;object=k?module-path={m}&pin-source=file:/nonexistent/pin"
        )),
        Pkcs11Error::PinFile { .. }
    ));
    assert!(matches!(
        err(format!(
            "pkcs11:token=one;object=k?module-path=/nonexistent.so&pin-source=file:{pin}"
        )),
        Pkcs11Error::Module { .. }
    ));
    assert!(matches!(
        err(format!(
            "pkcs11:token=one;object=k?module-path={m}&pin-value=1234"
        )),
        Pkcs11Error::Uri(_)
    ));
    // A key whose certificate is for another key: the servers' check sees the token's key.
    let signer = open(
        &format!("pkcs11:token=one;object=k?module-path={m}&pin-source=file:{pin}"),
        SignerOptions::default(),
    )
    .expect("open");
    let rsa_cert = gica_pki::cert::load_pem_certs(
        &std::fs::read_to_string(fixture("tsa-rsa.pem")).expect("cert"),
    )
    .expect("pem");
    let p256_cert = gica_pki::cert::load_pem_certs(
        &std::fs::read_to_string(fixture("tsa-p256.pem")).expect("cert"),
    )
    .expect("pem");
    assert!(!gica_pki::key_matches(
        &signer,
        rsa_cert[0].tbs_certificate().subject_public_key_info()
    ));
    assert!(gica_pki::key_matches(
        &signer,
        p256_cert[0].tbs_certificate().subject_public_key_info()
    ));
}

/// Signs until it works, for at most `limit`; the number of failures before.
fn sign_until_ok(signer: &Pkcs11Signer, limit: Duration) -> usize {
    let start = Instant::now();
    let mut failures = 0;
    loop {
        match signer.sign(b"after") {
            Ok(sig) => {
                gica_pki::verify_signature(
                    signer.public_key(),
                    signer.signature_algorithm(),
                    None,
                    b"after",
                    &sig,
                )
                .expect("verify");
                return failures;
            }
            Err(e) if start.elapsed() < limit => {
                eprintln!("while the token comes back: {e}");
                failures += 1;
                std::thread::sleep(Duration::from_millis(100));
            }
            Err(e) => panic!("the token did not come back: {e}"),
        }
    }
}

#[test]
fn sessions_are_reopened_after_the_token_is_removed_and_restored() {
    let Some(hsm) =
        SoftHsm::for_test("sessions_are_reopened_after_the_token_is_removed_and_restored")
    else {
        return;
    };
    hsm.init_token("gica").expect("token");
    hsm.import_key("gica", &fixture("tsa-p256.key"), "tsa-key", "01")
        .expect("import");
    let signer = open(&hsm.uri("gica", "tsa-key"), SignerOptions::default()).expect("open");
    signer.sign(b"before").expect("sign");

    // Removed: the token and its key are gone from disk.
    hsm.delete_token("gica").expect("delete");
    let gone = signer.sign(b"while away");
    eprintln!("signing with the token removed: {gone:?}");
    // Restored: a new token of the same label with the same key; no new signer.
    hsm.init_token("gica").expect("token");
    hsm.import_key("gica", &fixture("tsa-p256.key"), "tsa-key", "01")
        .expect("import");
    sign_until_ok(&signer, Duration::from_secs(10));
    signer.sign(b"again").expect("sign");

    // Replaced by another key under the same name: refused, never signed with.
    hsm.delete_token("gica").expect("delete");
    hsm.init_token("gica").expect("token");
    hsm.import_key("gica", &fixture("tsa-p384.key"), "tsa-key", "01")
        .expect("import");
    let start = Instant::now();
    loop {
        match signer.sign_message(b"other key") {
            Err(Pkcs11Error::KeyChanged(_)) => break,
            other => {
                assert!(start.elapsed() < Duration::from_secs(10), "{other:?}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
}
