//! One test suite, both backends: each check gets a fresh, empty database, on SQLite (a file
//! in a temporary directory) and on PostgreSQL (a new schema, dropped afterwards).
//!
//! PostgreSQL: `GICA_TEST_POSTGRES_URL` (default [`DEFAULT_POSTGRES_URL`]).
//! `GICA_SKIP_POSTGRES=1` skips it; otherwise failing to connect fails the check.
//!
//! ```no_run
//! use gica_store::{Db, testing::TestDb};
//!
//! async fn tables_start_empty(db: TestDb) {
//!     let pool = Db::connect(db.url()).await.expect("connect");
//!     let applied = pool.migrate(&gica_store::revocation::MIGRATIONS).await.expect("migrate");
//!     assert!(applied > 0, "a fresh database");
//! }
//!
//! // In a test file, one #[tokio::test] per check and backend (`sqlite::tables_start_empty`,
//! // `postgres::tables_start_empty`):
//! gica_store::backend_suite!(tables_start_empty);
//!
//! // Or both in one test:
//! # async fn one() {
//! gica_store::testing::for_each_backend(tables_start_empty).await;
//! # }
//! ```
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

use crate::{Backend, Db};

/// PostgreSQL used when `GICA_TEST_POSTGRES_URL` is not set.
pub const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";

/// A fresh database for one check. Cloning shares it.
#[derive(Clone, Debug)]
pub struct TestDb {
    backend: Backend,
    url: String,
    /// PostgreSQL: the server's URL (without the schema) and the schema.
    schema: Option<(String, String)>,
    /// SQLite: removed when the last clone goes.
    _dir: Option<Arc<tempfile::TempDir>>,
}

impl TestDb {
    /// Which backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Its URL, for [`Db::connect`] and the components' `connect` (PostgreSQL: with the
    /// schema as `search_path`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A new pool on it.
    pub async fn connect(&self) -> Db {
        Db::connect(&self.url).await.unwrap_or_else(|e| {
            panic!(
                "connect to {:?} (GICA_SKIP_POSTGRES=1 skips PostgreSQL): {e}",
                self.backend
            )
        })
    }

    /// Runs one SQL statement with `blob` bound to `$1`, on its own connection, past any
    /// component's checks (to plant what the code itself would never write).
    pub async fn execute(&self, sql: &str, blob: &[u8]) {
        let db = self.connect().await;
        match &db {
            Db::Sqlite(pool) => sqlx::query(sql).bind(blob).execute(pool).await.map(drop),
            Db::Postgres(pool) => sqlx::query(sql).bind(blob).execute(pool).await.map(drop),
        }
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
        db.close().await;
    }

    fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        Self {
            backend: Backend::Sqlite,
            url: format!("sqlite:{}", dir.path().join("store.db").display()),
            schema: None,
            _dir: Some(Arc::new(dir)),
        }
    }

    /// `None` when `GICA_SKIP_POSTGRES=1`.
    fn postgres() -> Option<Self> {
        if std::env::var("GICA_SKIP_POSTGRES").as_deref() == Ok("1") {
            eprintln!("GICA_SKIP_POSTGRES=1: PostgreSQL check skipped");
            return None;
        }
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let server =
            std::env::var("GICA_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES_URL.into());
        let schema = format!(
            "gica_test_{}_{nanos}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        );
        let join = if server.contains('?') { '&' } else { '?' };
        Some(Self {
            backend: Backend::Postgres,
            url: format!("{server}{join}options=-csearch_path%3D{schema}"),
            schema: Some((server, schema)),
            _dir: None,
        })
    }

    async fn create_schema(&self) {
        if let Some((server, schema)) = &self.schema {
            Db::connect_postgres_schema(server, schema)
                .await
                .unwrap_or_else(|e| {
                    panic!("connect to PostgreSQL (GICA_SKIP_POSTGRES=1 skips these checks): {e}")
                })
                .close()
                .await;
        }
    }

    async fn drop_schema(&self) {
        let Some((server, schema)) = &self.schema else {
            return;
        };
        let dropped = async {
            let db = Db::connect(server).await?;
            if let Db::Postgres(pool) = &db {
                sqlx::query(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                    .execute(pool)
                    .await?;
            }
            db.close().await;
            Ok::<_, crate::StoreError>(())
        };
        if let Err(e) = dropped.await {
            eprintln!("could not drop schema {schema}: {e}");
        }
    }
}

/// Runs `check` on a fresh SQLite database.
pub async fn on_sqlite<F, Fut>(check: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    run(TestDb::sqlite(), check).await;
}

/// Runs `check` on a fresh PostgreSQL schema, dropped afterwards (even when the check
/// panics); does nothing when `GICA_SKIP_POSTGRES=1`.
pub async fn on_postgres<F, Fut>(check: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    if let Some(db) = TestDb::postgres() {
        db.create_schema().await;
        run(db, check).await;
    }
}

/// Runs `check` on SQLite, then on PostgreSQL (unless `GICA_SKIP_POSTGRES=1`), each on a
/// fresh database.
pub async fn for_each_backend<F, Fut>(check: F)
where
    F: Fn(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    on_sqlite(&check).await;
    on_postgres(&check).await;
}

/// In a task, so the database is cleaned up even when the check panics; then the panic
/// goes on.
async fn run<F, Fut>(db: TestDb, check: F)
where
    F: FnOnce(TestDb) -> Fut,
    Fut: Future<Output = ()> + Send + 'static,
{
    let outcome = tokio::spawn(check(db.clone())).await;
    db.drop_schema().await;
    if let Err(e) = outcome {
        if e.is_panic() {
            std::panic::resume_unwind(e.into_panic());
        }
        panic!("check cancelled: {e}");
    }
}

/// One `#[tokio::test]` per check and backend: `sqlite::check` and `postgres::check`. Each
/// check is an `async fn(TestDb)`; the calling crate needs `tokio` (with `macros` and
/// `rt-multi-thread`) as a dev-dependency.
#[macro_export]
macro_rules! backend_suite {
    ($($check:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    $crate::testing::on_sqlite(super::$check).await;
                }
            )*
        }
        mod postgres {
            $(
                #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $check() {
                    $crate::testing::on_postgres(super::$check).await;
                }
            )*
        }
    };
}

/// `secs` after (or, negative, before) the Unix epoch: fixture times in store tests.
pub fn at(secs: i64) -> SystemTime {
    let d = std::time::Duration::from_secs(secs.unsigned_abs());
    if secs >= 0 {
        UNIX_EPOCH + d
    } else {
        UNIX_EPOCH - d
    }
}

/// A revoked status at `secs`, for store tests.
pub fn revoked(
    secs: i64,
    reason: Option<gica_pki::CrlReason>,
    invalidity: Option<i64>,
) -> crate::revocation::RecordStatus {
    crate::revocation::RecordStatus::Revoked {
        time: at(secs),
        reason,
        invalidity_date: invalidity.map(at),
    }
}

/// A certificate record, for store tests.
pub fn record(
    issuer: &str,
    serial: &[u8],
    not_after: Option<i64>,
    status: crate::revocation::RecordStatus,
) -> crate::revocation::CertRecord {
    crate::revocation::CertRecord {
        issuer: issuer.into(),
        serial: serial.to_vec(),
        not_after: not_after.map(at),
        status,
    }
}

/// One revoked entry as plain values: (serial, revocationDate, reason, invalidityDate).
pub type RevokedRow = (
    Vec<u8>,
    SystemTime,
    Option<gica_pki::CrlReason>,
    Option<SystemTime>,
);

/// The entries of a revoked list as plain values, for comparing in tests.
pub fn revoked_rows(list: &crate::revocation::RevokedList) -> Vec<RevokedRow> {
    list.iter()
        .map(|e| {
            (
                e.serial.to_vec(),
                e.revocation_time,
                e.reason,
                e.invalidity_date,
            )
        })
        .collect()
}
