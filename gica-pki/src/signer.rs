//! Signing keys behind one trait, and signature verification by algorithm identifier.
//!
//! [`Signer`] is the seam for other backends (aws-lc-rs, PKCS#11): the protocol code only asks
//! a signer for its algorithm identifiers, its public key and a signature. [`SoftwareSigner`]
//! is the pure-Rust (RustCrypto) implementation.

use der::{
    Decode, Sequence,
    asn1::{BitString, ObjectIdentifier},
};
use ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier};
use rsa::{
    pkcs1::DecodeRsaPrivateKey,
    pkcs8::{DecodePrivateKey, EncodePublicKey},
};
use signature::{Signer as _, Verifier as _};
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::{DigestAlgorithm, Error, Result, oid};

/// A key that signs messages for gica's protocols.
///
/// Implementations hash the message themselves with [`Signer::digest_algorithm`] and must be
/// usable from several threads at once.
///
/// ```
/// use gica_pki::{Signer, SoftwareSigner, DigestAlgorithm};
/// let signer = SoftwareSigner::generate_p256().unwrap();
/// assert_eq!(signer.digest_algorithm(), DigestAlgorithm::Sha256);
/// let sig = signer.sign(b"hello").unwrap();
/// gica_pki::verify_signature(signer.public_key(), signer.signature_algorithm(), None, b"hello", &sig)
///     .unwrap();
/// ```
pub trait Signer: Send + Sync + std::fmt::Debug {
    /// The `signatureAlgorithm` identifier of this key's signatures (e.g. ecdsa-with-SHA256).
    fn signature_algorithm(&self) -> &AlgorithmIdentifierOwned;
    /// The hash applied to messages before signing.
    fn digest_algorithm(&self) -> DigestAlgorithm;
    /// The public key, as it appears in a certificate.
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned;
    /// Signs `message` (hashing it first).
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>>;
}

/// How to use a private key for signing; the key type picks the rest.
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq)]
pub struct SignerOptions {
    /// Hash for signatures; default SHA-256 for RSA and P-256, SHA-384 for P-384.
    pub digest: Option<DigestAlgorithm>,
    /// Sign RSA keys with RSASSA-PSS instead of PKCS#1 v1.5 (always on for RSA-PSS keys).
    pub rsa_pss: bool,
}

/// RSASSA-PSS-params (RFC 8017 A.2.3, RFC 4055 3.1).
///
/// ```text
/// RSASSA-PSS-params ::= SEQUENCE {
///     hashAlgorithm      [0] HashAlgorithm      DEFAULT sha1,
///     maskGenAlgorithm   [1] MaskGenAlgorithm   DEFAULT mgf1SHA1,
///     saltLength         [2] INTEGER            DEFAULT 20,
///     trailerField       [3] TrailerField       DEFAULT trailerFieldBC }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct RsaPssParams {
    /// hashAlgorithm.
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub hash_algorithm: Option<AlgorithmIdentifierOwned>,
    /// maskGenAlgorithm (MGF1 with a hash AlgorithmIdentifier as parameter).
    #[asn1(context_specific = "1", tag_mode = "EXPLICIT", optional = "true")]
    pub mask_gen_algorithm: Option<AlgorithmIdentifierOwned>,
    /// saltLength.
    #[asn1(context_specific = "2", tag_mode = "EXPLICIT", optional = "true")]
    pub salt_length: Option<u32>,
    /// trailerField (only 1 is defined).
    #[asn1(context_specific = "3", tag_mode = "EXPLICIT", optional = "true")]
    pub trailer_field: Option<u32>,
}

impl RsaPssParams {
    /// Parameters for PSS with `digest`, MGF1 with the same hash and salt = hash length.
    pub fn new(digest: DigestAlgorithm) -> Result<Self> {
        let hash = digest.algorithm_identifier();
        Ok(Self {
            mask_gen_algorithm: Some(AlgorithmIdentifierOwned {
                oid: oid::MGF1,
                parameters: Some(der::Any::encode_from(&hash)?),
            }),
            hash_algorithm: Some(hash),
            salt_length: Some(digest.output_len() as u32),
            trailer_field: None,
        })
    }

