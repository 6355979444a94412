//! Verifying proofs.

use std::time::SystemTime;

use der::asn1::ObjectIdentifier;
use x509_cert::{Certificate, ext::pkix::KeyUsages};

use super::{DEFAULT_MAX_LEN, Parsed, ProofError};
use crate::{
    AlgorithmPolicy, DigestAlgorithm, GenTime,
    cert::{self, PathOptions},
    signed_data::{self, check_ess, check_signer_info},
    tsp::{Expectation, TokenVerifier, VerifiedToken, read_token},
};

/// A proof that verified.
#[derive(Clone, Debug)]
pub struct VerifiedProof {
    /// eContentType: the record's type.
    pub content_type: ObjectIdentifier,
    /// The record's DER, exactly as signed.
    pub content: Vec<u8>,
    /// The signer certificate.
    pub signer: Certificate,
    /// The signer's path, signer first, anchor last.
    pub chain: Vec<Certificate>,
    /// The signingTime attribute: the signer's own claim, not checked against anything.
    /// The time a proof proves is its token's genTime.
    pub signing_time: Option<SystemTime>,
    /// The time-stamp token, verified: TSTInfo (genTime, serial, policy, TSA name), TSA
    /// certificate and path.
    pub time_stamp: Option<VerifiedToken>,
    /// When the signer's path was found valid: the token's genTime, or `now` without one.
    pub validated_at: SystemTime,
}

impl VerifiedProof {
    /// The token's genTime, if the proof is stamped.
    pub fn gen_time(&self) -> Option<GenTime> {
        self.time_stamp.as_ref().map(|t| t.tst_info.gen_time)
    }
}

/// Verifies proofs against trust anchors.
///
/// Checks, in order (the first failure is the error):
/// - size ([`max_len`](Self::max_len)), DER, ContentInfo of id-signedData, SignedData and
///   SignerInfo versions (RFC 5652 5.1, 5.3), exactly one SignerInfo, the record present,
///   counts of certificates and attributes;
/// - the record's type, when [`content_type`](Self::content_type) is set;
/// - the signer certificate found by the sid (among the proof's certificates and
///   [`untrusted`](Self::untrusted)); signed attributes contentType (= eContentType) and
///   messageDigest; the signature under the [`AlgorithmPolicy`]; signingCertificate(V2),
///   when present, binds the signer certificate; keyUsage allows digitalSignature or
///   nonRepudiation;
/// - the token, when present (or [`ProofError::TimeStampMissing`] when
///   [`require_time_stamp`](Self::require_time_stamp), the default): its imprint is the hash
///   of the signature value, and it verifies as [`TokenVerifier`] checks at its genTime
///   against the [`tsa_anchors`](Self::tsa_anchors);
/// - the signer's path to an anchor, valid at the token's genTime, or at `now` without a
///   token.
///
/// ```
/// use gica_pki::{cert::load_pem_certs, oid, proof::{ProofError, ProofVerifier}};
/// # let read = |f: &str| std::fs::read(format!("{}/../testdata/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
/// let roots = load_pem_certs(&String::from_utf8(read("pki/root-ca.pem")).unwrap())?;
/// let verifier = ProofVerifier::new(roots).content_type(oid::CT_REGISTRY_RECEIPT);
/// let proof = verifier.verify(&read("proof/proof-p256.der"), std::time::SystemTime::now())?;
/// assert_eq!(proof.content, read("proof/record.der"));
/// assert!(matches!(
///     verifier.content_type(oid::CT_INBOX_EVIDENCE).verify(&read("proof/proof-p256.der"), std::time::SystemTime::now()),
///     Err(ProofError::ContentType { .. })
/// ));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct ProofVerifier {
    anchors: Vec<Certificate>,
    tsa_anchors: Option<Vec<Certificate>>,
    untrusted: Vec<Certificate>,
    policy: AlgorithmPolicy,
    purpose: Option<ObjectIdentifier>,
    crls: Vec<Vec<u8>>,
    ocsp: Vec<Vec<u8>>,
    content_type: Option<ObjectIdentifier>,
    require_time_stamp: bool,
    max_len: usize,
}

impl ProofVerifier {
    /// Trust these anchors for signers, and for TSAs unless
    /// [`tsa_anchors`](Self::tsa_anchors) says otherwise. Defaults: any content type (set
    /// one: see [`content_type`](Self::content_type)), a time-stamp required, the default
    /// [`AlgorithmPolicy`], no revocation evidence, at most [`DEFAULT_MAX_LEN`] octets.
    pub fn new(anchors: Vec<Certificate>) -> Self {
        Self {
            anchors,
            tsa_anchors: None,
            untrusted: Vec::new(),
            policy: AlgorithmPolicy::default(),
            purpose: None,
            crls: Vec::new(),
            ocsp: Vec::new(),
            content_type: None,
            require_time_stamp: true,
            max_len: DEFAULT_MAX_LEN,
        }
    }

    /// Trust these anchors for the TSA's certificate instead of the signer's anchors.
    #[must_use]
    pub fn tsa_anchors(mut self, anchors: Vec<Certificate>) -> Self {
        self.tsa_anchors = Some(anchors);
        self
    }

    /// Extra certificates for finding the signer and building both paths (intermediates
    /// the proof or token does not carry).
    #[must_use]
    pub fn untrusted(mut self, certs: Vec<Certificate>) -> Self {
        self.untrusted = certs;
        self
    }

