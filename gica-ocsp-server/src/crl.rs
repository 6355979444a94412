//! CRL generation from the store: next CRL number, every revoked entry, signed by the CA key.

use std::time::Duration;

use gica_pki::{
    Signer,
    crl::{CrlParams, RevokedEntry, build_crl},
    x509_cert::Certificate,
};

use crate::store::{RecordStatus, RevocationStore, StoreError};

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
/// processes) and every revoked record in one transaction, and signs with `ca_key`.
pub async fn generate<S: RevocationStore>(
    store: &S,
    issuer_id: &str,
    issuer: &Certificate,
    ca_key: &dyn Signer,
    next_update: Duration,
) -> Result<Vec<u8>, CrlGenError> {
    let snapshot = store.crl_snapshot(issuer_id).await?;
    let (number, records, now) = (snapshot.number, snapshot.revoked, snapshot.at);
    let entries = records.iter().filter_map(|r| match &r.status {
        RecordStatus::Revoked {
            time,
            reason,
            invalidity_date,
        } => {
            let mut e = RevokedEntry::new(&r.serial, *time);
            if let Some(reason) = reason {
                e = e.reason(*reason);
            }
            if let Some(at) = invalidity_date {
                e = e.invalidity_date(*at);
            }
            Some(e)
        }
        RecordStatus::Valid => None,
    });
    Ok(build_crl(
        issuer,
        ca_key,
        &CrlParams::new(now, now + next_update, number),
        entries,
    )?)
}
