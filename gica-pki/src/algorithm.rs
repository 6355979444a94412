//! Signature algorithms, the policy that says which of them a verifier accepts, and
//! signature verification.
//!
//! Every verifier in gica (certificate paths, CRLs, OCSP responses, CMS in time-stamp tokens)
//! reads the AlgorithmIdentifier it is given with [`SignatureAlgorithm::from_identifier`],
//! which checks the parameters as the RFCs define them, and then asks one
//! [`AlgorithmPolicy`] whether the algorithm is acceptable:
//!
//! - sha{256,384,512}WithRSAEncryption: parameters NULL or absent (RFC 4055 5).
//! - ecdsa-with-SHA{256,384,512}: parameters absent (RFC 5758 3.2).
//! - id-RSASSA-PSS: parameters present and consistent (RFC 4055 3.1): MGF1 with the same
//!   hash, trailerField 1; a PSS-restricted key's own parameters bind the signature's
//!   (RFC 4055 3.3). An id-RSASSA-PSS key never verifies a PKCS#1 v1.5 signature.
//! - SHA-1 anywhere (sha1WithRSAEncryption, PSS over SHA-1) is refused unless the policy
//!   allows it for legacy data ([`AlgorithmPolicy::allow_sha1`]).
//!
//! ```
//! use gica_pki::{AlgorithmPolicy, Signer, SoftwareSigner, algorithm::SignatureError};
//! let signer = SoftwareSigner::generate_p256().unwrap();
//! let sig = signer.sign(b"hello").unwrap();
//! let policy = AlgorithmPolicy::default();
//! policy
//!     .verify(signer.public_key(), signer.signature_algorithm(), None, b"hello", &sig)
//!     .unwrap();
//! assert!(matches!(
//!     policy.verify(signer.public_key(), signer.signature_algorithm(), None, b"other", &sig),
//!     Err(SignatureError::Invalid)
//! ));
//! ```

use der::{
    Any,
    asn1::{BitString, Null, ObjectIdentifier},
};
use ecdsa::signature::hazmat::PrehashVerifier;
use signature::Verifier as _;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::{DigestAlgorithm, RsaPssParams, oid};

/// Why a signature was not accepted.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum SignatureError {
    /// The algorithm uses SHA-1, which the policy refuses.
    #[error("{algorithm} uses SHA-1, which the algorithm policy refuses")]
    Sha1Refused {
        /// The signature algorithm.
        algorithm: ObjectIdentifier,
    },
    /// An algorithm gica does not implement.
    #[error("unsupported signature algorithm {0}")]
    UnsupportedAlgorithm(ObjectIdentifier),
    /// The AlgorithmIdentifier's parameters are not the ones its RFC defines.
    #[error("parameters of {algorithm}: {reason}")]
    BadParameters {
        /// The signature algorithm.
        algorithm: ObjectIdentifier,
        /// What is wrong with them.
        reason: &'static str,
    },
    /// The key is of another kind than the signature algorithm needs.
    #[error("a {key} key cannot verify a {algorithm} signature")]
    KeyMismatch {
        /// subjectPublicKeyInfo algorithm.
        key: ObjectIdentifier,
        /// The signature algorithm.
        algorithm: ObjectIdentifier,
    },
    /// An elliptic curve gica does not implement.
    #[error("unsupported curve {0}")]
    UnsupportedCurve(ObjectIdentifier),
    /// The public key cannot be read.
    #[error("public key: {0}")]
    BadPublicKey(&'static str),
    /// The RSA key is shorter than the policy allows.
    #[error("RSA key of {bits} bits; the policy requires at least {min}")]
    RsaKeyTooSmall {
        /// Modulus size.
        bits: usize,
        /// The policy's minimum.
        min: usize,
    },
    /// The digest named beside the signature (CMS `digestAlgorithm`) is not the one the
    /// signature algorithm uses.
    #[error("digest algorithm {given} does not match {algorithm}, which hashes with {expected}")]
    DigestMismatch {
        /// The signature algorithm.
        algorithm: ObjectIdentifier,
        /// The hash it names.
        expected: &'static str,
        /// The hash named beside it.
        given: &'static str,
    },
    /// The signature algorithm names no hash (plain rsaEncryption or id-ecPublicKey) and
    /// none was given beside it.
    #[error("{0} names no hash and no digest algorithm was given")]
    DigestUnknown(ObjectIdentifier),
    /// The signature value is malformed or does not verify.
    #[error("signature does not verify")]
    Invalid,
}

