//! The registry's HTTP API (JSON with serde), on gica-serve's accept loop, limits and drain.
//!
//! | route | scope | answer |
//! |---|---|---|
//! | `POST /v1/devices` | portal | 200 decision JSON (approved or refused), 400 naming the field |
//! | `GET /v1/requests/{code}` | portal | the decision JSON |
//! | `GET /v1/receipts/{code}` | portal | the signed receipt, `application/pkcs7-mime` |
//! | `GET /v1/devices?owner=ID` | portal | the owner's devices |
//! | `POST /v1/ussd` | ussd | `text/plain`, at most 160 characters |
//! | `GET /v1/export/full`, `GET /v1/export/delta?since=N` | export | signed `PairList` DER |
//! | `GET /v1/snapshots/latest` | none | the newest signed snapshot (DER) |
//! | `/healthz`, `/metrics` | none | |
//!
//! A missing or unknown key is 401, a key without the scope 403.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use gica_serve::{HttpResponse, Limits, respond};
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, StatusCode};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry as Metrics;
use serde::Serialize;

use crate::apikey::Scope;
use crate::decide::Reason;
use crate::service::{AddDevice, DecisionView, Outcome, Registry, RegistryError};
use crate::ussd;

/// How long a key's verdict is remembered (a revoked key stops working within this).
const KEY_CACHE_TTL: Duration = Duration::from_secs(5);
/// Most keys remembered at once.
const KEY_CACHE_MAX: usize = 1024;

/// Recent verdicts on presented keys, by the key's SHA-256.
type KeyCache = HashMap<[u8; 32], (Option<Scope>, Instant)>;

