//! The completeness check (steps 11-12): every rule a request must meet, each reported as
//! one coded [`Deficiency`], and the PKCS#10 decoding with its proof-of-possession check.
//!
//! ```
//! use gica_exchange::{Catalogue, CheckInput, DeficiencyCode, RequestKind};
//! let cat = Catalogue::default();
//! let input = CheckInput { kind: RequestKind::New, ..CheckInput::default() };
//! let codes: Vec<_> = gica_exchange::check::check(&input, &cat, &[]).iter().map(|d| d.code).collect();
//! assert!(codes.contains(&DeficiencyCode::MissingSystem));
//! assert!(codes.contains(&DeficiencyCode::MissingService));
//! ```

use std::fmt;

use der::{Decode, Encode, asn1::ObjectIdentifier};
use gica_pki::AlgorithmPolicy;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};
use x509_cert::request::CertReq;

use crate::catalogue::{Bus, Catalogue, MAX_TEXT, Requirement, valid_text};
use crate::request::RequestKind;

/// Largest PKCS#10 request accepted (an RSA-4096 CSR is under 2 KiB).
pub const MAX_CSR_BYTES: usize = 16 * 1024;
/// Largest permit-letter scan accepted.
pub const MAX_SCAN_BYTES: usize = 5 * 1024 * 1024;
/// Smallest RSA modulus accepted in a CSR, in bits.
pub const MIN_RSA_BITS: usize = 2048;
/// Longest system name: ub-common-name (RFC 5280 appendix A).
pub const MAX_SYSTEM_CHARS: usize = 64;

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// One rule of the completeness check.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DeficiencyCode {
    /// No bus chosen (step 6).
    MissingBus,
    /// The agency has no active connection to the chosen bus (steps 4-5).
    ConnectionMissing,
    /// No consuming system named, or a name that is empty, too long or has control characters
    /// (step 7).
    MissingSystem,
    /// No PKCS#10 request for the system's key.
    MissingCsr,
    /// The PKCS#10 request does not decode, or is larger than [`MAX_CSR_BYTES`].
    CsrMalformed,
    /// The request's signature does not verify with its own key: no proof of possession.
    CsrSignatureInvalid,
    /// RSA under [`MIN_RSA_BITS`], an EC key not on P-256 or P-384, or another key type.
    CsrKeyTooWeak,
    /// The service needs a permit letter and no number was given (step 8).
    MissingPermitNumber,
    /// The permit letter number is not digits in groups separated by `/` or `-`.
    PermitNumberFormat,
    /// The service needs a permit letter and no scan was given (step 8).
    MissingPermitScan,
    /// The scan is not a PDF, PNG or JPEG by its first bytes.
    PermitScanType,
    /// The scan is larger than [`MAX_SCAN_BYTES`].
    PermitScanTooLarge,
    /// No service chosen (step 9).
    MissingService,
    /// The service is not in the catalogue.
    UnknownService,
    /// The service is not offered on the chosen bus.
    BusNotOffered,
    /// The service needs a technical contact and none was given (step 10).
    MissingContact,
    /// The contact's e-mail address is not a plausible address.
    ContactEmailInvalid,
}

impl DeficiencyCode {
    /// Every code.
    pub const ALL: [DeficiencyCode; 17] = [
        Self::MissingBus,
        Self::ConnectionMissing,
        Self::MissingSystem,
        Self::MissingCsr,
        Self::CsrMalformed,
        Self::CsrSignatureInvalid,
        Self::CsrKeyTooWeak,
        Self::MissingPermitNumber,
        Self::PermitNumberFormat,
        Self::MissingPermitScan,
        Self::PermitScanType,
        Self::PermitScanTooLarge,
        Self::MissingService,
        Self::UnknownService,
        Self::BusNotOffered,
        Self::MissingContact,
        Self::ContactEmailInvalid,
    ];

