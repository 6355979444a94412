//! The HTTP part of the client examples: one request, bounded in size and time, over
//! hyper's client (the examples' own concern; gica-pki does no I/O).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};

pub type Error = Box<dyn std::error::Error + Send + Sync>;

/// Largest response body read (a time-stamp reply or OCSP response is a few KiB).
const MAX_BODY: usize = 1 << 20;

/// `POST url` with `body` as `content_type` (or `GET url` when `body` is `None`); the
/// response body, or an error for a non-200 status.
pub fn fetch(url: &str, content_type: &str, body: Option<Vec<u8>>) -> Result<Vec<u8>, Error> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        let client: Client<_, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
        let builder = hyper::Request::builder().uri(url);
        let req = match body {
            Some(b) => builder
                .method("POST")
                .header("content-type", content_type)
                .body(Full::new(Bytes::from(b)))?,
            None => builder.method("GET").body(Full::new(Bytes::new()))?,
        };
        // One bound for the whole exchange, body included.
        tokio::time::timeout(Duration::from_secs(10), async {
            let resp = client.request(req).await?;
            if resp.status() != hyper::StatusCode::OK {
                return Err(format!("{url}: HTTP {}", resp.status()).into());
            }
            let body = Limited::new(resp.into_body(), MAX_BODY).collect().await?;
            Ok(body.to_bytes().to_vec())
        })
        .await?
    })
}

/// Reads a PEM file of certificates.
pub fn certs(path: &str) -> Result<Vec<gica_pki::x509_cert::Certificate>, Error> {
    Ok(gica_pki::cert::load_pem_certs(&std::fs::read_to_string(
        path,
    )?)?)
}
