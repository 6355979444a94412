//! The registry's tables, through gica-store: SQLite by default, PostgreSQL for several
//! instances sharing one database. One transaction per state change; what must be unique is
//! a constraint (an IMEI has one owner, a file is imported once, a tracking code names one
//! request), never a check followed by an insert.

use gica_store::{Component, Db, Migration, StoreError};
use sqlx::Row as _;

/// The registry's first schema, written once for both backends: `$blob` is the binary type
/// (`BLOB` or `BYTEA`) and `$norowid` SQLite's `WITHOUT ROWID` (clustered on the primary key)
/// or nothing.
macro_rules! schema_v1 {
    ($blob:literal, $norowid:literal) => {
        &[
            concat!("CREATE TABLE reg_files (
                sha256 ", $blob, " PRIMARY KEY CHECK (length(sha256) = 32),
                operator TEXT NOT NULL,
                name TEXT NOT NULL,
                rows_read BIGINT NOT NULL,
                rows_accepted BIGINT NOT NULL,
                rows_bad BIGINT NOT NULL,
                pairs BIGINT NOT NULL,
                imported_at BIGINT NOT NULL,
                tsa_token ", $blob, "
            )"),
            // Days since 1970-01-01 (UTC) for the dates operators report.
            concat!("CREATE TABLE reg_sightings (
                imei TEXT NOT NULL,
                imsi TEXT NOT NULL,
                msisdn TEXT NOT NULL,
                first_seen INTEGER NOT NULL,
                last_seen INTEGER NOT NULL,
                operator TEXT NOT NULL,
                rat TEXT NOT NULL,
                PRIMARY KEY (imei, imsi, msisdn)
            )", $norowid),
            concat!("CREATE TABLE reg_snapshots (
                version BIGINT PRIMARY KEY CHECK (version > 0),
                cutoff BIGINT NOT NULL,
                tree_size BIGINT NOT NULL,
                root ", $blob, " NOT NULL,
                chunk_roots ", $blob, " NOT NULL,
                signed ", $blob, " NOT NULL,
                created_at BIGINT NOT NULL
            )"),
            concat!("CREATE TABLE reg_leaves (
                version BIGINT NOT NULL,
                idx BIGINT NOT NULL,
                imei TEXT NOT NULL,
                imsi TEXT NOT NULL,
                PRIMARY KEY (version, idx)
            )", $norowid),
            "CREATE UNIQUE INDEX reg_leaves_pair ON reg_leaves (version, imei, imsi)",
            concat!("CREATE TABLE reg_blocklist (imei TEXT PRIMARY KEY, added_at BIGINT NOT NULL)", $norowid),
            concat!("CREATE TABLE reg_requests (
                tracking_code TEXT PRIMARY KEY,
                request_key ", $blob, " NOT NULL UNIQUE,
                owner TEXT NOT NULL,
                decision TEXT NOT NULL CHECK (decision IN ('approved', 'refused')),
                content ", $blob, " NOT NULL,
                receipt ", $blob, ",
                snapshot_version BIGINT NOT NULL,
                created_at BIGINT NOT NULL
            )"),
            "CREATE INDEX reg_requests_owner ON reg_requests (owner)",
            "CREATE TABLE reg_devices (
                imei TEXT PRIMARY KEY,
                owner TEXT NOT NULL,
                imsi TEXT NOT NULL,
                msisdn TEXT,
                tracking_code TEXT NOT NULL,
                seq BIGINT NOT NULL UNIQUE,
                registered_at BIGINT NOT NULL
            )",
            "CREATE INDEX reg_devices_owner ON reg_devices (owner)",
            "CREATE TABLE reg_owners (owner TEXT PRIMARY KEY, devices BIGINT NOT NULL CHECK (devices >= 0))",
            "CREATE TABLE reg_counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
            "INSERT INTO reg_counters (name, value) VALUES ('device_seq', 0)",
            concat!("CREATE TABLE reg_api_keys (
                id TEXT PRIMARY KEY,
                hash ", $blob, " NOT NULL UNIQUE,
                scope TEXT NOT NULL CHECK (scope IN ('portal', 'ussd', 'export', 'admin')),
                name TEXT NOT NULL,
                created_at BIGINT NOT NULL,
                revoked_at BIGINT
            )"),
        ]
    };
}

