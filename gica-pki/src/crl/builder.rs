//! The streaming CRL encoder (RFC 5280 5.1).
//!
//! ```text
//! TBSCertList  ::=  SEQUENCE  {
//!      version                 Version OPTIONAL, -- if present, MUST be v2
//!      signature               AlgorithmIdentifier,
//!      issuer                  Name,
//!      thisUpdate              Time,
//!      nextUpdate              Time OPTIONAL,
//!      revokedCertificates     SEQUENCE OF SEQUENCE  {
//!           userCertificate         CertificateSerialNumber,
//!           revocationDate          Time,
//!           crlEntryExtensions      Extensions OPTIONAL }  OPTIONAL,
//!      crlExtensions           [0]  EXPLICIT Extensions OPTIONAL }
//! ```
//!
//! Layout of the one buffer while building: room for the three outer headers and the fixed
//! TBS fields is left at the front, the entries and crlExtensions are appended, then the
//! headers are written backwards in front of the entries once their lengths are known. After
//! signing, one `copy_within` drops the unused front room.

use std::{cmp::Ordering, time::UNIX_EPOCH};

use der::{
    Encode,
    asn1::{Ia5String, OctetString},
};
use x509_cert::{
    Certificate,
    ext::{
        Extension,
        pkix::{
            SubjectKeyIdentifier,
            name::{DistributionPointName, GeneralName},
        },
    },
};

use super::{
    CrlError, CrlParams, IssuingDistributionPoint, MAX_SERIAL_LEN, OID_AKI, OID_CRL_NUMBER,
    OID_IDP, RevokedEntry, check_crl_signer,
    encode::{MAX_HEADER, TimeTlv, header, header_len, push_header, push_uint, uint_len},
    hex, strip_zeros,
};
use crate::{CrlReason, DigestAlgorithm, Signer, key_matches};

/// Longest DER gica writes: lengths fit in four octets.
const MAX_LEN: usize = u32::MAX as usize;

/// Encoded `reasonCode` extension without its last octet (the ENUMERATED value).
const REASON_EXT: [u8; 11] = [
    0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01,
];
/// Encoded `invalidityDate` extension up to its GeneralizedTime TLV (17 octets).
const INVALIDITY_EXT: [u8; 9] = [0x30, 0x18, 0x06, 0x03, 0x55, 0x1d, 0x18, 0x04, 0x11];
/// Longest entry: SEQUENCE header, 21-octet INTEGER, UTCTime or GeneralizedTime, both
/// extensions inside their SEQUENCE.
const MAX_ENTRY: usize =
    2 + (2 + 21) + 17 + 2 + (REASON_EXT.len() + 1) + (INVALIDITY_EXT.len() + 17);
/// Octets reserved per entry from the iterator's size hint (a typical 16-octet serial with a
/// reason); untouched capacity costs no resident memory.
const TYPICAL_ENTRY: usize = 50;

