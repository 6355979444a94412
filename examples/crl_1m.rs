//! Builds and signs a large CRL with the fixture intermediate CA (testdata/pki), then reports
//! the time, the size and the peak resident memory of the process.
//!
//! ```text
//! cargo run --release --example crl_1m -- [ENTRIES] [OUT.der]
//! /usr/bin/time -v target/release/examples/crl_1m 1000000
//! ```
//!
//! ENTRIES defaults to 1,000,000. Each has a 16-octet serial and a reasonCode; every tenth an
//! invalidityDate. The serials live in one buffer, as a store would hand them over.

use std::time::{Duration, Instant, SystemTime};

use gica_pki::{
    CrlReason, SignerOptions, SoftwareSigner, cert,
    crl::{CrlParams, RevokedEntry, build_crl, verify_crl},
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let count: usize = args.next().map_or(Ok(1_000_000), |a| a.parse())?;
    let out = args.next();

    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/pki");
    let ca =
        cert::load_pem_certs(&std::fs::read_to_string(format!("{dir}/int-ca.pem"))?)?.remove(0);
    let key = SoftwareSigner::from_pem(
        &std::fs::read_to_string(format!("{dir}/int-ca.key"))?,
        SignerOptions::default(),
    )?;

    // 16-octet serials, ascending: a fixed random-looking prefix and a counter.
    let mut serials = vec![0u8; count * 16];
    for (i, s) in serials.chunks_exact_mut(16).enumerate() {
        s[..8].copy_from_slice(&0x5a17_c0de_0000_0000u64.to_be_bytes());
        s[8..].copy_from_slice(&(i as u64).to_be_bytes());
    }
    let rss_before = peak_rss_kib();

    let now = SystemTime::now();
    let params = CrlParams::new(now, now + Duration::from_secs(7 * 86_400), 1);
    let reasons = [
        CrlReason::KeyCompromise,
        CrlReason::Superseded,
        CrlReason::CessationOfOperation,
        CrlReason::AffiliationChanged,
    ];
    let entries = serials.chunks_exact(16).enumerate().map(|(i, serial)| {
        let when = now - Duration::from_secs(i as u64 % 31_536_000);
        let entry = RevokedEntry::new(serial, when).reason(reasons[i % reasons.len()]);
        if i % 10 == 0 {
            entry.invalidity_date(when - Duration::from_secs(86_400))
        } else {
            entry
        }
    });

    let start = Instant::now();
    let der = build_crl(&ca, &key, &params, entries)?;
    let built = start.elapsed();
    let rss_after = peak_rss_kib();

    println!("entries:        {count}");
    println!("build+sign:     {:.3} s", built.as_secs_f64());
    println!(
        "CRL size:       {} octets ({:.1} MiB)",
        der.len(),
        der.len() as f64 / 1_048_576.0
    );
    if let (Some(before), Some(after)) = (rss_before, rss_after) {
        println!("peak RSS:       {after} KiB ({before} KiB before building, serials included)");
    }

    let start = Instant::now();
    let crl = verify_crl(&der, &ca, now)?;
    println!(
        "verify_crl:     {:.3} s ({} entries)",
        start.elapsed().as_secs_f64(),
        crl.len()
    );
    if let Some(path) = out {
        std::fs::write(&path, &der)?;
        println!("written to {path}");
    }
    Ok(())
}

/// VmHWM from /proc/self/status (Linux), in KiB.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
