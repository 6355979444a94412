//! RFC 6960 DER types (the module is DEFINITIONS EXPLICIT TAGS). Each carries its ASN.1.

use der::{
    Choice, Enumerated, Sequence,
    asn1::{BitString, GeneralizedTime, Int, Null, ObjectIdentifier, OctetString},
};
use spki::AlgorithmIdentifierOwned;
use x509_cert::{
    Certificate,
    ext::{Extensions, pkix::name::GeneralName},
    name::Name,
};

use crate::{CrlReason, DigestAlgorithm, Result};

/// ```text
/// CertID ::= SEQUENCE {
///     hashAlgorithm       AlgorithmIdentifier,
///     issuerNameHash      OCTET STRING, -- Hash of issuer's DN
///     issuerKeyHash       OCTET STRING, -- Hash of issuer's public key
///     serialNumber        CertificateSerialNumber }
/// ```
/// The serial is kept as the exact INTEGER sent, so it is echoed unchanged.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct CertId {
    /// hashAlgorithm.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// issuerNameHash.
    pub issuer_name_hash: OctetString,
    /// issuerKeyHash.
    pub issuer_key_hash: OctetString,
    /// serialNumber.
    pub serial_number: Int,
}

impl CertId {
    /// The CertID of the certificate with `serial` (DER INTEGER content) issued by `issuer`.
    pub fn new(issuer: &Certificate, serial: Int, digest: DigestAlgorithm) -> Result<Self> {
        let (name_hash, key_hash) = issuer_hashes(issuer, digest)?;
        Ok(Self {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: digest.oid(),
                parameters: Some(Null.into()),
            },
            issuer_name_hash: OctetString::new(name_hash)?,
            issuer_key_hash: OctetString::new(key_hash)?,
            serial_number: serial,
        })
    }

    /// The CertID of `cert` (issued by `issuer`).
    pub fn for_certificate(
        cert: &Certificate,
        issuer: &Certificate,
        digest: DigestAlgorithm,
    ) -> Result<Self> {
        let serial = Int::new(cert.tbs_certificate().serial_number().as_bytes())?;
        Self::new(issuer, serial, digest)
    }

    /// The serial as a positive magnitude (no sign octet), or `None` if negative or zero.
    pub fn serial_magnitude(&self) -> Option<&[u8]> {
        let b = self.serial_number.as_bytes();
        if b.first().is_none_or(|f| f & 0x80 != 0) {
            return None;
        }
        let trimmed = &b[b.iter().take_while(|x| **x == 0).count()..];
        (!trimmed.is_empty()).then_some(trimmed)
    }
}

/// issuerNameHash and issuerKeyHash of `issuer` with `digest` (RFC 6960 4.1.1): the hash of
/// the DER subject name, and of the subjectPublicKey BIT STRING's value.
pub fn issuer_hashes(issuer: &Certificate, digest: DigestAlgorithm) -> Result<(Vec<u8>, Vec<u8>)> {
    let tbs = issuer.tbs_certificate();
    let name = der::Encode::to_der(tbs.subject())?;
    Ok((
        digest.digest(&name),
        digest.digest(tbs.subject_public_key_info().subject_public_key.raw_bytes()),
    ))
}

/// ```text
/// Request ::= SEQUENCE {
///     reqCert                     CertID,
///     singleRequestExtensions     [0] EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Request {
    /// reqCert.
    pub req_cert: CertId,
    /// singleRequestExtensions.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub single_request_extensions: Option<Extensions>,
}

/// ```text
/// TBSRequest ::= SEQUENCE {
///     version             [0]     EXPLICIT Version DEFAULT v1,
///     requestorName       [1]     EXPLICIT GeneralName OPTIONAL,
///     requestList                 SEQUENCE OF Request,
///     requestExtensions   [2]     EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TbsRequest {
    /// version (v1 = 0).
    #[asn1(
        context_specific = "0",
        tag_mode = "EXPLICIT",
        default = "Default::default"
    )]
    pub version: u8,
    /// requestorName.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub requestor_name: Option<GeneralName>,
    /// requestList.
    pub request_list: Vec<Request>,
    /// requestExtensions (the nonce lives here).
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    pub request_extensions: Option<Extensions>,
}

