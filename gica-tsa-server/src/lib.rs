//! gica-tsa-server: an RFC 3161 / RFC 5816 time-stamp authority over HTTP.
//!
//! `POST /tsa` (or `/`) with `application/timestamp-query` answers `application/timestamp-reply`;
//! `GET /tsa/certchain` gives the PEM chain, `/healthz` and `/metrics` are for operators.
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used)]

pub mod config;
pub mod demo;
mod metrics;

use std::{
    future::Future,
    sync::Arc,
    time::{Duration, Instant, SystemTime},
};

use bytes::Bytes;
use gica_pki::{
    SignerOptions, cert,
    der::Encode,
    tsp::{
        Accuracy, Authority, AuthorityConfig, FailureInfo, Issued, Rejection, random_serial,
        rejection_der,
    },
};
use gica_serve::{HttpResponse, Limits, keys};
use hyper::{Method, Request, StatusCode, body::Incoming, header};
use tokio::net::TcpListener;

pub use config::{Args, Settings};
pub use metrics::Metrics;

/// Media type of requests (RFC 3161 3.4).
pub const QUERY_TYPE: &str = "application/timestamp-query";
/// Media type of responses (RFC 3161 3.4).
pub const REPLY_TYPE: &str = "application/timestamp-reply";

/// How long a request may wait for a signing thread before the TSA says it is busy.
const SIGNING_QUEUE_WAIT: Duration = Duration::from_secs(5);
/// What the signing-speed probe at start signs (see `SigningPool::inline_if_fast_signers`).
const SPEED_PROBE: &[u8] = b"gica signing-speed probe";

pub use gica_serve::keys::{Clock, SystemClock};

/// Why the server would not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// Settings are wrong.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// A certificate or key file could not be read or is unfit.
    #[error(transparent)]
    Load(#[from] gica_serve::keys::LoadError),
    /// The certificate, key or chain is unfit.
    #[error("{what}: {source}")]
    Pki {
        /// Which input.
        what: String,
        /// Why.
        source: gica_pki::Error,
    },
    /// The TSA certificate has expired or is not yet valid.
    #[error(
        "the TSA certificate is not valid now (notBefore {not_before:?}, notAfter {not_after:?})"
    )]
    CertificateNotValid {
        /// notBefore.
        not_before: SystemTime,
        /// notAfter.
        not_after: SystemTime,
    },
}

/// A running TSA's state: the authority, the signing pool and the metrics.
pub struct TsaServer {
    authority: Authority,
    chain_pem: Bytes,
    limits: Limits,
    signing: gica_serve::SigningPool,
    metrics: Metrics,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for TsaServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TsaServer")
            .field("limits", &self.limits)
            .finish_non_exhaustive()
    }
}

fn pki(what: impl Into<String>) -> impl FnOnce(gica_pki::Error) -> StartError {
    let what = what.into();
    move |source| StartError::Pki { what, source }
}

impl TsaServer {
    /// Loads certificate, key and chain as `settings` say and checks them: critical
    /// timeStamping-only EKU, key matching the certificate, certificate valid now.
    pub fn from_settings(settings: &Settings, clock: Arc<dyn Clock>) -> Result<Self, StartError> {
        let (cert_path, key_path) = match (&settings.cert, &settings.key) {
            (Some(c), Some(k)) => (c, k),
            _ => {
                return Err(config::ConfigError::Invalid {
                    key: "cert",
                    reason: "--cert and --key are required".into(),
                }
                .into());
            }
        };
        let mut certs = keys::load_certs(cert_path)?;
        let tsa_cert = certs.remove(0);
        let options = SignerOptions {
            digest: settings.signing_digest,
            rsa_pss: settings.rsa_pss,
        };
        let signer =
            keys::load_signer(key_path, options, settings.crypto, settings.signing_threads)?;
        let chain_text = match &settings.chain {
            Some(p) => keys::read_text(p)?,
            None => String::new(),
        };
        let mut chain = certs; // anything after the TSA certificate in --cert counts as chain
        chain.extend(cert::load_pem_certs(&chain_text).map_err(pki("chain"))?);
        let mut config = AuthorityConfig::new(settings.policy);
        config.accepted_policies = settings.accept_policies.clone();
        config.accepted_digests = settings.hashes.clone();
        config.accuracy = match settings.accuracy_ms {
            0 => None,
            ms => Some(
                Accuracy::from_millis(ms).ok_or_else(|| config::ConfigError::Invalid {
                    key: "accuracy-ms",
                    reason: "at most 86400000 (a day)".into(),
                })?,
            ),
        };
        config.fraction_digits = settings.fraction_digits;
        config.ordering = settings.ordering;
        config.include_tsa_name = settings.tsa_name;
        config.chain = chain;
        let authority = Authority::new(tsa_cert, signer, config)
            .map_err(pki(cert_path.display().to_string()))?;
        Self::new(authority, settings.limits, settings.signing_threads, clock)
    }