type Result<T> = core::result::Result<T, SignatureError>;

/// A signature algorithm with its parameters read and checked.
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
#[non_exhaustive]
pub enum SignatureAlgorithm {
    /// RSASSA-PKCS1-v1_5 with this hash.
    RsaPkcs1(DigestAlgorithm),
    /// RSASSA-PSS with MGF1 over the same hash.
    RsaPss {
        /// hashAlgorithm (and MGF1's hash).
        digest: DigestAlgorithm,
        /// saltLength.
        salt_len: usize,
    },
    /// ECDSA with this hash.
    Ecdsa(DigestAlgorithm),
}

/// Longest PSS salt accepted (longer than any hash output gica implements, far shorter than
/// any key): bounds what a hostile parameter can ask of the verifier.
const MAX_PSS_SALT: u32 = 512;

fn null_or_absent(alg: &AlgorithmIdentifierOwned) -> Result<()> {
    match &alg.parameters {
        None => Ok(()),
        Some(p) if p.decode_as::<Null>().is_ok() => Ok(()),
        Some(_) => Err(SignatureError::BadParameters {
            algorithm: alg.oid,
            reason: "must be NULL or absent (RFC 4055 5)",
        }),
    }
}

fn absent(alg: &AlgorithmIdentifierOwned) -> Result<()> {
    match alg.parameters {
        None => Ok(()),
        Some(_) => Err(SignatureError::BadParameters {
            algorithm: alg.oid,
            reason: "must be absent (RFC 5758 3.2)",
        }),
    }
}

