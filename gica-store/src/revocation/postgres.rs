//! PostgreSQL backend: several responders and admin tools sharing one database.

use sqlx::postgres::PgPool;

use crate::{Db, StoreError};

/// The revocation store in a PostgreSQL database. Cloning shares the pool.
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
    const SELECT_CRL_ENTRIES: &str = super::sql::SELECT_CRL_ENTRIES_POSTGRES;

    /// Connects to `postgres://...` (`?options=-csearch_path%3Dname` picks a schema). Does not
    /// create the schema: call [`migrate`](Self::migrate).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Ok(Self::from_pool(crate::db::postgres_pool(url).await?))
    }

    /// Connects with every pooled connection's `search_path` set to `schema` (see
    /// [`Db::connect_postgres_schema`]).
    pub async fn connect_with_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        Ok(Self::from_pool(
            crate::db::postgres_schema_pool(url, schema).await?,
        ))
    }

    /// The store on an open pool (migrated or not).
    pub fn from_pool(pool: PgPool) -> Self {
        Self { pool }
    }

    /// Applies the store's [`MIGRATIONS`](super::MIGRATIONS) (idempotent).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Db::Postgres(self.pool.clone())
            .migrate(&super::MIGRATIONS)
            .await
            .map(drop)
    }

    /// The connection pool, for health checks and tools.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }
}

super::sql_store!(PgStore, sqlx::Postgres);
