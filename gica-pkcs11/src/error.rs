//! Why a PKCS#11 key could not be opened or could not sign.

use std::path::PathBuf;

use crate::uri::UriError;

/// A failed PKCS#11 call, shown by its return-value name (`CKR_PIN_INCORRECT` reads as
/// `PinIncorrect in Login`) rather than the long text of the standard.
#[derive(Debug)]
pub struct TokenError(pub cryptoki::error::Error);

impl std::fmt::Display for TokenError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            cryptoki::error::Error::Pkcs11(rv, function) => write!(f, "{rv:?} in {function:?}"),
            other => write!(f, "{other}"),
        }
    }
}

impl std::error::Error for TokenError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

/// Why a [`Pkcs11Signer`](crate::Pkcs11Signer) could not be opened or could not sign.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Pkcs11Error {
    /// The `pkcs11:` URI is unfit.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// The PIN file could not be read.
    #[error("PIN file {path}: {source}")]
    PinFile {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The PIN file is larger than any PIN.
    #[error("PIN file {0}: larger than {max} bytes", max = crate::signer::MAX_PIN_FILE)]
    PinFileTooLarge(PathBuf),
    /// Neither `pin-source` in the URI nor the environment variable gives a PIN.
    #[error(
        "no PIN: give pin-source=file:PATH in the URI or set {}",
        crate::PIN_ENV
    )]
    NoPin,
    /// The module could not be loaded or initialised.
    #[error("PKCS#11 module {path}: {source}")]
    Module {
        /// The module's path.
        path: PathBuf,
        /// Why.
        source: TokenError,
    },
    /// No token matches the URI.
    #[error("{0}: no token matches")]
    TokenNotFound(String),
    /// No private key matches the URI.
    #[error("{0}: no private key matches")]
    KeyNotFound(String),
    /// More than one private key (or token) matches the URI.
    #[error("{0}: {1} private keys match; name one with object= and id=")]
    Ambiguous(String, usize),
    /// The key is a type gica does not sign with.
    #[error("{0}: unsupported key ({1})")]
    UnsupportedKey(String, String),
    /// The public half of an EC key (its CKO_PUBLIC_KEY object) is not on the token.
    #[error("{0}: no public key object with the private key's CKA_ID or label")]
    PublicKeyNotFound(String),
    /// Logging in failed (wrong PIN, locked PIN...).
    #[error("{what}: login: {source}")]
    Login {
        /// The key's URI (without PIN source).
        what: String,
        /// Why.
        source: TokenError,
    },
    /// A PKCS#11 call failed.
    #[error("{what}: {source}")]
    Token {
        /// The key's URI (without PIN source).
        what: String,
        /// Why.
        source: TokenError,
    },
    /// The key's public half or algorithm is unfit for gica.
    #[error("{what}: {source}")]
    Pki {
        /// The key's URI (without PIN source).
        what: String,
        /// Why.
        source: gica_pki::Error,
    },
    /// The signature the token made at start did not verify with the key's public half.
    #[error("{0}: the token's test signature does not verify with its public key")]
    SelfTest(String),
    /// After the token came back, the key under this URI is a different key.
    #[error("{0}: the key changed on the token since start")]
    KeyChanged(String),
    /// The module is being re-initialised after a failure; try again shortly.
    #[error("{0}: the token is unavailable (the module was re-initialised moments ago)")]
    Unavailable(String),
}

impl From<Pkcs11Error> for gica_pki::Error {
    fn from(e: Pkcs11Error) -> Self {
        gica_pki::Error::Signing(Box::new(e))
    }
}
