//! Parsing and verifying a CRL against its issuer (RFC 5280 5, 6.3.3).
//!
//! ```text
//! CertificateList  ::=  SEQUENCE  {
//!      tbsCertList          TBSCertList,
//!      signatureAlgorithm   AlgorithmIdentifier,
//!      signatureValue       BIT STRING  }
//! ```
//!
//! The parser walks the DER with der's reader and borrows from the input: the revoked entries
//! are checked in one pass and read again on demand by [`VerifiedCrl::entries`], so verifying
//! a million-entry CRL needs no memory beyond the input (x509-cert's `CertificateList` would
//! allocate several times per entry). Every field is decoded by der's DER types; the parts read
//! with x509-cert's derived types (issuer name, AKI, IDP) are re-encoded and compared, so a
//! spelled-out DEFAULT or an unsorted SET OF is refused there too ([`crate::strict`]).

use std::time::SystemTime;

use der::{
    Decode, Header, Reader, SliceReader, Tag, TagNumber,
    asn1::{BitStringRef, GeneralizedTime, IntRef, ObjectIdentifier, OctetStringRef, UintRef},
};
use spki::AlgorithmIdentifierOwned;
use x509_cert::{
    Certificate, Version,
    ext::pkix::{
        AuthorityKeyIdentifier, SubjectKeyIdentifier,
        name::{DistributionPointName, GeneralName},
    },
    name::Name,
    time::Time,
};

use super::{
    CrlError, CrlNumber, IssuingDistributionPoint, MAX_SERIAL_LEN, OID_AKI, OID_CRL_NUMBER,
    OID_IDP, OID_INVALIDITY_DATE, OID_REASON_CODE, check_crl_signer, strip_zeros,
};
use crate::{AlgorithmPolicy, CrlReason, DigestAlgorithm, algorithm::SignatureError};

/// One revoked certificate as a CRL lists it, borrowed from the CRL's DER.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CrlEntry<'a> {
    /// userCertificate: the serial's big-endian magnitude, no leading zero octets; for a
    /// [`negative`](Self::negative) serial, the INTEGER's two's-complement content octets.
    pub serial: &'a [u8],
    /// The serial is negative. RFC 5280 4.1.2.2 asks relying parties to handle such serials
    /// gracefully, so the entry is kept; a lookup by magnitude never matches it.
    pub negative: bool,
    /// revocationDate.
    pub revocation_time: SystemTime,
    /// reasonCode, if the entry has one.
    pub reason: Option<CrlReason>,
    /// invalidityDate, if the entry has one.
    pub invalidity_date: Option<SystemTime>,
}

/// A CRL whose structure, extensions and entries were checked by [`parse_crl`], but not its
/// issuer, signature or validity period: [`verify`](Self::verify) does that.
///
/// Reading a CRL without checking its signature is for tools and tests (and fuzzing, which
/// reaches the extension and entry parsers this way); rely on a CRL only through
/// [`verify_crl`] or [`verify`](Self::verify).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ParsedCrl<'a> {
    /// The CRL's issuer name.
    pub issuer: Name,
    /// signatureAlgorithm (equal to the `signature` field inside TBSCertList).
    pub signature_algorithm: AlgorithmIdentifierOwned,
    /// cRLNumber.
    pub crl_number: CrlNumber,
    /// thisUpdate.
    pub this_update: SystemTime,
    /// nextUpdate, if present ([`verify`](Self::verify) requires it).
    pub next_update: Option<SystemTime>,
    /// The keyIdentifier of the authorityKeyIdentifier extension, if present.
    pub authority_key_id: Option<Vec<u8>>,
    /// issuingDistributionPoint, if present (its `fullName` URIs and scope flags).
    pub idp: Option<IssuingDistributionPoint>,
    /// TBSCertList exactly as received: what the signature covers.
    tbs: &'a [u8],
    signature: BitStringRef<'a>,
    revoked: Revoked<'a>,
}

/// A CRL whose signature, issuer, validity and every entry were checked by [`verify_crl`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VerifiedCrl<'a> {
    /// cRLNumber.
    pub crl_number: CrlNumber,
    /// thisUpdate.
    pub this_update: SystemTime,
    /// nextUpdate.
    pub next_update: SystemTime,
    /// issuingDistributionPoint, if present (its `fullName` URIs and scope flags).
    pub idp: Option<IssuingDistributionPoint>,
    revoked: Revoked<'a>,
    /// The CRL's issuer name.
    issuer: Name,
}

