//! The revocation store: what each issuer issued and revoked, each issuer's CRL numbers and
//! published CRL, and the change log responders follow.
//!
//! Two narrow traits: [`StatusSource`] reads (what an OCSP responder needs) and
//! [`RevocationWriter`] writes (admin commands, CRL publishing); [`RevocationStore`] is both.
//! Two backends with the same schema and the same test suite: [`SqliteStore`] (embedded
//! default, a file) and [`PgStore`] (several responders sharing one database); [`AnyStore`]
//! is either, chosen by URL.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use gica_pki::CrlReason;

use crate::{Component, Db, Migration, StoreError};

mod postgres;
mod sqlite;

pub use postgres::PgStore;
pub use sqlite::SqliteStore;

/// Identifies an issuer: lowercase hex of SHA-256 over its subjectPublicKey bits, so a CA
/// certificate re-issued with the same key keeps its records.
pub type IssuerId = String;

/// The revocation store's migrations (component `revocation`).
///
/// Version 1 is the schema gica-ocsp-server created before migrations were recorded, in the
/// same `CREATE ... IF NOT EXISTS` statements: on a database made by that code it changes
/// nothing and is recorded as applied. Version 2 adds the index CRLs are read through.
pub const MIGRATIONS: Component = Component {
    name: "revocation",
    migrations: &[
        Migration {
            version: 1,
            name: "certs, crl_numbers, crls, changes",
            sqlite: &[
                "CREATE TABLE IF NOT EXISTS certs (
                    issuer TEXT NOT NULL CHECK (issuer <> ''),
                    serial BLOB NOT NULL CHECK (length(serial) BETWEEN 1 AND 64),
                    not_after BIGINT,
                    status TEXT NOT NULL CHECK (status IN ('V', 'R')),
                    revocation_time BIGINT,
                    reason SMALLINT,
                    invalidity_date BIGINT,
                    PRIMARY KEY (issuer, serial),
                    CHECK ((status = 'R') = (revocation_time IS NOT NULL))
                ) WITHOUT ROWID",
                "CREATE INDEX IF NOT EXISTS certs_revoked ON certs (issuer) WHERE status = 'R'",
                "CREATE TABLE IF NOT EXISTS crl_numbers (
                    issuer TEXT PRIMARY KEY,
                    last_number BIGINT NOT NULL
                )",
                // The newest CRL of each issuer, so every responder sharing the store serves
                // the same one (CRL numbers never go back between instances).
                "CREATE TABLE IF NOT EXISTS crls (
                    issuer TEXT PRIMARY KEY,
                    number BIGINT NOT NULL,
                    this_update BIGINT NOT NULL,
                    next_update BIGINT NOT NULL,
                    der BLOB NOT NULL
                )",
                // AUTOINCREMENT: a seq is never reused, even after the newest row is deleted.
                "CREATE TABLE IF NOT EXISTS changes (
                    seq INTEGER PRIMARY KEY AUTOINCREMENT,
                    issuer TEXT NOT NULL,
                    serial BLOB NOT NULL,
                    recorded_at BIGINT NOT NULL
                )",
            ],
            postgres: &[
                "CREATE TABLE IF NOT EXISTS certs (
                    issuer TEXT NOT NULL CHECK (issuer <> ''),
                    serial BYTEA NOT NULL CHECK (length(serial) BETWEEN 1 AND 64),
                    not_after BIGINT,
                    status TEXT NOT NULL CHECK (status IN ('V', 'R')),
                    revocation_time BIGINT,
                    reason SMALLINT,
                    invalidity_date BIGINT,
                    PRIMARY KEY (issuer, serial),
                    CHECK ((status = 'R') = (revocation_time IS NOT NULL))
                )",
                "CREATE INDEX IF NOT EXISTS certs_revoked ON certs (issuer) WHERE status = 'R'",
                "CREATE TABLE IF NOT EXISTS crl_numbers (
                    issuer TEXT PRIMARY KEY,
                    last_number BIGINT NOT NULL
                )",
                "CREATE TABLE IF NOT EXISTS crls (
                    issuer TEXT PRIMARY KEY,
                    number BIGINT NOT NULL,
                    this_update BIGINT NOT NULL,
                    next_update BIGINT NOT NULL,
                    der BYTEA NOT NULL
                )",
                "CREATE TABLE IF NOT EXISTS changes (
                    seq BIGSERIAL PRIMARY KEY,
                    issuer TEXT NOT NULL,
                    serial BYTEA NOT NULL,
                    recorded_at BIGINT NOT NULL
                )",
            ],
        },
        // A CRL reads an issuer's revoked rows in numeric serial order: this index holds
        // them in that order with every column an entry needs, so the read is one ordered
        // index scan (no sort of a million rows, no table lookups). It leads with the issuer
        // under the same condition as certs_revoked, which it replaces.
        Migration {
            version: 2,
            name: "certs_crl: revoked entries in serial order",
            sqlite: &[
                // `status` too: SQLite counts an index as covering only if it holds every
                // column the query names, even one its WHERE settles.
                "CREATE INDEX IF NOT EXISTS certs_crl ON certs (issuer, length(serial), \
                 serial, revocation_time, reason, invalidity_date, status) WHERE status = 'R'",
                "DROP INDEX IF EXISTS certs_revoked",
            ],
            postgres: &[
                "CREATE INDEX IF NOT EXISTS certs_crl ON certs (issuer, length(serial), serial) \
                 INCLUDE (revocation_time, reason, invalidity_date) WHERE status = 'R'",
                "DROP INDEX IF EXISTS certs_revoked",
            ],
        },
    ],
};

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

