//! Freezing: the (IMEI, IMSI) pairs seen before the cutoff, committed as an RFC 9162 Merkle
//! tree whose root is signed and time-stamped. Each freeze makes a new version; old versions
//! stay in the database and in the receipts that name them.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::asn1::{GeneralizedTime, OctetString};
use futures_util::TryStreamExt as _;
use gica_pki::BoxError;
use gica_pki::merkle::{self, Hash};
use gica_store::StoreError;
use sqlx::Row as _;

use crate::decide::CHUNK;
use crate::receipt::{PairEntry, RegistrySnapshot, SnapshotRef};
use crate::store::{BATCH, Store, on_pool};

/// A frozen snapshot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frozen {
    /// Its version (1 for the first).
    pub version: u64,
    /// Pairs in the tree.
    pub tree_size: u64,
    /// The tree's root.
    pub root: Hash,
    /// The signed, time-stamped [`RegistrySnapshot`].
    pub signed: Vec<u8>,
}

/// Why a freeze failed; nothing was stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FreezeError {
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing or time-stamping the snapshot.
    #[error("signing the snapshot: {0}")]
    Sign(BoxError),
    /// The cutoff is not a time a snapshot can name.
    #[error("cutoff out of range")]
    Cutoff,
}

impl From<sqlx::Error> for FreezeError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

/// Folds leaf hashes into chunk roots as they stream past.
struct Chunker {
    leaves: Vec<Hash>,
    roots: Vec<u8>,
    size: u64,
}

impl Chunker {
    fn push(&mut self, leaf: Hash) {
        self.leaves.push(leaf);
        self.size += 1;
        if self.leaves.len() as u64 == CHUNK {
            self.flush();
        }
    }

    fn flush(&mut self) {
        if !self.leaves.is_empty() {
            self.roots.extend_from_slice(&merkle::root(&self.leaves));
            self.leaves.clear();
        }
    }
}

impl Store {
    /// Freezes the pairs seen before `cutoff` as a new snapshot version, signing the
    /// [`RegistrySnapshot`] DER with `sign` (which returns the signed, time-stamped CMS).
    pub async fn freeze(
        &self,
        cutoff: SystemTime,
        now: SystemTime,
        sign: impl AsyncFnOnce(Vec<u8>) -> Result<Vec<u8>, BoxError>,
    ) -> Result<Frozen, FreezeError> {
        const MAX_VERSION: &str = "SELECT COALESCE(MAX(version), 0) AS v FROM reg_snapshots";
        const PAIRS: &str = "SELECT imei, imsi FROM reg_sightings WHERE first_seen < $1 \
             GROUP BY imei, imsi ORDER BY imei, imsi";
        const INSERT: &str = "INSERT INTO reg_snapshots \
             (version, cutoff, tree_size, root, chunk_roots, signed, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)";
        let cutoff_secs = cutoff
            .duration_since(UNIX_EPOCH)
            .map_err(|_| FreezeError::Cutoff)?
            .as_secs();
        let cutoff_day = i32::try_from(cutoff_secs / 86_400).map_err(|_| FreezeError::Cutoff)?;
        let cutoff_time = GeneralizedTime::from_unix_duration(Duration::from_secs(cutoff_secs))
            .map_err(|_| FreezeError::Cutoff)?;
        let created = GeneralizedTime::from_unix_duration(Duration::from_secs(
            now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
        ))
        .map_err(|_| FreezeError::Cutoff)?;
        on_pool!(self.db(), |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let last: i64 = sqlx::query(MAX_VERSION)
                .fetch_one(&mut *tx)
                .await?
                .try_get("v")?;
            let version = last + 1;
            let mut chunker = Chunker {
                leaves: Vec::with_capacity(CHUNK as usize),
                roots: Vec::new(),
                size: 0,
            };
            let mut batch: Vec<PairEntry> = Vec::with_capacity(BATCH);
            let mut previous: Option<PairEntry> = None;
            {
                // Read on a second connection while the transaction writes: the sightings are
                // not written by a freeze.
                let mut rows = sqlx::query(PAIRS).bind(cutoff_day).fetch(pool);
                while let Some(row) = rows.try_next().await? {
                    let pair = PairEntry {
                        imei: row.try_get("imei")?,
                        imsi: row.try_get("imsi")?,
                    };
                    if previous.as_ref().is_some_and(|p| p >= &pair) {
                        return Err(StoreError::corrupt("sightings order", &pair.imei).into());
                    }
                    chunker.push(
                        pair.leaf_hash()
                            .map_err(|e| StoreError::corrupt("pair", e))?,
                    );
                    previous = Some(pair.clone());
                    batch.push(pair);
                    if batch.len() == BATCH {
                        insert_leaves(&mut tx, version, chunker.size - batch.len() as u64, &batch)
                            .await?;
                        batch.clear();
                    }
                }
            }
            if !batch.is_empty() {
                insert_leaves(&mut tx, version, chunker.size - batch.len() as u64, &batch).await?;
            }
            chunker.flush();
            let roots: Vec<Hash> = chunker
                .roots
                .chunks_exact(merkle::HASH_LEN)
                .filter_map(|c| c.try_into().ok())
                .collect();
            let root = if roots.is_empty() {
                merkle::EMPTY_ROOT
            } else {
                merkle::root(&roots)
            };
            let snapshot = RegistrySnapshot {
                snapshot: SnapshotRef {
                    version: version as u64,
                    cutoff: cutoff_time,
                    tree_size: chunker.size,
                    root_hash: OctetString::new(root.to_vec())
                        .map_err(|e| StoreError::corrupt("root", e))?,
                },
                created_at: created,
            };
            let content =
                der::Encode::to_der(&snapshot).map_err(|e| StoreError::corrupt("snapshot", e))?;
            let signed = sign(content).await.map_err(FreezeError::Sign)?;
            sqlx::query(INSERT)
                .bind(version)
                .bind(i64::try_from(cutoff_secs).map_err(|_| FreezeError::Cutoff)?)
                .bind(i64::try_from(chunker.size).unwrap_or(i64::MAX))
                .bind(&root[..])
                .bind(&chunker.roots)
                .bind(&signed)
                .bind(
                    i64::try_from(now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()))
                        .unwrap_or(0),
                )
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Frozen {
                version: version as u64,
                tree_size: chunker.size,
                root,
                signed,
            })
        })
    }
}

