//! The responder side, sans-I/O: parse a request into CertIDs, sign one BasicOCSPResponse for
//! the statuses the caller looked up (RFC 6960 2, 4.2; RFC 5019; RFC 8954).

use std::{
    sync::Arc,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use der::{
    Decode, Encode,
    asn1::{BitString, GeneralizedTime, Null, OctetString},
};
use x509_cert::{
    Certificate,
    ext::{
        Extension,
        pkix::{ExtendedKeyUsage, KeyUsages},
    },
};

use super::asn1::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus,
    ResponderId, ResponseBytes, ResponseData, RevokedInfo, SingleResponse, issuer_hashes,
};
use crate::{
    CrlReason, DigestAlgorithm, Error, Result, Signer,
    cert::{self, CertificateError},
    oid,
    signer::key_matches,
};

/// Longest nonce accepted by default: 32 octets, the ceiling of RFC 8954 2.1 and the length
/// RFC 9654 2.1 tells clients to send.
pub const MAX_NONCE_LEN: usize = 32;

/// Longest nonce any configuration may accept: RFC 9654 2.1 (which obsoletes RFC 8954)
/// allows nonces of 1 to 128 octets; anything longer is always `malformedRequest`.
pub const RFC9654_MAX_NONCE_LEN: usize = 128;

/// Limits applied while parsing a request.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct RequestLimits {
    /// Most CertIDs in one request (default 16).
    pub max_cert_ids: usize,
    /// Longest nonce echoed (default [`MAX_NONCE_LEN`]; clamped to
    /// [`RFC9654_MAX_NONCE_LEN`]). Longer nonces are `malformedRequest`.
    pub max_nonce_len: usize,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            max_cert_ids: 16,
            max_nonce_len: MAX_NONCE_LEN,
        }
    }
}

/// A request that parsed and passed the responder's limits.
#[derive(Clone, Debug)]
pub struct ParsedRequest {
    /// The CertIDs asked about, in request order.
    pub cert_ids: Vec<CertId>,
    /// The nonce extension exactly as received, to be echoed.
    pub nonce: Option<Extension>,
}

/// Parses an OCSPRequest with the default nonce limit: see [`parse_request_with`].
///
/// ```
/// use gica_pki::ocsp::{parse_request, OcspResponseStatus};
/// assert_eq!(parse_request(b"junk", 16).unwrap_err(), OcspResponseStatus::MalformedRequest);
/// ```
pub fn parse_request(
    der: &[u8],
    max_cert_ids: usize,
) -> std::result::Result<ParsedRequest, OcspResponseStatus> {
    parse_request_with(
        der,
        RequestLimits {
            max_cert_ids,
            ..RequestLimits::default()
        },
    )
}

/// Parses an OCSPRequest: version 1, at least one and at most `limits.max_cert_ids` CertIDs,
/// at most one nonce, of 1 to `limits.max_nonce_len` octets. A critical extension the
/// responder does not understand (anything but the nonce among requestExtensions, anything
/// at all among singleRequestExtensions) is refused (RFC 6960 4.4: unrecognized extensions
/// are ignored unless critical). Everything refused is `malformedRequest`.
///
/// ```
/// use gica_pki::ocsp::{OcspResponseStatus, RequestLimits, parse_request_with};
/// let limits = RequestLimits { max_nonce_len: 64, ..RequestLimits::default() };
/// assert_eq!(
///     parse_request_with(&[0x30, 0x00], limits).unwrap_err(),
///     OcspResponseStatus::MalformedRequest
/// );
/// ```
pub fn parse_request_with(
    der: &[u8],
    limits: RequestLimits,
) -> std::result::Result<ParsedRequest, OcspResponseStatus> {
    let malformed = OcspResponseStatus::MalformedRequest;
    let max_nonce_len = limits.max_nonce_len.clamp(1, RFC9654_MAX_NONCE_LEN);
    let req = OcspRequest::from_der(der).map_err(|_| malformed)?;
    let tbs = req.tbs_request;
    if tbs.version != 0
        || tbs.request_list.is_empty()
        || tbs.request_list.len() > limits.max_cert_ids
    {
        return Err(malformed);
    }
    let nonce = match tbs.request_extensions {
        None => None,
        Some(exts) => {
            if exts
                .iter()
                .any(|e| e.critical && e.extn_id != oid::OCSP_NONCE)
            {
                return Err(malformed);
            }
            let mut nonces = exts.into_iter().filter(|e| e.extn_id == oid::OCSP_NONCE);
            let n = nonces.next();
            if nonces.next().is_some() {
                return Err(malformed);
            }
            if let Some(ext) = &n {
                let len = nonce_value(ext).len();
                if !(1..=max_nonce_len).contains(&len) {
                    return Err(malformed);
                }
            }
            n
        }
    };
    let mut cert_ids = Vec::with_capacity(tbs.request_list.len());
    for r in tbs.request_list {
        if r.single_request_extensions
            .iter()
            .flatten()
            .any(|e| e.critical)
        {
            return Err(malformed);
        }
        cert_ids.push(r.req_cert);
    }
    Ok(ParsedRequest { cert_ids, nonce })
}

