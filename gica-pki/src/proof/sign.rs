//! Signing proofs and putting their time-stamp token in.

use std::{
    sync::Arc,
    time::{SystemTime, UNIX_EPOCH},
};

use cms::{
    content_info::ContentInfo,
    signed_data::{SignedData, SignerInfos},
};
use der::{
    Any, Decode, Encode,
    asn1::{AnyRef, ObjectIdentifier, SetOfVec},
};
use x509_cert::{Certificate, attr::Attribute, ext::pkix::KeyUsages};

use super::{ProofError, malformed, token_der};
use crate::{
    DigestAlgorithm, Error, Result, Signer, cert, oid,
    signed_data::{self, CmsSigner},
    tsp::read_token,
};

/// Signs records as proofs: one key with its certificate.
///
/// Signing calls [`Signer::sign`] once; servers whose signer may block (a hardware token)
/// call [`ProofSigner::sign`] off their async workers, as they do for TSA tokens.
///
/// See the [module docs](super) for a whole sign, stamp and verify example.
#[derive(Debug)]
pub struct ProofSigner {
    cms: CmsSigner,
}

impl ProofSigner {
    /// A signer for `cert`, whose key `signer` holds (checked, as the TSA authority checks
    /// its own). `chain` (intermediates, optionally the root) goes into every proof after
    /// the signer certificate, so a verifier needs only its trust anchors.
    ///
    /// Refuses a certificate whose keyUsage allows neither digitalSignature nor
    /// nonRepudiation: [`ProofVerifier`](super::ProofVerifier) would refuse its proofs.
    pub fn new(
        signer: Arc<dyn Signer>,
        cert: Certificate,
        chain: Vec<Certificate>,
    ) -> Result<Self> {
        cert::check_key_usage(
            &cert,
            &[KeyUsages::DigitalSignature, KeyUsages::NonRepudiation],
            "digitalSignature, nonRepudiation",
        )?;
        Ok(Self {
            cms: CmsSigner::new(cert, &chain, signer)?,
        })
    }

    /// The signer certificate.
    pub fn certificate(&self) -> &Certificate {
        self.cms.certificate()
    }

    /// The key.
    pub fn signer(&self) -> &Arc<dyn Signer> {
        self.cms.signer()
    }

    /// Signs `content_der`, a record of type `content_type`, stating `signing_time` (the
    /// caller's clock: the core reads none) in the signingTime attribute.
    ///
    /// `content_der` must be one complete DER element (its inner encoding is the record
    /// type's business), and the signer certificate must be valid at `signing_time`: a
    /// proof signed outside it would never verify.
    pub fn sign(
        &self,
        content_type: ObjectIdentifier,
        content_der: &[u8],
        signing_time: SystemTime,
    ) -> Result<UnstampedProof> {
        AnyRef::from_der(content_der)?;
        cert::check_valid_at(self.certificate(), signing_time)?;
        let secs = signing_time
            .duration_since(UNIX_EPOCH)
            .map_err(|_| Error::Config {
                what: "signing time",
                reason: "before 1970",
            })?
            .as_secs();
        let signed_data = self.cms.sign(
            content_type,
            content_der.to_vec(),
            signed_data::signing_time(secs)?,
            true,
        )?;
        let signature = signed_data
            .signer_infos
            .0
            .iter()
            .next()
            .map(|si| si.signature.as_bytes().to_vec())
            .unwrap_or_default();
        Ok(UnstampedProof {
            signed_data,
            signature,
        })
    }
}

/// A signed proof waiting for its time-stamp token.
///
/// Cheap to keep (a retry with another TSA starts from here): nothing in it changes when the
/// token is added, which goes in an unsigned attribute.
#[derive(Clone, Debug)]
pub struct UnstampedProof {
    signed_data: SignedData,
    signature: Vec<u8>,
}

impl UnstampedProof {
    /// The SignerInfo's signature value: what the token stamps.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    /// The hash of the signature value with `digest`: the messageImprint to ask a TSA for.
    pub fn time_stamp_imprint(&self, digest: DigestAlgorithm) -> Vec<u8> {
        digest.digest(&self.signature)
    }

    /// The proof's DER with `token` as its id-aa-timeStampToken attribute.
    ///
    /// `token` is a TimeStampToken (ContentInfo) or a whole TimeStampResp, whose status must
    /// then be granted. Only its structure and imprint are checked here, not its signature
    /// or certificates ([`ProofVerifier`](super::ProofVerifier) does that): a token whose
    /// imprint is not this signature's hash (or uses SHA-1 or an unknown hash) is
    /// [`ProofError::TimeStampImprint`].
    pub fn with_time_stamp(&self, token: &[u8]) -> Result<Vec<u8>, ProofError> {
        let token = token_der(token)?;
        let parts = read_token(&token)
            .and_then(|c| c.granted())
            .map_err(ProofError::TimeStamp)?;
        let imprint = &parts.tst_info.message_imprint;
        let stamps_this = DigestAlgorithm::from_algorithm_identifier(&imprint.hash_algorithm)
            .filter(|d| *d != DigestAlgorithm::Sha1)
            .is_some_and(|d| d.digest(&self.signature) == imprint.hashed_message.as_bytes());
        if !stamps_this {
            return Err(ProofError::TimeStampImprint);
        }
        let value = Any::from_der(&token).map_err(malformed("TimeStampToken"))?;
        let attr = Attribute {
            oid: oid::ATTR_TIME_STAMP_TOKEN,
            values: SetOfVec::try_from(vec![value]).map_err(malformed("TimeStampToken"))?,
        };
        let mut signed_data = self.signed_data.clone();
        let mut infos: Vec<_> = signed_data.signer_infos.0.into_vec();
        for si in &mut infos {
            si.unsigned_attrs =
                Some(SetOfVec::try_from(vec![attr.clone()]).map_err(malformed("SignerInfo"))?);
        }
        signed_data.signer_infos = SignerInfos::try_from(infos).map_err(malformed("SignerInfo"))?;
        encode(&signed_data).map_err(malformed("SignedData"))
    }

    /// The proof's DER without a time-stamp (for a verifier told not to require one).
    pub fn to_der(&self) -> Result<Vec<u8>> {
        Ok(encode(&self.signed_data)?)
    }
}

fn encode(signed_data: &SignedData) -> der::Result<Vec<u8>> {
    ContentInfo {
        content_type: oid::SIGNED_DATA,
        content: Any::encode_from(signed_data)?,
    }
    .to_der()
}
