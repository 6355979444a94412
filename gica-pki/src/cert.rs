//! Certificate helpers: PEM loading, extension checks and path validation at a given time.

use std::time::SystemTime;

use der::{Decode, Encode};
use x509_cert::{
    Certificate,
    ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages},
};

use crate::{Error, Result, oid, signer::pem_blocks, verify_signature};

/// Longest certification path gica follows (leaf and anchor included).
pub const MAX_PATH_LEN: usize = 8;

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

/// Checks the RFC 3161 2.3 rule: an extendedKeyUsage extension, marked critical, holding
/// id-kp-timeStamping and nothing else.
pub fn check_time_stamping_eku(cert: &Certificate) -> Result<()> {
    match cert.tbs_certificate().get_extension::<ExtendedKeyUsage>()? {
        None => Err(Error::Certificate(
            "no extendedKeyUsage extension; a TSA certificate needs a critical timeStamping EKU"
                .into(),
        )),
        Some((false, _)) => Err(Error::Certificate(
            "extendedKeyUsage is not critical; RFC 3161 2.3 requires it to be".into(),
        )),
        Some((true, eku)) if eku.0 == [oid::KP_TIME_STAMPING] => Ok(()),
        Some((true, eku)) => Err(Error::Certificate(format!(
            "extendedKeyUsage must be timeStamping only, found {:?}",
            eku.0.iter().map(ToString::to_string).collect::<Vec<_>>()
        ))),
    }
}

/// Verifies that `issuer`'s key signed `cert`.
pub fn verify_issued_by(cert: &Certificate, issuer: &Certificate) -> Result<()> {
    let tbs = cert.tbs_certificate().to_der()?;
    let sig = cert
        .signature()
        .as_bytes()
        .ok_or(Error::BadSignature("certificate signature has unused bits"))?;
    verify_signature(
        issuer.tbs_certificate().subject_public_key_info(),
        cert.signature_algorithm(),
        None,
        &tbs,
        sig,
    )
}

/// Whether `cert` may issue with `below` intermediate CA certificates under it in the path:
/// basicConstraints cA, pathLenConstraint (RFC 5280 4.2.1.9, 6.1.4 (l)-(m)) and keyCertSign.
fn can_issue(cert: &Certificate, below: usize) -> bool {
    let tbs = cert.tbs_certificate();
    let ca = matches!(
        tbs.get_extension::<BasicConstraints>(),
        Ok(Some((_, bc))) if bc.ca && bc.path_len_constraint.is_none_or(|n| below <= usize::from(n))
    );
    let ku_ok = match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) => ku.0.contains(KeyUsages::KeyCertSign),
        Ok(None) => true,
        Err(_) => false,
    };
    ca && ku_ok
}

/// Issuer and subject are the same name (a CA's key rollover certificate, say).
fn self_issued(cert: &Certificate) -> bool {
    let tbs = cert.tbs_certificate();
    tbs.issuer() == tbs.subject()
}

/// Extensions [`verify_path`] understands; a certificate with any other critical extension
/// (name constraints, policy constraints, ...) is refused, as RFC 5280 4.2 requires of a
/// path validator that does not process it.
const UNDERSTOOD_EXTENSIONS: [der::asn1::ObjectIdentifier; 6] = [
    const_oid::db::rfc5280::ID_CE_BASIC_CONSTRAINTS,
    const_oid::db::rfc5280::ID_CE_KEY_USAGE,
    const_oid::db::rfc5280::ID_CE_EXT_KEY_USAGE,
    const_oid::db::rfc5280::ID_CE_SUBJECT_ALT_NAME,
    const_oid::db::rfc5280::ID_CE_SUBJECT_KEY_IDENTIFIER,
    const_oid::db::rfc5280::ID_CE_AUTHORITY_KEY_IDENTIFIER,
];

/// The first critical extension of `cert` that [`verify_path`] does not understand.
fn unknown_critical_extension(cert: &Certificate) -> Option<der::asn1::ObjectIdentifier> {
    cert.tbs_certificate()
        .extensions()
        .into_iter()
        .flatten()
        .find(|e| e.critical && !UNDERSTOOD_EXTENSIONS.contains(&e.extn_id))
        .map(|e| e.extn_id)
}

/// Most signature checks one path search may make: hostile bundles of certificates that all
/// name each other must not turn the search exponential.
pub const MAX_SIGNATURE_CHECKS: usize = 64;