impl SignatureAlgorithm {
    /// Reads a `signatureAlgorithm`, checking its parameters.
    ///
    /// `digest` is the hash named beside the signature, where there is one (a CMS
    /// SignerInfo's `digestAlgorithm`): it must be the hash the algorithm names, and it is
    /// the hash used when the algorithm names none (plain rsaEncryption or id-ecPublicKey,
    /// as some CMS signers write).
    ///
    /// ```
    /// use gica_pki::{DigestAlgorithm, algorithm::{SignatureAlgorithm, SignatureError}};
    /// use gica_pki::spki::AlgorithmIdentifierOwned;
    /// let ecdsa = AlgorithmIdentifierOwned { oid: gica_pki::oid::ECDSA_WITH_SHA384, parameters: None };
    /// assert_eq!(
    ///     SignatureAlgorithm::from_identifier(&ecdsa, None),
    ///     Ok(SignatureAlgorithm::Ecdsa(DigestAlgorithm::Sha384))
    /// );
    /// assert!(matches!(
    ///     SignatureAlgorithm::from_identifier(&ecdsa, Some(DigestAlgorithm::Sha256)),
    ///     Err(SignatureError::DigestMismatch { .. })
    /// ));
    /// ```
    pub fn from_identifier(
        alg: &AlgorithmIdentifierOwned,
        digest: Option<DigestAlgorithm>,
    ) -> Result<Self> {
        let o = alg.oid;
        let named = |d: DigestAlgorithm| match digest {
            Some(given) if given != d => Err(SignatureError::DigestMismatch {
                algorithm: o,
                expected: d.name(),
                given: given.name(),
            }),
            _ => Ok(d),
        };
        let hinted = || digest.ok_or(SignatureError::DigestUnknown(o));
        let rsa = |d: DigestAlgorithm| {
            null_or_absent(alg)?;
            Ok(Self::RsaPkcs1(named(d)?))
        };
        let ec = |d: DigestAlgorithm| {
            absent(alg)?;
            Ok(Self::Ecdsa(named(d)?))
        };
        match o {
            _ if o == oid::SHA256_WITH_RSA => rsa(DigestAlgorithm::Sha256),
            _ if o == oid::SHA384_WITH_RSA => rsa(DigestAlgorithm::Sha384),
            _ if o == oid::SHA512_WITH_RSA => rsa(DigestAlgorithm::Sha512),
            _ if o == oid::SHA1_WITH_RSA => rsa(DigestAlgorithm::Sha1),
            _ if o == oid::RSA_ENCRYPTION => {
                null_or_absent(alg)?;
                Ok(Self::RsaPkcs1(hinted()?))
            }
            _ if o == oid::ECDSA_WITH_SHA256 => ec(DigestAlgorithm::Sha256),
            _ if o == oid::ECDSA_WITH_SHA384 => ec(DigestAlgorithm::Sha384),
            _ if o == oid::ECDSA_WITH_SHA512 => ec(DigestAlgorithm::Sha512),
            _ if o == oid::EC_PUBLIC_KEY => {
                // id-ecPublicKey as a CMS signatureAlgorithm may carry the curve; the key
                // decides the curve either way.
                Ok(Self::Ecdsa(hinted()?))
            }
            _ if o == oid::RSASSA_PSS => {
                let params = pss_params(alg)?.ok_or(SignatureError::BadParameters {
                    algorithm: o,
                    reason: "RSASSA-PSS needs its parameters in a signature (RFC 4055 3.1)",
                })?;
                let (d, salt_len) = params;
                Ok(Self::RsaPss {
                    digest: named(d)?,
                    salt_len,
                })
            }
            _ => Err(SignatureError::UnsupportedAlgorithm(o)),
        }
    }

    /// The hash the signature is made over.
    pub fn digest(self) -> DigestAlgorithm {
        match self {
            Self::RsaPkcs1(d) | Self::Ecdsa(d) | Self::RsaPss { digest: d, .. } => d,
        }
    }
}

/// Reads RSASSA-PSS-params from an AlgorithmIdentifier (signature or key): `None` when the
/// parameters are absent (allowed only for an unrestricted id-RSASSA-PSS key).
fn pss_params(alg: &AlgorithmIdentifierOwned) -> Result<Option<(DigestAlgorithm, usize)>> {
    let bad = |reason| SignatureError::BadParameters {
        algorithm: alg.oid,
        reason,
    };
    let Some(any) = &alg.parameters else {
        return Ok(None);
    };
    let params: RsaPssParams = any.decode_as().map_err(|_| bad("not RSASSA-PSS-params"))?;
    let digest = match &params.hash_algorithm {
        None => DigestAlgorithm::Sha1,
        Some(h) => {
            null_or_absent(h)
                .map_err(|_| bad("hashAlgorithm parameters must be NULL or absent"))?;
            DigestAlgorithm::from_oid(&h.oid).ok_or(SignatureError::UnsupportedAlgorithm(h.oid))?
        }
    };
    let mgf_hash = match &params.mask_gen_algorithm {
        None => DigestAlgorithm::Sha1,
        Some(mgf) if mgf.oid == oid::MGF1 => mgf
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<AlgorithmIdentifierOwned>().ok())
            .and_then(|a| DigestAlgorithm::from_oid(&a.oid))
            .ok_or(bad("MGF1 without a known hash"))?,
        Some(mgf) => return Err(SignatureError::UnsupportedAlgorithm(mgf.oid)),
    };
    if mgf_hash != digest {
        return Err(bad("MGF1 hash differs from hashAlgorithm"));
    }
    if params.trailer_field.is_some_and(|t| t != 1) {
        return Err(bad("trailerField must be 1"));
    }
    let salt = params.salt_length.unwrap_or(20);
    if salt > MAX_PSS_SALT {
        return Err(bad("saltLength too large"));
    }
    Ok(Some((digest, salt as usize)))
}