/// revokedCertificates: the contents of the SEQUENCE (empty when absent), every entry of which
/// was parsed once, and how many there are.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Revoked<'a> {
    bytes: &'a [u8],
    len: usize,
}

impl<'a> Revoked<'a> {
    fn parse(bytes: &'a [u8]) -> Result<Self, CrlError> {
        let mut reader = SliceReader::new(bytes)?;
        let mut len = 0;
        while !reader.is_finished() {
            read_entry(&mut reader)?;
            len += 1;
        }
        Ok(Self { bytes, len })
    }

    fn entries(self) -> Entries<'a> {
        Entries {
            rest: self.bytes,
            left: self.len,
        }
    }
}

impl<'a> ParsedCrl<'a> {
    /// The revoked certificates, in the CRL's order.
    pub fn entries(&self) -> Entries<'a> {
        self.revoked.entries()
    }

    /// How many certificates the CRL lists.
    pub fn len(&self) -> usize {
        self.revoked.len
    }

    /// Whether the CRL lists no certificate.
    pub fn is_empty(&self) -> bool {
        self.revoked.len == 0
    }

    /// Checks this CRL against `issuer` at time `now`: the CRL issuer is `issuer`'s subject;
    /// `issuer` may sign CRLs (keyUsage, when present, has cRLSign); the signature verifies
    /// over the TBSCertList bytes as received; `thisUpdate <= now`
    /// ([`NotYetValid`](CrlError::NotYetValid)); nextUpdate is present and `now < nextUpdate`
    /// ([`Stale`](CrlError::Stale)); the authorityKeyIdentifier, when present, names
    /// `issuer`'s key.
    pub fn verify(
        self,
        issuer: &Certificate,
        now: SystemTime,
    ) -> Result<VerifiedCrl<'a>, CrlError> {
        self.verify_with(issuer, now, &AlgorithmPolicy::default())
    }

    /// [`ParsedCrl::verify`] under an explicit [`AlgorithmPolicy`].
    pub fn verify_with(
        self,
        issuer: &Certificate,
        now: SystemTime,
        policy: &AlgorithmPolicy,
    ) -> Result<VerifiedCrl<'a>, CrlError> {
        let issuer_tbs = issuer.tbs_certificate();
        if self.issuer != *issuer_tbs.subject() {
            return Err(CrlError::IssuerMismatch);
        }
        check_crl_signer(issuer)?;
        let signature = self
            .signature
            .as_bytes()
            .ok_or(CrlError::BadSignature(SignatureError::Invalid))?;
        policy
            .verify(
                issuer_tbs.subject_public_key_info(),
                &self.signature_algorithm,
                None,
                self.tbs,
                signature,
            )
            .map_err(CrlError::BadSignature)?;

        if self.this_update > now {
            return Err(CrlError::NotYetValid);
        }
        let next_update = self.next_update.ok_or(CrlError::MissingNextUpdate)?;
        if now >= next_update {
            return Err(CrlError::Stale);
        }
        if let Some(id) = &self.authority_key_id
            && *id != issuer_key_id(issuer)?
        {
            return Err(CrlError::AkiMismatch);
        }
        Ok(VerifiedCrl {
            crl_number: self.crl_number,
            this_update: self.this_update,
            next_update,
            idp: self.idp,
            revoked: self.revoked,
            issuer: self.issuer,
        })
    }
}

