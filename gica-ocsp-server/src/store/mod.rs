//! The revocation store: what each issuer issued and revoked, and each issuer's CRL number.
//!
//! One trait, [`RevocationStore`], two backends with the same schema and the same test suite:
//! SQLite (embedded default, a file) and PostgreSQL (several responders sharing one database).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gica_pki::CrlReason;

mod postgres;
mod sqlite;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

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
    /// A write the store does not take.
    #[error("refused: {0}")]
    Refused(String),
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

/// The revoked entries of one CRL, packed: every serial in one buffer and fixed-size entries
/// beside it, so a million entries cost two growing buffers (about 60 bytes an entry), not a
/// million allocations.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use gica_ocsp_server::store::RevokedList;
/// use gica_pki::CrlReason;
///
/// let mut list = RevokedList::default();
/// let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// list.push(&[0x01, 0x02], t, Some(CrlReason::KeyCompromise), None);
/// list.push(&[0x7f; 20], t, None, Some(t));
/// let entries: Vec<_> = list.iter().collect();
/// assert_eq!((list.len(), entries[1].serial.len()), (2, 20));
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevokedList {
    serials: Vec<u8>,
    entries: Vec<PackedEntry>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct PackedEntry {
    /// End of this entry's serial in `serials` (it starts where the previous one ends).
    serial_end: usize,
    time: SystemTime,
    reason: Option<CrlReason>,
    invalidity_date: Option<SystemTime>,
}

impl RevokedList {
    /// Appends an entry; callers keep them in serial order.
    pub fn push(
        &mut self,
        serial: &[u8],
        time: SystemTime,
        reason: Option<CrlReason>,
        invalidity_date: Option<SystemTime>,
    ) {
        self.serials.extend_from_slice(serial);
        self.entries.push(PackedEntry {
            serial_end: self.serials.len(),
            time,
            reason,
            invalidity_date,
        });
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The entries, in the order pushed, ready for [`gica_pki::crl::build_crl`].
    pub fn iter(&self) -> impl Iterator<Item = gica_pki::crl::RevokedEntry<'_>> + '_ {
        let mut start = 0;
        self.entries.iter().map(move |e| {
            let serial = &self.serials[start..e.serial_end];
            start = e.serial_end;
            let mut entry = gica_pki::crl::RevokedEntry::new(serial, e.time);
            if let Some(reason) = e.reason {
                entry = entry.reason(reason);
            }
            if let Some(at) = e.invalidity_date {
                entry = entry.invalidity_date(at);
            }
            entry
        })
    }
}

/// What one CRL is made of, read consistently by [`RevocationStore::crl_snapshot`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CrlSnapshot {
    /// cRLNumber.
    pub number: u64,
    /// Revoked entries, ordered by serial, read row by row into one packed list.
    pub revoked: RevokedList,
    /// thisUpdate: read inside the transaction.
    pub at: SystemTime,
}

/// A CRL as published in the store for every responder to serve.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedCrl {
    /// cRLNumber.
    pub number: u64,
    /// thisUpdate.
    pub this_update: SystemTime,
    /// nextUpdate.
    pub next_update: SystemTime,
    /// The signed CRL.
    pub der: Vec<u8>,
}

