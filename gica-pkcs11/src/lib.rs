#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used)]

mod error;
mod signer;
#[cfg(feature = "testing")]
pub mod testing;
mod uri;

pub use error::{Pkcs11Error, TokenError};
pub use signer::{Pkcs11Options, Pkcs11Signer};
pub use uri::{MAX_URI_LEN, Pkcs11Uri, UriError};

/// The environment variable read for the user PIN when the URI has no `pin-source`.
pub const PIN_ENV: &str = "GICA_PKCS11_PIN";