    /// The algorithm policy for the signature, the token and both paths (default: no
    /// SHA-1).
    #[must_use]
    pub fn policy(mut self, policy: AlgorithmPolicy) -> Self {
        self.policy = policy;
        self
    }

    /// The record type a proof must carry. A verifier without one accepts any type and
    /// leaves the check to its caller ([`VerifiedProof::content_type`]); a workflow sets it,
    /// so a signed record of one kind is never taken for another.
    #[must_use]
    pub fn content_type(mut self, content_type: ObjectIdentifier) -> Self {
        self.content_type = Some(content_type);
        self
    }

    /// An extendedKeyUsage purpose every certificate of the signer's path that has an
    /// extendedKeyUsage must allow (see [`PathOptions::purpose`]). Default: none.
    #[must_use]
    pub fn purpose(mut self, eku: ObjectIdentifier) -> Self {
        self.purpose = Some(eku);
        self
    }

    /// DER CRLs, for the signer's and the TSA's paths: once given, every certificate below
    /// an anchor on either path must be covered by one (or by an OCSP response) and not be
    /// revoked at the validation time (see [`PathOptions::crls`]).
    #[must_use]
    pub fn crls(mut self, crls: Vec<Vec<u8>>) -> Self {
        self.crls = crls;
        self
    }

    /// DER OCSP responses for both paths, checked like CRLs (see
    /// [`PathOptions::ocsp_responses`]).
    #[must_use]
    pub fn ocsp_responses(mut self, responses: Vec<Vec<u8>>) -> Self {
        self.ocsp = responses;
        self
    }

    /// Whether a proof without a time-stamp token is refused (default `true`). Without a
    /// token the signer's path must be valid at `now`.
    #[must_use]
    pub fn require_time_stamp(mut self, yes: bool) -> Self {
        self.require_time_stamp = yes;
        self
    }

    /// The largest proof read, in octets (default [`DEFAULT_MAX_LEN`]).
    #[must_use]
    pub fn max_len(mut self, max: usize) -> Self {
        self.max_len = max;
        self
    }

    fn path_options(&self) -> PathOptions {
        let options = PathOptions::default()
            .policy(self.policy.clone())
            .crls(self.crls.clone())
            .ocsp_responses(self.ocsp.clone());
        match self.purpose {
            Some(eku) => options.purpose(eku),
            None => options,
        }
    }

    /// Verifies a DER proof; `now` is the validation time of a proof without a token.
    pub fn verify(&self, der: &[u8], now: SystemTime) -> Result<VerifiedProof, ProofError> {
        let p = Parsed::parse(der, self.max_len)?;
        if let Some(expected) = self.content_type
            && p.content_type != expected
        {
            return Err(ProofError::ContentType {
                expected,
                found: p.content_type,
            });
        }
        let si = &p.signer_info;
        let pool: Vec<Certificate> = p
            .certificates
            .iter()
            .chain(&self.untrusted)
            .cloned()
            .collect();
        let signer = pool
            .iter()
            .find(|c| signed_data::sid_names(&si.sid, c))
            .cloned()
            .ok_or(ProofError::SignerCertificateMissing)?;
        check_signer_info(si, p.content_type, &p.content, &signer, &self.policy)?;
        check_ess(si.signed_attrs.as_ref(), &signer, &pool, false)?;
        cert::check_key_usage(
            &signer,
            &[KeyUsages::DigitalSignature, KeyUsages::NonRepudiation],
            "digitalSignature, nonRepudiation",
        )
        .map_err(ProofError::SignerCertificate)?;
        let signing_time = p.signing_time()?;
        let time_stamp = match &p.token {
            Some(token) => Some(self.verify_token(token, si.signature.as_bytes(), &pool)?),
            None if self.require_time_stamp => return Err(ProofError::TimeStampMissing),
            None => None,
        };
        let validated_at = time_stamp
            .as_ref()
            .map_or(now, |t| t.tst_info.gen_time.to_system_time());
        let chain = cert::verify_path_with(
            &signer,
            &pool,
            &self.anchors,
            validated_at,
            &self.path_options(),
        )
        .map_err(ProofError::SignerPath)?;
        Ok(VerifiedProof {
            content_type: p.content_type,
            content: p.content,
            signer,
            chain,
            signing_time,
            time_stamp,
            validated_at,
        })
    }

    fn verify_token(
        &self,
        token: &[u8],
        signature: &[u8],
        pool: &[Certificate],
    ) -> Result<VerifiedToken, ProofError> {
        let parts = read_token(token)
            .and_then(|c| c.granted())
            .map_err(ProofError::TimeStamp)?;
        let imprint = &parts.tst_info.message_imprint;
        let digest = DigestAlgorithm::from_algorithm_identifier(&imprint.hash_algorithm)
            .ok_or(ProofError::TimeStampImprint)?;
        let hash = digest.digest(signature);
        if hash != imprint.hashed_message.as_bytes() {
            return Err(ProofError::TimeStampImprint);
        }
        let anchors = self.tsa_anchors.as_ref().unwrap_or(&self.anchors);
        TokenVerifier::new(anchors.clone())
            .untrusted(pool.to_vec())
            .policy(self.policy.clone())
            .crls(self.crls.clone())
            .ocsp_responses(self.ocsp.clone())
            .verify_token(token, &Expectation::digest(digest, &hash))
            .map_err(ProofError::TimeStamp)
    }
}
