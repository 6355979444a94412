//! Connecting by URL: `sqlite:PATH` or `postgres://...`.

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::{ConnectOptions as _, Connection as _};

use crate::StoreError;

/// How long a writer waits for another (this process or another) to finish, and a caller for
/// a pooled connection.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Rows SQLite's worker thread may run ahead of the reader.
const ROW_BUFFER: usize = 1024;

/// Which database a [`Db`] talks to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Backend {
    /// One SQLite file.
    Sqlite,
    /// A PostgreSQL database.
    Postgres,
}

/// A pool of connections to one database. Cloning shares the pool.
///
/// ```no_run
/// # async fn demo() -> Result<(), gica_store::StoreError> {
/// use gica_store::{Backend, Db};
/// let db = Db::connect("sqlite:/tmp/gica.db").await?;
/// assert_eq!(db.backend(), Backend::Sqlite);
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub enum Db {
    /// `sqlite:PATH`: write-ahead log, every commit synced to disk before it returns.
    Sqlite(SqlitePool),
    /// `postgres://...` or `postgresql://...`.
    Postgres(PgPool),
}

impl Db {
    /// Connects by URL: `sqlite:PATH` (created if missing) or `postgres://...` (where
    /// `?options=-csearch_path%3Dname` picks a schema). Creates no tables: components run
    /// their [migrations](crate::migrate) (the stores' `open` does).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        if url.starts_with("sqlite:") {
            Ok(Self::Sqlite(sqlite_pool(url).await?))
        } else {
            Ok(Self::Postgres(postgres_pool(url).await?))
        }
    }

    /// Connects to PostgreSQL with every pooled connection's `search_path` set to `schema`,
    /// creating the schema if missing. `schema` is an unquoted lowercase SQL name:
    /// `[a-z_][a-z0-9_]*`, at most 63 bytes.
    pub async fn connect_postgres_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        Ok(Self::Postgres(postgres_schema_pool(url, schema).await?))
    }

    /// Which backend this is.
    pub fn backend(&self) -> Backend {
        match self {
            Self::Sqlite(_) => Backend::Sqlite,
            Self::Postgres(_) => Backend::Postgres,
        }
    }

    /// Closes every pooled connection, waiting for those in use to come back.
    pub async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }
}

/// Fails unless `url` has one of `schemes`; the error keeps only the scheme (the rest of a
/// URL may hold a password).
fn check_scheme(url: &str, schemes: &[&str]) -> Result<(), StoreError> {
    if schemes.iter().any(|s| url.starts_with(s)) {
        return Ok(());
    }
    Err(StoreError::Url {
        scheme: url.split_once(':').map_or("", |(s, _)| s).to_owned(),
    })
}

/// A pool on `sqlite:PATH`, the file created if missing.
pub(crate) async fn sqlite_pool(url: &str) -> Result<SqlitePool, StoreError> {
    check_scheme(url, &["sqlite:"])?;
    let options = SqliteConnectOptions::from_str(url)?
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .busy_timeout(BUSY_TIMEOUT)
        // Rows cross from SQLite's worker thread in batches this large: a CRL's million rows
        // then cost a few thousand thread wake-ups instead of tens of thousands.
        .row_buffer_size(ROW_BUFFER);
    Ok(SqlitePoolOptions::new()
        .max_connections(8)
        .acquire_timeout(BUSY_TIMEOUT)
        .connect_with(options)
        .await?)
}

/// A pool on `postgres://...`.
pub(crate) async fn postgres_pool(url: &str) -> Result<PgPool, StoreError> {
    check_scheme(url, &["postgres://", "postgresql://"])?;
    pg_pool(url.parse()?).await
}

/// A pool on `postgres://...` whose connections use `schema`, created if missing.
pub(crate) async fn postgres_schema_pool(url: &str, schema: &str) -> Result<PgPool, StoreError> {
    let plain_name = schema.len() <= 63
        && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
        && schema
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
    if !plain_name {
        return Err(StoreError::SchemaName {
            name: schema.to_owned(),
        });
    }
    check_scheme(url, &["postgres://", "postgresql://"])?;
    let options: PgConnectOptions = url.parse()?;
    let mut conn = options.connect().await?;
    sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
        .execute(&mut conn)
        .await?;
    conn.close().await?;
    // A startup option rather than a SET after connecting: it holds from the first
    // statement, and survives a connection being reset.
    pg_pool(options.options([("search_path", schema)])).await
}

async fn pg_pool(options: PgConnectOptions) -> Result<PgPool, StoreError> {
    Ok(PgPoolOptions::new()
        .max_connections(10)
        .acquire_timeout(BUSY_TIMEOUT)
        .connect_with(options)
        .await?)
}
