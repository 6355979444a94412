//! Prometheus metrics of the TSA.

use std::time::Duration;

use gica_pki::{
    GenTime,
    der::asn1::Int,
    tsp::{FailureInfo, Rejection},
    x509_cert::Certificate,
};
use gica_serve::HttpResponse;
use prometheus_client::{
    metrics::{counter::Counter, family::Family, gauge::Gauge, histogram::Histogram},
    registry::Registry,
};

type Labels = [(&'static str, &'static str); 1];

/// The TSA's counters, histogram and gauge, in one registry.
pub struct Metrics {
    registry: Registry,
    requests: Family<Labels, Counter>,
    failures: Family<Labels, Counter>,
    signing: Histogram,
    expiry_days: Gauge<f64, std::sync::atomic::AtomicU64>,
}

impl Metrics {
    /// Registers every metric.
    pub fn new(_cert: &Certificate) -> Self {
        let mut registry = Registry::with_prefix("gica_tsa");
        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "requests",
            "Time-stamp requests by outcome (granted, rejection, or an HTTP error)",
            requests.clone(),
        );
        let failures = Family::<Labels, Counter>::default();
        registry.register(
            "failures",
            "Rejections by PKIFailureInfo bit",
            failures.clone(),
        );
        let signing = Histogram::new([
            0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0,
        ]);
        registry.register(
            "signing_seconds",
            "Time to check, stamp and sign one request",
            signing.clone(),
        );
        let expiry_days = Gauge::<f64, std::sync::atomic::AtomicU64>::default();
        registry.register(
            "certificate_expiry_days",
            "Days until the TSA certificate expires",
            expiry_days.clone(),
        );
        for bit in FailureInfo::ALL {
            let _ = failures.get_or_create(&[("fail_info", bit.name())]);
        }
        Self {
            registry,
            requests,
            failures,
            signing,
            expiry_days,
        }
    }

    /// Registers `gica_tsa_signer_info{backend, algorithm} 1` for the TSA's signer.
    pub fn signer(&mut self, signer: &dyn gica_pki::Signer) {
        gica_serve::register_signer_info(&mut self.registry, [(Vec::new(), signer)]);
    }

    /// Counts a signing outcome.
    pub fn outcome(&self, outcome: &Result<(Int, GenTime), Rejection>, elapsed: Option<Duration>) {
        match outcome {
            Ok(_) => self.requests.get_or_create(&[("outcome", "granted")]).inc(),
            Err(r) => {
                self.failures
                    .get_or_create(&[("fail_info", r.fail_info.name())])
                    .inc();
                self.requests
                    .get_or_create(&[("outcome", "rejection")])
                    .inc()
            }
        };
        if let Some(e) = elapsed {
            self.signing.observe(e.as_secs_f64());
        }
    }

    /// Counts a request refused at the HTTP level.
    pub fn http_error(&self, kind: &'static str) {
        self.requests.get_or_create(&[("outcome", kind)]).inc();
    }

    /// The `/metrics` response.
    pub fn render(&self, left: Option<Duration>) -> HttpResponse {
        self.expiry_days
            .set(left.map_or(0.0, |d| d.as_secs_f64() / 86_400.0));
        gica_serve::metrics_response(&self.registry)
    }
}