/// The nonce octets of a nonce extension: the inner OCTET STRING (RFC 8954), or the raw
/// extnValue as some older clients send it.
pub fn nonce_value(ext: &Extension) -> &[u8] {
    let raw = ext.extn_value.as_bytes();
    match <&der::asn1::OctetStringRef>::from_der(raw) {
        Ok(inner) => inner.as_bytes(),
        Err(_) => raw,
    }
}

/// What the caller knows about one certificate.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum Status {
    /// Issued and not revoked.
    Good,
    /// Revoked.
    Revoked {
        /// revocationTime.
        time: SystemTime,
        /// revocationReason.
        reason: Option<CrlReason>,
    },
    /// The responder does not know (never `good` for that).
    Unknown,
    /// The issuer never issued this serial: answered as [`ResponderConfig::not_issued`] says.
    NotIssued,
}

/// How a serial the CA never issued is answered (RFC 6960 2.2).
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum NotIssuedPolicy {
    /// `unknown`.
    #[default]
    Unknown,
    /// `revoked`, revocationTime 1970-01-01, reason certificateHold, with the
    /// extended-revoke extension in the response.
    Revoked,
}

/// How ResponderID names the signer.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub enum ResponderIdKind {
    /// byKey: SHA-1 of the signer's public key (RFC 5019 recommends it).
    #[default]
    ByKey,
    /// byName: the signer certificate's subject.
    ByName,
}

/// Responder settings.
#[derive(Clone, Debug)]
pub struct ResponderConfig {
    /// Most CertIDs in one request.
    pub max_cert_ids: usize,
    /// nextUpdate - thisUpdate.
    pub validity: Duration,
    /// ResponderID form.
    pub responder_id: ResponderIdKind,
    /// Answer for serials never issued.
    pub not_issued: NotIssuedPolicy,
    /// Longest nonce echoed; see [`RequestLimits::max_nonce_len`].
    pub max_nonce_len: usize,
}

impl ResponderConfig {
    /// The parsing limits this configuration sets.
    pub fn request_limits(&self) -> RequestLimits {
        RequestLimits {
            max_cert_ids: self.max_cert_ids,
            max_nonce_len: self.max_nonce_len,
        }
    }
}

impl Default for ResponderConfig {
    fn default() -> Self {
        Self {
            max_cert_ids: 16,
            validity: Duration::from_secs(3600),
            responder_id: ResponderIdKind::ByKey,
            not_issued: NotIssuedPolicy::Unknown,
            max_nonce_len: MAX_NONCE_LEN,
        }
    }
}

/// Answers for one issuer, signed by the issuer itself or by a responder it delegated to.
#[derive(Debug)]
pub struct Responder {
    issuer: Certificate,
    hashes: Vec<(DigestAlgorithm, Vec<u8>, Vec<u8>)>,
    signer: Arc<dyn Signer>,
    certs: Option<Vec<Certificate>>,
    responder_id: ResponderId,
    config: ResponderConfig,
}

impl Responder {
    /// The key that signs responses (the issuer's or its delegate's).
    pub fn signer(&self) -> &Arc<dyn Signer> {
        &self.signer
    }

    /// A responder for `issuer`. With `delegate` = `None` the issuer's own key (`signer`) signs;
    /// otherwise `delegate` is a certificate issued by `issuer` with extendedKeyUsage
    /// OCSPSigning (and, to be useful, id-pkix-ocsp-nocheck), whose key is `signer`; it is
    /// included in every response.
    pub fn new(
        issuer: Certificate,
        delegate: Option<Certificate>,
        signer: Arc<dyn Signer>,
        config: ResponderConfig,
    ) -> Result<Self> {
        let signer_cert = delegate.as_ref().unwrap_or(&issuer);
        if !key_matches(
            signer.as_ref(),
            signer_cert.tbs_certificate().subject_public_key_info(),
        ) {
            return Err(CertificateError::KeyMismatch.into());
        }
        if let Some(d) = &delegate {
            check_delegate(d, &issuer, &crate::AlgorithmPolicy::default())?;
        }
        let responder_id = match config.responder_id {
            ResponderIdKind::ByKey => ResponderId::ByKey(OctetString::new(
                DigestAlgorithm::Sha1.digest(
                    signer_cert
                        .tbs_certificate()
                        .subject_public_key_info()
                        .subject_public_key
                        .raw_bytes(),
                ),
            )?),
            ResponderIdKind::ByName => {
                ResponderId::ByName(signer_cert.tbs_certificate().subject().clone())
            }
        };
        let hashes = DigestAlgorithm::ALL
            .into_iter()
            .map(|d| issuer_hashes(&issuer, d).map(|(n, k)| (d, n, k)))
            .collect::<Result<_>>()?;
        Ok(Self {
            issuer,
            hashes,
            signer,
            certs: delegate.map(|d| vec![d]),
            responder_id,
            config,
        })
    }