/// Finds and checks a path from `leaf` through `intermediates` to one of `anchors`, every
/// certificate valid at `at` (for a time-stamp: its genTime, not now). Returns the path, leaf
/// first, anchor last. The search tries each (certificate, issuer) pair at most once and
/// gives up after [`MAX_SIGNATURE_CHECKS`] signature checks.
///
/// Intermediates must be CAs with keyCertSign whose pathLenConstraint allows the CAs below
/// them; the leaf and the intermediates may carry no critical extension besides
/// basicConstraints, keyUsage, extendedKeyUsage, subjectAltName and the key identifiers.
/// The anchors are trusted as given (RFC 5280 6.1: trust anchor information is input).
pub fn verify_path(
    leaf: &Certificate,
    intermediates: &[Certificate],
    anchors: &[Certificate],
    at: SystemTime,
) -> Result<Vec<Certificate>> {
    let mut search = Search {
        intermediates,
        anchors,
        at,
        tried: Vec::new(),
        checks: 0,
    };
    if let Some(oid) = unknown_critical_extension(leaf) {
        return Err(Error::Path(format!(
            "{} has a critical extension {oid} that is not understood",
            leaf.tbs_certificate().subject()
        )));
    }
    let mut path = vec![leaf.clone()];
    if search.extend(&mut path)? {
        Ok(path)
    } else {
        Err(Error::Path("no valid path to a trust anchor".into()))
    }
}

struct Search<'a> {
    intermediates: &'a [Certificate],
    anchors: &'a [Certificate],
    at: SystemTime,
    /// (child, issuer) pairs already tried: a dead end once is a dead end always.
    tried: Vec<(usize, usize)>,
    checks: usize,
}

impl Search<'_> {
    fn signed(&mut self, cert: &Certificate, issuer: &Certificate) -> Result<bool> {
        self.checks += 1;
        if self.checks > MAX_SIGNATURE_CHECKS {
            return Err(Error::Path(
                "path search gave up: too many candidate issuers".into(),
            ));
        }
        Ok(verify_issued_by(cert, issuer).is_ok())
    }

    fn extend(&mut self, path: &mut Vec<Certificate>) -> Result<bool> {
        let Some(current) = path.last().cloned() else {
            return Ok(false);
        };
        if !valid_at(&current, self.at) {
            if path.len() > 1 {
                return Ok(false); // another issuer candidate may still be valid
            }
            return Err(Error::Path(format!(
                "{} is not valid at the time checked",
                current.tbs_certificate().subject()
            )));
        }
        if self.anchors.contains(&current) {
            return Ok(true);
        }
        let issuer_name = current.tbs_certificate().issuer().clone();
        for anchor in self
            .anchors
            .iter()
            .filter(|a| a.tbs_certificate().subject() == &issuer_name)
        {
            if valid_at(anchor, self.at) && self.signed(&current, anchor)? {
                path.push(anchor.clone());
                return Ok(true);
            }
        }
        if path.len() >= MAX_PATH_LEN {
            return Ok(false);
        }
        let child = self
            .intermediates
            .iter()
            .position(|c| *c == current)
            .unwrap_or(usize::MAX);
        for (idx, cand) in self.intermediates.iter().enumerate() {
            if cand.tbs_certificate().subject() != &issuer_name
                || path.contains(cand)
                // Intermediate CAs under `cand`: the path so far less the leaf, not counting
                // self-issued ones (RFC 5280 4.2.1.9, 6.1.4 (l)).
                || !can_issue(cand, path[1..].iter().filter(|c| !self_issued(c)).count())
                || unknown_critical_extension(cand).is_some()
                || self.tried.contains(&(child, idx))
            {
                continue;
            }
            self.tried.push((child, idx));
            if !self.signed(&current, cand)? {
                continue;
            }
            path.push(cand.clone());
            if self.extend(path)? {
                return Ok(true);
            }
            path.pop();
        }
        Ok(false)
    }
}

/// `cert` as a PEM `CERTIFICATE` block.
pub fn to_pem(cert: &Certificate) -> Result<String> {
    der::pem::encode_string("CERTIFICATE", der::pem::LineEnding::LF, &cert.to_der()?)
        .map_err(|e| Error::Pem(e.to_string()))
}
