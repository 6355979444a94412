//! An RFC 3161 client over HTTP (RFC 3161 3.4), for the workflow servers that stamp their
//! proofs with gica's own TSA.
//!
//! `http://` only: the TSA is on the operator's own network, and what it returns is signed
//! and checked here ([`gica_pki::tsp::check_reply`]), so transport security adds privacy,
//! not integrity. `https://` can come later.
//!
//! ```no_run
//! # async fn f() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use gica_pki::DigestAlgorithm;
//! use gica_serve::tsa_client::TsaClient;
//! let tsa = TsaClient::new("http://127.0.0.1:3180/tsa", Duration::from_secs(5))?;
//! let hash = DigestAlgorithm::Sha256.digest(b"a signature value");
//! let token = tsa.stamp(DigestAlgorithm::Sha256, &hash).await?; // TimeStampToken DER
//! # let _ = token; Ok(()) }
//! ```

use std::time::Duration;

use bytes::Bytes;
use gica_pki::{
    AlgorithmPolicy, BoxError, DigestAlgorithm,
    der::{Decode, Encode, asn1::ObjectIdentifier},
    tsp::{
        Expectation, PkiFailureInfo, PkiStatus, TimeStampReqBuilder, TimeStampResp, VerifyError,
        check_reply,
    },
};
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::{Method, Request, Uri, header};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};

/// Largest reply read from a TSA: a token with a long chain is a few kilobytes.
pub const MAX_REPLY: usize = 1024 * 1024;
/// Media type of requests (RFC 3161 3.4).
pub const QUERY_TYPE: &str = "application/timestamp-query";
/// Media type of replies (RFC 3161 3.4).
pub const REPLY_TYPE: &str = "application/timestamp-reply";