impl<'a> VerifiedCrl<'a> {
    /// The revoked certificates, in the CRL's order.
    pub fn entries(&self) -> Entries<'a> {
        self.revoked.entries()
    }

    /// How many certificates the CRL lists.
    pub fn len(&self) -> usize {
        self.revoked.len
    }

    /// Whether the CRL lists no certificate.
    pub fn is_empty(&self) -> bool {
        self.revoked.len == 0
    }

    /// Whether this CRL's scope covers `cert` (RFC 5280 6.3.3 (b)): `cert` was issued by the
    /// CRL's issuer and, when the CRL has an issuingDistributionPoint, `cert` is of the kind it
    /// lists (onlyContainsUserCerts / onlyContainsCACerts, by basicConstraints cA) and, if it
    /// names distribution point URIs, `cert`'s cRLDistributionPoints names one of them. A
    /// certificate without cRLDistributionPoints is not covered by such a partitioned CRL
    /// (as in OpenSSL).
    pub fn covers(&self, cert: &Certificate) -> bool {
        let tbs = cert.tbs_certificate();
        if tbs.issuer() != &self.issuer {
            return false;
        }
        let Some(idp) = &self.idp else {
            return true;
        };
        let is_ca = matches!(
            tbs.get_extension::<x509_cert::ext::pkix::BasicConstraints>(),
            Ok(Some((_, bc))) if bc.ca
        );
        if (idp.only_contains_user_certs && is_ca) || (idp.only_contains_ca_certs && !is_ca) {
            return false;
        }
        if idp.full_name.is_empty() {
            return true;
        }
        let Ok(Some((_, points))) =
            tbs.get_extension::<x509_cert::ext::pkix::CrlDistributionPoints>()
        else {
            return false;
        };
        points.0.iter().any(|dp| match &dp.distribution_point {
            Some(DistributionPointName::FullName(names)) => names.iter().any(|n| {
                matches!(n, GeneralName::UniformResourceIdentifier(uri)
                    if idp.full_name.iter().any(|u| u.as_str() == uri.as_str()))
            }),
            _ => false,
        })
    }

    /// The status of `cert` by this CRL: `Ok(Some(entry))` if revoked, `Ok(None)` if not,
    /// [`CrlError::OutOfScope`] if this CRL does not cover it (see [`covers`](Self::covers)).
    pub fn status_of(&self, cert: &Certificate) -> Result<Option<CrlEntry<'a>>, CrlError> {
        if !self.covers(cert) {
            return Err(CrlError::OutOfScope);
        }
        let serial = cert.tbs_certificate().serial_number().as_bytes();
        if serial.first().is_some_and(|b| b & 0x80 != 0) {
            // A negative serial (x509-cert reads such certificates) matches only its own kind.
            return Ok(self.entries().find(|e| e.negative && e.serial == serial));
        }
        Ok(self.revoked(serial))
    }

    /// The entry for `serial` (a big-endian magnitude; leading zero octets are ignored), by a
    /// linear scan: collect [`entries`](Self::entries) into a map for many lookups. Entries
    /// with a negative serial never match.
    pub fn revoked(&self, serial: &[u8]) -> Option<CrlEntry<'a>> {
        let serial = strip_zeros(serial);
        self.entries().find(|e| !e.negative && e.serial == serial)
    }
}

/// Iterator over the entries of a [`ParsedCrl`] or [`VerifiedCrl`].
#[derive(Clone, Debug)]
pub struct Entries<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> Iterator for Entries<'a> {
    type Item = CrlEntry<'a>;

    fn next(&mut self) -> Option<CrlEntry<'a>> {
        // Every entry was parsed once by parse_crl, so this cannot fail; stop if it does.
        let mut reader = SliceReader::new(self.rest).ok()?;
        match read_entry(&mut reader) {
            Ok(entry) => {
                let used = usize::try_from(reader.position()).ok()?;
                self.rest = self.rest.get(used..)?;
                self.left = self.left.saturating_sub(1);
                Some(entry)
            }
            Err(_) => {
                self.rest = &[];
                self.left = 0;
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Entries<'_> {}

/// Parses a DER CRL and checks it against `issuer` at time `now`.
///
/// [`parse_crl`] then [`ParsedCrl::verify`]: the structure first (DER, v2, extensions,
/// entries), then the issuer, the signature over the TBSCertList bytes as received, the
/// validity period and the authorityKeyIdentifier.
///
/// The result borrows `der`. Never panics, whatever the input.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use gica_pki::{SoftwareSigner, certgen::CertificateParams};
/// use gica_pki::crl::{CrlError, CrlParams, RevokedEntry, build_crl, verify_crl};
///
/// let key = SoftwareSigner::generate_p256().unwrap();
/// let ca = CertificateParams::ca("CN=Example CA", std::time::SystemTime::now(), 365).self_signed(&key).unwrap();
/// let now = SystemTime::now();
/// let next = now + Duration::from_secs(3600);
/// let der = build_crl(&ca, &key, &CrlParams::new(now, next, 1), [RevokedEntry::new(&[9], now)])
///     .unwrap();
/// let crl = verify_crl(&der, &ca, now).unwrap();
/// assert_eq!(crl.entries().next().unwrap().serial, [9]);
/// let later = next + Duration::from_secs(1);
/// assert!(matches!(verify_crl(&der, &ca, later), Err(CrlError::Stale)));
/// ```
pub fn verify_crl<'a>(
    der: &'a [u8],
    issuer: &Certificate,
    now: SystemTime,
) -> Result<VerifiedCrl<'a>, CrlError> {
    verify_crl_with(der, issuer, now, &AlgorithmPolicy::default())
}

