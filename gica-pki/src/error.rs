//! Errors of the gica core.

use der::asn1::ObjectIdentifier;

/// Everything that can go wrong in the gica core, by cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// DER decoding or encoding failed.
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    /// A PEM file could not be read.
    #[error("PEM: {0}")]
    Pem(String),
    /// A private key could not be read or is of a kind gica does not support.
    #[error("private key: {0}")]
    Key(String),
    /// An algorithm gica does not implement.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(ObjectIdentifier),
    /// A signature did not verify.
    #[error("signature does not verify: {0}")]
    BadSignature(&'static str),
    /// The signer failed to produce a signature.
    #[error("signing failed: {0}")]
    Signing(String),
    /// A certificate is unfit for the use asked of it.
    #[error("certificate: {0}")]
    Certificate(String),
    /// No path from a certificate to a trust anchor.
    #[error("certificate path: {0}")]
    Path(String),
    /// A time-stamp response or token failed verification.
    #[error("time-stamp verification: {0}")]
    TimeStamp(#[from] crate::tsp::VerifyError),
}

/// Shorthand for results of the gica core.
pub type Result<T, E = Error> = core::result::Result<T, E>;
