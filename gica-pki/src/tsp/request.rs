//! Building time-stamp requests (the client side of RFC 3161 2.4.1).

use der::asn1::{Int, ObjectIdentifier, OctetString};

use super::asn1::{MessageImprint, TimeStampReq};
use crate::{DigestAlgorithm, Error, Result};

/// Builds a [`TimeStampReq`].
///
/// ```
/// use gica_pki::{DigestAlgorithm, tsp::TimeStampReqBuilder};
/// let req = TimeStampReqBuilder::new(DigestAlgorithm::Sha256)
///     .data(b"document")
///     .with_nonce()
///     .cert_req(true)
///     .build()
///     .unwrap();
/// assert_eq!(req.version, 1);
/// assert!(req.nonce.is_some());
/// ```
#[derive(Clone, Debug)]
pub struct TimeStampReqBuilder {
    digest: DigestAlgorithm,
    hash: Option<Vec<u8>>,
    nonce: Option<Int>,
    random_nonce: bool,
    cert_req: bool,
    policy: Option<ObjectIdentifier>,
}

impl TimeStampReqBuilder {
    /// A request whose imprint uses `digest`.
    pub fn new(digest: DigestAlgorithm) -> Self {
        Self {
            digest,
            hash: None,
            nonce: None,
            random_nonce: false,
            cert_req: false,
            policy: None,
        }
    }

    /// Stamps `data` (hashed here).
    #[must_use]
    pub fn data(mut self, data: &[u8]) -> Self {
        self.hash = Some(self.digest.digest(data));
        self
    }

    /// Stamps an already computed hash.
    #[must_use]
    pub fn hash(mut self, hash: &[u8]) -> Self {
        self.hash = Some(hash.to_vec());
        self
    }

    /// A random 64-bit positive nonce, as `openssl ts -query` sends.
    #[must_use]
    pub fn with_nonce(mut self) -> Self {
        self.random_nonce = true;
        self
    }

    /// This exact nonce.
    #[must_use]
    pub fn nonce(mut self, nonce: Int) -> Self {
        self.nonce = Some(nonce);
        self
    }

    /// Ask for the TSA certificate in the token.
    #[must_use]
    pub fn cert_req(mut self, yes: bool) -> Self {
        self.cert_req = yes;
        self
    }

    /// Ask for a policy.
    #[must_use]
    pub fn policy(mut self, policy: ObjectIdentifier) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The request. Fails if no data or hash was given, or the hash length is wrong.
    pub fn build(self) -> Result<TimeStampReq> {
        let hash = self.hash.ok_or(Error::Config {
            what: "time-stamp request",
            reason: "no data or hash to stamp",
        })?;
        if hash.len() != self.digest.output_len() {
            return Err(Error::Config {
                what: "time-stamp request",
                reason: "the hash's length is not its algorithm's output length",
            });
        }
        let nonce = match (self.nonce, self.random_nonce) {
            (Some(n), _) => Some(n),
            (None, true) => {
                let mut b = [0u8; 8];
                crate::signer::random(&mut b)?;
                b[0] = (b[0] & 0x7f) | 0x01;
                Some(Int::new(&b)?)
            }
            (None, false) => None,
        };
        Ok(TimeStampReq {
            version: 1,
            message_imprint: MessageImprint {
                hash_algorithm: self.digest.algorithm_identifier(),
                hashed_message: OctetString::new(hash)?,
            },
            req_policy: self.policy,
            nonce,
            cert_req: self.cert_req,
            extensions: None,
        })
    }
}
