//! Every refusal of the three verifiers (certificate paths and tokens, OCSP responses, CMS
//! signatures) and the algorithm policy, each with its own error variant.
//!
//! The PKIs here are made per test with `certgen` (P-256 keys are cheap); RSA material comes
//! from the committed fixture PKI (`testdata/pki`), never generated in a test.

use std::{
    sync::Arc,
    time::{Duration, SystemTime},
};

use der::{
    Decode, Encode, Sequence,
    asn1::{BitString, Ia5String, ObjectIdentifier, OctetString},
};
use gica_pki::{
    AlgorithmPolicy, CrlReason, DigestAlgorithm, Signer, SignerOptions, SoftwareSigner,
    algorithm::SignatureError,
    cert::{self, CertificateError, PathError, PathOptions},
    certgen::CertificateParams,
    crl::{CrlParams, RevokedEntry, build_crl},
    ocsp::{
        DelegateError, OcspRequestBuilder, OcspVerifier, OcspVerifyError, Responder,
        ResponderConfig, ResponderError, Status,
    },
    oid,
    spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned},
    tsp::{
        Authority, AuthorityConfig, Expectation, TimeStampReqBuilder, TokenVerifier,
        ValidationTime, VerifyError, random_serial,
    },
    x509_cert::{
        Certificate,
        ext::{
            Extension,
            pkix::{
                KeyUsages, NameConstraints, SubjectAltName,
                constraints::name::{GeneralSubtree, GeneralSubtrees},
                name::GeneralName,
            },
        },
    },
};

const DAY: Duration = Duration::from_secs(86_400);

