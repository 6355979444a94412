//! SQLite backend: one file, write-ahead log, every commit synced to disk before it returns.

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};

use super::StoreError;

/// How long a writer waits for another (this process or another) to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`RevocationStore`](super::RevocationStore) in an SQLite file. Cloning shares the pool.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Takes SQLite's write lock at once, so a transaction that reads before it writes cannot
    /// fail to upgrade its lock; other writers wait up to [`BUSY_TIMEOUT`].
    const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
    /// SQLite has one writer at a time already.
    const LOCK_CHANGES: &[&str] = &[];
    const SCHEMA: &[&str] = &[
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
        // AUTOINCREMENT: a seq is never reused, even after the newest row is deleted.
        // The newest CRL of each issuer, so every responder sharing the store serves the
        // same one (CRL numbers never go back between instances).
        "CREATE TABLE IF NOT EXISTS crls (
            issuer TEXT PRIMARY KEY,
            number BIGINT NOT NULL,
            this_update BIGINT NOT NULL,
            next_update BIGINT NOT NULL,
            der BLOB NOT NULL
        )",
        "CREATE TABLE IF NOT EXISTS changes (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            issuer TEXT NOT NULL,
            serial BLOB NOT NULL,
            recorded_at BIGINT NOT NULL
        )",
    ];

    /// Opens `sqlite:PATH`, creating the file if missing. Does not create the schema: call
    /// [`migrate`](super::RevocationStore::migrate) (or use [`AnyStore::connect`](super::AnyStore::connect)).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(8)
            .acquire_timeout(BUSY_TIMEOUT)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    /// The connection pool, for health checks and tools.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

super::sql_store!(SqliteStore, sqlx::Sqlite);
