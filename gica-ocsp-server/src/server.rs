//! The HTTP responder: POST and GET OCSP (RFC 6960 A.1, RFC 5019), CRL files, health, metrics.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant, SystemTime},
};

use base64ct::{Base64, Base64Unpadded, Base64Url, Base64UrlUnpadded, Encoding};
use bytes::Bytes;
use gica_pki::{
    DigestAlgorithm,
    der::Encode,
    ocsp::{CertId, OcspResponseStatus, ParsedRequest, Responder, Status, parse_request},
    x509_cert::Certificate,
};
use gica_serve::{HttpResponse, Limits, SigningPool};
use hyper::{Method, Request, StatusCode, body::Incoming, header, header::HeaderValue};
use prometheus_client::{
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};
use tokio::sync::OnceCell;

use crate::store::{AnyStore, RecordStatus, RevocationStore};

/// Media type of requests.
pub const REQUEST_TYPE: &str = "application/ocsp-request";
/// Media type of responses.
pub const RESPONSE_TYPE: &str = "application/ocsp-response";
/// Media type of CRLs (RFC 5280 4.2.1.13 via RFC 2585).
pub const CRL_TYPE: &str = "application/pkix-crl";

/// One issuer served: its responder, its store id and its published CRL.
pub struct IssuerState {
    /// Short name, used in `/crl/{name}.crl`.
    pub name: String,
    /// Store id (see [`crate::issuer_id`]).
    pub id: String,
    /// Answers OCSP for this issuer.
    pub responder: Responder,
    /// The current CRL, once generated or loaded.
    pub crl: RwLock<Option<Bytes>>,
}

impl std::fmt::Debug for IssuerState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IssuerState")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
struct Cached {
    der: Bytes,
    /// False for answers about serials never issued: those may become good any moment.
    cacheable: bool,
    next_update: SystemTime,
    refresh_at: SystemTime,
    etag: String,
    /// Header values rendered once at signing, not on every cache hit.
    headers: Arc<[(header::HeaderName, HeaderValue); 3]>,
}

type Cell = Arc<OnceCell<Cached>>;

/// One cache slot: which certificate it answers for (so a revocation can drop it whether or
/// not its signature is done) and the response, signed once.
struct Slot {
    issuer: usize,
    serial: Vec<u8>,
    cell: Cell,
}

/// Runtime settings of the responder.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// HTTP limits.
    pub limits: Limits,
    /// Largest number of cached responses.
    pub cache_capacity: usize,
    /// Longest a revocation may take to reach answers; when the change log has not been read
    /// successfully for this long, the cache is bypassed.
    pub max_staleness: Duration,
    /// Signing threads.
    pub signing_threads: usize,
}

/// The OCSP responder's state.
pub struct OcspServer {
    issuers: Vec<IssuerState>,
    store: AnyStore,
    cache: Mutex<HashMap<Vec<u8>, Slot>>,
    last_poll: std::sync::atomic::AtomicU64,
    options: ServeOptions,
    signing: SigningPool,
    metrics: Metrics,
}

impl std::fmt::Debug for OcspServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OcspServer")
            .field("issuers", &self.issuers)
            .finish_non_exhaustive()
    }
}

struct Metrics {
    registry: Registry,
    requests: Family<[(&'static str, &'static str); 2], Counter>,
    cache: Family<[(&'static str, &'static str); 1], Counter>,
    signing: Histogram,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("gica_ocsp");
        let requests = Family::default();
        registry.register(
            "requests",
            "OCSP requests by method and outcome",
            requests.clone(),
        );
        let cache = Family::default();
        registry.register("cache", "Response cache lookups by result", cache.clone());
        let signing = Histogram::new([0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5]);
        registry.register(
            "signing_seconds",
            "Time to sign one response",
            signing.clone(),
        );
        Self {
            registry,
            requests,
            cache,
            signing,
        }
    }

    fn request(&self, method: &'static str, outcome: &'static str) {
        self.requests
            .get_or_create(&[("method", method), ("outcome", outcome)])
            .inc();
    }
}