fn fixture(rel: &str) -> String {
    let p = format!("{}/../testdata/{rel}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn fixture_cert(rel: &str) -> Certificate {
    cert::load_pem_certs(&fixture(rel)).expect("pem").remove(0)
}

fn fixture_key(rel: &str) -> SoftwareSigner {
    SoftwareSigner::from_pem(&fixture(rel), SignerOptions::default()).expect("key")
}

fn key() -> SoftwareSigner {
    SoftwareSigner::generate_p256().expect("key")
}

fn ext<T: Encode + der::oid::AssociatedOid>(critical: bool, value: &T) -> Extension {
    Extension {
        extn_id: T::OID,
        critical,
        extn_value: OctetString::new(value.to_der().expect("der")).expect("octets"),
    }
}

/// A root, one intermediate made from `int` (a template the test bends) and a TSA leaf made
/// from `leaf`.
struct Pki {
    root: Certificate,
    root_key: SoftwareSigner,
    int: Certificate,
    int_key: SoftwareSigner,
    leaf: Certificate,
    leaf_key: SoftwareSigner,
}

fn pki(int: CertificateParams, leaf: CertificateParams) -> Pki {
    let root_key = key();
    let root = CertificateParams::ca("CN=verify test root", std::time::SystemTime::now(), 30)
        .self_signed(&root_key)
        .expect("root");
    let int_key = key();
    let int = int
        .signed_by(int_key.public_key(), &root, &root_key)
        .expect("int");
    let leaf_key = key();
    let leaf = leaf
        .signed_by(leaf_key.public_key(), &int, &int_key)
        .expect("leaf");
    Pki {
        root,
        root_key,
        int,
        int_key,
        leaf,
        leaf_key,
    }
}

fn int_ca() -> CertificateParams {
    CertificateParams::ca("CN=verify test int", std::time::SystemTime::now(), 30)
}

fn tsa_leaf() -> CertificateParams {
    CertificateParams::tsa("CN=verify test tsa", std::time::SystemTime::now(), 30)
}

fn path(p: &Pki) -> Result<Vec<Certificate>, PathError> {
    cert::verify_path(
        &p.leaf,
        std::slice::from_ref(&p.int),
        std::slice::from_ref(&p.root),
        SystemTime::now(),
    )
}

#[test]
fn a_good_path_verifies() {
    let p = pki(int_ca(), tsa_leaf());
    assert_eq!(path(&p).expect("path").len(), 3);
}

#[test]
fn name_constraint_violation_is_refused() {
    let permitted = GeneralSubtrees::from(vec![GeneralSubtree {
        base: GeneralName::DnsName(Ia5String::new("example.ir").expect("ia5")),
        minimum: 0,
        maximum: None,
    }]);
    let nc = NameConstraints {
        permitted_subtrees: Some(permitted),
        excluded_subtrees: None,
    };
    let mut int = int_ca();
    int.extra_extensions.push(ext(true, &nc));
    let san = |name: &str| {
        SubjectAltName(vec![GeneralName::DnsName(
            Ia5String::new(name).expect("ia5"),
        )])
    };
    let mut inside = tsa_leaf();
    inside
        .extra_extensions
        .push(ext(false, &san("tsa.example.ir")));
    assert!(path(&pki(int.clone(), inside)).is_ok());
    let mut outside = tsa_leaf();
    outside
        .extra_extensions
        .push(ext(false, &san("tsa.example.com")));
    assert!(matches!(
        path(&pki(int, outside)),
        Err(PathError::NameConstraints)
    ));
}

#[test]
fn an_authority_key_identifier_naming_another_key_is_refused() {
    let p = pki(int_ca(), tsa_leaf());
    // Same name as the intermediate, another key: the leaf is signed by the real
    // intermediate's key but its authorityKeyIdentifier names the impostor's.
    let impostor = CertificateParams::ca("CN=verify test int", std::time::SystemTime::now(), 30)
        .self_signed(&key())
        .expect("impostor");
    let leaf = tsa_leaf()
        .signed_by(p.leaf_key.public_key(), &impostor, &p.int_key)
        .expect("leaf");
    let got = cert::verify_path(
        &leaf,
        std::slice::from_ref(&p.int),
        std::slice::from_ref(&p.root),
        SystemTime::now(),
    );
    assert!(
        matches!(got, Err(PathError::AuthorityKeyId { .. })),
        "{got:?}"
    );
}

#[test]
fn a_non_ca_intermediate_is_refused() {
    let mut int = CertificateParams::leaf("CN=verify test int", std::time::SystemTime::now(), 30);
    int.key_usage = vec![KeyUsages::KeyCertSign];
    assert!(matches!(
        path(&pki(int, tsa_leaf())),
        Err(PathError::NotACa)
    ));
}

#[test]
fn an_intermediate_without_key_cert_sign_is_refused() {
    let mut int = int_ca();
    int.key_usage = vec![KeyUsages::CRLSign];
    assert!(matches!(
        path(&pki(int, tsa_leaf())),
        Err(PathError::IssuerKeyUsage { .. })
    ));
}

#[test]
fn expiry_and_validation_time_are_checked() {
    let p = pki(int_ca(), tsa_leaf());
    let roots = std::slice::from_ref(&p.root);
    let ints = std::slice::from_ref(&p.int);
    assert!(matches!(
        cert::verify_path(&p.leaf, ints, roots, SystemTime::now() + 60 * DAY),
        Err(PathError::Expired { .. })
    ));
    assert!(matches!(
        cert::verify_path(&p.leaf, ints, roots, SystemTime::now() - 2 * DAY),
        Err(PathError::NotYetValid { .. })
    ));
    assert!(matches!(
        cert::verify_path(&p.leaf, &[], roots, SystemTime::now()),
        Err(PathError::NoPath)
    ));
}

#[test]
fn the_purpose_must_be_allowed_along_the_path() {
    let mut int = int_ca();
    int.extended_key_usage = Some((false, vec![oid::KP_OCSP_SIGNING]));
    let p = pki(int, tsa_leaf());
    let opts = PathOptions::default().purpose(oid::KP_TIME_STAMPING);
    assert!(matches!(
        cert::verify_path_with(
            &p.leaf,
            std::slice::from_ref(&p.int),
            std::slice::from_ref(&p.root),
            SystemTime::now(),
            &opts
        ),
        Err(PathError::ExtendedKeyUsage(o)) if o == oid::KP_TIME_STAMPING
    ));
    // Without a purpose the same path is fine.
    assert!(path(&p).is_ok());
}

/// Certificate ::= SEQUENCE { tbs, signatureAlgorithm, signature }, for surgery.
#[derive(Sequence)]
struct RawCert {
    tbs: der::Any,
    signature_algorithm: AlgorithmIdentifierOwned,
    signature: BitString,
}

#[test]
fn a_tbs_algorithm_differing_from_the_outer_one_is_refused() {
    let p = pki(int_ca(), tsa_leaf());
    let mut raw = RawCert::from_der(&p.leaf.to_der().expect("der")).expect("raw");
    raw.signature_algorithm.oid = oid::ECDSA_WITH_SHA384;
    let leaf = Certificate::from_der(&raw.to_der().expect("der")).expect("cert");
    assert!(matches!(
        cert::verify_path(
            &leaf,
            std::slice::from_ref(&p.int),
            std::slice::from_ref(&p.root),
            SystemTime::now()
        ),
        Err(PathError::AlgorithmMismatch { .. })
    ));
}

#[test]
fn unknown_critical_extensions_are_named() {
    let mut leaf = tsa_leaf();
    let odd = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.7");
    leaf.extra_extensions.push(Extension {
        extn_id: odd,
        critical: true,
        extn_value: OctetString::new(vec![5, 0]).expect("octets"),
    });
    assert!(matches!(
        path(&pki(int_ca(), leaf)),
        Err(PathError::UnknownCriticalExtension(Some(o))) if o == odd
    ));
}

// ---- the algorithm policy ----

/// The fixture RSA key's public key, and a PKCS#1 v1.5 SHA-1 signature of `msg` by it.
fn sha1_signature(msg: &[u8]) -> (SubjectPublicKeyInfoOwned, Vec<u8>) {
    use rsa::{pkcs1v15::SigningKey, pkcs8::DecodePrivateKey};
    use signature::{SignatureEncoding, Signer as _};
    let private = rsa::PrivateKey::from_pkcs8_pem(&fixture("pki/tsa-rsa.key")).expect("key");
    let sig = SigningKey::<sha1::Sha1>::new(private).sign(msg).to_vec();
    let spki = fixture_cert("pki/tsa-rsa.pem")
        .tbs_certificate()
        .subject_public_key_info()
        .clone();
    (spki, sig)
}

#[test]
fn sha1_is_refused_unless_the_policy_allows_it() {
    let (spki, sig) = sha1_signature(b"legacy");
    let alg = AlgorithmIdentifierOwned {
        oid: oid::SHA1_WITH_RSA,
        parameters: None,
    };
    assert!(matches!(
        AlgorithmPolicy::default().verify(&spki, &alg, None, b"legacy", &sig),
        Err(SignatureError::Sha1Refused { .. })
    ));
    AlgorithmPolicy::default()
        .allow_sha1(true)
        .verify(&spki, &alg, None, b"legacy", &sig)
        .expect("allowed for legacy data");
    assert!(matches!(
        gica_pki::verify_signature(&spki, &alg, None, b"legacy", &sig),
        Err(gica_pki::Error::Signature(e)) if matches!(*e, SignatureError::Sha1Refused { .. })
    ));
}

#[test]
fn a_pss_key_never_verifies_a_pkcs1_signature() {
    let signer = fixture_key("pki/tsa-rsa.key");
    let sig = signer.sign(b"m").expect("sign");
    let mut spki = signer.public_key().clone();
    AlgorithmPolicy::default()
        .verify(&spki, signer.signature_algorithm(), None, b"m", &sig)
        .expect("as rsaEncryption");
    spki.algorithm = AlgorithmIdentifierOwned {
        oid: oid::RSASSA_PSS,
        parameters: None,
    };
    assert!(matches!(
        AlgorithmPolicy::default().verify(&spki, signer.signature_algorithm(), None, b"m", &sig),
        Err(SignatureError::KeyMismatch { .. })
    ));
}

#[test]
fn small_rsa_keys_follow_the_policy() {
    let signer = fixture_key("pki/tsa-rsa.key");
    let sig = signer.sign(b"m").expect("sign");
    let strict = AlgorithmPolicy::default().min_rsa_bits(4096);
    assert!(matches!(
        strict.verify(
            signer.public_key(),
            signer.signature_algorithm(),
            None,
            b"m",
            &sig
        ),
        Err(SignatureError::RsaKeyTooSmall { .. })
    ));
}

// ---- time-stamp tokens ----

fn token_from(p: &Pki, data: &[u8]) -> Vec<u8> {
    let mut config = AuthorityConfig::new("1.3.6.1.4.1.99999.1.1".parse().expect("oid"));
    config.chain = vec![p.int.clone()];
    let tsa =
        Authority::new(p.leaf.clone(), Arc::new(p.leaf_key.clone()), config).expect("authority");
    let req = TimeStampReqBuilder::new(DigestAlgorithm::Sha256)
        .data(data)
        .cert_req(true)
        .build()
        .expect("request");
    let issued = tsa.respond(
        &req.to_der().expect("der"),
        SystemTime::now(),
        random_serial().expect("serial"),
    );
    assert!(issued.outcome.is_ok(), "{:?}", issued.outcome);
    issued.der
}

#[test]
fn a_tsa_without_a_signing_key_usage_is_refused() {
    let mut leaf = tsa_leaf();
    leaf.key_usage = vec![KeyUsages::KeyEncipherment];
    let p = pki(int_ca(), leaf);
    let resp = token_from(&p, b"doc");
    let got =
        TokenVerifier::new(vec![p.root.clone()]).verify_response(&resp, &Expectation::data(b"doc"));
    assert!(
        matches!(
            got,
            Err(VerifyError::TsaCertificate(
                CertificateError::KeyUsage { .. }
            ))
        ),
        "{got:?}"
    );
    // nonRepudiation alone is a signing usage too.
    let mut leaf = tsa_leaf();
    leaf.key_usage = vec![KeyUsages::NonRepudiation];
    let p = pki(int_ca(), leaf);
    let resp = token_from(&p, b"doc");
    TokenVerifier::new(vec![p.root.clone()])
        .verify_response(&resp, &Expectation::data(b"doc"))
        .expect("nonRepudiation");
}

#[test]
fn tokens_are_checked_at_gen_time_or_at_a_given_time() {
    let p = pki(int_ca(), tsa_leaf());
    let resp = token_from(&p, b"doc");
    let v = TokenVerifier::new(vec![p.root.clone()]);
    v.verify_response(&resp, &Expectation::data(b"doc"))
        .expect("at genTime");
    let later = v
        .clone()
        .validation_time(ValidationTime::At(SystemTime::now() + 60 * DAY));
    assert!(matches!(
        later.verify_response(&resp, &Expectation::data(b"doc")),
        Err(VerifyError::Path(PathError::Expired { .. }))
    ));
    assert!(matches!(
        v.verify_response(&resp, &Expectation::data(b"other")),
        Err(VerifyError::ImprintMismatch)
    ));
}

fn crl_of(
    p: &Pki,
    revoked: &[(&Certificate, Option<CrlReason>)],
    this_update: SystemTime,
) -> Vec<u8> {
    let serials: Vec<Vec<u8>> = revoked
        .iter()
        .map(|(c, _)| cert::serial_magnitude(c).to_vec())
        .collect();
    let entries = revoked.iter().zip(&serials).map(|((_, reason), serial)| {
        let e = RevokedEntry::new(serial, this_update - Duration::from_secs(60));
        match reason {
            Some(r) => e.reason(*r),
            None => e,
        }
    });
    build_crl(
        &p.int,
        &p.int_key,
        &CrlParams::new(this_update, this_update + DAY, 1),
        entries,
    )
    .expect("crl")
}

fn root_crl(p: &Pki, root_key: &SoftwareSigner) -> Vec<u8> {
    let now = SystemTime::now();
    build_crl(
        &p.root,
        root_key,
        &CrlParams::new(now, now + DAY, 1),
        std::iter::empty(),
    )
    .expect("root crl")
}

#[test]
fn leaf_revocation_only_needs_no_status_for_the_cas() {
    let p = pki(int_ca(), tsa_leaf());
    let now = SystemTime::now();
    let path = |crls: Vec<Vec<u8>>, leaf_only: bool| {
        cert::verify_path_with(
            &p.leaf,
            std::slice::from_ref(&p.int),
            std::slice::from_ref(&p.root),
            now,
            &PathOptions::default()
                .crls(crls)
                .leaf_revocation_only(leaf_only),
        )
    };
    let leaf_crl = crl_of(&p, &[], now);
    assert!(matches!(
        path(vec![leaf_crl.clone()], false),
        Err(PathError::RevocationUnknown { .. })
    ));
    assert_eq!(path(vec![leaf_crl], true).expect("leaf only").len(), 3);
    let revoked = crl_of(&p, &[(&p.leaf, Some(CrlReason::KeyCompromise))], now);
    assert!(matches!(
        path(vec![revoked], true),
        Err(PathError::Revoked { .. })
    ));
    // Evidence about the leaf is still required.
    assert!(matches!(
        path(vec![root_crl(&p, &p.root_key)], true),
        Err(PathError::RevocationUnknown { .. })
    ));
}

#[test]
fn crls_for_the_tsa_chain_are_checked() {
    // A root whose key we keep, to sign the CRL covering the intermediate.
    let p = pki(int_ca(), tsa_leaf());
    let root_key = &p.root_key;
    let resp = token_from(&p, b"doc");
    let now = SystemTime::now();
    let v = TokenVerifier::new(vec![p.root.clone()]).validation_time(ValidationTime::At(now));
    let root_crl = root_crl(&p, root_key);
    // Clean CRLs for both levels: accepted.
    v.clone()
        .crls(vec![crl_of(&p, &[], now), root_crl.clone()])
        .verify_response(&resp, &Expectation::data(b"doc"))
        .expect("not revoked");
    // The leaf revoked: refused.
    let revoked = crl_of(&p, &[(&p.leaf, Some(CrlReason::KeyCompromise))], now);
    assert!(matches!(
        v.clone()
            .crls(vec![revoked.clone(), root_crl.clone()])
            .verify_response(&resp, &Expectation::data(b"doc")),
        Err(VerifyError::Path(PathError::Revoked { .. }))
    ));
    // Only the leaf's CRL: the intermediate's status is unknown.
    assert!(matches!(
        v.crls(vec![crl_of(&p, &[], now)])
            .verify_response(&resp, &Expectation::data(b"doc")),
        Err(VerifyError::Path(PathError::RevocationUnknown { .. }))
    ));
    // Archive check at genTime with a CRL issued later: a superseded certificate revoked
    // after genTime still vouches for the token; a compromised one does not.
    let later = now + Duration::from_secs(3600);
    let archive = TokenVerifier::new(vec![p.root.clone()]);
    let superseded = crl_of(&p, &[(&p.leaf, Some(CrlReason::Superseded))], later);
    let root_later = build_crl(
        &p.root,
        root_key,
        &CrlParams::new(later, later + DAY, 2),
        std::iter::empty(),
    )
    .expect("root crl");
    archive
        .clone()
        .crls(vec![superseded, root_later.clone()])
        .verify_response(&resp, &Expectation::data(b"doc"))
        .expect("superseded after genTime");
    let compromised = crl_of(&p, &[(&p.leaf, Some(CrlReason::KeyCompromise))], later);
    assert!(matches!(
        archive
            .crls(vec![compromised, root_later])
            .verify_response(&resp, &Expectation::data(b"doc")),
        Err(VerifyError::Path(PathError::Revoked { .. }))
    ));
}

// ---- OCSP responses ----

/// The fixture intermediate answering for the fixture RSA TSA leaf: its certificate and key,
/// a request about the leaf, and that request's CertID.
struct IntOcsp {
    issuer: Certificate,
    issuer_key: SoftwareSigner,
    req: gica_pki::ocsp::OcspRequest,
    id: gica_pki::ocsp::CertId,
}

fn int_ocsp() -> IntOcsp {
    let issuer = fixture_cert("pki/int-ca.pem");
    let leaf = fixture_cert("pki/tsa-rsa.pem");
    let req = OcspRequestBuilder::new()
        .certificate(&leaf, &issuer, DigestAlgorithm::Sha256)
        .expect("id")
        .build();
    let id = req.tbs_request.request_list[0].req_cert.clone();
    IntOcsp {
        issuer,
        issuer_key: fixture_key("pki/int-ca.key"),
        req,
        id,
    }
}

/// A delegated responder certificate issued by the fixture intermediate, bent by `tweak`.
fn delegate_cert(
    o: &IntOcsp,
    key: &SoftwareSigner,
    tweak: impl FnOnce(&mut CertificateParams),
) -> Certificate {
    let mut params =
        CertificateParams::leaf("CN=verify test OCSP responder", SystemTime::now(), 30);
    params.extended_key_usage = Some((false, vec![oid::KP_OCSP_SIGNING]));
    tweak(&mut params);
    params
        .signed_by(key.public_key(), &o.issuer, &o.issuer_key)
        .expect("cert")
}

fn int_responder(o: &IntOcsp) -> Responder {
    Responder::new(
        o.issuer.clone(),
        None,
        Arc::new(o.issuer_key.clone()),
        ResponderConfig::default(),
    )
    .expect("responder")
}

#[test]
fn a_delegate_expired_when_the_response_was_produced_is_refused() {
    let o = int_ocsp();
    let delegate_key = key();
    let delegate = delegate_cert(&o, &delegate_key, |p| {
        p.not_before = SystemTime::now() - 10 * DAY;
        p.not_after = SystemTime::now() - DAY;
    });
    let r = Responder::new(
        o.issuer.clone(),
        Some(delegate),
        Arc::new(delegate_key),
        ResponderConfig::default(),
    )
    .expect("responder");
    let der = r
        .sign(&[(o.id.clone(), Status::Good)], None, SystemTime::now())
        .expect("sign");
    assert!(matches!(
        OcspVerifier::new(o.issuer).verify(&der, &o.req, SystemTime::now()),
        Err(OcspVerifyError::Delegate(DelegateError::Expired { .. }))
    ));
}

#[test]
fn a_delegate_without_digital_signature_is_refused() {
    let o = int_ocsp();
    let delegate_key = key();
    let delegate = delegate_cert(&o, &delegate_key, |p| {
        p.key_usage = vec![KeyUsages::KeyEncipherment];
    });
    let err = Responder::new(
        o.issuer,
        Some(delegate),
        Arc::new(delegate_key),
        ResponderConfig::default(),
    )
    .expect_err("keyUsage");
    assert!(
        matches!(
            err,
            ResponderError::Delegate(DelegateError::NoDigitalSignature)
        ),
        "{err}"
    );
}

#[test]
fn ocsp_responses_are_refused_for_each_cause() {
    let o = int_ocsp();
    let r = int_responder(&o);
    let (issuer, req, id) = (o.issuer.clone(), o.req.clone(), o.id.clone());
    let leaf = fixture_cert("pki/tsa-rsa.pem");
    let now = SystemTime::now();
    let good = r
        .sign(&[(id.clone(), Status::Good)], None, now)
        .expect("sign");
    let v = OcspVerifier::new(issuer.clone());
    v.verify(&good, &req, now).expect("good");
    // Not DER.
    assert!(matches!(
        v.verify(b"\x30\x03\x0a\x01", &req, now),
        Err(OcspVerifyError::Malformed { .. })
    ));
    // A refusal status.
    assert!(matches!(
        v.verify(&[0x30, 0x03, 0x0a, 0x01, 0x03], &req, now),
        Err(OcspVerifyError::Status(_))
    ));
    // One flipped bit in the signature.
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(matches!(
        v.verify(&bad, &req, now),
        Err(OcspVerifyError::Signature(_))
    ));
    // thisUpdate in the future.
    let future = r
        .sign(&[(id.clone(), Status::Good)], None, now + DAY)
        .expect("sign");
    assert!(matches!(
        v.verify(&future, &req, now),
        Err(OcspVerifyError::NotYetValid(_))
    ));
    // A request about another issuer's certificate.
    let other = fixture_cert("pki/other-root.pem");
    let other_req = OcspRequestBuilder::new()
        .certificate(&other, &other, DigestAlgorithm::Sha256)
        .expect("id")
        .build();
    assert!(matches!(
        v.verify(&good, &other_req, now),
        Err(OcspVerifyError::OtherIssuer)
    ));
    // A request with a second CertID the response does not answer.
    let two = OcspRequestBuilder::new()
        .certificate(&leaf, &issuer, DigestAlgorithm::Sha256)
        .expect("id")
        .certificate(&leaf, &issuer, DigestAlgorithm::Sha384)
        .expect("id")
        .build();
    assert!(matches!(
        v.verify(&good, &two, now),
        Err(OcspVerifyError::Missing)
    ));
}

#[test]
fn ocsp_responses_for_the_tsa_chain_are_checked() {
    let p = pki(int_ca(), tsa_leaf());
    let root_key = &p.root_key;
    let resp = token_from(&p, b"doc");
    let now = SystemTime::now();
    let responder = Responder::new(
        p.int.clone(),
        None,
        Arc::new(p.int_key.clone()),
        ResponderConfig::default(),
    )
    .expect("responder");
    let id = OcspRequestBuilder::new()
        .certificate(&p.leaf, &p.int, DigestAlgorithm::Sha256)
        .expect("id")
        .build()
        .tbs_request
        .request_list[0]
        .req_cert
        .clone();
    let answer = |status| {
        responder
            .sign(&[(id.clone(), status)], None, now)
            .expect("sign")
    };
    let v = TokenVerifier::new(vec![p.root.clone()]).validation_time(ValidationTime::At(now));
    let root_crl = root_crl(&p, root_key);
    v.clone()
        .ocsp_responses(vec![answer(Status::Good)])
        .crls(vec![root_crl.clone()])
        .verify_response(&resp, &Expectation::data(b"doc"))
        .expect("good by OCSP, intermediate by CRL");
    let revoked = Status::Revoked {
        time: now - Duration::from_secs(60),
        reason: Some(CrlReason::KeyCompromise),
    };
    assert!(matches!(
        v.clone()
            .ocsp_responses(vec![answer(revoked)])
            .crls(vec![root_crl.clone()])
            .verify_response(&resp, &Expectation::data(b"doc")),
        Err(VerifyError::Path(PathError::Revoked { .. }))
    ));
    // `unknown` covers nothing.
    assert!(matches!(
        v.ocsp_responses(vec![answer(Status::NotIssued)])
            .crls(vec![root_crl])
            .verify_response(&resp, &Expectation::data(b"doc")),
        Err(VerifyError::Path(PathError::RevocationUnknown { .. }))
    ));
}

// ---- every other refusal of the token and OCSP verifiers ----

/// A token's ContentInfo and SignedData, for surgery.
fn signed_data_of(
    resp: &[u8],
) -> (
    gica_pki::cms::content_info::ContentInfo,
    gica_pki::cms::signed_data::SignedData,
) {
    let resp = gica_pki::tsp::TimeStampResp::from_der(resp).expect("response");
    let ci = resp.time_stamp_token.expect("token");
    let sd = ci.content.decode_as().expect("SignedData");
    (ci, sd)
}

fn token_with(
    mut ci: gica_pki::cms::content_info::ContentInfo,
    sd: &gica_pki::cms::signed_data::SignedData,
) -> Vec<u8> {
    ci.content = der::Any::encode_from(sd).expect("encode");
    ci.to_der().expect("der")
}

#[test]
fn token_refusals_each_have_their_variant() {
    use gica_pki::cms::signed_data::SignerInfos;
    let p = pki(int_ca(), tsa_leaf());
    let resp = token_from(&p, b"doc");
    let v = TokenVerifier::new(vec![p.root.clone()]);
    let data = Expectation::data(b"doc");

    // A refusal from the TSA.
    let mut config = AuthorityConfig::new("1.3.6.1.4.1.99999.1.1".parse().expect("oid"));
    config.chain = vec![p.int.clone()];
    let tsa = Authority::new(p.leaf.clone(), Arc::new(p.leaf_key.clone()), config).expect("tsa");
    let refused = tsa.respond(
        b"\x30\x00",
        SystemTime::now(),
        random_serial().expect("serial"),
    );
    assert!(matches!(
        v.verify_response(&refused.der, &data),
        Err(VerifyError::NotGranted { .. })
    ));

    // The policy asked for is not the token's.
    let mut other = Expectation::data(b"doc");
    other.policy = Some("1.3.6.1.4.1.99999.1.2".parse().expect("oid"));
    assert!(matches!(
        v.verify_response(&resp, &other),
        Err(VerifyError::PolicyMismatch { .. })
    ));

    // Not a SignedData.
    let (ci, sd) = signed_data_of(&resp);
    let mut not_signed = ci.clone();
    not_signed.content_type = oid::CT_TST_INFO;
    assert!(matches!(
        v.verify_token(&not_signed.to_der().expect("der"), &data),
        Err(VerifyError::Token(_))
    ));

    // One flipped bit in the signature value.
    let mut si = sd.signer_infos.0.as_slice()[0].clone();
    let mut sig = si.signature.as_bytes().to_vec();
    sig[10] ^= 1;
    si.signature = OctetString::new(sig).expect("octets");
    let mut bad_sig = sd.clone();
    bad_sig.signer_infos = SignerInfos(vec![si].try_into().expect("set"));
    assert!(matches!(
        v.verify_token(&token_with(ci.clone(), &bad_sig), &data),
        Err(VerifyError::Signature(SignatureError::Invalid))
    ));

    // The TSTInfo changed after signing: messageDigest no longer matches.
    let mut changed = sd.clone();
    let econtent: OctetString = changed
        .encap_content_info
        .econtent
        .as_ref()
        .expect("eContent")
        .decode_as()
        .expect("octets");
    let mut tst = gica_pki::tsp::TstInfo::from_der(econtent.as_bytes()).expect("TSTInfo");
    tst.policy = "1.3.6.1.4.1.99999.1.9".parse().expect("oid");
    changed.encap_content_info.econtent = Some(
        der::Any::encode_from(&OctetString::new(tst.to_der().expect("der")).expect("octets"))
            .expect("any"),
    );
    assert!(matches!(
        v.verify_token(&token_with(ci.clone(), &changed), &data),
        Err(VerifyError::MessageDigest)
    ));

    // The certificate offered as the signer's has the right name, serial and key, but is not
    // the one signingCertificateV2 names (its signature bytes differ).
    let mut raw = RawCert::from_der(&p.leaf.to_der().expect("der")).expect("raw");
    let mut bits = raw.signature.raw_bytes().to_vec();
    let last = bits.len() - 1;
    bits[last] ^= 1;
    raw.signature = BitString::from_bytes(&bits).expect("bits");
    let twin = Certificate::from_der(&raw.to_der().expect("der")).expect("cert");
    let mut no_certs = sd.clone();
    no_certs.certificates = None;
    let got = v
        .clone()
        .untrusted(vec![twin, p.int.clone()])
        .verify_token(&token_with(ci, &no_certs), &data);
    assert!(
        matches!(got, Err(VerifyError::SigningCertificate(_))),
        "{got:?}"
    );
}

#[test]
fn ocsp_response_type_and_next_update_are_checked() {
    use gica_pki::ocsp::{OcspResponse, OcspResponseStatus, ResponseBytes};
    let o = int_ocsp();
    let r = int_responder(&o);
    let (issuer, issuer_key, req, id) = (o.issuer, o.issuer_key, o.req, o.id);
    let now = SystemTime::now();
    let good = r.sign(&[(id, Status::Good)], None, now).expect("sign");
    let wrap = |response_type, basic: Vec<u8>| {
        OcspResponse {
            response_status: OcspResponseStatus::Successful,
            response_bytes: Some(ResponseBytes {
                response_type,
                response: OctetString::new(basic).expect("octets"),
            }),
        }
        .to_der()
        .expect("der")
    };
    let mut basic = OcspResponse::from_der(&good)
        .expect("response")
        .basic()
        .expect("basic")
        .expect("decodes");
    let v = OcspVerifier::new(issuer);
    assert!(matches!(
        v.verify(
            &wrap(oid::OCSP_NONCE, basic.to_der().expect("der")),
            &req,
            now
        ),
        Err(OcspVerifyError::NotBasic)
    ));
    // No nextUpdate, re-signed by the issuer: refused under RFC 5019, accepted when allowed.
    basic.tbs_response_data.responses[0].next_update = None;
    let tbs = basic.tbs_response_data.to_der().expect("der");
    basic.signature = BitString::from_bytes(&issuer_key.sign(&tbs).expect("sign")).expect("bits");
    let no_next = wrap(oid::OCSP_BASIC, basic.to_der().expect("der"));
    assert!(matches!(
        v.verify(&no_next, &req, now),
        Err(OcspVerifyError::NoNextUpdate)
    ));
    v.allow_missing_next_update()
        .verify(&no_next, &req, now)
        .expect("allowed");
}
