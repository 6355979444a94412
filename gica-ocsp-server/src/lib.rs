//! gica-ocsp-server: OCSP responder (RFC 6960, RFC 5019, RFC 8954), CRL publisher and
//! revocation store.
//!
//! The library holds everything; `main.rs` only parses flags. [`Service::start`] loads the
//! issuers and keys, connects the store, and [`Service::serve`] answers HTTP until shutdown
//! while background tasks keep CRLs fresh and carry revocations into the response cache.
#![forbid(unsafe_code)]
#![warn(missing_docs, clippy::unwrap_used)]

pub mod admin;
pub mod config;
pub mod crl;
pub mod demo;
pub mod index;
pub mod server;

/// The revocation store, from [`gica_store`]: re-exported so callers need one import path.
pub mod store {
    pub use gica_store::revocation::*;
    pub use gica_store::{Db, StoreError};
}

use std::{
    future::Future,
    path::Path,
    sync::{Arc, RwLock},
    time::Duration,
};

use bytes::Bytes;
use gica_pki::{
    Signer, SignerOptions,
    ocsp::{NotIssuedPolicy, Responder, ResponderConfig, ResponderIdKind},
    x509_cert::Certificate,
};
use gica_serve::keys::{self, CryptoBackend};
use tokio::net::TcpListener;

pub use server::{IssuerState, OcspServer, ServeOptions, ServedCrl, issuer_id};

use crate::{
    config::ServeSettings,
    store::{AnyStore, RevocationWriter, StatusSource, StoreError},
};

