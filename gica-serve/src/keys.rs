//! Loading the certificates and keys a server is started with, and the clock servers read:
//! one place for both servers, so their startup errors read the same.

use std::{path::Path, sync::Arc, time::SystemTime};

use gica_pkcs11::{Pkcs11Options, Pkcs11Signer, Pkcs11Uri};
use gica_pki::{
    PemError, Signer, SignerOptions, SoftwareSigner, cert, der::asn1::ObjectIdentifier, oid,
    x509_cert::Certificate,
};

use crate::config::ConfigError;

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
    /// The signing backend asked for is not in this build.
    #[error("{path}: {source}")]
    Backend {
        /// The key file.
        path: String,
        /// Which backend is missing.
        source: ConfigError,
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

/// Which implementation signs with the keys a server loads: the shared `--crypto` flag.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum CryptoBackend {
    /// gica-pki's [`SoftwareSigner`]: pure Rust (RustCrypto), in every build.
    #[default]
    RustCrypto,
    /// gica-aws-lc's `AwsLcSigner`: AWS-LC, in builds with the `aws-lc` feature.
    AwsLc,
}

impl CryptoBackend {
    /// Every backend, built in or not.
    pub const ALL: [Self; 2] = [Self::RustCrypto, Self::AwsLc];

    /// The name `--crypto` takes, and [`Signer::backend`] of its signers.
    pub fn name(self) -> &'static str {
        match self {
            Self::RustCrypto => "rustcrypto",
            Self::AwsLc => "aws-lc",
        }
    }

    /// Whether this build can sign with it.
    pub fn is_built_in(self) -> bool {
        match self {
            Self::RustCrypto => true,
            Self::AwsLc => cfg!(feature = "aws-lc"),
        }
    }

    /// Parses a `--crypto` value, refusing a backend this build lacks.
    ///
    /// ```
    /// use gica_serve::keys::CryptoBackend;
    /// assert_eq!(CryptoBackend::from_flag("rustcrypto").unwrap(), CryptoBackend::RustCrypto);
    /// assert!(CryptoBackend::from_flag("openssl").is_err());
    /// ```
    pub fn from_flag(name: &str) -> Result<Self, ConfigError> {
        let backend = Self::ALL
            .into_iter()
            .find(|b| b.name() == name)
            .ok_or_else(|| {
                ConfigError::invalid("crypto", format!("{name:?}: use rustcrypto or aws-lc"))
            })?;
        backend.check_built_in()?;
        Ok(backend)
    }

    fn check_built_in(self) -> Result<(), ConfigError> {
        if self.is_built_in() {
            Ok(())
        } else {
            Err(self.missing())
        }
    }

    fn missing(self) -> ConfigError {
        ConfigError::invalid(
            "crypto",
            format!(
                "{} is not in this build: build the server with `--features {}`",
                self.name(),
                self.name()
            ),
        )
    }
}

impl std::fmt::Display for CryptoBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The signing key a `--key` value names: a `pkcs11:` URI (RFC 7512) opens a key on a token
/// with a pool of `sessions` sessions (the server's signing threads; the token signs, so
/// `backend` does not apply); anything else is a PEM key file (PKCS#8, PKCS#1 or SEC1) signed
/// with by `backend`. The key's algorithm comes from the key and `options` alike for every
/// backend.
///
/// ```
/// use gica_pki::{Signer, SignerOptions};
/// use gica_serve::keys::{CryptoBackend, load_signer};
/// let p = std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../testdata/pki/tsa-p384.key"));
/// let signer = load_signer(p, SignerOptions::default(), CryptoBackend::RustCrypto, 4).unwrap();
/// assert_eq!((signer.backend(), gica_serve::keys::algorithm_label(signer.as_ref()).as_str()),
///            ("rustcrypto", "ecdsa-p384-sha384"));
/// assert!(signer.sign(b"x").is_ok());
/// let bad = std::path::Path::new("pkcs11:object=k?module-path=/m.so&pin-value=1");
/// assert!(load_signer(bad, SignerOptions::default(), CryptoBackend::RustCrypto, 4).is_err());
/// ```
pub fn load_signer(
    path: &Path,
    options: SignerOptions,
    backend: CryptoBackend,
    sessions: usize,
) -> Result<Arc<dyn Signer>, LoadError> {
    if let Some(uri) = path.to_str().filter(|u| Pkcs11Uri::is_pkcs11(u)) {
        let signer = Pkcs11Signer::open(uri, Pkcs11Options::new(options, sessions))?;
        tracing::info!(
            key = signer.name(),
            backend = signer.backend(),
            algorithm = %algorithm_label(&signer),
            "signing key on a PKCS#11 token"
        );
        return Ok(Arc::new(signer));
    }
    let what = || path.display().to_string();
    let pem = read_text(path)?;
    let signer: Arc<dyn Signer> = match backend {
        CryptoBackend::RustCrypto => {
            Arc::new(SoftwareSigner::from_pem(&pem, options).map_err(LoadError::pki(what()))?)
        }
        #[cfg(feature = "aws-lc")]
        CryptoBackend::AwsLc => Arc::new(
            gica_aws_lc::AwsLcSigner::from_pem(&pem, options).map_err(LoadError::pki(what()))?,
        ),
        #[cfg(not(feature = "aws-lc"))]
        CryptoBackend::AwsLc => {
            return Err(LoadError::Backend {
                path: what(),
                source: backend.missing(),
            });
        }
    };
    tracing::info!(
        key = %what(),
        backend = signer.backend(),
        algorithm = %algorithm_label(signer.as_ref()),
        "signing key loaded"
    );
    Ok(signer)
}

/// A short name of what a signer makes, for logs and metrics: `ecdsa-p256-sha256`,
/// `rsa-pkcs1-sha256`, `rsa-pss-sha384`, or the signature algorithm's OID for others.
pub fn algorithm_label(signer: &dyn Signer) -> String {
    let alg = signer.signature_algorithm().oid;
    let digest = signer.digest_algorithm().name();
    if alg == oid::RSASSA_PSS {
        format!("rsa-pss-{digest}")
    } else if [
        oid::SHA256_WITH_RSA,
        oid::SHA384_WITH_RSA,
        oid::SHA512_WITH_RSA,
    ]
    .contains(&alg)
    {
        format!("rsa-pkcs1-{digest}")
    } else if [
        oid::ECDSA_WITH_SHA256,
        oid::ECDSA_WITH_SHA384,
        oid::ECDSA_WITH_SHA512,
    ]
    .contains(&alg)
    {
        let curve = signer
            .public_key()
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        match curve {
            Some(c) if c == oid::SECP256R1 => format!("ecdsa-p256-{digest}"),
            Some(c) if c == oid::SECP384R1 => format!("ecdsa-p384-{digest}"),
            _ => format!("ecdsa-{digest}"),
        }
    } else {
        alg.to_string()
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