    /// The stable code shown to agencies (`missing-permit-scan`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::MissingBus => "missing-bus",
            Self::ConnectionMissing => "connection-missing",
            Self::MissingSystem => "missing-system",
            Self::MissingCsr => "missing-csr",
            Self::CsrMalformed => "csr-malformed",
            Self::CsrSignatureInvalid => "csr-signature-invalid",
            Self::CsrKeyTooWeak => "csr-key-too-weak",
            Self::MissingPermitNumber => "missing-permit-number",
            Self::PermitNumberFormat => "permit-number-format",
            Self::MissingPermitScan => "missing-permit-scan",
            Self::PermitScanType => "permit-scan-type",
            Self::PermitScanTooLarge => "permit-scan-too-large",
            Self::MissingService => "missing-service",
            Self::UnknownService => "unknown-service",
            Self::BusNotOffered => "bus-not-offered",
            Self::MissingContact => "missing-contact",
            Self::ContactEmailInvalid => "contact-email-invalid",
        }
    }

    /// The inverse of [`DeficiencyCode::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

impl fmt::Display for DeficiencyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One item of the deficiency list: the code and what exactly was wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deficiency {
    /// Which rule.
    pub code: DeficiencyCode,
    /// Details for the agency (never secret: it names only what the agency sent).
    pub detail: String,
}

impl Deficiency {
    fn new(code: DeficiencyCode, detail: impl Into<String>) -> Self {
        Self {
            code,
            detail: detail.into(),
        }
    }
}

/// What the agency entered, as the check sees it. `None` means not entered.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckInput {
    /// New request or renewal (a renewal names its service and needs no permit or
    /// connection check: the grant it renews stands for them).
    pub kind: RequestKind,
    /// The bus (step 6).
    pub bus: Option<Bus>,
    /// The consuming system (step 7).
    pub system: Option<String>,
    /// Its PKCS#10 request, DER.
    pub csr: Option<Vec<u8>>,
    /// Permit letter number (step 8).
    pub permit_number: Option<String>,
    /// Permit letter scan (step 8).
    pub permit_scan: Option<Vec<u8>>,
    /// The service id (step 9).
    pub service: Option<String>,
    /// Technical contact's e-mail (step 10).
    pub contact_email: Option<String>,
}

impl Default for CheckInput {
    fn default() -> Self {
        Self {
            kind: RequestKind::New,
            bus: None,
            system: None,
            csr: None,
            permit_number: None,
            permit_scan: None,
            service: None,
            contact_email: None,
        }
    }
}

/// Runs every rule; an empty list means the request is complete. `connected` lists the
/// buses the agency has an active connection to.
pub fn check(input: &CheckInput, catalogue: &Catalogue, connected: &[Bus]) -> Vec<Deficiency> {
    use DeficiencyCode as C;
    let mut out = Vec::new();
    let renewal = input.kind == RequestKind::Renewal;

    match input.bus {
        None => out.push(Deficiency::new(C::MissingBus, "choose GSB, PGSB or both")),
        Some(bus) if !renewal => {
            for part in bus.parts() {
                if !connected.contains(part) {
                    out.push(Deficiency::new(
                        C::ConnectionMissing,
                        format!("no active connection to {}", part.as_str()),
                    ));
                }
            }
        }
        Some(_) => {}
    }

    match input.system.as_deref() {
        Some(s) if valid_system(s) => {}
        Some(_) => out.push(Deficiency::new(
            C::MissingSystem,
            format!("system name must be 1..={MAX_SYSTEM_CHARS} characters, no control characters"),
        )),
        None => out.push(Deficiency::new(
            C::MissingSystem,
            "name the consuming system",
        )),
    }

    match input.csr.as_deref() {
        None => out.push(Deficiency::new(
            C::MissingCsr,
            "attach the system's PKCS#10 request",
        )),
        Some(der) => {
            if let Err(e) = verify_csr(der) {
                out.push(e.deficiency());
            }
        }
    }

    let service = match input.service.as_deref() {
        None => {
            out.push(Deficiency::new(
                C::MissingService,
                "choose a service from the catalogue",
            ));
            None
        }
        Some(id) => match catalogue.get(id) {
            None => {
                out.push(Deficiency::new(
                    C::UnknownService,
                    format!("no service {:?} in the catalogue", truncate(id)),
                ));
                None
            }
            Some(s) => Some(s),
        },
    };
    if let (Some(s), Some(bus)) = (service, input.bus)
        && !bus.parts().iter().all(|p| s.bus.offers(*p))
    {
        out.push(Deficiency::new(
            C::BusNotOffered,
            format!(
                "{} is offered on {}, not {}",
                s.id,
                s.bus.as_str(),
                bus.as_str()
            ),
        ));
    }

    // Without a known service the permit and contact rules apply in full: better to ask
    // for too much than to let an incomplete request through.
    let needs = |r| service.is_none_or(|s| s.requires(r));
    if !renewal && needs(Requirement::PermitLetter) {
        match input.permit_number.as_deref() {
            None => out.push(Deficiency::new(C::MissingPermitNumber, "enter the permit letter number")),
            Some(n) if !valid_permit_number(n) => out.push(Deficiency::new(
                C::PermitNumberFormat,
                "permit letter number must be digit groups separated by / or -, up to 32 characters",
            )),
            Some(_) => {}
        }
        match input.permit_scan.as_deref() {
            None | Some([]) => out.push(Deficiency::new(
                C::MissingPermitScan,
                "attach a scan of the permit letter",
            )),
            Some(scan) if scan.len() > MAX_SCAN_BYTES => out.push(Deficiency::new(
                C::PermitScanTooLarge,
                format!(
                    "scan is {} bytes, at most {MAX_SCAN_BYTES} allowed",
                    scan.len()
                ),
            )),
            Some(scan) if scan_type(scan).is_none() => out.push(Deficiency::new(
                C::PermitScanType,
                "scan must be a PDF, PNG or JPEG file",
            )),
            Some(_) => {}
        }
    }
    if needs(Requirement::TechnicalContact) {
        match input.contact_email.as_deref() {
            None => out.push(Deficiency::new(
                C::MissingContact,
                "enter a technical contact",
            )),
            Some(e) if !valid_email(e) => out.push(Deficiency::new(
                C::ContactEmailInvalid,
                format!("{:?} is not an e-mail address", truncate(e)),
            )),
            Some(_) => {}
        }
    }
    out
}

