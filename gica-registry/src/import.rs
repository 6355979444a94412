//! Importing a sightings file: hashed first (a file is imported once, by its SHA-256), then
//! read on a blocking thread, folded into pairs in batches, and upserted in ONE transaction,
//! so a file refused for its bad rows (or a crash) leaves nothing behind. The accepted file is
//! recorded with its hash, its counts and an RFC 3161 token over the hash.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use gica_serve::tsa_client::TsaClient;
use gica_store::StoreError;
use sha2::{Digest, Sha256};

use crate::sightings::{self, Filled, ImportReport, Pair, PairBatch, PairSeen, SightingsReader};
use crate::store::{FileRecord, SeenPair, Store, is_unique_violation};

/// Distinct pairs folded in memory before they are written. Operators' files come in date
/// order, so a pair's rows are far apart: the larger the batch, the fewer upserts (10M rows
/// fold to ~3.3M pairs). A folded pair costs ~170 bytes in the batch and ~250 as the rows
/// handed to the writer, and at most one batch waits in the channel: ~0.6 GB at the peak with
/// the import connection's page cache.
const BATCH_PAIRS: usize = 500_000;

/// How one file is imported.
#[derive(Clone, Debug)]
pub struct ImportOptions {
    /// The operator that delivered it.
    pub operator: String,
    /// Refuse the file when its share of bad rows is over this.
    pub max_bad_share: f64,
    /// Show a progress bar on a terminal.
    pub progress: bool,
}

/// Why a file was not imported; nothing of it was stored.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: std::io::Error,
    },
    /// The file as a whole is not a sightings file (header, size).
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: sightings::SightingsError,
    },
    /// Too many bad rows: the report says which lines and why.
    #[error("{}: {} of {} rows are bad ({:.2}%, over {:.2}%){}", path.display(), report.rows_bad(), report.rows_read(), report.bad_share() * 100.0, threshold * 100.0, first_lines(report))]
    TooManyBadRows {
        /// The file.
        path: PathBuf,
        /// What was read.
        report: Box<ImportReport>,
        /// The threshold.
        threshold: f64,
    },
    /// The TSA did not time-stamp the file's hash.
    #[error("time-stamping {path}: {message}")]
    TimeStamp {
        /// The file.
        path: PathBuf,
        /// What failed.
        message: String,
    },
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<sqlx::Error> for ImportError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

fn first_lines(report: &ImportReport) -> String {
    let mut s = String::new();
    for e in report.first_bad().iter().take(10) {
        s.push_str(&format!("\n  line {}: {}", e.line, e.cause));
    }
    if report.rows_bad() > 10 {
        s.push_str(&format!("\n  ... {} more", report.rows_bad() - 10));
    }
    s
}

/// What an import did.
#[derive(Clone, Debug)]
pub struct ImportSummary {
    /// The file.
    pub path: PathBuf,
    /// The record (the earlier one when the file had been imported before).
    pub file: FileRecord,
    /// True when the file had been imported before: nothing was written this time.
    pub already_imported: bool,
    /// The bad rows of this run (empty when it was already imported).
    pub report: ImportReport,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = &self.file;
        if self.already_imported {
            return write!(
                f,
                "{}: already imported (sha256 {}), nothing changed",
                self.path.display(),
                hex::encode(r.sha256)
            );
        }
        write!(
            f,
            "{}: {} rows, {} accepted, {} bad; {} pairs; sha256 {}{}",
            self.path.display(),
            r.rows_read,
            r.rows_accepted,
            r.rows_bad,
            r.pairs,
            hex::encode(r.sha256),
            if r.tsa_token.is_some() {
                "; time-stamped"
            } else {
                ""
            }
        )?;
        if self.report.rows_bad() > 0 {
            write!(f, "{}", first_lines(&self.report))?;
        }
        Ok(())
    }
}

fn hash_file(path: &Path) -> std::io::Result<([u8; 32], u64)> {
    let mut file = std::fs::File::open(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        len += n as u64;
        hasher.update(&buf[..n]);
    }
    Ok((hasher.finalize().into(), len))
}

impl From<(Pair, PairSeen)> for SeenPair {
    /// The store's row for one folded entry of the reader.
    fn from((pair, seen): (Pair, PairSeen)) -> Self {
        Self {
            imei: pair.imei.as_str().to_owned(),
            imsi: pair.imsi.as_str().to_owned(),
            msisdn: pair.msisdn.as_str().to_owned(),
            first: seen.first.days_since_epoch(),
            last: seen.last.days_since_epoch(),
            rat: seen.rat.as_str().to_owned(),
        }
    }
}

