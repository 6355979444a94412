//! Criterion benchmarks of CRL building and verification with the fixture intermediate CA
//! (testdata/pki, P-256).
//!
//! - `crl_build/N`: `build_crl` of N entries, signing included (16-octet serials, a reason
//!   each, an invalidityDate on every tenth), N = 10,000 and 1,000,000.
//! - `crl_verify/N`: `verify_crl` of the same CRLs, then one pass over `entries()`.
//!
//! `cargo bench --bench crl` (add `-- crl_build/1000000` to run one). Peak memory is measured
//! by `examples/crl_1m.rs`:
//! `cargo build --release --example crl_1m && /usr/bin/time -v target/release/examples/crl_1m`.
//!
//! The same million entries through `openssl ca -gencrl`, for comparison (its time includes
//! reading the text database):
//!
//! ```sh
//! cd "$(mktemp -d)"
//! awk 'BEGIN { split("keyCompromise superseded cessationOfOperation affiliationChanged", r, " ");
//!   for (i = 0; i < 1000000; i++)
//!     printf "R\t361231235959Z\t261101000000Z,%s\t5A17C0DE00000000%016X\tunknown\t/CN=c%d\n",
//!       r[i % 4 + 1], i, i }' > index.txt
//! echo "unique_subject = no" > index.txt.attr; echo 01 > crlnumber
//! printf '[ca]\ndefault_ca = c\n[c]\ndatabase = index.txt\ncrlnumber = crlnumber\n%s\n%s\n%s\n[e]\n%s\n' \
//!   'default_md = sha256' 'default_crl_days = 7' 'crl_extensions = e' \
//!   'authorityKeyIdentifier = keyid:always' > ca.cnf
//! K=/path/to/gica/testdata/pki
//! /usr/bin/time -v openssl ca -gencrl -batch -config ca.cnf -keyfile $K/int-ca.key \
//!   -cert $K/int-ca.pem -out ossl.pem
//! ```

use std::{
    hint::black_box,
    time::{Duration, SystemTime},
};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use gica_pki::{
    CrlReason, SignerOptions, SoftwareSigner, cert,
    crl::{CrlParams, RevokedEntry, build_crl, verify_crl},
    x509_cert::Certificate,
};

fn fixture(name: &str) -> String {
    let p = format!("{}/testdata/pki/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn issuer() -> (Certificate, SoftwareSigner) {
    let cert = cert::load_pem_certs(&fixture("int-ca.pem"))
        .expect("int-ca.pem")
        .remove(0);
    let key = SoftwareSigner::from_pem(&fixture("int-ca.key"), SignerOptions::default())
        .expect("int-ca.key");
    (cert, key)
}

/// `count` ascending 16-octet serials in one buffer.
fn serials(count: usize) -> Vec<u8> {
    let mut out = vec![0u8; count * 16];
    for (i, s) in out.chunks_exact_mut(16).enumerate() {
        s[..8].copy_from_slice(&0x5a17_c0de_0000_0000u64.to_be_bytes());
        s[8..].copy_from_slice(&(i as u64).to_be_bytes());
    }
    out
}

fn entries(serials: &[u8], now: SystemTime) -> impl Iterator<Item = RevokedEntry<'_>> {
    const REASONS: [CrlReason; 4] = [
        CrlReason::KeyCompromise,
        CrlReason::Superseded,
        CrlReason::CessationOfOperation,
        CrlReason::AffiliationChanged,
    ];
    serials
        .chunks_exact(16)
        .enumerate()
        .map(move |(i, serial)| {
            let when = now - Duration::from_secs(i as u64 % 31_536_000);
            let e = RevokedEntry::new(serial, when).reason(REASONS[i % REASONS.len()]);
            if i % 10 == 0 {
                e.invalidity_date(when - Duration::from_secs(86_400))
            } else {
                e
            }
        })
}

fn crl(c: &mut Criterion) {
    let (ca, key) = issuer();
    let now = SystemTime::now();
    let params = CrlParams::new(now, now + Duration::from_secs(7 * 86_400), 1);
    for count in [10_000usize, 1_000_000] {
        let serials = serials(count);
        let mut g = c.benchmark_group("crl_build");
        g.sample_size(10);
        g.bench_with_input(BenchmarkId::from_parameter(count), &serials, |b, s| {
            b.iter(|| build_crl(&ca, &key, &params, entries(s, now)).expect("build"))
        });
        g.finish();

        let der = build_crl(&ca, &key, &params, entries(&serials, now)).expect("build");
        let mut g = c.benchmark_group("crl_verify");
        g.sample_size(10);
        g.bench_with_input(BenchmarkId::from_parameter(count), &der, |b, der| {
            b.iter(|| {
                let crl = verify_crl(black_box(der), &ca, now).expect("verify");
                crl.entries().map(|e| e.serial.len()).sum::<usize>()
            })
        });
        g.finish();
    }
}

criterion_group!(benches, crl);
criterion_main!(benches);
