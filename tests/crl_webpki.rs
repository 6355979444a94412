//! gica's CRLs read by an independent relying party: rustls-webpki.
//!
//! Each CRL here is made by `gica_pki::crl::build_crl` and then handed to webpki, which
//! parses it (`BorrowedCertRevocationList` / `OwnedCertRevocationList`) and applies it during
//! path building (`EndEntityCert::verify_for_usage` with `RevocationOptions`). The fixture PKI
//! is `testdata/pki/`: root-ca (trust anchor) -> int-ca (P-256) -> tsa-* leaves.
//!
//! webpki is used without a crypto provider feature (its `ring` and `aws-lc-rs` features
//! would link C code); the one signature algorithm the fixture PKI needs, ECDSA P-256 with
//! SHA-256, is supplied here through `SignatureVerificationAlgorithm` over RustCrypto's p256.

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use gica_pki::{
    CrlReason, SignerOptions, SoftwareSigner,
    certgen::{CertificateParams, DemoCa},
    crl::{CrlNumber, CrlParams, IssuingDistributionPoint, RevokedEntry, build_crl},
    der::{
        Encode,
        asn1::{Ia5String, OctetString},
        oid::AssociatedOid,
    },
    x509_cert::{
        Certificate,
        ext::{
            Extension,
            pkix::{
                CrlDistributionPoints,
                crl::dp::DistributionPoint,
                name::{DistributionPointName, GeneralName},
            },
        },
    },
};
use p256::ecdsa::signature::Verifier as _;
use rustls_pki_types::{
    AlgorithmIdentifier, CertificateDer, InvalidSignature, SignatureVerificationAlgorithm,
    TrustAnchor, UnixTime, alg_id,
};
use webpki::{
    BorrowedCertRevocationList, CertRevocationList, EndEntityCert, Error, ExpirationPolicy,
    KeyUsage, OwnedCertRevocationList, RevocationCheckDepth, RevocationOptionsBuilder,
    RevocationReason, UnknownStatusPolicy,
};

/// id-kp-timeStamping (1.3.6.1.5.5.7.3.8), OID value octets: the fixture leaves' only EKU.
const TIME_STAMPING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x08];

const DAY: Duration = Duration::from_secs(86_400);

/// ecdsa-with-SHA256 over a P-256 key, verified with RustCrypto (no C, no OpenSSL).
#[derive(Debug)]
struct EcdsaP256Sha256;

impl SignatureVerificationAlgorithm for EcdsaP256Sha256 {
    fn verify_signature(
        &self,
        public_key: &[u8],
        message: &[u8],
        signature: &[u8],
    ) -> Result<(), InvalidSignature> {
        let key =
            p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key).map_err(|_| InvalidSignature)?;
        let sig = p256::ecdsa::Signature::from_der(signature).map_err(|_| InvalidSignature)?;
        key.verify(message, &sig).map_err(|_| InvalidSignature)
    }

    fn public_key_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_P256
    }

    fn signature_alg_id(&self) -> AlgorithmIdentifier {
        alg_id::ECDSA_SHA256
    }
}

static ALGS: &[&dyn SignatureVerificationAlgorithm] = &[&EcdsaP256Sha256];

fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/pki")
        .join(rel)
}

fn cert(name: &str) -> Certificate {
    let pem = std::fs::read_to_string(fixture(name)).expect("read fixture certificate");
    gica_pki::cert::load_pem_certs(&pem)
        .expect("fixture certificate PEM")
        .remove(0)
}

fn key(name: &str) -> SoftwareSigner {
    let pem = std::fs::read_to_string(fixture(name)).expect("read fixture key");
    SoftwareSigner::from_pem(&pem, SignerOptions::default()).expect("fixture key")
}

fn der(c: &Certificate) -> CertificateDer<'static> {
    CertificateDer::from(c.to_der().expect("encode certificate"))
}

/// The certificate's serialNumber INTEGER content octets, as webpki compares them.
fn serial_content(c: &Certificate) -> Vec<u8> {
    c.tbs_certificate().serial_number().as_bytes().to_vec()
}

