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
        pkix::{ExtendedKeyUsage, KeyUsage},
    },
};

use super::asn1::{
    BasicOcspResponse, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus,
    ResponderId, ResponseBytes, ResponseData, RevokedInfo, SingleResponse, issuer_hashes,
};
use crate::{
    AlgorithmPolicy, CrlReason, DigestAlgorithm, Error, Result, Signer, algorithm::SignatureError,
    cert, oid, signer::key_matches,
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

/// When the statuses of a response were known and when it is signed: RFC 6960 4.2.2.1
/// defines thisUpdate as "the most recent time at which the status being indicated is known
/// by the responder to have been correct" and producedAt as "the time at which the OCSP
/// responder signed this response". A [`SystemTime`] converts into both at once, right for a
/// status looked up just now.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use gica_pki::ocsp::ResponseTimes;
/// let now = SystemTime::now();
/// let times = ResponseTimes { this_update: now - Duration::from_secs(30), produced_at: now };
/// assert_eq!(ResponseTimes::from(now), ResponseTimes { this_update: now, produced_at: now });
/// # let _ = times;
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct ResponseTimes {
    /// thisUpdate of every SingleResponse; nextUpdate is this plus the configured validity.
    pub this_update: SystemTime,
    /// producedAt: the signing time. Never before `this_update`.
    pub produced_at: SystemTime,
}

impl From<SystemTime> for ResponseTimes {
    fn from(now: SystemTime) -> Self {
        Self {
            this_update: now,
            produced_at: now,
        }
    }
}

/// Why a delegated responder certificate is refused (RFC 6960 4.2.2.2).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DelegateError {
    /// Its issuer name is not the subject of the CA it answers for.
    #[error("not issued by the CA it answers for")]
    NotIssuedByCa,
    /// The CA's key did not sign it.
    #[error("its signature does not verify with the CA's key: {0}")]
    Signature(#[source] SignatureError),
    /// notBefore is after `now`.
    #[error("not valid before {} (now {})", crate::Rfc3339(*.not_before), crate::Rfc3339(*.now))]
    NotYetValid {
        /// notBefore.
        not_before: SystemTime,
        /// The time checked.
        now: SystemTime,
    },
    /// notAfter is before `now`.
    #[error("expired at {} (now {})", crate::Rfc3339(*.not_after), crate::Rfc3339(*.now))]
    Expired {
        /// notAfter.
        not_after: SystemTime,
        /// The time checked.
        now: SystemTime,
    },
    /// No extendedKeyUsage id-kp-OCSPSigning.
    #[error("lacks extendedKeyUsage id-kp-OCSPSigning")]
    NoOcspSigning,
    /// A keyUsage extension without digitalSignature.
    #[error("keyUsage is present without digitalSignature")]
    NoDigitalSignature,
    /// An extension it carries does not decode.
    #[error("undecodable extension: {0}")]
    Extension(#[source] der::Error),
}

/// Something a delegated responder certificate lacks that does not stop it from signing, but
/// that relying parties may stumble on; a server logs these at startup.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum DelegateWarning {
    /// No id-pkix-ocsp-nocheck (RFC 6960 4.2.2.2.1): clients may try to check the responder
    /// certificate's own revocation status, by asking this same responder.
    NoCheckMissing,
}

impl std::fmt::Display for DelegateWarning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NoCheckMissing => f.write_str(
                "the delegated responder certificate has no id-pkix-ocsp-nocheck extension",
            ),
        }
    }
}

