//! Migrations per component: each component (the revocation store, the registry, the inbox)
//! names its own ordered list, and [`Db::migrate`] applies what a database lacks.
//!
//! Applied migrations are recorded in `gica_migrations` (component, version, name, time).
//! Each runs in its own transaction together with its record, so a failure leaves the
//! database as it was before that migration. Two processes migrating at once take turns:
//! PostgreSQL holds an advisory lock (one per schema) for the transaction, SQLite its write
//! lock (`BEGIN IMMEDIATE`). A version already applied under another name is refused
//! ([`StoreError::MigrationConflict`]); versions the database has beyond this program's are
//! left alone, so an older build still runs against a newer database.

use std::time::{SystemTime, UNIX_EPOCH};

use crate::{Db, StoreError};

/// One schema change of a component, in the SQL of each backend.
#[derive(Clone, Copy, Debug)]
pub struct Migration {
    /// Position in the component's list: strictly increasing, never reused.
    pub version: i64,
    /// What it does; recorded, and checked against the record on every later run.
    pub name: &'static str,
    /// Statements for SQLite, run in order.
    pub sqlite: &'static [&'static str],
    /// Statements for PostgreSQL, run in order.
    pub postgres: &'static [&'static str],
}

/// A component's migrations.
///
/// ```
/// use gica_store::{Component, Migration};
///
/// const NOTES: Component = Component {
///     name: "notes",
///     migrations: &[Migration {
///         version: 1,
///         name: "notes table",
///         sqlite: &["CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"],
///         postgres: &["CREATE TABLE notes (id BIGSERIAL PRIMARY KEY, body TEXT NOT NULL)"],
///     }],
/// };
/// # async fn demo(db: gica_store::Db) -> Result<(), gica_store::StoreError> {
/// db.migrate(&NOTES).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Component {
    /// Unique among the components sharing a database.
    pub name: &'static str,
    /// In increasing `version` order.
    pub migrations: &'static [Migration],
}

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS gica_migrations (
    component TEXT NOT NULL,
    version BIGINT NOT NULL,
    name TEXT NOT NULL,
    applied_at BIGINT NOT NULL,
    PRIMARY KEY (component, version)
)";
const SELECT_ONE: &str = "SELECT name FROM gica_migrations WHERE component = $1 AND version = $2";
const INSERT: &str =
    "INSERT INTO gica_migrations (component, version, name, applied_at) VALUES ($1, $2, $3, $4)";
const SELECT_ALL: &str =
    "SELECT version, name FROM gica_migrations WHERE component = $1 ORDER BY version";
/// One lock per schema: tests (and tenants) in other schemas do not wait for each other.
const PG_LOCK: &str = "SELECT pg_advisory_xact_lock(\
     hashtext('gica-store migrations ' || coalesce(current_schema(), '')))";

/// Applies, on `$pool`, the migrations of `$component` the database lacks; returns how many.
macro_rules! apply {
    ($pool:expr, $begin:expr, $lock:expr, $sql:ident, $component:expr) => {{
        let component: &Component = $component;
        let mut applied = 0;
        for migration in component.migrations {
            let mut tx = $pool.begin_with($begin).await?;
            if let Some(lock) = $lock {
                sqlx::query(lock).execute(&mut *tx).await?;
            }
            sqlx::query(CREATE_TABLE).execute(&mut *tx).await?;
            let found: Option<(String,)> = sqlx::query_as(SELECT_ONE)
                .bind(component.name)
                .bind(migration.version)
                .fetch_optional(&mut *tx)
                .await?;
            match found {
                Some((name,)) if name == migration.name => continue,
                Some((name,)) => {
                    return Err(StoreError::MigrationConflict {
                        component: component.name.to_owned(),
                        version: migration.version,
                        expected: migration.name.to_owned(),
                        found: name,
                    });
                }
                None => {}
            }
            for statement in migration.$sql {
                sqlx::query(statement).execute(&mut *tx).await?;
            }
            sqlx::query(INSERT)
                .bind(component.name)
                .bind(migration.version)
                .bind(migration.name)
                .bind(now_secs())
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            applied += 1;
        }
        Ok(applied)
    }};
}

impl Db {
    /// Applies the migrations of `component` this database lacks, each in its own
    /// transaction; returns how many were applied (0 when it was up to date).
    pub async fn migrate(&self, component: &Component) -> Result<usize, StoreError> {
        match self {
            Db::Sqlite(pool) => apply!(pool, "BEGIN IMMEDIATE", None::<&str>, sqlite, component),
            Db::Postgres(pool) => apply!(pool, "BEGIN", Some(PG_LOCK), postgres, component),
        }
    }

    /// The migrations of `component` recorded as applied: (version, name), in order.
    pub async fn applied(&self, component: &str) -> Result<Vec<(i64, String)>, StoreError> {
        Ok(match self {
            Db::Sqlite(pool) => {
                sqlx::query(CREATE_TABLE).execute(pool).await?;
                sqlx::query_as(SELECT_ALL)
                    .bind(component)
                    .fetch_all(pool)
                    .await?
            }
            Db::Postgres(pool) => {
                sqlx::query(CREATE_TABLE).execute(pool).await?;
                sqlx::query_as(SELECT_ALL)
                    .bind(component)
                    .fetch_all(pool)
                    .await?
            }
        })
    }
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}
