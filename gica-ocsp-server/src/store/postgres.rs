//! PostgreSQL backend: several responders and admin tools sharing one database.

use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions as _, Connection as _};

use super::StoreError;

/// How long a caller waits for a pooled connection.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(10);

/// A [`RevocationStore`](super::RevocationStore) in a PostgreSQL database. Cloning shares the
/// pool.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    const BEGIN_WRITE: &str = "BEGIN";
    /// Writers of `changes` take turns (readers do not wait): otherwise a transaction could
    /// commit seq 5 while seq 4 is still open, and a reader polling `changes_since(4)` would
    /// never see 4. Taken before any row lock, so writers cannot deadlock on it.
    const LOCK_CHANGES: &[&str] = &["LOCK TABLE changes IN EXCLUSIVE MODE"];
    const SCHEMA: &[&str] = &[
        // Two responders starting together must not race on CREATE TABLE IF NOT EXISTS.
        "SELECT pg_advisory_xact_lock(hashtext('gica-ocsp-server schema'))",
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
        // The newest CRL of each issuer, so every responder sharing the store serves the
        // same one (CRL numbers never go back between instances).
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
    ];

    /// Connects to `postgres://...` (`?options=-csearch_path%3Dname` picks a schema). Does not
    /// create the schema: call [`migrate`](super::RevocationStore::migrate).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        let options: PgConnectOptions = url.parse()?;
        Self::connect_with(options).await
    }

    /// Connects with every pooled connection's `search_path` set to `schema`, creating the
    /// schema if missing. `schema` is an unquoted lowercase SQL name: `[a-z_][a-z0-9_]*`, at
    /// most 63 bytes.
    pub async fn connect_with_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        let plain_name = schema.len() <= 63
            && schema.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
            && schema
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !plain_name {
            let why = format!("schema name {schema:?}: want [a-z_][a-z0-9_]*, at most 63 bytes");
            return Err(sqlx::Error::Configuration(why.into()).into());
        }
        let options: PgConnectOptions = url.parse()?;
        let mut conn = options.connect().await?;
        sqlx::query(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
            .execute(&mut conn)
            .await?;
        conn.close().await?;
        // A startup option rather than a SET after connecting: it holds from the first
        // statement, and survives a connection being reset.
        Self::connect_with(options.options([("search_path", schema)])).await
    }

    async fn connect_with(options: PgConnectOptions) -> Result<Self, StoreError> {
        let pool = PgPoolOptions::new()
            .max_connections(10)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await?;
        Ok(Self { pool })
    }

    /// The connection pool, for health checks and tools.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

super::sql_store!(PgStore, sqlx::Postgres);