/// What [`RevocationStore::published_crl_meta`] tells of a published CRL, without its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublishedCrlMeta {
    /// cRLNumber.
    pub number: u64,
    /// thisUpdate.
    pub this_update: SystemTime,
    /// nextUpdate.
    pub next_update: SystemTime,
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
///
/// Times are kept in whole seconds (RFC 5280 times have no fraction): a fraction is dropped.
/// Serials are normalised to their magnitude (leading zero octets dropped) on the way in.
///
/// The methods return `Send` futures, so code generic over the store can `tokio::spawn` them;
/// an implementation may still write them as `async fn`.
pub trait RevocationStore: Send + Sync {
    /// Creates the schema if missing (idempotent).
    fn migrate(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Records an issued certificate (status valid) unless a record exists.
    fn record_issued(
        &self,
        issuer: &str,
        serial: &[u8],
        not_after: Option<SystemTime>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
    /// Revokes; a serial with no record is recorded as revoked. Revoking twice changes nothing.
    fn revoke(
        &self,
        issuer: &str,
        serial: &[u8],
        time: SystemTime,
        reason: Option<CrlReason>,
        invalidity_date: Option<SystemTime>,
    ) -> impl Future<Output = Result<RevokeOutcome, StoreError>> + Send;
    /// The record of one certificate, if any.
    fn status(
        &self,
        issuer: &str,
        serial: &[u8],
    ) -> impl Future<Output = Result<Option<CertRecord>, StoreError>> + Send;
    /// Every revoked record of an issuer, ordered by serial (for CRLs).
    fn revoked(
        &self,
        issuer: &str,
    ) -> impl Future<Output = Result<Vec<CertRecord>, StoreError>> + Send;
    /// Atomically takes the issuer's next CRL number: strictly greater than every number
    /// handed out before, across restarts and concurrent writers. The first is 1.
    fn next_crl_number(&self, issuer: &str)
    -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// The issuer's next CRL number, its revoked records and the time, taken in ONE write
    /// transaction: a higher number never lists less than a lower one (RFC 5280 5.2.3), and
    /// its time is never earlier.
    fn crl_snapshot(
        &self,
        issuer: &str,
    ) -> impl Future<Output = Result<CrlSnapshot, StoreError>> + Send;
    /// Revocations recorded after `seq`, oldest first, at most `limit`.
    fn changes_since(
        &self,
        seq: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Change>, StoreError>> + Send;
    /// Publishes `crl` as the issuer's current CRL unless one with a number at least as high
    /// is published already; returns whether it was.
    fn publish_crl(
        &self,
        issuer: &str,
        crl: &PublishedCrl,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// The number and times of the issuer's published CRL, without its bytes.
    fn published_crl_meta(
        &self,
        issuer: &str,
    ) -> impl Future<Output = Result<Option<PublishedCrlMeta>, StoreError>> + Send;
    /// The issuer's published CRL.
    fn published_crl(
        &self,
        issuer: &str,
    ) -> impl Future<Output = Result<Option<PublishedCrl>, StoreError>> + Send;
    /// Deletes change-log entries recorded before `before`; returns how many. Sequence
    /// numbers are never reused afterwards, so a follower's position stays valid.
    fn prune_changes(
        &self,
        before: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    /// Imports records in one transaction: all or nothing.
    fn import(
        &self,
        records: &[CertRecord],
    ) -> impl Future<Output = Result<ImportSummary, StoreError>> + Send;
}

/// A store chosen at run time by its URL.
#[derive(Clone, Debug)]
pub enum AnyStore {
    /// `sqlite:PATH`.
    Sqlite(SqliteStore),
    /// `postgres://...` or `postgresql://...`.
    Postgres(PgStore),
}

impl AnyStore {
    /// Connects by URL (`sqlite:PATH`, created if missing; `postgres://...`, where
    /// `?options=-csearch_path%3Dname` picks a schema) and creates the schema if missing.
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let store = if url.starts_with("sqlite:") {
            Self::Sqlite(SqliteStore::connect(url).await?)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::Postgres(PgStore::connect(url).await?)
        } else {
            // Only the scheme: the rest may hold a password.
            let scheme = url.split_once(':').map_or("", |(scheme, _)| scheme);
            return Err(StoreError::Url(format!("{scheme}:...")));
        };
        store.migrate().await?;
        Ok(store)
    }
}

/// Calls the same method on whichever backend `$store` holds.
macro_rules! on_backend {
    ($store:expr, $s:ident => $call:expr) => {
        match $store {
            AnyStore::Sqlite($s) => $call.await,
            AnyStore::Postgres($s) => $call.await,
        }
    };
}

impl RevocationStore for AnyStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        on_backend!(self, s => s.migrate())
    }

    async fn record_issued(
        &self,
        issuer: &str,
        serial: &[u8],
        not_after: Option<SystemTime>,
    ) -> Result<(), StoreError> {
        on_backend!(self, s => s.record_issued(issuer, serial, not_after))
    }

    async fn revoke(
        &self,
        issuer: &str,
        serial: &[u8],
        time: SystemTime,
        reason: Option<CrlReason>,
        invalidity_date: Option<SystemTime>,
    ) -> Result<RevokeOutcome, StoreError> {
        on_backend!(self, s => s.revoke(issuer, serial, time, reason, invalidity_date))
    }

    async fn status(&self, issuer: &str, serial: &[u8]) -> Result<Option<CertRecord>, StoreError> {
        on_backend!(self, s => s.status(issuer, serial))
    }

    async fn revoked(&self, issuer: &str) -> Result<Vec<CertRecord>, StoreError> {
        on_backend!(self, s => s.revoked(issuer))
    }

    async fn next_crl_number(&self, issuer: &str) -> Result<u64, StoreError> {
        on_backend!(self, s => s.next_crl_number(issuer))
    }

    async fn changes_since(&self, seq: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
        on_backend!(self, s => s.changes_since(seq, limit))
    }

    async fn crl_snapshot(&self, issuer: &str) -> Result<CrlSnapshot, StoreError> {
        on_backend!(self, s => s.crl_snapshot(issuer))
    }

    async fn prune_changes(&self, before: SystemTime) -> Result<u64, StoreError> {
        on_backend!(self, s => s.prune_changes(before))
    }

    async fn publish_crl(&self, issuer: &str, crl: &PublishedCrl) -> Result<bool, StoreError> {
        on_backend!(self, s => s.publish_crl(issuer, crl))
    }

    async fn published_crl_meta(
        &self,
        issuer: &str,
    ) -> Result<Option<PublishedCrlMeta>, StoreError> {
        on_backend!(self, s => s.published_crl_meta(issuer))
    }

    async fn published_crl(&self, issuer: &str) -> Result<Option<PublishedCrl>, StoreError> {
        on_backend!(self, s => s.published_crl(issuer))
    }

    async fn import(&self, records: &[CertRecord]) -> Result<ImportSummary, StoreError> {
        on_backend!(self, s => s.import(records))
    }
}

/// The serial's magnitude: leading zero octets dropped.
pub(crate) fn magnitude(serial: &[u8]) -> &[u8] {
    let start = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
    &serial[start..]
}

/// Whole seconds since the epoch, rounded down; saturates far outside any certificate's life.
pub(crate) fn unix_secs(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() > 0 {
                (-secs).saturating_sub(1)
            } else {
                -secs
            }
        }
    }
}

