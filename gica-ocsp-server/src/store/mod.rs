//! The revocation store: what each issuer issued and revoked, and each issuer's CRL number.
//!
//! One trait, [`RevocationStore`], two backends with the same schema and the same test suite:
//! SQLite (embedded default, a file) and PostgreSQL (several responders sharing one database).

use std::time::SystemTime;

use gica_pki::CrlReason;

/// Identifies an issuer: lowercase hex of SHA-256 over its subjectPublicKey bits, so a CA
/// certificate re-issued with the same key keeps its records.
pub type IssuerId = String;

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database failed or refused.
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The URL is not `sqlite:PATH` or `postgres://...`.
    #[error("unsupported database URL {0:?}: use sqlite:PATH or postgres://...")]
    Url(String),
    /// A value read back is not what the schema allows.
    #[error("corrupt row: {0}")]
    Corrupt(String),
}

/// Status of a certificate as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RecordStatus {
    /// Issued and not revoked (it may still have expired: see `not_after`).
    Valid,
    /// Revoked.
    Revoked {
        /// revocationTime.
        time: SystemTime,
        /// reasonCode, if any.
        reason: Option<CrlReason>,
        /// invalidityDate, if any.
        invalidity_date: Option<SystemTime>,
    },
}

/// One certificate's record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CertRecord {
    /// Issuer.
    pub issuer: IssuerId,
    /// Serial number: the positive integer's big-endian magnitude, no leading zero octets.
    pub serial: Vec<u8>,
    /// notAfter, when known.
    pub not_after: Option<SystemTime>,
    /// Status.
    pub status: RecordStatus,
}

/// What `revoke` did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevokeOutcome {
    /// Newly revoked.
    Revoked,
    /// Already revoked: nothing changed (no duplicate entry).
    AlreadyRevoked,
}

/// Counts from an import.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Records written.
    pub imported: u64,
    /// Lines whose record was already in the store in the same state.
    pub skipped: u64,
    /// Malformed lines: (line number, 1-based; why).
    pub malformed: Vec<(usize, String)>,
}

/// A revocation change seen by [`RevocationStore::changes_since`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Monotonic sequence number of the change.
    pub seq: i64,
    /// Issuer.
    pub issuer: IssuerId,
    /// Serial (magnitude).
    pub serial: Vec<u8>,
}

/// The record of issued and revoked certificates. Writes are durable when the call returns.
#[allow(async_fn_in_trait)]
pub trait RevocationStore: Send + Sync {
    /// Creates the schema if missing (idempotent).
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Records an issued certificate (status valid) unless a record exists.
    async fn record_issued(
        &self,
        issuer: &str,
        serial: &[u8],
        not_after: Option<SystemTime>,
    ) -> Result<(), StoreError>;
    /// Revokes; a serial with no record is recorded as revoked. Revoking twice changes nothing.
    async fn revoke(
        &self,
        issuer: &str,
        serial: &[u8],
        time: SystemTime,
        reason: Option<CrlReason>,
        invalidity_date: Option<SystemTime>,
    ) -> Result<RevokeOutcome, StoreError>;
    /// The record of one certificate, if any.
    async fn status(&self, issuer: &str, serial: &[u8]) -> Result<Option<CertRecord>, StoreError>;
    /// Every revoked record of an issuer, ordered by serial (for CRLs).
    async fn revoked(&self, issuer: &str) -> Result<Vec<CertRecord>, StoreError>;
    /// Atomically takes the issuer's next CRL number: strictly greater than every number
    /// handed out before, across restarts and concurrent writers. The first is 1.
    async fn next_crl_number(&self, issuer: &str) -> Result<u64, StoreError>;
    /// Revocations recorded after `seq`, oldest first, at most `limit`.
    async fn changes_since(&self, seq: i64, limit: i64) -> Result<Vec<Change>, StoreError>;
    /// Imports records in one transaction: all or nothing.
    async fn import(&self, records: &[CertRecord]) -> Result<ImportSummary, StoreError>;
}
