#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used)]

mod db;
mod error;
pub mod migrate;
pub mod revocation;
#[cfg(feature = "testing")]
pub mod testing;

pub use db::{Backend, Db};

/// Runs `$body` once for whichever backend `$db` (a `&Db`) is, with `$pool` bound to that
/// backend's pool and `$begin` to the statement that opens a writing transaction there:
/// `BEGIN IMMEDIATE` on SQLite (its write lock at once, so a transaction that reads before it
/// writes cannot fail to upgrade its lock), `BEGIN` on PostgreSQL. The body is the same text
/// for both, so one query written with `$1` placeholders serves both backends.
///
/// ```no_run
/// # async fn demo(db: gica_store::Db) -> Result<i64, sqlx::Error> {
/// use sqlx::Row as _;
/// gica_store::on_pool!(&db, |pool, begin| {
///     let mut tx = pool.begin_with(begin).await?;
///     let n: i64 = sqlx::query("SELECT 1 AS n").fetch_one(&mut *tx).await?.try_get("n")?;
///     tx.commit().await?;
///     Ok(n)
/// })
/// # }
/// ```
#[macro_export]
macro_rules! on_pool {
    ($db:expr, |$pool:ident, $begin:ident| $body:expr) => {
        match $db {
            $crate::Db::Sqlite($pool) => {
                #[allow(unused_variables)]
                let $begin = "BEGIN IMMEDIATE";
                $body
            }
            $crate::Db::Postgres($pool) => {
                #[allow(unused_variables)]
                let $begin = "BEGIN";
                $body
            }
        }
    };
}
pub use error::StoreError;
pub use migrate::{Component, Migration};
pub use revocation::{RevocationStore, RevocationWriter, StatusSource};
