//! Proofs: a DER record signed in CMS SignedData and time-stamped as CAdES-T does, the one
//! building block every gica workflow signs its records with (receipts, snapshots, evidence,
//! checkpoints, audit records).
//!
//! A proof is a ContentInfo that `openssl cms -verify` checks and whose embedded token
//! `openssl ts -verify` checks:
//!
//! ```text
//! ContentInfo ::= SEQUENCE {
//!   contentType id-signedData,
//!   content [0] EXPLICIT SignedData }
//!
//! SignedData ::= SEQUENCE {
//!   version           CMSVersion,         -- v3: the eContentType is not id-data (RFC 5652 5.1)
//!   digestAlgorithms  SET OF AlgorithmIdentifier,     -- the signer's hash
//!   encapContentInfo  SEQUENCE {
//!     eContentType    OBJECT IDENTIFIER,  -- the record's type, e.g. oid::CT_INBOX_EVIDENCE
//!     eContent    [0] EXPLICIT OCTET STRING },        -- the record's DER
//!   certificates  [0] IMPLICIT CertificateSet,        -- signer certificate, then its chain
//!   signerInfos       SET SIZE (1) OF SignerInfo }
//!
//! SignerInfo ::= SEQUENCE {
//!   version           CMSVersion,         -- v1
//!   sid               IssuerAndSerialNumber,
//!   digestAlgorithm   AlgorithmIdentifier,
//!   signedAttrs   [0] IMPLICIT SET OF Attribute {
//!     contentType, messageDigest, signingTime,
//!     signingCertificateV2 },             -- ESSCertIDv2 (SHA-256) with issuerSerial
//!   signatureAlgorithm AlgorithmIdentifier,
//!   signature         OCTET STRING,
//!   unsignedAttrs [1] IMPLICIT SET OF Attribute {
//!     id-aa-timeStampToken { TimeStampToken } } }     -- imprint: hash of `signature`
//! ```
//!
//! The token stamps the signature value (RFC 3161 Appendix A), so it proves the signature,
//! and with it the record, existed at the token's genTime; a verifier then checks the
//! signer's certificate path at that time, and a proof outlives its signer certificate.
//!
//! Signing and stamping are separate steps because the token comes from a TSA over the
//! network: [`ProofSigner::sign`] gives an [`UnstampedProof`]; its
//! [`time_stamp_imprint`](UnstampedProof::time_stamp_imprint) goes to the TSA (gica-serve's
//! `TsaClient::stamp` in the servers), and [`UnstampedProof::with_time_stamp`] puts the answer
//! in. [`ProofVerifier`] checks the result.
//!
//! ```
//! use std::{sync::Arc, time::SystemTime};
//! use gica_pki::{DigestAlgorithm, SignerOptions, SoftwareSigner, cert::load_pem_certs, oid,
//!     proof::{ProofSigner, ProofVerifier}};
//! # let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/");
//! # let read = |f: &str| std::fs::read_to_string(format!("{dir}{f}")).unwrap();
//! # let tsa = {
//! #     use gica_pki::tsp::{Authority, AuthorityConfig};
//! #     let mut config = AuthorityConfig::new("1.3.6.1.4.1.99999.1.1".parse().unwrap());
//! #     config.chain = load_pem_certs(&read("pki/chain.pem")).unwrap();
//! #     let key = SoftwareSigner::from_pem(&read("pki/tsa-p256.key"), SignerOptions::default()).unwrap();
//! #     Authority::new(load_pem_certs(&read("pki/tsa-p256.pem")).unwrap().remove(0), Arc::new(key), config).unwrap()
//! # };
//! # let stamp = |digest: DigestAlgorithm, hash: &[u8]| {
//! #     let req = gica_pki::tsp::TimeStampReqBuilder::new(digest).hash(hash).cert_req(true).build().unwrap();
//! #     tsa.respond(&gica_pki::der::Encode::to_der(&req).unwrap(), SystemTime::now(), gica_pki::tsp::TstSerial::random().unwrap()).der
//! # };
//! let key = SoftwareSigner::from_pem(&read("proof/signer-p256.key"), SignerOptions::default())?;
//! let cert = load_pem_certs(&read("proof/signer-p256.pem"))?.remove(0);
//! let signer = ProofSigner::new(Arc::new(key), cert, load_pem_certs(&read("pki/int-ca.pem"))?)?;
//!
//! let record = [0x30, 0x03, 0x02, 0x01, 0x2a]; // the record's DER: SEQUENCE { INTEGER 42 }
//! let unstamped = signer.sign(oid::CT_INBOX_EVIDENCE, &record, SystemTime::now())?;
//! // The TSA stamps the signature's hash (over HTTP in a server).
//! let reply = stamp(DigestAlgorithm::Sha256, &unstamped.time_stamp_imprint(DigestAlgorithm::Sha256));
//! let proof = unstamped.with_time_stamp(&reply)?;
//!
//! let roots = load_pem_certs(&read("pki/root-ca.pem"))?;
//! let verified = ProofVerifier::new(roots)
//!     .content_type(oid::CT_INBOX_EVIDENCE)
//!     .verify(&proof, SystemTime::now())?;
//! assert_eq!(verified.content, record);
//! assert!(verified.time_stamp.is_some());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod sign;
mod verify;