/// The serial's magnitude (no leading zero octets), as `RevokedEntry` takes it.
fn magnitude(c: &Certificate) -> Vec<u8> {
    gica_pki::cert::serial_magnitude(c).to_vec()
}

fn secs(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH).expect("after 1970").as_secs()
}

fn unix(t: SystemTime) -> UnixTime {
    UnixTime::since_unix_epoch(t.duration_since(UNIX_EPOCH).expect("after 1970"))
}

fn at_utc(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// Sorts magnitudes numerically (shorter first, then bytewise), as `build_crl` requires.
fn sort_serials(serials: &mut [Vec<u8>]) {
    serials.sort_by(|a, b| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
}

/// The content octets of a DER TLV (webpki hands out Names and IDPs without their header).
fn tlv_content(tlv: &[u8]) -> &[u8] {
    let first = usize::from(tlv[1]);
    if first < 0x80 {
        &tlv[2..]
    } else {
        &tlv[2 + (first & 0x7f)..]
    }
}

fn parse(crl: &[u8]) -> CertRevocationList<'_> {
    BorrowedCertRevocationList::from_der(crl)
        .expect("webpki parses gica's CRL")
        .into()
}

/// How revocation is checked; the defaults are webpki's own.
#[derive(Clone, Copy, Debug)]
struct Policy {
    depth: RevocationCheckDepth,
    status: UnknownStatusPolicy,
    expiration: ExpirationPolicy,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            depth: RevocationCheckDepth::Chain,
            status: UnknownStatusPolicy::Deny,
            expiration: ExpirationPolicy::Ignore,
        }
    }
}

/// The fixture PKI and a verification time inside every fixture certificate's validity.
struct Pki {
    root: Certificate,
    root_key: SoftwareSigner,
    int: Certificate,
    int_key: SoftwareSigner,
    int_der: CertificateDer<'static>,
    anchor: TrustAnchor<'static>,
    /// One day after the latest notBefore of the certificates used (whole seconds).
    at: SystemTime,
}

impl Pki {
    fn load() -> Self {
        let root = cert("root-ca.pem");
        let int = cert("int-ca.pem");
        let used = [
            &root,
            &int,
            &cert("tsa-p256.pem"),
            &cert("tsa-p384.pem"),
            &cert("tsa-rsa.pem"),
        ];
        let not_before = used
            .iter()
            .map(|c| gica_pki::cert::validity(c).0)
            .max()
            .expect("certificates");
        let not_after = used
            .iter()
            .map(|c| gica_pki::cert::validity(c).1)
            .min()
            .expect("certificates");
        let at = not_before + DAY;
        assert!(
            at + 60 * DAY < not_after,
            "fixture certificates too short-lived for this test"
        );
        let root_der = der(&root);
        let anchor = webpki::anchor_from_trusted_cert(&root_der)
            .expect("webpki takes root-ca.pem as a trust anchor")
            .to_owned();
        Self {
            int_der: der(&int),
            root,
            root_key: key("root-ca.key"),
            int,
            int_key: key("int-ca.key"),
            anchor,
            at,
        }
    }

