//! Errors of the gica core.

use der::asn1::ObjectIdentifier;

/// Everything that can go wrong in the gica core, by cause.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// DER decoding or encoding failed.
    #[error("DER: {0}")]
    Der(#[from] der::Error),
    /// A PEM text could not be read.
    #[error("PEM: {0}")]
    Pem(#[from] PemError),
    /// A private key could not be read or is of a kind gica does not support.
    #[error("private key: {0}")]
    Key(#[from] KeyError),
    /// An algorithm gica does not implement.
    #[error("unsupported algorithm {0}")]
    UnsupportedAlgorithm(ObjectIdentifier),
    /// A signature was refused: algorithm, parameters, key or value.
    #[error("signature: {0}")]
    Signature(#[source] Box<crate::algorithm::SignatureError>),
    /// The signer failed to produce a signature (a backend's own error inside).
    #[error("signing failed: {0}")]
    Signing(#[source] BoxError),
    /// The operating system's random number generator failed.
    #[error("random number generator: {0}")]
    Rng(#[source] BoxError),
    /// A certificate is unfit for the use asked of it.
    #[error("certificate: {0}")]
    Certificate(#[source] Box<crate::cert::CertificateError>),
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
    Path(#[source] Box<crate::cert::PathError>),
    /// A time-stamp response or token failed verification.
    #[error("time-stamp verification: {0}")]
    TimeStamp(#[source] Box<crate::tsp::VerifyError>),
    /// A proof failed verification, or a token could not be put in one.
    #[error("proof: {0}")]
    Proof(#[source] Box<crate::proof::ProofError>),
}

// The large causes are boxed so that `Result<_, Error>` stays small on the happy path.
macro_rules! boxed_from {
    ($($variant:ident($ty:ty)),* $(,)?) => {$(
        impl From<$ty> for Error {
            fn from(e: $ty) -> Self {
                Self::$variant(Box::new(e))
            }
        }
    )*};
}

boxed_from!(
    Signature(crate::algorithm::SignatureError),
    Certificate(crate::cert::CertificateError),
    Path(crate::cert::PathError),
    TimeStamp(crate::tsp::VerifyError),
    Proof(crate::proof::ProofError),
);

/// A backend's own error, kept as the source.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a PEM text could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PemError {
    /// No block with any of the labels looked for.
    #[error("no PEM block labelled {expected}")]
    Missing {
        /// The labels looked for, joined with "or".
        expected: String,
    },
    /// A BEGIN line without its END line.
    #[error("unterminated {label} block")]
    Unterminated {
        /// The block's label.
        label: String,
    },
    /// The base64 or the framing is malformed.
    #[error("{0}")]
    Decode(#[from] der::pem::Error),
}

/// Why a private key could not be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The key's encoding could not be read (PKCS#8, PKCS#1, SEC1).
    #[error("cannot read the key: {0}")]
    Decode(#[source] BoxError),
    /// An EC key that names no curve.
    #[error("EC key without a named curve")]
    NoNamedCurve,
    /// An EC curve gica does not implement.
    #[error("unsupported curve {0}")]
    UnsupportedCurve(ObjectIdentifier),
    /// RSA-PSS was asked for a key that is not RSA.
    #[error("RSA-PSS asked for a non-RSA key")]
    PssForNonRsa,
    /// gica makes no SHA-1 signatures.
    #[error("SHA-1 signatures are not made")]
    Sha1,
}

/// Shorthand for results of the gica core.
pub type Result<T, E = Error> = core::result::Result<T, E>;
