#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used)]

pub mod apikey;
pub mod cli;
pub mod decide;
pub mod demo;
pub mod domain;
pub mod import;
pub mod receipt;
pub mod server;
pub mod service;
pub mod sightings;
pub mod snapshot;
pub mod store;
pub mod ussd;
