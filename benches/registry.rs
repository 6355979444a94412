//! Benchmarks of the device registry (`gica-registry`, issue 9): import of a generated
//! sightings file, freeze of the resulting pairs, and add-device decisions with receipts over
//! HTTP against a local gica TSA. Every number is printed beside a baseline measured in the
//! same run, because the machine's cores are shared and noisy.
//!
//! ```text
//! cargo bench --bench registry                     # full: 10M rows, 1M pairs, 64 conns, 10 s, SQLite + PostgreSQL
//! cargo bench --bench registry -- --quick          # CI size: 100k rows, 20k pairs, 2 s (under a minute)
//! cargo bench --bench registry -- --phases import,freeze --backends sqlite --rows 10000000
//! cargo bench --bench registry -- --phases decisions --pairs 1000000 --secs 10 --conns 64
//! cargo bench --bench registry -- --quick --layout grouped    # a pair's rows adjacent
//! GICA_TEST_POSTGRES_URL=postgres://u@host/db cargo bench --bench registry -- --backends postgres
//! ```
//!
//! Flags (environment in brackets; flags win): `--rows N` [GICA_BENCH_ROWS] rows of the
//! imported file (default 10,000,000; `--quick` 100,000); `--pairs N` [GICA_BENCH_PAIRS]
//! entries behind the decision store's snapshot (default 1,000,000; `--quick` 20,000);
//! `--phases import,freeze,decisions` [GICA_BENCH_PHASES] (freeze runs on what import
//! wrote, so it implies import); `--backends sqlite,postgres` [GICA_BENCH_BACKENDS];
//! `--layout dated|grouped` [GICA_BENCH_LAYOUT]; and the load benches' `--secs`, `--conns`,
//! `--quick` (see `benches/load/mod.rs`). PostgreSQL is `GICA_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each store there is a fresh schema, dropped at
//! the end; an unreachable server drops the backend with a note.
//!
//! **The file.** `date,imei,imsi,msisdn,rat`, every row valid: entries (IMEI with its Luhn
//! digit, IMSI, MSISDN) each seen on 1 to 5 days (3 on average) between 2019-01-01 and
//! 2020-12-31. One entry in ten is a phone's second SIM (the IMEI of the entry before it); one
//! in twenty is seen only after the cutoff (2020-06-01); a quarter of the rows write the
//! MSISDN as `09...`. `dated` (the default) writes the rows day by day, as operators' daily
//! dumps come, so a pair's rows lie far apart and the importer's 50,000-pair batches fold
//! little; `grouped` writes each entry's rows together (the importer's best case).
//!
//! **Import** runs `gica_registry::import::import_file`, the command's path, with no TSA. Each
//! step runs in a child process (this binary again, `--child STEP`), so its peak RSS is its
//! own: VmHWM from the child's /proc/self/status; its CPU is the child's utime + stime. The
//! baselines, also children, over the same file: SHA-256 of it (the importer's first pass),
//! read+parse with `SightingsReader` (no database), and read+parse+fold (what the importer's
//! reader thread does: `PairBatch` fill, sort, owned rows). Read+parse runs again after the
//! imports, to show drift.
//!
//! **Freeze** runs `Store::freeze` on the imported store (a child again), signing with the
//! fixture key testdata/proof/signer-p256 through `cli::notary` (a `ProofSigner`; no TSA, as
//! one token for a whole snapshot costs nothing here). Baseline: the same number of leaves
//! DER-encoded, hashed and rooted in memory (no database).
//!
//! **Decisions.** A store (SQLite file or PostgreSQL schema) is set up with a generated file
//! of `--pairs` entries (imported, frozen, a blocklist, a portal API key; setup times are
//! printed, not measured). An in-process `gica_tsa_server::TsaServer` (testdata/pki/tsa-p256,
//! its own runtime, threads `tsa-*`) stamps; `gica_registry::server::Server` serves on
//! 127.0.0.1:0 (runtime threads `srv-*`); the client of `benches/load/mod.rs` drives it with
//! `--conns` keep-alive connections, each request a distinct owner and a distinct IMEI:
//! about 90% approvals, and refusals `not-seen-before-cutoff`, `blocklisted`, `invalid-imei`
//! and `seen-with-other-sim` mixed in; every answer is checked against the decision the
//! generator expects. Baseline: the same TSA driven alone with the same connections, before
//! and after; the ratio is decisions/s over their mean. A receipt is fetched at the end and
//! verified with `ProofVerifier` (signature, chain, token). CPU is split by thread kind
//! (registry workers, sqlx's SQLite workers, the TSA, the client); PostgreSQL's server counts
//! among the other processes.
//!
//! The exit status is 1 when a step fails, an answer is not the decision expected, or the
//! receipt does not verify; the goals of issue 9 are printed as met or missed, not enforced
//! (the numbers depend on the machine).

use std::{
    collections::BTreeMap,
    fmt::Write as _,
    io::{BufWriter, Read as _, Write as _},
    net::SocketAddr,
    path::{Path, PathBuf},
    process::{Command, Stdio},
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
    time::{Duration, Instant, SystemTime},
};

use der::Encode;
use gica_pki::{
    AlgorithmPolicy, DigestAlgorithm, oid,
    proof::ProofVerifier,
    tsp::{Authority, AuthorityConfig, Expectation, TimeStampReq, TimeStampReqBuilder},
};
use gica_registry::{
    apikey::Scope,
    cli::{SignerArgs, notary},
    decide::{CHUNK, Rules},
    demo::national_id,
    domain::Imei,
    import::{ImportOptions, import_file},
    receipt::PairEntry,
    server::Server,
    service::{DecisionView, Registry},
    sightings::{self, Filled, ImportReport, PairBatch, SightingsReader},
    store::{SeenPair, Store, Table},
};
use gica_serve::keys::CryptoBackend;
use gica_store::Db;
use gica_tsa_server::{QUERY_TYPE, SystemClock, TsaServer};
use sha2::{Digest, Sha256};
use tokio::{io::AsyncWriteExt as _, net::TcpListener};

#[path = "load/mod.rs"]
#[allow(
    dead_code,
    reason = "shared by the load benches; this one uses part of it"
)]
mod load;

const POLICY: &str = "1.3.6.1.4.1.99999.1.1";
const DEFAULT_POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The registry's cutoff in the generated data: day [`CUTOFF_DAY`].
const CUTOFF: &str = "2020-06-01T00:00:00Z";
/// Days of sightings from 2019-01-01 through 2020-12-31.
const DAYS: u32 = 731;
/// 2020-06-01, counted from 2019-01-01.
const CUTOFF_DAY: u32 = 517;
/// Seeds the generator: the same flags make the same file.
const SEED: u64 = 0x6769_6361_2d72_6567;
/// The prefix of a child's one result line on stdout.
const RESULT: &str = "GICA_BENCH_RESULT";
/// The time-stamp goals of issue 9.
const IMPORT_GOAL_SECS: f64 = 60.0;
const RSS_GOAL_KB: f64 = 1024.0 * 1024.0;
const DECISIONS_GOAL: f64 = 1000.0;
const P99_GOAL_MS: f64 = 50.0;