/// Decodes the `{base64}` of `GET /ocsp/{base64}`: percent-decoding that leaves '+' alone,
/// standard or URL-safe alphabet, padding optional, leading slashes ('//') tolerated.
///
/// ```
/// use gica_ocsp_server::server::decode_get_path;
/// assert_eq!(decode_get_path("//MAA%3D").unwrap(), vec![0x30, 0x00]);
/// assert_eq!(decode_get_path("MAA").unwrap(), vec![0x30, 0x00]);
/// assert!(decode_get_path("%zz").is_none());
/// ```
pub fn decode_get_path(raw: &str) -> Option<Vec<u8>> {
    let raw = raw.trim_start_matches('/');
    if raw.len() > 4 * 16 * 1024 {
        return None;
    }
    let mut text = Vec::with_capacity(raw.len());
    let bytes = raw.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let v = u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?;
            text.push(v);
            i += 3;
        } else {
            text.push(bytes[i]);
            i += 1;
        }
    }
    let s = std::str::from_utf8(&text).ok()?.trim();
    // Whitespace some clients leave in (line breaks of PEM-style base64).
    let s: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    Base64::decode_vec(&s)
        .or_else(|_| Base64Unpadded::decode_vec(&s))
        .or_else(|_| Base64Url::decode_vec(&s))
        .or_else(|_| Base64UrlUnpadded::decode_vec(&s))
        .ok()
}

fn http_date(t: SystemTime) -> HeaderValue {
    HeaderValue::from_str(&httpdate::fmt_http_date(t))
        .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}

fn ocsp_status(status: OcspResponseStatus) -> HttpResponse {
    gica_serve::respond(
        StatusCode::OK,
        RESPONSE_TYPE,
        Bytes::copy_from_slice(&status.response_der()),
    )
}

impl OcspServer {
    /// A responder for `issuers`, reading statuses from `store`.
    pub fn new(issuers: Vec<IssuerState>, store: AnyStore, options: ServeOptions) -> Self {
        let signing = SigningPool::new(options.signing_threads, Duration::from_secs(5));
        Self {
            issuers,
            store,
            cache: Mutex::new(HashMap::new()),
            last_poll: std::sync::atomic::AtomicU64::new(unix_secs(SystemTime::now())),
            options,
            signing,
            metrics: Metrics::new(),
        }
    }

    /// The issuers served.
    pub fn issuers(&self) -> &[IssuerState] {
        &self.issuers
    }

    /// The store.
    pub fn store(&self) -> &AnyStore {
        &self.store
    }

    /// Drops cached responses for these (issuer id, serial) pairs, signed or still being
    /// signed; returns how many.
    pub fn invalidate(&self, changed: &[(String, Vec<u8>)]) -> usize {
        let set: std::collections::HashSet<(usize, &[u8])> = changed
            .iter()
            .filter_map(|(id, serial)| {
                let idx = self.issuers.iter().position(|i| i.id == *id)?;
                Some((idx, serial.as_slice()))
            })
            .collect();
        let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        let before = cache.len();
        cache.retain(|_, slot| !set.contains(&(slot.issuer, slot.serial.as_slice())));
        before - cache.len()
    }

    fn cache_trusted(&self) -> bool {
        let last = self.last_poll.load(std::sync::atomic::Ordering::Relaxed);
        unix_secs(SystemTime::now()).saturating_sub(last) <= self.options.max_staleness.as_secs()
    }

