//! The HTTP responder: POST and GET OCSP (RFC 6960 A.1, RFC 5019), CRL files, health, metrics.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, RwLock},
    time::{Duration, Instant, SystemTime},
};

use bytes::Bytes;
use gica_pki::{
    DigestAlgorithm,
    der::Encode,
    ocsp::{
        CertId, OcspResponseStatus, ParsedRequest, RequestLimits, Responder, ResponseTimes, Status,
        parse_request_with,
    },
    x509_cert::Certificate,
};
use gica_serve::{HttpResponse, Limits, SigningPool};
use hyper::{Method, Request, StatusCode, body::Incoming, header, header::HeaderValue};
use prometheus_client::{
    metrics::{counter::Counter, family::Family, histogram::Histogram},
    registry::Registry,
};
use tokio::sync::OnceCell;

use crate::store::{AnyStore, RecordStatus, RevocationWriter, StatusSource};

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
    /// The CRL served, once generated or loaded from the store.
    pub crl: RwLock<Option<ServedCrl>>,
}

/// A CRL being served.
#[derive(Clone, Debug)]
pub struct ServedCrl {
    /// cRLNumber.
    pub number: u64,
    /// nextUpdate.
    pub next_update: SystemTime,
    /// The signed CRL.
    pub der: Bytes,
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
    headers: [(header::HeaderName, HeaderValue); 3],
}

type Cell = Arc<OnceCell<Arc<Cached>>>;

/// One cache slot: which certificate it answers for (so a revocation can drop it whether or
/// not its signature is done) and the response, signed once.
struct Slot {
    issuer: usize,
    serial: Vec<u8>,
    cell: Cell,
}

/// A status read from the store, kept until a revocation of that serial is seen in the change
/// log (or `max_staleness` passes), so that nonce requests and cache misses need no store
/// round trip. Only `Good` and `Revoked` are kept: a serial never issued may be recorded any
/// moment, and recording is not in the change log.
#[derive(Clone, Copy)]
struct Known {
    status: Status,
    read_at: SystemTime,
}

/// Longest raw GET path remembered as an alias of a cached response; real single-CertID
/// requests are about 100 characters of base64, so longer ones simply take the slow path.
const MAX_ALIAS_LEN: usize = 512;

/// Everything cached, under one lock so that one invalidation covers all of it.
#[derive(Default)]
struct Cache {
    /// Responses by the DER of their CertID.
    slots: HashMap<Vec<u8>, Slot>,
    /// Raw GET paths (after `/ocsp`) whose request was a nonce-less single CertID: the key of
    /// its slot, so a repeated GET is answered without decoding or parsing.
    paths: HashMap<Box<str>, Vec<u8>>,
    /// Statuses by issuer index, then serial magnitude (looked up by slice, no allocation).
    statuses: HashMap<usize, HashMap<Vec<u8>, Known>>,
    /// Bumped by every invalidation: a store read that began before one is not kept.
    epoch: u64,
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

/// The OCSP responder's state, reading statuses from a store `S` (any [`StatusSource`];
/// pruning the change log also needs a [`RevocationWriter`]).
pub struct OcspServer<S = AnyStore> {
    issuers: Vec<IssuerState>,
    store: S,
    cache: Mutex<Cache>,
    last_poll: std::sync::atomic::AtomicU64,
    options: ServeOptions,
    signing: SigningPool,
    metrics: Metrics,
}

impl<S> std::fmt::Debug for OcspServer<S> {
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
    /// Seconds left before each issuer's served CRL passes its nextUpdate (negative: stale).
    crl_left: Family<Vec<(String, String)>, prometheus_client::metrics::gauge::Gauge>,
    /// The hot counters, resolved once instead of looked up in their family per request.
    get_ok: Counter,
    post_ok: Counter,
    hit: Counter,
    miss: Counter,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("gica_ocsp");
        let requests: Family<[(&'static str, &'static str); 2], Counter> = Family::default();
        registry.register(
            "requests",
            "OCSP requests by method and outcome",
            requests.clone(),
        );
        let cache: Family<[(&'static str, &'static str); 1], Counter> = Family::default();
        registry.register("cache", "Response cache lookups by result", cache.clone());
        let signing = Histogram::new([0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5]);
        registry.register(
            "signing_seconds",
            "Time to sign one response",
            signing.clone(),
        );
        let crl_left = Family::default();
        registry.register(
            "crl_seconds_to_next_update",
            "Seconds before the served CRL passes its nextUpdate, by issuer",
            crl_left.clone(),
        );
        let get_ok = requests
            .get_or_create(&[("method", "GET"), ("outcome", "successful")])
            .clone();
        let post_ok = requests
            .get_or_create(&[("method", "POST"), ("outcome", "successful")])
            .clone();
        let hit = cache.get_or_create(&[("result", "hit")]).clone();
        let miss = cache.get_or_create(&[("result", "miss")]).clone();
        Self {
            registry,
            requests,
            cache,
            signing,
            crl_left,
            get_ok,
            post_ok,
            hit,
            miss,
        }
    }