/// The revoked entries of one CRL, packed into ONE buffer: per entry the serial's length
/// and octets, the revocation time, a flags octet (reason code, invalidityDate present) and
/// the invalidityDate if any: about 27 octets for a 16-octet serial, half of what the entry
/// takes in the CRL, and no allocation per entry.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use gica_store::revocation::RevokedList;
/// use gica_pki::CrlReason;
///
/// let mut list = RevokedList::default();
/// let t = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
/// list.push(&[0x01, 0x02], t, Some(CrlReason::KeyCompromise), None)?;
/// list.push(&[0x7f; 20], t, None, Some(t))?;
/// let entries: Vec<_> = list.iter().collect();
/// assert_eq!((list.len(), entries[1].serial.len()), (2, 20));
/// # Ok::<(), gica_store::StoreError>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RevokedList {
    data: Vec<u8>,
    len: usize,
}

/// Flags octet: the reason code in the low bits, or this for none.
const NO_REASON: u8 = 0x7f;
/// Flags octet: an invalidityDate follows.
const HAS_INVALIDITY: u8 = 0x80;

impl RevokedList {
    /// Appends an entry; callers keep them in serial order. Times are kept in whole seconds.
    /// A serial longer than 255 octets (the store holds at most 64) is refused.
    pub fn push(
        &mut self,
        serial: &[u8],
        time: SystemTime,
        reason: Option<CrlReason>,
        invalidity_date: Option<SystemTime>,
    ) -> Result<(), StoreError> {
        self.push_secs(
            serial,
            unix_secs(time),
            reason,
            invalidity_date.map(unix_secs),
        )
    }

    /// [`push`](Self::push) with times in seconds since the epoch, as the store keeps them.
    fn push_secs(
        &mut self,
        serial: &[u8],
        time: i64,
        reason: Option<CrlReason>,
        invalidity_date: Option<i64>,
    ) -> Result<(), StoreError> {
        let len = u8::try_from(serial.len())
            .map_err(|_| StoreError::corrupt("serial length", serial.len()))?;
        let mut flags = reason.map_or(NO_REASON, CrlReason::code);
        if invalidity_date.is_some() {
            flags |= HAS_INVALIDITY;
        }
        self.data.push(len);
        self.data.extend_from_slice(serial);
        self.data.extend_from_slice(&time.to_le_bytes());
        self.data.push(flags);
        if let Some(at) = invalidity_date {
            self.data.extend_from_slice(&at.to_le_bytes());
        }
        self.len += 1;
        Ok(())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// No entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The entries, in the order pushed, ready for [`gica_pki::crl::build_crl`] (which sizes
    /// its output from the exact count).
    pub fn iter(&self) -> Entries<'_> {
        Entries {
            rest: &self.data,
            left: self.len,
        }
    }
}