/// The instant `secs` seconds after (or before) the epoch, if the platform can hold it.
pub(crate) fn from_unix_secs(secs: i64) -> Option<SystemTime> {
    let d = Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH.checked_add(d)
    } else {
        UNIX_EPOCH.checked_sub(d)
    }
}

/// A row of `certs` as the database hands it back.
struct CertRow {
    issuer: String,
    serial: Vec<u8>,
    not_after: Option<i64>,
    status: String,
    revocation_time: Option<i64>,
    reason: Option<i16>,
    invalidity_date: Option<i64>,
}

/// RFC 5280 5.3.1: removeFromCRL only marks delta-CRL entries of released holds; as a
/// revocation it would be listed on full CRLs, where relying parties read it as revoked.
pub(crate) fn refuse_remove_from_crl(records: &[CertRecord]) -> Result<(), StoreError> {
    let bad = records.iter().find(|r| {
        matches!(
            r.status,
            RecordStatus::Revoked {
                reason: Some(CrlReason::RemoveFromCrl),
                ..
            }
        )
    });
    match bad {
        Some(r) => Err(StoreError::Refused(format!(
            "serial {}: removeFromCRL is for delta CRLs (a released hold), not a revocation",
            hex::encode(&r.serial)
        ))),
        None => Ok(()),
    }
}

