//! The OCSP core against the fixture PKI and the openssl CLI.

use std::{
    process::Command,
    sync::Arc,
    time::{Duration, SystemTime},
};

use der::{Decode, Encode};
use gica_pki::{
    CrlReason, DigestAlgorithm, Signer, SignerOptions, SoftwareSigner, cert,
    certgen::CertificateParams,
    der::asn1::{ObjectIdentifier, OctetString},
    ocsp::*,
    x509_cert::{Certificate, ext::Extension},
};

fn path(rel: &str) -> String {
    format!("{}/../testdata/{rel}", env!("CARGO_MANIFEST_DIR"))
}

fn load(rel: &str) -> Certificate {
    cert::load_pem_certs(&std::fs::read_to_string(path(rel)).expect("read"))
        .expect("pem")
        .remove(0)
}

fn int_key() -> Arc<SoftwareSigner> {
    Arc::new(
        SoftwareSigner::from_pem(
            &std::fs::read_to_string(path("pki/int-ca.key")).expect("key"),
            SignerOptions::default(),
        )
        .expect("key"),
    )
}

fn responder(config: ResponderConfig) -> Responder {
    Responder::new(load("pki/int-ca.pem"), None, int_key(), config).expect("responder")
}

fn openssl(args: &[&str]) -> String {
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

#[test]
fn openssl_request_parses_and_our_response_verifies_in_openssl() {
    let dir = tempfile::tempdir().expect("tmp");
    let req = dir.path().join("req.der");
    let resp = dir.path().join("resp.der");
    let s = |p: &std::path::Path| p.to_str().expect("utf-8").to_string();
    openssl(&[
        "ocsp",
        "-issuer",
        &path("pki/int-ca.pem"),
        "-sha256",
        "-cert",
        &path("pki/tsa-p256.pem"),
        "-cert",
        &path("pki/tsa-rsa.pem"),
        "-cert",
        &path("pki/tsa-p384.pem"),
        "-reqout",
        &s(&req),
    ]);
    let parsed = parse_request(&std::fs::read(&req).expect("req"), 16).expect("parses");
    assert_eq!(parsed.cert_ids.len(), 3);
    assert_eq!(
        nonce_value(parsed.nonce.as_ref().expect("openssl sends a nonce")).len(),
        16
    );
    let r = responder(ResponderConfig::default());
    assert!(parsed.cert_ids.iter().all(|id| r.serves(id)));
    let revoked_at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let answers = vec![
        (parsed.cert_ids[0].clone(), Status::Good),
        (
            parsed.cert_ids[1].clone(),
            Status::Revoked {
                time: revoked_at,
                reason: Some(CrlReason::KeyCompromise),
            },
        ),
        (parsed.cert_ids[2].clone(), Status::Unknown),
    ];
    std::fs::write(
        &resp,
        r.sign(&answers, parsed.nonce.as_ref(), SystemTime::now())
            .expect("sign"),
    )
    .expect("write");
    let out = openssl(&[
        "ocsp",
        "-respin",
        &s(&resp),
        "-no_nonce",
        "-issuer",
        &path("pki/int-ca.pem"),
        "-sha256",
        "-cert",
        &path("pki/tsa-p256.pem"),
        "-cert",
        &path("pki/tsa-rsa.pem"),
        "-cert",
        &path("pki/tsa-p384.pem"),
        "-CAfile",
        &path("pki/root-ca.pem"),
        "-verify_other",
        &path("pki/int-ca.pem"),
    ]);
    assert!(out.contains("Response verify OK"), "{out}");
    assert!(out.contains("tsa-p256.pem: good"), "{out}");
    assert!(out.contains("tsa-rsa.pem: revoked"), "{out}");
    assert!(out.contains("Reason: keyCompromise"), "{out}");
    assert!(
        out.contains("Revocation Time: Nov 14 22:13:20 2023 GMT"),
        "{out}"
    );
    assert!(out.contains("tsa-p384.pem: unknown"), "{out}");
}

#[test]
fn our_client_round_trip_every_hash_and_responder_id() {
    let issuer = load("pki/int-ca.pem");
    let leaf = load("pki/tsa-p256.pem");
    for kind in [ResponderIdKind::ByKey, ResponderIdKind::ByName] {
        let r = responder(ResponderConfig {
            responder_id: kind,
            ..Default::default()
        });
        for digest in [
            DigestAlgorithm::Sha1,
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ] {
            let req = OcspRequestBuilder::new()
                .certificate(&leaf, &issuer, digest)
                .expect("id")
                .with_nonce()
                .expect("nonce")
                .build();
            let parsed = parse_request(&req.to_der().expect("der"), 16).expect("parse");
            assert!(r.serves(&parsed.cert_ids[0]), "{digest}");
            let der = r
                .sign(
                    &[(parsed.cert_ids[0].clone(), Status::Good)],
                    parsed.nonce.as_ref(),
                    SystemTime::now(),
                )
                .expect("sign");
            let v = OcspVerifier::new(issuer.clone())
                .verify(&der, &req, SystemTime::now())
                .expect("verifies");
            assert_eq!(v[0].status, VerifiedStatus::Good);
            assert_eq!(
                v[0].cert_id.hash_algorithm.oid,
                digest.oid(),
                "answered with the client's hash"
            );
            assert!(v[0].next_update.expect("nextUpdate") > v[0].this_update);
        }
    }
}

#[test]
fn delegated_responder_is_accepted_and_a_stranger_is_not() {
    let issuer = load("pki/int-ca.pem");
    let leaf = load("pki/tsa-rsa.pem");
    let delegate_key = Arc::new(SoftwareSigner::generate_p256().expect("key"));
    let mut params = CertificateParams::leaf("CN=gica test OCSP responder", 30);
    params.extended_key_usage = Some((false, vec![gica_pki::oid::KP_OCSP_SIGNING]));
    let delegate = params
        .signed_by(delegate_key.public_key(), &issuer, int_key().as_ref())
        .expect("cert");
    let r = Responder::new(
        issuer.clone(),
        Some(delegate),
        delegate_key.clone(),
        ResponderConfig::default(),
    )
    .expect("delegated");
    let req = OcspRequestBuilder::new()
        .certificate(&leaf, &issuer, DigestAlgorithm::Sha256)
        .expect("id")
        .build();
    let id = req.tbs_request.request_list[0].req_cert.clone();
    let der = r
        .sign(&[(id.clone(), Status::Good)], None, SystemTime::now())
        .expect("sign");
    OcspVerifier::new(issuer.clone())
        .verify(&der, &req, SystemTime::now())
        .expect("delegated response verifies");
    // A responder certificate without OCSPSigning is refused at construction.
    let plain = CertificateParams::leaf("CN=not a responder", 30)
        .signed_by(delegate_key.public_key(), &issuer, int_key().as_ref())
        .expect("cert");
    assert!(
        Responder::new(
            issuer.clone(),
            Some(plain),
            delegate_key.clone(),
            ResponderConfig::default()
        )
        .is_err()
    );
    // A response signed by some other key does not verify.
    let stranger_root = CertificateParams::ca("CN=stranger", 30)
        .self_signed(delegate_key.as_ref())
        .expect("cert");
    let s = Responder::new(
        stranger_root,
        None,
        delegate_key,
        ResponderConfig::default(),
    )
    .expect("self");
    let der = s
        .sign(&[(id, Status::Good)], None, SystemTime::now())
        .expect("sign");
    assert!(matches!(
        OcspVerifier::new(issuer).verify(&der, &req, SystemTime::now()),
        Err(OcspVerifyError::UnknownSigner)
    ));
}

#[test]
fn malformed_requests_and_limits() {
    let issuer = load("pki/int-ca.pem");
    let leaf = load("pki/tsa-rsa.pem");
    let m = Err(OcspResponseStatus::MalformedRequest);
    assert_eq!(parse_request(b"", 16).map(|_| ()), m);
    let mut b = OcspRequestBuilder::new();
    for _ in 0..17 {
        b = b
            .certificate(&leaf, &issuer, DigestAlgorithm::Sha1)
            .expect("id");
    }
    assert_eq!(
        parse_request(&b.build().to_der().expect("der"), 16).map(|_| ()),
        m,
        "over the cap"
    );
    let ok = OcspRequestBuilder::new()
        .certificate(&leaf, &issuer, DigestAlgorithm::Sha1)
        .expect("id");
    assert!(
        parse_request(
            &ok.clone().nonce(vec![1; 32]).build().to_der().expect("der"),
            16
        )
        .is_ok()
    );
    assert_eq!(
        parse_request(
            &ok.clone().nonce(vec![1; 33]).build().to_der().expect("der"),
            16
        )
        .map(|_| ()),
        m,
        "nonce > 32"
    );
    assert_eq!(
        parse_request(&ok.nonce(vec![]).build().to_der().expect("der"), 16).map(|_| ()),
        m,
        "empty nonce"
    );
    assert_eq!(
        parse_request(
            &OcspRequestBuilder::new().build().to_der().expect("der"),
            16
        )
        .map(|_| ()),
        m,
        "no CertID"
    );
}

#[test]
fn nonce_limits_follow_rfc9654_and_critical_extensions_are_refused() {
    let issuer = load("pki/int-ca.pem");
    let leaf = load("pki/tsa-rsa.pem");
    let m = Err(OcspResponseStatus::MalformedRequest);
    let base = OcspRequestBuilder::new()
        .certificate(&leaf, &issuer, DigestAlgorithm::Sha1)
        .expect("id");
    let with_nonce = |len: usize| base.clone().nonce(vec![9; len]).build();
    let parse = |req: &gica_pki::ocsp::OcspRequest, max_nonce_len: usize| {
        parse_request_with(
            &req.to_der().expect("der"),
            RequestLimits {
                max_nonce_len,
                ..RequestLimits::default()
            },
        )
        .map(|p| p.nonce.map(|n| nonce_value(&n).len()))
    };
    // Raised limit: 64-octet nonces are echoed; the RFC 9654 ceiling of 128 always holds.
    assert_eq!(parse(&with_nonce(64), 128), Ok(Some(64)));
    assert_eq!(parse(&with_nonce(128), 128), Ok(Some(128)));
    assert_eq!(parse(&with_nonce(129), 1000).map(|_| ()), m, "over 128");
    assert_eq!(
        parse(&with_nonce(33), 32).map(|_| ()),
        m,
        "over the default"
    );
    let unknown = |critical: bool| Extension {
        extn_id: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.7"),
        critical,
        extn_value: OctetString::new(vec![0x05, 0x00]).expect("octets"),
    };
    // requestExtensions: an unknown extension is ignored unless critical (RFC 6960 4.4).
    for (critical, expect_ok) in [(false, true), (true, false)] {
        let mut req = with_nonce(16);
        req.tbs_request
            .request_extensions
            .as_mut()
            .expect("nonce extension")
            .push(unknown(critical));
        assert_eq!(parse(&req, 32).is_ok(), expect_ok, "critical={critical}");
    }
    // A critical nonce is understood.
    let mut req = with_nonce(16);
    req.tbs_request.request_extensions.as_mut().expect("nonce")[0].critical = true;
    assert_eq!(parse(&req, 32), Ok(Some(16)));
    // singleRequestExtensions: none is understood, so any critical one is refused.
    for (critical, expect_ok) in [(false, true), (true, false)] {
        let mut req = base.clone().build();
        req.tbs_request.request_list[0].single_request_extensions = Some(vec![unknown(critical)]);
        assert_eq!(parse(&req, 32).is_ok(), expect_ok, "critical={critical}");
    }
}

#[test]
fn nonce_mismatch_and_staleness_are_caught() {
    let issuer = load("pki/int-ca.pem");
    let leaf = load("pki/tsa-rsa.pem");
    let r = responder(ResponderConfig {
        validity: Duration::from_secs(600),
        ..Default::default()
    });
    let req = OcspRequestBuilder::new()
        .certificate(&leaf, &issuer, DigestAlgorithm::Sha256)
        .expect("id")
        .nonce(vec![7; 16])
        .build();
    let id = req.tbs_request.request_list[0].req_cert.clone();
    let v = OcspVerifier::new(issuer.clone()).leeway(Duration::from_secs(60));
    let no_nonce = r
        .sign(&[(id.clone(), Status::Good)], None, SystemTime::now())
        .expect("sign");
    assert!(matches!(
        v.verify(&no_nonce, &req, SystemTime::now()),
        Err(OcspVerifyError::Nonce)
    ));
    let parsed = parse_request(&req.to_der().expect("der"), 16).expect("parse");
    let old = r
        .sign(
            &[(id, Status::Good)],
            parsed.nonce.as_ref(),
            SystemTime::now() - Duration::from_secs(3600),
        )
        .expect("sign");
    assert!(matches!(
        v.verify(&old, &req, SystemTime::now()),
        Err(OcspVerifyError::Expired(_))
    ));
}

#[test]
fn not_issued_serials_are_never_good() {
    let issuer = load("pki/int-ca.pem");
    let id = CertId::new(
        &issuer,
        der::asn1::Int::new(&[0x42]).expect("int"),
        DigestAlgorithm::Sha256,
    )
    .expect("id");
    let req = OcspRequestBuilder::new().cert_id(id.clone()).build();
    for (policy, want_revoked) in [
        (NotIssuedPolicy::Unknown, false),
        (NotIssuedPolicy::Revoked, true),
    ] {
        let r = responder(ResponderConfig {
            not_issued: policy,
            ..Default::default()
        });
        let der = r
            .sign(&[(id.clone(), Status::NotIssued)], None, SystemTime::now())
            .expect("sign");
        let v = OcspVerifier::new(issuer.clone())
            .verify(&der, &req, SystemTime::now())
            .expect("verifies");
        match &v[0].status {
            VerifiedStatus::Unknown => assert!(!want_revoked),
            VerifiedStatus::Revoked { time, reason } => {
                assert!(want_revoked);
                assert_eq!(
                    (*time, *reason),
                    (SystemTime::UNIX_EPOCH, Some(CrlReason::CertificateHold))
                );
                let basic = OcspResponse::from_der(&der)
                    .expect("r")
                    .basic()
                    .expect("basic")
                    .expect("decodes");
                let exts = basic
                    .tbs_response_data
                    .response_extensions
                    .expect("extensions");
                assert!(
                    exts.iter()
                        .any(|e| e.extn_id == gica_pki::oid::OCSP_EXTENDED_REVOKE)
                );
            }
            VerifiedStatus::Good => panic!("a serial never issued answered good"),
        }
    }
}
