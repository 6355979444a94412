#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used)]

use aws_lc_rs::{
    rand::SystemRandom,
    signature::{self as lc, EcdsaKeyPair, KeyPair, RsaEncoding, RsaKeyPair},
};
use gica_pki::{
    DigestAlgorithm, Error, KeyError, Result, Signer, SignerOptions, SoftwareSigner,
    der::asn1::ObjectIdentifier,
    oid,
    spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned},
};
use zeroize::Zeroizing;

/// The name [`AwsLcSigner`] gives itself in [`Signer::backend`].
pub const BACKEND: &str = "aws-lc";

/// What aws-lc-rs refused; the source of the [`gica_pki::Error`] the constructors and
/// [`Signer::sign`] return.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AwsLcError {
    /// aws-lc-rs would not take the key (for RSA: fewer than 2048 or more than 8192 bits).
    #[error("aws-lc-rs rejected the key: {0}")]
    KeyRejected(String),
    /// The key aws-lc-rs loaded has another public key than the one read from the PEM.
    #[error("aws-lc-rs derived a different public key from the private key")]
    PublicKeyMismatch,
    /// ECDSA with a curve and hash aws-lc-rs does not pair (it signs P-256 with SHA-256 and
    /// P-384 with SHA-384 only).
    #[error("ECDSA {curve} with {digest} is not offered by aws-lc-rs (P-256 with sha256, P-384 with sha384)", digest = .digest.name())]
    UnsupportedCurveDigest {
        /// The curve.
        curve: &'static str,
        /// The hash asked for.
        digest: DigestAlgorithm,
    },
    /// AWS-LC failed to sign (it says no more than that).
    #[error("aws-lc-rs could not sign")]
    Sign,
}

fn key_err(e: AwsLcError) -> Error {
    Error::Key(KeyError::Decode(Box::new(e)))
}

enum Key {
    Rsa {
        pair: RsaKeyPair,
        encoding: &'static dyn RsaEncoding,
    },
    Ecdsa(EcdsaKeyPair),
}

/// A private key held by AWS-LC: RSA PKCS#1 v1.5 and RSASSA-PSS, ECDSA P-256 and P-384.
///
/// Built from the same PEM and [`SignerOptions`] as [`SoftwareSigner`], and through it: the
/// key is read and its algorithm identifier, digest and public key are derived by gica-pki,
/// then handed to AWS-LC as PKCS#8, so both backends sign the same way and only the speed
/// differs.
pub struct AwsLcSigner {
    key: Key,
    digest: DigestAlgorithm,
    algorithm: AlgorithmIdentifierOwned,
    public_key: SubjectPublicKeyInfoOwned,
    rng: SystemRandom,
}

impl std::fmt::Debug for AwsLcSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsLcSigner")
            .field("algorithm", &self.algorithm.oid)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