/// ```text
/// Signature ::= SEQUENCE {
///     signatureAlgorithm      AlgorithmIdentifier,
///     signature               BIT STRING,
///     certs               [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL}
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Signature {
    /// signatureAlgorithm.
    pub signature_algorithm: AlgorithmIdentifierOwned,
    /// signature.
    pub signature: BitString,
    /// certs.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub certs: Option<Vec<Certificate>>,
}

/// ```text
/// OCSPRequest ::= SEQUENCE {
///     tbsRequest                  TBSRequest,
///     optionalSignature   [0]     EXPLICIT Signature OPTIONAL }
/// ```
/// Decoded tolerantly, as clients send it: an explicit `version [0] v1` or `critical FALSE`
/// is accepted (see [`crate::strict`]); it re-encodes as DER.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct OcspRequest {
    /// tbsRequest.
    pub tbs_request: TbsRequest,
    /// optionalSignature (gica neither requires nor checks it).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub optional_signature: Option<Signature>,
}

/// ```text
/// OCSPResponseStatus ::= ENUMERATED {
///     successful            (0),  -- Response has valid confirmations
///     malformedRequest      (1),  -- Illegal confirmation request
///     internalError         (2),  -- Internal error in issuer
///     tryLater              (3),  -- Try again later
///                                 -- (4) is not used
///     sigRequired           (5),  -- Must sign the request
///     unauthorized          (6)   -- Request unauthorized }
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash, Enumerated)]
#[repr(u8)]
pub enum OcspResponseStatus {
    /// successful.
    Successful = 0,
    /// malformedRequest.
    MalformedRequest = 1,
    /// internalError.
    InternalError = 2,
    /// tryLater.
    TryLater = 3,
    /// sigRequired.
    SigRequired = 5,
    /// unauthorized.
    Unauthorized = 6,
}

impl OcspResponseStatus {
    /// The RFC name (`malformedRequest`), also the metrics label.
    pub fn name(self) -> &'static str {
        match self {
            Self::Successful => "successful",
            Self::MalformedRequest => "malformedRequest",
            Self::InternalError => "internalError",
            Self::TryLater => "tryLater",
            Self::SigRequired => "sigRequired",
            Self::Unauthorized => "unauthorized",
        }
    }

    /// DER of an OCSPResponse with this status and no responseBytes.
    pub fn response_der(self) -> [u8; 5] {
        [0x30, 0x03, 0x0a, 0x01, self as u8]
    }
}

/// ```text
/// ResponseBytes ::= SEQUENCE {
///     responseType   OBJECT IDENTIFIER,
///     response       OCTET STRING }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ResponseBytes {
    /// responseType (id-pkix-ocsp-basic).
    pub response_type: ObjectIdentifier,
    /// response: DER of a BasicOCSPResponse.
    pub response: OctetString,
}

/// ```text
/// OCSPResponse ::= SEQUENCE {
///     responseStatus         OCSPResponseStatus,
///     responseBytes          [0] EXPLICIT ResponseBytes OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct OcspResponse {
    /// responseStatus.
    pub response_status: OcspResponseStatus,
    /// responseBytes.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub response_bytes: Option<ResponseBytes>,
}

/// ```text
/// ResponderID ::= CHOICE {
///     byName   [1] Name,
///     byKey    [2] KeyHash }
/// KeyHash ::= OCTET STRING -- SHA-1 hash of responder's public key
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
pub enum ResponderId {
    /// byName.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", constructed = "true")]
    ByName(Name),
    /// byKey.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", constructed = "true")]
    ByKey(OctetString),
}

/// ```text
/// RevokedInfo ::= SEQUENCE {
///     revocationTime              GeneralizedTime,
///     revocationReason    [0]     EXPLICIT CRLReason OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct RevokedInfo {
    /// revocationTime.
    pub revocation_time: GeneralizedTime,
    /// revocationReason.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub revocation_reason: Option<CrlReason>,
}

