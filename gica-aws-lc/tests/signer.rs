//! `AwsLcSigner` against the fixture PKI (testdata/pki), as gica-pki tests `SoftwareSigner`:
//! every PEM form, the algorithm derived from the key, signatures checked by gica-pki's
//! verifier and by the openssl CLI, and time-stamp tokens checked by `openssl ts -verify`.

use std::{path::Path, process::Command, sync::Arc, time::SystemTime};

use gica_aws_lc::AwsLcSigner;
use gica_pki::{
    DigestAlgorithm, Signer, SignerOptions, SoftwareSigner, cert,
    der::Encode,
    oid,
    tsp::{Authority, AuthorityConfig, Expectation, TimeStampReqBuilder, TokenVerifier},
    x509_cert::Certificate,
};

const POLICY: &str = "1.3.6.1.4.1.99999.1.1";

fn fixture(rel: &str) -> String {
    format!("{}/../testdata/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn text(rel: &str) -> String {
    let p = fixture(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn certificate(name: &str) -> Certificate {
    cert::load_pem_certs(&text(&format!("pki/{name}.pem")))
        .expect("certificate")
        .remove(0)
}

fn options(digest: Option<DigestAlgorithm>, rsa_pss: bool) -> SignerOptions {
    SignerOptions { digest, rsa_pss }
}

/// (certificate, key file, options, what SoftwareSigner makes of them): every PEM form in
/// testdata/pki, both RSA paddings and every hash.
fn cases() -> Vec<(&'static str, &'static str, SignerOptions, &'static str)> {
    use DigestAlgorithm::*;
    vec![
        (
            "tsa-p256",
            "tsa-p256.key",
            options(None, false),
            "ecdsa-p256-sha256",
        ),
        (
            "tsa-p256",
            "tsa-p256.sec1.key",
            options(None, false),
            "ecdsa-p256-sha256",
        ),
        (
            "tsa-p384",
            "tsa-p384.key",
            options(None, false),
            "ecdsa-p384-sha384",
        ),
        (
            "tsa-rsa",
            "tsa-rsa.key",
            options(None, false),
            "rsa-pkcs1-sha256",
        ),
        (
            "tsa-rsa",
            "tsa-rsa.pkcs1.key",
            options(Some(Sha384), false),
            "rsa-pkcs1-sha384",
        ),
        (
            "tsa-rsa",
            "tsa-rsa.key",
            options(Some(Sha512), false),
            "rsa-pkcs1-sha512",
        ),
        (
            "tsa-rsa",
            "tsa-rsa.pkcs1.key",
            options(None, true),
            "rsa-pss-sha256",
        ),
        (
            "tsa-rsa",
            "tsa-rsa.key",
            options(Some(Sha384), true),
            "rsa-pss-sha384",
        ),
        (
            "tsa-rsa",
            "tsa-rsa.key",
            options(Some(Sha512), true),
            "rsa-pss-sha512",
        ),
        (
            "tsa-rsa-pss",
            "tsa-rsa-pss.key",
            options(None, false),
            "rsa-pss-sha256",
        ),
        (
            "int-ca",
            "int-ca.key",
            options(None, false),
            "ecdsa-p256-sha256",
        ),
    ]
}

/// The signature algorithm a case must carry, spelled independently of the signer.
fn expected_oid(label: &str) -> gica_pki::der::asn1::ObjectIdentifier {
    match label {
        "ecdsa-p256-sha256" => oid::ECDSA_WITH_SHA256,
        "ecdsa-p384-sha384" => oid::ECDSA_WITH_SHA384,
        "rsa-pkcs1-sha256" => oid::SHA256_WITH_RSA,
        "rsa-pkcs1-sha384" => oid::SHA384_WITH_RSA,
        "rsa-pkcs1-sha512" => oid::SHA512_WITH_RSA,
        _ => oid::RSASSA_PSS,
    }
}

fn run_openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl on PATH");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// `openssl dgst -verify` with the public key taken from the certificate, not from us.
fn openssl_verifies(
    dir: &Path,
    tag: &str,
    cert_name: &str,
    label: &str,
    msg: &[u8],
    sig: &[u8],
) -> (bool, String) {
    let pubkey = dir.join(format!("{tag}.pub.pem"));
    let (ok, out) = run_openssl(&[
        "x509",
        "-in",
        &fixture(&format!("pki/{cert_name}.pem")),
        "-pubkey",
        "-noout",
        "-out",
        s(&pubkey),
    ]);
    assert!(ok, "{out}");
    let (m, g) = (
        dir.join(format!("{tag}.msg")),
        dir.join(format!("{tag}.sig")),
    );
    std::fs::write(&m, msg).expect("write");
    std::fs::write(&g, sig).expect("write");
    let digest = format!("-{}", &label[label.len() - 6..]);
    let mut args = vec![
        "dgst",
        digest.as_str(),
        "-verify",
        s(&pubkey),
        "-signature",
        s(&g),
    ];
    if label.starts_with("rsa-pss") {
        // Salt = hash length, as RsaPssParams::new says; openssl checks it.
        args.extend([
            "-sigopt",
            "rsa_padding_mode:pss",
            "-sigopt",
            "rsa_pss_saltlen:digest",
        ]);
    }
    args.push(s(&m));
    run_openssl(&args)
}

#[test]
fn every_pem_form_signs_as_the_software_signer_says_and_openssl_agrees() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (i, (cert_name, key, opts, label)) in cases().into_iter().enumerate() {
        let tag = format!("{i}-{key}-{label}");
        let pem = text(&format!("pki/{key}"));
        let fast = AwsLcSigner::from_pem(&pem, opts).unwrap_or_else(|e| panic!("{tag}: {e}"));
        let soft = SoftwareSigner::from_pem(&pem, opts).expect("software");
        assert_eq!(fast.backend(), "aws-lc");
        assert_eq!(
            fast.signature_algorithm(),
            soft.signature_algorithm(),
            "{tag}"
        );
        assert_eq!(fast.signature_algorithm().oid, expected_oid(label), "{tag}");
        assert_eq!(fast.digest_algorithm(), soft.digest_algorithm(), "{tag}");
        assert_eq!(fast.public_key(), soft.public_key(), "{tag}");
        let c = certificate(cert_name);
        assert!(
            gica_pki::key_matches(&fast, c.tbs_certificate().subject_public_key_info()),
            "{tag}"
        );

        let msg = format!("message signed by {tag}").into_bytes();
        let sig = fast.sign(&msg).expect("sign");
        gica_pki::verify_signature(
            fast.public_key(),
            fast.signature_algorithm(),
            None,
            &msg,
            &sig,
        )
        .unwrap_or_else(|e| panic!("{tag}: {e}"));
        // The certificate's own key and the algorithm, as a relying party sees them.
        gica_pki::verify_signature(
            c.tbs_certificate().subject_public_key_info(),
            fast.signature_algorithm(),
            None,
            &msg,
            &sig,
        )
        .unwrap_or_else(|e| panic!("{tag} by the certificate: {e}"));
        let (ok, out) = openssl_verifies(dir.path(), &tag, cert_name, label, &msg, &sig);
        assert!(ok && out.contains("Verified OK"), "{tag}: {out}");

        // A changed message fails both verifiers: they are not waving everything through.
        let mut other = msg.clone();
        other[0] ^= 1;
        assert!(
            gica_pki::verify_signature(
                fast.public_key(),
                fast.signature_algorithm(),
                None,
                &other,
                &sig
            )
            .is_err(),
            "{tag}"
        );
        let (ok, out) = openssl_verifies(
            dir.path(),
            &format!("{tag}-bad"),
            cert_name,
            label,
            &other,
            &sig,
        );
        assert!(!ok, "{tag}: openssl accepted a changed message: {out}");
    }
}

#[test]
fn tokens_signed_by_aws_lc_verify_with_openssl_ts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data.txt");
    std::fs::write(&data, b"time-stamped by aws-lc").expect("write");
    let chain = cert::load_pem_certs(&text("pki/chain.pem")).expect("chain");
    for (i, (cert_name, key, opts, label)) in cases().into_iter().enumerate() {
        if !cert_name.starts_with("tsa-") {
            continue;
        }
        let tag = format!("{i}-{label}");
        let signer =
            Arc::new(AwsLcSigner::from_pem(&text(&format!("pki/{key}")), opts).expect("key"));
        let mut config = AuthorityConfig::new(POLICY.parse().expect("oid"));
        config.chain = chain.clone();
        let tsa = Authority::new(certificate(cert_name), signer, config).expect("authority");
        let req = TimeStampReqBuilder::new(DigestAlgorithm::Sha256)
            .data(b"time-stamped by aws-lc")
            .with_nonce()
            .cert_req(true)
            .build()
            .expect("request");
        let serial = gica_pki::tsp::random_serial().expect("serial");
        let issued = tsa.respond(&req.to_der().expect("der"), SystemTime::now(), serial);
        assert!(issued.outcome.is_ok(), "{tag}: {:?}", issued.outcome);
        TokenVerifier::new(cert::load_pem_certs(&text("pki/root-ca.pem")).expect("root"))
            .verify_response(&issued.der, &Expectation::request(&req))
            .unwrap_or_else(|e| panic!("{tag}: {e}"));
        let tsr = dir.path().join(format!("{tag}.tsr"));
        std::fs::write(&tsr, &issued.der).expect("write");
        // `openssl ts -verify` goes through OpenSSL's PKCS#7 code, which knows no RSA-PSS
        // (it checks PKCS#1 v1.5 padding, for either backend): PSS tokens are checked as CMS.
        if !label.starts_with("rsa-pss") {
            let (ok, out) = run_openssl(&[
                "ts",
                "-verify",
                "-data",
                s(&data),
                "-in",
                s(&tsr),
                "-CAfile",
                &fixture("pki/root-ca.pem"),
                "-untrusted",
                &fixture("pki/chain.pem"),
            ]);
            assert!(ok && out.contains("Verification: OK"), "{tag}: {out}");
        }
        let token = dir.path().join(format!("{tag}.token"));
        let (ok, out) = run_openssl(&[
            "ts",
            "-reply",
            "-in",
            s(&tsr),
            "-token_out",
            "-out",
            s(&token),
        ]);
        assert!(ok, "{tag}: {out}");
        let (ok, out) = run_openssl(&[
            "cms",
            "-verify",
            "-inform",
            "DER",
            "-in",
            s(&token),
            "-CAfile",
            &fixture("pki/root-ca.pem"),
            "-certfile",
            &fixture("pki/chain.pem"),
            "-purpose",
            "timestampsign",
            "-out",
            s(&dir.path().join(format!("{tag}.tstinfo"))),
        ]);
        assert!(
            ok && out.contains("Verification successful"),
            "{tag}: {out}"
        );
    }
}

#[test]
fn keys_and_pairings_aws_lc_cannot_take_are_errors() {
    let p256 = text("pki/tsa-p256.key");
    // aws-lc-rs pairs P-256 with SHA-256 only; SoftwareSigner would sign with SHA-384.
    let err = AwsLcSigner::from_pem(&p256, options(Some(DigestAlgorithm::Sha384), false))
        .expect_err("P-256 with SHA-384");
    assert!(err.to_string().contains("P-256 with sha384"), "{err}");
    let err = AwsLcSigner::from_pem(
        &text("pki/tsa-p384.key"),
        options(Some(DigestAlgorithm::Sha256), false),
    )
    .expect_err("P-384 with SHA-256");
    assert!(err.to_string().contains("P-384 with sha256"), "{err}");
    // What SoftwareSigner refuses, AwsLcSigner refuses the same way.
    for (pem, opts) in [
        (p256.as_str(), options(None, true)),
        (p256.as_str(), options(Some(DigestAlgorithm::Sha1), false)),
        (
            "-----BEGIN PRIVATE KEY-----\nMAA=\n-----END PRIVATE KEY-----\n",
            options(None, false),
        ),
        ("no PEM here", options(None, false)),
        (&text("pki/tsa-p256.pem"), options(None, false)),
    ] {
        let soft = SoftwareSigner::from_pem(pem, opts).expect_err("software refuses");
        let fast = AwsLcSigner::from_pem(pem, opts).expect_err("aws-lc refuses");
        assert_eq!(fast.to_string(), soft.to_string());
    }
}

#[test]
fn one_signer_serves_many_threads() {
    let soft = SoftwareSigner::generate_p256().expect("key");
    let signer = Arc::new(AwsLcSigner::from_software(&soft).expect("aws-lc"));
    let threads: Vec<_> = (0..4u8)
        .map(|t| {
            let signer = signer.clone();
            std::thread::spawn(move || {
                for n in 0..50u8 {
                    let msg = [t, n];
                    let sig = signer.sign(&msg).expect("sign");
                    gica_pki::verify_signature(
                        signer.public_key(),
                        signer.signature_algorithm(),
                        None,
                        &msg,
                        &sig,
                    )
                    .expect("verifies");
                }
            })
        })
        .collect();
    for t in threads {
        t.join().expect("thread");
    }
    // ECDSA signatures are randomised: two of the same message differ, and both verify.
    assert_ne!(
        signer.sign(b"x").expect("sign"),
        signer.sign(b"x").expect("sign")
    );
}