/// Which signature algorithms and keys a verifier accepts; one policy serves every verifier
/// (certificate paths, CRLs, OCSP responses, CMS signatures).
///
/// The default refuses SHA-1 and RSA keys under 2048 bits.
///
/// ```
/// use gica_pki::AlgorithmPolicy;
/// let strict = AlgorithmPolicy::default();
/// assert!(!strict.sha1_allowed());
/// // For archived data signed long ago:
/// let legacy = AlgorithmPolicy::default().allow_sha1(true).min_rsa_bits(1024);
/// assert!(legacy.sha1_allowed());
/// ```
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct AlgorithmPolicy {
    allow_sha1: bool,
    min_rsa_bits: usize,
}

impl Default for AlgorithmPolicy {
    fn default() -> Self {
        Self {
            allow_sha1: false,
            min_rsa_bits: 2048,
        }
    }
}

/// A public key read from a subjectPublicKeyInfo, ready to verify with.
enum PublicKey<'a> {
    Rsa(rsa::PublicKey),
    P256(&'a [u8]),
    P384(&'a [u8]),
}

impl AlgorithmPolicy {
    /// Accept SHA-1 signatures (legacy data only).
    #[must_use]
    pub fn allow_sha1(mut self, allow: bool) -> Self {
        self.allow_sha1 = allow;
        self
    }

    /// Smallest RSA modulus accepted, in bits.
    #[must_use]
    pub fn min_rsa_bits(mut self, bits: usize) -> Self {
        self.min_rsa_bits = bits;
        self
    }

    /// Whether SHA-1 signatures are accepted.
    pub fn sha1_allowed(&self) -> bool {
        self.allow_sha1
    }

    /// Whether `digest` may be used for signatures and message digests.
    pub fn check_digest(&self, digest: DigestAlgorithm, algorithm: ObjectIdentifier) -> Result<()> {
        if digest == DigestAlgorithm::Sha1 && !self.allow_sha1 {
            return Err(SignatureError::Sha1Refused { algorithm });
        }
        Ok(())
    }

    /// Reads `algorithm` (see [`SignatureAlgorithm::from_identifier`]) and checks it against
    /// this policy.
    pub fn algorithm(
        &self,
        algorithm: &AlgorithmIdentifierOwned,
        digest: Option<DigestAlgorithm>,
    ) -> Result<SignatureAlgorithm> {
        let alg = SignatureAlgorithm::from_identifier(algorithm, digest)?;
        self.check_digest(alg.digest(), algorithm.oid)?;
        Ok(alg)
    }

    /// Verifies `signature` over `message` by the key `spki`, as `algorithm` says, under this
    /// policy. `digest` is the hash named beside the signature, if any (a CMS
    /// `digestAlgorithm`): see [`SignatureAlgorithm::from_identifier`].
    pub fn verify(
        &self,
        spki: &SubjectPublicKeyInfoOwned,
        algorithm: &AlgorithmIdentifierOwned,
        digest: Option<DigestAlgorithm>,
        message: &[u8],
        signature: &[u8],
    ) -> Result<()> {
        let alg = self.algorithm(algorithm, digest)?;
        let key = self.public_key(spki, alg, algorithm.oid)?;
        verify_raw(key, alg, message, signature)
    }

    fn public_key<'a>(
        &self,
        spki: &'a SubjectPublicKeyInfoOwned,
        alg: SignatureAlgorithm,
        alg_oid: ObjectIdentifier,
    ) -> Result<PublicKey<'a>> {
        let key_oid = spki.algorithm.oid;
        let mismatch = SignatureError::KeyMismatch {
            key: key_oid,
            algorithm: alg_oid,
        };
        let bits: &BitString = &spki.subject_public_key;
        let raw = bits
            .as_bytes()
            .ok_or(SignatureError::BadPublicKey("unused bits"))?;
        match alg {
            SignatureAlgorithm::RsaPkcs1(_) | SignatureAlgorithm::RsaPss { .. } => {
                let pss_only = if key_oid == oid::RSA_ENCRYPTION {
                    None
                } else if key_oid == oid::RSASSA_PSS {
                    Some(pss_params(&spki.algorithm)?)
                } else {
                    return Err(mismatch);
                };
                match (alg, pss_only) {
                    // RFC 4055 1.2: an id-RSASSA-PSS key is for PSS only.
                    (SignatureAlgorithm::RsaPkcs1(_), Some(_)) => return Err(mismatch),
                    // RFC 4055 3.3: a restricted key binds the hash; the salt is a minimum.
                    (SignatureAlgorithm::RsaPss { digest, salt_len }, Some(Some((kd, ks))))
                        if kd != digest || salt_len < ks =>
                    {
                        return Err(SignatureError::BadParameters {
                            algorithm: alg_oid,
                            reason: "not allowed by the RSASSA-PSS key's own parameters",
                        });
                    }
                    _ => {}
                }
                let key = rsa_key(raw)?;
                let bits = rsa::traits::PublicKeyParts::size(&key) * 8;
                if bits < self.min_rsa_bits {
                    return Err(SignatureError::RsaKeyTooSmall {
                        bits,
                        min: self.min_rsa_bits,
                    });
                }
                Ok(PublicKey::Rsa(key))
            }
            SignatureAlgorithm::Ecdsa(_) => {
                if key_oid != oid::EC_PUBLIC_KEY {
                    return Err(mismatch);
                }
                let curve = spki
                    .algorithm
                    .parameters
                    .as_ref()
                    .and_then(|p: &Any| p.decode_as::<ObjectIdentifier>().ok())
                    .ok_or(SignatureError::BadPublicKey("EC key without a named curve"))?;
                if curve == oid::SECP256R1 {
                    Ok(PublicKey::P256(raw))
                } else if curve == oid::SECP384R1 {
                    Ok(PublicKey::P384(raw))
                } else {
                    Err(SignatureError::UnsupportedCurve(curve))
                }
            }
        }
    }
}

