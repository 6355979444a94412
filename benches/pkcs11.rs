//! PKCS#11 overhead per signature: the same fixture key signing in software (RustCrypto) and
//! on SoftHSM2 through `Pkcs11Signer`, P-256 and RSA-2048, side by side in one run, then the
//! ratios from one more timed pass over the four.
//!
//! SoftHSM2 signs with OpenSSL, so the table also shows `openssl speed` for the same key sizes:
//! SoftHSM2 minus OpenSSL is what the PKCS#11 path (the module's per-call work and ours)
//! costs a signature.
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

/// Signatures per second of `openssl speed -mr` for RSA-2048 and P-256 (about 1 s each).
fn openssl_speed() -> Option<(f64, f64)> {
    let out = std::process::Command::new("openssl")
        .args(["speed", "-seconds", "1", "-mr", "rsa2048", "ecdsap256"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    // `+F2:i:bits:sign/s:verify/s` (RSA) and `+F4:...` (ECDSA).
    let rate = |tag: &str, bits: &str| {
        text.lines()
            .map(|l| l.split(':').collect::<Vec<_>>())
            .find(|f| f.len() >= 4 && f[0] == tag && f[2] == bits)
            .and_then(|f| f[3].parse::<f64>().ok())
    };
    Some((rate("+F2", "2048")?, rate("+F4", "256")?))
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

    let speed = openssl_speed();
    println!("\nPKCS#11 overhead per signature, one thread (2 s each):");
    println!(
        "key      RustCrypto    SoftHSM2   SoftHSM2/RustCrypto   openssl speed   PKCS#11 path"
    );
    for (name, soft, hard) in &pairs {
        let s = time_per_sign(soft, 2.0).as_secs_f64() * 1e6;
        let h = time_per_sign(hard, 2.0).as_secs_f64() * 1e6;
        let raw = speed.map(|(rsa, p256)| 1e6 / if *name == "p256" { p256 } else { rsa });
        let (raw_text, path_text) = match raw {
            Some(r) => (format!("{r:.1} us"), format!("{:+.1} us", h - r)),
            None => ("n/a".into(), "n/a".into()),
        };
        println!(
            "{name:<8} {s:>8.1} us {h:>8.1} us {:>17.2}x {raw_text:>15} {path_text:>14}",
            h / s
        );
    }
}