    /// The hash and salt length these parameters name.
    pub fn digest_and_salt(&self) -> Result<(DigestAlgorithm, usize)> {
        let digest = match &self.hash_algorithm {
            None => DigestAlgorithm::Sha1,
            Some(alg) => DigestAlgorithm::from_algorithm_identifier(alg)
                .ok_or(Error::UnsupportedAlgorithm(alg.oid))?,
        };
        if let Some(mgf) = &self.mask_gen_algorithm {
            let mgf_hash = mgf
                .parameters
                .as_ref()
                .and_then(|p| p.decode_as::<AlgorithmIdentifierOwned>().ok())
                .and_then(|a| DigestAlgorithm::from_algorithm_identifier(&a));
            if mgf.oid != oid::MGF1 || mgf_hash != Some(digest) {
                return Err(Error::UnsupportedAlgorithm(mgf.oid));
            }
        }
        if self.trailer_field.is_some_and(|t| t != 1) {
            return Err(Error::BadSignature("PSS trailerField"));
        }
        Ok((digest, self.salt_length.unwrap_or(20) as usize))
    }
}

#[derive(Clone)]
enum Key {
    RsaPkcs1(rsa::PrivateKey),
    RsaPss(rsa::PrivateKey),
    P256(p256::ecdsa::SigningKey),
    P384(p384::ecdsa::SigningKey),
}

/// A private key held in memory and used with the RustCrypto implementations:
/// RSA PKCS#1 v1.5 and RSA-PSS (SHA-256/384/512), ECDSA P-256 and P-384.
#[derive(Clone)]
pub struct SoftwareSigner {
    key: Key,
    digest: DigestAlgorithm,
    algorithm: AlgorithmIdentifierOwned,
    public_key: SubjectPublicKeyInfoOwned,
}

impl std::fmt::Debug for SoftwareSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SoftwareSigner")
            .field("algorithm", &self.algorithm.oid)
            .field("digest", &self.digest)
            .finish_non_exhaustive()
    }
}

fn key_err(e: impl std::fmt::Display) -> Error {
    Error::Key(e.to_string())
}

impl SoftwareSigner {
    /// Reads a key from PEM: PKCS#8 (`PRIVATE KEY`), PKCS#1 (`RSA PRIVATE KEY`) or SEC1
    /// (`EC PRIVATE KEY`), as `openssl genpkey` / `genrsa -traditional` / `ecparam` write them.
    pub fn from_pem(pem: &str, options: SignerOptions) -> Result<Self> {
        let (label, der) =
            pem_first_block(pem, &["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY"])?;
        match label.as_str() {
            "PRIVATE KEY" => Self::from_pkcs8_der(&der, options),
            "RSA PRIVATE KEY" => {
                let key = rsa::PrivateKey::from_pkcs1_der(&der).map_err(key_err)?;
                Self::from_rsa(key, options)
            }
            _ => {
                let ec = sec1::EcPrivateKey::from_der(&der).map_err(key_err)?;
                let curve = ec
                    .parameters
                    .and_then(|p| p.named_curve())
                    .ok_or_else(|| Error::Key("SEC1 key without a named curve".into()))?;
                Self::from_ec(curve, &der, options, true)
            }
        }
    }

    /// Reads a PKCS#8 `PrivateKeyInfo` in DER.
    pub fn from_pkcs8_der(der: &[u8], options: SignerOptions) -> Result<Self> {
        let info = pkcs8::PrivateKeyInfoRef::from_der(der).map_err(key_err)?;
        let alg = info.algorithm.oid;
        if alg == oid::RSA_ENCRYPTION {
            let key = rsa::PrivateKey::from_pkcs8_der(der).map_err(key_err)?;
            Self::from_rsa(key, options)
        } else if alg == oid::RSASSA_PSS {
            // An RSA-PSS key carries an RSAPrivateKey like rsaEncryption does.
            let key =
                rsa::PrivateKey::from_pkcs1_der(info.private_key.as_bytes()).map_err(key_err)?;
            Self::from_rsa(
                key,
                SignerOptions {
                    rsa_pss: true,
                    ..options
                },
            )
        } else if alg == oid::EC_PUBLIC_KEY {
            let curve = info
                .algorithm
                .parameters
                .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
                .ok_or_else(|| Error::Key("EC key without a named curve".into()))?;
            Self::from_ec(curve, der, options, false)
        } else {
            Err(Error::UnsupportedAlgorithm(alg))
        }
    }

    fn from_ec(
        curve: ObjectIdentifier,
        der: &[u8],
        options: SignerOptions,
        sec1: bool,
    ) -> Result<Self> {
        if options.rsa_pss {
            return Err(Error::Key("RSA-PSS asked for an EC key".into()));
        }
        if curve == oid::SECP256R1 {
            let key = if sec1 {
                p256::SecretKey::from_sec1_der(der).map_err(key_err)?.into()
            } else {
                p256::ecdsa::SigningKey::from_pkcs8_der(der).map_err(key_err)?
            };
            Self::build(
                Key::P256(key),
                options.digest.unwrap_or(DigestAlgorithm::Sha256),
            )
        } else if curve == oid::SECP384R1 {
            let key = if sec1 {
                p384::SecretKey::from_sec1_der(der).map_err(key_err)?.into()
            } else {
                p384::ecdsa::SigningKey::from_pkcs8_der(der).map_err(key_err)?
            };
            Self::build(
                Key::P384(key),
                options.digest.unwrap_or(DigestAlgorithm::Sha384),
            )
        } else {
            Err(Error::UnsupportedAlgorithm(curve))
        }
    }

