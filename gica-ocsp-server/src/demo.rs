//! `serve --demo`: a throwaway CA, delegated responder, a good and a revoked leaf, and a
//! SQLite store that knows them.

use std::{
    path::{Path, PathBuf},
    time::SystemTime,
};

use gica_pki::{
    CrlReason, Signer, SoftwareSigner,
    cert::to_pem,
    certgen::{CertificateParams, DemoCa},
};

use crate::{
    AppError, issuer_id,
    store::{AnyStore, RevocationWriter},
};

/// Files of the demo.
#[derive(Debug, Clone)]
pub struct DemoFiles {
    /// Directory.
    pub dir: PathBuf,
    /// Root CA certificate.
    pub root: PathBuf,
    /// Issuing CA certificate.
    pub issuer: PathBuf,
    /// Issuing CA key.
    pub issuer_key: PathBuf,
    /// Delegated responder certificate.
    pub responder: PathBuf,
    /// Delegated responder key.
    pub responder_key: PathBuf,
    /// A leaf answered good.
    pub good: PathBuf,
    /// A leaf answered revoked.
    pub revoked: PathBuf,
    /// Store URL.
    pub db: String,
}

fn write(path: &Path, text: String) -> Result<(), AppError> {
    std::fs::write(path, text).map_err(|source| AppError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// authorityInfoAccess (OCSP) and cRLDistributionPoints naming this server, so that clients
/// find it from the certificate alone, as they would in production.
fn locator_extensions(
    base_url: &str,
) -> Result<Vec<gica_pki::x509_cert::ext::Extension>, gica_pki::der::Error> {
    use gica_pki::{
        der::{
            Encode,
            asn1::{Ia5String, OctetString},
        },
        x509_cert::ext::{
            Extension,
            pkix::{
                AccessDescription, AuthorityInfoAccessSyntax, CrlDistributionPoints,
                crl::dp::DistributionPoint, name::DistributionPointName, name::GeneralName,
            },
        },
    };
    let uri = |path: &str| -> Result<GeneralName, gica_pki::der::Error> {
        Ok(GeneralName::UniformResourceIdentifier(Ia5String::new(
            &format!("{base_url}{path}"),
        )?))
    };
    let aia = AuthorityInfoAccessSyntax(vec![AccessDescription {
        access_method: gica_pki::oid::AD_OCSP,
        access_location: uri("/ocsp")?,
    }]);
    let dp = CrlDistributionPoints(vec![DistributionPoint {
        distribution_point: Some(DistributionPointName::FullName(vec![uri("/crl/ca.crl")?])),
        reasons: None,
        crl_issuer: None,
    }]);
    Ok(vec![
        Extension {
            extn_id: gica_pki::oid::PE_AUTHORITY_INFO_ACCESS,
            critical: false,
            extn_value: OctetString::new(aia.to_der()?)?,
        },
        Extension {
            extn_id: gica_pki::oid::CE_CRL_DISTRIBUTION_POINTS,
            critical: false,
            extn_value: OctetString::new(dp.to_der()?)?,
        },
    ])
}

/// Makes the demo in `dir`, replacing an earlier one; the leaves point at `base_url`
/// (`http://127.0.0.1:3181`) for OCSP and the CRL.
pub async fn make(dir: &Path, base_url: &str) -> Result<DemoFiles, AppError> {
    let pki = |source: gica_pki::Error| AppError::Pki {
        what: "demo PKI".into(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(|source| AppError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let DemoCa {
        root, ca, ca_key, ..
    } = DemoCa::new(
        "gica demo",
        "gica Demo Issuing CA",
        std::time::SystemTime::now(),
    )
    .map_err(pki)?;
    let resp_key = SoftwareSigner::generate_p256().map_err(pki)?;
    let mut resp_params = CertificateParams::leaf(
        "CN=gica Demo OCSP Responder,O=gica demo,C=IR",
        std::time::SystemTime::now(),
        90,
    );
    resp_params.extended_key_usage = Some((false, vec![gica_pki::oid::KP_OCSP_SIGNING]));
    resp_params
        .extra_extensions
        .push(gica_pki::x509_cert::ext::Extension {
            extn_id: gica_pki::oid::OCSP_NOCHECK,
            critical: false,
            extn_value: gica_pki::der::asn1::OctetString::new(vec![0x05, 0x00])
                .map_err(|e| pki(e.into()))?,
        });
    let responder = resp_params
        .signed_by(resp_key.public_key(), &ca, &ca_key)
        .map_err(pki)?;
    let leaf_key = SoftwareSigner::generate_p256().map_err(pki)?;
    let locators = locator_extensions(base_url).map_err(|e| pki(e.into()))?;
    let leaf = |subject: &str| {
        let mut params = CertificateParams::leaf(subject, std::time::SystemTime::now(), 365);
        params.extra_extensions = locators.clone();
        params
            .signed_by(leaf_key.public_key(), &ca, &ca_key)
            .map_err(pki)
    };
    let good = leaf("CN=good.demo.gica.ir")?;
    let revoked = leaf("CN=revoked.demo.gica.ir")?;
    let files = DemoFiles {
        dir: dir.to_path_buf(),
        root: dir.join("root.pem"),
        issuer: dir.join("ca.pem"),
        issuer_key: dir.join("ca.key"),
        responder: dir.join("responder.pem"),
        responder_key: dir.join("responder.key"),
        good: dir.join("good.pem"),
        revoked: dir.join("revoked.pem"),
        db: format!("sqlite:{}", dir.join("demo.db").display()),
    };
    write(&files.root, to_pem(&root).map_err(pki)?)?;
    write(&files.issuer, to_pem(&ca).map_err(pki)?)?;
    write(&files.issuer_key, ca_key.to_pkcs8_pem().map_err(pki)?)?;
    write(&files.responder, to_pem(&responder).map_err(pki)?)?;
    write(&files.responder_key, resp_key.to_pkcs8_pem().map_err(pki)?)?;
    write(&files.good, to_pem(&good).map_err(pki)?)?;
    write(&files.revoked, to_pem(&revoked).map_err(pki)?)?;
    let _ = std::fs::remove_file(dir.join("demo.db"));
    let store = AnyStore::connect(&files.db).await?;
    let id = issuer_id(&ca);
    for c in [&good, &revoked] {
        let tbs = c.tbs_certificate();
        let serial = tbs.serial_number().as_bytes();
        let serial = &serial[serial.iter().take_while(|b| **b == 0).count()..];
        store
            .record_issued(&id, serial, Some(tbs.validity().not_after.to_system_time()))
            .await?;
    }
    let serial = revoked.tbs_certificate().serial_number().as_bytes();
    let serial = &serial[serial.iter().take_while(|b| **b == 0).count()..];
    store
        .revoke(
            &id,
            serial,
            SystemTime::now(),
            Some(CrlReason::KeyCompromise),
            None,
        )
        .await?;
    Ok(files)
}