/// Builds and signs a CRL (DER `CertificateList`) listing `entries`.
///
/// - `issuer`: the CA certificate whose revocations these are; its subject becomes the CRL
///   issuer, and its subjectKeyIdentifier (or, without one, the SHA-1 of its key) the
///   authorityKeyIdentifier. `signer` must hold its key ([`KeyMismatch`](CrlError::KeyMismatch)
///   otherwise), and its keyUsage, if any, must include cRLSign
///   ([`IssuerNotCrlSigner`](CrlError::IssuerNotCrlSigner)).
/// - `entries` must be **sorted by serial, ascending**: either numerically or by the bytes of
///   the magnitude (as a database orders a BLOB column). A repeated serial is a
///   [`DuplicateSerial`](CrlError::DuplicateSerial) error and an out-of-order one
///   [`NotSorted`](CrlError::NotSorted), so the output never lists a serial twice.
///
/// The CRL is v2 with nextUpdate, the authorityKeyIdentifier, cRLNumber and, when asked,
/// a critical issuingDistributionPoint; revokedCertificates is left out when there are no
/// entries. Times are whole seconds: UTCTime before 2050, GeneralizedTime from 2050.
///
/// Memory: the output buffer plus a few hundred octets; no allocation per entry.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use gica_pki::{CrlReason, SoftwareSigner, certgen::CertificateParams};
/// use gica_pki::crl::{CrlParams, RevokedEntry, build_crl};
///
/// let key = SoftwareSigner::generate_p256().unwrap();
/// let ca = CertificateParams::ca("CN=Example CA", std::time::SystemTime::now(), 365).self_signed(&key).unwrap();
/// let now = SystemTime::now();
/// let serials: Vec<[u8; 8]> = (1u64..=1000).map(u64::to_be_bytes).collect();
/// let der = build_crl(
///     &ca,
///     &key,
///     &CrlParams::new(now, now + Duration::from_secs(3600), 7),
///     serials.iter().map(|s| RevokedEntry::new(s, now).reason(CrlReason::Superseded)),
/// )
/// .unwrap();
/// assert_eq!(gica_pki::crl::verify_crl(&der, &ca, now).unwrap().len(), 1000);
/// ```
pub fn build_crl<'a, I>(
    issuer: &Certificate,
    signer: &dyn Signer,
    params: &CrlParams,
    entries: I,
) -> Result<Vec<u8>, CrlError>
where
    I: IntoIterator<Item = RevokedEntry<'a>>,
{
    let tbs_cert = issuer.tbs_certificate();
    if !key_matches(signer, tbs_cert.subject_public_key_info()) {
        return Err(CrlError::KeyMismatch);
    }
    check_crl_signer(issuer)?;
    let secs = |t: std::time::SystemTime| t.duration_since(UNIX_EPOCH).map(|d| d.as_secs());
    match (secs(params.this_update), secs(params.next_update)) {
        (Ok(this), Ok(next)) if next > this => {}
        (Ok(_), Ok(_)) => return Err(CrlError::NextUpdateNotAfterThisUpdate),
        _ => return Err(CrlError::TimeOutOfRange),
    }

    // version, signature, issuer, thisUpdate, nextUpdate: known before any entry.
    let mut fixed = Vec::with_capacity(256);
    fixed.extend_from_slice(&[0x02, 0x01, 0x01]);
    signer.signature_algorithm().encode_to_vec(&mut fixed)?;
    tbs_cert.subject().encode_to_vec(&mut fixed)?;
    fixed.extend_from_slice(TimeTlv::rfc5280(params.this_update)?.as_bytes());
    fixed.extend_from_slice(TimeTlv::rfc5280(params.next_update)?.as_bytes());
    let extensions = crl_extensions(issuer, params)?;

    let entries = entries.into_iter();
    // Outer CertificateList, TBSCertList and revokedCertificates headers.
    let front = 3 * MAX_HEADER + fixed.len();
    let hint = entries.size_hint().0.min(1 << 24);
    let mut buf = Vec::with_capacity(front + hint * TYPICAL_ENTRY + extensions.len() + 256);
    buf.resize(front, 0);

    let mut order = SerialOrder::default();
    let mut count = 0usize;
    for entry in entries {
        let serial = strip_zeros(entry.serial);
        order.check(serial)?;
        encode_entry(&mut buf, serial, &entry)?;
        count += 1;
    }
    let entries_len = buf.len() - front;
    buf.extend_from_slice(&extensions);

    let revoked_hdr_len = if count > 0 {
        header_len(entries_len)
    } else {
        0
    };
    let tbs_len = fixed.len() + revoked_hdr_len + entries_len + extensions.len();
    if tbs_len > MAX_LEN - 1024 {
        return Err(CrlError::TooLarge);
    }
    let mut hdr = [0u8; MAX_HEADER];
    let mut at = front;
    if count > 0 {
        let n = header(&mut hdr, 0x30, entries_len);
        at -= n;
        buf[at..at + n].copy_from_slice(&hdr[..n]);
    }
    at -= fixed.len();
    buf[at..at + fixed.len()].copy_from_slice(&fixed);
    let n = header(&mut hdr, 0x30, tbs_len);
    at -= n;
    buf[at..at + n].copy_from_slice(&hdr[..n]);
    let tbs_start = at;

    let signature = signer.sign(&buf[tbs_start..]).map_err(CrlError::Signing)?;
    signer.signature_algorithm().encode_to_vec(&mut buf)?;
    push_header(&mut buf, 0x03, signature.len() + 1);
    buf.push(0);
    buf.extend_from_slice(&signature);

    let outer_len = buf.len() - tbs_start;
    if outer_len > MAX_LEN {
        return Err(CrlError::TooLarge);
    }
    let n = header(&mut hdr, 0x30, outer_len);
    let start = tbs_start - n;
    buf[start..tbs_start].copy_from_slice(&hdr[..n]);
    buf.copy_within(start.., 0);
    buf.truncate(buf.len() - start);
    buf.shrink_to_fit();
    Ok(buf)
}