    fn from_rsa(key: rsa::PrivateKey, options: SignerOptions) -> Result<Self> {
        let digest = options.digest.unwrap_or(DigestAlgorithm::Sha256);
        let key = if options.rsa_pss {
            Key::RsaPss(key)
        } else {
            Key::RsaPkcs1(key)
        };
        Self::build(key, digest)
    }

    /// A fresh P-256 key from the operating system's RNG (demo PKIs and tests).
    pub fn generate_p256() -> Result<Self> {
        let mut bytes = [0u8; 32];
        loop {
            getrandom::fill(&mut bytes).map_err(key_err)?;
            if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&bytes) {
                return Self::build(Key::P256(key), DigestAlgorithm::Sha256);
            }
        }
    }

    fn build(key: Key, digest: DigestAlgorithm) -> Result<Self> {
        if digest == DigestAlgorithm::Sha1 {
            return Err(Error::Key("SHA-1 signatures are not made".into()));
        }
        let (algorithm, spki_der) = match &key {
            Key::RsaPkcs1(k) => {
                let oid = match digest {
                    DigestAlgorithm::Sha384 => oid::SHA384_WITH_RSA,
                    DigestAlgorithm::Sha512 => oid::SHA512_WITH_RSA,
                    _ => oid::SHA256_WITH_RSA,
                };
                let alg = AlgorithmIdentifierOwned {
                    oid,
                    parameters: Some(der::asn1::Null.into()),
                };
                (alg, k.to_public_key().to_public_key_der().map_err(key_err)?)
            }
            Key::RsaPss(k) => {
                let params = der::Any::encode_from(&RsaPssParams::new(digest)?)?;
                let alg = AlgorithmIdentifierOwned {
                    oid: oid::RSASSA_PSS,
                    parameters: Some(params),
                };
                (alg, k.to_public_key().to_public_key_der().map_err(key_err)?)
            }
            Key::P256(k) => (
                ecdsa_alg(digest),
                k.verifying_key().to_public_key_der().map_err(key_err)?,
            ),
            Key::P384(k) => (
                ecdsa_alg(digest),
                k.verifying_key().to_public_key_der().map_err(key_err)?,
            ),
        };
        let public_key = SubjectPublicKeyInfoOwned::from_der(spki_der.as_bytes())?;
        Ok(Self {
            key,
            digest,
            algorithm,
            public_key,
        })
    }

    /// The key as a PKCS#8 PEM `PRIVATE KEY` block (for writing demo keys to disk).
    pub fn to_pkcs8_pem(&self) -> Result<String> {
        der::pem::encode_string(
            "PRIVATE KEY",
            der::pem::LineEnding::LF,
            &self.to_pkcs8_der()?,
        )
        .map_err(|e| Error::Pem(e.to_string()))
    }

    /// The key as PKCS#8 DER (for writing demo keys to disk).
    pub fn to_pkcs8_der(&self) -> Result<Vec<u8>> {
        use pkcs8::EncodePrivateKey;
        let doc = match &self.key {
            Key::RsaPkcs1(k) | Key::RsaPss(k) => k.to_pkcs8_der(),
            Key::P256(k) => k.to_pkcs8_der(),
            Key::P384(k) => k.to_pkcs8_der(),
        }
        .map_err(key_err)?;
        Ok(doc.as_bytes().to_vec())
    }
}

fn ecdsa_alg(digest: DigestAlgorithm) -> AlgorithmIdentifierOwned {
    let oid = match digest {
        DigestAlgorithm::Sha384 => oid::ECDSA_WITH_SHA384,
        DigestAlgorithm::Sha512 => oid::ECDSA_WITH_SHA512,
        _ => oid::ECDSA_WITH_SHA256,
    };
    AlgorithmIdentifierOwned {
        oid,
        parameters: None,
    }
}

fn sign_err(e: impl std::fmt::Display) -> Error {
    Error::Signing(e.to_string())
}

