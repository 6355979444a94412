//! Raw signatures per second on one core, RustCrypto (`SoftwareSigner`) against aws-lc-rs
//! (`AwsLcSigner`), for the fixture keys: P-256, P-384, RSA-2048 with PKCS#1 v1.5 and with PSS.
//!
//! `cargo bench -p gica-aws-lc --bench sign` runs criterion's per-signature times for both
//! backends, then a side-by-side table: for each key the two backends are timed in turns
//! (GICA_SIGN_ROUNDS rounds, default 5, of GICA_SIGN_SECS seconds each, default 0.4), so a
//! neighbour's load hits both alike, and the ratio aws-lc / RustCrypto is printed.
//! `-- --table` prints only the table; `-- --test` (as `cargo test --benches` passes) runs
//! each once.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use criterion::Criterion;
use gica_aws_lc::AwsLcSigner;
use gica_pki::{DigestAlgorithm, Signer, SignerOptions, SoftwareSigner};

const MESSAGE: [u8; 100] = [0x5a; 100];

/// (name, fixture key, options).
fn keys() -> Vec<(&'static str, &'static str, SignerOptions)> {
    let pss = SignerOptions {
        digest: Some(DigestAlgorithm::Sha256),
        rsa_pss: true,
    };
    vec![
        ("p256", "tsa-p256.key", SignerOptions::default()),
        ("p384", "tsa-p384.key", SignerOptions::default()),
        ("rsa2048-pkcs1", "tsa-rsa.key", SignerOptions::default()),
        ("rsa2048-pss", "tsa-rsa.key", pss),
    ]
}

fn pair(key: &str, options: SignerOptions) -> (SoftwareSigner, AwsLcSigner) {
    let path = format!("{}/../testdata/pki/{key}", env!("CARGO_MANIFEST_DIR"));
    let pem = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    (
        SoftwareSigner::from_pem(&pem, options).expect("RustCrypto key"),
        AwsLcSigner::from_pem(&pem, options).expect("aws-lc key"),
    )
}

fn sign(signer: &dyn Signer) {
    black_box(signer.sign(black_box(&MESSAGE)).expect("signs"));
}

/// Signatures per second of `signer` on this thread for about `secs`.
fn rate(signer: &dyn Signer, secs: f64) -> (u64, f64) {
    let budget = Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < budget {
        sign(signer);
        n += 1;
    }
    (n, start.elapsed().as_secs_f64())
}

fn env_num(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|v: &f64| *v > 0.0)
        .unwrap_or(default)
}

fn side_by_side(test_mode: bool) {
    let rounds = if test_mode {
        1
    } else {
        env_num("GICA_SIGN_ROUNDS", 5.0) as usize
    };
    let secs = if test_mode {
        0.01
    } else {
        env_num("GICA_SIGN_SECS", 0.4)
    };
    println!();
    println!("raw signatures/s on one core ({rounds} alternating rounds of {secs} s each)");
    println!(
        "{:<15} {:>12} {:>12} {:>10} {:>10} {:>8}",
        "key", "rustcrypto/s", "aws-lc/s", "rc us", "aws us", "ratio"
    );
    for (name, key, options) in keys() {
        let (soft, fast) = pair(key, options);
        // Warm both (caches, lazy tables) before anything counts.
        for _ in 0..3 {
            sign(&soft);
            sign(&fast);
        }
        let (mut soft_n, mut soft_t, mut fast_n, mut fast_t) = (0u64, 0f64, 0u64, 0f64);
        for _ in 0..rounds {
            let (n, t) = rate(&soft, secs);
            soft_n += n;
            soft_t += t;
            let (n, t) = rate(&fast, secs);
            fast_n += n;
            fast_t += t;
        }
        let (soft_rate, fast_rate) = (soft_n as f64 / soft_t, fast_n as f64 / fast_t);
        println!(
            "{:<15} {:>12.0} {:>12.0} {:>10.1} {:>10.1} {:>7.1}x",
            name,
            soft_rate,
            fast_rate,
            1e6 / soft_rate,
            1e6 / fast_rate,
            fast_rate / soft_rate
        );
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let test_mode = args.iter().any(|a| a == "--test");
    let table_only = args.iter().any(|a| a == "--table");
    if !table_only {
        let mut c = Criterion::default()
            .measurement_time(Duration::from_secs(3))
            .warm_up_time(Duration::from_secs(1))
            .sample_size(20)
            .configure_from_args();
        for (name, key, options) in keys() {
            let (soft, fast) = pair(key, options);
            let mut group = c.benchmark_group(format!("sign/{name}"));
            group.bench_function("rustcrypto", |b| b.iter(|| sign(&soft)));
            group.bench_function("aws-lc", |b| b.iter(|| sign(&fast)));
            group.finish();
        }
        c.final_summary();
    }
    side_by_side(test_mode);
}