    /// A server around a ready authority.
    pub fn new(
        authority: Authority,
        limits: Limits,
        signing_threads: usize,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartError> {
        let now = clock.now();
        let Some(left) = authority.certificate_time_left(now) else {
            let (not_before, not_after) = cert::validity(authority.certificate());
            return Err(StartError::CertificateNotValid {
                not_before,
                not_after,
            });
        };
        let days = left.as_secs() / 86_400;
        if days < 30 {
            tracing::warn!(days_left = days, "the TSA certificate expires soon");
        }
        let mut chain_pem = String::new();
        for c in std::iter::once(authority.certificate()).chain(authority.config().chain.iter()) {
            let der = c.to_der().map_err(|e| StartError::Pki {
                what: "chain".into(),
                source: e.into(),
            })?;
            let block = gica_pki::der::pem::encode_string(
                "CERTIFICATE",
                gica_pki::der::pem::LineEnding::LF,
                &der,
            )
            .map_err(|e| StartError::Pki {
                what: "chain".into(),
                source: gica_pki::Error::Pem(e.into()),
            })?;
            chain_pem.push_str(&block);
        }
        let mut metrics = Metrics::new(authority.certificate());
        metrics.signer(authority.signer().as_ref());
        let signing = gica_serve::SigningPool::new(signing_threads, SIGNING_QUEUE_WAIT)
            .inline_if_fast_signers([authority.signer().as_ref()], SPEED_PROBE);
        Ok(Self {
            authority,
            chain_pem: Bytes::from(chain_pem),
            limits,
            signing,
            metrics,
            clock,
        })
    }

    /// The authority.
    pub fn authority(&self) -> &Authority {
        &self.authority
    }

    /// Serves on `listener` until `shutdown` resolves, then drains requests in flight.
    pub async fn serve(
        self: Arc<Self>,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let limits = self.limits;
        gica_serve::serve(
            listener,
            limits,
            move |req, _peer| {
                let me = self.clone();
                async move { me.handle(req).await }
            },
            shutdown,
        )
        .await
    }

    /// Answers one HTTP request.
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> HttpResponse {
        let path = req.uri().path().to_string();
        match (req.method(), path.as_str()) {
            (&Method::POST, "/tsa" | "/") => self.time_stamp(req).await,
            (_, "/tsa" | "/") => gica_serve::method_not_allowed("POST"),
            (&Method::GET | &Method::HEAD, "/tsa/certchain") => gica_serve::respond(
                StatusCode::OK,
                "application/pem-certificate-chain",
                self.chain_pem.clone(),
            ),
            (&Method::GET | &Method::HEAD, "/healthz") => gica_serve::text(StatusCode::OK, "ok"),
            (&Method::GET, "/metrics") => self
                .metrics
                .render(self.authority.certificate_time_left(self.clock.now())),
            (_, "/tsa/certchain" | "/healthz" | "/metrics") => {
                gica_serve::method_not_allowed("GET")
            }
            _ => gica_serve::text(
                StatusCode::NOT_FOUND,
                "not found; POST time-stamp queries to /tsa",
            ),
        }
    }

    async fn time_stamp(self: Arc<Self>, req: Request<Incoming>) -> HttpResponse {
        if !gica_serve::content_type_is(&req, QUERY_TYPE) {
            self.metrics.http_error("unsupported_media_type");
            return gica_serve::text(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!("Content-Type must be {QUERY_TYPE}"),
            );
        }
        let body = match gica_serve::read_body(req, &self.limits).await {
            Ok(b) => b,
            Err(e) => {
                self.metrics.http_error(match e.status() {
                    StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
                    StatusCode::REQUEST_TIMEOUT => "timeout",
                    _ => "bad_body",
                });
                return gica_serve::text(e.status(), e.to_string());
            }
        };
        let me = self.clone();
        let job = self.signing.run(move || {
            let start = Instant::now();
            let issued = match random_serial() {
                Ok(serial) => me
                    .authority
                    .respond_with_clock(&body, &|| me.clock.now(), serial),
                Err(e) => {
                    let r = Rejection {
                        fail_info: FailureInfo::SystemFailure,
                        reason: format!("no serial: {e}"),
                    };
                    Issued {
                        der: rejection_der(&r),
                        outcome: Err(r),
                        digest: None,
                    }
                }
            };
            (issued, start.elapsed())
        });
        let Ok((issued, elapsed)) = job.await else {
            return self.busy();
        };
        self.metrics.outcome(&issued.outcome, Some(elapsed));
        let hash = issued.digest.map_or("-", |d| d.name());
        match &issued.outcome {
            Ok((serial, gen_time)) => tracing::info!(
                serial = %hex::encode(serial.as_bytes()),
                gen_time = %gen_time,
                hash,
                outcome = "granted",
                "token issued"
            ),
            Err(r) => {
                tracing::info!(hash, outcome = "rejection", fail_info = r.fail_info.name(), reason = %r.reason, "request refused")
            }
        }
        let mut resp = gica_serve::respond(StatusCode::OK, REPLY_TYPE, issued.der);
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        resp
    }

    fn busy(&self) -> HttpResponse {
        let r = Rejection {
            fail_info: FailureInfo::SystemFailure,
            reason: "the TSA is busy; retry shortly".into(),
        };
        self.metrics.outcome(&Err(r.clone()), None);
        let mut resp = gica_serve::respond(
            StatusCode::SERVICE_UNAVAILABLE,
            REPLY_TYPE,
            rejection_der(&r),
        );
        resp.headers_mut()
            .insert(header::RETRY_AFTER, header::HeaderValue::from_static("1"));
        resp.headers_mut().insert(
            header::CACHE_CONTROL,
            header::HeaderValue::from_static("no-store"),
        );
        resp
    }
}