/// The first three columns of a `crls` row: number, thisUpdate, nextUpdate, checked.
pub(crate) fn published_meta<R>(row: &R) -> Result<PublishedCrlMeta, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let number: i64 = row.try_get(0)?;
    Ok(PublishedCrlMeta {
        number: u64::try_from(number)
            .map_err(|_| StoreError::Corrupt(format!("CRL number {number}")))?,
        this_update: stored_time(row.try_get(1)?)?,
        next_update: stored_time(row.try_get(2)?)?,
    })
}

/// A stored time, checked.
pub(crate) fn stored_time(secs: i64) -> Result<SystemTime, StoreError> {
    from_unix_secs(secs).ok_or_else(|| StoreError::Corrupt(format!("time {secs}")))
}

/// A stored reason code, checked.
pub(crate) fn stored_reason(code: Option<i16>) -> Result<Option<CrlReason>, StoreError> {
    code.map(|code| {
        u8::try_from(code)
            .ok()
            .and_then(CrlReason::from_code)
            .ok_or_else(|| StoreError::Corrupt(format!("reason code {code}")))
    })
    .transpose()
}

impl CertRow {
    fn into_record(self) -> Result<CertRecord, StoreError> {
        let time = stored_time;
        let status = match (self.status.as_str(), self.revocation_time) {
            ("V", _) => RecordStatus::Valid,
            ("R", Some(revoked_at)) => RecordStatus::Revoked {
                time: time(revoked_at)?,
                reason: stored_reason(self.reason)?,
                invalidity_date: self.invalidity_date.map(time).transpose()?,
            },
            (status, _) => return Err(StoreError::Corrupt(format!("status {status:?}"))),
        };
        Ok(CertRecord {
            issuer: self.issuer,
            serial: self.serial,
            not_after: self.not_after.map(time).transpose()?,
            status,
        })
    }
}

/// The statements both backends share; `$n` parameters work on SQLite too. The batch
/// statements are a head, `VALUES (...), (...)` from `sqlx::QueryBuilder`, and a tail.
mod sql {
    /// Rows per batch: with 6 parameters a row, under SQLite's 32766 and PostgreSQL's 65535.
    pub(super) const BATCH: usize = 1000;

    pub(super) const INSERT_VALID: &str = "INSERT INTO certs (issuer, serial, not_after, status) \
         VALUES ($1, $2, $3, 'V') ON CONFLICT (issuer, serial) DO NOTHING";

    pub(super) const VALID_HEAD: &str = "INSERT INTO certs (issuer, serial, not_after, status) ";
    /// Returns the rows inserted.
    pub(super) const VALID_TAIL: &str = " ON CONFLICT (issuer, serial) DO NOTHING RETURNING serial";

    pub(super) const REVOKE_HEAD: &str = "INSERT INTO certs \
         (issuer, serial, not_after, status, revocation_time, reason, invalidity_date) ";
    /// Inserts revoked records, or revokes valid ones; touches no row already revoked, so the
    /// first revocation's time and reason stand. Returns the rows written.
    pub(super) const REVOKE_TAIL: &str = " ON CONFLICT (issuer, serial) DO UPDATE SET \
         status = 'R', revocation_time = excluded.revocation_time, reason = excluded.reason, \
         invalidity_date = excluded.invalidity_date, \
         not_after = COALESCE(certs.not_after, excluded.not_after) \
         WHERE certs.status = 'V' RETURNING issuer, serial";

    pub(super) const CHANGE_HEAD: &str = "INSERT INTO changes (issuer, serial, recorded_at) ";

    macro_rules! select_certs {
        ($where:literal) => {
            concat!(
                "SELECT issuer, serial, not_after, status, revocation_time, reason, ",
                "invalidity_date FROM certs ",
                $where
            )
        };
    }

    pub(super) const SELECT_ONE: &str = select_certs!("WHERE issuer = $1 AND serial = $2");

    /// Numeric order: a shorter magnitude is a smaller number.
    pub(super) const SELECT_REVOKED: &str =
        select_certs!("WHERE issuer = $1 AND status = 'R' ORDER BY length(serial), serial");