    /// The issuer served.
    pub fn issuer(&self) -> &Certificate {
        &self.issuer
    }

    /// The configuration.
    pub fn config(&self) -> &ResponderConfig {
        &self.config
    }

    /// Whether `id` names a certificate of this issuer (its name and key hashes, with any of
    /// SHA-1/256/384/512).
    pub fn serves(&self, id: &CertId) -> bool {
        DigestAlgorithm::from_algorithm_identifier(&id.hash_algorithm).is_some_and(|d| {
            self.hashes.iter().any(|(hd, n, k)| {
                *hd == d
                    && id.issuer_name_hash.as_bytes() == n.as_slice()
                    && id.issuer_key_hash.as_bytes() == k.as_slice()
            })
        })
    }

    /// Signs one response covering `answers` in order. `nonce` is echoed as received.
    /// thisUpdate = producedAt = `now` (whole seconds); nextUpdate = now + validity.
    pub fn sign(
        &self,
        answers: &[(CertId, Status)],
        nonce: Option<&Extension>,
        now: SystemTime,
    ) -> Result<Vec<u8>> {
        let now = now
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::Signing("clock before 1970".into()))?;
        let now = Duration::from_secs(now.as_secs());
        let this_update = GeneralizedTime::from_unix_duration(now)?;
        let next_update = GeneralizedTime::from_unix_duration(now + self.config.validity)?;
        let mut extended_revoke = false;
        let mut responses = Vec::with_capacity(answers.len());
        for (id, status) in answers {
            let cert_status = match status {
                Status::Good => CertStatus::Good(Null),
                Status::Unknown => CertStatus::Unknown(Null),
                Status::NotIssued if self.config.not_issued == NotIssuedPolicy::Unknown => {
                    CertStatus::Unknown(Null)
                }
                Status::NotIssued => {
                    extended_revoke = true;
                    CertStatus::Revoked(RevokedInfo {
                        revocation_time: GeneralizedTime::from_unix_duration(Duration::ZERO)?,
                        revocation_reason: Some(CrlReason::CertificateHold),
                    })
                }
                Status::Revoked { time, reason } => CertStatus::Revoked(RevokedInfo {
                    revocation_time: GeneralizedTime::from_system_time(*time)?,
                    revocation_reason: *reason,
                }),
            };
            responses.push(SingleResponse {
                cert_id: id.clone(),
                cert_status,
                this_update,
                next_update: Some(next_update),
                single_extensions: None,
            });
        }
        let mut exts: Vec<Extension> = nonce.into_iter().cloned().collect();
        if extended_revoke {
            exts.push(Extension {
                extn_id: oid::OCSP_EXTENDED_REVOKE,
                critical: false,
                extn_value: OctetString::new(Null.to_der()?)?,
            });
        }
        let data = ResponseData {
            version: 0,
            responder_id: self.responder_id.clone(),
            produced_at: this_update,
            responses,
            response_extensions: (!exts.is_empty()).then_some(exts),
        };
        let tbs = data.to_der()?;
        let signature = self.signer.sign(&tbs)?;
        let basic = BasicOcspResponse {
            tbs_response_data: data,
            signature_algorithm: self.signer.signature_algorithm().clone(),
            signature: BitString::from_bytes(&signature)?,
            certs: self.certs.clone(),
        };
        let resp = OcspResponse {
            response_status: OcspResponseStatus::Successful,
            response_bytes: Some(ResponseBytes {
                response_type: oid::OCSP_BASIC,
                response: OctetString::new(basic.to_der()?)?,
            }),
        };
        Ok(resp.to_der()?)
    }
}

/// A delegated responder certificate: issued by `issuer`, extendedKeyUsage OCSPSigning.
pub(crate) fn check_delegate(
    delegate: &Certificate,
    issuer: &Certificate,
    policy: &crate::AlgorithmPolicy,
) -> std::result::Result<(), CertificateError> {
    if delegate.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
        return Err(CertificateError::NotIssuedBy {
            issuer: issuer.tbs_certificate().subject().to_string(),
        });
    }
    cert::verify_issued_by_with(delegate, issuer, policy).map_err(CertificateError::Signature)?;
    match delegate
        .tbs_certificate()
        .get_extension::<ExtendedKeyUsage>()?
    {
        Some((_, eku)) if eku.0.contains(&oid::KP_OCSP_SIGNING) => {}
        Some((_, eku)) => {
            return Err(CertificateError::ExtendedKeyUsage {
                expected: oid::KP_OCSP_SIGNING,
                only: false,
                found: eku.0,
            });
        }
        None => {
            return Err(CertificateError::NoExtendedKeyUsage {
                expected: oid::KP_OCSP_SIGNING,
            });
        }
    }
    cert::check_key_usage(delegate, &[KeyUsages::DigitalSignature], "digitalSignature")
}