/// Why a responder could not be built or could not sign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ResponderError {
    /// The signing key is not the key of the responder certificate.
    #[error("the signing key does not match the responder certificate")]
    KeyMismatch,
    /// The delegated responder certificate is unfit.
    #[error("delegated responder certificate: {0}")]
    Delegate(#[from] DelegateError),
    /// An answer names a certificate of another issuer (RFC 6960 4.2.2.2: only the issuer
    /// or its delegate may answer for it).
    #[error("answer {index} names a certificate of another issuer")]
    NotServed {
        /// Position among the answers.
        index: usize,
        /// The CertID.
        cert_id: Box<CertId>,
    },
    /// thisUpdate after producedAt.
    #[error("thisUpdate {} is after producedAt {}", crate::Rfc3339(*.this_update), crate::Rfc3339(*.produced_at))]
    ThisUpdateAfterProducedAt {
        /// thisUpdate asked for.
        this_update: SystemTime,
        /// producedAt asked for.
        produced_at: SystemTime,
    },
    /// A time GeneralizedTime cannot hold (before 1970, after 9999).
    #[error("time {} cannot be encoded: {source}", crate::Rfc3339(*.time))]
    Time {
        /// The time.
        time: SystemTime,
        /// Why.
        source: der::Error,
    },
    /// Encoding failed.
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    /// The signer failed.
    #[error("signing: {0}")]
    Signing(#[source] Error),
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
    /// OCSPSigning (and keyUsage digitalSignature if it has keyUsage), whose key is `signer`;
    /// it is included in every response.
    ///
    /// This does not look at the delegate's validity period; [`Responder::checked`] does, and
    /// reports what the delegate lacks.
    pub fn new(
        issuer: Certificate,
        delegate: Option<Certificate>,
        signer: Arc<dyn Signer>,
        config: ResponderConfig,
    ) -> Result<Self, ResponderError> {
        let signer_cert = delegate.as_ref().unwrap_or(&issuer);
        if !key_matches(
            signer.as_ref(),
            signer_cert.tbs_certificate().subject_public_key_info(),
        ) {
            return Err(ResponderError::KeyMismatch);
        }
        if let Some(d) = &delegate {
            check_delegate_certificate(d, &issuer, &AlgorithmPolicy::default())?;
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
        let mut hashes = Vec::with_capacity(DigestAlgorithm::ALL.len());
        for d in DigestAlgorithm::ALL {
            let (n, k) = issuer_hashes(&issuer, d).map_err(|e| match e {
                Error::Der(e) => ResponderError::Der(e),
                e => ResponderError::Signing(e),
            })?;
            hashes.push((d, n, k));
        }
        Ok(Self {
            issuer,
            hashes,
            signer,
            certs: delegate.map(|d| vec![d]),
            responder_id,
            config,
        })
    }

    /// [`Responder::new`], also refusing a delegate that is not valid at `now`, and listing
    /// what a delegate lacks that relying parties may need (log these).
    ///
    /// ```
    /// use std::{sync::Arc, time::SystemTime};
    /// use gica_pki::{SoftwareSigner, Signer, certgen::CertificateParams, ocsp::*};
    /// let ca_key = SoftwareSigner::generate_p256().unwrap();
    /// let ca = CertificateParams::ca("CN=CA", std::time::SystemTime::now(), 30).self_signed(&ca_key).unwrap();
    /// let key = Arc::new(SoftwareSigner::generate_p256().unwrap());
    /// let mut params = CertificateParams::leaf("CN=OCSP", std::time::SystemTime::now(), 30);
    /// params.extended_key_usage = Some((false, vec![gica_pki::oid::KP_OCSP_SIGNING]));
    /// let delegate = params.signed_by(key.public_key(), &ca, &ca_key).unwrap();
    /// let (_responder, warnings) =
    ///     Responder::checked(ca, Some(delegate), key, ResponderConfig::default(), SystemTime::now())
    ///         .unwrap();
    /// assert_eq!(warnings, [DelegateWarning::NoCheckMissing]);
    /// ```
    pub fn checked(
        issuer: Certificate,
        delegate: Option<Certificate>,
        signer: Arc<dyn Signer>,
        config: ResponderConfig,
        now: SystemTime,
    ) -> Result<(Self, Vec<DelegateWarning>), ResponderError> {
        let mut warnings = Vec::new();
        if let Some(d) = &delegate {
            let (not_before, not_after) = cert::validity(d);
            if now < not_before {
                return Err(DelegateError::NotYetValid { not_before, now }.into());
            }
            if now > not_after {
                return Err(DelegateError::Expired { not_after, now }.into());
            }
            let nocheck = d
                .tbs_certificate()
                .extensions()
                .is_some_and(|exts| exts.iter().any(|e| e.extn_id == oid::OCSP_NOCHECK));
            if !nocheck {
                warnings.push(DelegateWarning::NoCheckMissing);
            }
        }
        Ok((Self::new(issuer, delegate, signer, config)?, warnings))
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

    /// Answers one DER OCSPRequest with a DER OCSPResponse, looking each CertID up with
    /// `lookup`: a request that does not parse or exceeds the limits is `malformedRequest`, one
    /// about certificates of another issuer `unauthorized`, a signing failure
    /// `internalError`. The statuses are taken as known at `now`, which is also producedAt.
    /// A lookup that can fail (a store that is down) wants [`parse_request_with`] and
    /// [`Responder::sign`] instead, to answer `tryLater`.
    ///
    /// ```
    /// use std::{collections::HashMap, sync::Arc, time::SystemTime};
    /// use gica_pki::{DigestAlgorithm, SoftwareSigner, Signer, certgen::CertificateParams};
    /// use gica_pki::{der::Encode, ocsp::*};
    /// let ca_key = Arc::new(SoftwareSigner::generate_p256().unwrap());
    /// let ca = CertificateParams::ca("CN=CA", std::time::SystemTime::now(), 30).self_signed(ca_key.as_ref()).unwrap();
    /// let leaf = CertificateParams::leaf("CN=leaf", std::time::SystemTime::now(), 30)
    ///     .signed_by(ca_key.public_key(), &ca, ca_key.as_ref())
    ///     .unwrap();
    /// // The caller's store: serial magnitude -> status.
    /// let serial = leaf.tbs_certificate().serial_number().as_bytes().to_vec();
    /// let store = HashMap::from([(serial, Status::Good)]);
    ///
    /// let responder = Responder::new(ca.clone(), None, ca_key, ResponderConfig::default()).unwrap();
    /// let request = OcspRequestBuilder::new()
    ///     .certificate(&leaf, &ca, DigestAlgorithm::Sha256).unwrap()
    ///     .with_nonce().unwrap()
    ///     .build();
    /// let now = SystemTime::now();
    /// let response = responder.respond(&request.to_der().unwrap(), |id| {
    ///     id.serial_magnitude()
    ///         .and_then(|s| store.get(s).copied())
    ///         .unwrap_or(Status::NotIssued)
    /// }, now);
    ///
    /// let answers = OcspVerifier::new(ca).verify(&response, &request, now).unwrap();
    /// assert_eq!(answers[0].status, VerifiedStatus::Good);
    /// ```
    pub fn respond(
        &self,
        request_der: &[u8],
        mut lookup: impl FnMut(&CertId) -> Status,
        now: SystemTime,
    ) -> Vec<u8> {
        let parsed = match parse_request_with(request_der, self.config.request_limits()) {
            Ok(p) => p,
            Err(status) => return status.response_der().to_vec(),
        };
        if !parsed.cert_ids.iter().all(|id| self.serves(id)) {
            return OcspResponseStatus::Unauthorized.response_der().to_vec();
        }
        let answers: Vec<_> = parsed
            .cert_ids
            .into_iter()
            .map(|id| {
                let status = lookup(&id);
                (id, status)
            })
            .collect();
        self.sign(&answers, parsed.nonce.as_ref(), now)
            .unwrap_or_else(|_| OcspResponseStatus::InternalError.response_der().to_vec())
    }

    /// Signs one response covering `answers` in order; `nonce` is echoed as received. Every
    /// CertID must be one this responder [serves](Responder::serves). `times` gives thisUpdate
    /// and producedAt (whole seconds); nextUpdate = thisUpdate + validity.
    ///
    /// ```
    /// # use std::{sync::Arc, time::{Duration, SystemTime}};
    /// # use gica_pki::{DigestAlgorithm, SoftwareSigner, certgen::CertificateParams, ocsp::*};
    /// # let key = Arc::new(SoftwareSigner::generate_p256().unwrap());
    /// # let ca = CertificateParams::ca("CN=CA", std::time::SystemTime::now(), 30).self_signed(key.as_ref()).unwrap();
    /// # let other = CertificateParams::ca("CN=Other", std::time::SystemTime::now(), 30).self_signed(key.as_ref()).unwrap();
    /// let responder = Responder::new(ca.clone(), None, key, ResponderConfig::default()).unwrap();
    /// let id = CertId::new(&ca, serial_of(&ca).unwrap(), DigestAlgorithm::Sha256).unwrap();
    /// let now = SystemTime::now();
    /// // Status read from the store a minute ago, signed now.
    /// let known = ResponseTimes { this_update: now - Duration::from_secs(60), produced_at: now };
    /// responder.sign(&[(id, Status::Good)], None, known).unwrap();
    /// // Another CA's certificate is refused.
    /// let theirs = CertId::new(&other, serial_of(&other).unwrap(), DigestAlgorithm::Sha256).unwrap();
    /// assert!(matches!(
    ///     responder.sign(&[(theirs, Status::Good)], None, now),
    ///     Err(ResponderError::NotServed { index: 0, .. })
    /// ));
    /// ```
    pub fn sign(
        &self,
        answers: &[(CertId, Status)],
        nonce: Option<&Extension>,
        times: impl Into<ResponseTimes>,
    ) -> Result<Vec<u8>, ResponderError> {
        let times = times.into();
        if let Some(index) = answers.iter().position(|(id, _)| !self.serves(id)) {
            return Err(ResponderError::NotServed {
                index,
                cert_id: Box::new(answers[index].0.clone()),
            });
        }
        let this_update = whole_seconds(times.this_update)?;
        let produced_at = whole_seconds(times.produced_at)?;
        if this_update > produced_at {
            return Err(ResponderError::ThisUpdateAfterProducedAt {
                this_update: times.this_update,
                produced_at: times.produced_at,
            });
        }
        let next_update = generalized(crate::time::add_saturating(
            this_update,
            self.config.validity,
        ))?;
        let (this_update, produced_at) = (generalized(this_update)?, generalized(produced_at)?);
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
                        revocation_time: generalized(UNIX_EPOCH)?,
                        revocation_reason: Some(CrlReason::CertificateHold),
                    })
                }
                Status::Revoked { time, reason } => CertStatus::Revoked(RevokedInfo {
                    revocation_time: generalized(*time)?,
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
            produced_at,
            responses,
            response_extensions: (!exts.is_empty()).then_some(exts),
        };
        let tbs = data.to_der()?;
        let signature = self.signer.sign(&tbs).map_err(ResponderError::Signing)?;
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

/// `t` truncated to whole seconds (RFC 5280 times carry no fraction).
fn whole_seconds(t: SystemTime) -> Result<SystemTime, ResponderError> {
    let since = t
        .duration_since(UNIX_EPOCH)
        .map_err(|_| ResponderError::Time {
            time: t,
            source: der::ErrorKind::DateTime.into(),
        })?;
    Ok(UNIX_EPOCH + Duration::from_secs(since.as_secs()))
}

fn generalized(t: SystemTime) -> Result<GeneralizedTime, ResponderError> {
    GeneralizedTime::from_system_time(t).map_err(|source| ResponderError::Time { time: t, source })
}

/// The store id of an issuer: lowercase hex SHA-256 of its subjectPublicKey bits. Stable
/// across renewals of the CA certificate that keep its key.
///
/// ```
/// use gica_pki::{SoftwareSigner, certgen::CertificateParams, ocsp::issuer_id};
/// let key = SoftwareSigner::generate_p256().unwrap();
/// let ca = CertificateParams::ca("CN=CA", std::time::SystemTime::now(), 30).self_signed(&key).unwrap();
/// let id = issuer_id(&ca);
/// assert_eq!(id.len(), 64);
/// assert!(id.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
/// ```
pub fn issuer_id(cert: &Certificate) -> String {
    use std::fmt::Write;
    let digest = DigestAlgorithm::Sha256.digest(
        cert.tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .raw_bytes(),
    );
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A delegated responder certificate, as far as it can be judged without a clock: issued and
/// signed by `issuer`, extendedKeyUsage OCSPSigning, keyUsage (if present) digitalSignature.
pub fn check_delegate_certificate(
    delegate: &Certificate,
    issuer: &Certificate,
    policy: &AlgorithmPolicy,
) -> Result<(), DelegateError> {
    let tbs = delegate.tbs_certificate();
    if tbs.issuer() != issuer.tbs_certificate().subject() {
        return Err(DelegateError::NotIssuedByCa);
    }
    cert::verify_issued_by_with(delegate, issuer, policy).map_err(DelegateError::Signature)?;
    match tbs
        .get_extension::<ExtendedKeyUsage>()
        .map_err(DelegateError::Extension)?
    {
        Some((_, eku)) if eku.0.contains(&oid::KP_OCSP_SIGNING) => {}
        _ => return Err(DelegateError::NoOcspSigning),
    }
    match tbs
        .get_extension::<KeyUsage>()
        .map_err(DelegateError::Extension)?
    {
        Some((_, ku)) if !ku.digital_signature() => Err(DelegateError::NoDigitalSignature),
        _ => Ok(()),
    }
}