impl AwsLcSigner {
    /// Reads a key from PEM: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1
    /// (`EC PRIVATE KEY`), exactly as [`SoftwareSigner::from_pem`] does.
    pub fn from_pem(pem: &str, options: SignerOptions) -> Result<Self> {
        Self::from_software(&SoftwareSigner::from_pem(pem, options)?)
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` in DER, as [`SoftwareSigner::from_pkcs8_der`] does.
    pub fn from_pkcs8_der(der: &[u8], options: SignerOptions) -> Result<Self> {
        Self::from_software(&SoftwareSigner::from_pkcs8_der(der, options)?)
    }

    /// The same key, algorithm and digest as `signer`, signed with by AWS-LC.
    ///
    /// ```
    /// use gica_pki::{Signer, SoftwareSigner};
    /// let soft = SoftwareSigner::generate_p256().unwrap();
    /// let fast = gica_aws_lc::AwsLcSigner::from_software(&soft).unwrap();
    /// assert_eq!(fast.public_key(), soft.public_key());
    /// assert_eq!(fast.signature_algorithm(), soft.signature_algorithm());
    /// ```
    pub fn from_software(signer: &SoftwareSigner) -> Result<Self> {
        let algorithm = signer.signature_algorithm().clone();
        let digest = signer.digest_algorithm();
        let public_key = signer.public_key().clone();
        let pkcs8 = Zeroizing::new(signer.to_pkcs8_der()?);
        let rejected =
            |e: aws_lc_rs::error::KeyRejected| key_err(AwsLcError::KeyRejected(e.to_string()));
        let (key, lc_public): (Key, Vec<u8>) = if algorithm.oid == oid::RSASSA_PSS
            || [
                oid::SHA256_WITH_RSA,
                oid::SHA384_WITH_RSA,
                oid::SHA512_WITH_RSA,
            ]
            .contains(&algorithm.oid)
        {
            let pss = algorithm.oid == oid::RSASSA_PSS;
            let encoding: &'static dyn RsaEncoding = match (pss, digest) {
                (false, DigestAlgorithm::Sha384) => &lc::RSA_PKCS1_SHA384,
                (false, DigestAlgorithm::Sha512) => &lc::RSA_PKCS1_SHA512,
                (false, _) => &lc::RSA_PKCS1_SHA256,
                (true, DigestAlgorithm::Sha384) => &lc::RSA_PSS_SHA384,
                (true, DigestAlgorithm::Sha512) => &lc::RSA_PSS_SHA512,
                (true, _) => &lc::RSA_PSS_SHA256,
            };
            let pair = RsaKeyPair::from_pkcs8(&pkcs8).map_err(rejected)?;
            let public = pair.public_key().as_ref().to_vec();
            (Key::Rsa { pair, encoding }, public)
        } else {
            let curve = public_key
                .algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .ok_or(Error::Key(KeyError::NoNamedCurve))?;
            let alg = match (curve, digest) {
                (c, DigestAlgorithm::Sha256) if c == oid::SECP256R1 => {
                    &lc::ECDSA_P256_SHA256_ASN1_SIGNING
                }
                (c, DigestAlgorithm::Sha384) if c == oid::SECP384R1 => {
                    &lc::ECDSA_P384_SHA384_ASN1_SIGNING
                }
                (c, digest) if c == oid::SECP256R1 || c == oid::SECP384R1 => {
                    let curve = if c == oid::SECP256R1 {
                        "P-256"
                    } else {
                        "P-384"
                    };
                    return Err(Error::Signing(Box::new(
                        AwsLcError::UnsupportedCurveDigest { curve, digest },
                    )));
                }
                (c, _) => return Err(Error::Key(KeyError::UnsupportedCurve(c))),
            };
            let pair = EcdsaKeyPair::from_pkcs8(alg, &pkcs8).map_err(rejected)?;
            let public = pair.public_key().as_ref().to_vec();
            (Key::Ecdsa(pair), public)
        };
        // RSAPublicKey or the uncompressed point: the subjectPublicKey bits either way.
        if public_key.subject_public_key.as_bytes() != Some(lc_public.as_slice()) {
            return Err(key_err(AwsLcError::PublicKeyMismatch));
        }
        Ok(Self {
            key,
            digest,
            algorithm,
            public_key,
            rng: SystemRandom::new(),
        })
    }
}

impl Signer for AwsLcSigner {
    fn signature_algorithm(&self) -> &AlgorithmIdentifierOwned {
        &self.algorithm
    }

    fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest
    }

    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.public_key
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        let failed = |_| Error::Signing(Box::new(AwsLcError::Sign));
        match &self.key {
            Key::Rsa { pair, encoding } => {
                let mut out = vec![0u8; pair.public_modulus_len()];
                pair.sign(*encoding, &self.rng, message, &mut out)
                    .map_err(failed)?;
                Ok(out)
            }
            Key::Ecdsa(pair) => Ok(pair
                .sign(&self.rng, message)
                .map_err(failed)?
                .as_ref()
                .to_vec()),
        }
    }
}