/// [`verify_crl`] under an explicit [`AlgorithmPolicy`] (SHA-1 for legacy CRLs, say).
pub fn verify_crl_with<'a>(
    der: &'a [u8],
    issuer: &Certificate,
    now: SystemTime,
    policy: &AlgorithmPolicy,
) -> Result<VerifiedCrl<'a>, CrlError> {
    parse_crl(der)?.verify_with(issuer, now, policy)
}

/// Parses a DER CRL without checking its signature, issuer or time (see [`ParsedCrl`]).
///
/// Checks: the bytes are one DER `CertificateList` (X.690: an explicit DEFAULT such as
/// `critical FALSE`, anywhere, is refused); version v2; the inner and outer signature
/// algorithms agree; a cRLNumber is present; no extension appears twice; no critical
/// extension gica does not process (delta CRLs, indirect CRLs and partial-reason IDPs are
/// refused); each entry's serial at most 20 octets (a negative one is kept, see
/// [`CrlEntry::negative`]), its reasonCode and invalidityDate well formed.
///
/// The result borrows `der`. Never panics, whatever the input.
///
/// ```
/// use std::time::SystemTime;
/// use gica_pki::{SoftwareSigner, certgen::CertificateParams};
/// use gica_pki::crl::{CrlParams, RevokedEntry, build_crl, parse_crl};
///
/// let key = SoftwareSigner::generate_p256().unwrap();
/// let ca = CertificateParams::ca("CN=Example CA", std::time::SystemTime::now(), 365).self_signed(&key).unwrap();
/// let now = SystemTime::now();
/// let params = CrlParams::new(now, now + std::time::Duration::from_secs(60), 7);
/// let der = build_crl(&ca, &key, &params, [RevokedEntry::new(&[9], now)]).unwrap();
/// let parsed = parse_crl(&der).unwrap();
/// assert_eq!((parsed.crl_number.to_u64(), parsed.len()), (Some(7), 1));
/// let verified = parsed.verify(&ca, now).unwrap();
/// assert_eq!(verified.entries().next().unwrap().serial, [9]);
/// ```
pub fn parse_crl(der: &[u8]) -> Result<ParsedCrl<'_>, CrlError> {
    let mut reader = SliceReader::new(der)?;
    let (tbs_der, signature_algorithm, signature) = reader.sequence(|r| {
        let tbs = r.tlv_bytes()?;
        let algorithm: AlgorithmIdentifierOwned = r.decode()?;
        let signature: BitStringRef<'_> = r.decode()?;
        Ok::<_, der::Error>((tbs, algorithm, signature))
    })?;
    reader.finish()?;
    let tbs = Tbs::from_der(tbs_der)?;

    if tbs.version != Some(Version::V2) {
        return Err(CrlError::Version);
    }
    if tbs.signature != signature_algorithm {
        return Err(CrlError::AlgorithmMismatch);
    }

    let mut crl_number = None;
    let mut authority_key_id = None;
    let mut idp = None;
    let mut seen = Vec::new();
    let mut exts = SliceReader::new(tbs.extensions)?;
    while !exts.is_finished() {
        let (oid, critical, value) = read_extension(&mut exts)?;
        if seen.contains(&oid) {
            return Err(CrlError::DuplicateExtension(oid));
        }
        seen.push(oid);
        if oid == OID_AKI {
            authority_key_id = read_aki(value)?;
        } else if oid == OID_CRL_NUMBER {
            crl_number = Some(CrlNumber::parsed(UintRef::from_der(value)?.as_bytes())?);
        } else if oid == OID_IDP {
            idp = Some(read_idp(value)?);
        } else if critical {
            return Err(CrlError::UnsupportedCriticalExtension(oid));
        }
    }

    Ok(ParsedCrl {
        issuer: tbs.issuer,
        signature_algorithm,
        crl_number: crl_number.ok_or(CrlError::MissingCrlNumber)?,
        this_update: tbs.this_update.to_system_time(),
        next_update: tbs.next_update.map(|t| t.to_system_time()),
        authority_key_id,
        idp,
        tbs: tbs_der,
        signature,
        revoked: Revoked::parse(tbs.revoked)?,
    })
}