    /// Answers one HTTP request.
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> HttpResponse {
        let path = req.uri().path().to_string();
        match (req.method(), path.as_str()) {
            (&Method::POST, "/ocsp" | "/") => {
                if !gica_serve::content_type_is(&req, REQUEST_TYPE) {
                    self.metrics.request("POST", "unsupported_media_type");
                    return gica_serve::text(
                        StatusCode::UNSUPPORTED_MEDIA_TYPE,
                        format!("Content-Type must be {REQUEST_TYPE}"),
                    );
                }
                match gica_serve::read_body(req, &self.options.limits).await {
                    Ok(body) => self.answer(&body, "POST", None).await,
                    Err(e) => {
                        self.metrics.request("POST", "bad_body");
                        gica_serve::text(e.status(), e.to_string())
                    }
                }
            }
            (&Method::GET | &Method::HEAD, "/healthz") => gica_serve::text(StatusCode::OK, "ok"),
            (&Method::GET, "/metrics") => gica_serve::metrics_response(&self.metrics.registry),
            (&Method::GET | &Method::HEAD, p) if p.starts_with("/crl/") => self.crl(p),
            (&Method::GET, p) => {
                let raw = p.strip_prefix("/ocsp").unwrap_or(p);
                let inm = req
                    .headers()
                    .get(header::IF_NONE_MATCH)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                // A request of max_body octets is at most 4/3 as long in base64, plus escapes.
                let too_long = raw.len() > self.options.limits.max_body * 2 + 64;
                match (!too_long).then(|| decode_get_path(raw)).flatten() {
                    Some(der) => self.answer(&der, "GET", Some(inm)).await,
                    None => {
                        self.metrics.request("GET", "malformedRequest");
                        ocsp_status(OcspResponseStatus::MalformedRequest)
                    }
                }
            }
            (_, "/ocsp" | "/") => gica_serve::method_not_allowed("GET, POST"),
            _ => gica_serve::text(StatusCode::NOT_FOUND, "not found"),
        }
    }

    fn crl(&self, path: &str) -> HttpResponse {
        let name = path.trim_start_matches("/crl/").trim_end_matches(".crl");
        match self.issuers.iter().find(|i| i.name == name) {
            Some(issuer) => match issuer.crl.read().unwrap_or_else(|p| p.into_inner()).clone() {
                Some(der) => gica_serve::respond(StatusCode::OK, CRL_TYPE, der),
                None => gica_serve::text(StatusCode::SERVICE_UNAVAILABLE, "no CRL generated yet"),
            },
            None => gica_serve::text(StatusCode::NOT_FOUND, "no such CRL"),
        }
    }

    async fn answer(
        self: &Arc<Self>,
        der: &[u8],
        method: &'static str,
        if_none_match: Option<Option<String>>,
    ) -> HttpResponse {
        let parsed = match parse_request(der, self.options_max_ids()) {
            Ok(p) => p,
            Err(status) => {
                self.metrics.request(method, status.name());
                return ocsp_status(status);
            }
        };
        let Some(issuer) = self.issuer_of(&parsed) else {
            self.metrics.request(method, "unauthorized");
            return ocsp_status(OcspResponseStatus::Unauthorized);
        };
        let cacheable = parsed.nonce.is_none() && parsed.cert_ids.len() == 1;
        let result = if cacheable {
            self.cached(issuer, &parsed.cert_ids[0]).await
        } else {
            self.fresh(issuer, &parsed).await
        };
        let cached = match result {
            Ok(c) => c,
            Err(status) => {
                self.metrics.request(method, status.name());
                return ocsp_status(status);
            }
        };
        self.metrics.request(method, "successful");
        let mut resp = gica_serve::respond(StatusCode::OK, RESPONSE_TYPE, cached.der.clone());
        if let Some(inm) = if_none_match
            && cacheable
        {
            // RFC 5019 6: caching headers on GET responses.
            let now = SystemTime::now();
            let max_age = cached
                .next_update
                .duration_since(now)
                .unwrap_or_default()
                .as_secs();
            let h = resp.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&format!(
                "max-age={max_age}, public, no-transform, must-revalidate"
            )) {
                h.insert(header::CACHE_CONTROL, v);
            }
            for (name, value) in cached.headers.iter() {
                h.insert(name.clone(), value.clone());
            }
            // If-None-Match uses the weak comparison (RFC 9110 13.1.2).
            if inm.is_some_and(|v| {
                v.split(',').any(|t| {
                    let t = t.trim();
                    t == "*" || t.strip_prefix("W/").unwrap_or(t) == cached.etag
                })
            }) {
                *resp.status_mut() = StatusCode::NOT_MODIFIED;
                *resp.body_mut() = http_body_util::Full::new(Bytes::new());
            }
        } else {
            resp.headers_mut()
                .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        resp
    }