/// The server's state.
pub struct Server {
    registry: Arc<Registry>,
    limits: Limits,
    metrics: Metrics,
    decisions: Family<[(&'static str, &'static str); 2], Counter>,
    http: Family<[(&'static str, String); 1], Counter>,
    import_rows:
        Family<[(&'static str, &'static str); 1], prometheus_client::metrics::gauge::Gauge>,
    keys: Mutex<KeyCache>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    error: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    field: Option<&'a str>,
    message: String,
}

fn json(status: StatusCode, value: &impl Serialize) -> HttpResponse {
    match serde_json::to_vec(value) {
        Ok(body) => respond(status, "application/json", body),
        Err(e) => error(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            None,
            e.to_string(),
        ),
    }
}

fn error(status: StatusCode, error: &str, field: Option<&str>, message: String) -> HttpResponse {
    let body = ErrorBody {
        error,
        field,
        message,
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{\"error\":\"internal\"}".to_vec());
    respond(status, "application/json", bytes)
}

impl Server {
    /// A server for `registry`.
    pub fn new(registry: Arc<Registry>, limits: Limits) -> Self {
        let mut metrics = Metrics::with_prefix("gica_registry");
        let decisions = Family::<[(&'static str, &'static str); 2], Counter>::default();
        metrics.register(
            "decisions",
            "Add-device decisions by outcome and reason (an approval has reason \"none\")",
            decisions.clone(),
        );
        let http = Family::<[(&'static str, String); 1], Counter>::default();
        metrics.register("http_responses", "HTTP responses by status", http.clone());
        let import_rows = Family::<
            [(&'static str, &'static str); 1],
            prometheus_client::metrics::gauge::Gauge,
        >::default();
        metrics.register(
            "import_rows",
            "Sightings rows of the imported files by result (accepted, bad), read from the database at each scrape",
            import_rows.clone(),
        );
        Self {
            registry,
            limits,
            metrics,
            decisions,
            http,
            import_rows,
            keys: Mutex::new(HashMap::new()),
        }
    }

    /// Serves on `listener` until `shutdown`, then drains.
    pub async fn serve(
        self: Arc<Self>,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        let limits = self.limits;
        gica_serve::serve(
            listener,
            limits,
            move |req, peer| {
                let this = self.clone();
                async move { this.handle(req, peer).await }
            },
            shutdown,
        )
        .await
    }

    /// Answers one request.
    pub async fn handle(
        self: Arc<Self>,
        req: Request<Incoming>,
        _peer: SocketAddr,
    ) -> HttpResponse {
        let response = self.route(req).await;
        self.http
            .get_or_create(&[("status", response.status().as_u16().to_string())])
            .inc();
        response
    }

    async fn route(&self, req: Request<Incoming>) -> HttpResponse {
        let path = req.uri().path().to_owned();
        let method = req.method().clone();
        match (method, path.as_str()) {
            (Method::GET, "/healthz") => self.health().await,
            (Method::GET, "/metrics") => self.metrics_page().await,
            (Method::GET, "/v1/snapshots/latest") => self.latest_snapshot().await,
            (Method::POST, "/v1/devices") => match self.authorize(&req, Scope::Portal).await {
                Ok(()) => self.add_device(req).await,
                Err(r) => r,
            },
            (Method::GET, "/v1/devices") => match self.authorize(&req, Scope::Portal).await {
                Ok(()) => self.devices(&req).await,
                Err(r) => r,
            },
            (Method::GET, p) if p.starts_with("/v1/requests/") => {
                match self.authorize(&req, Scope::Portal).await {
                    Ok(()) => self.request(&p["/v1/requests/".len()..], false).await,
                    Err(r) => r,
                }
            }
            (Method::GET, p) if p.starts_with("/v1/receipts/") => {
                match self.authorize(&req, Scope::Portal).await {
                    Ok(()) => self.request(&p["/v1/receipts/".len()..], true).await,
                    Err(r) => r,
                }
            }
            (Method::POST, "/v1/ussd") => match self.authorize(&req, Scope::Ussd).await {
                Ok(()) => self.ussd(req).await,
                Err(r) => r,
            },
            (Method::GET, "/v1/export/full") => match self.authorize(&req, Scope::Export).await {
                Ok(()) => self.export(None).await,
                Err(r) => r,
            },
            (Method::GET, "/v1/export/delta") => match self.authorize(&req, Scope::Export).await {
                Ok(()) => match query_param(&req, "since").map(|s| s.parse::<u64>()) {
                    Some(Ok(since)) => self.export(Some(since)).await,
                    _ => error(
                        StatusCode::BAD_REQUEST,
                        "bad-request",
                        Some("since"),
                        "give since=N, the sequence number of the list you have".into(),
                    ),
                },
                Err(r) => r,
            },
            (
                _,
                "/healthz" | "/metrics" | "/v1/devices/" | "/v1/export/full" | "/v1/export/delta",
            ) => gica_serve::method_not_allowed("GET"),
            (_, "/v1/devices") => gica_serve::method_not_allowed("GET, POST"),
            (_, "/v1/ussd") => gica_serve::method_not_allowed("POST"),
            _ => error(
                StatusCode::NOT_FOUND,
                "not-found",
                None,
                format!("no such resource: {path}"),
            ),
        }
    }

    async fn authorize<B>(&self, req: &Request<B>, needed: Scope) -> Result<(), HttpResponse> {
        let key = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim);
        let unauthorized = |message: &str| {
            let mut r = error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                None,
                message.into(),
            );
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"gica-registry\""),
            );
            r
        };
        let Some(key) = key else {
            return Err(unauthorized("send Authorization: Bearer KEY"));
        };
        match self.scope_of(key).await {
            Ok(Some(scope)) if scope.allows(needed) => Ok(()),
            Ok(Some(scope)) => Err(error(
                StatusCode::FORBIDDEN,
                "forbidden",
                None,
                format!("a {scope} key cannot use this; it needs the {needed} scope"),
            )),
            Ok(None) => Err(unauthorized("unknown or revoked key")),
            Err(e) => Err(self.internal(&e)),
        }
    }

    async fn scope_of(&self, key: &str) -> Result<Option<Scope>, RegistryError> {
        use sha2::Digest;
        let digest: [u8; 32] = sha2::Sha256::digest(key.as_bytes()).into();
        if let Ok(cache) = self.keys.lock()
            && let Some((scope, at)) = cache.get(&digest)
            && at.elapsed() < KEY_CACHE_TTL
        {
            return Ok(*scope);
        }
        let scope = self.registry.store().authenticate(key).await?;
        if let Ok(mut cache) = self.keys.lock() {
            if cache.len() >= KEY_CACHE_MAX {
                cache.retain(|_, (_, at)| at.elapsed() < KEY_CACHE_TTL);
                if cache.len() >= KEY_CACHE_MAX {
                    cache.clear();
                }
            }
            cache.insert(digest, (scope, Instant::now()));
        }
        Ok(scope)
    }

    fn internal(&self, e: &RegistryError) -> HttpResponse {
        match e {
            RegistryError::Input(i) => error(
                StatusCode::BAD_REQUEST,
                "bad-request",
                Some(i.field),
                i.message.clone(),
            ),
            RegistryError::NoSnapshot => error(
                StatusCode::SERVICE_UNAVAILABLE,
                "no-snapshot",
                None,
                e.to_string(),
            ),
            RegistryError::Sign(_) => {
                tracing::warn!(error = %e, "receipt not signed; the decision is stored");
                let mut r = error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "receipt-pending",
                    None,
                    "the decision is stored but its receipt could not be signed now; retry the same request".into(),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                r
            }
            _ => {
                tracing::error!(error = %e, "request failed");
                let mut r = error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    None,
                    "try again later".into(),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
                r
            }
        }
    }

    async fn body(&self, req: Request<Incoming>) -> Result<Bytes, HttpResponse> {
        gica_serve::read_body(req, &self.limits)
            .await
            .map_err(|e| error(e.status(), "bad-body", Some("body"), e.to_string()))
    }

    fn count(&self, outcome: &Outcome) {
        let r = &outcome.decided.receipt;
        if outcome.decided.repeated {
            return;
        }
        if r.reasons.is_empty() {
            self.decisions
                .get_or_create(&[("outcome", "approved"), ("reason", "none")])
                .inc();
        }
        for reason in &r.reasons {
            let code = Reason::from_code(&reason.code).map_or("other", Reason::code);
            self.decisions
                .get_or_create(&[("outcome", "refused"), ("reason", code)])
                .inc();
        }
    }

    async fn add_device(&self, req: Request<Incoming>) -> HttpResponse {
        if !gica_serve::content_type_is(&req, "application/json") {
            return error(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported-media-type",
                Some("body"),
                "send Content-Type: application/json".into(),
            );
        }
        let body = match self.body(req).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        let request = match AddDevice::from_json(&body) {
            Ok(r) => r,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad-request",
                    Some(e.field),
                    e.message,
                );
            }
        };
        match self.registry.add_device(&request, SystemTime::now()).await {
            Ok(outcome) => {
                self.count(&outcome);
                log_decision(&outcome);
                json(StatusCode::OK, &DecisionView::of(&outcome.decided.receipt))
            }
            Err(e) => self.internal(&e),
        }
    }

    async fn request(&self, code: &str, receipt: bool) -> HttpResponse {
        if code.len() != 10 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return error(
                StatusCode::NOT_FOUND,
                "not-found",
                None,
                "no such tracking code".into(),
            );
        }
        match self.registry.request(code, SystemTime::now()).await {
            Ok(Some(outcome)) if receipt => {
                let mut r = respond(StatusCode::OK, "application/pkcs7-mime", outcome.receipt);
                if let Ok(v) =
                    HeaderValue::from_str(&format!("attachment; filename=\"{code}.p7m\""))
                {
                    r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
                }
                r
            }
            Ok(Some(outcome)) => json(StatusCode::OK, &DecisionView::of(&outcome.decided.receipt)),
            Ok(None) => error(
                StatusCode::NOT_FOUND,
                "not-found",
                None,
                "no such tracking code".into(),
            ),
            Err(e) => self.internal(&e),
        }
    }

    async fn devices<B>(&self, req: &Request<B>) -> HttpResponse {
        let Some(owner) = query_param(req, "owner") else {
            return error(
                StatusCode::BAD_REQUEST,
                "bad-request",
                Some("owner"),
                "give owner=NATIONAL-ID".into(),
            );
        };
        let owner = match owner.parse::<crate::domain::NationalId>() {
            Ok(o) => o.to_string(),
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad-request",
                    Some("owner"),
                    e.to_string(),
                );
            }
        };
        #[derive(Serialize)]
        struct DeviceView {
            imei: String,
            imsi: String,
            tracking_code: String,
            registered_at: String,
        }
        #[derive(Serialize)]
        struct Devices {
            devices: Vec<DeviceView>,
        }
        match self.registry.store().devices_of(&owner).await {
            Ok(devices) => json(
                StatusCode::OK,
                &Devices {
                    devices: devices
                        .into_iter()
                        .map(|d| DeviceView {
                            imei: d.imei,
                            imsi: d.imsi,
                            tracking_code: d.tracking_code,
                            registered_at: gica_pki::Rfc3339(
                                SystemTime::UNIX_EPOCH
                                    + Duration::from_secs(
                                        u64::try_from(d.registered_at).unwrap_or(0),
                                    ),
                            )
                            .to_string(),
                        })
                        .collect(),
                },
            ),
            Err(e) => self.internal(&e.into()),
        }
    }

    async fn ussd(&self, req: Request<Incoming>) -> HttpResponse {
        let body = match self.body(req).await {
            Ok(b) => b,
            Err(r) => return r,
        };
        let form = match ussd::Form::parse(&body) {
            Ok(f) => f,
            Err(e) => {
                return error(
                    StatusCode::BAD_REQUEST,
                    "bad-request",
                    Some(e.field),
                    e.message,
                );
            }
        };
        let reply = match form.request() {
            Ok(request) => match self.registry.add_device(&request, SystemTime::now()).await {
                Ok(outcome) => {
                    self.count(&outcome);
                    log_decision(&outcome);
                    ussd::reply(&outcome.decided.receipt, form.lang)
                }
                Err(RegistryError::Input(e)) => ussd::input_error(&e, form.lang),
                Err(e) => {
                    tracing::warn!(error = %e, "USSD request failed");
                    ussd::try_later(form.lang)
                }
            },
            Err(e) => ussd::input_error(&e, form.lang),
        };
        respond(StatusCode::OK, "text/plain; charset=utf-8", reply)
    }

    async fn export(&self, since: Option<u64>) -> HttpResponse {
        match self.registry.export(since, SystemTime::now()).await {
            Ok((list, signed)) => {
                let mut r = respond(StatusCode::OK, "application/pkcs7-mime", signed);
                if let Ok(v) = HeaderValue::from_str(&list.sequence.to_string()) {
                    r.headers_mut().insert("x-gica-sequence", v);
                }
                r
            }
            Err(e) => self.internal(&e),
        }
    }

    /// The newest signed snapshot: public (a size and a root), for `gica receipt verify
    /// --snapshot`.
    async fn latest_snapshot(&self) -> HttpResponse {
        match self.registry.snapshot().await {
            Ok(s) => {
                let mut r = respond(StatusCode::OK, "application/pkcs7-mime", s.signed.clone());
                if let Ok(v) = HeaderValue::from_str(&s.version().to_string()) {
                    r.headers_mut().insert("x-gica-snapshot-version", v);
                }
                r
            }
            Err(e) => self.internal(&e),
        }
    }

    async fn health(&self) -> HttpResponse {
        match self.registry.snapshot().await {
            Ok(s) => json(
                StatusCode::OK,
                &serde_json::json!({"status": "ok", "snapshot_version": s.version(), "tree_size": s.reference.tree_size}),
            ),
            Err(RegistryError::NoSnapshot) => json(
                StatusCode::SERVICE_UNAVAILABLE,
                &serde_json::json!({"status": "no-snapshot"}),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "health check failed");
                json(
                    StatusCode::SERVICE_UNAVAILABLE,
                    &serde_json::json!({"status": "database-unavailable"}),
                )
            }
        }
    }

    async fn metrics_page(&self) -> HttpResponse {
        match self.registry.store().import_totals().await {
            Ok((accepted, bad)) => {
                self.import_rows
                    .get_or_create(&[("result", "accepted")])
                    .set(accepted);
                self.import_rows
                    .get_or_create(&[("result", "bad")])
                    .set(bad);
            }
            Err(e) => tracing::warn!(error = %e, "import totals for /metrics"),
        }
        gica_serve::metrics_response(&self.metrics)
    }
}

fn log_decision(outcome: &Outcome) {
    let r = &outcome.decided.receipt;
    let codes: Vec<&str> = r.reasons.iter().map(|x| x.code.as_str()).collect();
    tracing::info!(
        tracking_code = %r.tracking_code,
        owner = %crate::domain::NationalId::parse(&r.owner).map_or_else(|_| "?".to_owned(), |n| n.mask()),
        imeis = r.imeis.len(),
        decision = r.decision.as_str(),
        reasons = ?codes,
        repeated = outcome.decided.repeated,
        "decision"
    );
}

/// The first value of `name` in the query string, percent-decoded.
fn query_param<B>(req: &Request<B>, name: &str) -> Option<String> {
    let query = req.uri().query()?;
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}
