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
    /// A signature was refused: algorithm, parameters, key or value.
    #[error("signature: {0}")]
    Signature(#[from] crate::algorithm::SignatureError),
    /// The signer failed to produce a signature.
    #[error("signing failed: {0}")]
    Signing(String),
    /// A certificate is unfit for the use asked of it.
    #[error("certificate: {0}")]
    Certificate(#[from] crate::cert::CertificateError),
    /// A configuration value is out of its range.
    #[error("{what}: {reason}")]
    Config {
        /// The setting.
        what: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// No acceptable path from a certificate to a trust anchor.
    #[error("certificate path: {0}")]
    Path(#[from] crate::cert::PathError),
    /// A time-stamp response or token failed verification.
    #[error("time-stamp verification: {0}")]
    TimeStamp(#[from] crate::tsp::VerifyError),
}

/// Shorthand for results of the gica core.
pub type Result<T, E = Error> = core::result::Result<T, E>;