fn truncate(s: &str) -> String {
    s.chars().take(MAX_TEXT).collect()
}

/// A system name: 1..=[`MAX_SYSTEM_CHARS`] characters, not blank, no control characters.
pub fn valid_system(s: &str) -> bool {
    valid_text(s) && s.chars().count() <= MAX_SYSTEM_CHARS
}

/// Digit groups separated by `/` or `-` (`1402/12345`, `12-345-6`), at most 32 characters.
pub fn valid_permit_number(n: &str) -> bool {
    n.len() <= 32
        && !n.is_empty()
        && n.split(['/', '-'])
            .all(|g| !g.is_empty() && g.bytes().all(|b| b.is_ascii_digit()))
}

/// A plausible address: ASCII, one `@`, a local part of 1..=64 of the usual characters,
/// a domain of at least two dot-separated labels of letters, digits and inner hyphens.
pub fn valid_email(e: &str) -> bool {
    if e.len() > 254 {
        return false;
    }
    let Some((local, domain)) = e.split_once('@') else {
        return false;
    };
    let local_ok = (1..=64).contains(&local.len())
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~.-".contains(&b));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            (1..=63).contains(&l.len())
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        });
    local_ok && domain_ok
}

/// A permit scan's media type, by its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ScanType {
    /// `%PDF-`.
    Pdf,
    /// The PNG signature.
    Png,
    /// A JPEG SOI marker followed by another marker.
    Jpeg,
}

impl ScanType {
    /// Its media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Pdf => "application/pdf",
            Self::Png => "image/png",
            Self::Jpeg => "image/jpeg",
        }
    }
}

/// The scan's type by its magic bytes, or `None` if it is none of the accepted ones.
pub fn scan_type(scan: &[u8]) -> Option<ScanType> {
    if scan.starts_with(b"%PDF-") {
        Some(ScanType::Pdf)
    } else if scan.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some(ScanType::Png)
    } else if scan.starts_with(&[0xff, 0xd8, 0xff]) {
        Some(ScanType::Jpeg)
    } else {
        None
    }
}

/// Why a PKCS#10 request was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CsrError {
    /// Larger than [`MAX_CSR_BYTES`].
    #[error("CSR is {len} bytes, more than the {max} allowed")]
    TooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Not a DER CertificationRequest.
    #[error("CSR does not decode: {0}")]
    Malformed(der::Error),
    /// The key is too weak or of a kind not accepted.
    #[error("CSR key is not accepted: {0}")]
    WeakKey(String),
    /// The signature does not verify with the request's own key.
    #[error("CSR signature does not verify: {0}")]
    Signature(gica_pki::algorithm::SignatureError),
}