    /// What a CRL entry needs, in the same order.
    pub(super) const SELECT_CRL_ENTRIES: &str = "SELECT serial, revocation_time, reason, \
         invalidity_date FROM certs WHERE issuer = $1 AND status = 'R' \
         ORDER BY length(serial), serial";

    /// One statement, so the row lock (PostgreSQL) or the write lock (SQLite) makes it atomic.
    pub(super) const NEXT_CRL_NUMBER: &str = "INSERT INTO crl_numbers (issuer, last_number) \
         VALUES ($1, 1) ON CONFLICT (issuer) \
         DO UPDATE SET last_number = crl_numbers.last_number + 1 RETURNING last_number";

    /// Replaces the published CRL only by a higher-numbered one.
    pub(super) const PUBLISH_CRL: &str = "INSERT INTO crls \
         (issuer, number, this_update, next_update, der) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (issuer) DO UPDATE SET number = excluded.number, \
         this_update = excluded.this_update, next_update = excluded.next_update, \
         der = excluded.der WHERE crls.number < excluded.number";

    pub(super) const PUBLISHED_CRL_META: &str =
        "SELECT number, this_update, next_update FROM crls WHERE issuer = $1";

    pub(super) const PUBLISHED_CRL: &str =
        "SELECT number, this_update, next_update, der FROM crls WHERE issuer = $1";

    /// One batch of pruning (so no statement holds the table long).
    pub(super) const PRUNE_CHANGES: &str = "DELETE FROM changes WHERE seq IN \
         (SELECT seq FROM changes WHERE recorded_at < $1 ORDER BY seq LIMIT $2)";
    /// Rows per pruning batch.
    pub(super) const PRUNE_BATCH: i64 = 10_000;

    pub(super) const CHANGES_SINCE: &str =
        "SELECT seq, issuer, serial FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2";
}

