//! Criterion benchmarks of the TSP core against the fixture PKI (testdata/pki).
//!
//! - `parse`: decoding a typical request and `Authority::check`.
//! - `issue`: `Authority::respond` end to end, P-256 and RSA-2048, with and without certReq.
//! - `sign_raw`: `Signer::sign` of a 100-byte message, the floor issuance is compared to.
//! - `overhead`: the other per-request work the server does around `respond`, and `respond`
//!   with a signer that returns a precomputed signature: everything issuance costs but the
//!   signature itself (timing noise makes `issue - sign_raw` unreliable for small differences).
//!
//! `cargo bench --bench tsa` (add a filter such as `-- issue/` to run one group).

use std::{
    hint::black_box,
    sync::Arc,
    time::{Duration, SystemTime},
};

use criterion::{Criterion, criterion_group, criterion_main};
use der::{Decode, Encode};
use gica_pki::{
    DigestAlgorithm, Result, Signer, SignerOptions, SoftwareSigner, cert,
    spki::{AlgorithmIdentifierOwned, SubjectPublicKeyInfoOwned},
    tsp::{
        Authority, AuthorityConfig, TimeStampReq, TimeStampReqBuilder, TimeStampResp, random_serial,
    },
    x509_cert::Certificate,
};

const POLICY: &str = "1.3.6.1.4.1.99999.1.1";

fn fixture(name: &str) -> String {
    let p = format!("{}/testdata/pki/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn certs(name: &str) -> Vec<Certificate> {
    cert::load_pem_certs(&fixture(name)).expect("fixture certificates")
}

fn signer(key: &str) -> Arc<SoftwareSigner> {
    Arc::new(SoftwareSigner::from_pem(&fixture(key), SignerOptions::default()).expect("key"))
}

/// A signer that hands out one precomputed (valid) signature: `respond` with it costs
/// everything but the private-key operation.
#[derive(Debug)]
struct CannedSigner {
    inner: Arc<SoftwareSigner>,
    signature: Vec<u8>,
}

impl CannedSigner {
    fn new(inner: Arc<SoftwareSigner>) -> Self {
        let signature = inner.sign(b"canned").expect("signs");
        Self { inner, signature }
    }
}

impl Signer for CannedSigner {
    fn signature_algorithm(&self) -> &AlgorithmIdentifierOwned {
        self.inner.signature_algorithm()
    }
    fn digest_algorithm(&self) -> DigestAlgorithm {
        self.inner.digest_algorithm()
    }
    fn public_key(&self) -> &SubjectPublicKeyInfoOwned {
        self.inner.public_key()
    }
    fn sign(&self, message: &[u8]) -> Result<Vec<u8>> {
        // Hash like a real signer does (the digest is part of every real signature's cost).
        black_box(self.inner.digest_algorithm().digest(message));
        Ok(self.signature.clone())
    }
}

/// The TSA `name` (tsa-p256 or tsa-rsa) with the default config and the fixture chain.
fn authority(name: &str) -> Authority {
    authority_with(name, signer(&format!("{name}.key")))
}

fn authority_with(name: &str, signer: Arc<dyn Signer>) -> Authority {
    let mut config = AuthorityConfig::new(POLICY.parse().expect("policy OID"));
    config.chain = certs("chain.pem");
    Authority::new(certs(&format!("{name}.pem")).remove(0), signer, config).expect("authority")
}

/// A typical request: SHA-256 imprint, 64-bit nonce, certReq as given.
fn request_der(cert_req: bool) -> Vec<u8> {
    TimeStampReqBuilder::new(DigestAlgorithm::Sha256)
        .data(b"a document to be time-stamped")
        .with_nonce()
        .cert_req(cert_req)
        .build()
        .expect("request")
        .to_der()
        .expect("request DER")
}

fn parse(c: &mut Criterion) {
    let tsa = authority("tsa-p256");
    let req = request_der(true);
    let mut g = c.benchmark_group("parse");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    g.bench_function("TimeStampReq::from_der", |b| {
        b.iter(|| TimeStampReq::from_der(black_box(&req)).expect("decodes"));
    });
    g.bench_function("Authority::check", |b| {
        b.iter(|| tsa.check(black_box(&req)).expect("accepted"));
    });
    g.finish();
}

fn issue(c: &mut Criterion) {
    let serial = random_serial().expect("serial");
    let mut g = c.benchmark_group("issue");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (name, label) in [("tsa-p256", "p256"), ("tsa-rsa", "rsa2048")] {
        let tsa = authority(name);
        if label == "rsa2048" {
            g.sample_size(20);
        }
        for cert_req in [false, true] {
            let req = request_der(cert_req);
            // Sanity: the request is granted (a benchmark of rejections would be meaningless).
            assert!(
                tsa.respond(&req, SystemTime::now(), serial.clone())
                    .outcome
                    .is_ok()
            );
            g.bench_function(format!("{label}/cert_req={cert_req}"), |b| {
                b.iter(|| {
                    let issued = tsa.respond(black_box(&req), SystemTime::now(), serial.clone());
                    black_box(issued.der)
                });
            });
        }
    }
    g.finish();
}

fn sign_raw(c: &mut Criterion) {
    let msg = [0x5au8; 100];
    let mut g = c.benchmark_group("sign_raw");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3));
    for (key, label) in [("tsa-p256.key", "p256"), ("tsa-rsa.key", "rsa2048")] {
        let s = signer(key);
        if label == "rsa2048" {
            g.sample_size(20);
        }
        g.bench_function(label, |b| {
            b.iter(|| s.sign(black_box(&msg)).expect("signs"));
        });
    }
    g.finish();
}

/// Work the HTTP server adds per token besides `respond` (serial generation), and what a
/// client pays to decode a response.
fn overhead(c: &mut Criterion) {
    let tsa = authority("tsa-p256");
    let resp = tsa
        .respond(
            &request_der(false),
            SystemTime::now(),
            random_serial().expect("serial"),
        )
        .der;
    let mut g = c.benchmark_group("overhead");
    g.warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(2));
    g.bench_function("random_serial", |b| {
        b.iter(|| random_serial().expect("serial"));
    });
    g.bench_function("TimeStampResp::from_der/p256", |b| {
        b.iter(|| TimeStampResp::from_der(black_box(&resp)).expect("decodes"));
    });
    let serial = random_serial().expect("serial");
    for (name, label) in [("tsa-p256", "p256"), ("tsa-rsa", "rsa2048")] {
        let tsa = authority_with(
            name,
            Arc::new(CannedSigner::new(signer(&format!("{name}.key")))),
        );
        for cert_req in [false, true] {
            let req = request_der(cert_req);
            assert!(
                tsa.respond(&req, SystemTime::now(), serial.clone())
                    .outcome
                    .is_ok()
            );
            g.bench_function(
                format!("respond_without_signing/{label}/cert_req={cert_req}"),
                |b| {
                    b.iter(|| {
                        let issued =
                            tsa.respond(black_box(&req), SystemTime::now(), serial.clone());
                        black_box(issued.der)
                    });
                },
            );
        }
    }
    g.finish();
}

criterion_group!(benches, parse, issue, sign_raw, overhead);
criterion_main!(benches);