impl CsrError {
    /// The deficiency this refusal is reported as.
    pub fn deficiency(&self) -> Deficiency {
        let code = match self {
            Self::TooLarge { .. } | Self::Malformed(_) => DeficiencyCode::CsrMalformed,
            Self::WeakKey(_) => DeficiencyCode::CsrKeyTooWeak,
            Self::Signature(_) => DeficiencyCode::CsrSignatureInvalid,
        };
        Deficiency::new(code, self.to_string())
    }
}

/// Decodes a PKCS#10 request, checks its key (RSA >= [`MIN_RSA_BITS`], EC on P-256 or P-384)
/// and its signature by that key: the proof that the agency holds the private key.
pub fn verify_csr(der: &[u8]) -> Result<CertReq, CsrError> {
    if der.len() > MAX_CSR_BYTES {
        return Err(CsrError::TooLarge {
            len: der.len(),
            max: MAX_CSR_BYTES,
        });
    }
    let req = CertReq::from_der(der).map_err(CsrError::Malformed)?;
    let spki = req.info.public_key.clone();
    check_key(&spki)?;
    let info = req.info.to_der().map_err(CsrError::Malformed)?;
    let signature = req.signature.as_bytes().ok_or(CsrError::Signature(
        gica_pki::algorithm::SignatureError::Invalid,
    ))?;
    let alg: AlgorithmIdentifierOwned = req.algorithm.clone();
    AlgorithmPolicy::default()
        .min_rsa_bits(MIN_RSA_BITS)
        .verify(&spki, &alg, None, &info, signature)
        .map_err(CsrError::Signature)?;
    Ok(req)
}

fn check_key(spki: &SubjectPublicKeyInfoOwned) -> Result<(), CsrError> {
    let oid = spki.algorithm.oid;
    if oid == RSA_ENCRYPTION {
        let bits = rsa_bits(spki).ok_or_else(|| CsrError::WeakKey("unreadable RSA key".into()))?;
        if bits < MIN_RSA_BITS {
            return Err(CsrError::WeakKey(format!(
                "RSA-{bits}, at least RSA-{MIN_RSA_BITS} required"
            )));
        }
        Ok(())
    } else if oid == EC_PUBLIC_KEY {
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        match curve {
            Some(c) if c == SECP256R1 || c == SECP384R1 => Ok(()),
            Some(c) => Err(CsrError::WeakKey(format!(
                "EC curve {c}, P-256 or P-384 required"
            ))),
            None => Err(CsrError::WeakKey("EC key without a named curve".into())),
        }
    } else {
        Err(CsrError::WeakKey(format!(
            "key type {oid}, RSA or EC required"
        )))
    }
}

/// RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }
#[derive(der::Sequence)]
struct RsaPublicKey<'a> {
    modulus: der::asn1::UintRef<'a>,
    public_exponent: der::asn1::UintRef<'a>,
}

