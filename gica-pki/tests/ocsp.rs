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

/// The BasicOCSPResponse inside a successful response.
fn basic_of(der: &[u8]) -> BasicOcspResponse {
    OcspResponse::from_der(der)
        .expect("OCSPResponse")
        .basic()
        .expect("basic response")
        .expect("decodes")
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
    let mut params = CertificateParams::leaf(
        "CN=gica test OCSP responder",
        std::time::SystemTime::now(),
        30,
    );
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
    let plain = CertificateParams::leaf("CN=not a responder", std::time::SystemTime::now(), 30)
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
    // A response re-signed by some other key, naming that key, does not verify (the
    // responder itself refuses to sign for another issuer's CertID, so this is forged).
    let der = r
        .sign(&[(id, Status::Good)], None, SystemTime::now())
        .expect("sign");
    let mut basic = basic_of(&der);
    basic.tbs_response_data.responder_id = ResponderId::ByKey(
        OctetString::new(
            DigestAlgorithm::Sha1.digest(delegate_key.public_key().subject_public_key.raw_bytes()),
        )
        .expect("octets"),
    );
    basic.certs = None;
    let tbs = basic.tbs_response_data.to_der().expect("der");
    basic.signature =
        der::asn1::BitString::from_bytes(&delegate_key.sign(&tbs).expect("sign")).expect("bits");
    let forged = OcspResponse {
        response_status: OcspResponseStatus::Successful,
        response_bytes: Some(ResponseBytes {
            response_type: gica_pki::oid::OCSP_BASIC,
            response: OctetString::new(basic.to_der().expect("der")).expect("octets"),
        }),
    }
    .to_der()
    .expect("der");
    assert!(matches!(
        OcspVerifier::new(issuer).verify(&forged, &req, SystemTime::now()),
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

// ---------------------------------------------------------------------------------------------
// GET encoding (RFC 6960 A.1, RFC 5019 5)

mod get_path {
    use gica_pki::ocsp::get::{GetPathError, MAX_GET_PATH_LEN, decode_get_path, encode_get_path};
    use proptest::prelude::*;

    /// 0x30 0x03 0xfb 0xff 0xbf: standard base64 "MAP7/78=", which has '/' and '='.
    const DER: [u8; 5] = [0x30, 0x03, 0xfb, 0xff, 0xbf];

    #[test]
    fn tolerated_spellings_all_decode() {
        assert_eq!(encode_get_path(&DER), "MAP7%2F78%3D");
        for path in [
            "MAP7%2F78%3D",
            "MAP7/78=",
            "//MAP7%2F78%3D",
            "/MAP7%2f78%3d",
            "MAP7/78",
            "MAP7_78=",
            "MAP7_78",
            "MAP7%0A/78=",
            "MAP7 /78%3D%0D%0A",
            // Escapes of ordinary characters, and a sign in the escape, as the server always took.
            "%4DAP7/78=",
            "MAP7%+9/78=",
        ] {
            assert_eq!(decode_get_path(path).as_deref(), Ok(&DER[..]), "{path}");
        }
        // '+' is base64, never a space: "+/8=" is 0xfb 0xff.
        assert_eq!(decode_get_path("+/8="), Ok(vec![0xfb, 0xff]));
        assert_eq!(decode_get_path("%2B%2F8%3D"), Ok(vec![0xfb, 0xff]));
    }

    #[test]
    fn refusals_are_typed() {
        assert_eq!(
            decode_get_path("MA%zz"),
            Err(GetPathError::BadEscape { offset: 2 })
        );
        assert_eq!(
            decode_get_path("MAA%3"),
            Err(GetPathError::BadEscape { offset: 3 })
        );
        assert_eq!(decode_get_path("%FF%FE"), Err(GetPathError::NotUtf8));
        assert_eq!(decode_get_path("M*A="), Err(GetPathError::NotBase64));
        // Alphabets are not mixed within one path.
        assert_eq!(decode_get_path("+_8="), Err(GetPathError::NotBase64));
        let long = "A".repeat(MAX_GET_PATH_LEN + 1);
        assert_eq!(
            decode_get_path(&long),
            Err(GetPathError::TooLong {
                len: MAX_GET_PATH_LEN + 1,
                max: MAX_GET_PATH_LEN
            })
        );
        // Leading slashes do not count against the limit.
        let at_limit = format!("//{}", "A".repeat(MAX_GET_PATH_LEN));
        assert!(decode_get_path(&at_limit).is_ok());
    }

    proptest! {
        #[test]
        fn encode_then_decode_round_trips(der in proptest::collection::vec(any::<u8>(), 0..600)) {
            let path = encode_get_path(&der);
            prop_assert!(!path.contains(['+', '/', '=']), "{}", path);
            prop_assert_eq!(decode_get_path(&path), Ok(der.clone()));
            // What other clients send decodes to the same bytes: unescaped, after "//",
            // base64url without padding.
            let plain = path.replace("%2B", "+").replace("%2F", "/").replace("%3D", "=");
            // Leading slashes are skipped, so a base64 '/' there survives only escaped (a DER
            // request starts with 0x30, "M", so real ones never meet this).
            if !plain.starts_with('/') {
                prop_assert_eq!(decode_get_path(&format!("//{plain}")), Ok(der.clone()));
            }
            let url = plain.replace('+', "-").replace('/', "_").replace('=', "");
            prop_assert_eq!(decode_get_path(&url), Ok(der));
        }

        #[test]
        fn any_text_is_answered_without_panic(path in "[A-Za-z0-9+/=_%\\- \n]{0,80}") {
            let _ = decode_get_path(&path);
        }
    }
}

#[test]
fn issuer_id_is_the_hex_sha256_of_the_key_bits() {
    let ca = load("pki/int-ca.pem");
    // `openssl x509 -in int-ca.pem -noout -pubkey | openssl pkey -pubin -outform DER |
    //  tail -c 65 | sha256sum`: stores hold this, so it must never change.
    assert_eq!(
        issuer_id(&ca),
        "3795b91e5e6d07efa41faf7360795c791a633540b1ea0e54bd6839f2fd4dbc56"
    );
    assert_ne!(issuer_id(&ca), issuer_id(&load("pki/root-ca.pem")));
}

// ---------------------------------------------------------------------------------------------
// Responder::respond over a caller's own store

fn int_request(leaf: &str, nonce: bool) -> OcspRequest {
    let b = OcspRequestBuilder::new()
        .certificate(
            &load(leaf),
            &load("pki/int-ca.pem"),
            DigestAlgorithm::Sha256,
        )
        .expect("id");
    if nonce { b.nonce(vec![5; 32]) } else { b }.build()
}

#[test]
fn respond_answers_from_a_lookup_with_nonce_and_refusals() {
    let issuer = load("pki/int-ca.pem");
    let r = responder(ResponderConfig::default());
    let revoked_at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let store: std::collections::HashMap<Vec<u8>, Status> = std::collections::HashMap::from([
        (
            serial_of(&load("pki/tsa-p256.pem"))
                .expect("serial")
                .as_bytes()
                .to_vec(),
            Status::Good,
        ),
        (
            serial_of(&load("pki/tsa-rsa.pem"))
                .expect("serial")
                .as_bytes()
                .to_vec(),
            Status::Revoked {
                time: revoked_at,
                reason: Some(CrlReason::Superseded),
            },
        ),
    ]);
    let asked = std::cell::Cell::new(0);
    let mut lookup = |id: &CertId| {
        asked.set(asked.get() + 1);
        store
            .get(id.serial_number.as_bytes())
            .copied()
            .unwrap_or(Status::NotIssued)
    };
    let now = SystemTime::now();
    let verifier = OcspVerifier::new(issuer.clone());
    for (leaf, want) in [
        ("pki/tsa-p256.pem", VerifiedStatus::Good),
        (
            "pki/tsa-rsa.pem",
            VerifiedStatus::Revoked {
                time: revoked_at,
                reason: Some(CrlReason::Superseded),
            },
        ),
        ("pki/tsa-p384.pem", VerifiedStatus::Unknown),
    ] {
        let req = int_request(leaf, true);
        let der = r.respond(&req.to_der().expect("der"), &mut lookup, now);
        let v = verifier
            .verify(&der, &req, now)
            .expect("verifies, nonce echoed");
        assert_eq!(v[0].status, want, "{leaf}");
    }
    assert_eq!(asked.get(), 3);
    let status_of = |der: Vec<u8>| {
        OcspResponse::from_der(&der)
            .expect("decodes")
            .response_status
    };
    assert_eq!(
        status_of(r.respond(b"junk", &mut lookup, now)),
        OcspResponseStatus::MalformedRequest
    );
    // A CertID of another CA (the root's own certificate, asked of the intermediate).
    let root = load("pki/root-ca.pem");
    let foreign = OcspRequestBuilder::new()
        .certificate(&issuer, &root, DigestAlgorithm::Sha1)
        .expect("id")
        .build();
    assert_eq!(
        status_of(r.respond(&foreign.to_der().expect("der"), &mut lookup, now)),
        OcspResponseStatus::Unauthorized
    );
    // Over the configured cap of CertIDs.
    let capped = responder(ResponderConfig {
        max_cert_ids: 1,
        ..Default::default()
    });
    let two = OcspRequestBuilder::new()
        .certificate(&load("pki/tsa-p256.pem"), &issuer, DigestAlgorithm::Sha1)
        .expect("id")
        .certificate(&load("pki/tsa-rsa.pem"), &issuer, DigestAlgorithm::Sha1)
        .expect("id")
        .build();
    assert_eq!(
        status_of(capped.respond(&two.to_der().expect("der"), &mut lookup, now)),
        OcspResponseStatus::MalformedRequest
    );
    assert_eq!(asked.get(), 3, "refused requests look nothing up");
}

// ---------------------------------------------------------------------------------------------
// Responder::sign: served CertIDs only; thisUpdate apart from producedAt

#[test]
fn sign_refuses_a_cert_id_of_another_issuer() {
    let r = responder(ResponderConfig::default());
    let ours = int_request("pki/tsa-p256.pem", false)
        .tbs_request
        .request_list[0]
        .req_cert
        .clone();
    let theirs = CertId::for_certificate(
        &load("pki/int-ca.pem"),
        &load("pki/root-ca.pem"),
        DigestAlgorithm::Sha256,
    )
    .expect("id");
    let err = r
        .sign(
            &[(ours, Status::Good), (theirs.clone(), Status::Good)],
            None,
            SystemTime::now(),
        )
        .expect_err("refused");
    match err {
        ResponderError::NotServed { index, cert_id } => {
            assert_eq!(index, 1);
            assert_eq!(*cert_id, theirs);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn produced_at_is_the_signing_time_and_this_update_when_the_status_was_known() {
    let validity = Duration::from_secs(600);
    let r = responder(ResponderConfig {
        validity,
        ..Default::default()
    });
    let id = int_request("pki/tsa-p256.pem", false)
        .tbs_request
        .request_list[0]
        .req_cert
        .clone();
    let secs = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
    let times = ResponseTimes {
        this_update: secs(1_800_000_000) + Duration::from_millis(700),
        produced_at: secs(1_800_000_042) + Duration::from_millis(300),
    };
    let signed = |times: ResponseTimes| {
        let der = r
            .sign(&[(id.clone(), Status::Good)], None, times)
            .expect("sign");
        basic_of(&der).tbs_response_data
    };
    let data = signed(times);
    assert_eq!(data.produced_at.to_system_time(), secs(1_800_000_042));
    let single = &data.responses[0];
    assert_eq!(single.this_update.to_system_time(), secs(1_800_000_000));
    assert_eq!(
        single.next_update.map(|t| t.to_system_time()),
        Some(secs(1_800_000_000) + validity),
        "nextUpdate counts from thisUpdate"
    );
    // One time for both, as `respond` uses.
    let data = signed(secs(1_800_000_100).into());
    assert_eq!(data.produced_at, data.responses[0].this_update);
    // A status cannot be known after the response that tells it was signed.
    let backwards = ResponseTimes {
        this_update: secs(1_800_000_001),
        produced_at: secs(1_800_000_000),
    };
    assert!(matches!(
        r.sign(&[(id.clone(), Status::Good)], None, backwards),
        Err(ResponderError::ThisUpdateAfterProducedAt { .. })
    ));
    // Within the same second is fine: both are whole seconds.
    let same_second = ResponseTimes {
        this_update: secs(1_800_000_000) + Duration::from_millis(900),
        produced_at: secs(1_800_000_000) + Duration::from_millis(100),
    };
    assert!(r.sign(&[(id, Status::Good)], None, same_second).is_ok());
}

// ---------------------------------------------------------------------------------------------
// Delegated responder checks (RFC 6960 4.2.2.2)

/// A responder certificate issued by int-ca with OCSPSigning and nocheck, after `edit`; its key.
fn delegate_with(edit: impl FnOnce(&mut CertificateParams)) -> (Certificate, Arc<SoftwareSigner>) {
    let key = Arc::new(SoftwareSigner::generate_p256().expect("key"));
    let mut params = CertificateParams::leaf(
        "CN=gica test OCSP responder",
        std::time::SystemTime::now(),
        30,
    );
    params.extended_key_usage = Some((false, vec![gica_pki::oid::KP_OCSP_SIGNING]));
    params.extra_extensions.push(Extension {
        extn_id: gica_pki::oid::OCSP_NOCHECK,
        critical: false,
        extn_value: OctetString::new(vec![0x05, 0x00]).expect("NULL"),
    });
    edit(&mut params);
    let cert = params
        .signed_by(
            key.public_key(),
            &load("pki/int-ca.pem"),
            int_key().as_ref(),
        )
        .expect("cert");
    (cert, key)
}

fn checked(
    delegate: Certificate,
    key: Arc<SoftwareSigner>,
) -> Result<(Responder, Vec<DelegateWarning>), ResponderError> {
    Responder::checked(
        load("pki/int-ca.pem"),
        Some(delegate),
        key,
        ResponderConfig::default(),
        SystemTime::now(),
    )
}

#[test]
fn a_fit_delegate_is_accepted_and_a_missing_nocheck_is_a_warning() {
    let (cert, key) = delegate_with(|_| {});
    let (_, warnings) = checked(cert, key).expect("fit");
    assert!(warnings.is_empty(), "{warnings:?}");
    let (cert, key) = delegate_with(|p| p.extra_extensions.clear());
    let (_, warnings) = checked(cert, key).expect("usable");
    assert_eq!(warnings, [DelegateWarning::NoCheckMissing]);
    // keyUsage is optional; without it nothing restricts the key.
    let (cert, key) = delegate_with(|p| p.key_usage.clear());
    checked(cert, key).expect("no keyUsage");
    // The issuer signing for itself needs none of this.
    let (_, warnings) = Responder::checked(
        load("pki/int-ca.pem"),
        None,
        int_key(),
        ResponderConfig::default(),
        SystemTime::now(),
    )
    .expect("issuer-signed");
    assert!(warnings.is_empty());
}

#[test]
fn unfit_delegates_are_refused_each_with_its_reason() {
    let day = Duration::from_secs(86_400);
    let refusal = |(cert, key): (Certificate, Arc<SoftwareSigner>)| match checked(cert, key) {
        Err(ResponderError::Delegate(e)) => e,
        other => panic!("{:?}", other.map(|(_, w)| w)),
    };
    assert!(matches!(
        refusal(delegate_with(|p| p.not_before = SystemTime::now() + day)),
        DelegateError::NotYetValid { .. }
    ));
    assert!(matches!(
        refusal(delegate_with(|p| {
            p.not_before = SystemTime::now() - 2 * day;
            p.not_after = SystemTime::now() - day;
        })),
        DelegateError::Expired { .. }
    ));
    assert!(matches!(
        refusal(delegate_with(|p| p.extended_key_usage = None)),
        DelegateError::NoOcspSigning
    ));
    assert!(matches!(
        refusal(delegate_with(|p| {
            p.extended_key_usage = Some((false, vec![gica_pki::oid::KP_TIME_STAMPING]));
        })),
        DelegateError::NoOcspSigning
    ));
    assert!(matches!(
        refusal(delegate_with(|p| {
            p.key_usage = vec![gica_pki::x509_cert::ext::pkix::KeyUsages::KeyEncipherment];
        })),
        DelegateError::NoDigitalSignature
    ));
    // Issued by another CA.
    let key = Arc::new(SoftwareSigner::generate_p256().expect("key"));
    let stranger = CertificateParams::ca("CN=stranger", std::time::SystemTime::now(), 30)
        .self_signed(key.as_ref())
        .expect("cert");
    let mut params = CertificateParams::leaf("CN=responder", std::time::SystemTime::now(), 30);
    params.extended_key_usage = Some((false, vec![gica_pki::oid::KP_OCSP_SIGNING]));
    let foreign = params
        .signed_by(key.public_key(), &stranger, key.as_ref())
        .expect("cert");
    assert!(matches!(
        refusal((foreign, key.clone())),
        DelegateError::NotIssuedByCa
    ));
    // Naming int-ca as issuer, but signed by another key.
    let forged = params
        .signed_by(key.public_key(), &load("pki/int-ca.pem"), key.as_ref())
        .expect("cert");
    assert!(matches!(
        refusal((forged, key)),
        DelegateError::Signature(_)
    ));
    // The key is not the delegate's.
    let (cert, _) = delegate_with(|_| {});
    let other_key = Arc::new(SoftwareSigner::generate_p256().expect("key"));
    assert!(matches!(
        checked(cert, other_key),
        Err(ResponderError::KeyMismatch)
    ));
}