macro_rules! insert_leaves_body {
    ($tx:expr, $version:expr, $first:expr, $batch:expr) => {{
        let mut q = sqlx::QueryBuilder::new("INSERT INTO reg_leaves (version, idx, imei, imsi) ");
        let mut idx = i64::try_from($first).unwrap_or(i64::MAX);
        q.push_values($batch, |mut row, pair| {
            row.push_bind($version)
                .push_bind(idx)
                .push_bind(pair.imei.as_str())
                .push_bind(pair.imsi.as_str());
            idx += 1;
        });
        q.build().execute(&mut **$tx).await?;
        Ok(())
    }};
}

/// Inserts one batch of leaves from index `first`.
async fn insert_leaves<DB: LeafDb>(
    tx: &mut sqlx::Transaction<'static, DB>,
    version: i64,
    first: u64,
    batch: &[PairEntry],
) -> Result<(), sqlx::Error> {
    DB::insert(tx, version, first, batch).await
}

/// The two backends' leaf insert (the same SQL, built for each).
trait LeafDb: sqlx::Database {
    async fn insert(
        tx: &mut sqlx::Transaction<'static, Self>,
        version: i64,
        first: u64,
        batch: &[PairEntry],
    ) -> Result<(), sqlx::Error>;
}

impl LeafDb for sqlx::Sqlite {
    async fn insert(
        tx: &mut sqlx::Transaction<'static, Self>,
        version: i64,
        first: u64,
        batch: &[PairEntry],
    ) -> Result<(), sqlx::Error> {
        insert_leaves_body!(tx, version, first, batch)
    }
}

impl LeafDb for sqlx::Postgres {
    async fn insert(
        tx: &mut sqlx::Transaction<'static, Self>,
        version: i64,
        first: u64,
        batch: &[PairEntry],
    ) -> Result<(), sqlx::Error> {
        insert_leaves_body!(tx, version, first, batch)
    }
}
