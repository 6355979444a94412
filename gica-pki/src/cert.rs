//! Certificate helpers: PEM loading, extension checks and path validation at a given time.

use std::{
    cell::RefCell,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use der::{Decode, Encode, asn1::ObjectIdentifier};
use rustls_pki_types::CertificateDer;
use x509_cert::{
    Certificate,
    ext::pkix::{
        AuthorityKeyIdentifier, ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectKeyIdentifier,
    },
};

use crate::{
    AlgorithmPolicy, CrlReason, Error, Result,
    algorithm::{SignatureError, webpki_algs},
    oid,
    signer::pem_blocks,
};

/// Reads every `CERTIFICATE` block of a PEM text, in order.
///
/// ```
/// let pem = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/pki/chain.pem")).unwrap();
/// assert_eq!(gica_pki::cert::load_pem_certs(&pem).unwrap().len(), 2);
/// ```
pub fn load_pem_certs(pem: &str) -> Result<Vec<Certificate>> {
    let mut out = Vec::new();
    for block in pem_blocks(pem) {
        let (label, der) = block?;
        if label == "CERTIFICATE" {
            out.push(Certificate::from_der(&der)?);
        }
    }
    Ok(out)
}

/// The magnitude of an INTEGER's content octets (big-endian, leading zero octets dropped),
/// as CRL entries, stores and OCSP lookups key serials.
///
/// ```
/// assert_eq!(gica_pki::cert::magnitude(&[0x00, 0x80, 0x01]), [0x80, 0x01]);
/// assert_eq!(gica_pki::cert::magnitude(&[0x00]), [] as [u8; 0]);
/// ```
pub fn magnitude(int_content: &[u8]) -> &[u8] {
    let zeros = int_content.iter().take_while(|b| **b == 0).count();
    &int_content[zeros..]
}

/// The certificate's serialNumber as its [`magnitude`].
pub fn serial_magnitude(cert: &Certificate) -> &[u8] {
    magnitude(cert.tbs_certificate().serial_number().as_bytes())
}

/// The key identifier of RFC 5280 4.2.1.2 method (1): SHA-1 of the subjectPublicKey bits (also
/// OCSP's byKey ResponderID, RFC 6960 4.2.1).
pub fn key_identifier(spki: &spki::SubjectPublicKeyInfoOwned) -> Vec<u8> {
    crate::DigestAlgorithm::Sha1.digest(spki.subject_public_key.raw_bytes())
}

/// notBefore and notAfter of `cert`.
pub fn validity(cert: &Certificate) -> (SystemTime, SystemTime) {
    let v = cert.tbs_certificate().validity();
    (v.not_before.to_system_time(), v.not_after.to_system_time())
}

/// Whether `at` lies within the certificate's validity (both ends inclusive, RFC 5280 4.1.2.5).
pub fn valid_at(cert: &Certificate, at: SystemTime) -> bool {
    let (nb, na) = validity(cert);
    nb <= at && at <= na
}

/// Why a certificate is unfit for the use asked of it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CertificateError {
    /// No extendedKeyUsage extension where one is required.
    #[error("no extendedKeyUsage extension; {expected} is required")]
    NoExtendedKeyUsage {
        /// The purpose required.
        expected: ObjectIdentifier,
    },
    /// extendedKeyUsage is not critical where it must be (RFC 3161 2.3).
    #[error("extendedKeyUsage is not critical; RFC 3161 2.3 requires it to be")]
    ExtendedKeyUsageNotCritical,
    /// extendedKeyUsage does not hold what the use requires.
    #[error("extendedKeyUsage must be {expected}{}, found {}", if *.only { " only" } else { "" }, if .found.is_empty() { "none".to_string() } else { .found.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(", ") })]
    ExtendedKeyUsage {
        /// The purpose required.
        expected: ObjectIdentifier,
        /// Whether it must be the only one.
        only: bool,
        /// The purposes found.
        found: Vec<ObjectIdentifier>,
    },
    /// keyUsage lacks every bit the use allows.
    #[error("keyUsage allows none of {needed}")]
    KeyUsage {
        /// The bits of which one is needed.
        needed: &'static str,
    },
    /// The private key does not match the certificate's public key.
    #[error("the private key does not match the certificate")]
    KeyMismatch,
    /// The certificate is not valid at the time checked.
    #[error("not valid at {} (valid {} to {})", crate::Rfc3339(*.at), crate::Rfc3339(*.not_before), crate::Rfc3339(*.not_after))]
    NotValid {
        /// The time checked.
        at: SystemTime,
        /// notBefore.
        not_before: SystemTime,
        /// notAfter.
        not_after: SystemTime,
    },
    /// The certificate was not issued by the certificate it should have been.
    #[error("not issued by {issuer}")]
    NotIssuedBy {
        /// The expected issuer's subject.
        issuer: String,
    },
    /// The issuer's signature on the certificate does not verify.
    #[error("issuer signature: {0}")]
    Signature(#[source] SignatureError),
    /// An extension could not be decoded.
    #[error("extension: {0}")]
    Extension(#[from] der::Error),
}

/// Checks the RFC 3161 2.3 rule: an extendedKeyUsage extension, marked critical, holding
/// id-kp-timeStamping and nothing else.
pub fn check_time_stamping_eku(cert: &Certificate) -> Result<(), CertificateError> {
    match cert.tbs_certificate().get_extension::<ExtendedKeyUsage>()? {
        None => Err(CertificateError::NoExtendedKeyUsage {
            expected: oid::KP_TIME_STAMPING,
        }),
        Some((false, _)) => Err(CertificateError::ExtendedKeyUsageNotCritical),
        Some((true, eku)) if eku.0 == [oid::KP_TIME_STAMPING] => Ok(()),
        Some((true, eku)) => Err(CertificateError::ExtendedKeyUsage {
            expected: oid::KP_TIME_STAMPING,
            only: true,
            found: eku.0,
        }),
    }
}

/// Checks keyUsage, where present, has at least one of `bits` (RFC 5280 4.2.1.3: absent
/// keyUsage leaves the key unrestricted). `needed` names them for the error.
pub fn check_key_usage(
    cert: &Certificate,
    bits: &[KeyUsages],
    needed: &'static str,
) -> Result<(), CertificateError> {
    match cert.tbs_certificate().get_extension::<KeyUsage>()? {
        Some((_, ku)) if !bits.iter().any(|b| ku.0.contains(*b)) => {
            Err(CertificateError::KeyUsage { needed })
        }
        _ => Ok(()),
    }
}

/// Checks `cert` is valid at `at` (both ends inclusive).
pub fn check_valid_at(cert: &Certificate, at: SystemTime) -> Result<(), CertificateError> {
    let (not_before, not_after) = validity(cert);
    if valid_at(cert, at) {
        Ok(())
    } else {
        Err(CertificateError::NotValid {
            at,
            not_before,
            not_after,
        })
    }
}

/// Verifies that `issuer`'s key signed `cert`, under the default [`AlgorithmPolicy`].
pub fn verify_issued_by(cert: &Certificate, issuer: &Certificate) -> Result<()> {
    verify_issued_by_with(cert, issuer, &AlgorithmPolicy::default()).map_err(Error::from)
}

/// Verifies that `issuer`'s key signed `cert`, under `policy`.
pub fn verify_issued_by_with(
    cert: &Certificate,
    issuer: &Certificate,
    policy: &AlgorithmPolicy,
) -> Result<(), SignatureError> {
    let tbs = cert
        .tbs_certificate()
        .to_der()
        .map_err(|_| SignatureError::Invalid)?;
    let sig = cert.signature().as_bytes().ok_or(SignatureError::Invalid)?;
    policy.verify(
        issuer.tbs_certificate().subject_public_key_info(),
        cert.signature_algorithm(),
        None,
        &tbs,
        sig,
    )
}

/// Why no acceptable certification path was found (RFC 5280 6.1, as rustls-webpki checks it,
/// plus gica's own checks on the path it returns).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PathError {
    /// No chain of signatures leads from the certificate to a trust anchor.
    #[error("no path to a trust anchor")]
    NoPath,
    /// A certificate on the path is not valid yet at the validation time.
    #[error("a certificate on the path is not valid until {} (checked at {})", crate::Rfc3339(*.not_before), crate::Rfc3339(*.at))]
    NotYetValid {
        /// The validation time.
        at: SystemTime,
        /// Its notBefore.
        not_before: SystemTime,
    },
    /// A certificate on the path has expired at the validation time.
    #[error("a certificate on the path expired at {} (checked at {})", crate::Rfc3339(*.not_after), crate::Rfc3339(*.at))]
    Expired {
        /// The validation time.
        at: SystemTime,
        /// Its notAfter.
        not_after: SystemTime,
    },
    /// A name is outside a CA's nameConstraints (RFC 5280 4.2.1.10).
    #[error("a name violates a CA's name constraints")]
    NameConstraints,
    /// An issuer on the path is not a CA (basicConstraints cA missing or false).
    #[error("an issuer on the path is not a CA certificate")]
    NotACa,
    /// The end-entity certificate is a CA certificate.
    #[error("a CA certificate was given as the end entity")]
    CaAsEndEntity,
    /// A pathLenConstraint is exceeded (RFC 5280 4.2.1.9).
    #[error("a CA's pathLenConstraint is exceeded")]
    PathLength,
    /// An issuer's keyUsage lacks keyCertSign (RFC 5280 4.2.1.3).
    #[error("issuer {subject} has a keyUsage without keyCertSign")]
    IssuerKeyUsage {
        /// The issuer's subject.
        subject: String,
    },
    /// A certificate's authorityKeyIdentifier does not name its issuer's subjectKeyIdentifier
    /// (RFC 5280 4.2.1.1).
    #[error("{subject}: authorityKeyIdentifier does not match the issuer's subjectKeyIdentifier")]
    AuthorityKeyId {
        /// The certificate's subject.
        subject: String,
    },
    /// The TBS `signature` field differs from the outer `signatureAlgorithm`
    /// (RFC 5280 4.1.1.2).
    #[error("{subject}: the TBS signature algorithm differs from signatureAlgorithm")]
    AlgorithmMismatch {
        /// The certificate's subject.
        subject: String,
    },
    /// A signature on the path does not verify.
    #[error("a certificate signature on the path does not verify")]
    BadSignature,
    /// A signature algorithm the [`AlgorithmPolicy`] refuses or gica does not implement.
    #[error("{subject}: {source}")]
    Algorithm {
        /// The certificate's subject.
        subject: String,
        /// Why.
        source: SignatureError,
    },
    /// A signature algorithm on the path is not supported.
    #[error("a signature algorithm on the path is not supported or not allowed by the policy")]
    UnsupportedAlgorithm,
    /// A certificate carries a critical extension that is not processed (RFC 5280 4.2):
    /// the first such extension found among the certificates given, where known.
    #[error("a certificate on the path has a critical extension {} that is not understood", .0.map(|o| o.to_string()).unwrap_or_default())]
    UnknownCriticalExtension(Option<ObjectIdentifier>),
    /// A certificate's extendedKeyUsage does not allow the purpose asked for.
    #[error("extendedKeyUsage on the path does not allow {0}")]
    ExtendedKeyUsage(ObjectIdentifier),
    /// A certificate on the path is revoked.
    #[error("{subject} is revoked since {}{}", crate::Rfc3339(*.time), .reason.map(|r| format!(" ({r})")).unwrap_or_default())]
    Revoked {
        /// The certificate's subject.
        subject: String,
        /// revocationDate.
        time: SystemTime,
        /// reasonCode.
        reason: Option<CrlReason>,
    },
    /// Revocation evidence was given but none covers this certificate.
    #[error("no CRL or OCSP response given covers {subject}")]
    RevocationUnknown {
        /// The certificate's subject.
        subject: String,
    },
    /// The search gave up (too many candidate issuers or signature checks).
    #[error("path search gave up: too many candidate issuers")]
    TooComplex,
    /// Something else rustls-webpki refused (malformed certificate, ...).
    #[error("path validation: {0}")]
    Webpki(#[source] webpki::Error),
    /// A certificate could not be encoded.
    #[error("DER: {0}")]
    Der(#[from] der::Error),
}

impl PathError {
    fn from_webpki(e: webpki::Error, at: SystemTime, purpose: Option<ObjectIdentifier>) -> Self {
        use webpki::Error as W;
        let time = |t: rustls_pki_types::UnixTime| UNIX_EPOCH + Duration::from_secs(t.as_secs());
        match e {
            W::UnknownIssuer => Self::NoPath,
            W::CertNotValidYet { not_before, .. } => Self::NotYetValid {
                at,
                not_before: time(not_before),
            },
            W::CertExpired { not_after, .. } => Self::Expired {
                at,
                not_after: time(not_after),
            },
            W::NameConstraintViolation => Self::NameConstraints,
            W::EndEntityUsedAsCa => Self::NotACa,
            W::CaUsedAsEndEntity => Self::CaAsEndEntity,
            W::PathLenConstraintViolated => Self::PathLength,
            W::InvalidSignatureForPublicKey => Self::BadSignature,
            W::UnsupportedCriticalExtension => Self::UnknownCriticalExtension(None),
            W::RequiredEkuNotFoundContext(_) | W::EmptyEkuExtension => {
                Self::ExtendedKeyUsage(purpose.unwrap_or(oid::KP_TIME_STAMPING))
            }
            W::MaximumSignatureChecksExceeded
            | W::MaximumPathBuildCallsExceeded
            | W::MaximumNameConstraintComparisonsExceeded
            | W::MaximumPathDepthExceeded => Self::TooComplex,
            #[allow(deprecated)]
            W::UnsupportedSignatureAlgorithm
            | W::UnsupportedSignatureAlgorithmContext(_)
            | W::UnsupportedSignatureAlgorithmForPublicKey
            | W::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => Self::UnsupportedAlgorithm,
            other => Self::Webpki(other),
        }
    }
}

/// What a path is validated for, besides a chain of valid signatures to an anchor.
///
/// ```
/// use gica_pki::{AlgorithmPolicy, cert::PathOptions};
/// let opts = PathOptions::default().purpose(gica_pki::oid::KP_TIME_STAMPING);
/// let legacy = PathOptions::default().policy(AlgorithmPolicy::default().allow_sha1(true));
/// # let _ = (opts, legacy);
/// ```
#[derive(Clone, Debug, Default)]
pub struct PathOptions {
    policy: AlgorithmPolicy,
    purpose: Option<ObjectIdentifier>,
    crls: Vec<Vec<u8>>,
    ocsp: Vec<Vec<u8>>,
    require_revocation: bool,
    leaf_revocation_only: bool,
}

impl PathOptions {
    /// The algorithm policy for every signature on the path (default: no SHA-1).
    #[must_use]
    pub fn policy(mut self, policy: AlgorithmPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// An extendedKeyUsage purpose that every certificate on the path carrying an
    /// extendedKeyUsage must allow (the leaf's own EKU rules are the caller's: a TSA's
    /// exactly-timeStamping rule, say).
    #[must_use]
    pub fn purpose(mut self, eku: ObjectIdentifier) -> Self {
        self.purpose = Some(eku);
        self
    }

    /// DER CRLs for the certificates of the path. Once any is given, every certificate on
    /// the path below the anchor must be covered by one (as `openssl verify -crl_check_all`).
    #[must_use]
    pub fn crls(mut self, crls: Vec<Vec<u8>>) -> Self {
        self.require_revocation |= !crls.is_empty();
        self.crls = crls;
        self
    }

    /// DER OCSP responses (OCSPResponse) for the certificates of the path, checked with
    /// [`OcspVerifier`](crate::ocsp::OcspVerifier) against each certificate's issuer; like
    /// CRLs, once any is given every certificate below the anchor must be covered by a CRL or
    /// a response (`good` or `revoked`; `unknown` covers nothing).
    #[must_use]
    pub fn ocsp_responses(mut self, responses: Vec<Vec<u8>>) -> Self {
        self.require_revocation |= !responses.is_empty();
        self.ocsp = responses;
        self
    }

    /// Require a revocation status for the end-entity certificate only, not for the CAs
    /// below the anchor (as `openssl verify -crl_check` against `-crl_check_all`). For CAs
    /// whose status is published nowhere the relying party can reach; a revoked CA found in
    /// the evidence given still fails the path.
    #[must_use]
    pub fn leaf_revocation_only(mut self, yes: bool) -> Self {
        self.leaf_revocation_only = yes;
        self
    }

    /// The algorithm policy in force.
    pub fn algorithm_policy(&self) -> &AlgorithmPolicy {
        &self.policy
    }
}

/// Finds and checks a path from `leaf` through `intermediates` to one of `anchors`, every
/// certificate valid at `at` (for a time-stamp: its genTime, or now), with the default
/// [`PathOptions`]. Returns the path, leaf first, anchor last.
///
/// Path building and the RFC 5280 checks are rustls-webpki's (signatures, validity,
/// basicConstraints and pathLenConstraint, name constraints, unknown critical extensions),
/// through signature algorithms implemented on the RustCrypto crates (no C crypto); on top,
/// gica refuses issuers whose keyUsage lacks keyCertSign, an authorityKeyIdentifier that
/// does not name the issuer's subjectKeyIdentifier, and a TBS signature algorithm that
/// differs from the outer one. The anchors are trusted as given (RFC 5280 6.1).
///
/// ```
/// use gica_pki::cert::{load_pem_certs, verify_path, PathError};
/// let read = |f: &str| {
///     let p = format!("{}/../testdata/pki/{f}", env!("CARGO_MANIFEST_DIR"));
///     load_pem_certs(&std::fs::read_to_string(p).unwrap()).unwrap()
/// };
/// let (leaf, chain, roots) = (read("tsa-p256.pem").remove(0), read("int-ca.pem"), read("root-ca.pem"));
/// let at = gica_pki::cert::validity(&leaf).0 + std::time::Duration::from_secs(60);
/// let path = verify_path(&leaf, &chain, &roots, at).unwrap();
/// assert_eq!(path.len(), 3);
/// assert!(matches!(verify_path(&leaf, &[], &roots, at), Err(PathError::NoPath)));
/// ```
pub fn verify_path(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    at: SystemTime,
) -> Result<Vec<Certificate>, PathError> {
    verify_path_with(leaf, intermediates, anchors, at, &PathOptions::default())
}

/// [`verify_path`] with explicit [`PathOptions`]: algorithm policy, purpose and CRLs.
pub fn verify_path_with(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    at: SystemTime,
    options: &PathOptions,
) -> Result<Vec<Certificate>, PathError> {
    if anchors.contains(leaf) {
        return Ok(vec![leaf.clone()]);
    }
    check_own_algorithm(leaf, &options.policy)?;
    let leaf_der = CertificateDer::from(leaf.to_der()?);
    let webpki_err = |e| match PathError::from_webpki(e, at, options.purpose) {
        PathError::UnknownCriticalExtension(None) => PathError::UnknownCriticalExtension(
            std::iter::once(leaf)
                .chain(intermediates)
                .find_map(unknown_critical_extension),
        ),
        e => e,
    };
    let ee = webpki::EndEntityCert::try_from(&leaf_der).map_err(webpki_err)?;
    let inter_der = intermediates
        .iter()
        .map(|c| c.to_der().map(CertificateDer::from))
        .collect::<Result<Vec<_>, _>>()?;
    let anchor_der = anchors
        .iter()
        .map(|c| c.to_der().map(CertificateDer::from))
        .collect::<Result<Vec<_>, _>>()?;
    // Anchors webpki cannot read (v1 certificates, say) are left out rather than failing all.
    let trusted: Vec<(usize, rustls_pki_types::TrustAnchor<'_>)> = anchor_der
        .iter()
        .enumerate()
        .filter_map(|(i, d)| webpki::anchor_from_trusted_cert(d).ok().map(|a| (i, a)))
        .collect();
    let ta: Vec<rustls_pki_types::TrustAnchor<'_>> =
        trusted.iter().map(|(_, a)| a.clone()).collect();
    let algs = webpki_algs::for_policy(&options.policy);
    let alg_refs: Vec<&dyn rustls_pki_types::SignatureVerificationAlgorithm> = algs
        .iter()
        .map(|a| a as &dyn rustls_pki_types::SignatureVerificationAlgorithm)
        .collect();
    let purpose_arcs: Option<Vec<usize>> = options
        .purpose
        .map(|o| o.arcs().map(|a| a as usize).collect());
    let usage = Purpose(purpose_arcs.as_deref());
    let unix = rustls_pki_types::UnixTime::since_unix_epoch(
        at.duration_since(UNIX_EPOCH).unwrap_or_default(),
    );
    // The first of gica's own refusals, kept so that it is reported rather than webpki's
    // generic "no path" once every candidate is exhausted.
    let own: RefCell<Option<PathError>> = RefCell::new(None);
    let found: RefCell<Vec<Certificate>> = RefCell::new(Vec::new());
    let check = |p: &webpki::VerifiedPath<'_>| -> Result<(), webpki::Error> {
        let mut path = vec![leaf.clone()];
        for c in p.intermediate_certificates() {
            let der = c.der();
            match inter_der.iter().position(|d| d.as_ref() == der.as_ref()) {
                Some(i) => path.push(intermediates[i].clone()),
                None => return Err(webpki::Error::UnknownIssuer),
            }
        }
        let anchor = p.anchor();
        let Some(&(ai, _)) = trusted.iter().find(|(_, a)| {
            a.subject == anchor.subject
                && a.subject_public_key_info == anchor.subject_public_key_info
        }) else {
            return Err(webpki::Error::UnknownIssuer);
        };
        path.push(anchors[ai].clone());
        match check_path(&path, at, options) {
            Ok(()) => {
                *found.borrow_mut() = path;
                Ok(())
            }
            Err(e) => {
                own.borrow_mut().get_or_insert(e);
                Err(webpki::Error::UnknownIssuer)
            }
        }
    };
    match ee.verify_for_usage(&alg_refs, &ta, &inter_der, unix, usage, None, Some(&check)) {
        Ok(_) => Ok(found.into_inner()),
        Err(e) => Err(own.into_inner().unwrap_or_else(|| webpki_err(e))),
    }
}

/// Extensions rustls-webpki processes; any other critical one makes it refuse the
/// certificate (RFC 5280 4.2).
const PROCESSED_EXTENSIONS: [ObjectIdentifier; 6] = [
    const_oid::db::rfc5280::ID_CE_KEY_USAGE,
    const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME,
    const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS,
    const_oid::db::rfc5280::ID_CE_NAME_CONSTRAINTS,
    const_oid::db::rfc5280::ID_CE_CRL_DISTRIBUTION_POINTS,
    const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE,
];

/// The first critical extension of `cert` that path validation does not process.
fn unknown_critical_extension(cert: &Certificate) -> Option<ObjectIdentifier> {
    cert.tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .find(|e| e.critical && !PROCESSED_EXTENSIONS.contains(&e.extn_id))
        .map(|e| e.extn_id)
}

/// `cert`'s own signature algorithm, against the policy, with the certificate's name in
/// the error (webpki's is anonymous).
fn check_own_algorithm(cert: &Certificate, policy: &AlgorithmPolicy) -> Result<(), PathError> {
    let subject = || cert.tbs_certificate().subject().to_string();
    if cert.tbs_certificate().signature() != cert.signature_algorithm() {
        return Err(PathError::AlgorithmMismatch { subject: subject() });
    }
    policy
        .algorithm(cert.signature_algorithm(), None)
        .map(|_| ())
        .map_err(|source| PathError::Algorithm {
            subject: subject(),
            source,
        })
}

/// gica's checks on a path webpki built (leaf first, anchor last).
fn check_path(
    path: &[Certificate],
    at: SystemTime,
    options: &PathOptions,
) -> Result<(), PathError> {
    for (i, pair) in path.windows(2).enumerate() {
        let [child, issuer] = pair else { continue };
        // The leaf's was checked before path building.
        if i > 0 {
            check_own_algorithm(child, &options.policy)?;
        }
        let itbs = issuer.tbs_certificate();
        if matches!(itbs.get_extension::<KeyUsage>(), Ok(Some((_, ku))) if !ku.0.contains(KeyUsages::KeyCertSign))
            // The anchor is trusted as given; its keyUsage is input, not checked.
            && !std::ptr::eq(issuer, &path[path.len() - 1])
        {
            return Err(PathError::IssuerKeyUsage {
                subject: itbs.subject().to_string(),
            });
        }
        let aki = child
            .tbs_certificate()
            .get_extension::<AuthorityKeyIdentifier>()
            .ok()
            .flatten()
            .and_then(|(_, a)| a.key_identifier);
        let ski = itbs.get_extension::<SubjectKeyIdentifier>().ok().flatten();
        if let (Some(aki), Some((_, ski))) = (aki, ski)
            && aki != ski.0
        {
            return Err(PathError::AuthorityKeyId {
                subject: child.tbs_certificate().subject().to_string(),
            });
        }
    }
    if options.require_revocation {
        check_revocation(path, at, options)?;
    }
    Ok(())
}

/// Every certificate below the anchor must be covered by a CRL given, signed by its issuer,
/// and not revoked at `at`. A CRL issued after `at` (an archive check at genTime) is
/// evidence too; a revocation dated after `at` counts only when its reason says the key
/// cannot be trusted from an unknown earlier time (keyCompromise, cACompromise,
/// unspecified or none).
fn check_revocation(
    path: &[Certificate],
    at: SystemTime,
    options: &PathOptions,
) -> Result<(), PathError> {
    for (i, pair) in path.windows(2).enumerate() {
        let [child, issuer] = pair else { continue };
        let subject = || child.tbs_certificate().subject().to_string();
        let required = i == 0 || !options.leaf_revocation_only;
        let mut covered = false;
        let refuse =
            |time: SystemTime, reason: Option<CrlReason>, invalidity: Option<SystemTime>| {
                if revoked_at(at, time, reason, invalidity) {
                    Err(PathError::Revoked {
                        subject: subject(),
                        time,
                        reason,
                    })
                } else {
                    Ok(())
                }
            };
        for der in &options.ocsp {
            let verifier = crate::ocsp::OcspVerifier::new(issuer.clone())
                .policy(options.policy.clone())
                .allow_missing_next_update();
            let Ok(answer) = verifier.verify_certificate(der, child, ocsp_check_time(der, at))
            else {
                continue;
            };
            match answer.status {
                crate::ocsp::VerifiedStatus::Good => covered = true,
                crate::ocsp::VerifiedStatus::Revoked { time, reason } => {
                    covered = true;
                    refuse(time, reason, None)?;
                }
                crate::ocsp::VerifiedStatus::Unknown => {}
            }
        }
        for der in &options.crls {
            let check_at = crl_check_time(der, at);
            let Ok(crl) = crate::crl::verify_crl_with(der, issuer, check_at, &options.policy)
            else {
                continue;
            };
            if !crl.covers(child) {
                continue;
            }
            covered = true;
            if let Ok(Some(entry)) = crl.status_of(child) {
                refuse(entry.revocation_time, entry.reason, entry.invalidity_date)?;
            }
        }
        if !covered && required {
            return Err(PathError::RevocationUnknown { subject: subject() });
        }
    }
    Ok(())
}

/// Whether a revocation at `time` makes a certificate unusable at `at`: revoked by then, or
/// compromised at a time that may be earlier (keyCompromise, cACompromise, unspecified or
/// no reason, without an invalidityDate after `at`, RFC 5280 5.3.2).
fn revoked_at(
    at: SystemTime,
    time: SystemTime,
    reason: Option<CrlReason>,
    invalidity: Option<SystemTime>,
) -> bool {
    let compromise = matches!(
        reason,
        None | Some(CrlReason::Unspecified | CrlReason::KeyCompromise | CrlReason::CaCompromise)
    );
    let from = match invalidity {
        Some(d) if compromise => d.min(time),
        _ => time,
    };
    from <= at || (compromise && invalidity.is_none())
}

/// The time an OCSP response is checked at: `at`, or its producedAt when it was produced
/// after `at` (as for CRLs).
fn ocsp_check_time(der: &[u8], at: SystemTime) -> SystemTime {
    crate::ocsp::OcspResponse::from_der(der)
        .ok()
        .and_then(|r| r.basic())
        .and_then(Result::ok)
        .map_or(at, |b| {
            at.max(b.tbs_response_data.produced_at.to_system_time())
        })
}

/// The time a CRL is checked at: `at`, or its own thisUpdate when it was issued after `at`
/// (evidence gathered later about an earlier time).
fn crl_check_time(der: &[u8], at: SystemTime) -> SystemTime {
    crate::crl::parse_crl(der).map_or(at, |c| at.max(c.this_update))
}

/// An EKU validator: the purpose, where a certificate on the path states its purposes.
struct Purpose<'a>(Option<&'a [usize]>);

impl webpki::ExtendedKeyUsageValidator for Purpose<'_> {
    fn validate(&self, iter: webpki::KeyPurposeIdIter<'_, '_>) -> Result<(), webpki::Error> {
        let Some(want) = self.0 else { return Ok(()) };
        let mut empty = true;
        for id in iter {
            empty = false;
            if id?.to_decoded_oid() == want {
                return Ok(());
            }
        }
        if empty {
            Ok(())
        } else {
            Err(webpki::Error::EmptyEkuExtension)
        }
    }
}

/// `cert` as a PEM `CERTIFICATE` block.
pub fn to_pem(cert: &Certificate) -> Result<String> {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &cert.to_der()?)
        .map_err(|e| Error::Pem(e.into()))
}