/// Why something could not start or run, said plainly.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// Bad settings.
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A certificate or key is unfit.
    #[error("{what}: {source}")]
    Pki {
        /// Which.
        what: String,
        /// Why.
        source: gica_pki::Error,
    },
    /// A responder could not be set up with this certificate and key.
    #[error("{what}: {source}")]
    Responder {
        /// The responder certificate (the delegate's, or the issuer's).
        what: String,
        /// Why.
        source: gica_pki::ocsp::ResponderError,
    },
    /// A certificate or key file could not be read or is unfit.
    #[error(transparent)]
    Load(#[from] gica_serve::keys::LoadError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] store::StoreError),
    /// CRL generation failed.
    #[error(transparent)]
    Crl(#[from] crl::CrlGenError),
}

/// The first certificate of a PEM file.
pub fn load_cert(path: &Path) -> Result<Certificate, AppError> {
    Ok(keys::load_cert(path)?)
}

/// A signing key: a PEM file (signed with by RustCrypto), or a `pkcs11:` URI naming a key on
/// a token.
pub fn load_key(path: &Path) -> Result<Arc<dyn Signer>, AppError> {
    load_key_with(path, CryptoBackend::RustCrypto, default_sessions())
}

/// [`load_key`] signed with by `backend` (`--crypto`), with `sessions` PKCS#11 sessions
/// pooled (the server's signing threads) for a token key.
pub fn load_key_with(
    path: &Path,
    backend: CryptoBackend,
    sessions: usize,
) -> Result<Arc<dyn Signer>, AppError> {
    Ok(keys::load_signer(
        path,
        SignerOptions::default(),
        backend,
        sessions,
    )?)
}

/// PKCS#11 sessions for a command that signs without a signing pool: one per core.
pub fn default_sessions() -> usize {
    std::thread::available_parallelism().map_or(2, usize::from)
}

struct CrlJob {
    issuer: usize,
    key: Arc<dyn Signer>,
    idp: Option<gica_pki::crl::IssuingDistributionPoint>,
}

/// A configured responder, ready to serve.
pub struct Service {
    server: Arc<OcspServer>,
    crl_jobs: Vec<CrlJob>,
    settings: ServeSettings,
    change_seq: i64,
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Service")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Service {
    /// Loads issuers and keys (checking them), connects and migrates the store, and makes a
    /// first CRL for every issuer whose CA key is configured.
    pub async fn start(settings: ServeSettings) -> Result<Self, AppError> {
        let store = AnyStore::connect(&settings.db).await?;
        let mut issuers = Vec::new();
        let mut crl_jobs = Vec::new();
        for (idx, ic) in settings.issuers.iter().enumerate() {
            let cert = load_cert(&ic.cert)?;
            let key = |p: &Path| load_key_with(p, settings.crypto, settings.signing_threads);
            let ca_key = ic.ca_key.as_deref().map(key).transpose()?;
            let (delegate, signer) = match (&ic.responder_cert, &ic.responder_key) {
                (Some(c), Some(k)) => (Some(load_cert(c)?), key(k)?),
                _ => match &ca_key {
                    Some(k) => (None, k.clone()),
                    None => {
                        return Err(config::ConfigError(
                            "a responder key or CA key is required".into(),
                        )
                        .into());
                    }
                },
            };
            let config = ResponderConfig {
                max_cert_ids: settings.max_cert_ids,
                validity: settings.validity,
                responder_id: if settings.by_name {
                    ResponderIdKind::ByName
                } else {
                    ResponderIdKind::ByKey
                },
                not_issued: if settings.not_issued_revoked {
                    NotIssuedPolicy::Revoked
                } else {
                    NotIssuedPolicy::Unknown
                },
                max_nonce_len: settings.max_nonce_len,
            };
            let what = || {
                ic.responder_cert
                    .as_deref()
                    .unwrap_or(&ic.cert)
                    .display()
                    .to_string()
            };
            let (responder, warnings) = Responder::checked(
                cert.clone(),
                delegate,
                signer,
                config,
                std::time::SystemTime::now(),
            )
            .map_err(|source| AppError::Responder {
                what: what(),
                source,
            })?;
            for warning in warnings {
                tracing::warn!(certificate = %what(), "{warning}");
            }
            let name = ic.name.clone().unwrap_or_else(|| {
                ic.cert.file_stem().map_or_else(
                    || format!("issuer{idx}"),
                    |s| s.to_string_lossy().into_owned(),
                )
            });
            if let Some(key) = ca_key {
                let idp = ic
                    .crl_url
                    .as_deref()
                    .map(crl::idp_for_url)
                    .transpose()
                    .map_err(config::ConfigError)?;
                crl_jobs.push(CrlJob {
                    issuer: idx,
                    key,
                    idp,
                });
            }
            issuers.push(IssuerState {
                name,
                id: issuer_id(&cert),
                responder,
                crl: RwLock::new(None),
            });
        }
        let options = ServeOptions {
            limits: settings.limits,
            cache_capacity: 100_000,
            max_staleness: settings.max_staleness,
            signing_threads: settings.signing_threads,
        };
        let server = Arc::new(OcspServer::new(issuers, store, options));
        let change_seq = server.latest_change().await?;
        let service = Self {
            server,
            crl_jobs,
            settings,
            change_seq,
        };
        // A bad row must not keep OCSP down: sync_crls logs, and the timer retries; /crl
        // answers 503 until a CRL is there.
        service.sync_crls().await;
        Ok(service)
    }

    /// The server state (for tests and embedding).
    pub fn server(&self) -> &Arc<OcspServer> {
        &self.server
    }

    /// How often CRLs are re-made: a quarter of their validity.
    fn crl_every(&self) -> Duration {
        (self.settings.crl_next_update / 4).max(Duration::from_secs(1))
    }

    /// Keeps every issuer's served CRL current. For an issuer whose CA key is configured, a
    /// new CRL is made and published in the store when the published one is a quarter of its
    /// validity old, has less than that left before its nextUpdate, or is missing, even if
    /// nothing changed, so it never goes stale. Then the newest published CRL is served,
    /// whoever made it: responders sharing a store serve the same CRL, and its number never
    /// goes back from one instance to the next. A served CRL near or past its nextUpdate is
    /// logged, and its time left is the `gica_ocsp_crl_seconds_to_next_update` gauge.
    async fn sync_crls(&self) {
        let store = self.server.store();
        let every = self.crl_every();
        for (idx, issuer) in self.server.issuers().iter().enumerate() {
            if let Some(job) = self.crl_jobs.iter().find(|j| j.issuer == idx) {
                let now = std::time::SystemTime::now();
                let due = match store.published_crl_meta(&issuer.id).await {
                    Ok(Some(m)) => m.this_update + every <= now || now + every >= m.next_update,
                    Ok(None) => true,
                    Err(e) => {
                        tracing::warn!(issuer = %issuer.name, error = %e, "reading the published CRL failed");
                        true
                    }
                };
                if due && let Err(e) = self.make_crl(issuer, job).await {
                    tracing::error!(issuer = %issuer.name, error = %e, "CRL generation failed; the previous CRL stays published");
                }
            }
            if let Err(e) = Self::load_published(store, issuer).await {
                tracing::warn!(issuer = %issuer.name, error = %e, "loading the published CRL failed");
            }
            self.server.check_crl_freshness(issuer, every);
        }
    }

    /// Makes and publishes the issuer's next CRL and serves it (no read back from the store);
    /// one that could not be published is served only when nothing is yet (better than no
    /// CRL at all).
    async fn make_crl(&self, issuer: &IssuerState, job: &CrlJob) -> Result<(), AppError> {
        let crl = crl::generate(
            self.server.store(),
            &issuer.id,
            issuer.responder.issuer(),
            job.key.as_ref(),
            self.settings.crl_next_update,
            job.idp.as_ref(),
        )
        .await?;
        if served_number(issuer).is_some_and(|served| served >= crl.number) {
            tracing::error!(
                issuer = %issuer.name,
                number = crl.number,
                "the store's CRL counter is behind the CRL served (a restored database?): \
                 new CRLs cannot replace it until the counter passes it"
            );
        }
        match self.server.store().publish_crl(&issuer.id, &crl).await {
            Ok(published) => {
                tracing::info!(issuer = %issuer.name, number = crl.number, bytes = crl.der.len(), published, "CRL generated");
                if published {
                    serve_if_newer(issuer, crl);
                }
            }
            Err(e) => {
                tracing::warn!(issuer = %issuer.name, error = %e, "publishing the CRL failed; the next round tries again");
                if served_number(issuer).is_none() {
                    serve_if_newer(issuer, crl);
                }
            }
        }
        Ok(())
    }

    /// Serves the issuer's published CRL if it is newer than the one served.
    async fn load_published(store: &AnyStore, issuer: &IssuerState) -> Result<(), StoreError> {
        let Some(meta) = store.published_crl_meta(&issuer.id).await? else {
            return Ok(());
        };
        if served_number(issuer).is_some_and(|served| served >= meta.number) {
            return Ok(());
        }
        if let Some(crl) = store.published_crl(&issuer.id).await? {
            serve_if_newer(issuer, crl);
        }
        Ok(())
    }

    /// Serves on `listener` until `shutdown`; meanwhile re-makes CRLs every quarter of their
    /// validity (even when nothing changed) and polls the store for revocations.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()>,
    ) -> std::io::Result<()> {
        let server = self.server.clone();
        let poll = (self.settings.max_staleness / 2).max(Duration::from_secs(1));
        let follower = tokio::spawn(server.clone().follow_changes(self.change_seq, poll));
        let pruner = tokio::spawn(server.clone().prune_changes());
        // CRLs are checked as often as revocations are polled (or made, if more often), so a
        // CRL another responder published is served here within that time.
        let crl_sync = self.crl_every().min(poll);
        let me = Arc::new(self);
        let crl_task = {
            let me = me.clone();
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(crl_sync);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    me.sync_crls().await;
                }
            })
        };
        let limits = me.settings.limits;
        let result = gica_serve::serve(
            listener,
            limits,
            move |req, _peer| {
                let s = server.clone();
                async move { s.handle(req).await }
            },
            shutdown,
        )
        .await;
        follower.abort();
        pruner.abort();
        crl_task.abort();
        result
    }
}

fn served_number(issuer: &IssuerState) -> Option<u64> {
    issuer
        .crl
        .read()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|c| c.number)
}

/// Replaces the served CRL if `crl` has a higher number (CRL numbers never go back).
fn serve_if_newer(issuer: &IssuerState, crl: store::PublishedCrl) {
    let mut served = issuer.crl.write().unwrap_or_else(|p| p.into_inner());
    if served.as_ref().is_none_or(|c| c.number < crl.number) {
        *served = Some(ServedCrl {
            number: crl.number,
            next_update: crl.next_update,
            der: Bytes::from(crl.der),
        });
    }
}