/// ```text
/// CertStatus ::= CHOICE {
///     good        [0]     IMPLICIT NULL,
///     revoked     [1]     IMPLICIT RevokedInfo,
///     unknown     [2]     IMPLICIT UnknownInfo }
/// UnknownInfo ::= NULL
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Choice)]
pub enum CertStatus {
    /// good.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT")]
    Good(Null),
    /// revoked.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", constructed = "true")]
    Revoked(RevokedInfo),
    /// unknown.
    #[asn1(context_specific = "2", tag_mode = "IMPLICIT")]
    Unknown(Null),
}

/// ```text
/// SingleResponse ::= SEQUENCE {
///     certID                       CertID,
///     certStatus                   CertStatus,
///     thisUpdate                   GeneralizedTime,
///     nextUpdate         [0]       EXPLICIT GeneralizedTime OPTIONAL,
///     singleExtensions   [1]       EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SingleResponse {
    /// certID, echoed from the request.
    pub cert_id: CertId,
    /// certStatus.
    pub cert_status: CertStatus,
    /// thisUpdate.
    pub this_update: GeneralizedTime,
    /// nextUpdate.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub next_update: Option<GeneralizedTime>,
    /// singleExtensions.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub single_extensions: Option<Extensions>,
}

/// ```text
/// ResponseData ::= SEQUENCE {
///     version              [0] EXPLICIT Version DEFAULT v1,
///     responderID              ResponderID,
///     producedAt               GeneralizedTime,
///     responses                SEQUENCE OF SingleResponse,
///     responseExtensions   [1] EXPLICIT Extensions OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ResponseData {
    /// version (v1 = 0).
    #[asn1(
        context_specific = "0",
        tag_mode = "EXPLICIT",
        default = "Default::default"
    )]
    pub version: u8,
    /// responderID.
    pub responder_id: ResponderId,
    /// producedAt.
    pub produced_at: GeneralizedTime,
    /// responses.
    pub responses: Vec<SingleResponse>,
    /// responseExtensions.
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub response_extensions: Option<Extensions>,
}

/// ```text
/// BasicOCSPResponse       ::= SEQUENCE {
///    tbsResponseData      ResponseData,
///    signatureAlgorithm   AlgorithmIdentifier,
///    signature            BIT STRING,
///    certs            [0] EXPLICIT SEQUENCE OF Certificate OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct BasicOcspResponse {
    /// tbsResponseData.
    pub tbs_response_data: ResponseData,
    /// signatureAlgorithm.
    pub signature_algorithm: AlgorithmIdentifierOwned,
    /// signature.
    pub signature: BitString,
    /// certs (a delegated responder's certificate).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub certs: Option<Vec<Certificate>>,
}

/// BasicOCSPResponse with the TBS kept as received, so a signature is checked over the exact
/// bytes that were signed.
#[derive(Clone, Debug, Sequence)]
pub(crate) struct BasicOcspResponseRaw {
    pub tbs_response_data: der::Any,
    pub signature_algorithm: AlgorithmIdentifierOwned,
    pub signature: BitString,
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub certs: Option<Vec<Certificate>>,
}

