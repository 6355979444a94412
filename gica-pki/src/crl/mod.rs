//! Certificate revocation lists (RFC 5280 5): a streaming builder, a parser and a verifier.
//!
//! [`build_crl`] writes `TBSCertList` itself rather than through x509-cert's `CrlBuilder`,
//! which copies the issuer certificate's own AKI into the CRL (wrong for an intermediate, whose
//! CRL must name its *own* key) and cannot add an issuingDistributionPoint. It is also built to
//! stream: each entry is encoded straight into the one output buffer with hand-written DER, so
//! a million-entry CRL takes no allocation per entry and about its own size in memory.
//!
//! [`parse_crl`] walks the DER in place (borrowing from it, so a large CRL costs no memory
//! beyond its bytes) and checks its structure, extensions and entries; [`ParsedCrl::verify`]
//! then checks the signature over the TBS bytes exactly as received and the rest of what a
//! relying party needs (issuer, thisUpdate/nextUpdate, AKI). [`verify_crl`] does both.
//!
//! ```
//! use std::time::{Duration, SystemTime};
//! use gica_pki::{CrlReason, SoftwareSigner, certgen::CertificateParams};
//! use gica_pki::crl::{CrlParams, RevokedEntry, build_crl, verify_crl};
//!
//! let key = SoftwareSigner::generate_p256().unwrap();
//! let ca = CertificateParams::ca("CN=Example CA", std::time::SystemTime::now(), 365).self_signed(&key).unwrap();
//! let now = SystemTime::now();
//! let params = CrlParams::new(now, now + Duration::from_secs(86_400), 42);
//! let entries = [
//!     RevokedEntry::new(&[0x01, 0x02], now).reason(CrlReason::KeyCompromise),
//!     RevokedEntry::new(&[0x03], now),
//! ];
//! let der = build_crl(&ca, &key, &params, entries).unwrap();
//!
//! let crl = verify_crl(&der, &ca, now).unwrap();
//! assert_eq!(crl.crl_number.to_u64(), Some(42));
//! assert_eq!(crl.len(), 2);
//! let first = crl.entries().next().unwrap();
//! assert_eq!((first.serial, first.reason), (&[0x01, 0x02][..], Some(CrlReason::KeyCompromise)));
//! assert!(crl.revoked(&[0x03]).is_some());
//! ```

mod builder;
mod encode;
mod verify;

use std::time::SystemTime;

use der::asn1::ObjectIdentifier;

pub use builder::build_crl;
pub use verify::{
    CrlEntry, Entries, ParsedCrl, VerifiedCrl, parse_crl, verify_crl, verify_crl_with,
};

use crate::CrlReason;

/// id-ce-authorityKeyIdentifier (RFC 5280 4.2.1.1).
const OID_AKI: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.35");
/// id-ce-cRLNumber (RFC 5280 5.2.3).
const OID_CRL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.20");
/// id-ce-issuingDistributionPoint (RFC 5280 5.2.5).
const OID_IDP: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.28");
/// id-ce-cRLReasons (RFC 5280 5.3.1).
const OID_REASON_CODE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.21");
/// id-ce-invalidityDate (RFC 5280 5.3.2).
const OID_INVALIDITY_DATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.24");

/// Longest serial number magnitude accepted, in octets (RFC 5280 4.1.2.2).
///
/// A 20-octet magnitude with its top bit set encodes as a 21-octet INTEGER; such certificates
/// exist, so their serials can be listed (x509-cert and OpenSSL read them too).
pub const MAX_SERIAL_LEN: usize = 20;

/// One certificate to list in a CRL, borrowed from the caller's store.
///
/// ```
/// use std::time::SystemTime;
/// use gica_pki::{CrlReason, crl::RevokedEntry};
/// let now = SystemTime::now();
/// let e = RevokedEntry::new(&[0x7f, 0x01], now).reason(CrlReason::Superseded).invalidity_date(now);
/// assert_eq!(e.reason, Some(CrlReason::Superseded));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RevokedEntry<'a> {
    /// userCertificate: the serial's big-endian magnitude (leading zero octets are ignored), at
    /// most [`MAX_SERIAL_LEN`] octets after them, not zero.
    pub serial: &'a [u8],
    /// revocationDate (sub-second part dropped).
    pub revocation_time: SystemTime,
    /// reasonCode entry extension. `None` and `Some(Unspecified)` both leave it out, as RFC 5280
    /// 5.3.1 asks.
    pub reason: Option<CrlReason>,
    /// invalidityDate entry extension (RFC 5280 5.3.2), when the key is known to have been
    /// compromised earlier than the revocation.
    pub invalidity_date: Option<SystemTime>,
}