/// Reads `path` on this (blocking) thread, sending batches of folded pairs to `tx`.
fn read_file(
    path: &Path,
    len: u64,
    progress: bool,
    tx: tokio::sync::mpsc::Sender<Vec<SeenPair>>,
) -> Result<ImportReport, sightings::SightingsError> {
    let bar = if progress {
        indicatif::ProgressBar::new(len)
    } else {
        indicatif::ProgressBar::hidden()
    };
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{wide_bar} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    let file = std::fs::File::open(path)?;
    let reader = sightings::decode_sightings(bar.wrap_read(file))?;
    let mut reader = SightingsReader::new(reader)?;
    let mut batch = PairBatch::with_capacity(BATCH_PAIRS);
    let mut report = ImportReport::default();
    let mut sorted = Vec::with_capacity(BATCH_PAIRS);
    loop {
        let filled = reader.fill(&mut batch, &mut report)?;
        batch.drain_sorted_into(&mut sorted);
        let pairs: Vec<SeenPair> = sorted.drain(..).map(SeenPair::from).collect();
        if !pairs.is_empty() && tx.blocking_send(pairs).is_err() {
            // The writer stopped (a database error): it reports why.
            break;
        }
        if filled == Filled::EndOfFile {
            break;
        }
    }
    bar.finish_and_clear();
    Ok(report)
}

/// Imports one file into `store`.
pub async fn import_file(
    store: &Store,
    path: &Path,
    options: &ImportOptions,
    tsa: Option<&TsaClient>,
) -> Result<ImportSummary, ImportError> {
    let io = |source| ImportError::Io {
        path: path.to_path_buf(),
        source,
    };
    let owned = path.to_path_buf();
    let (sha256, len) = tokio::task::spawn_blocking(move || hash_file(&owned))
        .await
        .map_err(|e| io(std::io::Error::other(e)))?
        .map_err(io)?;
    if let Some(file) = store.file(&sha256).await? {
        return Ok(ImportSummary {
            path: path.to_path_buf(),
            file,
            already_imported: true,
            report: ImportReport::default(),
        });
    }
    let mut tx = store.begin_import().await?;
    let (sender, mut receiver) = tokio::sync::mpsc::channel::<Vec<SeenPair>>(1);
    let owned = path.to_path_buf();
    let progress = options.progress;
    let reader = tokio::task::spawn_blocking(move || read_file(&owned, len, progress, sender));
    let mut pairs = 0u64;
    let mut write_error = None;
    while let Some(batch) = receiver.recv().await {
        match tx.upsert(&options.operator, &batch).await {
            Ok(_) => pairs += batch.len() as u64,
            Err(e) => {
                write_error = Some(e);
                break;
            }
        }
    }
    drop(receiver);
    let read = reader.await.map_err(|e| io(std::io::Error::other(e)));
    if let Some(e) = write_error {
        tx.rollback().await?;
        return Err(e.into());
    }
    let report = match read? {
        Ok(r) => r,
        Err(source) => {
            tx.rollback().await?;
            return Err(ImportError::File {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    if report.over_threshold(options.max_bad_share) {
        tx.rollback().await?;
        return Err(ImportError::TooManyBadRows {
            path: path.to_path_buf(),
            report: Box::new(report),
            threshold: options.max_bad_share,
        });
    }
    let tsa_token = match tsa {
        Some(tsa) => match tsa.stamp(gica_pki::DigestAlgorithm::Sha256, &sha256).await {
            Ok(token) => Some(token),
            Err(e) => {
                tx.rollback().await?;
                return Err(ImportError::TimeStamp {
                    path: path.to_path_buf(),
                    message: e.to_string(),
                });
            }
        },
        None => None,
    };
    let file = FileRecord {
        sha256,
        operator: options.operator.clone(),
        name: path
            .file_name()
            .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
        rows_read: report.rows_read(),
        rows_accepted: report.rows_accepted(),
        rows_bad: report.rows_bad(),
        pairs,
        imported_at: SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX)),
        tsa_token,
    };
    match tx.commit(&file).await {
        Ok(()) => Ok(ImportSummary {
            path: path.to_path_buf(),
            file,
            already_imported: false,
            report,
        }),
        // Another import of the same bytes committed first: its record stands.
        Err(e) if is_unique_violation(&e) => match store.file(&sha256).await? {
            Some(file) => Ok(ImportSummary {
                path: path.to_path_buf(),
                file,
                already_imported: true,
                report: ImportReport::default(),
            }),
            None => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}
