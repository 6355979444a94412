//! Generates a CRL the way gica-ocsp-server does (`crl` command, CRL timer): number, revoked
//! entries and time read in one transaction from the store, streamed row by row into a packed
//! list, then built and signed by the fixture intermediate CA. Reports time, CRL size and the
//! process's peak resident memory, so the store path can be held to the same bound as the
//! builder (`examples/crl_1m.rs`).
//!
//! ```text
//! cargo run --release --example crl_store -- prepare /tmp/gica-crl.db 1000000
//! cargo run --release --example crl_store -- generate /tmp/gica-crl.db
//!
//! createdb -h 127.0.0.1 -U postgres gica_crl
//! cargo run --release --example crl_store -- prepare postgres://postgres@127.0.0.1/gica_crl
//! cargo run --release --example crl_store -- generate postgres://postgres@127.0.0.1/gica_crl
//! ```
//!
//! `prepare` records N revoked serials (16 octets, a reasonCode each, every tenth an
//! invalidityDate) for the fixture intermediate CA in a new SQLite file (a path or
//! `sqlite:PATH`) or an empty PostgreSQL database (a `postgres://` URL); `generate` runs in a
//! fresh process so its peak memory is its own.

use std::time::{Duration, Instant, SystemTime};

use gica_ocsp_server::{
    issuer_id,
    store::{AnyStore, CertRecord, RecordStatus, RevocationWriter, StatusSource},
};
use gica_pki::{CrlReason, SignerOptions, SoftwareSigner, cert, crl::verify_crl};

type Error = Box<dyn std::error::Error>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: crl_store prepare DB [N] | crl_store generate DB \
                 (DB: a path, sqlite:PATH or postgres://...)";
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["prepare", path] => runtime.block_on(prepare(path, 1_000_000)),
        ["prepare", path, n] => runtime.block_on(prepare(path, n.parse()?)),
        ["generate", path] => runtime.block_on(generate(path)),
        _ => Err(usage.into()),
    }
}

fn fixture(name: &str) -> Result<String, Error> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/pki");
    Ok(std::fs::read_to_string(format!("{dir}/{name}"))?)
}

/// `sqlite:PATH` or `postgres://...` as given; anything else is a path to an SQLite file.
fn url(db: &str) -> String {
    if db.starts_with("sqlite:") || db.contains("://") {
        db.to_owned()
    } else {
        format!("sqlite:{db}")
    }
}

async fn prepare(db: &str, count: u64) -> Result<(), Error> {
    let url = url(db);
    if let Some(path) = url.strip_prefix("sqlite:")
        && std::path::Path::new(path).exists()
    {
        return Err(format!("{path} exists; give a new file").into());
    }
    let ca = cert::load_pem_certs(&fixture("int-ca.pem")?)?.remove(0);
    let issuer = issuer_id(&ca);
    let store = AnyStore::connect(&url).await?;
    if store.status(&issuer, &serial(0)).await?.is_some() {
        return Err(format!("{db} is prepared already; give an empty database").into());
    }
    let reasons = [
        CrlReason::KeyCompromise,
        CrlReason::Superseded,
        CrlReason::CessationOfOperation,
        CrlReason::AffiliationChanged,
    ];
    let now = SystemTime::now();
    let start = Instant::now();
    // In chunks, so preparing a million does not hold a million records at once.
    for chunk in (0..count).collect::<Vec<_>>().chunks(100_000) {
        let records: Vec<CertRecord> = chunk
            .iter()
            .map(|&i| {
                let time = now - Duration::from_secs(i % 31_536_000);
                CertRecord {
                    issuer: issuer.clone(),
                    serial: serial(i),
                    not_after: None,
                    status: RecordStatus::Revoked {
                        time,
                        reason: Some(reasons[i as usize % reasons.len()]),
                        invalidity_date: (i % 10 == 0).then(|| time - Duration::from_secs(86_400)),
                    },
                }
            })
            .collect();
        store.import(&records).await?;
    }
    println!(
        "recorded {count} revocations in {db} in {:.1} s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The i-th serial: 16 octets.
fn serial(i: u64) -> Vec<u8> {
    let mut serial = 0x5a17_c0de_0000_0000u64.to_be_bytes().to_vec();
    serial.extend_from_slice(&i.to_be_bytes());
    serial
}

async fn generate(db: &str) -> Result<(), Error> {
    let ca = cert::load_pem_certs(&fixture("int-ca.pem")?)?.remove(0);
    let key = SoftwareSigner::from_pem(&fixture("int-ca.key")?, SignerOptions::default())?;
    let store = AnyStore::connect(&url(db)).await?;
    let rss_before = peak_rss_kib();
    let start = Instant::now();
    let crl = gica_ocsp_server::crl::generate(
        &store,
        &issuer_id(&ca),
        &ca,
        &key,
        Duration::from_secs(7 * 86_400),
        None,
    )
    .await?;
    let der = crl.der;
    let took = start.elapsed();
    let rss_after = peak_rss_kib();
    println!("read+build+sign: {:.3} s", took.as_secs_f64());
    println!(
        "CRL size:        {} octets ({:.1} MiB)",
        der.len(),
        der.len() as f64 / 1_048_576.0
    );
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        println!(
            "peak RSS:        {after} KiB ({before} KiB before; growth {:.2} x the CRL size)",
            (after.saturating_sub(before) * 1024) as f64 / der.len() as f64
        );
    }
    let crl = verify_crl(&der, &ca, SystemTime::now())?;
    println!("verified:        {} entries", crl.len());
    Ok(())
}

/// VmHWM from /proc/self/status (Linux), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