/// What went wrong while getting a time-stamp, by where it went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TsaClientError {
    /// The URL cannot be used.
    #[error("TSA URL {url:?}: {reason}")]
    Url {
        /// The URL given.
        url: String,
        /// Why it cannot be used.
        reason: &'static str,
    },
    /// The time-stamp request could not be built (a hash of the wrong length, say).
    #[error("time-stamp request: {0}")]
    Request(#[source] gica_pki::Error),
    /// No connection to the TSA.
    #[error("cannot connect to the TSA: {0}")]
    Connect(#[source] BoxError),
    /// The connection failed during the exchange, or the reply is not HTTP.
    #[error("HTTP exchange with the TSA failed: {0}")]
    Http(#[source] BoxError),
    /// The whole exchange did not finish in time.
    #[error("the TSA did not answer within {0:?}")]
    Timeout(Duration),
    /// The TSA answered with an HTTP status other than 2xx.
    #[error("the TSA answered HTTP {0}")]
    Status(u16),
    /// The reply body is larger than [`MAX_REPLY`].
    #[error("the TSA's reply is larger than {max} octets")]
    TooLarge {
        /// The limit.
        max: usize,
    },
    /// The TSA refused the request (a TimeStampResp without a token).
    #[error("the TSA refused: status {}{}{}", .status.name(), .fail_info.map(|f| format!(", failInfo {}", f.bits().map(|b| b.name()).collect::<Vec<_>>().join(" "))).unwrap_or_default(), if .text.is_empty() { String::new() } else { format!(", \"{}\"", .text) })]
    Rejected {
        /// PKIStatus.
        status: PkiStatus,
        /// PKIFailureInfo, if sent.
        fail_info: Option<PkiFailureInfo>,
        /// statusString, joined.
        text: String,
    },
    /// The reply is not a granted TimeStampResp answering this request: not DER, another
    /// imprint or nonce, a bad signature, no TSA certificate although asked for.
    #[error("bad reply from the TSA: {0}")]
    BadReply(#[source] VerifyError),
}

/// A client for one TSA URL. Cheap to clone (connections are pooled and shared).
#[derive(Clone, Debug)]
pub struct TsaClient {
    client: Client<HttpConnector, Full<Bytes>>,
    uri: Uri,
    timeout: Duration,
    policy: Option<ObjectIdentifier>,
    algorithms: AlgorithmPolicy,
}

impl TsaClient {
    /// A client for `url` (`http://host[:port]/path`); `timeout` bounds each
    /// [`stamp`](Self::stamp) as a whole: connecting, sending, waiting, reading.
    pub fn new(url: &str, timeout: Duration) -> Result<Self, TsaClientError> {
        let bad = |reason| TsaClientError::Url {
            url: url.to_string(),
            reason,
        };
        let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some("https") => return Err(bad("https is not supported yet; use http")),
            _ => return Err(bad("the scheme must be http")),
        }
        if uri.host().is_none_or(str::is_empty) {
            return Err(bad("no host"));
        }
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Self {
            client,
            uri,
            timeout,
            policy: None,
            algorithms: AlgorithmPolicy::default(),
        })
    }

    /// Ask for this TSA policy (reqPolicy); the token must carry it.
    #[must_use]
    pub fn policy(mut self, policy: ObjectIdentifier) -> Self {
        self.policy = Some(policy);
        self
    }

    /// The URL requests go to.
    pub fn url(&self) -> &Uri {
        &self.uri
    }

    /// Gets a token over `hash` (made with `digest`): a request with a random nonce and
    /// certReq, POSTed as `application/timestamp-query`; the reply (at most [`MAX_REPLY`]
    /// octets) must be granted and answer this request (imprint, nonce, policy) with a token
    /// that carries the TSA certificate and whose signature verifies
    /// ([`check_reply`]; the TSA's path to a trust anchor is for the verifier of whatever
    /// the token ends up in). Returns the TimeStampToken (ContentInfo) DER.
    pub async fn stamp(
        &self,
        digest: DigestAlgorithm,
        hash: &[u8],
    ) -> Result<Vec<u8>, TsaClientError> {
        let mut builder = TimeStampReqBuilder::new(digest)
            .hash(hash)
            .with_nonce()
            .cert_req(true);
        if let Some(p) = self.policy {
            builder = builder.policy(p);
        }
        let req = builder.build().map_err(TsaClientError::Request)?;
        let body = req
            .to_der()
            .map_err(|e| TsaClientError::Request(e.into()))?;
        let reply = tokio::time::timeout(self.timeout, self.exchange(body))
            .await
            .map_err(|_| TsaClientError::Timeout(self.timeout))??;
        let checked = check_reply(&reply, &Expectation::request(&req), &self.algorithms).map_err(
            |e| match e {
                VerifyError::NotGranted {
                    status,
                    fail_info,
                    text,
                } => TsaClientError::Rejected {
                    status,
                    fail_info,
                    text,
                },
                e => TsaClientError::BadReply(e),
            },
        )?;
        // RFC 3161 2.4.1: certReq true obliges the TSA to send its certificate; without it
        // check_reply could not check the signature.
        if checked.signer.is_none() {
            return Err(TsaClientError::BadReply(
                VerifyError::SignerCertificateMissing,
            ));
        }
        let bad_der = |source| {
            TsaClientError::BadReply(VerifyError::Malformed {
                what: "TimeStampResp",
                source,
            })
        };
        TimeStampResp::from_der(&reply)
            .map_err(bad_der)?
            .time_stamp_token
            .ok_or(TsaClientError::BadReply(VerifyError::Token(
                "granted without a token",
            )))?
            .to_der()
            .map_err(bad_der)
    }

    /// POSTs `body`, returns the reply body of a 2xx answer.
    async fn exchange(&self, body: Vec<u8>) -> Result<Bytes, TsaClientError> {
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.uri.clone())
            .header(header::CONTENT_TYPE, QUERY_TYPE)
            .header(header::ACCEPT, REPLY_TYPE)
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| TsaClientError::Http(Box::new(e)))?;
        let response = self.client.request(request).await.map_err(|e| {
            if e.is_connect() {
                TsaClientError::Connect(Box::new(e))
            } else {
                TsaClientError::Http(Box::new(e))
            }
        })?;
        let status = response.status();
        if !status.is_success() {
            return Err(TsaClientError::Status(status.as_u16()));
        }
        let too_large = TsaClientError::TooLarge { max: MAX_REPLY };
        let declared = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > MAX_REPLY as u64) {
            return Err(too_large);
        }
        match Limited::new(response.into_body(), MAX_REPLY)
            .collect()
            .await
        {
            Ok(body) => Ok(body.to_bytes()),
            Err(e) if e.is::<LengthLimitError>() => Err(too_large),
            Err(e) => Err(TsaClientError::Http(e)),
        }
    }
}
