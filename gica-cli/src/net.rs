//! HTTP(S) with a time-out on every call, a cap on every body, and the URL in every error.

use std::time::Duration;

use crate::report::CliError;

/// Largest TimeStampResp or OCSPResponse accepted.
pub const RESPONSE: u64 = 1 << 20;

/// A blocking client (ureq, rustls with the ring provider and the Mozilla roots from
/// webpki-roots: no OpenSSL).
pub struct Http {
    agent: ureq::Agent,
    timeout: Duration,
}

/// A response body and its media type.
pub struct Reply {
    pub body: Vec<u8>,
    pub content_type: Option<String>,
}

impl Http {
    pub fn new(timeout: Duration) -> Self {
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .user_agent(concat!("gica/", env!("CARGO_PKG_VERSION")))
            .max_redirects(3)
            .build()
            .new_agent();
        Self { agent, timeout }
    }

    /// GETs `url`, expecting 200.
    pub fn get(&self, url: &str, limit: u64) -> Result<Vec<u8>, CliError> {
        let resp = self.agent.get(url).call();
        Ok(self.finish(url, resp, limit)?.body)
    }

    /// POSTs `body` as `content_type`, expecting 200.
    pub fn post(
        &self,
        url: &str,
        content_type: &str,
        accept: &str,
        body: &[u8],
        limit: u64,
    ) -> Result<Reply, CliError> {
        let resp = self
            .agent
            .post(url)
            .header("Content-Type", content_type)
            .header("Accept", accept)
            .send(body);
        self.finish(url, resp, limit)
    }

    /// GETs `url` with an Accept header, expecting 200.
    pub fn get_accept(&self, url: &str, accept: &str, limit: u64) -> Result<Reply, CliError> {
        let resp = self.agent.get(url).header("Accept", accept).call();
        self.finish(url, resp, limit)
    }

    fn finish(
        &self,
        url: &str,
        resp: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        limit: u64,
    ) -> Result<Reply, CliError> {
        let mut resp = resp.map_err(|e| self.error(url, e))?;
        let status = resp.status();
        if status != 200 {
            return Err(CliError::Io(format!(
                "{url}: the server answered HTTP {status}"
            )));
        }
        let content_type = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let body = resp
            .body_mut()
            .with_config()
            .limit(limit)
            .read_to_vec()
            .map_err(|e| self.error(url, e))?;
        Ok(Reply { body, content_type })
    }

    fn error(&self, url: &str, e: ureq::Error) -> CliError {
        let why = match e {
            ureq::Error::Timeout(_) => format!("no answer within {} s", self.timeout.as_secs()),
            ureq::Error::BodyExceedsLimit(n) => format!("the response is larger than {n} bytes"),
            other => other.to_string(),
        };
        CliError::Io(format!("{url}: {why}"))
    }
}

impl Reply {
    /// A hint for a reply that did not parse: the media type says what the server sent.
    pub fn media_hint(&self, expected: &str) -> Option<String> {
        match &self.content_type {
            Some(ct) if !ct.eq_ignore_ascii_case(expected) => Some(format!(
                "the server answered with Content-Type {ct}, not {expected}: is the URL right?"
            )),
            _ => None,
        }
    }
}