/// TBSCertList (RFC 5280 5.1), with revokedCertificates and crlExtensions left as the bytes
/// inside their SEQUENCE (empty when absent).
struct Tbs<'a> {
    version: Option<Version>,
    signature: AlgorithmIdentifierOwned,
    issuer: Name,
    this_update: Time,
    next_update: Option<Time>,
    revoked: &'a [u8],
    extensions: &'a [u8],
}

impl<'a> Tbs<'a> {
    fn from_der(der: &'a [u8]) -> Result<Self, CrlError> {
        let mut reader = SliceReader::new(der)?;
        let tbs = reader.sequence(|r| {
            let version = r.decode()?;
            let signature = r.decode()?;
            // Name holds SET OFs, which der sorts on decoding: only a comparison sees disorder.
            let issuer = crate::strict::decode(r.tlv_bytes()?)?;
            let this_update = r.decode()?;
            let next_update = r.decode()?;
            let revoked = optional_contents(r, Tag::Sequence)?;
            let extensions = match optional_contents(
                r,
                Tag::ContextSpecific {
                    constructed: true,
                    number: TagNumber(0),
                },
            )? {
                // [0] EXPLICIT Extensions: the one SEQUENCE inside.
                Some(inner) => {
                    let mut inner = SliceReader::new(inner)?;
                    let list = optional_contents(&mut inner, Tag::Sequence)?;
                    inner.finish()?;
                    list.ok_or_else(|| der::Error::from(Tag::Sequence.value_error()))?
                }
                None => &[],
            };
            Ok::<_, der::Error>(Tbs {
                version,
                signature,
                issuer,
                this_update,
                next_update,
                revoked: revoked.unwrap_or_default(),
                extensions,
            })
        })?;
        reader.finish()?;
        Ok(tbs)
    }
}

/// The contents of the next TLV if it has tag `tag`.
fn optional_contents<'a>(r: &mut SliceReader<'a>, tag: Tag) -> der::Result<Option<&'a [u8]>> {
    if r.is_finished() || Tag::peek(r)? != tag {
        return Ok(None);
    }
    let header = Header::decode(r)?;
    r.read_slice(header.length()).map(Some)
}

/// One element of revokedCertificates.
fn read_entry<'a>(r: &mut SliceReader<'a>) -> Result<CrlEntry<'a>, CrlError> {
    r.sequence(|r| {
        let serial: IntRef<'a> = r.decode()?;
        let raw = serial.as_bytes();
        let negative = raw.first().is_some_and(|b| b & 0x80 != 0);
        // A negative serial keeps its sign octets: as long as the longest positive encoding.
        let serial = if negative { raw } else { strip_zeros(raw) };
        if serial.len() > MAX_SERIAL_LEN + usize::from(negative) {
            return Err(CrlError::SerialTooLong(serial.len()));
        }
        let time: Time = r.decode()?;
        let mut entry = CrlEntry {
            serial,
            negative,
            revocation_time: time.to_system_time(),
            reason: None,
            invalidity_date: None,
        };
        if !r.is_finished() {
            r.sequence(|r| {
                while !r.is_finished() {
                    let (oid, critical, value) = read_extension(r)?;
                    if oid == OID_REASON_CODE {
                        if entry.reason.is_some() {
                            return Err(CrlError::DuplicateExtension(oid));
                        }
                        entry.reason = Some(CrlReason::from_der(value)?);
                    } else if oid == OID_INVALIDITY_DATE {
                        if entry.invalidity_date.is_some() {
                            return Err(CrlError::DuplicateExtension(oid));
                        }
                        entry.invalidity_date =
                            Some(GeneralizedTime::from_der(value)?.to_system_time());
                    } else if critical {
                        return Err(CrlError::UnsupportedCriticalExtension(oid));
                    }
                }
                Ok(())
            })?;
        }
        Ok(entry)
    })
}

/// ```text
/// Extension  ::=  SEQUENCE  {
///      extnID      OBJECT IDENTIFIER,
///      critical    BOOLEAN DEFAULT FALSE,
///      extnValue   OCTET STRING }
/// ```
fn read_extension<'a>(
    r: &mut SliceReader<'a>,
) -> Result<(ObjectIdentifier, bool, &'a [u8]), CrlError> {
    r.sequence(|r| {
        let oid: ObjectIdentifier = r.decode()?;
        // DER leaves a DEFAULT value out, so an explicit FALSE is not DER.
        let critical = match r.decode::<Option<bool>>()? {
            Some(false) => return Err(der::Error::from(Tag::Boolean.non_canonical_error()).into()),
            Some(true) => true,
            None => false,
        };
        let value: &'a OctetStringRef = r.decode()?;
        Ok((oid, critical, value.as_bytes()))
    })
}