fn rsa_sign(
    key: &rsa::PrivateKey,
    pss: bool,
    digest: DigestAlgorithm,
    msg: &[u8],
) -> Result<Vec<u8>> {
    use rsa::{pkcs1v15, pss as rpss};
    use sha2::{Sha256, Sha384, Sha512};
    use signature::SignatureEncoding;
    let k = key.clone();
    let sig = match (pss, digest) {
        (false, DigestAlgorithm::Sha384) => pkcs1v15::SigningKey::<Sha384>::new(k)
            .try_sign(msg)
            .map(|s| s.to_vec()),
        (false, DigestAlgorithm::Sha512) => pkcs1v15::SigningKey::<Sha512>::new(k)
            .try_sign(msg)
            .map(|s| s.to_vec()),
        (false, _) => pkcs1v15::SigningKey::<Sha256>::new(k)
            .try_sign(msg)
            .map(|s| s.to_vec()),
        (true, DigestAlgorithm::Sha384) => rpss::SigningKey::<Sha384>::new(k)
            .try_sign(msg)
            .map(|s| s.to_vec()),
        (true, DigestAlgorithm::Sha512) => rpss::SigningKey::<Sha512>::new(k)
            .try_sign(msg)
            .map(|s| s.to_vec()),
        (true, _) => rpss::SigningKey::<Sha256>::new(k)
            .try_sign(msg)
            .map(|s| s.to_vec()),
    };
    sig.map_err(sign_err)
}

impl Signer for SoftwareSigner {
    fn signature_algorithm(&self) -> &AlgorithmIdentifierOwned {
        &self.algorithm
    }

    fn digest_algorithm(&self) -> DigestAlgorithm {
        self.digest
    }

    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        &self.public_key
    }

    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        match &self.key {
            Key::RsaPkcs1(k) => rsa_sign(k, false, self.digest, message),
            Key::RsaPss(k) => rsa_sign(k, true, self.digest, message),
            Key::P256(k) => {
                let sig: p256::ecdsa::DerSignature = k
                    .sign_prehash(&self.digest.digest(message))
                    .map_err(sign_err)?;
                Ok(sig.as_bytes().to_vec())
            }
            Key::P384(k) => {
                let sig: p384::ecdsa::DerSignature = k
                    .sign_prehash(&self.digest.digest(message))
                    .map_err(sign_err)?;
                Ok(sig.as_bytes().to_vec())
            }
        }
    }
}

/// Whether `signer` holds the private half of `spki` (compared by key bits, so an RSA key
/// matches whether the certificate says rsaEncryption or id-RSASSA-PSS).
pub fn key_matches(signer: &dyn Signer, spki: &SubjectPublicKeyInfoOwned) -> bool {
    let ours = signer.public_key();
    let rsa_like = |o: &ObjectIdentifier| *o == oid::RSA_ENCRYPTION || *o == oid::RSASSA_PSS;
    let same_kind = ours.algorithm == spki.algorithm
        || (rsa_like(&ours.algorithm.oid) && rsa_like(&spki.algorithm.oid));
    same_kind && ours.subject_public_key == spki.subject_public_key
}

/// Verifies `signature` over `message` by the key `spki`, as `algorithm` says.
///
/// `digest_hint` names the hash when the algorithm identifier does not (CMS signers that put
/// plain `rsaEncryption` in `signatureAlgorithm`, as OpenSSL does).
pub fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    digest_hint: Option<DigestAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    let alg = algorithm.oid;
    let rsa_digest = if alg == oid::SHA256_WITH_RSA {
        Some(DigestAlgorithm::Sha256)
    } else if alg == oid::SHA384_WITH_RSA {
        Some(DigestAlgorithm::Sha384)
    } else if alg == oid::SHA512_WITH_RSA {
        Some(DigestAlgorithm::Sha512)
    } else if alg == oid::SHA1_WITH_RSA {
        Some(DigestAlgorithm::Sha1)
    } else if alg == oid::RSA_ENCRYPTION {
        Some(digest_hint.ok_or(Error::UnsupportedAlgorithm(alg))?)
    } else {
        None
    };
    if let Some(digest) = rsa_digest {
        let key = rsa_public(spki)?;
        return rsa_verify(key, None, digest, message, signature);
    }
    if alg == oid::RSASSA_PSS {
        let params: RsaPssParams = algorithm
            .parameters
            .as_ref()
            .ok_or(Error::BadSignature("PSS without parameters"))?
            .decode_as()?;
        let (digest, salt) = params.digest_and_salt()?;
        return rsa_verify(rsa_public(spki)?, Some(salt), digest, message, signature);
    }
    let ec_digest = if alg == oid::ECDSA_WITH_SHA256 {
        DigestAlgorithm::Sha256
    } else if alg == oid::ECDSA_WITH_SHA384 {
        DigestAlgorithm::Sha384
    } else if alg == oid::ECDSA_WITH_SHA512 {
        DigestAlgorithm::Sha512
    } else if alg == oid::EC_PUBLIC_KEY {
        digest_hint.ok_or(Error::UnsupportedAlgorithm(alg))?
    } else {
        return Err(Error::UnsupportedAlgorithm(alg));
    };
    if spki.algorithm.oid != oid::EC_PUBLIC_KEY {
        return Err(Error::BadSignature("ECDSA signature by a non-EC key"));
    }
    let curve = spki
        .algorithm
        .parameters
        .as_ref()
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        .ok_or(Error::BadSignature("EC key without a named curve"))?;
    let hash = ec_digest.digest(message);
    let point = spki.subject_public_key.raw_bytes();
    let bad = |_| Error::BadSignature("ECDSA");
    if curve == oid::SECP256R1 {
        let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad)?;
        let sig = p256::ecdsa::Signature::from_der(signature).map_err(bad)?;
        vk.verify_prehash(&hash, &sig).map_err(bad)
    } else if curve == oid::SECP384R1 {
        let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(point).map_err(bad)?;
        let sig = p384::ecdsa::Signature::from_der(signature).map_err(bad)?;
        vk.verify_prehash(&hash, &sig).map_err(bad)
    } else {
        Err(Error::UnsupportedAlgorithm(curve))
    }
}