    fn request(&self, method: &'static str, outcome: &'static str) {
        match (method, outcome) {
            ("GET", "successful") => self.get_ok.inc(),
            ("POST", "successful") => self.post_ok.inc(),
            _ => self
                .requests
                .get_or_create(&[("method", method), ("outcome", outcome)])
                .inc(),
        };
    }

    fn cache(&self, result: &'static str) {
        match result {
            "hit" => self.hit.inc(),
            "miss" => self.miss.inc(),
            _ => self.cache.get_or_create(&[("result", result)]).inc(),
        };
    }
}

/// Decodes the `{base64}` of `GET /ocsp/{base64}`: [`gica_pki::ocsp::get::decode_get_path`],
/// any failure as `None`.
///
/// ```
/// use gica_ocsp_server::server::decode_get_path;
/// assert_eq!(decode_get_path("//MAA%3D").unwrap(), vec![0x30, 0x00]);
/// assert_eq!(decode_get_path("MAA").unwrap(), vec![0x30, 0x00]);
/// assert!(decode_get_path("%zz").is_none());
/// ```
pub fn decode_get_path(raw: &str) -> Option<Vec<u8>> {
    gica_pki::ocsp::get::decode_get_path(raw).ok()
}

fn http_date(t: SystemTime) -> HeaderValue {
    HeaderValue::from_str(&httpdate::fmt_http_date(t))
        .unwrap_or_else(|_| HeaderValue::from_static("Thu, 01 Jan 1970 00:00:00 GMT"))
}

/// What a GET brings besides its request: the raw path (to remember as an alias of the
/// cached response) and If-None-Match.
struct GetRequest<'a> {
    raw: &'a str,
    inm: Option<&'a HeaderValue>,
}

/// The HTTP response for a signed OCSP response. `get` is `Some(If-None-Match)` for a
/// cacheable GET: RFC 5019 6 caching headers, and 304 when the ETag matches. Anything else
/// (POST, nonce, several CertIDs) is `no-store`.
fn cache_response(cached: &Cached, get: Option<Option<&HeaderValue>>) -> HttpResponse {
    let mut resp = gica_serve::respond(StatusCode::OK, RESPONSE_TYPE, cached.der.clone());
    let Some(inm) = get else {
        resp.headers_mut()
            .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        return resp;
    };
    let max_age = cached
        .next_update
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .as_secs();
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "max-age={max_age}, public, no-transform, must-revalidate"
    )) {
        h.insert(header::CACHE_CONTROL, v);
    }
    for (name, value) in &cached.headers {
        h.insert(name.clone(), value.clone());
    }
    // If-None-Match uses the weak comparison (RFC 9110 13.1.2).
    let matches = inm.and_then(|v| v.to_str().ok()).is_some_and(|v| {
        v.split(',').any(|t| {
            let t = t.trim();
            t == "*" || t.strip_prefix("W/").unwrap_or(t) == cached.etag
        })
    });
    if matches {
        *resp.status_mut() = StatusCode::NOT_MODIFIED;
        *resp.body_mut() = http_body_util::Full::new(Bytes::new());
    }
    resp
}

fn ocsp_status(status: OcspResponseStatus) -> HttpResponse {
    gica_serve::respond(
        StatusCode::OK,
        RESPONSE_TYPE,
        Bytes::copy_from_slice(&status.response_der()),
    )
}