/// The registry's migrations (component `registry`).
pub const MIGRATIONS: Component = Component {
    name: "registry",
    migrations: &[Migration {
        version: 1,
        name: "files, sightings, snapshots, leaves, blocklist, requests, devices, owners, counters, api keys",
        sqlite: schema_v1!("BLOB", " WITHOUT ROWID"),
        postgres: schema_v1!("BYTEA", ""),
    }],
};

pub(crate) use gica_store::on_pool;

/// True when `e` is a unique-constraint violation (the loser of a race).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

/// True when `e` means "try the transaction again": a serialization failure or deadlock on
/// PostgreSQL, a busy database on SQLite.
pub fn is_retryable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => {
            matches!(
                d.code().as_deref(),
                Some("40001") | Some("40P01") | Some("5") | Some("517") | Some("6")
            )
        }
        _ => false,
    }
}

/// The registry's database.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

/// What an import of one file recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FileRecord {
    /// SHA-256 of the file as delivered (compressed if it was).
    pub sha256: [u8; 32],
    /// The operator that delivered it.
    pub operator: String,
    /// Its file name.
    pub name: String,
    /// Data rows read (the header not counted).
    pub rows_read: u64,
    /// Rows accepted.
    pub rows_accepted: u64,
    /// Rows refused.
    pub rows_bad: u64,
    /// Distinct (IMEI, IMSI, MSISDN) entries the file contributed.
    pub pairs: u64,
    /// When it was imported (Unix seconds).
    pub imported_at: i64,
    /// RFC 3161 token over the file's SHA-256, when a TSA was configured.
    pub tsa_token: Option<Vec<u8>>,
}

/// One folded sighting entry to upsert: the earliest and latest dates of (IMEI, IMSI,
/// MSISDN) in a batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeenPair {
    /// 14-digit IMEI body.
    pub imei: String,
    /// 15-digit IMSI.
    pub imsi: String,
    /// Normalised MSISDN (`98...`).
    pub msisdn: String,
    /// First day seen (days since 1970-01-01).
    pub first: i32,
    /// Last day seen.
    pub last: i32,
    /// Radio access technology of the latest sighting, as given.
    pub rat: String,
}

/// SQLite page cache of the import's connection: 192 MiB.
const IMPORT_CACHE_PRAGMA: &str = "PRAGMA cache_size = -196608";

/// Rows per multi-row statement: 7 binds each stays far below both backends' limits.
pub(crate) const BATCH: usize = 1000;

const UPSERT_HEAD: &str =
    "INSERT INTO reg_sightings (imei, imsi, msisdn, first_seen, last_seen, operator, rat) ";
const UPSERT_TAIL_SQLITE: &str = " ON CONFLICT (imei, imsi, msisdn) DO UPDATE SET \
     first_seen = min(reg_sightings.first_seen, excluded.first_seen), \
     operator = CASE WHEN excluded.first_seen < reg_sightings.first_seen \
                THEN excluded.operator ELSE reg_sightings.operator END, \
     rat = CASE WHEN excluded.last_seen >= reg_sightings.last_seen \
           THEN excluded.rat ELSE reg_sightings.rat END, \
     last_seen = max(reg_sightings.last_seen, excluded.last_seen)";
const UPSERT_TAIL_PG: &str = " ON CONFLICT (imei, imsi, msisdn) DO UPDATE SET \
     first_seen = LEAST(reg_sightings.first_seen, excluded.first_seen), \
     operator = CASE WHEN excluded.first_seen < reg_sightings.first_seen \
                THEN excluded.operator ELSE reg_sightings.operator END, \
     rat = CASE WHEN excluded.last_seen >= reg_sightings.last_seen \
           THEN excluded.rat ELSE reg_sightings.rat END, \
     last_seen = GREATEST(reg_sightings.last_seen, excluded.last_seen)";

