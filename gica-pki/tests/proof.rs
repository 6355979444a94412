//! Proofs (CMS SignedData + RFC 3161 token as id-aa-timeStampToken) against the committed
//! fixtures (testdata/pki, testdata/proof) with tokens from an in-process `tsp::Authority`,
//! checked by our verifier and by the openssl CLI (`cms -verify`, `ts -verify`).

use std::{
    path::Path,
    process::Command,
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use der::{
    Any, Decode, Encode,
    asn1::{ObjectIdentifier, OctetString, SetOfVec},
};
use gica_pki::{
    DigestAlgorithm, Error, Signer, SignerOptions, SoftwareSigner,
    algorithm::SignatureError,
    cert::{self, CertificateError, PathError},
    certgen::CertificateParams,
    cms::{
        cert::CertificateChoices,
        content_info::{CmsVersion, ContentInfo},
        signed_data::{CertificateSet, SignedData, SignerInfo, SignerInfos},
    },
    ess::SigningCertificateV2,
    oid,
    proof::{self, ProofError, ProofSigner, ProofVerifier, UnstampedProof, read_proof},
    tsp::{
        Authority, AuthorityConfig, FailureInfo, PkiStatus, Rejection, TimeStampReqBuilder,
        TstSerial, VerifyError, rejection_der,
    },
    x509_cert::{Certificate, attr::Attribute, time::Time},
};
use proptest::prelude::*;

const POLICY: &str = "1.3.6.1.4.1.99999.1.1";
const DAY: Duration = Duration::from_secs(86_400);

fn fixture(path: &str) -> Vec<u8> {
    let p = format!("{}/../testdata/{path}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn fixture_path(path: &str) -> String {
    format!("{}/../testdata/{path}", env!("CARGO_MANIFEST_DIR"))
}

fn certs(path: &str) -> Vec<Certificate> {
    cert::load_pem_certs(&String::from_utf8(fixture(path)).expect("utf-8")).expect("certs")
}

fn key(path: &str) -> SoftwareSigner {
    SoftwareSigner::from_pem(
        &String::from_utf8(fixture(path)).expect("utf-8"),
        SignerOptions::default(),
    )
    .expect("key")
}

fn roots() -> Vec<Certificate> {
    certs("pki/root-ca.pem")
}

fn record() -> Vec<u8> {
    fixture("proof/record.der")
}

fn now() -> SystemTime {
    SystemTime::now()
}

/// A TSA on a fixture certificate, its chain (int-ca, root) sent when asked.
fn tsa(name: &str) -> Authority {
    let mut config = AuthorityConfig::new(POLICY.parse().expect("oid"));
    config.chain = certs("pki/chain.pem");
    Authority::new(
        certs(&format!("pki/{name}.pem")).remove(0),
        Arc::new(key(&format!("pki/{name}.key"))),
        config,
    )
    .expect("authority")
}

/// The TSA's TimeStampResp for `hash` at `at`.
fn stamp(
    tsa: &Authority,
    digest: DigestAlgorithm,
    hash: &[u8],
    at: SystemTime,
    cert_req: bool,
) -> Vec<u8> {
    let req = TimeStampReqBuilder::new(digest)
        .hash(hash)
        .with_nonce()
        .cert_req(cert_req)
        .build()
        .expect("request");
    let issued = tsa.respond(
        &req.to_der().expect("der"),
        at,
        TstSerial::random().expect("serial"),
    );
    assert!(issued.outcome.is_ok(), "{:?}", issued.outcome);
    issued.der
}

/// A signer from testdata/proof (`p256` or `rsa`), chain int-ca.
fn signer(kind: &str) -> ProofSigner {
    ProofSigner::new(
        Arc::new(key(&format!("proof/signer-{kind}.key"))),
        certs(&format!("proof/signer-{kind}.pem")).remove(0),
        certs("pki/int-ca.pem"),
    )
    .expect("proof signer")
}

fn unstamped(kind: &str, at: SystemTime) -> UnstampedProof {
    signer(kind)
        .sign(oid::CT_REGISTRY_RECEIPT, &record(), at)
        .expect("sign")
}

/// A proof of `record()` signed by `kind`, stamped by `tsa_name` (SHA-256 imprint), at `at`.
fn stamped(kind: &str, tsa_name: &str, at: SystemTime) -> Vec<u8> {
    let u = unstamped(kind, at);
    let reply = stamp(
        &tsa(tsa_name),
        DigestAlgorithm::Sha256,
        &u.time_stamp_imprint(DigestAlgorithm::Sha256),
        at,
        true,
    );
    u.with_time_stamp(&reply).expect("with time-stamp")
}

fn verifier() -> ProofVerifier {
    ProofVerifier::new(roots()).content_type(oid::CT_REGISTRY_RECEIPT)
}

fn signed_data(der: &[u8]) -> SignedData {
    ContentInfo::from_der(der)
        .expect("ContentInfo")
        .content
        .decode_as()
        .expect("SignedData")
}

fn signer_info(sd: &SignedData) -> SignerInfo {
    sd.signer_infos.0.as_slice()[0].clone()
}

fn encode(sd: &SignedData) -> Vec<u8> {
    ContentInfo {
        content_type: oid::SIGNED_DATA,
        content: Any::encode_from(sd).expect("any"),
    }
    .to_der()
    .expect("der")
}

/// `der` with its one SignerInfo replaced by what `f` makes of it.
fn with_signer_info(der: &[u8], f: impl FnOnce(&mut SignerInfo)) -> Vec<u8> {
    let mut sd = signed_data(der);
    let mut si = signer_info(&sd);
    f(&mut si);
    sd.signer_infos = SignerInfos::try_from(vec![si]).expect("signer infos");
    encode(&sd)
}

/// `der` with its signed attributes changed by `f` and signed again by `key`: for refusals
/// that must get past the signature check.
fn resigned(der: &[u8], key: &dyn Signer, f: impl FnOnce(&mut Vec<Attribute>)) -> Vec<u8> {
    with_signer_info(der, |si| {
        let mut attrs = si.signed_attrs.take().expect("signed attrs").into_vec();
        f(&mut attrs);
        let attrs = SetOfVec::try_from(attrs).expect("set");
        let sig = key.sign(&attrs.to_der().expect("der")).expect("sign");
        si.signed_attrs = Some(attrs);
        si.signature = OctetString::new(sig).expect("octets");
    })
}

fn attribute(oid: ObjectIdentifier, value: Any) -> Attribute {
    Attribute {
        oid,
        values: SetOfVec::try_from(vec![value]).expect("set"),
    }
}

fn openssl(dir: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("the openssl CLI runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[test]
fn signed_and_stamped_proofs_verify() {
    for (kind, tsa_name) in [
        ("p256", "tsa-p256"),
        ("rsa", "tsa-rsa"),
        ("p256", "tsa-p384"),
    ] {
        let at = now();
        let der = stamped(kind, tsa_name, at);
        let v = verifier().verify(&der, now()).expect(kind);
        assert_eq!(v.content, record());
        assert_eq!(v.content_type, oid::CT_REGISTRY_RECEIPT);
        assert_eq!(v.signer, certs(&format!("proof/signer-{kind}.pem"))[0]);
        assert_eq!(v.chain.len(), 3, "signer, int-ca, root");
        assert_eq!(v.chain[2], roots()[0]);
        let secs = |t: SystemTime| t.duration_since(UNIX_EPOCH).expect("after 1970").as_secs();
        assert_eq!(v.signing_time.map(secs), Some(secs(at)));
        let token = v.time_stamp.as_ref().expect("stamped");
        assert_eq!(token.signer, certs(&format!("pki/{tsa_name}.pem"))[0]);
        assert_eq!(Some(token.tst_info.gen_time), v.gen_time());
        assert_eq!(v.validated_at, token.tst_info.gen_time.to_system_time());
        assert_eq!(
            token.tst_info.message_imprint.hashed_message.as_bytes(),
            DigestAlgorithm::Sha256.digest(read_proof(&der).expect("parts").signature.as_slice())
        );
    }
}

#[test]
fn the_cms_structure_is_the_documented_one() {
    let der = stamped("p256", "tsa-p256", now());
    let ci = ContentInfo::from_der(&der).expect("ContentInfo");
    assert_eq!(ci.content_type, oid::SIGNED_DATA);
    let sd = signed_data(&der);
    // RFC 5652 5.1: v3 because the eContentType is not id-data.
    assert_eq!(sd.version, CmsVersion::V3);
    assert_eq!(
        sd.encap_content_info.econtent_type,
        oid::CT_REGISTRY_RECEIPT
    );
    let certs_in: Vec<Certificate> = sd
        .certificates
        .as_ref()
        .expect("certificates")
        .0
        .iter()
        .map(|c| match c {
            CertificateChoices::Certificate(c) => c.clone(),
            CertificateChoices::Other(_) => panic!("other certificate format"),
        })
        .collect();
    assert_eq!(certs_in.len(), 2);
    assert!(certs_in.contains(&certs("proof/signer-p256.pem")[0]));
    assert!(certs_in.contains(&certs("pki/int-ca.pem")[0]));
    let si = signer_info(&sd);
    assert_eq!(si.version, CmsVersion::V1);
    assert!(matches!(
        si.sid,
        gica_pki::cms::signed_data::SignerIdentifier::IssuerAndSerialNumber(_)
    ));
    let attrs = si.signed_attrs.expect("signed attributes");
    let mut types: Vec<ObjectIdentifier> = attrs.iter().map(|a| a.oid).collect();
    types.sort();
    let mut want = vec![
        oid::ATTR_CONTENT_TYPE,
        oid::ATTR_MESSAGE_DIGEST,
        oid::ATTR_SIGNING_TIME,
        oid::ATTR_SIGNING_CERTIFICATE_V2,
    ];
    want.sort();
    assert_eq!(types, want);
    let ess = attrs
        .iter()
        .find(|a| a.oid == oid::ATTR_SIGNING_CERTIFICATE_V2)
        .and_then(|a| a.values.iter().next())
        .expect("ESS");
    let ess = SigningCertificateV2::from_attribute_value(ess).expect("SigningCertificateV2");
    let signer_cert = &certs("proof/signer-p256.pem")[0];
    assert!(ess.certs[0].binds(signer_cert, &signer_cert.to_der().expect("der")));
    assert!(
        ess.certs[0].issuer_serial.is_some(),
        "ESSCertIDv2 with issuerSerial"
    );
    let unsigned = si.unsigned_attrs.expect("unsigned attributes");
    assert_eq!(unsigned.len(), 1);
    assert_eq!(
        unsigned.as_slice()[0].oid,
        "1.2.840.113549.1.9.16.2.14"
            .parse::<ObjectIdentifier>()
            .expect("oid")
    );
}

#[test]
fn openssl_cms_verify_accepts_and_returns_the_exact_content() {
    let dir = tempfile::tempdir().expect("tempdir");
    for kind in ["p256", "rsa"] {
        let der = stamped(kind, "tsa-p256", now());
        std::fs::write(dir.path().join("proof.der"), &der).expect("write");
        let (ok, out) = openssl(
            dir.path(),
            &[
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                "proof.der",
                "-CAfile",
                &fixture_path("pki/root-ca.pem"),
                "-purpose",
                "any",
                "-out",
                "content.der",
            ],
        );
        assert!(ok, "{kind}: {out}");
        assert_eq!(
            std::fs::read(dir.path().join("content.der")).expect("content"),
            record(),
            "{kind}"
        );
        // The same check against an unrelated root fails: the test can fail.
        let (ok, _) = openssl(
            dir.path(),
            &[
                "cms",
                "-verify",
                "-binary",
                "-inform",
                "DER",
                "-in",
                "proof.der",
                "-CAfile",
                &fixture_path("pki/other-root.pem"),
                "-purpose",
                "any",
                "-out",
                "content.der",
            ],
        );
        assert!(!ok, "{kind}: openssl accepted a proof under another root");
    }
}

#[test]
fn openssl_ts_verify_accepts_the_embedded_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (kind, tsa_name) in [("p256", "tsa-rsa"), ("rsa", "tsa-p256")] {
        let der = stamped(kind, tsa_name, now());
        let parts = read_proof(&der).expect("parts");
        std::fs::write(
            dir.path().join("token.der"),
            parts.time_stamp_token.expect("token"),
        )
        .expect("write");
        let digest = hex::encode(DigestAlgorithm::Sha256.digest(&parts.signature));
        let verify = |digest: &str| {
            openssl(
                dir.path(),
                &[
                    "ts",
                    "-verify",
                    "-token_in",
                    "-in",
                    "token.der",
                    "-digest",
                    digest,
                    "-CAfile",
                    &fixture_path("pki/root-ca.pem"),
                    "-untrusted",
                    &fixture_path("pki/chain.pem"),
                ],
            )
        };
        let (ok, out) = verify(&digest);
        assert!(ok && out.contains("Verification: OK"), "{kind}: {out}");
        // Another digest (the record's, not the signature's) is refused.
        let (ok, _) = verify(&hex::encode(DigestAlgorithm::Sha256.digest(&record())));
        assert!(!ok, "{kind}: openssl took the token for another imprint");
    }
}

#[test]
fn the_committed_vectors_verify() {
    for name in ["proof-p256", "proof-rsa"] {
        let der = fixture(&format!("proof/{name}.der"));
        let v = verifier().verify(&der, now()).expect(name);
        assert_eq!(v.content, record());
        assert!(v.time_stamp.is_some());
    }
    // openssl's CMS (`cms -sign -cades`, see testdata/proof/make.sh) verifies too; it has no
    // token.
    let der = fixture("proof/proof-openssl-p256.der");
    assert!(matches!(
        verifier().verify(&der, now()),
        Err(ProofError::TimeStampMissing)
    ));
    let v = verifier()
        .require_time_stamp(false)
        .verify(&der, now())
        .expect("openssl proof");
    assert_eq!(v.content, record());
    assert_eq!(v.signer, certs("proof/signer-p256.pem")[0]);
    assert!(v.signing_time.is_some());
    let parts = read_proof(&der).expect("parts");
    assert!(parts.time_stamp_token.is_none());
    assert_eq!(
        parts.signer,
        Some(certs("proof/signer-p256.pem")[0].clone())
    );
}

#[test]
fn openssl_cms_sign_variants_get_the_expected_answers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sign = |extra: &[&str]| {
        let mut args = vec![
            "cms",
            "-sign",
            "-binary",
            "-econtent_type",
            "1.3.6.1.4.1.99999.2.1.1",
            "-in",
        ];
        let (rec, pem, key) = (
            fixture_path("proof/record.der"),
            fixture_path("proof/signer-p256.pem"),
            fixture_path("proof/signer-p256.key"),
        );
        args.extend([rec.as_str(), "-signer", &pem, "-inkey", &key]);
        args.extend(["-outform", "DER", "-out", "p.der"]);
        args.extend(extra);
        let (ok, out) = openssl(dir.path(), &args);
        assert!(ok, "{out}");
        std::fs::read(dir.path().join("p.der")).expect("proof")
    };
    let v = verifier().require_time_stamp(false);
    let int_ca = fixture_path("pki/int-ca.pem");
    for extra in [
        &["-nodetach", "-cades", "-md", "sha384", "-certfile", &int_ca][..],
        // SubjectKeyIdentifier sid: SignerInfo v3, so SignedData v3 either way.
        &["-nodetach", "-keyid", "-cades", "-certfile", &int_ca],
        // No signingCertificate attribute: it is optional.
        &["-nodetach", "-certfile", &int_ca],
    ] {
        let proof = v.verify(&sign(extra), now()).expect("openssl proof");
        assert_eq!(proof.content, record(), "{extra:?}");
    }
    assert!(matches!(
        v.verify(&sign(&["-nodetach", "-nocerts"]), now()),
        Err(ProofError::SignerCertificateMissing)
    ));
    assert!(matches!(
        v.verify(&sign(&["-nodetach", "-noattr"]), now()),
        Err(ProofError::Structure("no signed attributes"))
    ));
    assert!(matches!(
        v.verify(&sign(&[]), now()),
        Err(ProofError::ContentMissing)
    ));
}

/// Writes testdata/proof/proof-{p256,rsa}.der; run by testdata/proof/make.sh.
#[test]
#[ignore = "writes the committed vectors; run by testdata/proof/make.sh"]
fn write_vectors() {
    if std::env::var_os("GICA_WRITE_PROOF_VECTORS").is_none() {
        return;
    }
    for (kind, tsa_name) in [("p256", "tsa-p256"), ("rsa", "tsa-rsa")] {
        let der = stamped(kind, tsa_name, now());
        std::fs::write(fixture_path(&format!("proof/proof-{kind}.der")), der).expect("write");
    }
}

#[test]
fn a_bare_token_and_a_whole_reply_give_the_same_proof() {
    let u = unstamped("p256", now());
    let reply = stamp(
        &tsa("tsa-p256"),
        DigestAlgorithm::Sha384,
        &u.time_stamp_imprint(DigestAlgorithm::Sha384),
        now(),
        false,
    );
    let token = gica_pki::tsp::TimeStampResp::from_der(&reply)
        .expect("reply")
        .time_stamp_token
        .expect("token")
        .to_der()
        .expect("der");
    let a = u.with_time_stamp(&reply).expect("reply");
    let b = u.with_time_stamp(&token).expect("token");
    assert_eq!(a, b);
    // The token carries no TSA certificate (certReq false): the verifier is given it.
    assert!(matches!(
        verifier().verify(&a, now()),
        Err(ProofError::TimeStamp(VerifyError::SignerCertificateMissing))
    ));
    let v = verifier()
        .untrusted(certs("pki/tsa-p256.pem"))
        .verify(&a, now())
        .expect("SHA-384 imprint");
    assert_eq!(
        v.time_stamp
            .expect("token")
            .tst_info
            .message_imprint
            .hash_algorithm
            .oid,
        oid::SHA384
    );
}

#[test]
fn a_flipped_content_byte_is_a_message_digest_error() {
    let der = stamped("p256", "tsa-p256", now());
    let rec = record();
    let at = der
        .windows(rec.len())
        .position(|w| w == rec.as_slice())
        .expect("the record is in the proof");
    let mut bad = der.clone();
    bad[at + rec.len() - 4] ^= 0x20; // a letter of "record"
    assert!(matches!(
        verifier().verify(&bad, now()),
        Err(ProofError::MessageDigest)
    ));
}

#[test]
fn a_flipped_signature_byte_is_a_signature_error() {
    for kind in ["p256", "rsa"] {
        let der = stamped(kind, "tsa-p256", now());
        let sig = read_proof(&der).expect("parts").signature;
        let at = der
            .windows(sig.len())
            .position(|w| w == sig.as_slice())
            .expect("the signature is in the proof");
        let mut bad = der.clone();
        bad[at + sig.len() / 2] ^= 0x01;
        assert!(
            matches!(
                verifier().verify(&bad, now()),
                Err(ProofError::Signature(SignatureError::Invalid))
            ),
            "{kind}"
        );
    }
}

#[test]
fn a_token_for_another_signature_is_refused() {
    let tsa = tsa("tsa-p256");
    let a = unstamped("p256", now());
    let b = unstamped("rsa", now());
    let reply_a = stamp(
        &tsa,
        DigestAlgorithm::Sha256,
        &a.time_stamp_imprint(DigestAlgorithm::Sha256),
        now(),
        true,
    );
    // Refused when put in...
    assert!(matches!(
        b.with_time_stamp(&reply_a),
        Err(ProofError::TimeStampImprint)
    ));
    // ...and when put in by hand.
    let proof_a = a.with_time_stamp(&reply_a).expect("a's own token");
    let token_a = read_proof(&proof_a)
        .expect("parts")
        .time_stamp_token
        .expect("token");
    let forged = with_signer_info(&b.to_der().expect("der"), |si| {
        si.unsigned_attrs = Some(
            SetOfVec::try_from(vec![attribute(
                oid::ATTR_TIME_STAMP_TOKEN,
                Any::from_der(&token_a).expect("any"),
            )])
            .expect("set"),
        );
    });
    assert!(matches!(
        verifier().verify(&forged, now()),
        Err(ProofError::TimeStampImprint)
    ));
    verifier().verify(&proof_a, now()).expect("a verifies");
}

#[test]
fn a_missing_token_is_refused_when_required() {
    let der = unstamped("p256", now()).to_der().expect("der");
    assert!(matches!(
        verifier().verify(&der, now()),
        Err(ProofError::TimeStampMissing)
    ));
    let at = now();
    let v = verifier()
        .require_time_stamp(false)
        .verify(&der, at)
        .expect("unstamped allowed");
    assert!(v.time_stamp.is_none());
    assert_eq!(v.validated_at, at);
    // A stamped proof with the token attribute stripped is the same refusal.
    let stripped = with_signer_info(&stamped("p256", "tsa-p256", now()), |si| {
        si.unsigned_attrs = None
    });
    assert!(matches!(
        verifier().verify(&stripped, now()),
        Err(ProofError::TimeStampMissing)
    ));
}

#[test]
fn a_refused_or_malformed_tsa_reply_is_not_put_in() {
    let u = unstamped("p256", now());
    let refusal = rejection_der(&Rejection {
        fail_info: FailureInfo::TimeNotAvailable,
        reason: "clock".into(),
    });
    assert!(matches!(
        u.with_time_stamp(&refusal),
        Err(ProofError::TimeStamp(VerifyError::NotGranted {
            status: PkiStatus::Rejection,
            ..
        }))
    ));
    assert!(matches!(
        u.with_time_stamp(b"\x30\x03\x02\x01\x00"),
        Err(ProofError::Malformed { .. })
    ));
}

#[test]
fn a_wrong_content_type_is_refused() {
    let der = stamped("p256", "tsa-p256", now());
    match verifier()
        .content_type(oid::CT_INBOX_EVIDENCE)
        .verify(&der, now())
    {
        Err(ProofError::ContentType { expected, found }) => {
            assert_eq!(expected, oid::CT_INBOX_EVIDENCE);
            assert_eq!(found, oid::CT_REGISTRY_RECEIPT);
        }
        other => panic!("{other:?}"),
    }
    // Without an expected type any type is accepted and reported.
    let v = ProofVerifier::new(roots())
        .verify(&der, now())
        .expect("any type");
    assert_eq!(v.content_type, oid::CT_REGISTRY_RECEIPT);
    // An eContentType changed after signing no longer matches the signed attribute.
    let mut sd = signed_data(&der);
    sd.encap_content_info.econtent_type = oid::CT_INBOX_EVIDENCE;
    assert!(matches!(
        ProofVerifier::new(roots()).verify(&encode(&sd), now()),
        Err(ProofError::ContentTypeAttribute { expected, found })
            if expected == oid::CT_INBOX_EVIDENCE && found == oid::CT_REGISTRY_RECEIPT
    ));
}

#[test]
fn a_wrong_anchor_is_refused() {
    let der = stamped("p256", "tsa-p256", now());
    let other = certs("pki/other-root.pem");
    assert!(matches!(verifier().verify(&der, now()).map(|_| ()), Ok(())));
    assert!(matches!(
        ProofVerifier::new(other.clone())
            .tsa_anchors(roots())
            .verify(&der, now()),
        Err(ProofError::SignerPath(PathError::NoPath))
    ));
    assert!(matches!(
        verifier().tsa_anchors(other.clone()).verify(&der, now()),
        Err(ProofError::TimeStamp(VerifyError::Path(PathError::NoPath)))
    ));
    // Both under the other root: the token is checked first.
    assert!(matches!(
        ProofVerifier::new(other).verify(&der, now()),
        Err(ProofError::TimeStamp(VerifyError::Path(PathError::NoPath)))
    ));
}

#[test]
fn an_expired_signer_is_accepted_at_gen_time_only_when_stamped() {
    let t = now();
    let int_ca = certs("pki/int-ca.pem").remove(0);
    let leaf_key = SoftwareSigner::generate_p256().expect("key");
    let leaf = CertificateParams::leaf("CN=gica Short-lived Signer,O=gica test,C=IR", t, 1)
        .signed_by(leaf_key.public_key(), &int_ca, &key("pki/int-ca.key"))
        .expect("leaf");
    let signer = ProofSigner::new(Arc::new(leaf_key), leaf, vec![int_ca]).expect("signer");
    let later = t + 2 * DAY;
    // Signing outside the certificate's validity is refused at once.
    assert!(matches!(
        signer.sign(oid::CT_REGISTRY_RECEIPT, &record(), later),
        Err(Error::Certificate(e)) if matches!(*e, CertificateError::NotValid { .. })
    ));
    let u = signer
        .sign(oid::CT_REGISTRY_RECEIPT, &record(), t)
        .expect("sign");
    let reply = stamp(
        &tsa("tsa-p256"),
        DigestAlgorithm::Sha256,
        &u.time_stamp_imprint(DigestAlgorithm::Sha256),
        t,
        true,
    );
    let stamped = u.with_time_stamp(&reply).expect("stamped");
    let v = verifier()
        .verify(&stamped, later)
        .expect("valid at genTime");
    assert!(v.validated_at < later);
    let unstamped = u.to_der().expect("der");
    assert!(matches!(
        verifier()
            .require_time_stamp(false)
            .verify(&unstamped, later),
        Err(ProofError::SignerPath(PathError::Expired { .. }))
    ));
    verifier()
        .require_time_stamp(false)
        .verify(&unstamped, t)
        .expect("valid at signing");
}

#[test]
fn the_signers_certificate_must_fit() {
    // Key of another certificate.
    assert!(matches!(
        ProofSigner::new(
            Arc::new(key("proof/signer-rsa.key")),
            certs("proof/signer-p256.pem").remove(0),
            Vec::new()
        ),
        Err(Error::Certificate(e)) if matches!(*e, CertificateError::KeyMismatch)
    ));
    // A CA certificate: keyUsage keyCertSign, cRLSign only.
    assert!(matches!(
        ProofSigner::new(
            Arc::new(key("pki/int-ca.key")),
            certs("pki/int-ca.pem").remove(0),
            Vec::new()
        ),
        Err(Error::Certificate(e)) if matches!(*e, CertificateError::KeyUsage { .. })
    ));
    // Content that is not one DER element.
    let s = signer("p256");
    for bad in [&[][..], &[0x30, 0x05, 0x02], &[0x02, 0x01, 0x01, 0x00]] {
        assert!(matches!(
            s.sign(oid::CT_REGISTRY_RECEIPT, bad, now()),
            Err(Error::Der(_))
        ));
    }
}

#[test]
fn a_signing_certificate_binding_another_certificate_is_refused() {
    let der = stamped("p256", "tsa-p256", now());
    let other = certs("proof/signer-rsa.pem").remove(0);
    let bad = resigned(&der, &key("proof/signer-p256.key"), |attrs| {
        attrs.retain(|a| a.oid != oid::ATTR_SIGNING_CERTIFICATE_V2);
        attrs.push(
            gica_pki::ess::signing_certificate_v2_attribute(&other, &other.to_der().expect("der"))
                .expect("ESS"),
        );
    });
    // (The token stamps the old signature; without it the ESS check is what fails.)
    let bad = with_signer_info(&bad, |si| si.unsigned_attrs = None);
    assert!(matches!(
        verifier().require_time_stamp(false).verify(&bad, now()),
        Err(ProofError::SigningCertificate(_))
    ));
    // Without the attribute the proof is accepted (it is optional, as in CMS).
    let none = resigned(&der, &key("proof/signer-p256.key"), |attrs| {
        attrs.retain(|a| a.oid != oid::ATTR_SIGNING_CERTIFICATE_V2);
    });
    let none = with_signer_info(&none, |si| si.unsigned_attrs = None);
    verifier()
        .require_time_stamp(false)
        .verify(&none, now())
        .expect("no ESS attribute");
    // Nor a signature over attributes without contentType.
    let no_ct = resigned(&der, &key("proof/signer-p256.key"), |attrs| {
        attrs.retain(|a| a.oid != oid::ATTR_CONTENT_TYPE);
    });
    assert!(matches!(
        verifier().require_time_stamp(false).verify(&no_ct, now()),
        Err(ProofError::Structure("no contentType attribute"))
    ));
}

#[test]
fn structural_refusals_each_have_their_variant() {
    let der = stamped("p256", "tsa-p256", now());
    let v = verifier();
    // Not SignedData.
    let data = ContentInfo {
        content_type: "1.2.840.113549.1.7.1".parse().expect("oid"),
        content: Any::encode_from(&OctetString::new(record()).expect("octets")).expect("any"),
    }
    .to_der()
    .expect("der");
    assert!(matches!(
        v.verify(&data, now()),
        Err(ProofError::NotSignedData { .. })
    ));
    // Too large.
    assert!(matches!(
        v.clone().max_len(der.len() - 1).verify(&der, now()),
        Err(ProofError::TooLarge { len, max }) if len == der.len() && max == der.len() - 1
    ));
    // Detached content.
    let mut sd = signed_data(&der);
    sd.encap_content_info.econtent = None;
    assert!(matches!(
        v.verify(&encode(&sd), now()),
        Err(ProofError::ContentMissing)
    ));
    // Two SignerInfos.
    let mut sd = signed_data(&der);
    let mut second = signer_info(&sd);
    second.signature = OctetString::new(vec![1, 2, 3]).expect("octets");
    sd.signer_infos = SignerInfos::try_from(vec![signer_info(&sd), second]).expect("signer infos");
    assert!(matches!(
        v.verify(&encode(&sd), now()),
        Err(ProofError::SignerCount { found: 2 })
    ));
    // Version 1 although the eContentType is not id-data.
    let mut sd = signed_data(&der);
    sd.version = CmsVersion::V1;
    assert!(matches!(
        v.verify(&encode(&sd), now()),
        Err(ProofError::Structure(_))
    ));
    // No signer certificate.
    let mut sd = signed_data(&der);
    sd.certificates = None;
    assert!(matches!(
        v.verify(&encode(&sd), now()),
        Err(ProofError::SignerCertificateMissing)
    ));
    // ...unless the verifier has it.
    v.clone()
        .untrusted(vec![
            certs("proof/signer-p256.pem").remove(0),
            certs("pki/int-ca.pem").remove(0),
        ])
        .verify(&encode(&sd), now())
        .expect("signer from untrusted");
    // Two tokens.
    let token = read_proof(&der)
        .expect("parts")
        .time_stamp_token
        .expect("token");
    let two = with_signer_info(&der, |si| {
        let a = attribute(
            oid::ATTR_TIME_STAMP_TOKEN,
            Any::from_der(&token).expect("any"),
        );
        let mut b = a.clone();
        b.values = SetOfVec::try_from(vec![
            Any::from_der(&token).expect("any"),
            Any::encode_from(&OctetString::new(vec![0]).expect("octets")).expect("any"),
        ])
        .expect("set");
        si.unsigned_attrs = Some(SetOfVec::try_from(vec![b]).expect("set"));
    });
    assert!(matches!(
        v.verify(&two, now()),
        Err(ProofError::Structure(_))
    ));
    // Not DER: a trailing octet, and the ContentInfo's length in long form.
    let mut trailing = der.clone();
    trailing.push(0);
    assert!(matches!(
        v.verify(&trailing, now()),
        Err(ProofError::Malformed { .. })
    ));
    // Too many certificates.
    let ca_key = SoftwareSigner::generate_p256().expect("key");
    let ca = CertificateParams::ca("CN=many", now(), 1)
        .self_signed(&ca_key)
        .expect("ca");
    let mut many: Vec<CertificateChoices> = (0..proof::MAX_CERTIFICATES)
        .map(|i| {
            CertificateChoices::Certificate(
                CertificateParams::leaf(&format!("CN=leaf {i}"), now(), 1)
                    .signed_by(ca_key.public_key(), &ca, &ca_key)
                    .expect("leaf"),
            )
        })
        .collect();
    let mut sd = signed_data(&der);
    many.extend(sd.certificates.take().expect("certs").0.into_vec());
    sd.certificates = Some(CertificateSet::try_from(many).expect("set"));
    assert!(matches!(
        v.verify(&encode(&sd), now()),
        Err(ProofError::TooMany {
            what: "certificates",
            ..
        })
    ));
}

#[test]
fn a_signing_time_attribute_is_reported_as_signed() {
    let at = UNIX_EPOCH
        + Duration::from_secs(
            now()
                .duration_since(UNIX_EPOCH)
                .expect("after 1970")
                .as_secs(),
        );
    let der = unstamped("rsa", at).to_der().expect("der");
    let sd = signed_data(&der);
    let st = signer_info(&sd)
        .signed_attrs
        .expect("attrs")
        .iter()
        .find(|a| a.oid == oid::ATTR_SIGNING_TIME)
        .and_then(|a| a.values.iter().next().cloned())
        .expect("signingTime");
    // RFC 5652 11.3: UTCTime before 2050.
    assert!(matches!(st.decode_as::<Time>(), Ok(Time::UtcTime(_))));
    assert_eq!(read_proof(&der).expect("parts").signing_time, Some(at));
}

#[test]
fn any_flipped_byte_is_refused() {
    // The proof carries only the signer certificate and the token none (certReq false), so
    // every byte is signed, checked, or needed for a path; the verifier gets the rest.
    let t = now();
    let s = ProofSigner::new(
        Arc::new(key("proof/signer-p256.key")),
        certs("proof/signer-p256.pem").remove(0),
        Vec::new(),
    )
    .expect("signer");
    let u = s
        .sign(oid::CT_REGISTRY_RECEIPT, &record(), t)
        .expect("sign");
    let reply = stamp(
        &tsa("tsa-p256"),
        DigestAlgorithm::Sha256,
        &u.time_stamp_imprint(DigestAlgorithm::Sha256),
        t,
        false,
    );
    let der = u.with_time_stamp(&reply).expect("stamped");
    let mut untrusted = certs("pki/tsa-p256.pem");
    untrusted.extend(certs("pki/int-ca.pem"));
    let v = verifier().untrusted(untrusted);
    v.verify(&der, t).expect("intact proof verifies");
    // Every third byte: each check costs two signatures and two paths.
    for i in (0..der.len()).step_by(3) {
        let mut bad = der.clone();
        bad[i] ^= 0x01;
        assert!(
            v.verify(&bad, t).is_err(),
            "byte {i} of {} flipped and still verified",
            der.len()
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic_the_verifier(bytes in proptest::collection::vec(any::<u8>(), 0..3000)) {
        let _ = verifier().verify(&bytes, now());
        let _ = read_proof(&bytes);
    }

    #[test]
    fn mutated_proofs_never_panic_and_never_change_what_is_proven(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), 1u8..=255), 1..4),
    ) {
        static GOOD: std::sync::OnceLock<(Vec<u8>, gica_pki::proof::VerifiedProof)> =
            std::sync::OnceLock::new();
        let (der, good) = GOOD.get_or_init(|| {
            let der = fixture("proof/proof-p256.der");
            let v = verifier().verify(&der, now()).expect("the vector verifies");
            (der, v)
        });
        let mut bad = der.clone();
        for (i, x) in &edits {
            bad[i.index(der.len())] ^= x;
        }
        let _ = read_proof(&bad);
        // Certificates are not signed: a damaged copy of one that is carried twice (int-ca
        // is in the proof and in the token) may leave the proof valid. What it proves may
        // not change.
        if let Ok(v) = verifier().verify(&bad, now()) {
            prop_assert!(v.content == good.content, "content changed");
            prop_assert!(v.signer == good.signer, "signer changed");
            prop_assert!(v.gen_time() == good.gen_time(), "genTime changed");
            prop_assert!(v.content_type == good.content_type, "type changed");
        }
    }
}