impl<S: StatusSource + 'static> OcspServer<S> {
    /// A responder for `issuers`, reading statuses from `store`.
    pub fn new(issuers: Vec<IssuerState>, store: S, options: ServeOptions) -> Self {
        let signing = SigningPool::new(options.signing_threads, Duration::from_secs(5))
            .inline_if_fast_signers(
                issuers.iter().map(|i| i.responder.signer().as_ref()),
                b"gica signing-speed probe",
            );
        let mut metrics = Metrics::new();
        gica_serve::register_signer_info(
            &mut metrics.registry,
            issuers.iter().map(|i| {
                (
                    vec![("issuer".to_string(), i.name.clone())],
                    i.responder.signer().as_ref(),
                )
            }),
        );
        Self {
            issuers,
            store,
            cache: Mutex::new(Cache::default()),
            last_poll: std::sync::atomic::AtomicU64::new(unix_secs(SystemTime::now())),
            options,
            signing,
            metrics,
        }
    }

    /// The issuers served.
    pub fn issuers(&self) -> &[IssuerState] {
        &self.issuers
    }

    /// The store.
    pub fn store(&self) -> &S {
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
        let mut cache = self.lock_cache();
        cache.epoch += 1;
        let before = cache.slots.len();
        cache
            .slots
            .retain(|_, slot| !set.contains(&(slot.issuer, slot.serial.as_slice())));
        for (issuer, known) in cache.statuses.iter_mut() {
            known.retain(|serial, _| !set.contains(&(*issuer, serial.as_slice())));
        }
        before - cache.slots.len()
    }

    fn lock_cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A fresh cached response for a GET path seen before, if there is one.
    fn path_hit(&self, raw: &str) -> Option<Arc<Cached>> {
        if raw.len() > MAX_ALIAS_LEN || !self.cache_trusted() {
            return None;
        }
        let cache = self.lock_cache();
        let key = cache.paths.get(raw)?;
        let cached = cache.slots.get(key)?.cell.get()?;
        (cached.cacheable && cached.refresh_at > SystemTime::now()).then(|| cached.clone())
    }

    fn cache_trusted(&self) -> bool {
        let last = self.last_poll.load(std::sync::atomic::Ordering::Relaxed);
        unix_secs(SystemTime::now()).saturating_sub(last) <= self.options.max_staleness.as_secs()
    }

    /// Answers one HTTP request.
    pub async fn handle(self: Arc<Self>, req: Request<Incoming>) -> HttpResponse {
        let uri = req.uri().clone();
        let path = uri.path();
        match (req.method(), path) {
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
            (&Method::GET | &Method::HEAD, "/metrics") => {
                gica_serve::metrics_response(&self.metrics.registry)
            }
            (&Method::GET | &Method::HEAD, p) if p.starts_with("/crl/") => self.crl(p),
            // RFC 5019 5: GET; HEAD answers the same headers (hyper sends no body for HEAD).
            (&Method::GET | &Method::HEAD, p) => {
                let method = if req.method() == Method::HEAD {
                    "HEAD"
                } else {
                    "GET"
                };
                let raw = p.strip_prefix("/ocsp").unwrap_or(p);
                let inm = req.headers().get(header::IF_NONE_MATCH);
                if let Some(hit) = self.path_hit(raw) {
                    self.metrics.cache("hit");
                    self.metrics.request(method, "successful");
                    return cache_response(&hit, Some(inm));
                }
                // A request of max_body octets is at most 4/3 as long in base64, plus escapes.
                let too_long = raw.len() > self.options.limits.max_body * 2 + 64;
                let inm = inm.cloned();
                match (!too_long).then(|| decode_get_path(raw)).flatten() {
                    Some(der) => {
                        self.answer(
                            &der,
                            method,
                            Some(GetRequest {
                                raw,
                                inm: inm.as_ref(),
                            }),
                        )
                        .await
                    }
                    None => {
                        self.metrics.request(method, "malformedRequest");
                        ocsp_status(OcspResponseStatus::MalformedRequest)
                    }
                }
            }
            (_, "/ocsp" | "/") => gica_serve::method_not_allowed("GET, HEAD, POST"),
            _ => gica_serve::text(StatusCode::NOT_FOUND, "not found"),
        }
    }

    fn crl(&self, path: &str) -> HttpResponse {
        let name = path.trim_start_matches("/crl/").trim_end_matches(".crl");
        match self.issuers.iter().find(|i| i.name == name) {
            Some(issuer) => match issuer.crl.read().unwrap_or_else(|p| p.into_inner()).clone() {
                Some(crl) => gica_serve::respond(StatusCode::OK, CRL_TYPE, crl.der),
                None => gica_serve::text(StatusCode::SERVICE_UNAVAILABLE, "no CRL generated yet"),
            },
            None => gica_serve::text(StatusCode::NOT_FOUND, "no such CRL"),
        }
    }

    async fn answer(
        self: &Arc<Self>,
        der: &[u8],
        method: &'static str,
        get: Option<GetRequest<'_>>,
    ) -> HttpResponse {
        let parsed = match parse_request_with(der, self.request_limits()) {
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
            self.cached(issuer, &parsed.cert_ids[0], get.as_ref().map(|g| g.raw))
                .await
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
        match get {
            Some(get) if cacheable => cache_response(&cached, Some(get.inm)),
            _ => cache_response(&cached, None),
        }
    }

    /// Requests are parsed before their issuer is known: all issuers share the serve settings,
    /// so the first one's limits apply.
    fn request_limits(&self) -> RequestLimits {
        self.issuers
            .first()
            .map(|i| i.responder.config().request_limits())
            .unwrap_or_default()
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

    /// The status of one CertID and when it was read from the store: from memory when a
    /// recent read is kept and the change log is being followed, else from the store.
    async fn status_of(
        &self,
        issuer: usize,
        id: &CertId,
    ) -> Result<(Status, SystemTime), OcspResponseStatus> {
        // RFC 5280 4.1.2.2: serials are at most 20 octets; longer ones were never issued.
        let Some(serial) = id.serial_magnitude().filter(|s| s.len() <= 20) else {
            return Ok((Status::NotIssued, SystemTime::now()));
        };
        let trusted = self.cache_trusted();
        let epoch = {
            let cache = self.lock_cache();
            if trusted
                && let Some(known) = cache.statuses.get(&issuer).and_then(|m| m.get(serial))
                && known.read_at + self.options.max_staleness > SystemTime::now()
            {
                // Known correct when read, and still at the last poll of the change log (a
                // revocation since the read would have dropped it): thisUpdate is the later.
                let polled = SystemTime::UNIX_EPOCH
                    + Duration::from_secs(
                        self.last_poll.load(std::sync::atomic::Ordering::Relaxed),
                    );
                return Ok((known.status, known.read_at.max(polled)));
            }
            cache.epoch
        };
        let read_at = SystemTime::now();
        let record = self
            .store
            .status(&self.issuers[issuer].id, serial)
            .await
            .map_err(|e| {
                tracing::error!(error = %e, "store lookup failed");
                OcspResponseStatus::TryLater
            })?;
        let status = match record {
            None => Status::NotIssued,
            Some(r) => match r.status {
                RecordStatus::Valid => Status::Good,
                // A released hold stored by an earlier version (RFC 5280 5.3.1): not revoked,
                // as on the CRL.
                RecordStatus::Revoked {
                    reason: Some(gica_pki::CrlReason::RemoveFromCrl),
                    ..
                } => Status::Good,
                RecordStatus::Revoked { time, reason, .. } => Status::Revoked { time, reason },
            },
        };
        if trusted && status != Status::NotIssued {
            let mut cache = self.lock_cache();
            // An invalidation since the read began may concern this serial: do not keep it.
            if cache.epoch == epoch {
                let capacity = self.options.cache_capacity;
                let known = cache.statuses.entry(issuer).or_default();
                if known.len() >= capacity {
                    known.clear();
                }
                known.insert(serial.to_vec(), Known { status, read_at });
            }
        }
        Ok((status, read_at))
    }

    async fn sign(
        self: &Arc<Self>,
        issuer: usize,
        answers: Vec<(CertId, Status)>,
        nonce: Option<gica_pki::x509_cert::ext::Extension>,
        known_at: SystemTime,
    ) -> Result<Arc<Cached>, OcspResponseStatus> {
        let me = self.clone();
        let cacheable = answers.iter().all(|(_, s)| *s != Status::NotIssued);
        let job = self.signing.run(move || {
            let start = Instant::now();
            // thisUpdate: when the status was read; producedAt: now (never before it, even
            // if the clock stepped back).
            let times = ResponseTimes {
                this_update: known_at,
                produced_at: SystemTime::now().max(known_at),
            };
            let r = me.issuers[issuer]
                .responder
                .sign(&answers, nonce.as_ref(), times);
            me.metrics.signing.observe(start.elapsed().as_secs_f64());
            r
        });
        let der = match job.await {
            Ok(Ok(der)) => der,
            Ok(Err(e)) => {
                tracing::error!(error = %e, "signing failed");
                return Err(OcspResponseStatus::InternalError);
            }
            Err(_) => return Err(OcspResponseStatus::TryLater),
        };
        let validity = self.issuers[issuer].responder.config().validity;
        let this_update = SystemTime::UNIX_EPOCH + Duration::from_secs(unix_secs(known_at));
        let etag = format!(
            "\"{}\"",
            hex::encode(&DigestAlgorithm::Sha256.digest(&der)[..16])
        );
        let next_update = this_update + validity;
        let headers = [
            (header::LAST_MODIFIED, http_date(this_update)),
            (header::EXPIRES, http_date(next_update)),
            (
                header::ETAG,
                HeaderValue::from_str(&etag).unwrap_or_else(|_| HeaderValue::from_static("\"\"")),
            ),
        ];
        Ok(Arc::new(Cached {
            der: Bytes::from(der),
            cacheable,
            next_update,
            refresh_at: this_update + validity / 2,
            etag,
            headers,
        }))
    }

    async fn fresh(
        self: &Arc<Self>,
        issuer: usize,
        parsed: &ParsedRequest,
    ) -> Result<Arc<Cached>, OcspResponseStatus> {
        let mut known_at = SystemTime::now();
        let mut answers = Vec::with_capacity(parsed.cert_ids.len());
        for id in &parsed.cert_ids {
            let (status, read_at) = self.status_of(issuer, id).await?;
            known_at = known_at.min(read_at);
            answers.push((id.clone(), status));
        }
        self.sign(issuer, answers, parsed.nonce.clone(), known_at)
            .await
    }

    /// A nonce-less single-CertID response: from the cache until half its validity, signed
    /// once however many requests miss at the same time. `raw_path`, for GET, is remembered
    /// as an alias of the slot so the next identical GET skips decoding and parsing.
    async fn cached(
        self: &Arc<Self>,
        issuer: usize,
        id: &CertId,
        raw_path: Option<&str>,
    ) -> Result<Arc<Cached>, OcspResponseStatus> {
        if !self.cache_trusted() {
            // Revocations might not be reaching the cache: answer from the store.
            self.metrics.cache("bypass");
            let (status, known_at) = self.status_of(issuer, id).await?;
            return self
                .sign(issuer, vec![(id.clone(), status)], None, known_at)
                .await;
        }
        let key = id
            .to_der()
            .map_err(|_| OcspResponseStatus::MalformedRequest)?;
        let cell = {
            let mut cache = self.lock_cache();
            let now = SystemTime::now();
            let stale = cache
                .slots
                .get(&key)
                .and_then(|slot| slot.cell.get())
                .is_some_and(|c| c.refresh_at <= now);
            if stale {
                cache.slots.remove(&key);
            }
            if cache.slots.len() >= self.options.cache_capacity && !cache.slots.contains_key(&key) {
                // Full (perhaps of hostile random serials): start over rather than grow.
                cache.slots.clear();
                cache.paths.clear();
            }
            match cache.slots.get(&key) {
                Some(slot) => slot.cell.clone(),
                None => {
                    let cell = Cell::default();
                    let slot = Slot {
                        issuer,
                        serial: id.serial_magnitude().unwrap_or_default().to_vec(),
                        cell: cell.clone(),
                    };
                    cache.slots.insert(key.clone(), slot);
                    cell
                }
            }
        };
        self.metrics
            .cache(if cell.initialized() { "hit" } else { "miss" });
        let me = self.clone();
        let id = id.clone();
        let answer = cell
            .get_or_try_init(|| async move {
                let (status, known_at) = me.status_of(issuer, &id).await?;
                me.sign(issuer, vec![(id, status)], None, known_at).await
            })
            .await
            .cloned()?;
        let mut cache = self.lock_cache();
        let current = cache
            .slots
            .get(&key)
            .is_some_and(|slot| Arc::ptr_eq(&slot.cell, &cell));
        if !answer.cacheable {
            if current {
                cache.slots.remove(&key);
            }
        } else if let Some(raw) = raw_path.filter(|r| r.len() <= MAX_ALIAS_LEN)
            && current
            && !cache.paths.contains_key(raw)
        {
            if cache.paths.len() >= self.options.cache_capacity {
                cache.paths.clear();
            }
            cache.paths.insert(raw.into(), key);
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
    /// `interval`. Every page of the log is read in the same round (a mass revocation is not
    /// spread over many rounds). While polling fails, the cache is bypassed once
    /// `max_staleness` passes; when polling works again after that, everything cached is
    /// dropped (changes of the outage may have been pruned from the log).
    pub async fn follow_changes(self: Arc<Self>, mut seq: i64, interval: Duration) {
        let mut tick = tokio::time::interval(interval);
        loop {
            tick.tick().await;
            let was_trusted = self.cache_trusted();
            // What the change log says up to now is applied below: statuses kept in memory
            // are known correct as of this moment (their thisUpdate, see `status_of`).
            let polled_at = SystemTime::now();
            match self.read_changes(&mut seq).await {
                Ok(()) => {
                    if !was_trusted {
                        let n = self.clear_cache();
                        tracing::warn!(
                            dropped = n,
                            "change log readable again after an outage: cache emptied"
                        );
                    }
                    self.last_poll
                        .store(unix_secs(polled_at), std::sync::atomic::Ordering::Relaxed);
                }
                Err(e) => tracing::warn!(error = %e, "polling the change log failed"),
            }
        }
    }

    /// Reads the change log after `seq` to its end, page by page, dropping what each change
    /// concerns from the cache; `seq` follows.
    async fn read_changes(&self, seq: &mut i64) -> Result<(), crate::store::StoreError> {
        const PAGE: i64 = 10_000;
        loop {
            let changes = self.store.changes_since(*seq, PAGE).await?;
            let full = changes.len() as i64 >= PAGE;
            if let Some(max) = changes.iter().map(|c| c.seq).max() {
                *seq = max;
                let pairs: Vec<_> = changes.into_iter().map(|c| (c.issuer, c.serial)).collect();
                let n = self.invalidate(&pairs);
                tracing::info!(changes = pairs.len(), dropped = n, "revocations picked up");
            }
            if !full {
                return Ok(());
            }
        }
    }

    /// Updates the CRL gauge of `issuer` and logs when its served CRL is missing, has less
    /// than `margin` left before nextUpdate, or is past it.
    pub fn check_crl_freshness(&self, issuer: &IssuerState, margin: Duration) {
        let served = issuer.crl.read().unwrap_or_else(|p| p.into_inner()).clone();
        let Some(crl) = served else {
            tracing::warn!(issuer = %issuer.name, "no CRL to serve yet");
            return;
        };
        let now = SystemTime::now();
        let left = match crl.next_update.duration_since(now) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
        };
        self.metrics
            .crl_left
            .get_or_create(&vec![("issuer".to_string(), issuer.name.clone())])
            .set(left);
        if left <= 0 {
            tracing::error!(issuer = %issuer.name, number = crl.number, "the served CRL is past its nextUpdate: relying parties will refuse it");
        } else if u64::try_from(left).is_ok_and(|l| l < margin.as_secs()) {
            tracing::warn!(issuer = %issuer.name, number = crl.number, seconds_left = left, "the served CRL is close to its nextUpdate and no newer one is published");
        }
    }

    /// Drops every cached response, path alias and status; returns how many responses.
    fn clear_cache(&self) -> usize {
        let mut cache = self.lock_cache();
        cache.epoch += 1;
        let n = cache.slots.len();
        cache.slots.clear();
        cache.paths.clear();
        cache.statuses.clear();
        n
    }
}

impl<S: StatusSource + RevocationWriter + 'static> OcspServer<S> {
    /// Deletes change-log entries older than [`CHANGE_RETENTION`] (or ten times
    /// `max_staleness`, if longer) every [`PRUNE_EVERY`], in batches, apart from the poller so
    /// that a long first prune never delays revocations.
    pub async fn prune_changes(self: Arc<Self>) {
        let retention = CHANGE_RETENTION.max(self.options.max_staleness * 10);
        let mut tick = tokio::time::interval(PRUNE_EVERY);
        loop {
            tick.tick().await;
            match self
                .store
                .prune_changes(SystemTime::now() - retention)
                .await
            {
                Ok(n) => tracing::debug!(deleted = n, "change log pruned"),
                Err(e) => tracing::warn!(error = %e, "pruning the change log failed"),
            }
        }
    }
}

/// How often a responder prunes the change log.
pub const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// How long change-log entries are kept: far longer than any follower polls apart (a
/// follower whose polls fail for longer than `max_staleness` empties its cache anyway), with
/// room for clock differences between the hosts that write and prune.
pub const CHANGE_RETENTION: Duration = Duration::from_secs(86_400);

fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The store id of an issuer: [`gica_pki::ocsp::issuer_id`].
pub fn issuer_id(cert: &Certificate) -> String {
    gica_pki::ocsp::issuer_id(cert)
}
