//! SQLite backend: one file, write-ahead log, every commit synced to disk before it returns.

use sqlx::sqlite::SqlitePool;

use crate::{Db, StoreError};

/// The revocation store in an SQLite file. Cloning shares the pool.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Takes SQLite's write lock at once, so a transaction that reads before it writes cannot
    /// fail to upgrade its lock; other writers wait up to the busy timeout.
    const BEGIN_WRITE: &str = "BEGIN IMMEDIATE";
    /// SQLite has one writer at a time already.
    const LOCK_CHANGES: &[&str] = &[];
    const SELECT_CRL_ENTRIES: &str = super::sql::SELECT_CRL_ENTRIES_SQLITE;

    /// Opens `sqlite:PATH`, creating the file if missing (see [`Db::connect`]). Does not
    /// create the schema: call [`migrate`](Self::migrate), or use
    /// [`AnyStore::connect`](super::AnyStore::connect).
    pub async fn connect(url: &str) -> Result<Self, StoreError> {
        Ok(Self::from_pool(crate::db::sqlite_pool(url).await?))
    }

    /// The store on an open pool (migrated or not).
    pub fn from_pool(pool: SqlitePool) -> Self {
        Self { pool }
    }

    /// Applies the store's [`MIGRATIONS`](super::MIGRATIONS) (idempotent).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        Db::Sqlite(self.pool.clone())
            .migrate(&super::MIGRATIONS)
            .await
            .map(drop)
    }

    /// The connection pool, for health checks and tools.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

super::sql_store!(SqliteStore, sqlx::Sqlite);
