//! Loading the certificates and keys a server is started with, and the clock servers read:
//! one place for both servers, so their startup errors read the same.

use std::{path::Path, sync::Arc, time::SystemTime};

use gica_pkcs11::{Pkcs11Options, Pkcs11Signer, Pkcs11Uri};
use gica_pki::{PemError, Signer, SignerOptions, SoftwareSigner, cert, x509_cert::Certificate};

/// Why a certificate or key file could not be used. The message names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A `pkcs11:` key could not be opened.
    #[error(transparent)]
    Pkcs11(#[from] gica_pkcs11::Pkcs11Error),
    /// The file's contents are unfit.
    #[error("{what}: {source}")]
    Pki {
        /// The file, or what was being loaded.
        what: String,
        /// Why.
        source: gica_pki::Error,
    },
}

impl LoadError {
    /// A gica-pki refusal about `what`.
    pub fn pki(what: impl Into<String>) -> impl FnOnce(gica_pki::Error) -> Self {
        let what = what.into();
        move |source| Self::Pki { what, source }
    }
}

/// Reads a text file, naming it in the error.
pub fn read_text(path: &Path) -> Result<String, LoadError> {
    std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        path: path.display().to_string(),
        source,
    })
}

/// Every certificate of a PEM file, in order; at least one.
///
/// ```
/// let p = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/pki/chain.pem"));
/// assert_eq!(gica_serve::keys::load_certs(p).unwrap().len(), 2);
/// assert!(gica_serve::keys::load_certs(std::path::Path::new("/nonexistent.pem")).is_err());
/// ```
pub fn load_certs(path: &Path) -> Result<Vec<Certificate>, LoadError> {
    let what = || path.display().to_string();
    let certs = cert::load_pem_certs(&read_text(path)?).map_err(LoadError::pki(what()))?;
    if certs.is_empty() {
        return Err(LoadError::Pki {
            what: what(),
            source: gica_pki::Error::Pem(PemError::Missing {
                expected: "CERTIFICATE".into(),
            }),
        });
    }
    Ok(certs)
}

/// The first certificate of a PEM file.
pub fn load_cert(path: &Path) -> Result<Certificate, LoadError> {
    Ok(load_certs(path)?.remove(0))
}

/// A private key from PEM (PKCS#8, PKCS#1 or SEC1).
pub fn load_key(path: &Path, options: SignerOptions) -> Result<SoftwareSigner, LoadError> {
    SoftwareSigner::from_pem(&read_text(path)?, options)
        .map_err(LoadError::pki(path.display().to_string()))
}

/// The signing key a `--key` value names: a `pkcs11:` URI (RFC 7512) opens a key on a token
/// with a pool of `sessions` sessions (the server's signing threads); anything else is a PEM
/// key file.
///
/// ```
/// use gica_pki::{Signer, SignerOptions};
/// let p = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/pki/tsa-p256.key"));
/// let signer = gica_serve::keys::load_signer(p, SignerOptions::default(), 4).unwrap();
/// assert!(signer.sign(b"x").is_ok());
/// let bad = std::path::Path::new("pkcs11:object=k?module-path=/m.so&pin-value=1");
/// assert!(gica_serve::keys::load_signer(bad, SignerOptions::default(), 4).is_err());
/// ```
pub fn load_signer(
    key: &Path,
    options: SignerOptions,
    sessions: usize,
) -> Result<Arc<dyn Signer>, LoadError> {
    match key.to_str() {
        Some(uri) if Pkcs11Uri::is_pkcs11(uri) => {
            let signer = Pkcs11Signer::open(uri, Pkcs11Options::new(options, sessions))?;
            tracing::info!(key = signer.name(), "signing key on a PKCS#11 token");
            Ok(Arc::new(signer))
        }
        _ => Ok(Arc::new(load_key(key, options)?)),
    }
}

/// A server's source of time; injectable so tests can step it. The core reads no clock:
/// servers read this one and pass the time in.
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

/// The system clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}