impl<'a> RevokedEntry<'a> {
    /// An entry with no reason and no invalidity date.
    pub fn new(serial: &'a [u8], revocation_time: SystemTime) -> Self {
        Self {
            serial,
            revocation_time,
            reason: None,
            invalidity_date: None,
        }
    }

    /// With a reasonCode.
    #[must_use]
    pub fn reason(self, reason: CrlReason) -> Self {
        Self {
            reason: Some(reason),
            ..self
        }
    }

    /// With an invalidityDate.
    #[must_use]
    pub fn invalidity_date(self, at: SystemTime) -> Self {
        Self {
            invalidity_date: Some(at),
            ..self
        }
    }
}

/// A CRL number (RFC 5280 5.2.3): a non-negative INTEGER of at most 20 octets.
///
/// ```
/// use gica_pki::crl::CrlNumber;
/// let n = CrlNumber::from(258u64);
/// assert_eq!(n.as_bytes(), &[0x01, 0x02]);
/// assert_eq!(n.to_u64(), Some(258));
/// assert_eq!(CrlNumber::from_be_bytes(&[0x00, 0x01, 0x02]).unwrap(), n);
/// assert!(CrlNumber::from_be_bytes(&[0xff; 20]).is_err()); // 21 octets once encoded
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CrlNumber {
    bytes: [u8; 20],
    len: u8,
}

impl CrlNumber {
    /// From a big-endian magnitude (leading zero octets ignored); its INTEGER encoding must fit
    /// in 20 octets, as RFC 5280 5.2.3 requires of issuers.
    pub fn from_be_bytes(magnitude: &[u8]) -> Result<Self, CrlError> {
        Self::with_limit(magnitude, 20)
    }

    /// Accepts what a relying party should: any magnitude of up to 20 octets.
    fn parsed(magnitude: &[u8]) -> Result<Self, CrlError> {
        Self::with_limit(magnitude, 21)
    }

    fn with_limit(magnitude: &[u8], max_encoded: usize) -> Result<Self, CrlError> {
        let m = strip_zeros(magnitude);
        let encoded = m.len() + usize::from(m.first().is_some_and(|b| b & 0x80 != 0));
        if encoded > max_encoded || m.len() > 20 {
            return Err(CrlError::CrlNumberTooLong);
        }
        let mut bytes = [0u8; 20];
        bytes[..m.len()].copy_from_slice(m);
        Ok(Self {
            bytes,
            len: m.len() as u8,
        })
    }

    /// The big-endian magnitude without leading zero octets (empty for zero).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// The number as a `u64`, if it fits.
    pub fn to_u64(&self) -> Option<u64> {
        let b = self.as_bytes();
        if b.len() > 8 {
            return None;
        }
        Some(b.iter().fold(0u64, |acc, &x| (acc << 8) | u64::from(x)))
    }
}

impl From<u64> for CrlNumber {
    fn from(n: u64) -> Self {
        let be = n.to_be_bytes();
        let m = strip_zeros(&be);
        let mut bytes = [0u8; 20];
        bytes[..m.len()].copy_from_slice(m);
        Self {
            bytes,
            len: m.len() as u8,
        }
    }
}

impl std::fmt::Debug for CrlNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_u64() {
            Some(n) => write!(f, "CrlNumber({n})"),
            None => write!(f, "CrlNumber(0x{})", Hex(self.as_bytes())),
        }
    }
}

impl std::fmt::Display for CrlNumber {
    /// Decimal when it fits in a u64, else `0x` and hex.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.to_u64() {
            Some(n) => write!(f, "{n}"),
            None => write!(f, "0x{}", Hex(self.as_bytes())),
        }
    }
}