/// Iterator over a [`RevokedList`].
#[derive(Clone, Debug)]
pub struct Entries<'a> {
    rest: &'a [u8],
    left: usize,
}

impl<'a> Entries<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.rest.split_at_checked(n)?;
        self.rest = rest;
        Some(head)
    }

    fn secs(&mut self) -> Option<SystemTime> {
        let bytes = self.take(8)?.try_into().ok()?;
        from_unix_secs(i64::from_le_bytes(bytes))
    }
}

impl<'a> Iterator for Entries<'a> {
    type Item = gica_pki::crl::RevokedEntry<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        // Only `push_secs` writes the buffer, and times came from SystemTime: a `None` here
        // only ends the list.
        let len = usize::from(*self.take(1)?.first()?);
        let serial = self.take(len)?;
        let time = self.secs()?;
        let flags = *self.take(1)?.first()?;
        let mut entry = gica_pki::crl::RevokedEntry::new(serial, time);
        if let Some(reason) = CrlReason::from_code(flags & !HAS_INVALIDITY) {
            entry = entry.reason(reason);
        }
        if flags & HAS_INVALIDITY != 0 {
            entry = entry.invalidity_date(self.secs()?);
        }
        self.left -= 1;
        Some(entry)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.left, Some(self.left))
    }
}

impl ExactSizeIterator for Entries<'_> {}

/// What one CRL is made of, read consistently by [`RevocationWriter::crl_snapshot`].
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

/// What [`StatusSource::published_crl_meta`] tells of a published CRL, without its bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PublishedCrlMeta {
    /// cRLNumber.
    pub number: u64,
    /// thisUpdate.
    pub this_update: SystemTime,
    /// nextUpdate.
    pub next_update: SystemTime,
}

/// A revocation change seen by [`StatusSource::changes_since`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    /// Monotonic sequence number of the change.
    pub seq: i64,
    /// Issuer.
    pub issuer: IssuerId,
    /// Serial (magnitude).
    pub serial: Vec<u8>,
}