    /// Path validation of `leaf` for timeStamping at `time`, applying `crls` (none: no
    /// revocation checking).
    fn verify_at(
        &self,
        leaf: &Certificate,
        crls: &[&CertRevocationList<'_>],
        policy: Policy,
        time: SystemTime,
    ) -> Result<(), Error> {
        let leaf_der = der(leaf);
        let ee = EndEntityCert::try_from(&leaf_der).expect("webpki parses the leaf");
        let revocation = if crls.is_empty() {
            None
        } else {
            Some(
                RevocationOptionsBuilder::new(crls)
                    .expect("at least one CRL")
                    .with_depth(policy.depth)
                    .with_status_policy(policy.status)
                    .with_expiration_policy(policy.expiration)
                    .build(),
            )
        };
        ee.verify_for_usage(
            ALGS,
            std::slice::from_ref(&self.anchor),
            std::slice::from_ref(&self.int_der),
            unix(time),
            KeyUsage::required_if_present(TIME_STAMPING),
            revocation,
            None,
        )
        .map(|_| ())
    }

    fn verify(
        &self,
        leaf: &Certificate,
        crls: &[&CertRevocationList<'_>],
        policy: Policy,
    ) -> Result<(), Error> {
        self.verify_at(leaf, crls, policy, self.at)
    }

    /// A week-long CRL around `at`.
    fn params(&self, number: u64) -> CrlParams {
        CrlParams::new(
            self.at - Duration::from_secs(3600),
            self.at + 7 * DAY,
            number,
        )
    }

    /// The root's CRL, listing nothing (covers the intermediate under `Chain` depth).
    fn empty_root_crl(&self) -> Vec<u8> {
        build_crl(&self.root, &self.root_key, &self.params(1), [])
            .expect("build the root's empty CRL")
    }

    /// A leaf issued by int-ca for timeStamping, valid around `at`, with a
    /// cRLDistributionPoints naming `dp_uri`.
    fn leaf_with_dp(&self, cn: &str, dp_uri: &str) -> Certificate {
        let dps = CrlDistributionPoints(vec![DistributionPoint {
            distribution_point: Some(DistributionPointName::FullName(vec![
                GeneralName::UniformResourceIdentifier(Ia5String::new(dp_uri).expect("ASCII URI")),
            ])),
            reasons: None,
            crl_issuer: None,
        }]);
        let mut params = CertificateParams::tsa(
            &format!("CN={cn},O=gica test,C=IR"),
            std::time::SystemTime::now(),
            30,
        );
        params.not_before = self.at - DAY;
        params.not_after = self.at + 30 * DAY;
        params.extra_extensions.push(Extension {
            extn_id: CrlDistributionPoints::OID,
            critical: false,
            extn_value: OctetString::new(dps.to_der().expect("encode cRLDistributionPoints"))
                .expect("extension value"),
        });
        let leaf_key = SoftwareSigner::generate_p256().expect("leaf key");
        params
            .signed_by(
                gica_pki::Signer::public_key(&leaf_key),
                &self.int,
                &self.int_key,
            )
            .expect("issue a leaf under int-ca")
    }
}

/// Point 1: the intermediate's CRL lists tsa-p256 (keyCompromise) and an unrelated serial;
/// webpki rejects tsa-p256 with `CertRevoked` and accepts tsa-p384 and tsa-rsa, also issued
/// by int-ca.
#[test]
fn intermediate_crl_revokes_listed_leaf_and_accepts_others() {
    let pki = Pki::load();
    let revoked = cert("tsa-p256.pem");
    let good = [cert("tsa-p384.pem"), cert("tsa-rsa.pem")];
    let revoked_at = pki.at - 2 * DAY;
    let compromised_at = pki.at - 5 * DAY;
    let revoked_serial = magnitude(&revoked);
    let unrelated: &[u8] = &[0x0a, 0x0b, 0x0c];
    assert!(unrelated.len() < revoked_serial.len(), "sorted numerically");
    let int_crl = build_crl(
        &pki.int,
        &pki.int_key,
        &pki.params(7),
        [
            RevokedEntry::new(unrelated, revoked_at).reason(CrlReason::Superseded),
            RevokedEntry::new(&revoked_serial, revoked_at)
                .reason(CrlReason::KeyCompromise)
                .invalidity_date(compromised_at),
        ],
    )
    .expect("build the intermediate's CRL");
    let root_crl = pki.empty_root_crl();
    let int_crl_w = parse(&int_crl);
    let root_crl_w = parse(&root_crl);

    // Without revocation checking every leaf chains: the failures below come from the CRL.
    for leaf in std::iter::once(&revoked).chain(&good) {
        assert_eq!(pki.verify(leaf, &[], Policy::default()), Ok(()));
    }

    // Full chain (webpki's default depth): the root's CRL covers int-ca, int-ca's the leaf.
    let both = [&root_crl_w, &int_crl_w];
    assert_eq!(
        pki.verify(&revoked, &both, Policy::default()),
        Err(Error::CertRevoked)
    );
    for leaf in &good {
        assert_eq!(pki.verify(leaf, &both, Policy::default()), Ok(()));
    }

    // Leaf only: int-ca's CRL alone decides.
    let leaf_only = Policy {
        depth: RevocationCheckDepth::EndEntity,
        ..Policy::default()
    };
    assert_eq!(
        pki.verify(&revoked, &[&int_crl_w], leaf_only),
        Err(Error::CertRevoked)
    );
    assert_eq!(pki.verify(&good[0], &[&int_crl_w], leaf_only), Ok(()));

    // Under Chain depth the intermediate's status is unknown without the root's CRL, so the
    // root's (empty) CRL above was really consulted and accepted.
    assert_eq!(
        pki.verify(&good[0], &[&int_crl_w], Policy::default()),
        Err(Error::UnknownRevocationStatus)
    );

    // The owned representation behaves the same.
    let owned: CertRevocationList<'_> = OwnedCertRevocationList::from_der(&int_crl)
        .expect("webpki parses gica's CRL (owned)")
        .into();
    assert_eq!(
        pki.verify(&revoked, &[&root_crl_w, &owned], Policy::default()),
        Err(Error::CertRevoked)
    );
    assert_eq!(
        pki.verify(&good[1], &[&root_crl_w, &owned], Policy::default()),
        Ok(())
    );

    // What webpki reads from the entries.
    let issuer_name = pki
        .int
        .tbs_certificate()
        .subject()
        .to_der()
        .expect("encode int-ca subject");
    assert_eq!(int_crl_w.issuer(), tlv_content(&issuer_name));
    assert_eq!(int_crl_w.issuing_distribution_point(), None);
    for crl in [&int_crl_w, &owned] {
        let entry = crl
            .find_serial(&serial_content(&revoked))
            .expect("well-formed entries")
            .expect("tsa-p256 is listed");
        assert_eq!(entry.serial_number, serial_content(&revoked).as_slice());
        assert_eq!(entry.reason_code, Some(RevocationReason::KeyCompromise));
        assert_eq!(entry.revocation_date.as_secs(), secs(revoked_at));
        assert_eq!(
            entry.invalidity_date.map(|t| t.as_secs()),
            Some(secs(compromised_at))
        );
        let other = crl
            .find_serial(unrelated)
            .expect("well-formed entries")
            .expect("the unrelated serial is listed");
        assert_eq!(other.reason_code, Some(RevocationReason::Superseded));
        assert_eq!(other.invalidity_date, None);
        for leaf in &good {
            assert!(
                crl.find_serial(&serial_content(leaf))
                    .expect("well-formed entries")
                    .is_none()
            );
        }
    }
}

/// The root's CRL revoking int-ca makes every leaf under it fail, unless only the leaf's
/// status is checked.
#[test]
fn root_crl_revoking_the_intermediate_fails_the_chain() {
    let pki = Pki::load();
    let leaf = cert("tsa-p384.pem");
    let int_serial = magnitude(&pki.int);
    let root_crl = build_crl(
        &pki.root,
        &pki.root_key,
        &pki.params(2),
        [RevokedEntry::new(&int_serial, pki.at - DAY).reason(CrlReason::CaCompromise)],
    )
    .expect("build the root's CRL");
    let int_crl = build_crl(&pki.int, &pki.int_key, &pki.params(3), [])
        .expect("build the intermediate's empty CRL");
    let (root_w, int_w) = (parse(&root_crl), parse(&int_crl));
    assert_eq!(
        pki.verify(&leaf, &[&root_w, &int_w], Policy::default()),
        Err(Error::CertRevoked)
    );
    let leaf_only = Policy {
        depth: RevocationCheckDepth::EndEntity,
        ..Policy::default()
    };
    assert_eq!(pki.verify(&leaf, &[&root_w, &int_w], leaf_only), Ok(()));
    let entry = root_w
        .find_serial(&serial_content(&pki.int))
        .expect("well-formed entries")
        .expect("int-ca is listed");
    assert_eq!(entry.reason_code, Some(RevocationReason::CaCompromise));
}

/// Point 2: webpki checks the CRL signature with the issuer's key. A CRL that names int-ca
/// as its issuer but is signed by another key, or whose TBS was altered after signing, fails
/// path validation with `InvalidCrlSignatureForPublicKey`, for listed and unlisted leaves.
#[test]
fn crl_not_signed_by_the_issuer_key_is_rejected() {
    let pki = Pki::load();
    let revoked = cert("tsa-p256.pem");
    let good = cert("tsa-p384.pem");
    let root_crl = pki.empty_root_crl();
    let root_w = parse(&root_crl);
    let revoked_serial = magnitude(&revoked);
    let entries = || [RevokedEntry::new(&revoked_serial, pki.at - DAY)];

    // The genuine CRL, for contrast.
    let genuine = build_crl(&pki.int, &pki.int_key, &pki.params(10), entries())
        .expect("build the genuine CRL");
    assert_eq!(
        pki.verify(&good, &[&root_w, &parse(&genuine)], Policy::default()),
        Ok(())
    );

    // Forgers: root-ca's key and an unrelated DemoCa's key, each holding a certificate whose
    // subject is int-ca's name byte for byte, so build_crl writes int-ca's name as issuer.
    let demo = DemoCa::new(
        "gica forger",
        "gica Forger CA",
        std::time::SystemTime::now(),
    )
    .expect("demo CA");
    let int_subject = pki
        .int
        .tbs_certificate()
        .subject()
        .to_der()
        .expect("encode int-ca subject");
    for (who, forger_key) in [("root-ca key", &pki.root_key), ("DemoCa key", &demo.ca_key)] {
        let impostor = CertificateParams::ca(
            "CN=gica Test Intermediate CA,O=gica test,C=IR",
            std::time::SystemTime::now(),
            30,
        )
        .self_signed(forger_key)
        .expect("impostor certificate");
        assert_eq!(
            impostor
                .tbs_certificate()
                .subject()
                .to_der()
                .expect("encode impostor subject"),
            int_subject,
            "the impostor must carry int-ca's exact name"
        );
        let forged = build_crl(&impostor, forger_key, &pki.params(11), entries())
            .expect("build the forged CRL");
        let forged_w = parse(&forged);
        assert_eq!(forged_w.issuer(), tlv_content(&int_subject), "{who}");
        for leaf in [&revoked, &good] {
            assert_eq!(
                pki.verify(leaf, &[&root_w, &forged_w], Policy::default()),
                Err(Error::InvalidCrlSignatureForPublicKey),
                "{who}"
            );
        }
    }

    // The genuine CRL with one TBS octet changed (the listed serial's last octet): still
    // well-formed DER, but the signature no longer covers it.
    let mut tampered = genuine.clone();
    let mut pattern = vec![
        0x02,
        u8::try_from(revoked_serial.len()).expect("short serial"),
    ];
    pattern.extend_from_slice(&revoked_serial);
    let hits: Vec<usize> = tampered
        .windows(pattern.len())
        .enumerate()
        .filter(|(_, w)| *w == pattern.as_slice())
        .map(|(i, _)| i)
        .collect();
    assert_eq!(hits.len(), 1, "the entry's serial appears once");
    tampered[hits[0] + pattern.len() - 1] ^= 0x01;
    let tampered_w = parse(&tampered);
    for leaf in [&revoked, &good] {
        assert_eq!(
            pki.verify(leaf, &[&root_w, &tampered_w], Policy::default()),
            Err(Error::InvalidCrlSignatureForPublicKey)
        );
    }

    // A correctly signed CRL from another issuer (other-root, under its own name) is not
    // taken for int-ca's: the leaf's status is then unknown, not revoked.
    let other = cert("other-root.pem");
    let other_crl = build_crl(&other, &key("other-root.key"), &pki.params(12), entries())
        .expect("build other-root's CRL");
    assert_eq!(
        pki.verify(&revoked, &[&root_w, &parse(&other_crl)], Policy::default()),
        Err(Error::UnknownRevocationStatus)
    );
}

/// Point 3: issuingDistributionPoint. webpki takes a CRL with an IDP as authoritative for a
/// certificate when the scope flags include the certificate's role and, if the certificate
/// has cRLDistributionPoints, one of their URIs is in the IDP's fullName.
#[test]
fn issuing_distribution_point_scopes_the_crl() {
    let pki = Pki::load();
    const U1: &str = "http://crl.gica.test/int.crl";
    const U2: &str = "http://crl.gica.test/other.crl";
    let revoked_dp = pki.leaf_with_dp("gica IDP revoked", U1);
    let good_dp = pki.leaf_with_dp("gica IDP good", U1);
    let elsewhere = pki.leaf_with_dp("gica IDP elsewhere", U2);
    let fixture_revoked = cert("tsa-p256.pem");
    let fixture_good = cert("tsa-p384.pem");
    let mut serials = vec![
        magnitude(&revoked_dp),
        magnitude(&elsewhere),
        magnitude(&fixture_revoked),
    ];
    sort_serials(&mut serials);
    let build = |idp: IssuingDistributionPoint, number: u64| {
        let mut params = pki.params(number);
        params.idp = Some(idp);
        build_crl(
            &pki.int,
            &pki.int_key,
            &params,
            serials
                .iter()
                .map(|s| RevokedEntry::new(s, pki.at - DAY).reason(CrlReason::KeyCompromise)),
        )
        .expect("build a CRL with an issuingDistributionPoint")
    };
    let root_crl = pki.empty_root_crl();
    let root_w = parse(&root_crl);

    // IDP fullName U1, onlyContainsUserCerts.
    let user_crl = build(IssuingDistributionPoint::uri(U1).only_user_certs(), 20);
    let user_w = parse(&user_crl);
    let idp = user_w
        .issuing_distribution_point()
        .expect("webpki keeps the IDP");
    assert!(
        idp.windows(U1.len()).any(|w| w == U1.as_bytes()),
        "IDP names {U1}"
    );
    let crls = [&root_w, &user_w];
    let p = Policy::default();
    // Certificate DP matches the IDP: the CRL applies.
    assert_eq!(pki.verify(&revoked_dp, &crls, p), Err(Error::CertRevoked));
    assert_eq!(pki.verify(&good_dp, &crls, p), Ok(()));
    // No cRLDistributionPoints in the certificate: the IDP's scope (user certs) decides.
    assert_eq!(
        pki.verify(&fixture_revoked, &crls, p),
        Err(Error::CertRevoked)
    );
    assert_eq!(pki.verify(&fixture_good, &crls, p), Ok(()));
    // Certificate DP is elsewhere: this CRL is not its CRL, though it lists its serial.
    assert_eq!(
        pki.verify(&elsewhere, &crls, p),
        Err(Error::UnknownRevocationStatus)
    );
    let allow = Policy {
        status: UnknownStatusPolicy::Allow,
        ..p
    };
    assert_eq!(pki.verify(&elsewhere, &crls, allow), Ok(()));

    // Two URIs in the IDP, scope unrestricted: a certificate naming either is covered.
    let both_crl = build(
        IssuingDistributionPoint {
            full_name: vec![U2.to_string(), U1.to_string()],
            ..IssuingDistributionPoint::default()
        },
        21,
    );
    let both_w = parse(&both_crl);
    for leaf in [&revoked_dp, &elsewhere, &fixture_revoked] {
        assert_eq!(
            pki.verify(leaf, &[&root_w, &both_w], p),
            Err(Error::CertRevoked)
        );
    }
    assert_eq!(pki.verify(&good_dp, &[&root_w, &both_w], p), Ok(()));

    // onlyContainsCACerts: not a CRL for leaves.
    let ca_crl = build(IssuingDistributionPoint::uri(U1).only_ca_certs(), 22);
    let ca_w = parse(&ca_crl);
    for leaf in [&revoked_dp, &fixture_good] {
        assert_eq!(
            pki.verify(leaf, &[&root_w, &ca_w], p),
            Err(Error::UnknownRevocationStatus)
        );
    }
    // ... but a root CRL scoped to CA certificates does cover int-ca.
    let mut root_params = pki.params(23);
    root_params.idp =
        Some(IssuingDistributionPoint::uri("http://crl.gica.test/root.crl").only_ca_certs());
    let root_ca_only =
        build_crl(&pki.root, &pki.root_key, &root_params, []).expect("build a root CA-only CRL");
    let no_idp = build_crl(&pki.int, &pki.int_key, &pki.params(24), [])
        .expect("build the intermediate's empty CRL");
    assert_eq!(
        pki.verify(&fixture_good, &[&parse(&root_ca_only), &parse(&no_idp)], p),
        Ok(())
    );

    // An IDP with only the scope flag and no distributionPoint is valid RFC 5280 (5.2.5 only
    // forbids an empty SEQUENCE) and gica writes it, but webpki 0.103 refuses any IDP without
    // a fullName. Pinned here so a change on either side is noticed.
    let flags_only = build(
        IssuingDistributionPoint {
            only_contains_user_certs: true,
            ..IssuingDistributionPoint::default()
        },
        25,
    );
    assert_eq!(
        BorrowedCertRevocationList::from_der(&flags_only).map(|_| ()),
        Err(Error::UnsupportedCrlIssuingDistributionPoint)
    );
}

/// What webpki reads from each entry: every CRLReason gica writes, revocation dates on both
/// sides of the UTCTime/GeneralizedTime switch (2050), invalidity dates, serials that need a
/// leading zero octet or had superfluous ones, and the largest CRL number.
#[test]
fn entries_read_back_through_find_serial() {
    let pki = Pki::load();
    let switch = 2_524_608_000; // 2050-01-01T00:00:00Z
    let high_bit: &[u8] = &[0x80, 0x01];
    let padded: &[u8] = &[0x00, 0x00, 0x7f];
    let longest = [0xffu8; 20];
    let reason_serials: Vec<[u8; 1]> = (1u8..=9).map(|i| [i]).collect();
    let mut entries = vec![RevokedEntry::new(padded, at_utc(switch - 86_400))];
    // Every reason a full CRL may carry: gica refuses removeFromCRL (delta CRLs only).
    let reasons = CrlReason::ALL
        .into_iter()
        .filter(|r| *r != CrlReason::RemoveFromCrl);
    for (i, (reason, serial)) in reasons.zip(&reason_serials).enumerate() {
        // Revocation times from 2049-12-27 to 2050-01-04, one second off midnight.
        let when = at_utc(switch - 5 * 86_400 + 86_400 * i as u64 + 1);
        let mut e = RevokedEntry::new(serial, when).reason(reason);
        if i % 2 == 0 {
            e = e.invalidity_date(when - DAY);
        }
        entries.push(e);
    }
    entries.push(RevokedEntry::new(high_bit, at_utc(switch - 1)));
    entries.push(RevokedEntry::new(&longest, at_utc(switch)));
    // entries: [0x7f] then 1..=10 would not be sorted; order them numerically.
    entries.sort_by(|a, b| {
        let (a, b) = (strip(a.serial), strip(b.serial));
        a.len().cmp(&b.len()).then_with(|| a.cmp(b))
    });
    let mut params = CrlParams::new(
        at_utc(switch + 10 * 86_400),
        at_utc(switch + 40 * 86_400),
        0,
    );
    params.crl_number = CrlNumber::from_be_bytes(&[0x7f; 20]).expect("20-octet CRL number");
    let crl =
        build_crl(&pki.int, &pki.int_key, &params, entries.iter().copied()).expect("build the CRL");

    // Both time forms are really in the CRL: the last second in UTCTime (RFC 5280 5.1.2.6),
    // the first in GeneralizedTime.
    let has = |needle: &[u8]| crl.windows(needle.len()).any(|w| w == needle);
    assert!(
        has(b"\x17\x0d491231235959Z"),
        "UTCTime 2049-12-31T23:59:59Z"
    );
    assert!(
        has(b"\x18\x0f20500101000000Z"),
        "GeneralizedTime 2050-01-01T00:00:00Z"
    );
    let borrowed = BorrowedCertRevocationList::from_der(&crl).expect("webpki parses the CRL");
    let listed: Vec<_> = (&borrowed)
        .into_iter()
        .collect::<Result<_, _>>()
        .expect("webpki reads every entry");
    assert_eq!(listed.len(), entries.len());
    for (ours, theirs) in entries.iter().zip(&listed) {
        // webpki hands out the INTEGER content octets: minimal, with a 0x00 before a set top bit.
        let m = strip(ours.serial);
        let mut content = if m[0] & 0x80 != 0 { vec![0] } else { vec![] };
        content.extend_from_slice(m);
        assert_eq!(theirs.serial_number, content.as_slice());
        assert_eq!(theirs.revocation_date.as_secs(), secs(ours.revocation_time));
        // Unspecified is left out, as RFC 5280 5.3.1 asks.
        let reason = ours.reason.filter(|r| *r != CrlReason::Unspecified);
        assert_eq!(
            theirs.reason_code.map(|r| r as u8),
            reason.map(|r| r as u8),
            "reason for serial {m:02x?}"
        );
        assert_eq!(
            theirs.invalidity_date.map(|t| t.as_secs()),
            ours.invalidity_date.map(secs)
        );
    }
    let crl_w: CertRevocationList<'_> = borrowed.into();
    let found = crl_w
        .find_serial(&[0x00, 0x80, 0x01])
        .expect("well-formed entries")
        .expect("the high-bit serial is found by its DER content");
    assert_eq!(found.revocation_date.as_secs(), switch - 1);
    assert!(
        crl_w
            .find_serial(&[0x7f])
            .expect("well-formed entries")
            .is_some(),
        "leading zero octets are not written"
    );
    let mut longest_content = vec![0u8];
    longest_content.extend_from_slice(&longest);
    assert!(
        crl_w
            .find_serial(&longest_content)
            .expect("well-formed entries")
            .is_some(),
        "a 20-octet magnitude with its top bit set is listed as a 21-octet INTEGER"
    );
}

fn strip(b: &[u8]) -> &[u8] {
    &b[b.iter().take_while(|x| **x == 0).count()..]
}

/// nextUpdate: webpki ignores it unless asked (`ExpirationPolicy::Ignore` is its default);
/// with `Enforce`, a verification time at or after nextUpdate gives `CrlExpired` carrying
/// the nextUpdate gica wrote.
#[test]
fn stale_crl_follows_the_expiration_policy() {
    let pki = Pki::load();
    let revoked = cert("tsa-p256.pem");
    let good = cert("tsa-p384.pem");
    let revoked_serial = magnitude(&revoked);
    // nextUpdate = `at` (one day into every certificate's validity); checked three days on.
    let next_update = pki.at;
    let later = pki.at + 3 * DAY;
    let stale = build_crl(
        &pki.int,
        &pki.int_key,
        &CrlParams::new(pki.at - Duration::from_secs(12 * 3600), next_update, 30),
        [
            RevokedEntry::new(&revoked_serial, pki.at - Duration::from_secs(20 * 3600))
                .reason(CrlReason::Superseded),
        ],
    )
    .expect("build a stale CRL");
    let root_crl = pki.empty_root_crl();
    let crls = [&parse(&root_crl), &parse(&stale)];

    // Default: nextUpdate is not looked at; the stale CRL still revokes.
    assert_eq!(
        pki.verify_at(&revoked, &crls, Policy::default(), later),
        Err(Error::CertRevoked)
    );
    assert_eq!(
        pki.verify_at(&good, &crls, Policy::default(), later),
        Ok(())
    );

    let enforce = Policy {
        expiration: ExpirationPolicy::Enforce,
        ..Policy::default()
    };
    let expired = Err(Error::CrlExpired {
        time: unix(later),
        next_update: unix(next_update),
    });
    // Expiry is checked before the lookup, so it is reported for listed and unlisted leaves.
    assert_eq!(pki.verify_at(&good, &crls, enforce, later), expired);
    assert_eq!(pki.verify_at(&revoked, &crls, enforce, later), expired);

    // The boundary, to the second: valid one second before nextUpdate, expired at it.
    let before = next_update - Duration::from_secs(1);
    assert!(
        gica_pki::cert::valid_at(&good, before) && gica_pki::cert::valid_at(&good, next_update)
    );
    assert_eq!(pki.verify_at(&good, &crls, enforce, before), Ok(()));
    assert_eq!(
        pki.verify_at(&revoked, &crls, enforce, before),
        Err(Error::CertRevoked)
    );
    assert_eq!(
        pki.verify_at(&good, &crls, enforce, next_update),
        Err(Error::CrlExpired {
            time: unix(next_update),
            next_update: unix(next_update),
        })
    );
}
