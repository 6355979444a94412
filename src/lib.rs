#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]

pub use gica_pki::*;

/// The aws-lc-rs signing backend ([`aws_lc::AwsLcSigner`]), with the `aws-lc` feature.
#[cfg(feature = "aws-lc")]
pub use gica_aws_lc as aws_lc;

/// The device registry ([`registry::service::Registry`]), with the `registry` feature.
#[cfg(feature = "registry")]
pub use gica_registry as registry;
