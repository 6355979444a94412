#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used)]

pub mod decide;
pub mod domain;
pub mod receipt;
pub mod snapshot;
pub mod store;