// ---------------------------------------------------------------------------------------------
// Options.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    fn label(self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres => "PostgreSQL",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// Day by day, as daily dumps come: a pair's rows far apart.
    Dated,
    /// Each entry's rows together.
    Grouped,
}

#[derive(Debug)]
struct Opts {
    load: load::Opts,
    rows: u64,
    pairs: u64,
    import: bool,
    freeze: bool,
    decisions: bool,
    backends: Vec<Backend>,
    layout: Layout,
    postgres_url: String,
}

impl Opts {
    fn from_env_and_args() -> Self {
        let quick = std::env::args().any(|a| a == "--quick");
        let (mut rows, mut pairs) = if quick {
            (100_000, 20_000)
        } else {
            (10_000_000, 1_000_000)
        };
        let mut phases = "import,freeze,decisions".to_string();
        let mut backends = "sqlite,postgres".to_string();
        let mut layout = Layout::Dated;
        let load = load::Opts::from_env_and_args(&mut [
            ("GICA_BENCH_ROWS", "--rows", &mut |v| {
                rows = load::parse_num("--rows", v);
            }),
            ("GICA_BENCH_PAIRS", "--pairs", &mut |v| {
                pairs = load::parse_num("--pairs", v);
            }),
            ("GICA_BENCH_PHASES", "--phases", &mut |v| {
                phases = v.to_string();
            }),
            ("GICA_BENCH_BACKENDS", "--backends", &mut |v| {
                backends = v.to_string();
            }),
            ("GICA_BENCH_LAYOUT", "--layout", &mut |v| {
                layout = match v.trim() {
                    "dated" => Layout::Dated,
                    "grouped" => Layout::Grouped,
                    other => panic!("--layout: {other:?}; use dated or grouped"),
                };
            }),
        ]);
        let phases: Vec<String> = phases.split(',').map(|p| p.trim().to_string()).collect();
        for p in &phases {
            assert!(
                ["import", "freeze", "decisions"].contains(&p.as_str()),
                "--phases: unknown phase {p:?}; use import, freeze, decisions"
            );
        }
        let backends = backends
            .split(',')
            .map(|b| match b.trim() {
                "sqlite" => Backend::Sqlite,
                "postgres" | "postgresql" | "pg" => Backend::Postgres,
                other => panic!("--backends: unknown backend {other:?}; use sqlite, postgres"),
            })
            .collect();
        let freeze = phases.iter().any(|p| p == "freeze");
        // The sightings file carries at most DEFAULT_MAX_LINES lines; entries index a u32.
        assert!(
            (1..sightings::DEFAULT_MAX_LINES).contains(&rows),
            "--rows: 1 to {}",
            sightings::DEFAULT_MAX_LINES - 1
        );
        assert!(
            (100..=30_000_000).contains(&pairs),
            "--pairs: 100 to 30,000,000"
        );
        Opts {
            load,
            rows,
            pairs,
            import: freeze || phases.iter().any(|p| p == "import"),
            freeze,
            decisions: phases.iter().any(|p| p == "decisions"),
            backends,
            layout,
            postgres_url: std::env::var("GICA_TEST_POSTGRES_URL")
                .ok()
                .filter(|v| !v.trim().is_empty())
                .unwrap_or_else(|| DEFAULT_POSTGRES_URL.to_string()),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The generated sightings.

/// splitmix64's finaliser: a well-mixed 64-bit value of `x`.
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// What an entry is for: in the file every row is valid; the kind decides which request the
/// decision phase makes of it, and what it expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    /// Seen before the cutoff with its SIM: approved.
    Normal,
    /// A phone's second SIM: the IMEI of the entry before. No request (IMEIs stay distinct).
    SecondSim,
    /// Seen only after the cutoff: `not-seen-before-cutoff`.
    Late,
    /// On the blocklist: `blocklisted`.
    Blocked,
    /// Requested with a wrong check digit: `invalid-imei`.
    BadCheckDigit,
    /// Requested with the next entry's SIM: `seen-with-other-sim`.
    OtherSim,
}

fn kind(e: u64) -> Kind {
    // Disjoint residues: 5 (mod 10), 19 (mod 20), 13 (mod 50), 41 and 77 (mod 100).
    if e % 10 == 5 {
        Kind::SecondSim
    } else if e % 20 == 19 {
        Kind::Late
    } else if e % 50 == 13 {
        Kind::Blocked
    } else if e % 100 == 41 {
        Kind::BadCheckDigit
    } else if e % 100 == 77 {
        Kind::OtherSim
    } else {
        Kind::Normal
    }
}

/// The 15-digit IMEI of entry `e`: 5,000 TACs, a serial, and the Luhn check digit.
fn imei15(e: u64) -> String {
    let i = if kind(e) == Kind::SecondSim { e - 1 } else { e };
    let body = format!("{:08}{:06}", 35_290_000 + i % 5000, (i / 5000) % 1_000_000);
    Imei::parse(&body)
        .expect("a 14-digit body is an IMEI")
        .to_15()
}

/// The IMSI of entry `e` (three Iranian operators).
fn imsi(e: u64) -> String {
    let mnc = ["11", "35", "20"][(e % 3) as usize];
    format!("432{mnc}{:010}", e)
}

/// The MSISDN of entry `e`, normalised (`989...`).
fn msisdn(e: u64) -> String {
    format!("989{:09}", e % 1_000_000_000)
}

/// A generated sightings file: `entries` entries, `rows` rows in all.
#[derive(Clone, Copy, Debug)]
struct Sightings {
    entries: u64,
    rows: u64,
    /// Rows of the last entry (fewer when `rows` cut it short).
    last_rows: u32,
}

impl Sightings {
    /// Rows of entry `e` and their days.
    fn days(&self, e: u64, out: &mut [u32; 5]) -> usize {
        let r = mix(SEED ^ e);
        let mut k = 1 + (r % 5) as usize;
        if e + 1 == self.entries {
            k = k.min(self.last_rows as usize);
        }
        let first = if kind(e) == Kind::Late {
            CUTOFF_DAY + ((r >> 8) % u64::from(DAYS - CUTOFF_DAY)) as u32
        } else {
            ((r >> 8) % u64::from(CUTOFF_DAY)) as u32
        };
        out[0] = first;
        for (j, d) in out.iter_mut().enumerate().take(k).skip(1) {
            *d = first + (mix(r ^ j as u64) % u64::from(DAYS - first)) as u32;
        }
        k
    }

    /// Exactly `rows` rows: entries until they are reached, the last one cut short.
    fn with_rows(rows: u64) -> Self {
        let mut s = Self {
            entries: u64::MAX,
            rows,
            last_rows: 5,
        };
        let (mut total, mut e, mut days) = (0u64, 0u64, [0u32; 5]);
        while total < rows {
            let k = s.days(e, &mut days) as u64;
            if total + k >= rows {
                s.last_rows = (rows - total) as u32;
            }
            total += k;
            e += 1;
        }
        s.entries = e;
        s
    }

    /// Every row of `entries` entries.
    fn with_entries(entries: u64) -> Self {
        let mut s = Self {
            entries,
            rows: 0,
            last_rows: 5,
        };
        let mut days = [0u32; 5];
        s.rows = (0..entries).map(|e| s.days(e, &mut days) as u64).sum();
        s
    }

    /// Writes the CSV to `path`; returns its size in bytes.
    fn write(&self, path: &Path, layout: Layout) -> std::io::Result<u64> {
        assert!(self.entries < u64::from(u32::MAX), "too many entries");
        let dates: Vec<String> = (0..DAYS)
            .map(|d| {
                let t = gica_pki::parse_rfc3339("2019-01-01T00:00:00Z").expect("date")
                    + Duration::from_secs(u64::from(d) * 86_400);
                gica_pki::Rfc3339(t).to_string()[..10].to_string()
            })
            .collect();
        let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
        out.write_all(sightings::HEADER.as_bytes())?;
        out.write_all(b"\n")?;
        let mut row = 0u64;
        let mut line = String::with_capacity(128);
        let mut emit = |out: &mut BufWriter<std::fs::File>, e: u64, day: u32| {
            const RATS: [&str; 6] = ["4G", "4G", "3G", "2G", "4G", ""];
            line.clear();
            let m = msisdn(e);
            // A quarter of the rows in the national form, as some operators write it.
            let m = if row.is_multiple_of(4) {
                format!("0{}", &m[2..])
            } else {
                m
            };
            let rat = RATS[(mix(e ^ (u64::from(day) << 40)) % 6) as usize];
            let _ = writeln!(
                line,
                "{},{},{},{m},{rat}",
                dates[day as usize],
                imei15(e),
                imsi(e)
            );
            row += 1;
            out.write_all(line.as_bytes())
        };
        let mut days = [0u32; 5];
        match layout {
            Layout::Grouped => {
                for e in 0..self.entries {
                    let k = self.days(e, &mut days);
                    days[..k].sort_unstable();
                    for &d in &days[..k] {
                        emit(&mut out, e, d)?;
                    }
                }
            }
            Layout::Dated => {
                // Bucket the rows by day (a counting sort of entry numbers), then write each
                // day's rows in entry order, as an operator's daily dump would list them.
                let mut start = vec![0u64; DAYS as usize + 1];
                for e in 0..self.entries {
                    let k = self.days(e, &mut days);
                    for &d in &days[..k] {
                        start[d as usize + 1] += 1;
                    }
                }
                for d in 0..DAYS as usize {
                    start[d + 1] += start[d];
                }
                let mut fill = start.clone();
                let mut order = vec![0u32; self.rows as usize];
                for e in 0..self.entries {
                    let k = self.days(e, &mut days);
                    for &d in &days[..k] {
                        order[fill[d as usize] as usize] = e as u32;
                        fill[d as usize] += 1;
                    }
                }
                for d in 0..DAYS as usize {
                    for &e in &order[start[d] as usize..start[d + 1] as usize] {
                        emit(&mut out, u64::from(e), d as u32)?;
                    }
                }
            }
        }
        out.flush()?;
        drop(out);
        Ok(std::fs::metadata(path)?.len())
    }
}

// ---------------------------------------------------------------------------------------------
// Child processes: one measured step each, so that its peak RSS is its own.

/// VmRSS and VmHWM of this process, in kB.
fn memory_kb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Measures one step of a child: wall time, CPU of the whole process, memory.
struct Probe {
    at: Instant,
    cpu: Option<f64>,
    rss_kb: f64,
    ticks: f64,
}

impl Probe {
    fn start() -> Self {
        let ticks = load::clock_ticks();
        Self {
            at: Instant::now(),
            cpu: load::stat_cpu_secs("/proc/self/stat", ticks),
            rss_kb: memory_kb().0,
            ticks,
        }
    }

    fn finish(self, out: &mut Vec<(&'static str, f64)>) {
        let secs = self.at.elapsed().as_secs_f64();
        let cpu = load::stat_cpu_secs("/proc/self/stat", self.ticks)
            .zip(self.cpu)
            .map_or(f64::NAN, |(b, a)| b - a);
        out.extend([
            ("secs", secs),
            ("cpu", cpu),
            ("rss_start_kb", self.rss_kb),
            ("hwm_kb", memory_kb().1),
        ]);
    }
}

/// Opens the registry's store: `sqlite:PATH`, or PostgreSQL with `schema`.
async fn open_store(url: &str, schema: Option<&str>) -> Result<Store, String> {
    let db = match schema {
        Some(s) => Db::connect_postgres_schema(url, s).await,
        None => Db::connect(url).await,
    }
    .map_err(|e| format!("connect: {e}"))?;
    Store::from_db(db)
        .await
        .map_err(|e| format!("migrate: {e}"))
}

/// `--child STEP ARGS...`: runs STEP, prints one `GICA_BENCH_RESULT key=value...` line.
fn child(args: &[String]) -> Result<Vec<(&'static str, f64)>, String> {
    let arg = |i: usize| -> Result<&str, String> {
        args.get(i)
            .map(String::as_str)
            .ok_or_else(|| format!("child: argument {i} missing"))
    };
    let schema = |s: &str| (s != "-").then(|| s.to_string());
    let mut out = Vec::new();
    match arg(0)? {
        // The importer's first pass (as `import::hash_file` reads: 1 MiB at a time).
        "hash" => {
            let p = Probe::start();
            let mut file = std::fs::File::open(arg(1)?).map_err(|e| e.to_string())?;
            let (mut hasher, mut buf, mut len) = (Sha256::new(), vec![0u8; 1 << 20], 0u64);
            loop {
                let n = file.read(&mut buf).map_err(|e| e.to_string())?;
                if n == 0 {
                    break;
                }
                hasher.update(&buf[..n]);
                len += n as u64;
            }
            std::hint::black_box(hasher.finalize());
            p.finish(&mut out);
            out.push(("bytes", len as f64));
        }
        "parse" => {
            let p = Probe::start();
            let file = sightings::open_sightings(arg(1)?).map_err(|e| e.to_string())?;
            let reader = SightingsReader::new(file).map_err(|e| e.to_string())?;
            let (mut good, mut bad) = (0u64, 0u64);
            for row in reader {
                match row {
                    Ok(s) => {
                        std::hint::black_box(&s);
                        good += 1;
                    }
                    Err(_) => bad += 1,
                }
            }
            p.finish(&mut out);
            out.extend([("rows", (good + bad) as f64), ("bad", bad as f64)]);
        }
        // What the importer's reader thread does (`import::read_file`), minus the channel.
        "fold" => {
            let p = Probe::start();
            let file = sightings::open_sightings(arg(1)?).map_err(|e| e.to_string())?;
            let mut reader = SightingsReader::new(file).map_err(|e| e.to_string())?;
            let mut batch = PairBatch::with_capacity(500_000);
            let mut report = ImportReport::default();
            let (mut sorted, mut pairs) = (Vec::with_capacity(500_000), 0u64);
            loop {
                let filled = reader
                    .fill(&mut batch, &mut report)
                    .map_err(|e| e.to_string())?;
                batch.drain_sorted_into(&mut sorted);
                let owned: Vec<SeenPair> = sorted.drain(..).map(SeenPair::from).collect();
                pairs += owned.len() as u64;
                std::hint::black_box(owned);
                if filled == Filled::EndOfFile {
                    break;
                }
            }
            p.finish(&mut out);
            out.extend([
                ("rows", report.rows_read() as f64),
                ("upsert_rows", pairs as f64),
            ]);
        }
        "merkle" => {
            let n: u64 = arg(1)?.parse().map_err(|_| "merkle: count")?;
            let p = Probe::start();
            let mut roots = Vec::new();
            let mut leaves = Vec::with_capacity(CHUNK as usize);
            for e in 0..n {
                let pair = PairEntry {
                    imei: imei15(e)[..14].to_string(),
                    imsi: imsi(e),
                };
                leaves.push(pair.leaf_hash().map_err(|e| e.to_string())?);
                if leaves.len() as u64 == CHUNK {
                    roots.push(gica_pki::merkle::root(&leaves));
                    leaves.clear();
                }
            }
            if !leaves.is_empty() {
                roots.push(gica_pki::merkle::root(&leaves));
            }
            std::hint::black_box(gica_pki::merkle::root(&roots));
            p.finish(&mut out);
            out.push(("leaves", n as f64));
        }
        step @ ("import" | "freeze") => {
            let (url, schema) = (arg(1)?.to_string(), schema(arg(2)?));
            let rt = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .map_err(|e| e.to_string())?;
            rt.block_on(async {
                let store = open_store(&url, schema.as_deref()).await?;
                if step == "import" {
                    let options = ImportOptions {
                        operator: "bench-operator".into(),
                        max_bad_share: sightings::DEFAULT_BAD_SHARE_THRESHOLD,
                        progress: false,
                    };
                    let p = Probe::start();
                    let summary = import_file(&store, Path::new(arg(3)?), &options, None)
                        .await
                        .map_err(|e| e.to_string())?;
                    p.finish(&mut out);
                    let f = &summary.file;
                    out.extend([
                        ("rows", f.rows_read as f64),
                        ("bad", f.rows_bad as f64),
                        ("upsert_rows", f.pairs as f64),
                    ]);
                    let n = store.count(Table::Sightings).await;
                    out.push(("entries", n.map_err(|e| e.to_string())? as f64));
                } else {
                    let p = Probe::start();
                    let frozen = freeze(&store, Path::new(arg(3)?), Path::new(arg(4)?)).await?;
                    p.finish(&mut out);
                    out.push(("pairs", frozen as f64));
                }
                store.db().close().await;
                Ok::<_, String>(())
            })?;
        }
        other => return Err(format!("child: unknown step {other:?}")),
    }
    Ok(out)
}

/// Freezes `store` at [`CUTOFF`], signing with the fixture key through the command's
/// `cli::notary` (no TSA); returns the tree size.
async fn freeze(store: &Store, cert: &Path, key: &Path) -> Result<u64, String> {
    let args = SignerArgs {
        signer_cert: Some(cert.to_path_buf()),
        signer_key: Some(key.to_path_buf()),
        tsa_url: None,
    };
    let notary = notary(&args, CryptoBackend::RustCrypto, 1, false).map_err(|e| e.to_string())?;
    let cutoff = gica_pki::parse_rfc3339(CUTOFF).map_err(|e| e.to_string())?;
    let now = SystemTime::now();
    let frozen = store
        .freeze(cutoff, now, async |content| {
            notary
                .sign(oid::CT_REGISTRY_SNAPSHOT, content, now, false)
                .await
        })
        .await
        .map_err(|e| e.to_string())?;
    Ok(frozen.tree_size)
}

/// What the parent saw of a child step.
#[derive(Clone, Debug, Default)]
struct Step {
    vals: BTreeMap<String, f64>,
    /// Cores busy with other processes meanwhile (PostgreSQL's server included).
    others: Option<f64>,
}

impl Step {
    fn get(&self, k: &str) -> f64 {
        self.vals.get(k).copied().unwrap_or(f64::NAN)
    }

    fn secs(&self) -> f64 {
        self.get("secs")
    }
}

/// Runs `--child ARGS` and reads its result line.
fn run_child(args: &[&str]) -> Result<Step, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let m0 = load::machine_jiffies();
    let out = Command::new(exe)
        .arg("--child")
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("{}: {e}", args.join(" ")))?;
    let m1 = load::machine_jiffies();
    if !out.status.success() {
        return Err(format!("child {} failed: {}", args.join(" "), out.status));
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(RESULT))
        .ok_or_else(|| format!("child {}: no result line", args.join(" ")))?;
    let vals: BTreeMap<String, f64> = line
        .split_whitespace()
        .filter_map(|kv| {
            let (k, v) = kv.split_once('=')?;
            Some((k.to_string(), v.parse().ok()?))
        })
        .collect();
    let mut step = Step { vals, others: None };
    if let (Some((b0, a0)), Some((b1, a1))) = (m0, m1) {
        let cores = load::cores() as f64;
        let busy = (b1 - b0) / (a1 - a0).max(1.0) * cores;
        let own = step.get("cpu") / step.secs();
        if own.is_finite() {
            step.others = Some((busy - own).max(0.0));
        }
    }
    Ok(step)
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL schemas, dropped at the end whatever happened.

struct Schemas {
    url: String,
    names: Vec<String>,
}

impl Schemas {
    fn new_name(&mut self, what: &str) -> String {
        let name = format!("gica_bench_{what}_{}", std::process::id());
        self.names.push(name.clone());
        name
    }
}

impl Drop for Schemas {
    fn drop(&mut self) {
        if self.names.is_empty() {
            return;
        }
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            eprintln!("could not drop schemas {:?}: no runtime", self.names);
            return;
        };
        rt.block_on(async {
            let dropped = async {
                let db = Db::connect(&self.url).await?;
                if let Db::Postgres(pool) = &db {
                    for name in &self.names {
                        sqlx::query(&format!("DROP SCHEMA IF EXISTS {name} CASCADE"))
                            .execute(pool)
                            .await?;
                    }
                }
                db.close().await;
                Ok::<_, gica_store::StoreError>(())
            };
            match dropped.await {
                Ok(()) => eprintln!("dropped schemas {}", self.names.join(", ")),
                Err(e) => eprintln!("could not drop schemas {:?}: {e}", self.names),
            }
        });
    }
}

// ---------------------------------------------------------------------------------------------
// Report helpers.

/// `1234567` as `1,234,567`.
fn thousands(n: f64) -> String {
    if !n.is_finite() {
        return "-".into();
    }
    let s = format!("{:.0}", n.abs());
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0.0 { format!("-{out}") } else { out }
}

fn mb(kb: f64) -> String {
    format!("{:.0} MB", kb / 1024.0)
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

fn verdict(ok: bool) -> &'static str {
    if ok { "met" } else { "MISSED" }
}

/// One line of the import/freeze table.
fn step_line(name: &str, s: &Step, count: f64, unit: &str, baseline: Option<f64>) -> String {
    let ratio = baseline.map_or(String::new(), |b| format!("{:>6.2}x", s.secs() / b));
    format!(
        "  {name:<30}{:>8.2} s {:>12} {unit}/s {ratio:>8}  peak RSS {:>7}  CPU {:>5.2} cores  others {:>4}",
        s.secs(),
        thousands(count / s.secs()),
        mb(s.get("hwm_kb")),
        s.get("cpu") / s.secs(),
        s.others.map_or("?".into(), |o| format!("{o:.2}")),
    )
}

// ---------------------------------------------------------------------------------------------
// Phases 1 and 2: import and freeze.

struct Fixtures {
    /// The proof signer's certificate followed by its intermediate CA, as `--signer-cert`.
    signer_cert: PathBuf,
    signer_key: PathBuf,
}

impl Fixtures {
    fn write(dir: &Path) -> Self {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let read = |p: &str| {
            std::fs::read_to_string(root.join(p)).unwrap_or_else(|e| panic!("testdata/{p}: {e}"))
        };
        let signer_cert = dir.join("signer-p256-chain.pem");
        std::fs::write(
            &signer_cert,
            read("proof/signer-p256.pem") + &read("pki/int-ca.pem"),
        )
        .expect("write the signer chain");
        Self {
            signer_cert,
            signer_key: root.join("proof/signer-p256.key"),
        }
    }
}

fn store_args(
    b: Backend,
    dir: &Path,
    name: &str,
    opts: &Opts,
    schemas: &mut Schemas,
) -> [String; 2] {
    match b {
        Backend::Sqlite => [
            format!("sqlite:{}", dir.join(format!("{name}.db")).display()),
            "-".into(),
        ],
        Backend::Postgres => [opts.postgres_url.clone(), schemas.new_name(name)],
    }
}

fn import_phase(
    opts: &Opts,
    dir: &Path,
    fixtures: &Fixtures,
    schemas: &mut Schemas,
    summary: &mut Vec<String>,
) -> Result<(), String> {
    let csv = dir.join("sightings.csv");
    let file = Sightings::with_rows(opts.rows);
    let t = Instant::now();
    let bytes = file
        .write(&csv, opts.layout)
        .map_err(|e| format!("{}: {e}", csv.display()))?;
    println!(
        "\n== import: {} rows ({:?} layout), {} entries, {:.0} MB; generated in {:.1} s; load average {} ==",
        thousands(file.rows as f64),
        opts.layout,
        thousands(file.entries as f64),
        bytes as f64 / 1e6,
        t.elapsed().as_secs_f64(),
        loadavg()
    );
    let path = csv.display().to_string();
    let rows = file.rows as f64;
    let hash = run_child(&["hash", &path])?;
    println!(
        "{}",
        step_line("SHA-256 of the file (baseline)", &hash, rows, "rows", None)
    );
    let parse = run_child(&["parse", &path])?;
    let base = parse.secs();
    println!(
        "{}",
        step_line("read+parse (baseline)", &parse, rows, "rows", Some(base))
    );
    assert_eq!(parse.get("bad"), 0.0, "the generated rows are all valid");
    let fold = run_child(&["fold", &path])?;
    println!(
        "{}",
        step_line("read+parse+fold", &fold, rows, "rows", Some(base))
    );
    println!(
        "  (the fold leaves {} rows to upsert for {} rows read: {:.2} rows per upsert)",
        thousands(fold.get("upsert_rows")),
        thousands(fold.get("rows")),
        fold.get("rows") / fold.get("upsert_rows")
    );
    let mut frozen = Vec::new();
    for &b in &opts.backends {
        let [url, schema] = store_args(b, dir, "import", opts, schemas);
        let step = match run_child(&["import", &url, &schema, &path]) {
            Ok(s) => s,
            Err(e) => {
                println!("  import into {}: FAILED: {e}", b.label());
                summary.push(format!("import {}: FAILED: {e}", b.label()));
                continue;
            }
        };
        println!(
            "{}",
            step_line(
                &format!("import into {}", b.label()),
                &step,
                rows,
                "rows",
                Some(base)
            )
        );
        println!(
            "    {} rows read, {} bad, {} entries stored; {:.2}x the hash + read+parse+fold ({:.2} s), the rest is the database",
            thousands(step.get("rows")),
            thousands(step.get("bad")),
            thousands(step.get("entries")),
            step.secs() / (hash.secs() + fold.secs()),
            hash.secs() + fold.secs(),
        );
        assert_eq!(step.get("rows"), rows, "every row read");
        let secs = step.secs();
        let hwm = step.get("hwm_kb");
        summary.push(format!(
            "import {:<10} {:>7.1} s  {:>10} rows/s  {:>6.2}x read+parse  peak RSS {:>7}   goals (< {IMPORT_GOAL_SECS:.0} s, < 1 GB): {} / {}",
            b.label(),
            secs,
            thousands(rows / secs),
            secs / base,
            mb(hwm),
            if b == Backend::Sqlite { verdict(secs < IMPORT_GOAL_SECS) } else { "-" },
            verdict(hwm < RSS_GOAL_KB),
        ));
        if opts.freeze {
            frozen.push((b, url, schema));
        }
    }
    let again = run_child(&["parse", &path])?;
    println!(
        "{}",
        step_line("read+parse again (drift)", &again, rows, "rows", Some(base))
    );
    // The file is no longer needed: give its disk back before the freezes write theirs.
    let _ = std::fs::remove_file(&csv);

    if !frozen.is_empty() {
        println!(
            "\n== freeze (Store::freeze, signed by testdata/proof/signer-p256, no TSA); load average {} ==",
            loadavg()
        );
        let mut merkle: Option<Step> = None;
        for (b, url, schema) in frozen {
            let cert = fixtures.signer_cert.display().to_string();
            let key = fixtures.signer_key.display().to_string();
            let step = match run_child(&["freeze", &url, &schema, &cert, &key]) {
                Ok(s) => s,
                Err(e) => {
                    println!("  freeze on {}: FAILED: {e}", b.label());
                    summary.push(format!("freeze {}: FAILED: {e}", b.label()));
                    continue;
                }
            };
            let pairs = step.get("pairs");
            if merkle.is_none() {
                let m = run_child(&["merkle", &format!("{pairs:.0}")])?;
                println!(
                    "{}",
                    step_line(
                        "tree of as many leaves (baseline)",
                        &m,
                        pairs,
                        "pairs",
                        Some(m.secs())
                    )
                );
                merkle = Some(m);
            }
            let base = merkle.as_ref().map(Step::secs);
            println!(
                "{}",
                step_line(
                    &format!("freeze on {}", b.label()),
                    &step,
                    pairs,
                    "pairs",
                    base
                )
            );
            println!("    {} pairs in the snapshot", thousands(pairs));
            summary.push(format!(
                "freeze {:<10} {:>7.1} s  {:>10} pairs/s ({} pairs)  {:>6.2}x the in-memory tree  peak RSS {:>7}",
                b.label(),
                step.secs(),
                thousands(pairs / step.secs()),
                thousands(pairs),
                step.secs() / base.unwrap_or(f64::NAN),
                mb(step.get("hwm_kb")),
            ));
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Phase 3: decisions over HTTP.

/// What a request expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    Approved,
    Refused(&'static str),
    /// `--pairs` ran out of distinct IMEIs for this run.
    Exhausted,
}

/// The requests of a run: request `j` takes entry `j * stride mod entries`, so requests hit
/// the whole store; entries that share an IMEI with another are skipped.
struct Requests {
    entries: u64,
    stride: u64,
    next: AtomicU64,
    authorization: String,
    host: String,
}

fn gcd(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { gcd(b, a % b) }
}

impl Requests {
    fn new(entries: u64, key: &str, addr: SocketAddr) -> Self {
        let mut stride = 7_919 % entries.max(2);
        while gcd(stride, entries) != 1 {
            stride += 1;
        }
        Self {
            entries,
            stride,
            next: AtomicU64::new(0),
            authorization: format!("Bearer {key}"),
            host: addr.to_string(),
        }
    }

    /// The next request's HTTP bytes into `http`, and what it expects.
    fn next_into(&self, http: &mut Vec<u8>) -> Expect {
        let (j, e) = loop {
            let j = self.next.fetch_add(1, Ordering::Relaxed);
            let e = (j % self.entries) * self.stride % self.entries;
            if kind(e) != Kind::SecondSim {
                break (j, e);
            }
        };
        let (mut imei, mut sim) = (imei15(e), e);
        let expect = if j >= self.entries {
            Expect::Exhausted
        } else {
            match kind(e) {
                Kind::Normal | Kind::SecondSim => Expect::Approved,
                Kind::Late => Expect::Refused("not-seen-before-cutoff"),
                Kind::Blocked => Expect::Refused("blocklisted"),
                Kind::BadCheckDigit => {
                    let last = imei.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
                    imei.push(char::from_digit((last + 1) % 10, 10).unwrap_or('0'));
                    Expect::Refused("invalid-imei")
                }
                Kind::OtherSim => {
                    sim = e + 1;
                    Expect::Refused("seen-with-other-sim")
                }
            }
        };
        let owner = national_id(100_000_000 + j);
        let m = msisdn(sim);
        // Half as the USSD gateway asserts the SIM (IMSI and MSISDN), half as the web portal
        // (the MSISDN alone, in the national form).
        let body = if j.is_multiple_of(2) {
            format!(
                r#"{{"national_id":"{owner}","imeis":["{imei}"],"imsi":"{}","msisdn":"{m}"}}"#,
                imsi(sim)
            )
        } else {
            format!(
                r#"{{"national_id":"{owner}","imeis":["{imei}"],"msisdn":"0{}"}}"#,
                &m[2..]
            )
        };
        http.clear();
        let _ = write!(
            http,
            "POST /v1/devices HTTP/1.1\r\nHost: {}\r\nAuthorization: {}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            self.host,
            self.authorization,
            body.len()
        );
        expect
    }
}

/// One connection's requests.
struct Decisions {
    requests: Arc<Requests>,
    http: Vec<u8>,
    expect: Expect,
}

/// Finds `"key":"value"` in compact JSON.
fn has(body: &[u8], key: &str, value: &str) -> bool {
    load::find(body, format!("\"{key}\":\"{value}\"").as_bytes()).is_some()
}

impl load::Exchange for Decisions {
    fn request(&mut self) -> &[u8] {
        self.expect = self.requests.next_into(&mut self.http);
        &self.http
    }

    /// Every answer must be the decision the generator expects; the first of a connection
    /// is decoded in full.
    fn check(&mut self, first: bool, body: &[u8]) -> Result<load::Checked, String> {
        let cheap = match self.expect {
            Expect::Approved => has(body, "decision", "approved"),
            Expect::Refused(code) => has(body, "decision", "refused") && has(body, "code", code),
            Expect::Exhausted => {
                return Err("out of distinct IMEIs: give a larger --pairs".into());
            }
        };
        if !cheap {
            let got = serde_json::from_slice::<DecisionView>(body).map_or_else(
                |_| "an unreadable body".to_string(),
                |v| {
                    let codes: Vec<&str> = v.reasons.iter().map(|r| r.code.as_str()).collect();
                    format!("{} {codes:?}", v.decision)
                },
            );
            return Err(format!("expected {:?}, got {got}", self.expect));
        }
        if !first {
            return Ok(load::Checked::Cheaply);
        }
        let view: DecisionView =
            serde_json::from_slice(body).map_err(|e| format!("decision JSON: {e}"))?;
        let codes: Vec<&str> = view.reasons.iter().map(|r| r.code.as_str()).collect();
        let expected: Vec<&str> = match self.expect {
            Expect::Refused(code) => vec![code],
            _ => vec![],
        };
        let code_ok = view.tracking_code.len() == 10
            && view.tracking_code.bytes().all(|b| b.is_ascii_digit());
        if codes != expected || !code_ok || view.snapshot_version != 1 {
            return Err(format!("decision not as expected: {view:?}"));
        }
        Ok(load::Checked::Fully)
    }
}

/// The TSA driven alone: every connection sends the same request (certReq and a nonce, as the
/// registry's client asks).
struct Tokens {
    request: Arc<[u8]>,
}

impl load::Exchange for Tokens {
    fn request(&mut self) -> &[u8] {
        &self.request
    }

    fn check(&mut self, first: bool, body: &[u8]) -> Result<load::Checked, String> {
        if load::der_looks_like(body, 1, &[0x02, 0x01, 0x00]) {
            Ok(if first {
                load::Checked::Fully
            } else {
                load::Checked::Cheaply
            })
        } else {
            Err("HTTP 200 but not a granted TimeStampResp".into())
        }
    }
}

/// Where the CPU of a run went, per kind of thread, in cores and microseconds per answer.
fn cpu_lines(run: &load::Run, what: &str) -> Vec<String> {
    let cpu = run.cpu(load::cores());
    let mut lines = Vec::new();
    if cpu.total <= 0.0 || run.ok == 0 {
        return lines;
    }
    let per = |secs: f64| secs / run.ok as f64 * 1e6;
    for (c, (_, name)) in cpu.kinds.iter().zip(load::THREAD_KINDS) {
        // Threads that idled through the window (the other server's) are left out.
        if c.threads > 0 && c.cpu / run.window >= 0.005 {
            lines.push(format!(
                "    {name:<32}{:>6.2} cores {:>9.1} us/{what}",
                c.cpu / run.window,
                per(c.cpu)
            ));
        }
    }
    lines.push(format!(
        "    {:<32}{:>6.2} cores {:>9.1} us/{what}",
        "this process",
        cpu.total / run.window,
        per(cpu.total)
    ));
    if let Some((busy, others)) = cpu.machine {
        lines.push(format!(
            "    machine busy {busy:.2} of {} cores; other processes {others:.2} cores",
            load::cores()
        ));
    }
    lines
}

fn run_line(what: &str, run: &load::Run) -> String {
    let mut s = format!(
        "{:>9.0}/s  p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms  ({} in {:.1} s; errors {})",
        run.rate(),
        run.latency_ms(0.50),
        run.latency_ms(0.99),
        run.latency_ms(1.0),
        thousands(run.ok as f64),
        run.window,
        run.n_errors()
    );
    for (k, v) in &run.errors {
        let _ = write!(s, "\n      {v:>8} {what}: {k}");
    }
    s
}

/// GETs `path` from `addr` with `authorization`; returns the status and body.
async fn get(addr: SocketAddr, path: &str, authorization: &str) -> Result<(u16, Vec<u8>), String> {
    let mut s = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| e.to_string())?;
    let head =
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: {authorization}\r\n\r\n");
    s.write_all(head.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let (status, body) =
        tokio::time::timeout(load::REQUEST_TIMEOUT, load::read_response(&mut s, &mut buf))
            .await
            .map_err(|_| "time-out".to_string())??;
    Ok((status, buf[body].to_vec()))
}

#[allow(clippy::too_many_arguments)]
fn decisions_phase(
    opts: &Opts,
    b: Backend,
    dir: &Path,
    fixtures: &Fixtures,
    schemas: &mut Schemas,
    tsa_addr: SocketAddr,
    tsa_request: &TimeStampReq,
    summary: &mut Vec<String>,
) -> Result<(), String> {
    let ticks = load::clock_ticks();
    let cores = load::cores();
    let workers = opts.load.server_workers.unwrap_or(cores).max(1);
    let signing_threads = opts.load.signing_threads.unwrap_or(cores).max(1);
    let server_rt = load::server_runtime(workers);
    let [url, schema] = store_args(b, dir, "decisions", opts, schemas);
    let schema = (schema != "-").then_some(schema);

    // Setup (not measured): a store with a frozen snapshot, a blocklist and a portal key.
    let file = Sightings::with_entries(opts.pairs);
    let csv = dir.join("decisions.csv");
    println!(
        "\n== decisions on {}: {} conns, {:.0} s after {:.1} s warm-up; load average {} ==",
        b.label(),
        opts.load.conns,
        opts.load.secs,
        opts.load.warmup,
        loadavg()
    );
    let t = Instant::now();
    file.write(&csv, Layout::Dated)
        .map_err(|e| format!("{}: {e}", csv.display()))?;
    let (store, key, tree_size) = server_rt.block_on(async {
        let store = open_store(&url, schema.as_deref()).await?;
        let options = ImportOptions {
            operator: "bench-operator".into(),
            max_bad_share: sightings::DEFAULT_BAD_SHARE_THRESHOLD,
            progress: false,
        };
        import_file(&store, &csv, &options, None)
            .await
            .map_err(|e| e.to_string())?;
        let blocked: Vec<String> = (0..file.entries)
            .filter(|&e| kind(e) == Kind::Blocked)
            .map(|e| imei15(e)[..14].to_string())
            .collect();
        store
            .add_to_blocklist(&blocked, 0)
            .await
            .map_err(|e| e.to_string())?;
        let tree_size = freeze(&store, &fixtures.signer_cert, &fixtures.signer_key).await?;
        let (key, _) = store
            .add_api_key(Scope::Portal, "bench", 0)
            .await
            .map_err(|e| e.to_string())?;
        Ok::<_, String>((store, key, tree_size))
    })?;
    let _ = std::fs::remove_file(&csv);
    println!(
        "  setup: {} entries ({} rows) imported, snapshot of {} pairs frozen in {:.1} s",
        thousands(file.entries as f64),
        thousands(file.rows as f64),
        thousands(tree_size as f64),
        t.elapsed().as_secs_f64()
    );

    // The registry, as `serve` builds it: `cli::notary` with the TSA's URL.
    let tsa_url = format!("http://{tsa_addr}/tsa");
    let listener = server_rt
        .block_on(TcpListener::bind("127.0.0.1:0"))
        .map_err(|e| e.to_string())?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = server_rt.block_on(async {
        let args = SignerArgs {
            signer_cert: Some(fixtures.signer_cert.clone()),
            signer_key: Some(fixtures.signer_key.clone()),
            tsa_url: Some(tsa_url.clone()),
        };
        let notary = notary(&args, CryptoBackend::RustCrypto, signing_threads, true)
            .map_err(|e| e.to_string())?;
        let registry = Arc::new(Registry::new(store, notary, Rules::default()));
        let server = Arc::new(Server::new(registry, opts.load.limits()));
        Ok::<_, String>(tokio::spawn(server.serve(listener, async {
            let _ = stop_rx.await;
        })))
    })?;

    // The single-thread costs of the crypto a decision does on the registry's side.
    let signer = gica_serve::keys::load_signer(
        &fixtures.signer_key,
        gica_pki::SignerOptions::default(),
        CryptoBackend::RustCrypto,
        1,
    )
    .map_err(|e| e.to_string())?;
    let sign = load::raw_sign_rate(signer.as_ref(), opts.load.raw_secs, ticks);

    // a) the TSA alone, b) decisions, c) the TSA alone again.
    let tsa_http: Arc<[u8]> = load::post_request(
        tsa_addr,
        "/tsa",
        QUERY_TYPE,
        &tsa_request.to_der().map_err(|e| e.to_string())?,
    )
    .0
    .into();
    let tokens = |label: &str| {
        let exchanges = (0..opts.load.conns)
            .map(|_| Tokens {
                request: tsa_http.clone(),
            })
            .collect();
        let run = load::drive(tsa_addr, exchanges, &opts.load, ticks);
        println!("  TSA alone ({label}): {}", run_line("token", &run));
        for l in cpu_lines(&run, "token") {
            println!("{l}");
        }
        run
    };
    let before = tokens("before");
    let check = before.sample.as_deref().map(|reply| {
        load::rate_of(opts.load.raw_secs, ticks, || {
            std::hint::black_box(
                gica_pki::tsp::check_reply(
                    reply,
                    &Expectation::request(tsa_request),
                    &AlgorithmPolicy::default(),
                )
                .expect("the TSA's reply checks"),
            );
        })
    });
    let requests = Arc::new(Requests::new(file.entries, &key, addr));
    let exchanges = (0..opts.load.conns)
        .map(|_| Decisions {
            requests: requests.clone(),
            http: Vec::with_capacity(512),
            expect: Expect::Approved,
        })
        .collect();
    let run = load::drive(addr, exchanges, &opts.load, ticks);
    println!("  decisions: {}", run_line("decision", &run));
    for l in cpu_lines(&run, "decision") {
        println!("{l}");
    }
    let after = tokens("after");
    let tsa_rate = (before.rate() + after.rate()) / 2.0;

    // A receipt, fetched and verified in full.
    let receipt_note = match run
        .sample
        .as_deref()
        .map(serde_json::from_slice::<DecisionView>)
    {
        Some(Ok(view)) => {
            let fetched = server_rt.block_on(get(
                addr,
                &format!("/v1/receipts/{}", view.tracking_code),
                &requests.authorization,
            ));
            match fetched {
                Ok((200, der)) => {
                    let anchors = load::certs("root-ca.pem");
                    match ProofVerifier::new(anchors)
                        .untrusted(load::certs("chain.pem"))
                        .content_type(oid::CT_REGISTRY_RECEIPT)
                        .verify(&der, SystemTime::now())
                    {
                        Ok(_) => format!(
                            "receipt {} ({}, {} bytes) verified: signature, chain, time-stamp",
                            view.tracking_code,
                            view.decision,
                            der.len()
                        ),
                        Err(e) => format!("receipt {} FAILED to verify: {e}", view.tracking_code),
                    }
                }
                Ok((status, _)) => format!("receipt: HTTP {status}"),
                Err(e) => format!("receipt: {e}"),
            }
        }
        Some(Err(e)) => format!("sample decision unreadable: {e}"),
        None => "no sample decision".into(),
    };
    println!("  {receipt_note}");

    let _ = stop_tx.send(());
    let stopped = server_rt.block_on(load::stopped(serving));
    server_rt.shutdown_timeout(Duration::from_secs(2));

    // Where a decision's CPU went, beside the costs measured on one thread.
    let cpu = run.cpu(cores);
    let per = |secs: f64| secs / run.ok.max(1) as f64 * 1e6;
    let registry_us = per(cpu.kinds[load::SERVER_ASYNC].cpu + cpu.kinds[load::SIGNING].cpu);
    let sqlite_us = per(cpu.kinds[load::SQLITE].cpu);
    let tsa_us = per(cpu.kinds[load::TSA].cpu);
    let tsa_cpu = before.cpu(cores);
    let tsa_alone_us = tsa_cpu.kinds[load::TSA].cpu / before.ok.max(1) as f64 * 1e6;
    let sqlite = if b == Backend::Sqlite {
        format!(", SQLite workers {sqlite_us:.0} us")
    } else {
        ", PostgreSQL's server: among the other processes".to_string()
    };
    println!(
        "  CPU per decision: registry threads {registry_us:.0} us{sqlite}, TSA {tsa_us:.0} us (a \
         token alone costs the TSA {tsa_alone_us:.0} us); for comparison, on one thread: the \
         receipt's P-256 signature {:.0} us, the client's check of a token reply {}",
        sign.us(),
        check.map_or("?".into(), |c| format!("{:.0} us", c.us())),
    );
    println!(
        "  decisions/s over TSA tokens/s (mean of before and after): {:.3}; server stop: {stopped}",
        run.rate() / tsa_rate
    );
    let p99 = run.latency_ms(0.99);
    summary.push(format!(
        "decisions {:<10} {:>6.0}/s  p50 {:.1} ms  p99 {:.1} ms  errors {}  ratio to TSA alone {:.3} ({:.0} and {:.0} tokens/s)  goals (>= {DECISIONS_GOAL:.0}/s, p99 < {P99_GOAL_MS:.0} ms): {} / {}",
        b.label(),
        run.rate(),
        run.latency_ms(0.5),
        p99,
        run.n_errors(),
        run.rate() / tsa_rate,
        before.rate(),
        after.rate(),
        verdict(run.rate() >= DECISIONS_GOAL),
        verdict(p99 < P99_GOAL_MS),
    ));
    summary.push(format!("  {receipt_note}"));
    if run.n_errors() > 0 || !receipt_note.contains("verified") {
        return Err(format!("decisions on {}: errors, see above", b.label()));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        match child(&args[1..]) {
            Ok(vals) => {
                let mut line = RESULT.to_string();
                for (k, v) in vals {
                    let _ = write!(line, " {k}={v}");
                }
                println!("{line}");
                return;
            }
            Err(e) => {
                eprintln!("child {}: {e}", args[1..].join(" "));
                std::process::exit(2);
            }
        }
    }

    let mut opts = Opts::from_env_and_args();
    let started = Instant::now();
    let dir = tempfile::Builder::new()
        .prefix("gica-registry-bench-")
        .tempdir_in(std::env::temp_dir())
        .expect("temporary directory");
    let mut schemas = Schemas {
        url: opts.postgres_url.clone(),
        names: Vec::new(),
    };
    if opts.backends.contains(&Backend::Postgres) {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        if let Err(e) = rt.block_on(async {
            let db = Db::connect(&opts.postgres_url).await?;
            db.close().await;
            Ok::<_, gica_store::StoreError>(())
        }) {
            println!("PostgreSQL at GICA_TEST_POSTGRES_URL is not reachable ({e}): skipped");
            opts.backends.retain(|b| *b != Backend::Postgres);
        }
    }
    let fixtures = Fixtures::write(dir.path());
    println!(
        "gica registry bench: {} cores, load average {} at start; rows {}, pairs {}, backends {:?}; files in {}",
        load::cores(),
        loadavg(),
        thousands(opts.rows as f64),
        thousands(opts.pairs as f64),
        opts.backends,
        dir.path().display()
    );
    let mut summary = Vec::new();
    let mut failed = Vec::new();

    if opts.import
        && let Err(e) = import_phase(&opts, dir.path(), &fixtures, &mut schemas, &mut summary)
    {
        println!("import phase FAILED: {e}");
        failed.push(e);
    }

    if opts.decisions {
        // The TSA every decision phase stamps with, on its own runtime (`tsa-*` threads).
        let workers = opts.load.server_workers.unwrap_or(load::cores()).max(1);
        let tsa_rt = load::named_runtime("tsa", workers);
        let mut config = AuthorityConfig::new(POLICY.parse().expect("policy OID"));
        config.chain = load::certs("chain.pem");
        let tsa_signer = gica_serve::keys::load_signer(
            &load::fixture_path("tsa-p256.key"),
            gica_pki::SignerOptions::default(),
            CryptoBackend::RustCrypto,
            1,
        )
        .expect("fixture TSA key");
        let authority =
            Authority::new(load::cert1("tsa-p256.pem"), tsa_signer, config).expect("authority");
        let tsa = Arc::new(
            TsaServer::new(
                authority,
                opts.load.limits(),
                opts.load.signing_threads.unwrap_or(load::cores()).max(1),
                Arc::new(SystemClock),
            )
            .expect("TSA server"),
        );
        let listener = tsa_rt
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("bind 127.0.0.1:0");
        let tsa_addr = listener.local_addr().expect("local address");
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let tsa_task = tsa_rt.spawn(tsa.serve(listener, async {
            let _ = stop_rx.await;
        }));
        let tsa_request = TimeStampReqBuilder::new(DigestAlgorithm::Sha256)
            .data(b"a receipt's signature")
            .with_nonce()
            .cert_req(true)
            .build()
            .expect("request");
        for b in opts.backends.clone() {
            if let Err(e) = decisions_phase(
                &opts,
                b,
                dir.path(),
                &fixtures,
                &mut schemas,
                tsa_addr,
                &tsa_request,
                &mut summary,
            ) {
                println!("decisions on {}: FAILED: {e}", b.label());
                failed.push(e);
            }
        }
        let _ = stop_tx.send(());
        let _ = tsa_rt.block_on(load::stopped(tsa_task));
        tsa_rt.shutdown_timeout(Duration::from_secs(2));
    }

    drop(schemas);
    drop(dir);
    println!(
        "\n== summary (load average {} at the end; {:.0} s in all) ==",
        loadavg(),
        started.elapsed().as_secs_f64()
    );
    for l in &summary {
        println!("{l}");
    }
    if !failed.is_empty() {
        println!("FAILED: {}", failed.join("; "));
        std::process::exit(1);
    }
}
