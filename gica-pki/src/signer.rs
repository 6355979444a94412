//! Signing keys behind one trait, and signature verification by algorithm identifier.
//!
//! [`Signer`] is the seam for other backends (aws-lc-rs, PKCS#11): the protocol code only asks
//! a signer for its algorithm identifiers, its public key and a signature. [`SoftwareSigner`]
//! is the pure-Rust (RustCrypto) implementation.

use der::{Decode, Sequence, asn1::ObjectIdentifier};
use ecdsa::signature::hazmat::PrehashSigner;
use rsa::{
    pkcs1::DecodeRsaPrivateKey,
    pkcs8::{DecodePrivateKey, EncodePublicKey},
};
use signature::Signer as _;
use spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned};

use crate::{DigestAlgorithm, Error, KeyError, PemError, Result, oid};

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
    /// A short name of the implementation, for logs and metrics (`rustcrypto` for
    /// [`SoftwareSigner`]); signers that do not say are `custom`.
    fn backend(&self) -> &'static str {
        "custom"
    }
    /// Whether a signature may wait on something outside the process (a hardware token, a
    /// network HSM): servers then never sign on their async workers, however fast the
    /// signer measured at start. Default `false`.
    fn may_block(&self) -> bool {
        false
    }
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
            return Err(Error::UnsupportedAlgorithm(oid::RSASSA_PSS));
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

fn key_err<E: std::error::Error + Send + Sync + 'static>(e: E) -> Error {
    Error::Key(KeyError::Decode(Box::new(e)))
}