/// Implements [`RevocationStore`] for a sqlx backend `$store` over database `$db`, with the
/// statements in [`sql`]. `$store` has a field `pool` and three constants: `BEGIN_WRITE`
/// (starts a write transaction), `LOCK_CHANGES` (run next, to serialise the writers of
/// `changes` so that `seq` order is commit order) and `SCHEMA` (run by `migrate`).
macro_rules! sql_store {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn begin_write(&self) -> Result<sqlx::Transaction<'static, $db>, sqlx::Error> {
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                for statement in Self::LOCK_CHANGES {
                    sqlx::query(statement).execute(&mut *tx).await?;
                }
                Ok(tx)
            }

            /// Writes the records the store does not have in that state already, in batches,
            /// and returns how many it wrote. A V record never un-revokes; an R record revokes
            /// a V one and is a change.
            async fn write_records(
                tx: &mut sqlx::Transaction<'static, $db>,
                records: &[$crate::store::CertRecord],
            ) -> Result<u64, sqlx::Error> {
                use $crate::store::{magnitude, sql};
                let now = $crate::store::unix_secs(std::time::SystemTime::now());
                let mut written = 0;
                let mut batch = Vec::with_capacity(sql::BATCH.min(records.len()));
                let mut keys = std::collections::HashSet::new();
                for record in records {
                    // One statement may not touch a row twice: a repeated serial starts a new
                    // batch, so records apply in order.
                    let key = (record.issuer.as_str(), magnitude(&record.serial));
                    if batch.len() == sql::BATCH || keys.contains(&key) {
                        written += Self::write_batch(tx, &batch, now).await?;
                        batch.clear();
                        keys.clear();
                    }
                    keys.insert(key);
                    batch.push(record);
                }
                if !batch.is_empty() {
                    written += Self::write_batch(tx, &batch, now).await?;
                }
                Ok(written)
            }

            /// `write_records` for records with distinct serials.
            async fn write_batch(
                tx: &mut sqlx::Transaction<'static, $db>,
                batch: &[&$crate::store::CertRecord],
                now: i64,
            ) -> Result<u64, sqlx::Error> {
                use sqlx::Row as _;
                use $crate::store::{CertRecord, RecordStatus, magnitude, sql, unix_secs};
                let (valid, revoked): (Vec<&CertRecord>, Vec<&CertRecord>) = batch
                    .iter()
                    .copied()
                    .partition(|r| matches!(r.status, RecordStatus::Valid));
                let mut written = 0;
                if !valid.is_empty() {
                    let mut insert = sqlx::QueryBuilder::<$db>::new(sql::VALID_HEAD);
                    insert.push_values(&valid, |mut row, r| {
                        row.push_bind(r.issuer.as_str())
                            .push_bind(magnitude(&r.serial))
                            .push_bind(r.not_after.map(unix_secs))
                            .push("'V'");
                    });
                    insert.push(sql::VALID_TAIL);
                    written += insert.build().fetch_all(&mut **tx).await?.len() as u64;
                }
                if revoked.is_empty() {
                    return Ok(written);
                }
                let mut revoke = sqlx::QueryBuilder::<$db>::new(sql::REVOKE_HEAD);
                revoke.push_values(&revoked, |mut row, r| {
                    let RecordStatus::Revoked {
                        time,
                        reason,
                        invalidity_date,
                    } = &r.status
                    else {
                        unreachable!("partitioned above")
                    };
                    row.push_bind(r.issuer.as_str())
                        .push_bind(magnitude(&r.serial))
                        .push_bind(r.not_after.map(unix_secs))
                        .push("'R'")
                        .push_bind(unix_secs(*time))
                        .push_bind(reason.map(|r| i16::from(r.code())))
                        .push_bind(invalidity_date.map(unix_secs));
                });
                revoke.push(sql::REVOKE_TAIL);
                let rows = revoke.build().fetch_all(&mut **tx).await?;
                if rows.is_empty() {
                    return Ok(written);
                }
                written += rows.len() as u64;
                let changed = rows
                    .iter()
                    .map(|row| Ok((row.try_get("issuer")?, row.try_get("serial")?)))
                    .collect::<Result<std::collections::HashSet<(String, Vec<u8>)>, sqlx::Error>>(
                    )?;
                // Changes in the order of the input, not of RETURNING.
                let changes = revoked.iter().filter(|r| {
                    changed.contains(&(r.issuer.clone(), magnitude(&r.serial).to_vec()))
                });
                let mut insert = sqlx::QueryBuilder::<$db>::new(sql::CHANGE_HEAD);
                insert.push_values(changes, |mut row, r| {
                    row.push_bind(r.issuer.as_str())
                        .push_bind(magnitude(&r.serial))
                        .push_bind(now);
                });
                insert.build().execute(&mut **tx).await?;
                Ok(written)
            }

            fn decode(
                row: &<$db as sqlx::Database>::Row,
            ) -> Result<$crate::store::CertRecord, $crate::store::StoreError> {
                use sqlx::Row as _;
                $crate::store::CertRow {
                    issuer: row.try_get("issuer")?,
                    serial: row.try_get("serial")?,
                    not_after: row.try_get("not_after")?,
                    status: row.try_get("status")?,
                    revocation_time: row.try_get("revocation_time")?,
                    reason: row.try_get("reason")?,
                    invalidity_date: row.try_get("invalidity_date")?,
                }
                .into_record()
            }
        }

        impl $crate::store::RevocationStore for $store {
            async fn migrate(&self) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.pool.begin_with(Self::BEGIN_WRITE).await?;
                for statement in Self::SCHEMA {
                    sqlx::query(statement).execute(&mut *tx).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn record_issued(
                &self,
                issuer: &str,
                serial: &[u8],
                not_after: Option<std::time::SystemTime>,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::store::{magnitude, sql, unix_secs};
                sqlx::query(sql::INSERT_VALID)
                    .bind(issuer)
                    .bind(magnitude(serial))
                    .bind(not_after.map(unix_secs))
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn revoke(
                &self,
                issuer: &str,
                serial: &[u8],
                time: std::time::SystemTime,
                reason: Option<gica_pki::CrlReason>,
                invalidity_date: Option<std::time::SystemTime>,
            ) -> Result<$crate::store::RevokeOutcome, $crate::store::StoreError> {
                use $crate::store::{CertRecord, RecordStatus, RevokeOutcome};
                let record = CertRecord {
                    issuer: issuer.to_owned(),
                    serial: serial.to_vec(),
                    not_after: None,
                    status: RecordStatus::Revoked {
                        time,
                        reason,
                        invalidity_date,
                    },
                };
                let summary = self.import(std::slice::from_ref(&record)).await?;
                Ok(if summary.imported > 0 {
                    RevokeOutcome::Revoked
                } else {
                    RevokeOutcome::AlreadyRevoked
                })
            }

            async fn status(
                &self,
                issuer: &str,
                serial: &[u8],
            ) -> Result<Option<$crate::store::CertRecord>, $crate::store::StoreError> {
                use $crate::store::{magnitude, sql};
                sqlx::query(sql::SELECT_ONE)
                    .bind(issuer)
                    .bind(magnitude(serial))
                    .fetch_optional(&self.pool)
                    .await?
                    .map(|row| Self::decode(&row))
                    .transpose()
            }

            async fn revoked(
                &self,
                issuer: &str,
            ) -> Result<Vec<$crate::store::CertRecord>, $crate::store::StoreError> {
                sqlx::query($crate::store::sql::SELECT_REVOKED)
                    .bind(issuer)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(Self::decode)
                    .collect()
            }

            async fn next_crl_number(
                &self,
                issuer: &str,
            ) -> Result<u64, $crate::store::StoreError> {
                use sqlx::Row as _;
                use $crate::store::StoreError;
                // fetch_all runs the statement to completion, which ends SQLite's implicit
                // transaction before the connection goes back to the pool.
                let rows = sqlx::query($crate::store::sql::NEXT_CRL_NUMBER)
                    .bind(issuer)
                    .fetch_all(&self.pool)
                    .await?;
                let row = rows
                    .first()
                    .ok_or_else(|| StoreError::Corrupt("no CRL number returned".into()))?;
                let number: i64 = row.try_get(0)?;
                u64::try_from(number)
                    .map_err(|_| StoreError::Corrupt(format!("CRL number {number}")))
            }

            async fn crl_snapshot(
                &self,
                issuer: &str,
            ) -> Result<$crate::store::CrlSnapshot, $crate::store::StoreError> {
                use sqlx::Row as _;
                use $crate::store::StoreError;
                // The write transaction serialises with every revocation (they write
                // `changes` under the same lock), so number and contents agree.
                let mut tx = self.begin_write().await?;
                let rows = sqlx::query($crate::store::sql::NEXT_CRL_NUMBER)
                    .bind(issuer)
                    .fetch_all(&mut *tx)
                    .await?;
                let row = rows
                    .first()
                    .ok_or_else(|| StoreError::Corrupt("no CRL number returned".into()))?;
                let number: i64 = row.try_get(0)?;
                let number = u64::try_from(number)
                    .map_err(|_| StoreError::Corrupt(format!("CRL number {number}")))?;
                // Row by row into one packed list: no row set, no allocation per entry.
                let mut revoked = $crate::store::RevokedList::default();
                {
                    use futures_util::TryStreamExt as _;
                    use $crate::store::{stored_reason, stored_time};
                    let mut rows = sqlx::query($crate::store::sql::SELECT_CRL_ENTRIES)
                        .bind(issuer)
                        .fetch(&mut *tx);
                    while let Some(row) = rows.try_next().await? {
                        let serial: &[u8] = row.try_get(0)?;
                        let time: Option<i64> = row.try_get(1)?;
                        let time = time.ok_or_else(|| {
                            StoreError::Corrupt("revoked row without revocation time".into())
                        })?;
                        let reason = stored_reason(row.try_get(2)?)?;
                        if reason == Some(gica_pki::CrlReason::RemoveFromCrl) {
                            // A released hold stored by an earlier version: not revoked
                            // (RFC 5280 5.3.1), and build_crl would refuse the entry.
                            continue;
                        }
                        let invalidity: Option<i64> = row.try_get(3)?;
                        revoked.push(
                            serial,
                            stored_time(time)?,
                            reason,
                            invalidity.map(stored_time).transpose()?,
                        );
                    }
                }
                let at = std::time::SystemTime::now();
                tx.commit().await?;
                Ok($crate::store::CrlSnapshot {
                    number,
                    revoked,
                    at,
                })
            }

            async fn changes_since(
                &self,
                seq: i64,
                limit: i64,
            ) -> Result<Vec<$crate::store::Change>, $crate::store::StoreError> {
                use sqlx::Row as _;
                if limit <= 0 {
                    return Ok(Vec::new());
                }
                let rows = sqlx::query($crate::store::sql::CHANGES_SINCE)
                    .bind(seq)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| {
                        Ok($crate::store::Change {
                            seq: row.try_get("seq")?,
                            issuer: row.try_get("issuer")?,
                            serial: row.try_get("serial")?,
                        })
                    })
                    .collect()
            }

            async fn publish_crl(
                &self,
                issuer: &str,
                crl: &$crate::store::PublishedCrl,
            ) -> Result<bool, $crate::store::StoreError> {
                let number = i64::try_from(crl.number).map_err(|_| {
                    $crate::store::StoreError::Refused(format!("CRL number {}", crl.number))
                })?;
                let done = sqlx::query($crate::store::sql::PUBLISH_CRL)
                    .bind(issuer)
                    .bind(number)
                    .bind($crate::store::unix_secs(crl.this_update))
                    .bind($crate::store::unix_secs(crl.next_update))
                    .bind(crl.der.as_slice())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn published_crl_meta(
                &self,
                issuer: &str,
            ) -> Result<Option<$crate::store::PublishedCrlMeta>, $crate::store::StoreError> {
                let row = sqlx::query($crate::store::sql::PUBLISHED_CRL_META)
                    .bind(issuer)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|row| $crate::store::published_meta(&row))
                    .transpose()
            }

            async fn published_crl(
                &self,
                issuer: &str,
            ) -> Result<Option<$crate::store::PublishedCrl>, $crate::store::StoreError> {
                use sqlx::Row as _;
                let row = sqlx::query($crate::store::sql::PUBLISHED_CRL)
                    .bind(issuer)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|row| {
                    let meta = $crate::store::published_meta(&row)?;
                    Ok($crate::store::PublishedCrl {
                        number: meta.number,
                        this_update: meta.this_update,
                        next_update: meta.next_update,
                        der: row.try_get(3)?,
                    })
                })
                .transpose()
            }

            async fn prune_changes(
                &self,
                before: std::time::SystemTime,
            ) -> Result<u64, $crate::store::StoreError> {
                use $crate::store::sql::{PRUNE_BATCH, PRUNE_CHANGES};
                let mut deleted = 0;
                loop {
                    let done = sqlx::query(PRUNE_CHANGES)
                        .bind($crate::store::unix_secs(before))
                        .bind(PRUNE_BATCH)
                        .execute(&self.pool)
                        .await?
                        .rows_affected();
                    deleted += done;
                    if done < PRUNE_BATCH as u64 {
                        return Ok(deleted);
                    }
                }
            }

            async fn import(
                &self,
                records: &[$crate::store::CertRecord],
            ) -> Result<$crate::store::ImportSummary, $crate::store::StoreError> {
                $crate::store::refuse_remove_from_crl(records)?;
                let mut tx = self.begin_write().await?;
                let imported = Self::write_records(&mut tx, records).await?;
                tx.commit().await?;
                Ok($crate::store::ImportSummary {
                    imported,
                    skipped: records.len() as u64 - imported,
                    malformed: Vec::new(),
                })
            }
        }
    };
}
use sql_store;