/// Appends one revokedCertificates element; `serial` is already stripped and checked.
fn encode_entry(
    buf: &mut Vec<u8>,
    serial: &[u8],
    entry: &RevokedEntry<'_>,
) -> Result<(), CrlError> {
    let time = TimeTlv::rfc5280(entry.revocation_time)?;
    let reason = match entry.reason {
        None | Some(CrlReason::Unspecified) => None,
        // RFC 5280 5.3.1: removeFromCRL is for delta CRLs only; on a full CRL relying parties
        // would treat the entry as revoked, the opposite of what it means.
        Some(CrlReason::RemoveFromCrl) => return Err(CrlError::RemoveFromCrlOnFullCrl),
        Some(r) => Some(r.code()),
    };
    let invalidity = entry
        .invalidity_date
        .map(TimeTlv::generalized)
        .transpose()?;
    let ext_len = reason.map_or(0, |_| REASON_EXT.len() + 1)
        + invalidity.map_or(0, |_| INVALIDITY_EXT.len() + 17);
    let serial_len = uint_len(serial);
    let len = 2 + serial_len + time.as_bytes().len() + if ext_len > 0 { 2 + ext_len } else { 0 };

    // Every length here is below 128, so each header is two octets.
    let mut e = [0u8; MAX_ENTRY];
    let mut i = 0;
    let mut put = |bytes: &[u8]| {
        e[i..i + bytes.len()].copy_from_slice(bytes);
        i += bytes.len();
    };
    put(&[0x30, len as u8, 0x02, serial_len as u8]);
    if serial_len > serial.len() {
        put(&[0]);
    }
    put(serial);
    put(time.as_bytes());
    if ext_len > 0 {
        put(&[0x30, ext_len as u8]);
        if let Some(code) = reason {
            put(&REASON_EXT);
            put(&[code]);
        }
        if let Some(t) = &invalidity {
            put(&INVALIDITY_EXT);
            put(t.as_bytes());
        }
    }
    buf.extend_from_slice(&e[..i]);
    Ok(())
}

/// Checks that serials come strictly ascending, numerically or bytewise (whichever order
/// the input keeps), which rules out duplicates without remembering more than the last one.
struct SerialOrder {
    prev: [u8; MAX_SERIAL_LEN],
    prev_len: usize,
    first: bool,
    numeric: bool,
    bytewise: bool,
}

impl Default for SerialOrder {
    fn default() -> Self {
        Self {
            prev: [0; MAX_SERIAL_LEN],
            prev_len: 0,
            first: true,
            numeric: true,
            bytewise: true,
        }
    }
}

impl SerialOrder {
    fn check(&mut self, serial: &[u8]) -> Result<(), CrlError> {
        if serial.is_empty() {
            return Err(CrlError::ZeroSerial);
        }
        if serial.len() > MAX_SERIAL_LEN {
            return Err(CrlError::SerialTooLong(serial.len()));
        }
        let prev = &self.prev[..self.prev_len];
        if !self.first {
            let bytewise = serial.cmp(prev);
            if bytewise == Ordering::Equal {
                return Err(CrlError::DuplicateSerial(hex(serial)));
            }
            let numeric = serial.len().cmp(&prev.len()).then(bytewise);
            self.bytewise &= bytewise == Ordering::Greater;
            self.numeric &= numeric == Ordering::Greater;
            if !self.bytewise && !self.numeric {
                return Err(CrlError::NotSorted(hex(serial), hex(prev)));
            }
        }
        self.first = false;
        self.prev[..serial.len()].copy_from_slice(serial);
        self.prev_len = serial.len();
        Ok(())
    }
}

