//! The client side: building requests and verifying responses (RFC 6960 3.2, RFC 8954).

use std::time::{Duration, SystemTime};

use der::{
    Decode, Encode,
    asn1::{Int, OctetString},
};
use x509_cert::{Certificate, ext::Extension};

use super::{
    asn1::{
        BasicOcspResponseRaw, CertId, CertStatus, OcspRequest, OcspResponse, OcspResponseStatus,
        Request, ResponderId, ResponseData, SingleResponse, TbsRequest,
    },
    responder::{DelegateError, check_delegate_certificate, nonce_value},
};
use crate::{
    AlgorithmPolicy, CrlReason, DigestAlgorithm, Result, algorithm::SignatureError, cert, oid,
    time::add_saturating,
};

/// Builds an OCSPRequest.
///
/// ```
/// # let read = |f: &str| std::fs::read_to_string(format!("{}/../testdata/pki/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
/// use gica_pki::{DigestAlgorithm, cert::load_pem_certs, ocsp::OcspRequestBuilder};
/// let leaf = load_pem_certs(&read("tsa-p256.pem"))?.remove(0);
/// let issuer = load_pem_certs(&read("int-ca.pem"))?.remove(0);
/// let req = OcspRequestBuilder::new().certificate(&leaf, &issuer, DigestAlgorithm::Sha256)?.with_nonce()?.build();
/// assert_eq!(req.tbs_request.request_list.len(), 1);
/// # Ok::<(), gica_pki::Error>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct OcspRequestBuilder {
    ids: Vec<CertId>,
    nonce: Option<Vec<u8>>,
}

impl OcspRequestBuilder {
    /// An empty request.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks about `cert`, issued by `issuer`, with a CertID hashed by `digest`.
    pub fn certificate(
        mut self,
        cert: &Certificate,
        issuer: &Certificate,
        digest: DigestAlgorithm,
    ) -> Result<Self> {
        self.ids
            .push(CertId::for_certificate(cert, issuer, digest)?);
        Ok(self)
    }

    /// Asks about a CertID.
    #[must_use]
    pub fn cert_id(mut self, id: CertId) -> Self {
        self.ids.push(id);
        self
    }

    /// A random 32-octet nonce (RFC 8954 recommends 32).
    pub fn with_nonce(mut self) -> Result<Self> {
        let mut n = vec![0u8; 32];
        crate::signer::random(&mut n)?;
        self.nonce = Some(n);
        Ok(self)
    }

    /// This nonce.
    #[must_use]
    pub fn nonce(mut self, nonce: Vec<u8>) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// The request.
    pub fn build(self) -> OcspRequest {
        let ext = self.nonce.and_then(|n| {
            let inner = OctetString::new(n).ok()?.to_der().ok()?;
            Some(vec![Extension {
                extn_id: oid::OCSP_NONCE,
                critical: false,
                extn_value: OctetString::new(inner).ok()?,
            }])
        });
        OcspRequest {
            tbs_request: TbsRequest {
                version: 0,
                requestor_name: None,
                request_list: self
                    .ids
                    .into_iter()
                    .map(|id| Request {
                        req_cert: id,
                        single_request_extensions: None,
                    })
                    .collect(),
                request_extensions: ext,
            },
            optional_signature: None,
        }
    }
}