fn rsa_key(pkcs1: &[u8]) -> Result<rsa::PublicKey> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    rsa::PublicKey::from_pkcs1_der(pkcs1).map_err(|_| SignatureError::BadPublicKey("RSA"))
}

/// Verifies with a key already read; shared by [`AlgorithmPolicy::verify`] and the
/// rustls-webpki algorithms of [`crate::cert`].
fn verify_raw(key: PublicKey<'_>, alg: SignatureAlgorithm, msg: &[u8], sig: &[u8]) -> Result<()> {
    use rsa::{pkcs1v15, pss};
    use sha2::{Sha256, Sha384, Sha512};
    let bad = |_| SignatureError::Invalid;
    match (key, alg) {
        (PublicKey::Rsa(key), SignatureAlgorithm::RsaPkcs1(digest)) => {
            let s = pkcs1v15::Signature::try_from(sig).map_err(bad)?;
            match digest {
                DigestAlgorithm::Sha1 => {
                    pkcs1v15::VerifyingKey::<sha1::Sha1>::new(key).verify(msg, &s)
                }
                DigestAlgorithm::Sha256 => {
                    pkcs1v15::VerifyingKey::<Sha256>::new(key).verify(msg, &s)
                }
                DigestAlgorithm::Sha384 => {
                    pkcs1v15::VerifyingKey::<Sha384>::new(key).verify(msg, &s)
                }
                DigestAlgorithm::Sha512 => {
                    pkcs1v15::VerifyingKey::<Sha512>::new(key).verify(msg, &s)
                }
            }
            .map_err(bad)
        }
        (PublicKey::Rsa(key), SignatureAlgorithm::RsaPss { digest, salt_len }) => {
            let s = pss::Signature::try_from(sig).map_err(bad)?;
            match digest {
                DigestAlgorithm::Sha1 => {
                    pss::VerifyingKey::<sha1::Sha1>::new_with_salt_len(key, salt_len)
                        .verify(msg, &s)
                }
                DigestAlgorithm::Sha256 => {
                    pss::VerifyingKey::<Sha256>::new_with_salt_len(key, salt_len).verify(msg, &s)
                }
                DigestAlgorithm::Sha384 => {
                    pss::VerifyingKey::<Sha384>::new_with_salt_len(key, salt_len).verify(msg, &s)
                }
                DigestAlgorithm::Sha512 => {
                    pss::VerifyingKey::<Sha512>::new_with_salt_len(key, salt_len).verify(msg, &s)
                }
            }
            .map_err(bad)
        }
        (PublicKey::P256(point), SignatureAlgorithm::Ecdsa(digest)) => {
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| SignatureError::BadPublicKey("P-256 point"))?;
            let sig = p256::ecdsa::Signature::from_der(sig).map_err(bad)?;
            vk.verify_prehash(&digest.digest(msg), &sig).map_err(bad)
        }
        (PublicKey::P384(point), SignatureAlgorithm::Ecdsa(digest)) => {
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(point)
                .map_err(|_| SignatureError::BadPublicKey("P-384 point"))?;
            let sig = p384::ecdsa::Signature::from_der(sig).map_err(bad)?;
            vk.verify_prehash(&digest.digest(msg), &sig).map_err(bad)
        }
        _ => Err(SignatureError::Invalid),
    }
}

