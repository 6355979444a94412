//! `--demo`: an ephemeral P-256 PKI (root, intermediate, TSA) written as PEM files.

use std::path::{Path, PathBuf};

use gica_pki::{
    Signer, SoftwareSigner,
    cert::to_pem,
    certgen::{CertificateParams, DemoCa},
};

/// Paths of the demo PKI's files.
#[derive(Debug, Clone)]
pub struct DemoPki {
    /// The directory holding them.
    pub dir: PathBuf,
    /// Root CA certificate (the trust anchor for `openssl ts -verify -CAfile`).
    pub root: PathBuf,
    /// Intermediate then root (`-untrusted` / `--chain`).
    pub chain: PathBuf,
    /// TSA certificate.
    pub cert: PathBuf,
    /// TSA key (PKCS#8).
    pub key: PathBuf,
}

/// Makes the demo PKI in `dir` (created if missing).
pub fn make(dir: &Path) -> std::io::Result<DemoPki> {
    let e = |e: gica_pki::Error| std::io::Error::other(e.to_string());
    std::fs::create_dir_all(dir)?;
    let demo = DemoCa::new(
        "gica demo",
        "gica Demo Intermediate CA",
        std::time::SystemTime::now(),
    )
    .map_err(e)?;
    let tsa_key = SoftwareSigner::generate_p256().map_err(e)?;
    let tsa = CertificateParams::tsa(
        "CN=gica Demo TSA,O=gica demo,C=IR",
        std::time::SystemTime::now(),
        365,
    )
    .signed_by(tsa_key.public_key(), &demo.ca, &demo.ca_key)
    .map_err(e)?;
    let files = DemoPki {
        dir: dir.to_path_buf(),
        root: dir.join("root.pem"),
        chain: dir.join("chain.pem"),
        cert: dir.join("tsa.pem"),
        key: dir.join("tsa.key"),
    };
    let root_pem = to_pem(&demo.root).map_err(e)?;
    std::fs::write(&files.root, &root_pem)?;
    std::fs::write(&files.chain, to_pem(&demo.ca).map_err(e)? + &root_pem)?;
    std::fs::write(&files.cert, to_pem(&tsa).map_err(e)?)?;
    std::fs::write(&files.key, tsa_key.to_pkcs8_pem().map_err(e)?)?;
    Ok(files)
}