use std::time::SystemTime;

use cms::{
    content_info::ContentInfo,
    signed_data::{SignedData, SignerInfo},
};
use der::{
    Decode, Encode,
    asn1::{ObjectIdentifier, OctetString},
};
use x509_cert::{Certificate, time::Time};

pub use sign::{ProofSigner, UnstampedProof};
pub use verify::{ProofVerifier, VerifiedProof};

use crate::{
    algorithm::SignatureError,
    cert::{CertificateError, PathError},
    oid,
    signed_data::{self, CmsError},
    tsp::VerifyError,
};

/// Largest proof [`ProofVerifier`] reads unless told otherwise
/// ([`ProofVerifier::max_len`]), and [`read_proof`] reads: 8 MiB.
pub const DEFAULT_MAX_LEN: usize = 8 * 1024 * 1024;
/// Most certificates a proof's SignedData may carry.
pub const MAX_CERTIFICATES: usize = 16;
/// Most entries in `digestAlgorithms`, in `crls`, and signed or unsigned attributes.
pub const MAX_ATTRIBUTES: usize = 16;

/// Why a proof was refused, by what failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The input is longer than the verifier reads.
    #[error("proof of {len} octets; at most {max} are read")]
    TooLarge {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A structure is not DER or not the type expected.
    #[error("malformed {what}: {source}")]
    Malformed {
        /// Which structure.
        what: &'static str,
        /// The decoding error.
        source: der::Error,
    },
    /// The ContentInfo is not id-signedData.
    #[error("contentType {found} is not id-signedData")]
    NotSignedData {
        /// The contentType found.
        found: ObjectIdentifier,
    },
    /// A rule of RFC 5652 (or of the proof profile) is broken.
    #[error("structure: {0}")]
    Structure(&'static str),
    /// More entries of some kind than a proof may carry.
    #[error("more than {max} {what}")]
    TooMany {
        /// What was counted.
        what: &'static str,
        /// The limit.
        max: usize,
    },
    /// Not exactly one SignerInfo.
    #[error("a proof has exactly one SignerInfo, found {found}")]
    SignerCount {
        /// How many there are.
        found: usize,
    },
    /// No encapsulated content (a detached signature).
    #[error("no eContent: a proof carries its record")]
    ContentMissing,
    /// The record is not of the type the verifier expects.
    #[error("content type {found} is not the expected {expected}")]
    ContentType {
        /// The type the verifier was told to expect.
        expected: ObjectIdentifier,
        /// The eContentType.
        found: ObjectIdentifier,
    },
    /// The signed contentType attribute differs from the eContentType (RFC 5652 11.1).
    #[error("signed contentType attribute {found} differs from eContentType {expected}")]
    ContentTypeAttribute {
        /// The eContentType.
        expected: ObjectIdentifier,
        /// The attribute's value.
        found: ObjectIdentifier,
    },
    /// No certificate in the proof or the untrusted set matches the signer identifier.
    #[error("signer certificate not found")]
    SignerCertificateMissing,
    /// The signature is refused: algorithm, parameters, digestAlgorithm mismatch, key or
    /// value.
    #[error("signature: {0}")]
    Signature(#[source] SignatureError),
    /// The messageDigest attribute is not the hash of the record.
    #[error("messageDigest does not match the content")]
    MessageDigest,
    /// signingCertificate(V2) does not bind the signer certificate.
    #[error("ESS signing certificate: {0}")]
    SigningCertificate(&'static str),
    /// The signer certificate is unfit for signing (keyUsage).
    #[error("signer certificate: {0}")]
    SignerCertificate(#[source] CertificateError),
    /// No acceptable path from the signer to an anchor at the validation time.
    #[error("signer certificate path: {0}")]
    SignerPath(#[source] PathError),
    /// No time-stamp token, and the verifier requires one.
    #[error("no time-stamp token (id-aa-timeStampToken)")]
    TimeStampMissing,
    /// The token does not stamp this proof's signature value.
    #[error("the time-stamp token's imprint is not the hash of the signature")]
    TimeStampImprint,
    /// The token itself did not verify (or a TSA's reply carried none).
    #[error("time-stamp token: {0}")]
    TimeStamp(#[source] VerifyError),
}

impl From<CmsError> for ProofError {
    fn from(e: CmsError) -> Self {
        match e {
            CmsError::Malformed { what, source } => Self::Malformed { what, source },
            CmsError::Structure(what) => Self::Structure(what),
            CmsError::ContentTypeAttribute { expected, found } => {
                Self::ContentTypeAttribute { expected, found }
            }
            CmsError::Signature(e) => Self::Signature(e),
            CmsError::MessageDigest => Self::MessageDigest,
            CmsError::SigningCertificate(what) => Self::SigningCertificate(what),
        }
    }
}

fn malformed(what: &'static str) -> impl FnOnce(der::Error) -> ProofError {
    move |source| ProofError::Malformed { what, source }
}

/// A proof as read, before any signature, certificate or token check: what a `show` command
/// prints and what a caller needs to pick anchors. Structure and limits are checked as
/// [`ProofVerifier::verify`] checks them.
#[derive(Clone, Debug)]
pub struct ProofParts {
    /// eContentType.
    pub content_type: ObjectIdentifier,
    /// The record's DER (eContent).
    pub content: Vec<u8>,
    /// The certificates carried (signer certificate and chain, in the order received).
    pub certificates: Vec<Certificate>,
    /// The signer certificate among those carried, if the sid names one.
    pub signer: Option<Certificate>,
    /// The signature value (what the token stamps).
    pub signature: Vec<u8>,
    /// The signingTime attribute, if present.
    pub signing_time: Option<SystemTime>,
    /// The DER of the id-aa-timeStampToken attribute's TimeStampToken, if present (a
    /// ContentInfo, as `openssl ts -verify -token_in` reads it).
    pub time_stamp_token: Option<Vec<u8>>,
}

/// Reads a DER proof of at most [`DEFAULT_MAX_LEN`] octets, checking its structure only.
///
/// ```
/// # let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/proof/proof-p256.der");
/// let parts = gica_pki::proof::read_proof(&std::fs::read(path).unwrap())?;
/// assert_eq!(parts.content_type, gica_pki::oid::CT_REGISTRY_RECEIPT);
/// assert!(parts.time_stamp_token.is_some());
/// # Ok::<(), gica_pki::proof::ProofError>(())
/// ```
pub fn read_proof(der: &[u8]) -> Result<ProofParts, ProofError> {
    let p = Parsed::parse(der, DEFAULT_MAX_LEN)?;
    let signing_time = p.signing_time()?;
    let signer = p
        .certificates
        .iter()
        .find(|c| signed_data::sid_names(&p.signer_info.sid, c))
        .cloned();
    Ok(ProofParts {
        content_type: p.content_type,
        signature: p.signer_info.signature.as_bytes().to_vec(),
        content: p.content,
        certificates: p.certificates,
        signer,
        signing_time,
        time_stamp_token: p.token,
    })
}

/// A proof after the structural rules: DER, one SignerInfo, content present, limits.
struct Parsed {
    content_type: ObjectIdentifier,
    content: Vec<u8>,
    signer_info: SignerInfo,
    certificates: Vec<Certificate>,
    token: Option<Vec<u8>>,
}

impl Parsed {
    fn parse(der: &[u8], max_len: usize) -> Result<Self, ProofError> {
        if der.len() > max_len {
            return Err(ProofError::TooLarge {
                len: der.len(),
                max: max_len,
            });
        }
        let ci: ContentInfo = crate::strict::decode(der).map_err(malformed("ContentInfo"))?;
        if ci.content_type != oid::SIGNED_DATA {
            return Err(ProofError::NotSignedData {
                found: ci.content_type,
            });
        }
        ci.content
            .to_der()
            .and_then(|d| signed_data::check_signed_data(&d))
            .map_err(malformed("SignedData"))?;
        let sd: SignedData = ci.content.decode_as().map_err(malformed("SignedData"))?;
        let too_many = |what, n: usize, max| {
            if n > max {
                Err(ProofError::TooMany { what, max })
            } else {
                Ok(())
            }
        };
        too_many(
            "digestAlgorithms",
            sd.digest_algorithms.len(),
            MAX_ATTRIBUTES,
        )?;
        too_many(
            "certificates",
            sd.certificates.as_ref().map_or(0, |c| c.0.len()),
            MAX_CERTIFICATES,
        )?;
        too_many(
            "crls",
            sd.crls.as_ref().map_or(0, |c| c.0.len()),
            MAX_ATTRIBUTES,
        )?;
        let [si] = sd.signer_infos.0.as_slice() else {
            return Err(ProofError::SignerCount {
                found: sd.signer_infos.0.len(),
            });
        };
        if sd.version != signed_data::required_version(&sd) {
            return Err(ProofError::Structure(
                "SignedData version is not the one RFC 5652 5.1 requires",
            ));
        }
        signed_data::check_signer_info_form(&sd, si).map_err(ProofError::Structure)?;
        let attrs = si
            .signed_attrs
            .as_ref()
            .ok_or(ProofError::Structure("no signed attributes"))?;
        too_many("signed attributes", attrs.len(), MAX_ATTRIBUTES)?;
        let unsigned = si.unsigned_attrs.as_ref().map_or(&[][..], |a| a.as_slice());
        too_many("unsigned attributes", unsigned.len(), MAX_ATTRIBUTES)?;
        let mut tokens = unsigned
            .iter()
            .filter(|a| a.oid == oid::ATTR_TIME_STAMP_TOKEN);
        let token = match (tokens.next(), tokens.next()) {
            (None, _) => None,
            (Some(attr), None) if attr.values.len() == 1 => attr
                .values
                .iter()
                .next()
                .map(|v| v.to_der())
                .transpose()
                .map_err(malformed("TimeStampToken"))?,
            _ => {
                return Err(ProofError::Structure(
                    "id-aa-timeStampToken must occur once with one value",
                ));
            }
        };
        let content_type = sd.encap_content_info.econtent_type;
        let content: OctetString = sd
            .encap_content_info
            .econtent
            .as_ref()
            .ok_or(ProofError::ContentMissing)?
            .decode_as()
            .map_err(malformed("eContent"))?;
        let certificates = signed_data::certificates(&sd);
        Ok(Self {
            content_type,
            content: content.into_bytes().into_vec(),
            signer_info: si.clone(),
            certificates,
            token,
        })
    }

    fn signing_time(&self) -> Result<Option<SystemTime>, ProofError> {
        let Some(attrs) = self.signer_info.signed_attrs.as_ref() else {
            return Ok(None);
        };
        signed_data::attr_value(attrs, oid::ATTR_SIGNING_TIME)?
            .map(|v| {
                v.decode_as::<Time>()
                    .map(|t| t.to_system_time())
                    .map_err(malformed("signingTime"))
            })
            .transpose()
    }
}

/// Decodes a TimeStampToken given as a bare ContentInfo, or taken from a granted
/// TimeStampResp; returns the token's DER.
fn token_der(der: &[u8]) -> Result<Vec<u8>, ProofError> {
    let token = match crate::tsp::TimeStampResp::from_der(der) {
        Ok(resp) => {
            crate::tsp::check_granted(&resp.status).map_err(ProofError::TimeStamp)?;
            resp.time_stamp_token
                .ok_or(ProofError::TimeStamp(VerifyError::Token(
                    "granted without a token",
                )))?
        }
        Err(_) => ContentInfo::from_der(der).map_err(malformed("TimeStampToken"))?,
    };
    token.to_der().map_err(malformed("TimeStampToken"))
}
