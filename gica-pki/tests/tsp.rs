//! The TSP core against the committed fixture PKI and openssl-made vectors (testdata/).

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use der::{
    Decode, Encode,
    asn1::{Int, ObjectIdentifier, OctetString},
};
use gica_pki::{
    DigestAlgorithm, SignerOptions, SoftwareSigner, cert,
    tsp::*,
    x509_cert::{Certificate, ext::Extension},
};

const POLICY: &str = "1.3.6.1.4.1.99999.1.1";
const OTHER_POLICY: &str = "1.3.6.1.4.1.99999.1.2";

fn fixture(path: &str) -> Vec<u8> {
    let p = format!("{}/../testdata/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn text(path: &str) -> String {
    String::from_utf8(fixture(path)).expect("utf-8")
}

fn certs(path: &str) -> Vec<Certificate> {
    cert::load_pem_certs(&text(path)).expect("certs")
}

fn signer(key: &str, options: SignerOptions) -> Arc<SoftwareSigner> {
    Arc::new(SoftwareSigner::from_pem(&text(key), options).expect("key"))
}

fn authority(
    name: &str,
    key: &str,
    options: SignerOptions,
    tweak: impl FnOnce(&mut AuthorityConfig),
) -> Authority {
    let mut config = AuthorityConfig::new(POLICY.parse().expect("oid"));
    config.chain = certs("pki/chain.pem");
    tweak(&mut config);
    Authority::new(
        certs(&format!("pki/{name}.pem")).remove(0),
        signer(key, options),
        config,
    )
    .expect("authority")
}

fn p256() -> Authority {
    authority(
        "tsa-p256",
        "pki/tsa-p256.key",
        SignerOptions::default(),
        |_| {},
    )
}

fn verifier() -> TokenVerifier {
    TokenVerifier::new(certs("pki/root-ca.pem"))
}

fn now() -> SystemTime {
    SystemTime::now()
}

fn serial() -> TstSerial {
    random_serial().expect("serial")
}

fn request(digest: DigestAlgorithm, data: &[u8]) -> TimeStampReq {
    TimeStampReqBuilder::new(digest)
        .data(data)
        .with_nonce()
        .cert_req(true)
        .build()
        .expect("request")
}

fn status(der: &[u8]) -> PkiStatusInfo {
    TimeStampResp::from_der(der)
        .expect("a TimeStampResp")
        .status
}

fn assert_rejected(tsa: &Authority, req_der: &[u8], bit: FailureInfo) {
    let issued = tsa.respond(req_der, now(), serial());
    assert_eq!(
        issued.outcome.as_ref().err().map(|r| r.fail_info),
        Some(bit),
        "{:?}",
        issued.outcome
    );
    let s = status(&issued.der);
    assert_eq!(s.status, PkiStatus::Rejection);
    assert_eq!(s.fail_info, Some(PkiFailureInfo::from(bit)));
    assert!(s.status_string.is_some_and(|t| !t[0].is_empty()));
    assert!(
        TimeStampResp::from_der(&issued.der)
            .expect("decode")
            .time_stamp_token
            .is_none()
    );
}

#[test]
fn every_key_form_loads_and_matches_its_certificate() {
    for (cert_name, key) in [
        ("tsa-rsa", "tsa-rsa.key"),
        ("tsa-rsa", "tsa-rsa.pkcs1.key"),
        ("tsa-p256", "tsa-p256.key"),
        ("tsa-p256", "tsa-p256.sec1.key"),
        ("tsa-p384", "tsa-p384.key"),
        ("tsa-rsa-pss", "tsa-rsa-pss.key"),
    ] {
        let s = signer(&format!("pki/{key}"), SignerOptions::default());
        let c = certs(&format!("pki/{cert_name}.pem")).remove(0);
        assert!(
            gica_pki::key_matches(s.as_ref(), c.tbs_certificate().subject_public_key_info()),
            "{key}"
        );
    }
    let s = signer("pki/tsa-p256.key", SignerOptions::default());
    let rsa = certs("pki/tsa-rsa.pem").remove(0);
    assert!(!gica_pki::key_matches(
        s.as_ref(),
        rsa.tbs_certificate().subject_public_key_info()
    ));
}

#[test]
fn tokens_from_every_key_type_verify() {
    let sha = |d| SignerOptions {
        digest: Some(d),
        rsa_pss: false,
    };
    let cases = [
        ("tsa-rsa", "pki/tsa-rsa.key", SignerOptions::default()),
        (
            "tsa-rsa",
            "pki/tsa-rsa.pkcs1.key",
            sha(DigestAlgorithm::Sha512),
        ),
        (
            "tsa-rsa",
            "pki/tsa-rsa.key",
            SignerOptions {
                digest: Some(DigestAlgorithm::Sha384),
                rsa_pss: true,
            },
        ),
        (
            "tsa-rsa-pss",
            "pki/tsa-rsa-pss.key",
            SignerOptions::default(),
        ),
        (
            "tsa-p256",
            "pki/tsa-p256.sec1.key",
            SignerOptions::default(),
        ),
        ("tsa-p384", "pki/tsa-p384.key", SignerOptions::default()),
    ];
    for (name, key, options) in cases {
        let tsa = authority(name, key, options, |_| {});
        for digest in [
            DigestAlgorithm::Sha256,
            DigestAlgorithm::Sha384,
            DigestAlgorithm::Sha512,
        ] {
            let req = request(digest, b"data");
            let issued = tsa.respond(&req.to_der().expect("der"), now(), serial());
            assert!(
                issued.outcome.is_ok(),
                "{name} {digest}: {:?}",
                issued.outcome
            );
            let token = verifier()
                .verify_response(&issued.der, &Expectation::request(&req))
                .unwrap_or_else(|e| panic!("{name} {key} {digest}: {e}"));
            assert_eq!(token.tst_info.nonce, req.nonce);
            assert_eq!(token.path.len(), 3);
            verifier()
                .verify_response(&issued.der, &Expectation::data(b"data"))
                .expect("by data");
        }
    }
}

#[test]
fn tst_info_carries_what_was_configured() {
    let tsa = authority(
        "tsa-p256",
        "pki/tsa-p256.key",
        SignerOptions::default(),
        |c| {
            c.accuracy = Some(Accuracy {
                seconds: None,
                millis: Some(250),
                micros: None,
            });
            c.fraction_digits = 6;
            c.ordering = true;
        },
    );
    let req = request(DigestAlgorithm::Sha256, b"x");
    let issued = tsa.respond(&req.to_der().expect("der"), now(), serial());
    let (serial_sent, gen_time) = issued.outcome.clone().expect("granted");
    let t = verifier()
        .verify_response(&issued.der, &Expectation::request(&req))
        .expect("verifies")
        .tst_info;
    assert_eq!(t.serial_number, serial_sent);
    assert_eq!(t.gen_time, gen_time);
    assert_eq!(t.gen_time.subsec_nanos() % 1000, 0, "6 digits");
    assert_eq!(
        t.accuracy,
        Some(Accuracy {
            seconds: None,
            millis: Some(250),
            micros: None
        })
    );
    assert!(t.ordering);
    assert_eq!(t.policy, POLICY.parse::<ObjectIdentifier>().expect("oid"));
    assert!(t.tsa.is_some());
    assert_eq!(t.message_imprint, req.message_imprint);
}

#[test]
fn cert_req_controls_certificates() {
    let tsa = p256();
    let without = TimeStampReqBuilder::new(DigestAlgorithm::Sha256)
        .data(b"d")
        .build()
        .expect("req");
    let issued = tsa.respond(&without.to_der().expect("der"), now(), serial());
    let err = verifier()
        .verify_response(&issued.der, &Expectation::request(&without))
        .expect_err("no certs");
    assert!(
        matches!(err, VerifyError::SignerCertificateMissing),
        "{err}"
    );
    let mut untrusted = certs("pki/tsa-p256.pem");
    untrusted.extend(certs("pki/chain.pem"));
    verifier()
        .untrusted(untrusted)
        .verify_response(&issued.der, &Expectation::request(&without))
        .expect("verifies with -untrusted");
}

#[test]
fn nonce_is_echoed_as_the_same_integer() {
    let tsa = p256();
    for nonce in [&[0x00, 0x80][..], &[0xff, 0x01], &[0x7f; 32], &[0x01]] {
        let req = TimeStampReqBuilder::new(DigestAlgorithm::Sha256)
            .data(b"n")
            .nonce(Int::new(nonce).expect("int"))
            .cert_req(true)
            .build()
            .expect("req");
        let issued = tsa.respond(&req.to_der().expect("der"), now(), serial());
        let t = verifier()
            .verify_response(&issued.der, &Expectation::request(&req))
            .expect("ok")
            .tst_info;
        assert_eq!(t.nonce.expect("nonce").as_bytes(), nonce);
    }
}

#[test]
fn refusals_carry_status_and_fail_info() {
    let tsa = p256();
    let good = request(DigestAlgorithm::Sha256, b"r");
    let with = |f: &dyn Fn(&mut TimeStampReq)| {
        let mut r = good.clone();
        f(&mut r);
        r.to_der().expect("der")
    };
    // SHA-1 and unknown hashes: badAlg.
    assert_rejected(
        &tsa,
        &with(&|r| {
            r.message_imprint.hash_algorithm = DigestAlgorithm::Sha1.algorithm_identifier();
            r.message_imprint.hashed_message = OctetString::new(vec![0; 20]).expect("o");
        }),
        FailureInfo::BadAlg,
    );
    assert_rejected(
        &tsa,
        &with(&|r| r.message_imprint.hash_algorithm.oid = "1.2.3.4".parse().expect("oid")),
        FailureInfo::BadAlg,
    );
    // Imprint length must match: badDataFormat.
    assert_rejected(
        &tsa,
        &with(&|r| r.message_imprint.hashed_message = OctetString::new(vec![1; 31]).expect("o")),
        FailureInfo::BadDataFormat,
    );
    // Version 2: badRequest.
    assert_rejected(&tsa, &with(&|r| r.version = 2), FailureInfo::BadRequest);
    // Unaccepted policy.
    assert_rejected(
        &tsa,
        &with(&|r| r.req_policy = Some(OTHER_POLICY.parse().expect("oid"))),
        FailureInfo::UnacceptedPolicy,
    );
    // Any extension: unacceptedExtension.
    assert_rejected(
        &tsa,
        &with(&|r| {
            r.extensions = Some(vec![Extension {
                extn_id: "1.2.3.4.5".parse().expect("oid"),
                critical: false,
                extn_value: OctetString::new(vec![5, 0]).expect("o"),
            }])
        }),
        FailureInfo::UnacceptedExtension,
    );
    // Garbage, empty, truncated, trailing bytes: badDataFormat.
    let der = good.to_der().expect("der");
    assert_rejected(&tsa, b"", FailureInfo::BadDataFormat);
    assert_rejected(&tsa, b"GET / HTTP/1.1\r\n", FailureInfo::BadDataFormat);
    assert_rejected(&tsa, &der[..der.len() - 3], FailureInfo::BadDataFormat);
    let mut trailing = der.clone();
    trailing.push(0);
    assert_rejected(&tsa, &trailing, FailureInfo::BadDataFormat);
}

#[test]
fn accepted_policy_is_granted_and_echoed() {
    let tsa = authority(
        "tsa-p256",
        "pki/tsa-p256.key",
        SignerOptions::default(),
        |c| {
            c.accepted_policies = vec![OTHER_POLICY.parse().expect("oid")];
        },
    );
    let req = TimeStampReqBuilder::new(DigestAlgorithm::Sha256)
        .data(b"p")
        .policy(OTHER_POLICY.parse().expect("oid"))
        .cert_req(true)
        .build()
        .expect("req");
    let issued = tsa.respond(&req.to_der().expect("der"), now(), serial());
    let t = verifier()
        .verify_response(&issued.der, &Expectation::request(&req))
        .expect("ok")
        .tst_info;
    assert_eq!(
        t.policy,
        OTHER_POLICY.parse::<ObjectIdentifier>().expect("oid")
    );
}

#[test]
fn clock_stepping_back_beyond_accuracy_is_refused() {
    let tsa = p256(); // accuracy 1 s
    let req = request(DigestAlgorithm::Sha256, b"t")
        .to_der()
        .expect("der");
    let t0 = now();
    assert!(tsa.respond(&req, t0, serial()).outcome.is_ok());
    assert!(
        tsa.respond(&req, t0 - Duration::from_millis(900), serial())
            .outcome
            .is_ok(),
        "within accuracy"
    );
    let back = tsa.respond(&req, t0 - Duration::from_secs(2), serial());
    assert_eq!(
        back.outcome.err().map(|r| r.fail_info),
        Some(FailureInfo::TimeNotAvailable)
    );
    assert_eq!(
        status(&back.der).fail_info,
        Some(FailureInfo::TimeNotAvailable.into())
    );
    assert!(
        tsa.respond(&req, t0 + Duration::from_secs(1), serial())
            .outcome
            .is_ok(),
        "recovers"
    );
}

#[test]
fn ordering_makes_gen_times_strictly_increasing() {
    let tsa = authority(
        "tsa-p256",
        "pki/tsa-p256.key",
        SignerOptions::default(),
        |c| c.ordering = true,
    );
    let req = request(DigestAlgorithm::Sha256, b"o")
        .to_der()
        .expect("der");
    let t = now();
    let mut last = None;
    for _ in 0..5 {
        let (_, g) = tsa.respond(&req, t, serial()).outcome.expect("ok");
        assert!(last.is_none_or(|l| g > l));
        last = Some(g);
    }
}

#[test]
fn unfit_tsa_certificates_are_refused() {
    let config = || AuthorityConfig::new(POLICY.parse().expect("oid"));
    for bad in ["tsa-eku-noncritical", "tsa-eku-extra", "tsa-no-eku"] {
        let c = certs(&format!("pki/{bad}.pem")).remove(0);
        let err = Authority::new(
            c,
            signer(&format!("pki/{bad}.key"), SignerOptions::default()),
            config(),
        )
        .expect_err(bad)
        .to_string();
        assert!(err.contains("extendedKeyUsage"), "{bad}: {err}");
    }
    let c = certs("pki/tsa-p256.pem").remove(0);
    let err = Authority::new(
        c,
        signer("pki/tsa-p384.key", SignerOptions::default()),
        config(),
    )
    .expect_err("mismatch");
    assert!(err.to_string().contains("does not match"), "{err}");
}

#[test]
fn expired_certificate_issues_nothing() {
    let tsa = authority(
        "tsa-expired",
        "pki/tsa-expired.key",
        SignerOptions::default(),
        |_| {},
    );
    assert_eq!(tsa.certificate_time_left(now()), None);
    assert_rejected(
        &tsa,
        &request(DigestAlgorithm::Sha256, b"e")
            .to_der()
            .expect("der"),
        FailureInfo::TimeNotAvailable,
    );
}

#[test]
fn openssl_responses_verify() {
    let data = fixture("ts/data.txt");
    let mut untrusted = certs("pki/tsa-rsa.pem");
    untrusted.extend(certs("pki/tsa-p256.pem"));
    untrusted.extend(certs("pki/chain.pem"));
    for name in ["rsa", "p256"] {
        let req = TimeStampReq::from_der(&fixture(&format!("ts/req-{name}.tsq"))).expect("tsq");
        let resp = fixture(&format!("ts/resp-{name}.tsr"));
        let t = verifier()
            .verify_response(&resp, &Expectation::request(&req))
            .expect(name);
        assert_eq!(
            t.tst_info.policy,
            POLICY.parse::<ObjectIdentifier>().expect("oid")
        );
        assert_eq!(
            t.tst_info.accuracy,
            Some(Accuracy {
                seconds: Some(1),
                millis: Some(500),
                micros: None
            })
        );
        verifier()
            .verify_response(&resp, &Expectation::data(&data))
            .expect("by data");
        verifier()
            .verify_token(
                &fixture(&format!("ts/token-{name}.der")),
                &Expectation::data(&data),
            )
            .expect("token");
        let nocert = fixture(&format!("ts/resp-{name}-nocert.tsr"));
        assert!(
            verifier()
                .verify_response(&nocert, &Expectation::data(&data))
                .is_err()
        );
        verifier()
            .untrusted(untrusted.clone())
            .verify_response(&nocert, &Expectation::data(&data))
            .expect("nocert");
        // Wrong data, wrong anchor, wrong nonce.
        assert!(matches!(
            verifier().verify_response(&resp, &Expectation::data(b"other")),
            Err(VerifyError::ImprintMismatch)
        ));
        let other = TokenVerifier::new(certs("pki/other-root.pem"));
        assert!(matches!(
            other.verify_response(&resp, &Expectation::data(&data)),
            Err(VerifyError::Path(_))
        ));
        let mut wrong = Expectation::request(&req);
        wrong.nonce = Some(Int::new(&[1, 2, 3]).expect("int"));
        assert!(matches!(
            verifier().verify_response(&resp, &wrong),
            Err(VerifyError::NonceMismatch)
        ));
    }
    verifier()
        .verify_response(&fixture("ts/resp-rsa-essv1.tsr"), &Expectation::data(&data))
        .expect("ESS v1");
}

#[test]
fn any_flipped_byte_in_a_token_fails_verification() {
    // Without certificates in the token every byte is either signed or checked.
    let tsa = p256();
    let req = TimeStampReqBuilder::new(DigestAlgorithm::Sha256)
        .data(b"f")
        .with_nonce()
        .build()
        .expect("req");
    let der = tsa
        .respond(&req.to_der().expect("der"), now(), serial())
        .der;
    let exp = Expectation::request(&req);
    let mut untrusted = certs("pki/tsa-p256.pem");
    untrusted.extend(certs("pki/chain.pem"));
    let v = verifier().untrusted(untrusted);
    v.verify_response(&der, &exp)
        .expect("intact token verifies");
    // Bytes 4..9 are the status; granted(0) flipped to grantedWithMods(1) is still a token.
    assert_eq!(der[4..9], [0x30, 0x03, 0x02, 0x01, 0x00]);
    for i in (0..der.len()).filter(|i| *i != 8) {
        let mut bad = der.clone();
        bad[i] ^= 0x01;
        assert!(
            v.verify_response(&bad, &exp).is_err(),
            "byte {i} of {} flipped and still verified",
            der.len()
        );
    }
}

#[test]
fn ordering_never_pushes_gen_time_past_the_accuracy() {
    let tsa = authority(
        "tsa-p256",
        "pki/tsa-p256.key",
        SignerOptions::default(),
        |c| {
            c.ordering = true;
            c.accuracy = Some(Accuracy {
                seconds: None,
                millis: Some(1),
                micros: None,
            });
        },
    );
    let req = request(DigestAlgorithm::Sha256, b"o")
        .to_der()
        .expect("der");
    let t = now();
    assert!(tsa.respond(&req, t, serial()).outcome.is_ok());
    assert!(
        tsa.respond(&req, t, serial()).outcome.is_ok(),
        "+1 ms is within accuracy"
    );
    let third = tsa.respond(&req, t, serial());
    assert_eq!(
        third.outcome.err().map(|r| r.fail_info),
        Some(FailureInfo::TimeNotAvailable)
    );
}

#[test]
fn accuracy_finer_than_gen_time_resolution_is_refused() {
    let mut config = AuthorityConfig::new(POLICY.parse().expect("oid"));
    config.fraction_digits = 0;
    config.accuracy = Some(Accuracy {
        seconds: None,
        millis: Some(1),
        micros: None,
    });
    let c = certs("pki/tsa-p256.pem").remove(0);
    let err = Authority::new(
        c,
        signer("pki/tsa-p256.key", SignerOptions::default()),
        config,
    )
    .expect_err("false claim");
    assert!(err.to_string().contains("resolution"), "{err}");
}

#[test]
fn path_search_is_bounded_for_hostile_certificate_bundles() {
    use gica_pki::{Signer, certgen::CertificateParams};
    // Twelve CA certificates with one key and subject = issuer: each verifies as the issuer of
    // every other, which makes a naive depth-first search explode.
    let key = SoftwareSigner::generate_p256().expect("key");
    let loops: Vec<Certificate> = (0..12)
        .map(|_| {
            CertificateParams::ca("CN=loop", std::time::SystemTime::now(), 30)
                .self_signed(&key)
                .expect("cert")
        })
        .collect();
    let leaf_key = SoftwareSigner::generate_p256().expect("key");
    let leaf = CertificateParams::tsa("CN=leaf", std::time::SystemTime::now(), 30)
        .signed_by(leaf_key.public_key(), &loops[0], &key)
        .expect("leaf");
    let err =
        cert::verify_path(&leaf, &loops, &certs("pki/root-ca.pem"), now()).expect_err("no path");
    assert!(
        matches!(err, cert::PathError::NoPath | cert::PathError::TooComplex),
        "{err}"
    );
}

#[test]
fn path_len_constraints_and_unknown_critical_extensions_are_enforced() {
    use gica_pki::{
        Signer,
        certgen::CertificateParams,
        der::asn1::{ObjectIdentifier, OctetString},
        x509_cert::ext::Extension,
    };
    let root_key = SoftwareSigner::generate_p256().expect("key");
    let root = CertificateParams::ca("CN=gica path root", std::time::SystemTime::now(), 30)
        .self_signed(&root_key)
        .expect("root");
    // root -> upper (pathLen from the case) -> lower (CA) -> leaf
    let chain = |upper_path_len: Option<u8>, lower_extra: Vec<Extension>| {
        let upper_key = SoftwareSigner::generate_p256().expect("key");
        let upper = CertificateParams {
            ca: Some(upper_path_len),
            ..CertificateParams::ca("CN=gica path upper", std::time::SystemTime::now(), 30)
        }
        .signed_by(upper_key.public_key(), &root, &root_key)
        .expect("upper");
        let lower_key = SoftwareSigner::generate_p256().expect("key");
        let lower = CertificateParams {
            extra_extensions: lower_extra,
            ..CertificateParams::ca("CN=gica path lower", std::time::SystemTime::now(), 30)
        }
        .signed_by(lower_key.public_key(), &upper, &upper_key)
        .expect("lower");
        let leaf_key = SoftwareSigner::generate_p256().expect("key");
        let leaf = CertificateParams::tsa("CN=gica path leaf", std::time::SystemTime::now(), 30)
            .signed_by(leaf_key.public_key(), &lower, &lower_key)
            .expect("leaf");
        (leaf, vec![upper, lower])
    };
    let anchors = std::slice::from_ref(&root);
    // pathLen 1 allows the one CA below; pathLen 0 does not (RFC 5280 4.2.1.9).
    let (leaf, inter) = chain(Some(1), vec![]);
    assert_eq!(
        cert::verify_path(&leaf, &inter, anchors, now())
            .expect("pathLen 1")
            .len(),
        4
    );
    let (leaf, inter) = chain(Some(0), vec![]);
    assert!(cert::verify_path(&leaf, &inter, anchors, now()).is_err());
    // A self-issued certificate (key rollover: same name, new key) does not count against
    // pathLen in RFC 5280 4.2.1.9, but rustls-webpki counts it: root -> upper (pathLen 0) ->
    // upper' (self-issued) -> leaf is refused (stricter than the RFC; see the cert module).
    let upper_key = SoftwareSigner::generate_p256().expect("key");
    let upper = CertificateParams {
        ca: Some(Some(0)),
        ..CertificateParams::ca("CN=gica path upper", std::time::SystemTime::now(), 30)
    }
    .signed_by(upper_key.public_key(), &root, &root_key)
    .expect("upper");
    let rolled_key = SoftwareSigner::generate_p256().expect("key");
    let rolled = CertificateParams::ca("CN=gica path upper", std::time::SystemTime::now(), 30)
        .signed_by(rolled_key.public_key(), &upper, &upper_key)
        .expect("rollover");
    let leaf_key = SoftwareSigner::generate_p256().expect("key");
    let leaf = CertificateParams::tsa("CN=gica path leaf", std::time::SystemTime::now(), 30)
        .signed_by(leaf_key.public_key(), &rolled, &rolled_key)
        .expect("leaf");
    assert!(cert::verify_path(&leaf, &[upper, rolled], anchors, now()).is_err());
    // An extension nobody here processes: fine when not critical, refused when critical.
    let unknown = |critical| Extension {
        extn_id: ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.9"),
        critical,
        extn_value: OctetString::new(vec![0x05, 0x00]).expect("octets"),
    };
    let (leaf, inter) = chain(None, vec![unknown(false)]);
    assert!(cert::verify_path(&leaf, &inter, anchors, now()).is_ok());
    let (leaf, inter) = chain(None, vec![unknown(true)]);
    assert!(cert::verify_path(&leaf, &inter, anchors, now()).is_err());
    // Name constraints are processed (by rustls-webpki): an empty one constrains nothing.
    let name_constraints = Extension {
        extn_id: ObjectIdentifier::new_unwrap("2.5.29.30"),
        critical: true,
        extn_value: OctetString::new(vec![0x30, 0x00]).expect("octets"),
    };
    let (leaf, inter) = chain(None, vec![name_constraints]);
    assert!(cert::verify_path(&leaf, &inter, anchors, now()).is_ok());
    // On the leaf itself (here issued by the root directly), the error says which extension.
    let leaf_key = SoftwareSigner::generate_p256().expect("key");
    let leaf = CertificateParams {
        extra_extensions: vec![unknown(true)],
        ..CertificateParams::tsa("CN=gica path leaf", std::time::SystemTime::now(), 30)
    }
    .signed_by(leaf_key.public_key(), &root, &root_key)
    .expect("leaf");
    let err = cert::verify_path(&leaf, &[], anchors, now()).expect_err("critical");
    assert!(err.to_string().contains("1.3.6.1.4.1.99999.9"), "{err}");
}