/// rustls-webpki signature algorithms over the RustCrypto crates, so that path validation
/// links no C crypto. Which of them are offered follows the [`AlgorithmPolicy`].
pub(crate) mod webpki_algs {
    use rustls_pki_types::{
        AlgorithmIdentifier, InvalidSignature, SignatureVerificationAlgorithm, alg_id,
    };

    use super::{AlgorithmPolicy, PublicKey, SignatureAlgorithm, verify_raw};
    use crate::DigestAlgorithm::{self, Sha1, Sha256, Sha384, Sha512};

    #[derive(Clone, Copy, Debug, Eq, PartialEq)]
    enum Key {
        Rsa,
        P256,
        P384,
    }

    /// One (key kind, AlgorithmIdentifier encoding) pair webpki matches byte for byte.
    #[derive(Debug)]
    pub(crate) struct Alg {
        key: Key,
        alg: SignatureAlgorithm,
        sig_id: AlgorithmIdentifier,
        min_rsa_bits: usize,
    }

    impl SignatureVerificationAlgorithm for Alg {
        fn verify_signature(
            &self,
            public_key: &[u8],
            message: &[u8],
            signature: &[u8],
        ) -> Result<(), InvalidSignature> {
            let key = match self.key {
                Key::Rsa => {
                    let k = super::rsa_key(public_key).map_err(|_| InvalidSignature)?;
                    if rsa::traits::PublicKeyParts::size(&k) * 8 < self.min_rsa_bits {
                        return Err(InvalidSignature);
                    }
                    PublicKey::Rsa(k)
                }
                Key::P256 => PublicKey::P256(public_key),
                Key::P384 => PublicKey::P384(public_key),
            };
            verify_raw(key, self.alg, message, signature).map_err(|_| InvalidSignature)
        }

        fn public_key_alg_id(&self) -> AlgorithmIdentifier {
            match self.key {
                Key::Rsa => alg_id::RSA_ENCRYPTION,
                Key::P256 => alg_id::ECDSA_P256,
                Key::P384 => alg_id::ECDSA_P384,
            }
        }

        fn signature_alg_id(&self) -> AlgorithmIdentifier {
            self.sig_id
        }
    }

