//! `--demo`: an ephemeral P-256 PKI (root, intermediate, TSA) written as PEM files.

use std::path::{Path, PathBuf};

use gica_pki::{
    Signer, SoftwareSigner,
    certgen::CertificateParams,
    der::{Encode, pem::LineEnding},
    x509_cert::Certificate,
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

fn pem(label: &str, der: &[u8]) -> std::io::Result<String> {
    gica_pki::der::pem::encode_string(label, LineEnding::LF, der)
        .map_err(|e| std::io::Error::other(e.to_string()))
}

fn cert_pem(c: &Certificate) -> std::io::Result<String> {
    let der = c
        .to_der()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    pem("CERTIFICATE", &der)
}

/// Makes the demo PKI in `dir` (created if missing).
pub fn make(dir: &Path) -> std::io::Result<DemoPki> {
    let e = |e: gica_pki::Error| std::io::Error::other(e.to_string());
    std::fs::create_dir_all(dir)?;
    let root_key = SoftwareSigner::generate_p256().map_err(e)?;
    let root = CertificateParams::ca("CN=gica Demo Root CA,O=gica demo,C=IR", 3650)
        .self_signed(&root_key)
        .map_err(e)?;
    let int_key = SoftwareSigner::generate_p256().map_err(e)?;
    let mut int_params =
        CertificateParams::ca("CN=gica Demo Intermediate CA,O=gica demo,C=IR", 1825);
    int_params.ca = Some(Some(0));
    let int = int_params
        .signed_by(int_key.public_key(), &root, &root_key)
        .map_err(e)?;
    let tsa_key = SoftwareSigner::generate_p256().map_err(e)?;
    let tsa = CertificateParams::tsa("CN=gica Demo TSA,O=gica demo,C=IR", 365)
        .signed_by(tsa_key.public_key(), &int, &int_key)
        .map_err(e)?;
    let files = DemoPki {
        dir: dir.to_path_buf(),
        root: dir.join("root.pem"),
        chain: dir.join("chain.pem"),
        cert: dir.join("tsa.pem"),
        key: dir.join("tsa.key"),
    };
    std::fs::write(&files.root, cert_pem(&root)?)?;
    std::fs::write(&files.chain, cert_pem(&int)? + &cert_pem(&root)?)?;
    std::fs::write(&files.cert, cert_pem(&tsa)?)?;
    std::fs::write(
        &files.key,
        pem("PRIVATE KEY", &tsa_key.to_pkcs8_der().map_err(e)?)?,
    )?;
    Ok(files)
}