impl OcspResponse {
    /// The BasicOCSPResponse inside, if the status is successful and the type is basic. It
    /// is signed, so it must be DER: an explicit `version [0] v1` or `critical FALSE` is
    /// refused ([`crate::strict`]).
    pub fn basic(&self) -> Option<der::Result<BasicOcspResponse>> {
        let rb = self.response_bytes.as_ref()?;
        (rb.response_type == crate::oid::OCSP_BASIC)
            .then(|| crate::strict::decode(rb.response.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, Encode};
    use proptest::prelude::*;

    use crate::testutil::arb_int;

    prop_compose! {
        fn arb_cert_id()(serial in arb_int(), sha in prop_oneof![Just(DigestAlgorithm::Sha1), Just(DigestAlgorithm::Sha256)],
                         name in proptest::collection::vec(any::<u8>(), 20..=32), key in proptest::collection::vec(any::<u8>(), 20..=32)) -> CertId {
            CertId {
                hash_algorithm: sha.algorithm_identifier(),
                issuer_name_hash: OctetString::new(name).expect("o"),
                issuer_key_hash: OctetString::new(key).expect("o"),
                serial_number: serial,
            }
        }
    }

    fn arb_status() -> impl Strategy<Value = CertStatus> {
        prop_oneof![
            Just(CertStatus::Good(Null)),
            Just(CertStatus::Unknown(Null)),
            (
                0u64..4_000_000_000,
                proptest::option::of(proptest::sample::select(CrlReason::ALL.to_vec()))
            )
                .prop_map(|(t, r)| {
                    CertStatus::Revoked(RevokedInfo {
                        revocation_time: GeneralizedTime::from_unix_duration(
                            std::time::Duration::from_secs(t),
                        )
                        .expect("t"),
                        revocation_reason: r,
                    })
                }),
        ]
    }

    proptest! {
        #[test]
        fn request_round_trip(ids in proptest::collection::vec(arb_cert_id(), 1..5), nonce in proptest::option::of(proptest::collection::vec(any::<u8>(), 1..33))) {
            let ext = nonce.map(|n| vec![x509_cert::ext::Extension {
                extn_id: crate::oid::OCSP_NONCE,
                critical: false,
                extn_value: OctetString::new(OctetString::new(n).expect("o").to_der().expect("der")).expect("o"),
            }]);
            let req = OcspRequest {
                tbs_request: TbsRequest {
                    version: 0,
                    requestor_name: None,
                    request_list: ids.into_iter().map(|c| Request { req_cert: c, single_request_extensions: None }).collect(),
                    request_extensions: ext,
                },
                optional_signature: None,
            };
            let der = req.to_der().expect("encode");
            prop_assert_eq!(OcspRequest::from_der(&der).expect("decode"), req);
        }

        #[test]
        fn response_round_trip(ids in proptest::collection::vec(arb_cert_id(), 1..4), statuses in proptest::collection::vec(arb_status(), 4), by_key in any::<bool>()) {
            let t = GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(1_800_000_000)).expect("t");
            let data = ResponseData {
                version: 0,
                responder_id: if by_key { ResponderId::ByKey(OctetString::new(vec![1; 20]).expect("o")) } else { ResponderId::ByName(Name::default()) },
                produced_at: t,
                responses: ids.into_iter().zip(statuses).map(|(c, s)| SingleResponse {
                    cert_id: c, cert_status: s, this_update: t, next_update: Some(t), single_extensions: None,
                }).collect(),
                response_extensions: None,
            };
            let basic = BasicOcspResponse {
                tbs_response_data: data,
                signature_algorithm: AlgorithmIdentifierOwned { oid: crate::oid::ECDSA_WITH_SHA256, parameters: None },
                signature: BitString::from_bytes(&[1, 2, 3]).expect("bits"),
                certs: None,
            };
            let der = basic.to_der().expect("encode");
            prop_assert_eq!(BasicOcspResponse::from_der(&der).expect("decode"), basic.clone());
            let resp = OcspResponse {
                response_status: OcspResponseStatus::Successful,
                response_bytes: Some(ResponseBytes { response_type: crate::oid::OCSP_BASIC, response: OctetString::new(der).expect("o") }),
            };
            let der = resp.to_der().expect("encode");
            let back = OcspResponse::from_der(&der).expect("decode");
            prop_assert_eq!(back.basic().expect("basic").expect("decodes"), basic);
        }

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = OcspRequest::from_der(&bytes);
            let _ = OcspResponse::from_der(&bytes);
            let _ = BasicOcspResponse::from_der(&bytes);
        }
    }

    #[test]
    fn status_only_responses() {
        for s in [
            OcspResponseStatus::MalformedRequest,
            OcspResponseStatus::Unauthorized,
            OcspResponseStatus::InternalError,
        ] {
            let r = OcspResponse::from_der(&s.response_der()).expect("decodes");
            assert_eq!((r.response_status, r.response_bytes), (s, None));
        }
    }
}
