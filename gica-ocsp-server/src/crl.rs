//! CRL generation from the store: next CRL number, every revoked entry, signed by the CA key.

use std::time::Duration;

use gica_pki::{
    Signer,
    crl::{CrlParams, IssuingDistributionPoint, build_crl},
    x509_cert::Certificate,
};

use crate::store::{PublishedCrl, RevocationWriter, StoreError};

/// Why a CRL could not be made.
#[derive(Debug, thiserror::Error)]
pub enum CrlGenError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Building or signing failed.
    #[error("building the CRL: {0}")]
    Build(#[from] gica_pki::crl::CrlError),
}

/// Makes the issuer's next CRL: takes a fresh CRL number (strictly increasing across
/// processes) and every revoked record in one transaction, and signs with `ca_key`. With
/// `idp`, the CRL carries that issuingDistributionPoint (critical, RFC 5280 5.2.5). The
/// result is not published: see [`RevocationWriter::publish_crl`].
pub async fn generate<S: RevocationWriter>(
    store: &S,
    issuer_id: &str,
    issuer: &Certificate,
    ca_key: &dyn Signer,
    next_update: Duration,
    idp: Option<&IssuingDistributionPoint>,
) -> Result<PublishedCrl, CrlGenError> {
    let snapshot = store.crl_snapshot(issuer_id).await?;
    let (number, now) = (snapshot.number, snapshot.at);
    let der = build_crl(
        issuer,
        ca_key,
        &CrlParams {
            idp: idp.cloned(),
            ..CrlParams::new(now, now + next_update, number)
        },
        snapshot.revoked.iter(),
    )?;
    Ok(PublishedCrl {
        number,
        this_update: now,
        next_update: now + next_update,
        der,
    })
}

/// The issuingDistributionPoint naming `url`, after checking it is an absolute http, https
/// or ldap URL of printable ASCII (an IA5String URI, RFC 5280 4.2.1.13).
///
/// ```
/// use gica_ocsp_server::crl::idp_for_url;
/// assert!(idp_for_url("http://crl.gica.ir/int-ca.crl").is_ok());
/// assert!(idp_for_url("int-ca.crl").is_err());
/// ```
pub fn idp_for_url(url: &str) -> Result<IssuingDistributionPoint, String> {
    let scheme_ok = ["http://", "https://", "ldap://"]
        .iter()
        .any(|s| url.len() > s.len() && url[..s.len()].eq_ignore_ascii_case(s));
    if !scheme_ok || !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(format!(
            "{url:?}: the CRL URL must be an absolute http://, https:// or ldap:// URL"
        ));
    }
    Ok(IssuingDistributionPoint::uri(url))
}