fn rsa_bits(spki: &SubjectPublicKeyInfoOwned) -> Option<usize> {
    let key = RsaPublicKey::from_der(spki.subject_public_key.as_bytes()?).ok()?;
    let m = key.modulus.as_bytes();
    let first = *m.first()?;
    Some((m.len() - 1) * 8 + (8 - first.leading_zeros() as usize))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use DeficiencyCode as C;

    fn fixture(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../testdata/exchange/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn catalogue() -> Catalogue {
        Catalogue::from_toml(
            r#"
            [[service]]
            id = "inbox.submit"
            name = "Inbox submission"
            owner = "post"
            bus = "both"
            policy_oid = "1.3.6.1.4.1.61423.11.1"
            validity_days = 365
            requires = ["permit-letter", "technical-contact"]
            [[service]]
            id = "registry.export"
            name = "Registry export"
            owner = "cra"
            bus = "gsb"
            policy_oid = "1.3.6.1.4.1.61423.11.2"
            validity_days = 90
            "#,
        )
        .unwrap()
    }

    fn complete() -> CheckInput {
        CheckInput {
            kind: RequestKind::New,
            bus: Some(Bus::Gsb),
            system: Some("سامانه پرونده".into()),
            csr: Some(fixture("csr-p256.der")),
            permit_number: Some("1402/12345".into()),
            permit_scan: Some(b"%PDF-1.7\n...".to_vec()),
            service: Some("inbox.submit".into()),
            contact_email: Some("ops@agency.gov.ir".into()),
        }
    }

    fn codes(input: &CheckInput) -> Vec<DeficiencyCode> {
        check(input, &catalogue(), &[Bus::Gsb])
            .iter()
            .map(|d| d.code)
            .collect()
    }

    #[test]
    fn a_complete_request_has_no_deficiencies() {
        assert_eq!(check(&complete(), &catalogue(), &[Bus::Gsb]), vec![]);
        for csr in ["csr-p256.der", "csr-p384.der", "csr-rsa2048.der"] {
            assert_eq!(
                codes(&CheckInput {
                    csr: Some(fixture(csr)),
                    ..complete()
                }),
                vec![],
                "{csr}"
            );
        }
        for scan in [
            &b"\x89PNG\r\n\x1a\n...."[..],
            &[0xff, 0xd8, 0xff, 0xe0, 0, 0x10],
        ] {
            assert_eq!(
                codes(&CheckInput {
                    permit_scan: Some(scan.to_vec()),
                    ..complete()
                }),
                vec![]
            );
        }
    }

    /// One case per code: a complete request with one thing broken reports exactly that code.
    #[test]
    fn every_code_has_a_case_that_reports_it_alone() {
        let mut bad_sig = fixture("csr-p384.der");
        let last = bad_sig.len() - 1;
        bad_sig[last] ^= 1;
        let mut other_subject = fixture("csr-p256.der");
        // Flip a byte inside the subject's CN: signature no longer matches the info.
        let pos = other_subject
            .windows(6)
            .position(|w| w == b"system")
            .unwrap();
        other_subject[pos] = b'S';
        let cases: Vec<(DeficiencyCode, CheckInput)> = vec![
            (
                C::MissingBus,
                CheckInput {
                    bus: None,
                    ..complete()
                },
            ),
            (
                C::ConnectionMissing,
                CheckInput {
                    bus: Some(Bus::Pgsb),
                    ..complete()
                },
            ),
            (
                C::MissingSystem,
                CheckInput {
                    system: None,
                    ..complete()
                },
            ),
            (
                C::MissingCsr,
                CheckInput {
                    csr: None,
                    ..complete()
                },
            ),
            (
                C::CsrMalformed,
                CheckInput {
                    csr: Some(b"not der".to_vec()),
                    ..complete()
                },
            ),
            (
                C::CsrSignatureInvalid,
                CheckInput {
                    csr: Some(bad_sig),
                    ..complete()
                },
            ),
            (
                C::CsrKeyTooWeak,
                CheckInput {
                    csr: Some(fixture("csr-rsa1024.der")),
                    ..complete()
                },
            ),
            (
                C::MissingPermitNumber,
                CheckInput {
                    permit_number: None,
                    ..complete()
                },
            ),
            (
                C::PermitNumberFormat,
                CheckInput {
                    permit_number: Some("12/ab".into()),
                    ..complete()
                },
            ),
            (
                C::MissingPermitScan,
                CheckInput {
                    permit_scan: None,
                    ..complete()
                },
            ),
            (
                C::PermitScanType,
                CheckInput {
                    permit_scan: Some(b"GIF89a".to_vec()),
                    ..complete()
                },
            ),
            (
                C::PermitScanTooLarge,
                CheckInput {
                    permit_scan: Some([b"%PDF-".to_vec(), vec![0; MAX_SCAN_BYTES]].concat()),
                    ..complete()
                },
            ),
            (
                C::MissingService,
                CheckInput {
                    service: None,
                    ..complete()
                },
            ),
            (
                C::UnknownService,
                CheckInput {
                    service: Some("nope".into()),
                    ..complete()
                },
            ),
            (
                C::BusNotOffered,
                CheckInput {
                    service: Some("registry.export".into()),
                    bus: Some(Bus::Both),
                    ..complete()
                },
            ),
            (
                C::MissingContact,
                CheckInput {
                    contact_email: None,
                    ..complete()
                },
            ),
            (
                C::ContactEmailInvalid,
                CheckInput {
                    contact_email: Some("ops@localhost".into()),
                    ..complete()
                },
            ),
        ];
        let mut seen: Vec<DeficiencyCode> = cases.iter().map(|(c, _)| *c).collect();
        seen.sort();
        seen.dedup();
        assert_eq!(
            seen.len(),
            DeficiencyCode::ALL.len(),
            "a case for every code"
        );
        for (want, input) in &cases {
            let got = codes(input);
            // bus=both with only GSB connected also reports the PGSB connection.
            let got: Vec<_> = got
                .into_iter()
                .filter(|c| *c != C::ConnectionMissing || *want == C::ConnectionMissing)
                .collect();
            assert_eq!(got, vec![*want], "{want}");
        }
        assert_eq!(
            codes(&CheckInput {
                csr: Some(other_subject),
                ..complete()
            }),
            vec![C::CsrSignatureInvalid]
        );
    }

    #[test]
    fn weak_and_unsupported_keys() {
        for f in [
            "csr-rsa1024.der",
            "csr-p521.der",
            "csr-k256.der",
            "csr-ed25519.der",
        ] {
            let e = verify_csr(&fixture(f)).unwrap_err();
            assert!(matches!(e, CsrError::WeakKey(_)), "{f}: {e}");
        }
        let e = verify_csr(&fixture("csr-rsa1024.der")).unwrap_err();
        assert!(e.to_string().contains("RSA-1024"), "{e}");
        let big = vec![0x30; MAX_CSR_BYTES + 1];
        assert!(matches!(verify_csr(&big), Err(CsrError::TooLarge { .. })));
        let req = verify_csr(&fixture("csr-rsa2048.der")).unwrap();
        assert_eq!(rsa_bits(&req.info.public_key), Some(2048));
    }

    #[test]
    fn renewal_skips_permit_and_connection() {
        let input = CheckInput {
            kind: RequestKind::Renewal,
            bus: Some(Bus::Pgsb),
            permit_number: None,
            permit_scan: None,
            ..complete()
        };
        assert_eq!(check(&input, &catalogue(), &[]), vec![]);
    }

    #[test]
    fn service_requirements_decide_the_rules() {
        let input = CheckInput {
            service: Some("registry.export".into()),
            permit_number: None,
            permit_scan: None,
            contact_email: None,
            ..complete()
        };
        assert_eq!(codes(&input), vec![]);
        // An empty request reports every missing item, and the unknown service's full rules.
        let all = codes(&CheckInput::default());
        for c in [
            C::MissingBus,
            C::MissingSystem,
            C::MissingCsr,
            C::MissingPermitNumber,
            C::MissingPermitScan,
            C::MissingService,
            C::MissingContact,
        ] {
            assert!(all.contains(&c), "{c}");
        }
    }

    #[test]
    fn formats() {
        for ok in ["1402/12345", "12-345-6", "7"] {
            assert!(valid_permit_number(ok), "{ok}");
        }
        for bad in [
            "",
            "/12",
            "12/",
            "12//3",
            "۱۴۰۲/۱",
            "12 34",
            &"1".repeat(33),
        ] {
            assert!(!valid_permit_number(bad), "{bad}");
        }
        for ok in ["a@b.ir", "first.last+tag@sub.agency.gov.ir"] {
            assert!(valid_email(ok), "{ok}");
        }
        for bad in [
            "",
            "a",
            "@b.ir",
            "a@",
            "a@b",
            "a@@b.ir",
            "a b@c.ir",
            ".a@b.ir",
            "a..b@c.ir",
            "a@-b.ir",
            "a@b..ir",
            "علی@b.ir",
        ] {
            assert!(!valid_email(bad), "{bad}");
        }
        for code in DeficiencyCode::ALL {
            assert_eq!(DeficiencyCode::parse(code.as_str()), Some(code));
        }
    }

    proptest::proptest! {
        #[test]
        fn csr_decoder_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let _ = verify_csr(&bytes);
        }

        #[test]
        fn check_never_panics(system in ".{0,80}", email in ".{0,80}", permit in ".{0,40}", scan in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..16)) {
            let input = CheckInput { system: Some(system), contact_email: Some(email), permit_number: Some(permit), permit_scan: Some(scan), ..complete() };
            let _ = check(&input, &catalogue(), &[Bus::Gsb]);
        }
    }
}