/// What a CRL says about itself besides its entries.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use gica_pki::crl::{CrlParams, IssuingDistributionPoint};
/// let now = SystemTime::now();
/// let mut params = CrlParams::new(now, now + Duration::from_secs(7 * 86_400), 1);
/// params.idp = Some(IssuingDistributionPoint::uri("http://ca.example/int.crl").only_user_certs());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlParams {
    /// thisUpdate (sub-second part dropped).
    pub this_update: SystemTime,
    /// nextUpdate, always written; must be after `this_update`.
    pub next_update: SystemTime,
    /// cRLNumber; the caller keeps it strictly increasing per issuer.
    pub crl_number: CrlNumber,
    /// issuingDistributionPoint, written critical when present.
    pub idp: Option<IssuingDistributionPoint>,
}

impl CrlParams {
    /// Params without an issuingDistributionPoint.
    pub fn new(
        this_update: SystemTime,
        next_update: SystemTime,
        crl_number: impl Into<CrlNumber>,
    ) -> Self {
        Self {
            this_update,
            next_update,
            crl_number: crl_number.into(),
            idp: None,
        }
    }
}

/// The part of IssuingDistributionPoint (RFC 5280 5.2.5) gica writes and reads.
///
/// ```text
/// IssuingDistributionPoint ::= SEQUENCE {
///      distributionPoint          [0] DistributionPointName OPTIONAL,
///      onlyContainsUserCerts      [1] BOOLEAN DEFAULT FALSE,
///      onlyContainsCACerts        [2] BOOLEAN DEFAULT FALSE,
///      onlySomeReasons            [3] ReasonFlags OPTIONAL,
///      indirectCRL                [4] BOOLEAN DEFAULT FALSE,
///      onlyContainsAttributeCerts [5] BOOLEAN DEFAULT FALSE }
/// ```
///
/// Only `fullName` URIs and the two scope flags are modelled. [`verify_crl`] refuses CRLs whose
/// IDP narrows the scope further (onlySomeReasons, indirectCRL, onlyContainsAttributeCerts),
/// since reading such a CRL as complete would miss revocations.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IssuingDistributionPoint {
    /// `distributionPoint` `fullName`: the URIs this CRL is published at.
    pub full_name: Vec<String>,
    /// onlyContainsUserCerts.
    pub only_contains_user_certs: bool,
    /// onlyContainsCACerts.
    pub only_contains_ca_certs: bool,
}

impl IssuingDistributionPoint {
    /// A distribution point naming one URI.
    pub fn uri(uri: &str) -> Self {
        Self {
            full_name: vec![uri.to_string()],
            ..Self::default()
        }
    }

    /// Sets onlyContainsUserCerts.
    #[must_use]
    pub fn only_user_certs(self) -> Self {
        Self {
            only_contains_user_certs: true,
            ..self
        }
    }

    /// Sets onlyContainsCACerts.
    #[must_use]
    pub fn only_ca_certs(self) -> Self {
        Self {
            only_contains_ca_certs: true,
            ..self
        }
    }
}

