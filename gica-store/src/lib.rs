#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used)]

mod db;
mod error;
pub mod migrate;
pub mod revocation;
#[cfg(feature = "testing")]
pub mod testing;

pub use db::{Backend, Db};
pub use error::StoreError;
pub use migrate::{Component, Migration};
pub use revocation::{RevocationStore, RevocationWriter, StatusSource};