/// The key identifier the CRL's AKI must carry: the issuer's SKI, or SHA-1 of its key.
fn issuer_key_id(issuer: &Certificate) -> Result<Vec<u8>, CrlError> {
    let tbs = issuer.tbs_certificate();
    Ok(match tbs.get_extension::<SubjectKeyIdentifier>()? {
        Some((_, ski)) => ski.0.as_bytes().to_vec(),
        None => DigestAlgorithm::Sha1
            .digest(tbs.subject_public_key_info().subject_public_key.raw_bytes()),
    })
}

/// The keyIdentifier of an authorityKeyIdentifier extension's value.
fn read_aki(value: &[u8]) -> Result<Option<Vec<u8>>, CrlError> {
    let aki: AuthorityKeyIdentifier =
        crate::strict::decode(value).map_err(malformed("authorityKeyIdentifier"))?;
    Ok(aki.key_identifier.map(|id| id.as_bytes().to_vec()))
}

fn malformed(what: &'static str) -> impl FnOnce(der::Error) -> CrlError {
    move |source| CrlError::Malformed { what, source }
}

fn read_idp(value: &[u8]) -> Result<IssuingDistributionPoint, CrlError> {
    // Its BOOLEANs are DEFAULT FALSE: strictness refuses one spelled out.
    let idp: x509_cert::ext::pkix::IssuingDistributionPoint =
        crate::strict::decode(value).map_err(malformed("issuingDistributionPoint"))?;
    if idp.indirect_crl {
        return Err(CrlError::UnsupportedIdp("indirectCRL"));
    }
    if idp.only_some_reasons.is_some() {
        return Err(CrlError::UnsupportedIdp("onlySomeReasons"));
    }
    if idp.only_contains_attribute_certs {
        return Err(CrlError::UnsupportedIdp("onlyContainsAttributeCerts"));
    }
    // Scope is matched by URI (`VerifiedCrl::covers`): a distribution point named otherwise
    // (a directoryName, nameRelativeToCRLIssuer) could not be matched, and taking it as "no
    // distribution point" would widen the CRL's scope.
    let has_point = idp.distribution_point.is_some();
    let full_name: Vec<String> = match idp.distribution_point {
        None => Vec::new(),
        Some(DistributionPointName::FullName(names)) => names
            .into_iter()
            .filter_map(|n| match n {
                GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
                _ => None,
            })
            .collect(),
        Some(DistributionPointName::NameRelativeToCRLIssuer(_)) => {
            return Err(CrlError::UnsupportedIdp("nameRelativeToCRLIssuer"));
        }
    };
    if has_point && full_name.is_empty() {
        return Err(CrlError::UnsupportedIdp("distributionPoint without a URI"));
    }
    Ok(IssuingDistributionPoint {
        full_name,
        only_contains_user_certs: idp.only_contains_user_certs,
        only_contains_ca_certs: idp.only_contains_ca_certs,
    })
}

#[cfg(test)]
mod tests {
    use der::Encode;
    use x509_cert::ext::pkix::IssuingDistributionPoint as Idp;

    use super::*;

    fn idp(point: Option<DistributionPointName>) -> Vec<u8> {
        Idp {
            distribution_point: point,
            only_contains_user_certs: true,
            only_contains_ca_certs: false,
            only_some_reasons: None,
            indirect_crl: false,
            only_contains_attribute_certs: false,
        }
        .to_der()
        .expect("der")
    }

    #[test]
    fn distribution_points_that_cannot_be_matched_are_refused() {
        // A directoryName only: scope could not be matched by URI, so not taken as unscoped.
        let by_name = idp(Some(DistributionPointName::FullName(vec![
            GeneralName::DirectoryName(Name::default()),
        ])));
        assert!(matches!(
            read_idp(&by_name),
            Err(CrlError::UnsupportedIdp("distributionPoint without a URI"))
        ));
        let relative = idp(Some(DistributionPointName::NameRelativeToCRLIssuer(
            Default::default(),
        )));
        assert!(matches!(
            read_idp(&relative),
            Err(CrlError::UnsupportedIdp("nameRelativeToCRLIssuer"))
        ));
        // No distribution point at all: the scope flags alone.
        let flags_only = read_idp(&idp(None)).expect("flags only");
        assert!(flags_only.full_name.is_empty() && flags_only.only_contains_user_certs);
    }
}