    // AlgorithmIdentifier contents (no outer SEQUENCE) of the forms pki-types has no
    // constant for: RSA PKCS#1 with absent parameters (RFC 4055 5 lets them be absent) and
    // SHA-1 (legacy, only when the policy allows it).
    const RSA_PKCS1_SHA256_ABSENT: AlgorithmIdentifier = AlgorithmIdentifier::from_slice(&[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b,
    ]);
    const RSA_PKCS1_SHA384_ABSENT: AlgorithmIdentifier = AlgorithmIdentifier::from_slice(&[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0c,
    ]);
    const RSA_PKCS1_SHA512_ABSENT: AlgorithmIdentifier = AlgorithmIdentifier::from_slice(&[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0d,
    ]);
    const RSA_PKCS1_SHA1: AlgorithmIdentifier = AlgorithmIdentifier::from_slice(&[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05, 0x05, 0x00,
    ]);
    const RSA_PKCS1_SHA1_ABSENT: AlgorithmIdentifier = AlgorithmIdentifier::from_slice(&[
        0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x05,
    ]);

    fn pss(d: DigestAlgorithm) -> SignatureAlgorithm {
        SignatureAlgorithm::RsaPss {
            digest: d,
            salt_len: d.output_len(),
        }
    }

    /// The algorithms `policy` accepts, as webpki takes them.
    pub(crate) fn for_policy(policy: &AlgorithmPolicy) -> Vec<Alg> {
        use SignatureAlgorithm::{Ecdsa, RsaPkcs1};
        let mut table = vec![
            (Key::P256, Ecdsa(Sha256), alg_id::ECDSA_SHA256),
            (Key::P256, Ecdsa(Sha384), alg_id::ECDSA_SHA384),
            (Key::P256, Ecdsa(Sha512), alg_id::ECDSA_SHA512),
            (Key::P384, Ecdsa(Sha256), alg_id::ECDSA_SHA256),
            (Key::P384, Ecdsa(Sha384), alg_id::ECDSA_SHA384),
            (Key::P384, Ecdsa(Sha512), alg_id::ECDSA_SHA512),
            (Key::Rsa, RsaPkcs1(Sha256), alg_id::RSA_PKCS1_SHA256),
            (Key::Rsa, RsaPkcs1(Sha384), alg_id::RSA_PKCS1_SHA384),
            (Key::Rsa, RsaPkcs1(Sha512), alg_id::RSA_PKCS1_SHA512),
            (Key::Rsa, RsaPkcs1(Sha256), RSA_PKCS1_SHA256_ABSENT),
            (Key::Rsa, RsaPkcs1(Sha384), RSA_PKCS1_SHA384_ABSENT),
            (Key::Rsa, RsaPkcs1(Sha512), RSA_PKCS1_SHA512_ABSENT),
            (Key::Rsa, pss(Sha256), alg_id::RSA_PSS_SHA256),
            (Key::Rsa, pss(Sha384), alg_id::RSA_PSS_SHA384),
            (Key::Rsa, pss(Sha512), alg_id::RSA_PSS_SHA512),
        ];
        if policy.sha1_allowed() {
            table.push((Key::Rsa, RsaPkcs1(Sha1), RSA_PKCS1_SHA1));
            table.push((Key::Rsa, RsaPkcs1(Sha1), RSA_PKCS1_SHA1_ABSENT));
        }
        table
            .into_iter()
            .map(|(key, alg, sig_id)| Alg {
                key,
                alg,
                sig_id,
                min_rsa_bits: policy.min_rsa_bits,
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Signer, SignerOptions, SoftwareSigner};

    fn alg(o: ObjectIdentifier, params: Option<Any>) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: o,
            parameters: params,
        }
    }

