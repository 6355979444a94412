//! Verifying time-stamp responses and tokens (the client side of RFC 3161, RFC 5816).

use cms::{
    content_info::ContentInfo,
    signed_data::{SignedData, SignerIdentifier, SignerInfo},
};
use der::{
    Decode, Encode,
    asn1::{Int, ObjectIdentifier, OctetString},
};
use std::time::SystemTime;

use x509_cert::{
    Certificate,
    ext::pkix::{KeyUsages, name::GeneralName},
};

use super::asn1::{PkiFailureInfo, PkiStatus, PkiStatusInfo, TimeStampReq, TimeStampResp, TstInfo};
use crate::{
    AlgorithmPolicy, DigestAlgorithm,
    algorithm::SignatureError,
    cert::{self, CertificateError, PathError, PathOptions},
    oid,
    signed_data::{CmsError, check_ess, check_signer_info, check_signer_info_form, sid_names},
};

/// Why a time-stamp response or token did not verify.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The bytes are not the DER structure expected.
    #[error("malformed {what}: {source}")]
    Malformed {
        /// Which structure.
        what: &'static str,
        /// The decoding error.
        source: der::Error,
    },
    /// The TSA did not grant the request.
    #[error("not granted: status {}{}{}", .status.name(), .fail_info.map(|f| format!(", failInfo {}", f.bits().map(|b| b.name()).collect::<Vec<_>>().join(" "))).unwrap_or_default(), if .text.is_empty() { String::new() } else { format!(", \"{}\"", .text) })]
    NotGranted {
        /// PKIStatus.
        status: PkiStatus,
        /// PKIFailureInfo, if sent.
        fail_info: Option<PkiFailureInfo>,
        /// statusString joined.
        text: String,
    },
    /// The token's CMS structure breaks a rule of RFC 3161 2.4.2 or RFC 5652.
    #[error("token: {0}")]
    Token(&'static str),
    /// No certificate in the token or the untrusted set matches the signer identifier.
    #[error("signer certificate not found (was certReq false and no -untrusted given?)")]
    SignerCertificateMissing,
    /// The CMS signature is refused (algorithm, parameters, digestAlgorithm mismatch, key or
    /// value).
    #[error("signature: {0}")]
    Signature(#[source] SignatureError),
    /// The messageDigest attribute is not the hash of the TSTInfo.
    #[error("messageDigest does not match the TSTInfo")]
    MessageDigest,
    /// signingCertificate(V2) is absent or does not bind the signer certificate.
    #[error("ESS signing certificate: {0}")]
    SigningCertificate(&'static str),
    /// The imprint is not the one expected.
    #[error("message imprint does not match")]
    ImprintMismatch,
    /// The nonce is not the one sent.
    #[error("nonce does not match the request")]
    NonceMismatch,
    /// The policy is not the one asked for.
    #[error("policy {got} is not the expected {expected}")]
    PolicyMismatch {
        /// Asked for.
        expected: ObjectIdentifier,
        /// In the token.
        got: ObjectIdentifier,
    },
    /// The signer certificate is not a TSA certificate (extendedKeyUsage, keyUsage).
    #[error("TSA certificate: {0}")]
    TsaCertificate(#[source] CertificateError),
    /// No acceptable path from the signer to a trust anchor at the validation time.
    #[error("certificate path: {0}")]
    Path(#[source] PathError),
}

fn malformed(what: &'static str) -> impl FnOnce(der::Error) -> VerifyError {
    move |source| VerifyError::Malformed { what, source }
}

impl From<CmsError> for VerifyError {
    fn from(e: CmsError) -> Self {
        match e {
            CmsError::Malformed { what, source } => Self::Malformed { what, source },
            CmsError::Structure(what) => Self::Token(what),
            CmsError::ContentTypeAttribute { .. } => {
                Self::Token("contentType attribute is not id-ct-TSTInfo")
            }
            CmsError::Signature(e) => Self::Signature(e),
            CmsError::MessageDigest => Self::MessageDigest,
            CmsError::SigningCertificate(what) => Self::SigningCertificate(what),
        }
    }
}

/// What the token must say about the stamped data.
#[derive(Clone, Debug)]
pub enum ImprintCheck {
    /// The data itself; it is hashed with the token's algorithm.
    Data(Vec<u8>),
    /// A hash computed by the caller.
    Digest(DigestAlgorithm, Vec<u8>),
    /// Nothing can match (a request whose hash algorithm gica does not know).
    Never,
}

/// What a token is checked against, besides its signature and chain.
#[derive(Clone, Debug)]
pub struct Expectation {
    /// The stamped data or its hash.
    pub imprint: ImprintCheck,
    /// `Some`: the token's nonce must be exactly this INTEGER.
    pub nonce: Option<Int>,
    /// The token's nonce must equal `nonce` even when that is `None` (as for a request sent
    /// without a nonce).
    pub strict_nonce: bool,
    /// The policy the token must carry.
    pub policy: Option<ObjectIdentifier>,
}

impl Expectation {
    /// Check the imprint against `data`.
    pub fn data(data: &[u8]) -> Self {
        Self {
            imprint: ImprintCheck::Data(data.to_vec()),
            nonce: None,
            strict_nonce: false,
            policy: None,
        }
    }

    /// Check the imprint against a hash.
    pub fn digest(digest: DigestAlgorithm, hash: &[u8]) -> Self {
        Self {
            imprint: ImprintCheck::Digest(digest, hash.to_vec()),
            nonce: None,
            strict_nonce: false,
            policy: None,
        }
    }

    /// Everything a request asked: imprint, nonce (present or absent), policy.
    pub fn request(req: &TimeStampReq) -> Self {
        let digest =
            DigestAlgorithm::from_algorithm_identifier(&req.message_imprint.hash_algorithm);
        let imprint = match digest {
            Some(d) => {
                ImprintCheck::Digest(d, req.message_imprint.hashed_message.as_bytes().to_vec())
            }
            None => ImprintCheck::Never,
        };
        Self {
            imprint,
            nonce: req.nonce.clone(),
            strict_nonce: true,
            policy: req.req_policy,
        }
    }
}

/// A token that verified.
#[derive(Clone, Debug)]
pub struct VerifiedToken {
    /// The TSTInfo.
    pub tst_info: TstInfo,
    /// The TSA certificate that signed it.
    pub signer: Certificate,
    /// The path from the signer to the anchor, signer first.
    pub path: Vec<Certificate>,
}

/// When the TSA's certificate path must be valid.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub enum ValidationTime {
    /// At the token's genTime: archive use, where the chain may have expired since (best
    /// with CRLs issued after genTime as evidence that nothing was revoked then).
    GenTime,
    /// At this time (now, for a fresh response).
    At(SystemTime),
}

/// Verifies responses and tokens against trust anchors.
///
/// A stored token is checked at its genTime unless told otherwise
/// ([`TokenVerifier::validation_time`]); a fresh response at the `now` its caller passes.
///
/// ```
/// use gica_pki::tsp::{Expectation, TimeStampReqBuilder, TokenVerifier, VerifyError};
/// # let read = |f: &str| std::fs::read(format!("{}/../testdata/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
/// # let pem = |f: &str| gica_pki::cert::load_pem_certs(&String::from_utf8(read(f)).unwrap()).unwrap();
/// let anchors = pem("pki/root-ca.pem");
/// let verifier = TokenVerifier::new(anchors).untrusted(pem("pki/chain.pem"));
/// // A token openssl's TSA made over testdata/ts/data.txt, checked as an archived token.
/// let token = verifier.verify_response(&read("ts/resp-p256.tsr"), &Expectation::data(&read("ts/data.txt")))?;
/// assert_eq!(token.tst_info.version, 1);
/// # Ok::<(), VerifyError>(())
/// ```
#[derive(Clone, Debug)]
pub struct TokenVerifier {
    anchors: Vec<Certificate>,
    untrusted: Vec<Certificate>,
    time: ValidationTime,
    path: PathOptions,
}

impl TokenVerifier {
    /// Trust these anchors (roots, or any certificate the caller trusts); validate at
    /// genTime under the default [`AlgorithmPolicy`].
    pub fn new(anchors: Vec<Certificate>) -> Self {
        Self {
            anchors,
            untrusted: Vec::new(),
            time: ValidationTime::GenTime,
            path: PathOptions::default().purpose(oid::KP_TIME_STAMPING),
        }
    }

    /// Extra certificates for finding the signer and building the path (`-untrusted`).
    #[must_use]
    pub fn untrusted(mut self, certs: Vec<Certificate>) -> Self {
        self.untrusted = certs;
        self
    }

    /// When the TSA's path must be valid (default: at genTime).
    #[must_use]
    pub fn validation_time(mut self, time: ValidationTime) -> Self {
        self.time = time;
        self
    }

    /// The algorithm policy for the CMS signature and the whole path (default: no SHA-1).
    #[must_use]
    pub fn policy(mut self, policy: AlgorithmPolicy) -> Self {
        self.path = self.path.policy(policy);
        self
    }

    /// DER CRLs for the TSA's chain: once given, every certificate below the anchor must be
    /// covered by one and not revoked at the validation time (see [`PathOptions::crls`]).
    #[must_use]
    pub fn crls(mut self, crls: Vec<Vec<u8>>) -> Self {
        self.path = self.path.crls(crls);
        self
    }

    /// DER OCSP responses for the TSA's chain, checked like CRLs (see
    /// [`PathOptions::ocsp_responses`]); CRLs and responses may be mixed.
    #[must_use]
    pub fn ocsp_responses(mut self, responses: Vec<Vec<u8>>) -> Self {
        self.path = self.path.ocsp_responses(responses);
        self
    }

    /// Verifies a DER TimeStampResp: status granted, then the token.
    pub fn verify_response(
        &self,
        response_der: &[u8],
        expect: &Expectation,
    ) -> Result<VerifiedToken, VerifyError> {
        let resp = TimeStampResp::from_der(response_der).map_err(malformed("TimeStampResp"))?;
        self.verify_content_info(&granted_token(resp)?, expect)
    }

    /// Verifies a DER TimeStampToken (a ContentInfo), as `openssl ts -verify -token_in`.
    pub fn verify_token(
        &self,
        token_der: &[u8],
        expect: &Expectation,
    ) -> Result<VerifiedToken, VerifyError> {
        let token = ContentInfo::from_der(token_der).map_err(malformed("TimeStampToken"))?;
        self.verify_content_info(&token, expect)
    }

    fn verify_content_info(
        &self,
        token: &ContentInfo,
        expect: &Expectation,
    ) -> Result<VerifiedToken, VerifyError> {
        let ParsedToken {
            tst_info,
            econtent,
            signer_info: si,
            certificates,
        } = ParsedToken::parse(token)?;
        let econtent = econtent.as_slice();
        let si = &si;
        let pool: Vec<Certificate> = certificates
            .into_iter()
            .chain(self.untrusted.iter().cloned())
            .collect();
        let signer = pool
            .iter()
            .find(|c| sid_names(&si.sid, c))
            .cloned()
            .ok_or(VerifyError::SignerCertificateMissing)?;
        check_signer_info(
            si,
            oid::CT_TST_INFO,
            econtent,
            &signer,
            self.path.algorithm_policy(),
        )?;
        check_ess(si.signed_attrs.as_ref(), &signer, &pool, true)?;
        check_expectation(&tst_info, expect, self.path.algorithm_policy())?;
        cert::check_time_stamping_eku(&signer).map_err(VerifyError::TsaCertificate)?;
        cert::check_key_usage(
            &signer,
            &[KeyUsages::DigitalSignature, KeyUsages::NonRepudiation],
            "digitalSignature, nonRepudiation",
        )
        .map_err(VerifyError::TsaCertificate)?;
        // RFC 3161 2.4.2: tsa, if present, MUST correspond to a subject name of the certificate.
        if let Some(GeneralName::DirectoryName(name)) = &tst_info.tsa
            && name != signer.tbs_certificate().subject()
        {
            return Err(VerifyError::Token(
                "TSTInfo tsa is not the signer's subject",
            ));
        }
        if tst_info.accuracy.is_some_and(|a| !a.is_valid()) {
            return Err(VerifyError::Token("accuracy millis/micros out of 1..=999"));
        }
        if tst_info.extensions.iter().flatten().any(|e| e.critical) {
            return Err(VerifyError::Token("TSTInfo has a critical extension"));
        }
        let at = match self.time {
            ValidationTime::GenTime => tst_info.gen_time.to_system_time(),
            ValidationTime::At(t) => t,
        };
        let path = cert::verify_path_with(&signer, &pool, &self.anchors, at, &self.path)
            .map_err(VerifyError::Path)?;
        Ok(VerifiedToken {
            tst_info,
            signer,
            path,
        })
    }
}

/// The parts of a token that every reader needs, after the structural rules of RFC 3161
/// 2.4.2 and RFC 5652 (but no signature or certificate check).
struct ParsedToken {
    tst_info: TstInfo,
    econtent: Vec<u8>,
    signer_info: SignerInfo,
    certificates: Vec<Certificate>,
}

impl ParsedToken {
    fn parse(token: &ContentInfo) -> Result<Self, VerifyError> {
        if token.content_type != oid::SIGNED_DATA {
            return Err(VerifyError::Token("contentType is not id-signedData"));
        }
        token
            .content
            .to_der()
            .and_then(|der| crate::signed_data::check_signed_data(&der))
            .map_err(malformed("SignedData"))?;
        let sd: SignedData = token.content.decode_as().map_err(malformed("SignedData"))?;
        if sd.version != cms::content_info::CmsVersion::V3 {
            return Err(VerifyError::Token("SignedData of a token is version 3"));
        }
        if sd.encap_content_info.econtent_type != oid::CT_TST_INFO {
            return Err(VerifyError::Token("eContentType is not id-ct-TSTInfo"));
        }
        let econtent: OctetString = sd
            .encap_content_info
            .econtent
            .as_ref()
            .ok_or(VerifyError::Token("no eContent"))?
            .decode_as()
            .map_err(malformed("eContent"))?;
        let econtent = econtent.as_bytes().to_vec();
        let tst_info = TstInfo::from_econtent(&econtent).map_err(malformed("TSTInfo"))?;
        if tst_info.version != 1 {
            return Err(VerifyError::Token("TSTInfo version is not 1"));
        }
        let [si] = sd.signer_infos.0.as_slice() else {
            return Err(VerifyError::Token("a token has exactly one SignerInfo"));
        };
        check_signer_info_form(&sd, si).map_err(VerifyError::Token)?;
        let certificates = crate::signed_data::certificates(&sd);
        Ok(Self {
            tst_info,
            econtent,
            signer_info: si.clone(),
            certificates,
        })
    }
}

/// A time-stamp response or token as read, before any verification: what `gica ts show`
/// prints, and what a verifier needs to know first (the token's hash algorithm, to hash a
/// large file once).
#[derive(Clone, Debug)]
pub struct TokenContents {
    /// The PKIStatusInfo, when the input was a whole TimeStampResp.
    pub status: Option<PkiStatusInfo>,
    /// The token, absent from a refusal.
    pub token: Option<TokenParts>,
}

/// The fields of a token that passed the structural rules (not its signature).
#[derive(Clone, Debug)]
pub struct TokenParts {
    /// The TSTInfo.
    pub tst_info: TstInfo,
    /// The certificates carried in the SignedData (present when certReq was true).
    pub certificates: Vec<Certificate>,
    /// The SignerInfo's sid.
    pub signer_id: SignerIdentifier,
    /// The SignerInfo's digestAlgorithm.
    pub digest_algorithm: spki::AlgorithmIdentifierOwned,
    /// The SignerInfo's signatureAlgorithm.
    pub signature_algorithm: spki::AlgorithmIdentifierOwned,
}

impl TokenContents {
    /// The token, when there is one and the status (if the input was a whole response) is
    /// granted or grantedWithMods; else [`VerifyError::NotGranted`] or
    /// [`VerifyError::Token`].
    pub fn granted(self) -> Result<TokenParts, VerifyError> {
        if let Some(status) = &self.status {
            check_granted(status)?;
        }
        self.token
            .ok_or(VerifyError::Token("granted without a token"))
    }
}

impl TokenParts {
    /// The certificate among those carried that the sid names, if any.
    pub fn signer_certificate(&self) -> Option<&Certificate> {
        self.certificates
            .iter()
            .find(|c| sid_names(&self.signer_id, c))
    }
}

/// Reads a DER TimeStampResp or a bare TimeStampToken (ContentInfo), telling which by its
/// shape; checks structure only (no signature, no certificate).
///
/// ```
/// # let read = |f: &str| std::fs::read(format!("{}/../testdata/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
/// let contents = gica_pki::tsp::read_token(&read("ts/resp-p256.tsr"))?;
/// assert!(contents.status.is_some());
/// assert_eq!(contents.token.unwrap().tst_info.version, 1);
/// # Ok::<(), gica_pki::tsp::VerifyError>(())
/// ```
pub fn read_token(der: &[u8]) -> Result<TokenContents, VerifyError> {
    let (status, content_info) = match TimeStampResp::from_der(der) {
        Ok(resp) => (Some(resp.status), resp.time_stamp_token),
        Err(resp_err) => match ContentInfo::from_der(der) {
            Ok(ci) => (None, Some(ci)),
            Err(_) => return Err(malformed("TimeStampResp or TimeStampToken")(resp_err)),
        },
    };
    let token = content_info
        .map(|ci| {
            ParsedToken::parse(&ci).map(|p| TokenParts {
                tst_info: p.tst_info,
                certificates: p.certificates,
                signer_id: p.signer_info.sid,
                digest_algorithm: p.signer_info.digest_alg,
                signature_algorithm: p.signer_info.signature_algorithm,
            })
        })
        .transpose()?;
    Ok(TokenContents { status, token })
}

/// What [`check_reply`] could establish about a reply.
#[derive(Clone, Debug)]
pub struct CheckedReply {
    /// The TSTInfo.
    pub tst_info: TstInfo,
    /// The TSA certificate, when the token carries it; its signature and ESS binding were
    /// then checked (but not its path: that needs trust anchors, see [`TokenVerifier`]).
    pub signer: Option<Certificate>,
}

/// Checks that a fresh TimeStampResp answers a request, without trust anchors: status
/// granted, the token's structure, imprint, nonce and policy as [`Expectation`] says, and,
/// when the token carries the TSA certificate, the CMS signature and its ESS binding.
///
/// This is what a client does before storing a token it will verify fully later; use
/// [`TokenVerifier`] when anchors are at hand.
pub fn check_reply(
    response_der: &[u8],
    expect: &Expectation,
    policy: &AlgorithmPolicy,
) -> Result<CheckedReply, VerifyError> {
    let resp = TimeStampResp::from_der(response_der).map_err(malformed("TimeStampResp"))?;
    let token = granted_token(resp)?;
    let parsed = ParsedToken::parse(&token)?;
    check_expectation(&parsed.tst_info, expect, policy)?;
    let signer = parsed
        .certificates
        .iter()
        .find(|c| sid_names(&parsed.signer_info.sid, c))
        .cloned();
    if let Some(signer) = &signer {
        check_signer_info(
            &parsed.signer_info,
            oid::CT_TST_INFO,
            &parsed.econtent,
            signer,
            policy,
        )?;
        check_ess(
            parsed.signer_info.signed_attrs.as_ref(),
            signer,
            &parsed.certificates,
            true,
        )?;
    }
    Ok(CheckedReply {
        tst_info: parsed.tst_info,
        signer,
    })
}

fn granted_token(resp: TimeStampResp) -> Result<ContentInfo, VerifyError> {
    check_granted(&resp.status)?;
    resp.time_stamp_token
        .ok_or(VerifyError::Token("granted without a token"))
}

/// `Ok` for granted and grantedWithMods; otherwise what the TSA refused, and why.
pub(crate) fn check_granted(status: &PkiStatusInfo) -> Result<(), VerifyError> {
    match status.status {
        PkiStatus::Granted | PkiStatus::GrantedWithMods => Ok(()),
        refused => Err(VerifyError::NotGranted {
            status: refused,
            fail_info: status.fail_info,
            text: status.status_string.clone().unwrap_or_default().join("; "),
        }),
    }
}

fn check_expectation(
    tst: &TstInfo,
    expect: &Expectation,
    policy: &AlgorithmPolicy,
) -> Result<(), VerifyError> {
    let imprint = &tst.message_imprint;
    // SHA-1 is collision-broken: an imprint over it proves nothing unless allowed.
    let token_digest = DigestAlgorithm::from_algorithm_identifier(&imprint.hash_algorithm)
        .filter(|d| policy.check_digest(*d, imprint.hash_algorithm.oid).is_ok())
        .ok_or(VerifyError::ImprintMismatch)?;
    let matches = match &expect.imprint {
        ImprintCheck::Data(data) => token_digest.digest(data) == imprint.hashed_message.as_bytes(),
        ImprintCheck::Digest(d, h) => {
            *d == token_digest && h.as_slice() == imprint.hashed_message.as_bytes()
        }
        ImprintCheck::Never => false,
    };
    if !matches {
        return Err(VerifyError::ImprintMismatch);
    }
    if (expect.strict_nonce || expect.nonce.is_some()) && tst.nonce != expect.nonce {
        return Err(VerifyError::NonceMismatch);
    }
    if let Some(p) = expect.policy
        && p != tst.policy
    {
        return Err(VerifyError::PolicyMismatch {
            expected: p,
            got: tst.policy,
        });
    }
    Ok(())
}
