//! PKCS#11 overhead per signature: the same fixture key signing in software (RustCrypto) and
//! on SoftHSM2 through `Pkcs11Signer`, P-256 and RSA-2048, side by side in one run, then the
//! ratios from one more timed pass over the four.
//!
//! `cargo bench --bench pkcs11` (SoftHSM2 must be installed: `apt-get install softhsm2`).
//! The bench runs itself again in a child process with a fresh SoftHSM2 token directory.

use std::{
    hint::black_box,
    time::{Duration, Instant},
};

use criterion::Criterion;
use gica_pkcs11::{Pkcs11Options, Pkcs11Signer, testing::SoftHsm};
use gica_pki::{Signer, SignerOptions, SoftwareSigner};

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/pki")
        .join(name)
}

/// Mean time of one signature over about `secs` seconds.
fn time_per_sign(signer: &dyn Signer, secs: f64) -> Duration {
    let msg = [0x5au8; 100];
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed().as_secs_f64() < secs {
        black_box(signer.sign(black_box(&msg)).expect("signs"));
        n += 1;
    }
    start.elapsed() / n.max(1)
}

fn main() {
    let Some(hsm) = SoftHsm::own_process() else {
        eprintln!("pkcs11 bench skipped: SoftHSM2 is not installed (apt-get install softhsm2)");
        return;
    };
    hsm.init_token("bench").expect("token");
    let mut pairs: Vec<(&str, SoftwareSigner, Pkcs11Signer)> = Vec::new();
    for (name, key) in [("p256", "tsa-p256.key"), ("rsa2048", "tsa-rsa.key")] {
        hsm.import_key(
            "bench",
            &fixture(key),
            name,
            if name == "p256" { "01" } else { "02" },
        )
        .expect("import");
        let pem = std::fs::read_to_string(fixture(key)).expect("key");
        let soft = SoftwareSigner::from_pem(&pem, SignerOptions::default()).expect("key");
        let hard = Pkcs11Signer::open(
            &hsm.uri("bench", name),
            Pkcs11Options::new(SignerOptions::default(), 1),
        )
        .expect("token key");
        assert_eq!(soft.public_key(), hard.public_key());
        pairs.push((name, soft, hard));
    }

    let mut c = Criterion::default().configure_from_args();
    {
        let mut g = c.benchmark_group("pkcs11_sign");
        let msg = [0x5au8; 100];
        for (name, soft, hard) in &pairs {
            g.bench_function(format!("{name}/software"), |b| {
                b.iter(|| soft.sign(black_box(&msg)).expect("signs"))
            });
            g.bench_function(format!("{name}/softhsm"), |b| {
                b.iter(|| hard.sign(black_box(&msg)).expect("signs"))
            });
        }
        g.finish();
    }
    c.final_summary();

    println!("\nPKCS#11 overhead per signature, one thread (2 s each):");
    println!("key      software     SoftHSM2     ratio   overhead");
    for (name, soft, hard) in &pairs {
        let s = time_per_sign(soft, 2.0);
        let h = time_per_sign(hard, 2.0);
        println!(
            "{name:<8} {:>9.1} us {:>9.1} us {:>7.2}x {:>+8.1} us",
            s.as_secs_f64() * 1e6,
            h.as_secs_f64() * 1e6,
            h.as_secs_f64() / s.as_secs_f64(),
            (h.as_secs_f64() - s.as_secs_f64()) * 1e6
        );
    }
}