    #[test]
    fn parameters_are_checked() {
        let null = Some(Any::from(Null));
        assert_eq!(
            SignatureAlgorithm::from_identifier(&alg(oid::SHA256_WITH_RSA, None), None),
            Ok(SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha256))
        );
        assert_eq!(
            SignatureAlgorithm::from_identifier(&alg(oid::SHA256_WITH_RSA, null.clone()), None),
            Ok(SignatureAlgorithm::RsaPkcs1(DigestAlgorithm::Sha256))
        );
        let oid_param = Some(Any::encode_from(&oid::SECP256R1).expect("encode"));
        assert!(matches!(
            SignatureAlgorithm::from_identifier(
                &alg(oid::SHA256_WITH_RSA, oid_param.clone()),
                None
            ),
            Err(SignatureError::BadParameters { .. })
        ));
        assert!(matches!(
            SignatureAlgorithm::from_identifier(&alg(oid::ECDSA_WITH_SHA256, null), None),
            Err(SignatureError::BadParameters { .. })
        ));
        assert!(matches!(
            SignatureAlgorithm::from_identifier(&alg(oid::RSASSA_PSS, None), None),
            Err(SignatureError::BadParameters { .. })
        ));
        assert!(matches!(
            SignatureAlgorithm::from_identifier(&alg(oid::RSA_ENCRYPTION, None), None),
            Err(SignatureError::DigestUnknown(_))
        ));
        assert!(matches!(
            SignatureAlgorithm::from_identifier(&alg(oid::SECP256R1, None), None),
            Err(SignatureError::UnsupportedAlgorithm(_))
        ));
    }

    #[test]
    fn pss_parameters_must_be_consistent() {
        let mut p = RsaPssParams::new(DigestAlgorithm::Sha256).expect("params");
        p.mask_gen_algorithm = RsaPssParams::new(DigestAlgorithm::Sha384)
            .expect("params")
            .mask_gen_algorithm;
        let a = alg(oid::RSASSA_PSS, Some(Any::encode_from(&p).expect("encode")));
        assert!(matches!(
            SignatureAlgorithm::from_identifier(&a, None),
            Err(SignatureError::BadParameters { .. })
        ));
        let mut p = RsaPssParams::new(DigestAlgorithm::Sha256).expect("params");
        p.trailer_field = Some(2);
        let a = alg(oid::RSASSA_PSS, Some(Any::encode_from(&p).expect("encode")));
        assert!(matches!(
            SignatureAlgorithm::from_identifier(&a, None),
            Err(SignatureError::BadParameters { .. })
        ));
        // All defaults: SHA-1, refused by the default policy.
        let p = RsaPssParams {
            hash_algorithm: None,
            mask_gen_algorithm: None,
            salt_length: None,
            trailer_field: None,
        };
        let a = alg(oid::RSASSA_PSS, Some(Any::encode_from(&p).expect("encode")));
        assert!(matches!(
            AlgorithmPolicy::default().algorithm(&a, None),
            Err(SignatureError::Sha1Refused { .. })
        ));
        assert!(
            AlgorithmPolicy::default()
                .allow_sha1(true)
                .algorithm(&a, None)
                .is_ok()
        );
    }

    #[test]
    fn wrong_key_kinds_are_refused() {
        let ec = SoftwareSigner::generate_p256().expect("key");
        let sig = ec.sign(b"m").expect("sign");
        let rsa_alg = alg(oid::SHA256_WITH_RSA, None);
        assert!(matches!(
            AlgorithmPolicy::default().verify(ec.public_key(), &rsa_alg, None, b"m", &sig),
            Err(SignatureError::KeyMismatch { .. })
        ));
        // digestAlgorithm beside an ECDSA signature must be the one it names.
        assert!(matches!(
            AlgorithmPolicy::default().verify(
                ec.public_key(),
                ec.signature_algorithm(),
                Some(DigestAlgorithm::Sha512),
                b"m",
                &sig
            ),
            Err(SignatureError::DigestMismatch { .. })
        ));
        let _ = SignerOptions::default();
    }
}
