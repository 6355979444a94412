//! Hash algorithms, by their RFC identifiers.

use der::asn1::ObjectIdentifier;
use sha2::Digest as _;
use spki::AlgorithmIdentifierOwned;

use crate::oid;

/// A hash algorithm gica knows by OID.
///
/// SHA-1 is here only to read legacy structures (ESS v1 `ESSCertID`, OCSP `CertID`); the
/// time-stamp authority refuses it.
///
/// ```
/// use gica_pki::DigestAlgorithm;
/// let d = DigestAlgorithm::Sha256;
/// assert_eq!(d.output_len(), 32);
/// assert_eq!(d.digest(b"abc").len(), 32);
/// assert_eq!(DigestAlgorithm::from_oid(&d.oid()), Some(d));
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DigestAlgorithm {
    /// SHA-1 (legacy, read-only uses).
    Sha1,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DigestAlgorithm {
    /// Every algorithm, strongest last.
    pub const ALL: [DigestAlgorithm; 4] = [Self::Sha1, Self::Sha256, Self::Sha384, Self::Sha512];

    /// The algorithm's OID.
    pub fn oid(self) -> ObjectIdentifier {
        match self {
            Self::Sha1 => oid::SHA1,
            Self::Sha256 => oid::SHA256,
            Self::Sha384 => oid::SHA384,
            Self::Sha512 => oid::SHA512,
        }
    }

    /// The algorithm for an OID, if gica knows it.
    pub fn from_oid(oid: &ObjectIdentifier) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.oid() == *oid)
    }

    /// Length of the hash in octets.
    pub fn output_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha384 => 48,
            Self::Sha512 => 64,
        }
    }

    /// Short lowercase name as openssl spells it (`sha256`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha1 => "sha1",
            Self::Sha256 => "sha256",
            Self::Sha384 => "sha384",
            Self::Sha512 => "sha512",
        }
    }

    /// Parses an openssl-style name (`sha256`, `SHA-256`).
    pub fn from_name(name: &str) -> Option<Self> {
        let n = name.to_ascii_lowercase().replace('-', "");
        Self::ALL.into_iter().find(|d| d.name() == n)
    }

    /// Hashes `data`.
    pub fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            Self::Sha1 => sha1::Sha1::digest(data).to_vec(),
            Self::Sha256 => sha2::Sha256::digest(data).to_vec(),
            Self::Sha384 => sha2::Sha384::digest(data).to_vec(),
            Self::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    /// A streaming hasher, for data too large to hold in memory.
    ///
    /// ```
    /// use gica_pki::DigestAlgorithm;
    /// let mut h = DigestAlgorithm::Sha384.hasher();
    /// h.update(b"ab");
    /// h.update(b"c");
    /// assert_eq!(h.finalize(), DigestAlgorithm::Sha384.digest(b"abc"));
    /// ```
    pub fn hasher(self) -> Hasher {
        Hasher(match self {
            Self::Sha1 => HasherState::Sha1(sha1::Sha1::new()),
            Self::Sha256 => HasherState::Sha256(sha2::Sha256::new()),
            Self::Sha384 => HasherState::Sha384(sha2::Sha384::new()),
            Self::Sha512 => HasherState::Sha512(sha2::Sha512::new()),
        })
    }

    /// The AlgorithmIdentifier with absent parameters, as RFC 5754 prefers for SHA-2.
    pub fn algorithm_identifier(self) -> AlgorithmIdentifierOwned {
        AlgorithmIdentifierOwned {
            oid: self.oid(),
            parameters: None,
        }
    }

    /// The algorithm named by an AlgorithmIdentifier whose parameters are absent or NULL.
    pub fn from_algorithm_identifier(alg: &AlgorithmIdentifierOwned) -> Option<Self> {
        let params_ok = match &alg.parameters {
            None => true,
            Some(any) => der::Tagged::tag(any) == der::Tag::Null && any.value().is_empty(),
        };
        if params_ok {
            Self::from_oid(&alg.oid)
        } else {
            None
        }
    }
}

impl std::fmt::Display for DigestAlgorithm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A hash in progress; see [`DigestAlgorithm::hasher`].
#[derive(Clone, Debug)]
pub struct Hasher(HasherState);

#[derive(Clone, Debug)]
enum HasherState {
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// Feeds more data.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            HasherState::Sha1(h) => h.update(data),
            HasherState::Sha256(h) => h.update(data),
            HasherState::Sha384(h) => h.update(data),
            HasherState::Sha512(h) => h.update(data),
        }
    }

    /// The hash of everything fed.
    pub fn finalize(self) -> Vec<u8> {
        match self.0 {
            HasherState::Sha1(h) => h.finalize().to_vec(),
            HasherState::Sha256(h) => h.finalize().to_vec(),
            HasherState::Sha384(h) => h.finalize().to_vec(),
            HasherState::Sha512(h) => h.finalize().to_vec(),
        }
    }
}