    fn options_max_ids(&self) -> usize {
        self.issuers
            .first()
            .map_or(16, |i| i.responder.config().max_cert_ids)
    }

    fn issuer_of(&self, parsed: &ParsedRequest) -> Option<usize> {
        let first = self
            .issuers
            .iter()
            .position(|i| i.responder.serves(&parsed.cert_ids[0]))?;
        parsed
            .cert_ids
            .iter()
            .all(|id| self.issuers[first].responder.serves(id))
            .then_some(first)
    }

    async fn status_of(&self, issuer: usize, id: &CertId) -> Result<Status, OcspResponseStatus> {
        // RFC 5280 4.1.2.2: serials are at most 20 octets; longer ones were never issued.
        let Some(serial) = id.serial_magnitude().filter(|s| s.len() <= 20) else {
            return Ok(Status::NotIssued);
        };
        let record = self
            .store
            .status(&self.issuers[issuer].id, serial)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "store lookup failed");
                OcspResponseStatus::TryLater
            })?;
        Ok(match record {
            None => Status::NotIssued,
            Some(r) => match r.status {
                RecordStatus::Valid => Status::Good,
                RecordStatus::Revoked { time, reason, .. } => Status::Revoked { time, reason },
            },
        })
    }

    async fn sign(
        self: &Arc<Self>,
        issuer: usize,
        answers: Vec<(CertId, Status)>,
        nonce: Option<gica_pki::x509_cert::ext::Extension>,
        known_at: SystemTime,
    ) -> Result<Cached, OcspResponseStatus> {
        let me = self.clone();
        let cacheable = answers.iter().all(|(_, s)| *s != Status::NotIssued);
        let job = self.signing.run(move || {
            let start = Instant::now();
            // thisUpdate: when the status was read, not when the signature was made.
            let now = known_at;
            let r = me.issuers[issuer]
                .responder
                .sign(&answers, nonce.as_ref(), now);
            me.metrics.signing.observe(start.elapsed().as_secs_f64());
            r.map(|der| (der, now))
        });
        let (der, now) = match job.await {
            Ok(Ok(x)) => x,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "signing failed");
                return Err(OcspResponseStatus::InternalError);
            }
            Err(_) => return Err(OcspResponseStatus::TryLater),
        };
        let validity = self.issuers[issuer].responder.config().validity;
        let this_update = SystemTime::UNIX_EPOCH
            + Duration::from_secs(
                now.duration_since(SystemTime::UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_secs(),
            );
        let etag = format!(
            "\"{}\"",
            hex::encode(&DigestAlgorithm::Sha256.digest(&der)[..16])
        );
        let next_update = this_update + validity;
        let headers = Arc::new([
            (header::LAST_MODIFIED, http_date(this_update)),
            (header::EXPIRES, http_date(next_update)),
            (
                header::ETAG,
                HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"\"")),
            ),
        ]);
        Ok(Cached {
            der: Bytes::from(der),
            cacheable,
            next_update,
            refresh_at: this_update + validity / 2,
            etag,
            headers,
        })
    }

    async fn fresh(
        self: &Arc<Self>,
        issuer: usize,
        parsed: &ParsedRequest,
    ) -> Result<Cached, OcspResponseStatus> {
        let known_at = SystemTime::now();
        let mut answers = Vec::with_capacity(parsed.cert_ids.len());
        for id in &parsed.cert_ids {
            answers.push((id.clone(), self.status_of(issuer, id).await?));
        }
        self.sign(issuer, answers, parsed.nonce.clone(), known_at)
            .await
    }

    /// A nonce-less single-CertID response: from the cache until half its validity, signed
    /// once however many requests miss at the same time.
    async fn cached(
        self: &Arc<Self>,
        issuer: usize,
        id: &CertId,
    ) -> Result<Cached, OcspResponseStatus> {
        if !self.cache_trusted() {
            // Revocations might not be reaching the cache: answer from the store.
            self.metrics
                .cache
                .get_or_create(&[("result", "bypass")])
                .inc();
            let known_at = SystemTime::now();
            let status = self.status_of(issuer, id).await?;
            return self
                .sign(issuer, vec![(id.clone(), status)], None, known_at)
                .await;
        }
        let key = id
            .to_der()
            .map_err(|_| OcspResponseStatus::MalformedRequest)?;
        let serial = id.serial_magnitude().unwrap_or_default().to_vec();
        let cell = {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            let now = SystemTime::now();
            let stale = cache
                .get(&key)
                .and_then(|slot| slot.cell.get())
                .is_some_and(|c| c.refresh_at <= now);
            if stale {
                cache.remove(&key);
            }
            if cache.len() >= self.options.cache_capacity && !cache.contains_key(&key) {
                // Full (perhaps of hostile random serials): start over rather than grow.
                cache.clear();
            }
            cache
                .entry(key.clone())
                .or_insert_with(|| Slot {
                    issuer,
                    serial,
                    cell: Cell::default(),
                })
                .cell
                .clone()
        };
        let result = if cell.initialized() { "hit" } else { "miss" };
        self.metrics
            .cache
            .get_or_create(&[("result", result)])
            .inc();
        let me = self.clone();
        let id = id.clone();
        let answer = cell
            .get_or_try_init(|| async move {
                let known_at = SystemTime::now();
                let status = me.status_of(issuer, &id).await?;
                me.sign(issuer, vec![(id, status)], None, known_at).await
            })
            .await
            .cloned()?;
        if !answer.cacheable {
            let mut cache = self.cache.lock().unwrap_or_else(|p| p.into_inner());
            if cache
                .get(&key)
                .is_some_and(|slot| Arc::ptr_eq(&slot.cell, &cell))
            {
                cache.remove(&key);
            }
        }
        Ok(answer)
    }

    /// The newest change-log sequence number: what happened up to now needs no invalidation,
    /// since the cache starts empty. Read before serving, so nothing is skipped.
    pub async fn latest_change(&self) -> Result<i64, crate::store::StoreError> {
        let mut seq = 0;
        loop {
            let page = self.store.changes_since(seq, 10_000).await?;
            match page.iter().map(|c| c.seq).max() {
                Some(max) => seq = max,
                None => return Ok(seq),
            }
            if page.len() < 10_000 {
                return Ok(seq);
            }
        }
    }

    /// Polls the store for revocations after `seq` every `interval` and drops affected cache
    /// entries, so a revocation made by any process sharing the database is answered within
    /// `interval`. While polling fails, the cache is bypassed once `max_staleness` passes.
    pub async fn follow_changes(self: Arc<Self>, mut seq: i64, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            match self.store.changes_since(seq, 10_000).await {
                Ok(changes) => {
                    if !changes.is_empty() {
                        seq = changes.iter().map(|c| c.seq).max().unwrap_or(seq);
                        let pairs: Vec<_> =
                            changes.into_iter().map(|c| (c.issuer, c.serial)).collect();
                        let n = self.invalidate(&pairs);
                        tracing::info!(changes = pairs.len(), dropped = n, "revocations picked up");
                    }
                    self.last_poll.store(
                        unix_secs(SystemTime::now()),
                        std::sync::atomic::Ordering::Relaxed,
                    );
                }
                Err(e) => tracing::warn!(error = %e, "polling the change log failed"),
            }
        }
    }
}

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The store id of an issuer: lowercase hex SHA-256 of its subjectPublicKey bits.
pub fn issuer_id(cert: &Certificate) -> String {
    hex::encode(
        DigestAlgorithm::Sha256.digest(
            cert.tbs_certificate()
                .subject_public_key_info()
                .subject_public_key
                .raw_bytes(),
        ),
    )
}