/// Reading the revocation store: what an OCSP responder needs.
///
/// Times are whole seconds; serials are looked up by magnitude (leading zero octets are
/// dropped). The methods return `Send` futures, so code generic over the store can
/// `tokio::spawn` them; an implementation may still write them as `async fn`.
pub trait StatusSource: Send + Sync {
    /// The record of one certificate, if any.
    fn status(
        &self,
        issuer: &str,
        serial: &[u8],
    ) -> impl Future<Output = Result<Option<CertRecord>, StoreError>> + Send;
    /// Every revoked record of an issuer, ordered by serial.
    fn revoked(
        &self,
        issuer: &str,
    ) -> impl Future<Output = Result<Vec<CertRecord>, StoreError>> + Send;
    /// Revocations recorded after `seq`, oldest first, at most `limit`.
    fn changes_since(
        &self,
        seq: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Change>, StoreError>> + Send;
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
}

/// Writing the revocation store: revocations, issued certificates, CRL numbers and
/// published CRLs. Writes are durable when the call returns.
///
/// Times are kept in whole seconds (RFC 5280 times have no fraction): a fraction is dropped.
/// Serials are normalised to their magnitude (leading zero octets dropped) on the way in.
pub trait RevocationWriter: Send + Sync {
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
    /// Imports records in one transaction: all or nothing.
    fn import(
        &self,
        records: &[CertRecord],
    ) -> impl Future<Output = Result<ImportSummary, StoreError>> + Send;
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
    /// Publishes `crl` as the issuer's current CRL unless one with a number at least as high
    /// is published already; returns whether it was.
    fn publish_crl(
        &self,
        issuer: &str,
        crl: &PublishedCrl,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
    /// Deletes change-log entries recorded before `before`; returns how many. Sequence
    /// numbers are never reused afterwards, so a follower's position stays valid.
    fn prune_changes(
        &self,
        before: SystemTime,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Both halves of the revocation store.
pub trait RevocationStore: StatusSource + RevocationWriter {}

impl<T: StatusSource + RevocationWriter> RevocationStore for T {}

/// A store chosen at run time by its URL.
#[derive(Clone, Debug)]
pub enum AnyStore {
    /// `sqlite:PATH`.
    Sqlite(SqliteStore),
    /// `postgres://...` or `postgresql://...`.
    Postgres(PgStore),
}

impl AnyStore {
    /// Connects by URL (see [`Db::connect`]) and applies the store's [`MIGRATIONS`].
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Self::open(Db::connect(url).await?).await
    }

    /// The revocation store in `db`, after applying its [`MIGRATIONS`].
    pub async fn open(db: Db) -> Result<Self, StoreError> {
        db.migrate(&MIGRATIONS).await?;
        Ok(match db {
            Db::Sqlite(pool) => Self::Sqlite(SqliteStore::from_pool(pool)),
            Db::Postgres(pool) => Self::Postgres(PgStore::from_pool(pool)),
        })
    }

    /// Applies the store's [`MIGRATIONS`] (idempotent; `connect` and `open` did already).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        self.db().migrate(&MIGRATIONS).await.map(drop)
    }

    /// The database, to share with other components.
    pub fn db(&self) -> Db {
        match self {
            Self::Sqlite(s) => Db::Sqlite(s.pool().clone()),
            Self::Postgres(s) => Db::Postgres(s.pool().clone()),
        }
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

impl StatusSource for AnyStore {
    async fn status(&self, issuer: &str, serial: &[u8]) -> Result<Option<CertRecord>, StoreError> {
        on_backend!(self, s => s.status(issuer, serial))
    }

    async fn revoked(&self, issuer: &str) -> Result<Vec<CertRecord>, StoreError> {
        on_backend!(self, s => s.revoked(issuer))
    }

    async fn changes_since(&self, seq: i64, limit: i64) -> Result<Vec<Change>, StoreError> {
        on_backend!(self, s => s.changes_since(seq, limit))
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
}

impl RevocationWriter for AnyStore {
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

    async fn import(&self, records: &[CertRecord]) -> Result<ImportSummary, StoreError> {
        on_backend!(self, s => s.import(records))
    }

    async fn next_crl_number(&self, issuer: &str) -> Result<u64, StoreError> {
        on_backend!(self, s => s.next_crl_number(issuer))
    }

    async fn crl_snapshot(&self, issuer: &str) -> Result<CrlSnapshot, StoreError> {
        on_backend!(self, s => s.crl_snapshot(issuer))
    }

    async fn publish_crl(&self, issuer: &str, crl: &PublishedCrl) -> Result<bool, StoreError> {
        on_backend!(self, s => s.publish_crl(issuer, crl))
    }

    async fn prune_changes(&self, before: SystemTime) -> Result<u64, StoreError> {
        on_backend!(self, s => s.prune_changes(before))
    }
}

/// The serial's magnitude: leading zero octets dropped.
pub fn magnitude(serial: &[u8]) -> &[u8] {
    let start = serial.iter().position(|b| *b != 0).unwrap_or(serial.len());
    &serial[start..]
}

/// Whole seconds since the epoch, rounded down; saturates far outside any certificate's life.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use gica_store::revocation::{from_unix_secs, unix_secs};
/// let t = UNIX_EPOCH - Duration::from_millis(1500);
/// assert_eq!(unix_secs(t), -2);
/// assert_eq!(from_unix_secs(-2), Some(UNIX_EPOCH - Duration::from_secs(2)));
/// ```
pub fn unix_secs(t: SystemTime) -> i64 {
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
pub fn from_unix_secs(secs: i64) -> Option<SystemTime> {
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
        Some(r) => Err(StoreError::RemoveFromCrl {
            serial: r.serial.clone(),
        }),
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
        number: u64::try_from(number).map_err(|_| StoreError::corrupt("CRL number", number))?,
        this_update: stored_time(row.try_get(1)?)?,
        next_update: stored_time(row.try_get(2)?)?,
    })
}

/// The CRL number a `NEXT_CRL_NUMBER` statement returned, checked.
pub(crate) fn crl_number<R>(row: Option<&R>) -> Result<u64, StoreError>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
    i64: for<'r> sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
{
    let row = row.ok_or_else(|| StoreError::corrupt("CRL number", "missing"))?;
    let number: i64 = row.try_get(0)?;
    u64::try_from(number).map_err(|_| StoreError::corrupt("CRL number", number))
}

/// A stored time, checked.
pub(crate) fn stored_time(secs: i64) -> Result<SystemTime, StoreError> {
    from_unix_secs(secs).ok_or_else(|| StoreError::corrupt("time", secs))
}

/// A stored reason code, checked.
pub(crate) fn stored_reason(code: Option<i16>) -> Result<Option<CrlReason>, StoreError> {
    code.map(|code| {
        u8::try_from(code)
            .ok()
            .and_then(CrlReason::from_code)
            .ok_or_else(|| StoreError::corrupt("reason code", code))
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
            (status, _) => return Err(StoreError::corrupt("status", format!("{status:?}"))),
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

    /// What a CRL entry needs, in the same order, read through `certs_crl` (migration 2).
    macro_rules! select_crl_entries {
        ($from:literal) => {
            concat!(
                "SELECT serial, revocation_time, reason, invalidity_date FROM ",
                $from,
                " WHERE issuer = $1 AND status = 'R' ORDER BY length(serial), serial"
            )
        };
    }
    /// SQLite's planner may take the primary key and sort a million rows when its statistics
    /// are missing or stale; naming the index makes that impossible (and an unusable index
    /// an error, not a slow CRL).
    pub(super) const SELECT_CRL_ENTRIES_SQLITE: &str =
        select_crl_entries!("certs INDEXED BY certs_crl");
    pub(super) const SELECT_CRL_ENTRIES_POSTGRES: &str = select_crl_entries!("certs");

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

/// Implements [`StatusSource`] and [`RevocationWriter`] for a sqlx backend `$store` over
/// database `$db`, with the statements in [`sql`]. `$store` has a field `pool` and three
/// constants: `BEGIN_WRITE` (starts a write transaction), `LOCK_CHANGES` (run next, to
/// serialise the writers of `changes` so that `seq` order is commit order) and
/// `SELECT_CRL_ENTRIES`.
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
                records: &[$crate::revocation::CertRecord],
            ) -> Result<u64, sqlx::Error> {
                use $crate::revocation::{magnitude, sql};
                let now = $crate::revocation::unix_secs(std::time::SystemTime::now());
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
                batch: &[&$crate::revocation::CertRecord],
                now: i64,
            ) -> Result<u64, sqlx::Error> {
                use sqlx::Row as _;
                use $crate::revocation::{CertRecord, RecordStatus, magnitude, sql, unix_secs};
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

            /// The issuer's revoked entries in serial order, streamed row by row into one
            /// packed list: no row set, no allocation per entry.
            async fn crl_entries(
                tx: &mut sqlx::Transaction<'static, $db>,
                issuer: &str,
            ) -> Result<$crate::revocation::RevokedList, $crate::StoreError> {
                use futures_util::TryStreamExt as _;
                use sqlx::Row as _;
                use $crate::StoreError;
                use $crate::revocation::{stored_reason, stored_time};
                let mut revoked = $crate::revocation::RevokedList::default();
                let mut rows = sqlx::query(Self::SELECT_CRL_ENTRIES)
                    .bind(issuer)
                    .fetch(&mut **tx);
                while let Some(row) = rows.try_next().await? {
                    let serial: &[u8] = row.try_get(0)?;
                    let time: Option<i64> = row.try_get(1)?;
                    let time =
                        time.ok_or_else(|| StoreError::corrupt("revocation time", "NULL"))?;
                    let reason = stored_reason(row.try_get(2)?)?;
                    if reason == Some(gica_pki::CrlReason::RemoveFromCrl) {
                        // A released hold stored by an earlier version: not revoked (RFC 5280
                        // 5.3.1), and build_crl would refuse the entry.
                        continue;
                    }
                    let invalidity: Option<i64> = row.try_get(3)?;
                    stored_time(time)?;
                    invalidity.map(stored_time).transpose()?;
                    revoked.push_secs(serial, time, reason, invalidity)?;
                }
                Ok(revoked)
            }

            fn decode(
                row: &<$db as sqlx::Database>::Row,
            ) -> Result<$crate::revocation::CertRecord, $crate::revocation::StoreError> {
                use sqlx::Row as _;
                $crate::revocation::CertRow {
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

        impl $crate::revocation::StatusSource for $store {
            async fn status(
                &self,
                issuer: &str,
                serial: &[u8],
            ) -> Result<Option<$crate::revocation::CertRecord>, $crate::StoreError> {
                use $crate::revocation::{magnitude, sql};
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
            ) -> Result<Vec<$crate::revocation::CertRecord>, $crate::StoreError> {
                sqlx::query($crate::revocation::sql::SELECT_REVOKED)
                    .bind(issuer)
                    .fetch_all(&self.pool)
                    .await?
                    .iter()
                    .map(Self::decode)
                    .collect()
            }

            async fn changes_since(
                &self,
                seq: i64,
                limit: i64,
            ) -> Result<Vec<$crate::revocation::Change>, $crate::StoreError> {
                use sqlx::Row as _;
                if limit <= 0 {
                    return Ok(Vec::new());
                }
                let rows = sqlx::query($crate::revocation::sql::CHANGES_SINCE)
                    .bind(seq)
                    .bind(limit)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| {
                        Ok($crate::revocation::Change {
                            seq: row.try_get("seq")?,
                            issuer: row.try_get("issuer")?,
                            serial: row.try_get("serial")?,
                        })
                    })
                    .collect()
            }

            async fn published_crl_meta(
                &self,
                issuer: &str,
            ) -> Result<Option<$crate::revocation::PublishedCrlMeta>, $crate::StoreError> {
                let row = sqlx::query($crate::revocation::sql::PUBLISHED_CRL_META)
                    .bind(issuer)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|row| $crate::revocation::published_meta(&row))
                    .transpose()
            }

            async fn published_crl(
                &self,
                issuer: &str,
            ) -> Result<Option<$crate::revocation::PublishedCrl>, $crate::StoreError> {
                use sqlx::Row as _;
                let row = sqlx::query($crate::revocation::sql::PUBLISHED_CRL)
                    .bind(issuer)
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|row| {
                    let meta = $crate::revocation::published_meta(&row)?;
                    Ok($crate::revocation::PublishedCrl {
                        number: meta.number,
                        this_update: meta.this_update,
                        next_update: meta.next_update,
                        der: row.try_get(3)?,
                    })
                })
                .transpose()
            }
        }

        impl $crate::revocation::RevocationWriter for $store {
            async fn record_issued(
                &self,
                issuer: &str,
                serial: &[u8],
                not_after: Option<std::time::SystemTime>,
            ) -> Result<(), $crate::StoreError> {
                use $crate::revocation::{magnitude, sql, unix_secs};
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
            ) -> Result<$crate::revocation::RevokeOutcome, $crate::StoreError> {
                use $crate::revocation::{CertRecord, RecordStatus, RevokeOutcome};
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

            async fn import(
                &self,
                records: &[$crate::revocation::CertRecord],
            ) -> Result<$crate::revocation::ImportSummary, $crate::StoreError> {
                $crate::revocation::refuse_remove_from_crl(records)?;
                let mut tx = self.begin_write().await?;
                let imported = Self::write_records(&mut tx, records).await?;
                tx.commit().await?;
                Ok($crate::revocation::ImportSummary {
                    imported,
                    skipped: records.len() as u64 - imported,
                    malformed: Vec::new(),
                })
            }

            async fn next_crl_number(&self, issuer: &str) -> Result<u64, $crate::StoreError> {
                // fetch_all runs the statement to completion, which ends SQLite's implicit
                // transaction before the connection goes back to the pool.
                let rows = sqlx::query($crate::revocation::sql::NEXT_CRL_NUMBER)
                    .bind(issuer)
                    .fetch_all(&self.pool)
                    .await?;
                $crate::revocation::crl_number(rows.first())
            }

            async fn crl_snapshot(
                &self,
                issuer: &str,
            ) -> Result<$crate::revocation::CrlSnapshot, $crate::StoreError> {
                // The write transaction serialises with every revocation (they write
                // `changes` under the same lock), so number and contents agree.
                let mut tx = self.begin_write().await?;
                let rows = sqlx::query($crate::revocation::sql::NEXT_CRL_NUMBER)
                    .bind(issuer)
                    .fetch_all(&mut *tx)
                    .await?;
                let number = $crate::revocation::crl_number(rows.first())?;
                let revoked = Self::crl_entries(&mut tx, issuer).await?;
                let at = std::time::SystemTime::now();
                tx.commit().await?;
                Ok($crate::revocation::CrlSnapshot {
                    number,
                    revoked,
                    at,
                })
            }

            async fn publish_crl(
                &self,
                issuer: &str,
                crl: &$crate::revocation::PublishedCrl,
            ) -> Result<bool, $crate::StoreError> {
                let number = i64::try_from(crl.number)
                    .map_err(|_| $crate::StoreError::CrlNumberRange { number: crl.number })?;
                let done = sqlx::query($crate::revocation::sql::PUBLISH_CRL)
                    .bind(issuer)
                    .bind(number)
                    .bind($crate::revocation::unix_secs(crl.this_update))
                    .bind($crate::revocation::unix_secs(crl.next_update))
                    .bind(crl.der.as_slice())
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn prune_changes(
                &self,
                before: std::time::SystemTime,
            ) -> Result<u64, $crate::StoreError> {
                use $crate::revocation::sql::{PRUNE_BATCH, PRUNE_CHANGES};
                let mut deleted = 0;
                loop {
                    let done = sqlx::query(PRUNE_CHANGES)
                        .bind($crate::revocation::unix_secs(before))
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
        }
    };
}
use sql_store;

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn packed_list_round_trips() {
        let t = |s| UNIX_EPOCH + Duration::from_secs(s);
        let mut list = RevokedList::default();
        list.push(&[1], t(5), None, None).unwrap();
        list.push(&[2, 3], t(6), Some(CrlReason::AaCompromise), Some(t(4)))
            .unwrap();
        list.push(
            &[0x7f; 20],
            UNIX_EPOCH - Duration::from_secs(9),
            Some(CrlReason::Unspecified),
            None,
        )
        .unwrap();
        assert!(list.push(&[1; 256], t(1), None, None).is_err());
        let got = crate::testing::revoked_rows(&list);
        assert_eq!(
            got,
            vec![
                (vec![1], t(5), None, None),
                (vec![2, 3], t(6), Some(CrlReason::AaCompromise), Some(t(4))),
                (
                    vec![0x7f; 20],
                    UNIX_EPOCH - Duration::from_secs(9),
                    Some(CrlReason::Unspecified),
                    None
                ),
            ]
        );
        assert_eq!(list.iter().len(), 3);
    }

    /// The CRL read is one ordered scan of the covering index: no sort, no table lookup.
    #[tokio::test]
    async fn crl_entries_come_from_the_index_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("plan.db").display());
        let AnyStore::Sqlite(store) = AnyStore::connect(&url).await.unwrap() else {
            panic!("an SQLite URL");
        };
        let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(&format!(
            "EXPLAIN QUERY PLAN {}",
            sql::SELECT_CRL_ENTRIES_SQLITE
        ))
        .bind("issuer")
        .fetch_all(store.pool())
        .await
        .unwrap();
        let plan: Vec<&str> = plan.iter().map(|row| row.3.as_str()).collect();
        assert_eq!(plan.len(), 1, "{plan:?}");
        assert!(plan[0].contains("COVERING INDEX certs_crl"), "{plan:?}");
    }
}
