#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used)]

pub mod algorithm;
pub mod cert;
pub mod certgen;
pub mod crl;
mod digest;
mod error;
pub mod ess;
pub mod merkle;
pub mod ocsp;
pub mod oid;
pub mod proof;
mod reason;
mod signed_data;
mod signer;
pub mod strict;
#[cfg(test)]
mod testutil;
mod time;
pub mod tsp;

pub use algorithm::AlgorithmPolicy;
pub use digest::{DigestAlgorithm, Hasher};
pub use error::{BoxError, Error, KeyError, PemError, Result};
pub use reason::CrlReason;
pub use signer::{
    RsaPssParams, Signer, SignerOptions, SoftwareSigner, key_matches, signature_algorithm_for,
    verify_signature,
};
pub use time::{GenTime, Rfc3339, TimeParseError, parse_rfc3339};

// Re-exported so users name the same versions gica was built with.
pub use cms;
pub use der;
pub use spki;
pub use x509_cert;