/// Why a response did not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum OcspVerifyError {
    /// Not DER, or not the structure expected.
    #[error("malformed {what}: {source}")]
    Malformed {
        /// Which structure.
        what: &'static str,
        /// The decoding error.
        source: der::Error,
    },
    /// responseStatus is not successful.
    #[error("responder answered {}", .0.name())]
    Status(OcspResponseStatus),
    /// responseType is not id-pkix-ocsp-basic.
    #[error("response type is not id-pkix-ocsp-basic")]
    NotBasic,
    /// The ResponderID names neither the issuer nor a certificate included in the response.
    #[error("the ResponderID names neither the issuer nor an included certificate")]
    UnknownSigner,
    /// The delegated responder certificate is not authorised (RFC 6960 4.2.2.2): not issued
    /// by the issuer, no OCSPSigning, keyUsage without digitalSignature, or not valid when
    /// the response was produced or now.
    #[error("delegated responder: {0}")]
    Delegate(#[source] DelegateError),
    /// A CertID asked about names another issuer than this verifier's.
    #[error("a CertID names another issuer than this verifier's")]
    OtherIssuer,
    /// The signature is refused (algorithm, parameters, key or value).
    #[error("signature: {0}")]
    Signature(#[source] SignatureError),
    /// The nonce was not echoed as sent.
    #[error("nonce does not match the request")]
    Nonce,
    /// A CertID asked about is not answered.
    #[error("no answer for a CertID that was asked")]
    Missing,
    /// thisUpdate is later than now (beyond the leeway).
    #[error("thisUpdate {} is in the future", crate::Rfc3339(*.0))]
    NotYetValid(SystemTime),
    /// nextUpdate is absent and the RFC 5019 profile requires it.
    #[error("no nextUpdate")]
    NoNextUpdate,
    /// nextUpdate has passed (beyond the leeway).
    #[error("nextUpdate {} has passed (the response is stale)", crate::Rfc3339(*.0))]
    Expired(SystemTime),
}

/// One answered status.
#[derive(Clone, Debug, Eq, PartialEq)]
pub enum VerifiedStatus {
    /// good.
    Good,
    /// revoked.
    Revoked {
        /// revocationTime.
        time: SystemTime,
        /// reason.
        reason: Option<CrlReason>,
    },
    /// unknown.
    Unknown,
}

/// One verified answer.
#[derive(Clone, Debug)]
pub struct VerifiedResponse {
    /// The CertID.
    pub cert_id: CertId,
    /// Status.
    pub status: VerifiedStatus,
    /// thisUpdate.
    pub this_update: SystemTime,
    /// nextUpdate.
    pub next_update: Option<SystemTime>,
    /// producedAt of the response.
    pub produced_at: SystemTime,
    /// The certificate whose key signed the response: the issuer itself, or a delegated
    /// responder's certificate.
    pub signer: Certificate,
}

/// Verifies OCSP responses for certificates of one issuer.
#[derive(Clone, Debug)]
pub struct OcspVerifier {
    issuer: Certificate,
    leeway: Duration,
    require_next_update: bool,
    policy: AlgorithmPolicy,
}

impl OcspVerifier {
    /// Trusts `issuer` and responders it delegated to; clock leeway 5 minutes.
    pub fn new(issuer: Certificate) -> Self {
        Self {
            issuer,
            leeway: Duration::from_secs(300),
            require_next_update: true,
            policy: AlgorithmPolicy::default(),
        }
    }

    /// The algorithm policy for the response's and the delegate's signatures (default: no
    /// SHA-1).
    #[must_use]
    pub fn policy(mut self, policy: AlgorithmPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// Accepts responses without nextUpdate (RFC 6960 allows them; the RFC 5019 profile, the
    /// default here, rejects them).
    #[must_use]
    pub fn allow_missing_next_update(mut self) -> Self {
        self.require_next_update = false;
        self
    }

    /// Sets the tolerated clock difference.
    #[must_use]
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Verifies `response_der` answering `request` at `now`: signature by the issuer or a
    /// delegated responder (OCSPSigning EKU, issued by the issuer), nonce echoed exactly if one
    /// was sent, every CertID asked answered, freshness. Answers are in request order.
    pub fn verify(
        &self,
        response_der: &[u8],
        request: &OcspRequest,
        now: SystemTime,
    ) -> std::result::Result<Vec<VerifiedResponse>, OcspVerifyError> {
        use OcspVerifyError as E;
        let malformed = |what| move |source| E::Malformed { what, source };
        let resp = OcspResponse::from_der(response_der).map_err(malformed("OCSPResponse"))?;
        if resp.response_status != OcspResponseStatus::Successful {
            return Err(E::Status(resp.response_status));
        }
        let rb = resp.response_bytes.ok_or(E::NotBasic)?;
        if rb.response_type != oid::OCSP_BASIC {
            return Err(E::NotBasic);
        }
        let raw = crate::strict::decode::<BasicOcspResponseRaw>(rb.response.as_bytes())
            .map_err(malformed("BasicOCSPResponse"))?;
        let tbs = raw
            .tbs_response_data
            .to_der()
            .map_err(malformed("ResponseData"))?;
        let data =
            crate::strict::decode::<ResponseData>(&tbs).map_err(malformed("ResponseData"))?;
        let signer = self.find_signer(&data.responder_id, raw.certs.as_deref().unwrap_or(&[]))?;
        if !std::ptr::eq(signer, &self.issuer) {
            // RFC 6960 3.2 (4): the delegate must be authorised when it signed, and now.
            let produced = data.produced_at.to_system_time();
            let (nb, na) = cert::validity(signer);
            for (at, leeway) in [(produced, Duration::ZERO), (now, self.leeway)] {
                if add_saturating(at, leeway) < nb {
                    return Err(E::Delegate(DelegateError::NotYetValid {
                        not_before: nb,
                        now: at,
                    }));
                }
                if at > add_saturating(na, leeway) {
                    return Err(E::Delegate(DelegateError::Expired {
                        not_after: na,
                        now: at,
                    }));
                }
            }
        }
        let sig = raw
            .signature
            .as_bytes()
            .ok_or(E::Signature(SignatureError::Invalid))?;
        self.policy
            .verify(
                signer.tbs_certificate().subject_public_key_info(),
                &raw.signature_algorithm,
                None,
                &tbs,
                sig,
            )
            .map_err(E::Signature)?;
        let asked = request
            .tbs_request
            .request_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == oid::OCSP_NONCE);
        let got = data
            .response_extensions
            .iter()
            .flatten()
            .find(|e| e.extn_id == oid::OCSP_NONCE);
        match (asked, got) {
            (None, _) => {}
            (Some(a), Some(g)) if nonce_value(a) == nonce_value(g) => {}
            _ => return Err(E::Nonce),
        }
        let mut out = Vec::new();
        for r in &request.tbs_request.request_list {
            // RFC 6960 4.2.2.2: only the certificate's own issuer (or its delegate) may answer.
            let asked_about_our_issuer =
                DigestAlgorithm::from_algorithm_identifier(&r.req_cert.hash_algorithm)
                    .and_then(|d| super::asn1::issuer_hashes(&self.issuer, d).ok())
                    .is_some_and(|(n, k)| {
                        r.req_cert.issuer_name_hash.as_bytes() == n.as_slice()
                            && r.req_cert.issuer_key_hash.as_bytes() == k.as_slice()
                    });
            if !asked_about_our_issuer {
                return Err(E::OtherIssuer);
            }
            let single = data
                .responses
                .iter()
                .find(|s| s.cert_id == r.req_cert)
                .ok_or(E::Missing)?;
            out.push(self.check_single(single, now, &data, signer)?);
        }
        Ok(out)
    }

    /// Verifies a response about one certificate of this verifier's issuer without the
    /// request it answered (evidence gathered earlier, say a stapled or archived response):
    /// signature and signer as [`OcspVerifier::verify`] checks them, no nonce, the answer
    /// whose CertID names `cert` (by any hash the response used), fresh at `now`.
    pub fn verify_certificate(
        &self,
        response_der: &[u8],
        cert: &Certificate,
        now: SystemTime,
    ) -> std::result::Result<VerifiedResponse, OcspVerifyError> {
        // Only the hashes the response's CertIDs use: each try verifies the signature again.
        let used: Vec<DigestAlgorithm> = OcspResponse::from_der(response_der)
            .ok()
            .and_then(|r| r.basic())
            .and_then(std::result::Result::ok)
            .map(|b| {
                b.tbs_response_data
                    .responses
                    .iter()
                    .filter_map(|s| {
                        DigestAlgorithm::from_algorithm_identifier(&s.cert_id.hash_algorithm)
                    })
                    .collect()
            })
            .unwrap_or_default();
        // Nothing readable: the first try reports why.
        let digests = DigestAlgorithm::ALL
            .into_iter()
            .filter(|d| used.is_empty() || used.contains(d));
        for digest in digests {
            let Ok(builder) = OcspRequestBuilder::new().certificate(cert, &self.issuer, digest)
            else {
                continue;
            };
            match self.verify(response_der, &builder.build(), now) {
                Ok(mut answers) if !answers.is_empty() => return Ok(answers.remove(0)),
                Ok(_) | Err(OcspVerifyError::Missing) => continue,
                Err(e) => return Err(e),
            }
        }
        Err(OcspVerifyError::Missing)
    }

    fn check_single(
        &self,
        s: &SingleResponse,
        now: SystemTime,
        data: &ResponseData,
        signer: &Certificate,
    ) -> std::result::Result<VerifiedResponse, OcspVerifyError> {
        let this_update = s.this_update.to_system_time();
        if this_update > add_saturating(now, self.leeway) {
            return Err(OcspVerifyError::NotYetValid(this_update));
        }
        // RFC 5019 4: a response without nextUpdate MUST be rejected (unless allowed).
        let next_update = s.next_update.map(|t| t.to_system_time());
        if next_update.is_none() && self.require_next_update {
            return Err(OcspVerifyError::NoNextUpdate);
        }
        if let Some(n) = next_update
            && add_saturating(n, self.leeway) < now
        {
            return Err(OcspVerifyError::Expired(n));
        }
        let status = match &s.cert_status {
            CertStatus::Good(_) => VerifiedStatus::Good,
            CertStatus::Unknown(_) => VerifiedStatus::Unknown,
            CertStatus::Revoked(info) => VerifiedStatus::Revoked {
                time: info.revocation_time.to_system_time(),
                reason: info.revocation_reason,
            },
        };
        Ok(VerifiedResponse {
            cert_id: s.cert_id.clone(),
            status,
            this_update,
            next_update,
            produced_at: data.produced_at.to_system_time(),
            signer: signer.clone(),
        })
    }

    fn find_signer<'a>(
        &'a self,
        id: &ResponderId,
        certs: &'a [Certificate],
    ) -> std::result::Result<&'a Certificate, OcspVerifyError> {
        let names = |c: &Certificate| match id {
            ResponderId::ByName(n) => c.tbs_certificate().subject() == n,
            ResponderId::ByKey(k) => {
                cert::key_identifier(c.tbs_certificate().subject_public_key_info()) == k.as_bytes()
            }
        };
        if names(&self.issuer) {
            return Ok(&self.issuer);
        }
        let delegate = certs
            .iter()
            .find(|c| names(c))
            .ok_or(OcspVerifyError::UnknownSigner)?;
        check_delegate_certificate(delegate, &self.issuer, &self.policy)
            .map_err(OcspVerifyError::Delegate)?;
        Ok(delegate)
    }
}

/// The serial of `cert` as an INTEGER, for building CertIDs by hand.
pub fn serial_of(cert: &Certificate) -> Result<Int> {
    Ok(Int::new(cert.tbs_certificate().serial_number().as_bytes())?)
}