/// Fills `buf` from the operating system's RNG.
pub(crate) fn random(buf: &mut [u8]) -> Result<()> {
    getrandom::fill(buf).map_err(|e| Error::Rng(Box::new(e)))
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
                    .ok_or(Error::Key(KeyError::NoNamedCurve))?;
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
                .ok_or(Error::Key(KeyError::NoNamedCurve))?;
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
            return Err(Error::Key(KeyError::PssForNonRsa));
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
            random(&mut bytes)?;
            if let Ok(key) = p256::ecdsa::SigningKey::from_slice(&bytes) {
                return Self::build(Key::P256(key), DigestAlgorithm::Sha256);
            }
        }
    }

    fn build(key: Key, digest: DigestAlgorithm) -> Result<Self> {
        let spki_der = match &key {
            Key::RsaPkcs1(k) | Key::RsaPss(k) => k.to_public_key().to_public_key_der(),
            Key::P256(k) => k.verifying_key().to_public_key_der(),
            Key::P384(k) => k.verifying_key().to_public_key_der(),
        }
        .map_err(key_err)?;
        let public_key = SubjectPublicKeyInfoOwned::from_der(spki_der.as_bytes())?;
        let options = SignerOptions {
            digest: Some(digest),
            rsa_pss: matches!(key, Key::RsaPss(_)),
        };
        let (algorithm, digest) = signature_algorithm_for(&public_key, options)?;
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
        .map_err(|e| Error::Pem(e.into()))
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

/// The `signatureAlgorithm` and hash gica signs with for `public_key` under `options`, as
/// [`SoftwareSigner`] chooses them: RSA gets sha*WithRSAEncryption (or RSASSA-PSS with MGF1
/// and salt = hash length when `options.rsa_pss` is set or the key is an RSA-PSS key), P-256
/// ecdsa-with-SHA256 and P-384 ecdsa-with-SHA384 unless `options.digest` says otherwise.
///
/// Other backends (PKCS#11, hardware) call this so every key type gets the same algorithm
/// whoever holds the private half.
///
/// ```
/// use gica_pki::{DigestAlgorithm, Signer, SignerOptions, SoftwareSigner, signature_algorithm_for};
/// let key = SoftwareSigner::generate_p256().unwrap();
/// let (alg, digest) = signature_algorithm_for(key.public_key(), SignerOptions::default()).unwrap();
/// assert_eq!(&alg, key.signature_algorithm());
/// assert_eq!(digest, DigestAlgorithm::Sha256);
/// ```
pub fn signature_algorithm_for(
    public_key: &SubjectPublicKeyInfoOwned,
    options: SignerOptions,
) -> Result<(AlgorithmIdentifierOwned, DigestAlgorithm)> {
    let kind = public_key.algorithm.oid;
    let (digest, algorithm) = if kind == oid::RSA_ENCRYPTION || kind == oid::RSASSA_PSS {
        let digest = options.digest.unwrap_or(DigestAlgorithm::Sha256);
        if digest == DigestAlgorithm::Sha1 {
            return Err(Error::Key(KeyError::Sha1));
        }
        let algorithm = if options.rsa_pss || kind == oid::RSASSA_PSS {
            AlgorithmIdentifierOwned {
                oid: oid::RSASSA_PSS,
                parameters: Some(der::Any::encode_from(&RsaPssParams::new(digest)?)?),
            }
        } else {
            let oid = match digest {
                DigestAlgorithm::Sha384 => oid::SHA384_WITH_RSA,
                DigestAlgorithm::Sha512 => oid::SHA512_WITH_RSA,
                _ => oid::SHA256_WITH_RSA,
            };
            AlgorithmIdentifierOwned {
                oid,
                parameters: Some(der::asn1::Null.into()),
            }
        };
        (digest, algorithm)
    } else if kind == oid::EC_PUBLIC_KEY {
        if options.rsa_pss {
            return Err(Error::Key(KeyError::PssForNonRsa));
        }
        let curve = public_key
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
            .ok_or(Error::Key(KeyError::NoNamedCurve))?;
        let default = if curve == oid::SECP256R1 {
            DigestAlgorithm::Sha256
        } else if curve == oid::SECP384R1 {
            DigestAlgorithm::Sha384
        } else {
            return Err(Error::UnsupportedAlgorithm(curve));
        };
        let digest = options.digest.unwrap_or(default);
        if digest == DigestAlgorithm::Sha1 {
            return Err(Error::Key(KeyError::Sha1));
        }
        (digest, ecdsa_alg(digest))
    } else {
        return Err(Error::UnsupportedAlgorithm(kind));
    };
    Ok((algorithm, digest))
}

fn sign_err<E: std::error::Error + Send + Sync + 'static>(e: E) -> Error {
    Error::Signing(Box::new(e))
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

    fn backend(&self) -> &'static str {
        "rustcrypto"
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

/// Verifies `signature` over `message` by the key `spki`, as `algorithm` says, under the
/// default [`AlgorithmPolicy`](crate::AlgorithmPolicy) (no SHA-1, RSA of 2048 bits or more).
///
/// `digest_hint` is the hash named beside the signature (a CMS `digestAlgorithm`): it must
/// match the hash the algorithm names, and it is the hash used when the algorithm names none
/// (CMS signers that put plain `rsaEncryption` in `signatureAlgorithm`, as OpenSSL does).
pub fn verify_signature(
    spki: &SubjectPublicKeyInfoOwned,
    algorithm: &AlgorithmIdentifierOwned,
    digest_hint: Option<DigestAlgorithm>,
    message: &[u8],
    signature: &[u8],
) -> Result<()> {
    crate::AlgorithmPolicy::default()
        .verify(spki, algorithm, digest_hint, message, signature)
        .map_err(Error::from)
}

/// The first PEM block whose label is one of `labels`, decoded.
pub(crate) fn pem_first_block(pem: &str, labels: &[&str]) -> Result<(String, Vec<u8>)> {
    for block in pem_blocks(pem) {
        let (label, der) = block?;
        if labels.contains(&label.as_str()) {
            return Ok((label, der));
        }
    }
    Err(Error::Pem(PemError::Missing {
        expected: labels.join(" or "),
    }))
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
            return Some(Err(Error::Pem(PemError::Unterminated { label })));
        };
        let block = &after[..end + end_marker.len()];
        rest = &after[end + end_marker.len()..];
        Some(
            der::pem::decode_vec(block.as_bytes())
                .map(|(l, d)| (l.to_string(), d))
                .map_err(|e| Error::Pem(e.into())),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture_key(name: &str, options: SignerOptions) -> SoftwareSigner {
        let path = format!("{}/../testdata/pki/{name}", env!("CARGO_MANIFEST_DIR"));
        let pem = std::fs::read_to_string(path).expect("fixture");
        SoftwareSigner::from_pem(&pem, options).expect("key")
    }

    #[test]
    fn algorithm_from_the_public_key_matches_the_software_signer() {
        let digests = [
            None,
            Some(DigestAlgorithm::Sha256),
            Some(DigestAlgorithm::Sha384),
            Some(DigestAlgorithm::Sha512),
        ];
        for key in [
            "tsa-p256.key",
            "tsa-p384.key",
            "tsa-rsa.key",
            "tsa-rsa-pss.key",
        ] {
            for digest in digests {
                for rsa_pss in [false, true] {
                    let options = SignerOptions { digest, rsa_pss };
                    if rsa_pss && !key.contains("rsa") {
                        continue;
                    }
                    let soft = fixture_key(key, options);
                    let (alg, d) =
                        signature_algorithm_for(soft.public_key(), options).expect("algorithm");
                    // The PSS key's SPKI reads rsaEncryption, so PSS is asked for explicitly.
                    if key != "tsa-rsa-pss.key" || rsa_pss {
                        assert_eq!(&alg, soft.signature_algorithm(), "{key} {options:?}");
                    }
                    assert_eq!(d, soft.digest_algorithm(), "{key} {options:?}");
                }
            }
        }
    }

    #[test]
    fn algorithm_refusals() {
        let p256 = fixture_key("tsa-p256.key", SignerOptions::default());
        let rsa = fixture_key("tsa-rsa.key", SignerOptions::default());
        let pss = SignerOptions {
            digest: None,
            rsa_pss: true,
        };
        let sha1 = SignerOptions {
            digest: Some(DigestAlgorithm::Sha1),
            rsa_pss: false,
        };
        assert!(matches!(
            signature_algorithm_for(p256.public_key(), pss),
            Err(Error::Key(KeyError::PssForNonRsa))
        ));
        assert!(matches!(
            signature_algorithm_for(p256.public_key(), sha1),
            Err(Error::Key(KeyError::Sha1))
        ));
        assert!(matches!(
            signature_algorithm_for(rsa.public_key(), sha1),
            Err(Error::Key(KeyError::Sha1))
        ));
        let mut other = p256.public_key().clone();
        other.algorithm.oid = oid::SHA256_WITH_RSA;
        assert!(matches!(
            signature_algorithm_for(&other, SignerOptions::default()),
            Err(Error::UnsupportedAlgorithm(_))
        ));
    }
}