/// The whole `[0] EXPLICIT Extensions` TLV: AKI, cRLNumber and, if asked, the IDP.
fn crl_extensions(issuer: &Certificate, params: &CrlParams) -> Result<Vec<u8>, CrlError> {
    let tbs = issuer.tbs_certificate();
    let key_id = match tbs.get_extension::<SubjectKeyIdentifier>()? {
        Some((_, ski)) => ski.0.as_bytes().to_vec(),
        None => DigestAlgorithm::Sha1
            .digest(tbs.subject_public_key_info().subject_public_key.raw_bytes()),
    };
    // AuthorityKeyIdentifier ::= SEQUENCE { keyIdentifier [0] IMPLICIT KeyIdentifier OPTIONAL, ... }
    let mut aki = Vec::with_capacity(key_id.len() + 4);
    push_header(&mut aki, 0x30, header_len(key_id.len()) + key_id.len());
    push_header(&mut aki, 0x80, key_id.len());
    aki.extend_from_slice(&key_id);

    let mut number = Vec::with_capacity(23);
    push_uint(&mut number, params.crl_number.as_bytes());

    let mut exts = vec![
        ext(OID_AKI, false, aki)?,
        ext(OID_CRL_NUMBER, false, number)?,
    ];
    if let Some(idp) = &params.idp {
        exts.push(ext(OID_IDP, true, idp_value(idp)?)?);
    }
    let list = exts.to_der()?;
    let mut out = Vec::with_capacity(list.len() + MAX_HEADER);
    push_header(&mut out, 0xa0, list.len());
    out.extend_from_slice(&list);
    Ok(out)
}

fn ext(
    oid: der::asn1::ObjectIdentifier,
    critical: bool,
    value: Vec<u8>,
) -> Result<Extension, CrlError> {
    Ok(Extension {
        extn_id: oid,
        critical,
        extn_value: OctetString::new(value)?,
    })
}

fn idp_value(idp: &IssuingDistributionPoint) -> Result<Vec<u8>, CrlError> {
    if idp.only_contains_user_certs && idp.only_contains_ca_certs {
        return Err(CrlError::InvalidIdp(
            "onlyContainsUserCerts and onlyContainsCACerts both set",
        ));
    }
    if idp.full_name.is_empty() && !idp.only_contains_user_certs && !idp.only_contains_ca_certs {
        // RFC 5280 5.2.5: the extension must not be an empty SEQUENCE.
        return Err(CrlError::InvalidIdp("nothing to say"));
    }
    let distribution_point = if idp.full_name.is_empty() {
        None
    } else {
        let names = idp
            .full_name
            .iter()
            .map(|uri| {
                Ia5String::new(uri)
                    .map(GeneralName::UniformResourceIdentifier)
                    .map_err(|_| CrlError::InvalidIdp("URI is not ASCII"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Some(DistributionPointName::FullName(names))
    };
    let value = x509_cert::ext::pkix::IssuingDistributionPoint {
        distribution_point,
        only_contains_user_certs: idp.only_contains_user_certs,
        only_contains_ca_certs: idp.only_contains_ca_certs,
        only_some_reasons: None,
        indirect_crl: false,
        only_contains_attribute_certs: false,
    };
    Ok(value.to_der()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_accepts_either_sort() {
        let numeric: [&[u8]; 4] = [&[0x02], &[0x10], &[0x01, 0x00], &[0x01, 0x01]];
        let bytewise: [&[u8]; 4] = [&[0x01, 0x00], &[0x01, 0x01], &[0x02], &[0x10]];
        for list in [numeric, bytewise] {
            let mut o = SerialOrder::default();
            for s in list {
                o.check(s).expect("sorted");
            }
        }
        let mut o = SerialOrder::default();
        o.check(&[0x02]).expect("first");
        o.check(&[0x01, 0x00]).expect("numerically after");
        assert!(matches!(o.check(&[0x03]), Err(CrlError::NotSorted(..))));
        let mut o = SerialOrder::default();
        o.check(&[0x05]).expect("first");
        assert!(matches!(
            o.check(&[0x05]),
            Err(CrlError::DuplicateSerial(_))
        ));
        assert!(matches!(o.check(&[]), Err(CrlError::ZeroSerial)));
        assert!(matches!(
            o.check(&[1; 21]),
            Err(CrlError::SerialTooLong(21))
        ));
    }
}