/// An open import: one transaction for the whole file, so a refused file leaves nothing.
pub enum ImportTx {
    /// On SQLite.
    Sqlite(sqlx::Transaction<'static, sqlx::Sqlite>),
    /// On PostgreSQL.
    Postgres(sqlx::Transaction<'static, sqlx::Postgres>),
}

impl std::fmt::Debug for ImportTx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ImportTx")
    }
}

macro_rules! upsert {
    ($tx:expr, $db:ty, $tail:expr, $operator:expr, $pairs:expr) => {{
        let mut written = 0u64;
        for chunk in $pairs.chunks(BATCH) {
            let mut q = sqlx::QueryBuilder::<$db>::new(UPSERT_HEAD);
            q.push_values(chunk, |mut row, p| {
                row.push_bind(p.imei.as_str())
                    .push_bind(p.imsi.as_str())
                    .push_bind(p.msisdn.as_str())
                    .push_bind(p.first)
                    .push_bind(p.last)
                    .push_bind($operator)
                    .push_bind(p.rat.as_str());
            });
            q.push($tail);
            written += q.build().execute(&mut **$tx).await?.rows_affected();
        }
        Ok::<u64, sqlx::Error>(written)
    }};
}

impl ImportTx {
    /// Folds `pairs` (distinct keys within the slice) into the sightings.
    pub async fn upsert(&mut self, operator: &str, pairs: &[SeenPair]) -> Result<u64, StoreError> {
        Ok(match self {
            Self::Sqlite(tx) => upsert!(tx, sqlx::Sqlite, UPSERT_TAIL_SQLITE, operator, pairs)?,
            Self::Postgres(tx) => upsert!(tx, sqlx::Postgres, UPSERT_TAIL_PG, operator, pairs)?,
        })
    }

    /// Records the file and commits. A file already recorded (a concurrent import of the
    /// same bytes) is [`StoreError`] with a unique violation; nothing is then kept.
    pub async fn commit(self, file: &FileRecord) -> Result<(), sqlx::Error> {
        const INSERT: &str = "INSERT INTO reg_files (sha256, operator, name, rows_read, \
             rows_accepted, rows_bad, pairs, imported_at, tsa_token) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";
        macro_rules! finish {
            ($tx:expr) => {{
                let mut tx = $tx;
                sqlx::query(INSERT)
                    .bind(&file.sha256[..])
                    .bind(&file.operator)
                    .bind(&file.name)
                    .bind(i64::try_from(file.rows_read).unwrap_or(i64::MAX))
                    .bind(i64::try_from(file.rows_accepted).unwrap_or(i64::MAX))
                    .bind(i64::try_from(file.rows_bad).unwrap_or(i64::MAX))
                    .bind(i64::try_from(file.pairs).unwrap_or(i64::MAX))
                    .bind(file.imported_at)
                    .bind(file.tsa_token.as_deref())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await
            }};
        }
        match self {
            Self::Sqlite(tx) => finish!(tx),
            Self::Postgres(tx) => finish!(tx),
        }
    }

    /// Drops everything the import wrote.
    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(tx) => tx.rollback().await,
            Self::Postgres(tx) => tx.rollback().await,
        }
    }
}

fn file_from_row<R: sqlx::Row>(row: &R) -> Result<FileRecord, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<Vec<u8>>: sqlx::Decode<'a, R::Database>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let sha: Vec<u8> = row.try_get("sha256")?;
    let count = |name: &'static str| -> Result<u64, StoreError> {
        let v: i64 = row.try_get(name)?;
        u64::try_from(v).map_err(|_| StoreError::corrupt(name, v))
    };
    Ok(FileRecord {
        sha256: sha
            .as_slice()
            .try_into()
            .map_err(|_| StoreError::corrupt("reg_files.sha256 length", sha.len()))?,
        operator: row.try_get("operator")?,
        name: row.try_get("name")?,
        rows_read: count("rows_read")?,
        rows_accepted: count("rows_accepted")?,
        rows_bad: count("rows_bad")?,
        pairs: count("pairs")?,
        imported_at: row.try_get("imported_at")?,
        tsa_token: row.try_get("tsa_token")?,
    })
}