/// Why a CRL could not be built or was not accepted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CrlError {
    /// DER encoding or decoding failed (for input CRLs: the bytes are not a CertificateList).
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    /// The signer could not sign.
    #[error("signing the CRL: {0}")]
    Signing(#[source] crate::Error),
    /// The signer's key is not the key of the issuer certificate.
    #[error("the signing key does not match the issuer certificate's public key")]
    KeyMismatch,
    /// A serial number is zero (or empty).
    #[error("serial number zero")]
    ZeroSerial,
    /// A serial number is longer than [`MAX_SERIAL_LEN`] octets.
    #[error("serial number of {0} octets; at most 20 are allowed")]
    SerialTooLong(usize),
    /// The same serial number appears twice.
    #[error("serial {0} listed twice")]
    DuplicateSerial(String),
    /// Entries are not sorted by serial (so duplicates could not be ruled out).
    #[error("entries not sorted by serial: {0} follows {1}")]
    NotSorted(String, String),
    /// The CRL number does not fit in 20 octets.
    #[error("CRL number longer than 20 octets")]
    CrlNumberTooLong,
    /// nextUpdate is not after thisUpdate.
    #[error("nextUpdate must be after thisUpdate")]
    NextUpdateNotAfterThisUpdate,
    /// A time before 1970 or after 9999.
    #[error("time out of the encodable range")]
    TimeOutOfRange,
    /// The issuingDistributionPoint asked for is not valid (empty, or both scope flags set).
    #[error("issuingDistributionPoint: {0}")]
    InvalidIdp(&'static str),
    /// An entry has reason removeFromCRL, which only delta CRLs may carry (RFC 5280 5.3.1).
    #[error("removeFromCRL is only for delta CRLs")]
    RemoveFromCrlOnFullCrl,
    /// The CRL would exceed the 4 GiB DER length gica writes.
    #[error("CRL too large")]
    TooLarge,
    /// The CRL's issuer is not the subject of the issuer certificate.
    #[error("CRL issuer name is not the issuer certificate's subject")]
    IssuerMismatch,
    /// The issuer certificate has keyUsage without cRLSign (RFC 5280 6.3.3 f).
    #[error("issuer certificate's keyUsage lacks cRLSign")]
    IssuerNotCrlSigner,
    /// The CRL signature does not verify with the issuer's key.
    #[error("CRL signature: {0}")]
    BadSignature(#[source] crate::algorithm::SignatureError),
    /// `signature` inside TBSCertList differs from the outer signatureAlgorithm (RFC 5280
    /// 5.1.1.2).
    #[error("TBSCertList signature algorithm differs from signatureAlgorithm")]
    AlgorithmMismatch,
    /// The CRL is not version 2.
    #[error("CRL version is not v2")]
    Version,
    /// thisUpdate is later than the time checked.
    #[error("CRL not yet valid (thisUpdate in the future)")]
    NotYetValid,
    /// The CRL has no nextUpdate.
    #[error("CRL has no nextUpdate")]
    MissingNextUpdate,
    /// nextUpdate is not after the time checked: a newer CRL should exist.
    #[error("CRL is stale (nextUpdate passed)")]
    Stale,
    /// The authorityKeyIdentifier does not name the issuer certificate's key.
    #[error("authorityKeyIdentifier does not match the issuer's subjectKeyIdentifier")]
    AkiMismatch,
    /// The CRL has no cRLNumber extension.
    #[error("CRL has no cRLNumber")]
    MissingCrlNumber,
    /// An extension appears twice in the same list.
    #[error("extension {0} appears twice")]
    DuplicateExtension(ObjectIdentifier),
    /// A critical extension gica does not process (delta CRLs, certificateIssuer, ...).
    #[error("unsupported critical extension {0}")]
    UnsupportedCriticalExtension(ObjectIdentifier),
    /// The CRL does not cover the certificate asked about (RFC 5280 6.3.3 (b)): another issuer,
    /// or outside its issuingDistributionPoint's scope.
    #[error("the CRL's scope does not cover this certificate")]
    OutOfScope,
    /// An issuingDistributionPoint whose scope gica does not handle.
    #[error("issuingDistributionPoint with unsupported scope: {0}")]
    UnsupportedIdp(&'static str),
    /// A revoked entry's serial number is negative.
    #[deprecated(note = "entries with a negative serial are kept (CrlEntry::negative)")]
    #[error("negative serial number in an entry")]
    NegativeSerial,
    /// A part of the CRL is not DER, or not the structure expected.
    #[error("{what}: {source}")]
    Malformed {
        /// Which part (`issuingDistributionPoint`, `authorityKeyIdentifier`).
        what: &'static str,
        /// The decoding error (der's `Noncanonical` for a non-DER form).
        #[source]
        source: der::Error,
    },
}

/// RFC 5280 6.3.3 (f): a CRL issuer's keyUsage, when present, must include cRLSign.
fn check_crl_signer(issuer: &x509_cert::Certificate) -> Result<(), CrlError> {
    use x509_cert::ext::pkix::{KeyUsage, KeyUsages};
    match issuer.tbs_certificate().get_extension::<KeyUsage>() {
        Ok(None) => Ok(()),
        Ok(Some((_, ku))) if ku.0.contains(KeyUsages::CRLSign) => Ok(()),
        _ => Err(CrlError::IssuerNotCrlSigner),
    }
}

fn strip_zeros(b: &[u8]) -> &[u8] {
    let n = b.iter().take_while(|&&x| x == 0).count();
    &b[n..]
}

/// Lowercase hex for messages.
struct Hex<'a>(&'a [u8]);

impl std::fmt::Display for Hex<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
    }
}

fn hex(b: &[u8]) -> String {
    Hex(b).to_string()
}
