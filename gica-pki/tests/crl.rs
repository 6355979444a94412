//! CRLs (RFC 5280 5): built by gica, checked by `verify_crl` and by the openssl CLI, against
//! fresh certgen chains and the committed fixture PKI (testdata/pki).

use std::{
    path::PathBuf,
    process::{Command, Output},
    sync::OnceLock,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use der::{Decode, EncodePem, pem::LineEnding};
use gica_pki::{
    CrlReason, Signer, SignerOptions, SoftwareSigner, cert,
    certgen::CertificateParams,
    crl::{
        CrlEntry, CrlError, CrlNumber, CrlParams, IssuingDistributionPoint, RevokedEntry,
        build_crl, parse_crl, verify_crl,
    },
    x509_cert::{Certificate, crl::CertificateList, ext::pkix::SubjectKeyIdentifier},
};
use proptest::prelude::*;

const DAY: Duration = Duration::from_secs(86_400);

fn fixture(name: &str) -> String {
    let p = format!("{}/../testdata/pki/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn fixture_path(name: &str) -> String {
    format!("{}/../testdata/pki/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// The fixture intermediate CA and its key.
fn fixture_ca() -> (Certificate, SoftwareSigner) {
    let cert = cert::load_pem_certs(&fixture("int-ca.pem"))
        .expect("int-ca.pem")
        .remove(0);
    let key = SoftwareSigner::from_pem(&fixture("int-ca.key"), SignerOptions::default())
        .expect("int-ca.key");
    (cert, key)
}

struct Chain {
    root: Certificate,
    int: Certificate,
    int_key: SoftwareSigner,
}

/// A fresh P-256 root and intermediate (made once per test binary).
fn chain() -> &'static Chain {
    static CHAIN: OnceLock<Chain> = OnceLock::new();
    CHAIN.get_or_init(|| {
        let root_key = SoftwareSigner::generate_p256().expect("root key");
        let root = CertificateParams::ca(
            "CN=CRL Test Root,O=gica test",
            std::time::SystemTime::now(),
            3650,
        )
        .self_signed(&root_key)
        .expect("root");
        let int_key = SoftwareSigner::generate_p256().expect("int key");
        let int = CertificateParams::ca(
            "CN=CRL Test Intermediate,O=gica test",
            std::time::SystemTime::now(),
            1825,
        )
        .signed_by(int_key.public_key(), &root, &root_key)
        .expect("intermediate");
        Chain { root, int, int_key }
    })
}

fn ski(cert: &Certificate) -> Vec<u8> {
    let (_, ski) = cert
        .tbs_certificate()
        .get_extension::<SubjectKeyIdentifier>()
        .expect("extensions parse")
        .expect("SKI present");
    ski.0.as_bytes().to_vec()
}

/// Whole seconds, as a CRL keeps them.
fn secs(t: SystemTime) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(t.duration_since(UNIX_EPOCH).expect("after 1970").as_secs())
}

fn at(unix: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(unix)
}

/// A fresh directory under Cargo's per-target temp dir, removed when dropped.
struct TmpDir(PathBuf);

impl TmpDir {
    fn new(name: &str) -> Self {
        let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("crl-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("mkdir");
        Self(d)
    }

    fn join(&self, file: &str) -> PathBuf {
        self.0.join(file)
    }
}

impl Drop for TmpDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn openssl(args: &[&str]) -> Output {
    Command::new("openssl")
        .args(args)
        .output()
        .expect("the openssl CLI runs")
}

fn text_of(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `openssl crl -text` of a DER CRL.
fn openssl_crl_text(der: &[u8], name: &str) -> String {
    let dir = TmpDir::new(name);
    let path = dir.join("crl.der");
    std::fs::write(&path, der).expect("write CRL");
    let out = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        path.to_str().expect("utf-8 path"),
        "-noout",
        "-text",
    ]);
    assert!(out.status.success(), "openssl crl -text: {}", text_of(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// openssl's `AA:BB:...` spelling of bytes.
fn colon_hex(b: &[u8]) -> String {
    b.iter()
        .map(|x| format!("{x:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

fn now_params(number: u64) -> (SystemTime, CrlParams) {
    let now = SystemTime::now();
    (
        now,
        CrlParams::new(now - Duration::from_secs(60), now + DAY, number),
    )
}

#[test]
fn fresh_intermediate_crl_verifies_and_names_its_own_key() {
    let c = chain();
    let (now, params) = now_params(5);
    let t = secs(now - Duration::from_secs(3600));
    let entries = [
        RevokedEntry::new(&[0x01], t).reason(CrlReason::KeyCompromise),
        RevokedEntry::new(&[0x02], t).invalidity_date(at(1_700_000_000)),
        RevokedEntry::new(&[0x03], t).reason(CrlReason::Unspecified),
    ];
    let der = build_crl(&c.int, &c.int_key, &params, entries).expect("build");
    let crl = verify_crl(&der, &c.int, now).expect("verify");
    assert_eq!(crl.crl_number, CrlNumber::from(5));
    assert_eq!(crl.this_update, secs(params.this_update));
    assert_eq!(crl.next_update, secs(params.next_update));
    assert_eq!(crl.idp, None);
    assert_eq!(
        crl.entries().collect::<Vec<_>>(),
        vec![
            CrlEntry {
                serial: &[1],
                negative: false,
                revocation_time: t,
                reason: Some(CrlReason::KeyCompromise),
                invalidity_date: None,
            },
            CrlEntry {
                serial: &[2],
                negative: false,
                revocation_time: t,
                reason: None,
                invalidity_date: Some(at(1_700_000_000)),
            },
            // Unspecified is written as no reasonCode at all (RFC 5280 5.3.1).
            CrlEntry {
                serial: &[3],
                negative: false,
                revocation_time: t,
                reason: None,
                invalidity_date: None,
            },
        ]
    );

    // The AKI is the intermediate's SKI, not the root's (x509-cert's CrlBuilder gets this wrong).
    let list: CertificateList = CertificateList::from_der(&der).expect("parse");
    let tbs = &list.tbs_cert_list;
    assert_eq!(tbs.issuer, *c.int.tbs_certificate().subject());
    let text = openssl_crl_text(&der, "fresh");
    assert!(text.contains(&colon_hex(&ski(&c.int))), "{text}");
    assert!(!text.contains(&colon_hex(&ski(&c.root))), "{text}");
    assert!(text.contains("Version 2"), "{text}");
    assert_eq!(text.matches("CRL Reason Code").count(), 1, "{text}");

    // The wrong CA in the chain.
    assert!(matches!(
        verify_crl(&der, &c.root, now),
        Err(CrlError::IssuerMismatch)
    ));
}

#[test]
fn fixture_crl_as_openssl_reads_it() {
    let (ca, key) = fixture_ca();
    let (now, mut params) = now_params(1234);
    params.idp =
        Some(IssuingDistributionPoint::uri("http://crl.example/int.crl").only_user_certs());
    let t = at(1_760_000_000);
    let entries = [
        RevokedEntry::new(&[0x10, 0x01], t).reason(CrlReason::KeyCompromise),
        RevokedEntry::new(&[0x10, 0x02], t)
            .reason(CrlReason::Superseded)
            .invalidity_date(at(1_750_000_000)),
        RevokedEntry::new(&[0x10, 0x03], t).reason(CrlReason::CessationOfOperation),
    ];
    let der = build_crl(&ca, &key, &params, entries).expect("build");
    let text = openssl_crl_text(&der, "fixture-text");
    for needle in [
        "Version 2 (0x1)",
        "Signature Algorithm: ecdsa-with-SHA256",
        "Issuer: C = IR, O = gica test, CN = gica Test Intermediate CA",
        "X509v3 CRL Number",
        "1234",
        "X509v3 Issuing Distribution Point: critical",
        "URI:http://crl.example/int.crl",
        "Only User Certificates",
        "Serial Number: 1001",
        "Serial Number: 1002",
        "Serial Number: 1003",
        "Key Compromise",
        "Superseded",
        "Cessation Of Operation",
        "Invalidity Date",
        "Jun 15 15:06:40 2025 GMT",
        "Oct  9 08:53:20 2025 GMT",
    ] {
        assert!(text.contains(needle), "missing {needle:?} in\n{text}");
    }
    let aki_line = text
        .lines()
        .skip_while(|l| !l.contains("Authority Key Identifier"))
        .nth(1)
        .expect("AKI value line");
    assert!(aki_line.contains(&colon_hex(&ski(&ca))), "{text}");

    let crl = verify_crl(&der, &ca, now).expect("verify");
    assert_eq!(
        crl.idp,
        Some(IssuingDistributionPoint::uri("http://crl.example/int.crl").only_user_certs())
    );

    // openssl checks the signature with the intermediate's key.
    let dir = TmpDir::new("fixture-verify");
    let path = dir.join("crl.der");
    std::fs::write(&path, &der).expect("write");
    let out = openssl(&[
        "crl",
        "-inform",
        "DER",
        "-in",
        path.to_str().expect("path"),
        "-CAfile",
        &fixture_path("int-ca.pem"),
        "-noout",
    ]);
    assert!(out.status.success(), "{}", text_of(&out));
    assert!(text_of(&out).contains("verify OK"), "{}", text_of(&out));
}

#[test]
fn openssl_verify_crl_check_rejects_revoked_leaf_only() {
    let (ca, key) = fixture_ca();
    let dir = TmpDir::new("crl-check");
    let mut leaves = Vec::new();
    for name in ["revoked", "good"] {
        let leaf_key = SoftwareSigner::generate_p256().expect("leaf key");
        let leaf = CertificateParams::leaf(
            &format!("CN=gica CRL test {name}"),
            std::time::SystemTime::now(),
            30,
        )
        .signed_by(leaf_key.public_key(), &ca, &key)
        .expect("leaf");
        let path = dir.join(&format!("{name}.pem"));
        std::fs::write(&path, leaf.to_pem(LineEnding::LF).expect("pem")).expect("write");
        leaves.push((leaf, path));
    }
    let revoked_serial = leaves[0]
        .0
        .tbs_certificate()
        .serial_number()
        .as_bytes()
        .to_vec();
    let (now, params) = now_params(2);
    let der = build_crl(
        &ca,
        &key,
        &params,
        [
            RevokedEntry::new(&revoked_serial, now - Duration::from_secs(120))
                .reason(CrlReason::KeyCompromise),
        ],
    )
    .expect("build");
    let crl = verify_crl(&der, &ca, now).expect("verify");
    assert!(crl.revoked(&revoked_serial).is_some());

    let crl_pem = der::pem::encode_string("X509 CRL", LineEnding::LF, &der).expect("pem");
    let crl_path = dir.join("crl.pem");
    std::fs::write(&crl_path, crl_pem).expect("write");
    let check = |leaf: &PathBuf| {
        openssl(&[
            "verify",
            "-crl_check",
            "-CAfile",
            &fixture_path("chain.pem"),
            "-CRLfile",
            crl_path.to_str().expect("path"),
            leaf.to_str().expect("path"),
        ])
    };
    let out = check(&leaves[0].1);
    assert!(
        !out.status.success(),
        "revoked leaf accepted: {}",
        text_of(&out)
    );
    assert!(
        text_of(&out).contains("certificate revoked"),
        "{}",
        text_of(&out)
    );
    let out = check(&leaves[1].1);
    assert!(out.status.success(), "good leaf refused: {}", text_of(&out));
    assert!(text_of(&out).contains(": OK"), "{}", text_of(&out));
}

#[test]
fn empty_crl_omits_revoked_certificates_and_verifies() {
    let (ca, key) = fixture_ca();
    let (now, params) = now_params(1);
    let der = build_crl(&ca, &key, &params, []).expect("build");
    let list: CertificateList = CertificateList::from_der(&der).expect("parse");
    assert_eq!(list.tbs_cert_list.revoked_certificates, None);
    let crl = verify_crl(&der, &ca, now).expect("verify");
    assert!(crl.is_empty());
    assert_eq!(crl.entries().next(), None);
    let text = openssl_crl_text(&der, "empty");
    assert!(text.contains("No Revoked Certificates."), "{text}");
}

#[test]
fn duplicates_and_disorder_are_refused() {
    let (ca, key) = fixture_ca();
    let (now, params) = now_params(1);
    let dup = [
        RevokedEntry::new(&[1], now),
        RevokedEntry::new(&[0, 0, 2], now),
        RevokedEntry::new(&[2], now),
    ];
    assert!(matches!(
        build_crl(&ca, &key, &params, dup),
        Err(CrlError::DuplicateSerial(s)) if s == "02"
    ));
    let unsorted = [RevokedEntry::new(&[3], now), RevokedEntry::new(&[1], now)];
    assert!(matches!(
        build_crl(&ca, &key, &params, unsorted),
        Err(CrlError::NotSorted(..))
    ));
    // Both orders a store might use are accepted.
    let numeric = [
        RevokedEntry::new(&[0x02], now),
        RevokedEntry::new(&[0x01, 0x00], now),
    ];
    let bytewise = [
        RevokedEntry::new(&[0x01, 0x00], now),
        RevokedEntry::new(&[0x02], now),
    ];
    for entries in [numeric, bytewise] {
        let der = build_crl(&ca, &key, &params, entries).expect("sorted input");
        assert_eq!(verify_crl(&der, &ca, now).expect("verify").len(), 2);
    }
    assert!(matches!(
        build_crl(&ca, &key, &params, [RevokedEntry::new(&[0, 0], now)]),
        Err(CrlError::ZeroSerial)
    ));
    assert!(matches!(
        build_crl(&ca, &key, &params, [RevokedEntry::new(&[1; 21], now)]),
        Err(CrlError::SerialTooLong(21))
    ));
}

#[test]
fn builder_validates_before_signing() {
    let (ca, key) = fixture_ca();
    let (_, params) = now_params(1);
    let other = SoftwareSigner::generate_p256().expect("key");
    assert!(matches!(
        build_crl(&ca, &other, &params, []),
        Err(CrlError::KeyMismatch)
    ));
    // A certificate for the same key without cRLSign may not sign CRLs.
    let leaf = CertificateParams::leaf(
        "CN=gica Test Intermediate CA,O=gica test,C=IR",
        std::time::SystemTime::now(),
        30,
    )
    .self_signed(&key)
    .expect("leaf");
    assert!(matches!(
        build_crl(&leaf, &key, &params, []),
        Err(CrlError::IssuerNotCrlSigner)
    ));
    // Nor does verify_crl take one as the issuer of a CRL its CA signed.
    let der = build_crl(&ca, &key, &params, []).expect("build");
    assert!(matches!(
        verify_crl(&der, &leaf, SystemTime::now()),
        Err(CrlError::IssuerNotCrlSigner)
    ));
    let backwards = CrlParams::new(params.next_update, params.this_update, 1);
    assert!(matches!(
        build_crl(&ca, &key, &backwards, []),
        Err(CrlError::NextUpdateNotAfterThisUpdate)
    ));
    let mut both = params.clone();
    both.idp = Some(
        IssuingDistributionPoint::default()
            .only_user_certs()
            .only_ca_certs(),
    );
    assert!(matches!(
        build_crl(&ca, &key, &both, []),
        Err(CrlError::InvalidIdp(_))
    ));
    let mut empty = params.clone();
    empty.idp = Some(IssuingDistributionPoint::default());
    assert!(matches!(
        build_crl(&ca, &key, &empty, []),
        Err(CrlError::InvalidIdp(_))
    ));
    // removeFromCRL belongs to delta CRLs (RFC 5280 5.3.1): relying parties would read it on
    // a full CRL as one more revocation.
    let remove = [RevokedEntry::new(&[7], params.this_update).reason(CrlReason::RemoveFromCrl)];
    assert!(matches!(
        build_crl(&ca, &key, &params, remove),
        Err(CrlError::RemoveFromCrlOnFullCrl)
    ));
}

#[test]
fn serials_with_the_top_bit_set_and_of_20_octets() {
    let (ca, key) = fixture_ca();
    let (now, params) = now_params(1);
    let twenty_low = [0x7fu8; 20];
    let twenty_high = [0xffu8; 20];
    let entries = [
        RevokedEntry::new(&[0x80], now),
        RevokedEntry::new(&[0x80, 0x01], now),
        RevokedEntry::new(&twenty_low, now),
        RevokedEntry::new(&twenty_high, now),
    ];
    let der = build_crl(&ca, &key, &params, entries).expect("build");
    // 0x80 becomes INTEGER 00 80, 0x8001 becomes 00 80 01.
    assert!(der.windows(4).any(|w| w == [0x02, 0x02, 0x00, 0x80]));
    assert!(der.windows(5).any(|w| w == [0x02, 0x03, 0x00, 0x80, 0x01]));
    let mut high = vec![0x02, 21, 0x00];
    high.extend_from_slice(&twenty_high);
    assert!(der.windows(high.len()).any(|w| w == high.as_slice()));

    let crl = verify_crl(&der, &ca, now).expect("verify");
    let serials: Vec<&[u8]> = crl.entries().map(|e| e.serial).collect();
    assert_eq!(
        serials,
        [&[0x80][..], &[0x80, 0x01], &twenty_low, &twenty_high]
    );
    let text = openssl_crl_text(&der, "serials");
    assert!(text.contains("Serial Number: 80\n"), "{text}");
    assert!(text.contains("Serial Number: 8001\n"), "{text}");
    assert!(
        text.contains(&format!("Serial Number: {}\n", "7F".repeat(20))),
        "{text}"
    );
    assert!(
        text.contains(&format!("Serial Number: {}\n", "FF".repeat(20))),
        "{text}"
    );
}

#[test]
fn crl_numbers_up_to_20_octets() {
    let (ca, key) = fixture_ca();
    let (now, mut params) = now_params(0);
    let der = build_crl(&ca, &key, &params, []).expect("zero");
    assert_eq!(
        verify_crl(&der, &ca, now)
            .expect("verify")
            .crl_number
            .to_u64(),
        Some(0)
    );

    let big = [0x7fu8; 20];
    params.crl_number = CrlNumber::from_be_bytes(&big).expect("20 octets");
    let der = build_crl(&ca, &key, &params, []).expect("big");
    let crl = verify_crl(&der, &ca, now).expect("verify");
    assert_eq!(crl.crl_number.as_bytes(), big);
    assert_eq!(crl.crl_number.to_u64(), None);
    let text = openssl_crl_text(&der, "crl-number");
    assert!(
        text.contains(&colon_hex(&big)) || text.contains(&"7F".repeat(20)),
        "{text}"
    );
    assert!(matches!(
        CrlNumber::from_be_bytes(&[0x80; 20]),
        Err(CrlError::CrlNumberTooLong)
    ));
}

#[test]
fn times_switch_to_generalized_in_2050() {
    let (ca, key) = fixture_ca();
    let this = at(2_524_607_999); // 2049-12-31T23:59:59Z
    let next = at(2_524_608_000); // 2050-01-01T00:00:00Z
    let params = CrlParams::new(this, next, 1);
    let der = build_crl(
        &ca,
        &key,
        &params,
        [RevokedEntry::new(&[1], next).invalidity_date(at(0))],
    )
    .expect("build");
    let find = |needle: &[u8]| der.windows(needle.len()).any(|w| w == needle);
    assert!(find(b"\x17\x0d491231235959Z"));
    assert!(find(b"\x18\x0f20500101000000Z"));
    assert!(
        find(b"\x18\x0f19700101000000Z"),
        "invalidityDate is GeneralizedTime"
    );
    let crl = verify_crl(&der, &ca, this).expect("verify");
    assert_eq!(crl.next_update, next);
    let entry = crl.entries().next().expect("one entry");
    assert_eq!(entry.revocation_time, next);
    assert_eq!(entry.invalidity_date, Some(at(0)));
    openssl_crl_text(&der, "y2050");
}

#[test]
fn verify_refuses_wrong_issuer_tampering_and_stale_crls() {
    let (ca, key) = fixture_ca();
    let (now, params) = now_params(9);
    let serial = [0x42u8; 16];
    let der = build_crl(&ca, &key, &params, [RevokedEntry::new(&serial, now)]).expect("build");
    verify_crl(&der, &ca, now).expect("verify");

    // Not the issuer: the root, an unrelated root, a CA with the same name but another key.
    let root = cert::load_pem_certs(&fixture("root-ca.pem"))
        .expect("root")
        .remove(0);
    let other = cert::load_pem_certs(&fixture("other-root.pem"))
        .expect("other")
        .remove(0);
    for wrong in [&root, &other] {
        assert!(matches!(
            verify_crl(&der, wrong, now),
            Err(CrlError::IssuerMismatch)
        ));
    }
    let impostor_key = SoftwareSigner::generate_p256().expect("key");
    let impostor = CertificateParams::ca(
        "CN=gica Test Intermediate CA,O=gica test,C=IR",
        std::time::SystemTime::now(),
        30,
    )
    .self_signed(&impostor_key)
    .expect("impostor");
    assert_eq!(
        impostor.tbs_certificate().subject(),
        ca.tbs_certificate().subject()
    );
    assert!(matches!(
        verify_crl(&der, &impostor, now),
        Err(CrlError::BadSignature(_))
    ));

    // One changed octet in a serial: still DER, no longer signed.
    let at_serial = der
        .windows(serial.len())
        .position(|w| w == serial)
        .expect("serial in DER");
    let mut tampered = der.clone();
    tampered[at_serial + 3] ^= 0x01;
    assert!(matches!(
        verify_crl(&tampered, &ca, now),
        Err(CrlError::BadSignature(_))
    ));
    // Any changed octet anywhere is refused one way or another.
    for i in 0..der.len() {
        let mut t = der.clone();
        t[i] ^= 0x20;
        assert!(
            verify_crl(&t, &ca, now).is_err(),
            "octet {i} changed, still accepted"
        );
    }
    // Trailing data.
    let mut longer = der.clone();
    longer.push(0);
    assert!(verify_crl(&longer, &ca, now).is_err());

    // Time window: thisUpdate <= now < nextUpdate.
    assert!(matches!(
        verify_crl(&der, &ca, params.next_update),
        Err(CrlError::Stale)
    ));
    assert!(matches!(
        verify_crl(&der, &ca, params.this_update - Duration::from_secs(1)),
        Err(CrlError::NotYetValid)
    ));
    verify_crl(&der, &ca, secs(params.this_update)).expect("at thisUpdate");
}

#[test]
fn verify_reads_an_openssl_made_crl() {
    // openssl ca -gencrl against a throwaway database, signed by the fixture intermediate.
    let dir = TmpDir::new("openssl-gencrl");
    let index = dir.join("index.txt");
    std::fs::write(
        &index,
        "R\t350101000000Z\t250101000000Z,keyCompromise\t0A0B\tunknown\t/CN=x\n",
    )
    .expect("index");
    std::fs::write(dir.join("crlnumber"), "1F\n").expect("crlnumber");
    let cnf = dir.join("ca.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[ca]\ndefault_ca = c\n[c]\ndatabase = {}\ncrlnumber = {}\ndefault_md = sha256\n\
             default_crl_days = 7\ncrl_extensions = e\n[e]\nauthorityKeyIdentifier = keyid:always\n",
            index.display(),
            dir.join("crlnumber").display()
        ),
    )
    .expect("cnf");
    let out_path = dir.join("crl.der.pem");
    let out = openssl(&[
        "ca",
        "-gencrl",
        "-batch",
        "-config",
        cnf.to_str().expect("path"),
        "-keyfile",
        &fixture_path("int-ca.key"),
        "-cert",
        &fixture_path("int-ca.pem"),
        "-out",
        out_path.to_str().expect("path"),
    ]);
    assert!(out.status.success(), "{}", text_of(&out));
    let pem = std::fs::read_to_string(&out_path).expect("crl");
    let (label, der) = der::pem::decode_vec(pem.as_bytes()).expect("pem");
    assert_eq!(label, "X509 CRL");
    let (ca, _) = fixture_ca();
    let crl = verify_crl(&der, &ca, SystemTime::now()).expect("openssl's CRL verifies");
    assert_eq!(crl.crl_number.to_u64(), Some(0x1f));
    assert_eq!(
        crl.entries().collect::<Vec<_>>(),
        vec![CrlEntry {
            serial: &[0x0a, 0x0b],
            negative: false,
            revocation_time: at(1_735_689_600),
            reason: Some(CrlReason::KeyCompromise),
            invalidity_date: None,
        }]
    );
}

/// What a generated entry should read back as.
#[derive(Clone, Debug)]
struct Generated {
    serial: Vec<u8>,
    time: u64,
    reason: Option<CrlReason>,
    invalidity: Option<u64>,
}

fn generated_entries() -> impl Strategy<Value = Vec<Generated>> {
    let entry = (
        (1u8..=255, proptest::collection::vec(any::<u8>(), 0..20)),
        0u64..4_102_444_800,
        proptest::option::of(proptest::sample::select(
            // Every reason a full CRL may carry (removeFromCRL is refused, tested above).
            CrlReason::ALL
                .into_iter()
                .filter(|r| *r != CrlReason::RemoveFromCrl)
                .collect::<Vec<_>>(),
        )),
        proptest::option::of(0u64..4_102_444_800),
    )
        .prop_map(|((first, rest), time, reason, invalidity)| {
            let mut serial = vec![first];
            serial.extend(rest);
            Generated {
                serial,
                time,
                reason,
                invalidity,
            }
        });
    proptest::collection::vec(entry, 0..40).prop_map(|mut v| {
        v.sort_by(|a, b| a.serial.cmp(&b.serial));
        v.dedup_by(|a, b| a.serial == b.serial);
        v
    })
}

fn valid_crl() -> &'static (Vec<u8>, SystemTime) {
    static CRL: OnceLock<(Vec<u8>, SystemTime)> = OnceLock::new();
    CRL.get_or_init(|| {
        let c = chain();
        let (now, mut params) = now_params(77);
        params.idp = Some(IssuingDistributionPoint::uri("http://x.example/c.crl").only_ca_certs());
        let der = build_crl(
            &c.int,
            &c.int_key,
            &params,
            [
                RevokedEntry::new(&[1, 2, 3], now)
                    .reason(CrlReason::CaCompromise)
                    .invalidity_date(now),
                RevokedEntry::new(&[0x99; 20], now),
            ],
        )
        .expect("build");
        (der, now)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn round_trip(generated in generated_entries()) {
        let c = chain();
        let now = at(1_800_000_000);
        let params = CrlParams::new(now - DAY, now + DAY, 3);
        let entries = generated.iter().map(|g| RevokedEntry {
            serial: &g.serial,
            revocation_time: at(g.time) + Duration::from_millis(999),
            reason: g.reason,
            invalidity_date: g.invalidity.map(at),
        });
        let der = build_crl(&c.int, &c.int_key, &params, entries).expect("build");
        let crl = verify_crl(&der, &c.int, now).expect("verify");
        let expected: Vec<CrlEntry> = generated
            .iter()
            .map(|g| CrlEntry {
                serial: &g.serial,
                negative: false,
                revocation_time: at(g.time),
                reason: g.reason.filter(|r| *r != CrlReason::Unspecified),
                invalidity_date: g.invalidity.map(at),
            })
            .collect();
        prop_assert_eq!(crl.entries().len(), expected.len());
        prop_assert_eq!(crl.entries().collect::<Vec<_>>(), expected);
        prop_assert_eq!(crl.crl_number.to_u64(), Some(3));
    }

    #[test]
    fn verify_never_panics_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = verify_crl(&bytes, &chain().int, SystemTime::now());
    }

    #[test]
    fn verify_never_panics_on_mangled_crls(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
        truncate in any::<bool>(),
    ) {
        let (der, now) = valid_crl();
        let mut bytes = der.clone();
        for (i, b) in edits {
            let i = i.index(bytes.len());
            bytes[i] = b;
        }
        if truncate {
            bytes.truncate(cut.index(bytes.len()));
        }
        // parse_crl skips the signature, so edits reach the extension and entry parsers.
        if let Ok(parsed) = parse_crl(&bytes) {
            prop_assert_eq!(parsed.entries().count(), parsed.len());
            // Whatever still parses after an edit must not verify.
            prop_assert_eq!(parsed.verify(&chain().int, *now).is_ok(), bytes == *der);
        }
        let _ = verify_crl(&bytes, &chain().int, *now);
    }
}

#[test]
fn scope_follows_the_issuing_distribution_point() {
    use gica_pki::{
        der::{
            Encode,
            asn1::{Ia5String, ObjectIdentifier, OctetString},
        },
        x509_cert::ext::{
            Extension,
            pkix::{
                CrlDistributionPoints,
                crl::dp::DistributionPoint,
                name::{DistributionPointName, GeneralName},
            },
        },
    };
    const U1: &str = "http://crl.gica.ir/int-ca-1.crl";
    const U2: &str = "http://crl.gica.ir/int-ca-2.crl";
    let (ca, key) = fixture_ca();
    let crldp = |url: &str| {
        let points = CrlDistributionPoints(vec![DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![
                GeneralName::UniformResourceIdentifier(Ia5String::new(url).expect("ia5")),
            ])),
            reasons: None,
            crl_issuer: None,
        }]);
        Extension {
            extn_id: ObjectIdentifier::new_unwrap("2.5.29.31"),
            critical: false,
            extn_value: OctetString::new(points.to_der().expect("der")).expect("octets"),
        }
    };
    let issue = |params: CertificateParams| {
        let k = SoftwareSigner::generate_p256().expect("key");
        params.signed_by(k.public_key(), &ca, &key).expect("cert")
    };
    let with_dp = |params: CertificateParams, url: &str| CertificateParams {
        extra_extensions: vec![crldp(url)],
        ..params
    };
    let leaf_u1 = issue(with_dp(
        CertificateParams::leaf("CN=u1", std::time::SystemTime::now(), 30),
        U1,
    ));
    let leaf_u2 = issue(with_dp(
        CertificateParams::leaf("CN=u2", std::time::SystemTime::now(), 30),
        U2,
    ));
    let leaf_none = issue(CertificateParams::leaf(
        "CN=none",
        std::time::SystemTime::now(),
        30,
    ));
    let sub_ca_u1 = issue(with_dp(
        CertificateParams::ca("CN=sub", std::time::SystemTime::now(), 30),
        U1,
    ));
    let serial = |c: &Certificate| c.tbs_certificate().serial_number().as_bytes().to_vec();
    let mut listed = [
        serial(&leaf_u1),
        serial(&leaf_u2),
        serial(&leaf_none),
        serial(&sub_ca_u1),
    ]
    .map(|s| gica_pki::cert::magnitude(&s).to_vec());
    listed.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
    let (now, mut params) = now_params(1);
    let make = |params: &CrlParams| {
        build_crl(
            &ca,
            &key,
            params,
            listed.iter().map(|s| RevokedEntry::new(s, now - DAY)),
        )
        .expect("build")
    };

    // Without an IDP the CRL covers everything its issuer issued, and nothing else.
    let full = make(&params);
    let crl = verify_crl(&full, &ca, now).expect("verify");
    for c in [&leaf_u1, &leaf_u2, &leaf_none, &sub_ca_u1] {
        assert!(crl.status_of(c).expect("in scope").is_some());
    }
    assert!(matches!(crl.status_of(&ca), Err(CrlError::OutOfScope)));

    // IDP U1, user certificates only.
    params.idp = Some(IssuingDistributionPoint::uri(U1).only_user_certs());
    let partitioned = make(&params);
    let crl = verify_crl(&partitioned, &ca, now).expect("verify");
    assert!(crl.status_of(&leaf_u1).expect("in scope").is_some());
    for c in [&leaf_u2, &leaf_none, &sub_ca_u1] {
        assert!(
            matches!(crl.status_of(c), Err(CrlError::OutOfScope)),
            "{}",
            c.tbs_certificate().subject()
        );
    }

    // CA certificates only: the sub-CA is covered, the leaves are not.
    params.idp = Some(IssuingDistributionPoint::uri(U1).only_ca_certs());
    let cas = make(&params);
    let crl = verify_crl(&cas, &ca, now).expect("verify");
    assert!(crl.covers(&sub_ca_u1));
    assert!(!crl.covers(&leaf_u1));
}