fn rsa_public(spki: &SubjectPublicKeyInfoOwned) -> Result<rsa::PublicKey> {
    use rsa::pkcs1::DecodeRsaPublicKey;
    if spki.algorithm.oid != oid::RSA_ENCRYPTION && spki.algorithm.oid != oid::RSASSA_PSS {
        return Err(Error::BadSignature("RSA signature by a non-RSA key"));
    }
    let bits: &BitString = &spki.subject_public_key;
    rsa::PublicKey::from_pkcs1_der(bits.raw_bytes())
        .map_err(|_| Error::BadSignature("RSA public key"))
}

fn rsa_verify(
    key: rsa::PublicKey,
    pss_salt: Option<usize>,
    digest: DigestAlgorithm,
    msg: &[u8],
    sig: &[u8],
) -> Result<()> {
    use rsa::{pkcs1v15, pss};
    use sha2::{Sha256, Sha384, Sha512};
    let bad = |_| Error::BadSignature("RSA");
    match pss_salt {
        None => {
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
        Some(salt) => {
            let s = pss::Signature::try_from(sig).map_err(bad)?;
            match digest {
                DigestAlgorithm::Sha256 => {
                    pss::VerifyingKey::<Sha256>::new_with_salt_len(key, salt).verify(msg, &s)
                }
                DigestAlgorithm::Sha384 => {
                    pss::VerifyingKey::<Sha384>::new_with_salt_len(key, salt).verify(msg, &s)
                }
                DigestAlgorithm::Sha512 => {
                    pss::VerifyingKey::<Sha512>::new_with_salt_len(key, salt).verify(msg, &s)
                }
                DigestAlgorithm::Sha1 => return Err(Error::BadSignature("PSS with SHA-1")),
            }
            .map_err(bad)
        }
    }
}

/// The first PEM block whose label is one of `labels`, decoded.
pub(crate) fn pem_first_block(pem: &str, labels: &[&str]) -> Result<(String, Vec<u8>)> {
    for block in pem_blocks(pem) {
        let (label, der) = block?;
        if labels.contains(&label.as_str()) {
            return Ok((label, der));
        }
    }
    Err(Error::Pem(format!(
        "no PEM block labelled {}",
        labels.join(" or ")
    )))
}

/// Every PEM block in `text`, in order (text outside blocks is ignored, as openssl does).
pub(crate) fn pem_blocks(text: &str) -> impl Iterator<Item = Result<(String, Vec<u8>)>> + '_ {
    let mut rest = text;
    std::iter::from_fn(move || {
        let start = rest.find("-----BEGIN ")?;
        let after = &rest[start..];
        let label_end = after[11..].find("-----")? + 11;
        let label = after[11..label_end].to_string();
        let end_marker = format!("-----END {label}-----");
        let Some(end) = after.find(&end_marker) else {
            rest = "";
            return Some(Err(Error::Pem(format!("unterminated {label} block"))));
        };
        let block = &after[..end + end_marker.len()];
        rest = &after[end + end_marker.len()..];
        Some(
            der::pem::decode_vec(block.as_bytes())
                .map(|(l, d)| (l.to_string(), d))
                .map_err(|e| Error::Pem(e.to_string())),
        )
    })
}