impl Store {
    /// Connects by URL (`sqlite:PATH` or `postgres://...`) and applies the registry's
    /// migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::from_db(Db::connect(url).await?).await
    }

    /// The store on an open database, migrated.
    pub async fn from_db(db: Db) -> Result<Self, StoreError> {
        db.migrate(&MIGRATIONS).await?;
        Ok(Self { db })
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// The file with this SHA-256, if it was imported.
    pub async fn file(&self, sha256: &[u8; 32]) -> Result<Option<FileRecord>, StoreError> {
        const SELECT: &str = "SELECT * FROM reg_files WHERE sha256 = $1";
        on_pool!(&self.db, |pool, begin| {
            match sqlx::query(SELECT)
                .bind(&sha256[..])
                .fetch_optional(pool)
                .await?
            {
                Some(row) => file_from_row(&row).map(Some),
                None => Ok(None),
            }
        })
    }

    /// Opens the transaction an import writes in.
    pub async fn begin_import(&self) -> Result<ImportTx, StoreError> {
        match &self.db {
            Db::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
                // Upserts spread over the whole sightings tree: SQLite's default 2 MB page
                // cache would re-read most pages from disk. Held by this (pooled) connection.
                sqlx::query(IMPORT_CACHE_PRAGMA).execute(&mut *tx).await?;
                Ok(ImportTx::Sqlite(tx))
            }
            Db::Postgres(pool) => Ok(ImportTx::Postgres(pool.begin().await?)),
        }
    }

    /// Adds IMEIs to the blocklist; returns how many were new.
    pub async fn add_to_blocklist(&self, imeis: &[String], now: i64) -> Result<u64, StoreError> {
        on_pool!(&self.db, |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let mut added = 0;
            for chunk in imeis.chunks(BATCH) {
                let mut q = sqlx::QueryBuilder::new("INSERT INTO reg_blocklist (imei, added_at) ");
                q.push_values(chunk, |mut row, imei| {
                    row.push_bind(imei.as_str()).push_bind(now);
                });
                q.push(" ON CONFLICT (imei) DO NOTHING");
                added += q.build().execute(&mut *tx).await?.rows_affected();
            }
            tx.commit().await?;
            Ok(added)
        })
    }

    /// Rows accepted and rows refused over every imported file.
    pub async fn import_totals(&self) -> Result<(i64, i64), StoreError> {
        const SUM: &str = "SELECT CAST(COALESCE(SUM(rows_accepted), 0) AS BIGINT) AS a, \
             CAST(COALESCE(SUM(rows_bad), 0) AS BIGINT) AS b FROM reg_files";
        on_pool!(&self.db, |pool, begin| {
            let row = sqlx::query(SUM).fetch_one(pool).await?;
            Ok((row.try_get("a")?, row.try_get("b")?))
        })
    }

    /// Number of entries in `table` (one of the registry's), for reports and tests.
    pub async fn count(&self, table: Table) -> Result<u64, StoreError> {
        let sql = format!("SELECT COUNT(*) AS n FROM {}", table.name());
        on_pool!(&self.db, |pool, begin| {
            let n: i64 = sqlx::query(&sql).fetch_one(pool).await?.try_get("n")?;
            u64::try_from(n).map_err(|_| StoreError::corrupt("count", n))
        })
    }
}

/// Tables [`Store::count`] can count.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Table {
    /// Imported files.
    Files,
    /// Folded sightings.
    Sightings,
    /// Blocklisted IMEIs.
    Blocklist,
    /// Decided requests.
    Requests,
    /// Registered devices.
    Devices,
    /// Snapshots.
    Snapshots,
}

impl Table {
    fn name(self) -> &'static str {
        match self {
            Self::Files => "reg_files",
            Self::Sightings => "reg_sightings",
            Self::Blocklist => "reg_blocklist",
            Self::Requests => "reg_requests",
            Self::Devices => "reg_devices",
            Self::Snapshots => "reg_snapshots",
        }
    }
}
