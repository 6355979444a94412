//! `gica ocsp check`: ask a responder, verify the answer.

use std::time::SystemTime;

use gica_pki::{
    DigestAlgorithm,
    cert::{self, PathOptions},
    der::Encode,
    ocsp::{
        OcspRequestBuilder, OcspResponseStatus, OcspVerifier, OcspVerifyError, VerifiedResponse,
        VerifiedStatus,
    },
    x509_cert::Certificate,
};

use crate::{
    cli::{CertIdHash, OcspCheck},
    fmt, input,
    net::{self, Http},
    report::{CliError, Code, Report},
};

impl CertIdHash {
    fn digest(self) -> DigestAlgorithm {
        match self {
            CertIdHash::Sha1 => DigestAlgorithm::Sha1,
            CertIdHash::Sha256 => DigestAlgorithm::Sha256,
            CertIdHash::Sha384 => DigestAlgorithm::Sha384,
            CertIdHash::Sha512 => DigestAlgorithm::Sha512,
        }
    }
}

/// How to ask.
pub struct Ask {
    pub url: Option<String>,
    pub get: bool,
    pub nonce: bool,
    pub cert_id_hash: DigestAlgorithm,
}

/// A verified answer and the raw response it came in.
pub struct Answer {
    pub url: String,
    pub method: &'static str,
    pub response: VerifiedResponse,
    pub der: Vec<u8>,
}

/// Asks about `leaf` (issued by `issuer`) and verifies the response: signer or delegate,
/// freshness, nonce, and that it answers this certificate.
pub fn ask(
    leaf: &Certificate,
    issuer: &Certificate,
    how: &Ask,
    http: &Http,
    now: SystemTime,
) -> Result<Answer, CliError> {
    let subject = fmt::subject(leaf);
    let url = match &how.url {
        Some(u) => u.clone(),
        None => fmt::ocsp_urls(leaf).into_iter().next().ok_or_else(|| {
            CliError::Usage(format!(
                "{subject} names no OCSP responder (authorityInfoAccess); give --url"
            ))
        })?,
    };
    let mut builder = OcspRequestBuilder::new()
        .certificate(leaf, issuer, how.cert_id_hash)
        .map_err(|e| CliError::Usage(format!("OCSP request for {subject}: {e}")))?;
    if how.nonce {
        builder = builder
            .with_nonce()
            .map_err(|e| CliError::Io(format!("random nonce: {e}")))?;
    }
    let req = builder.build();
    let der = req
        .to_der()
        .map_err(|e| CliError::Usage(format!("OCSP request: {e}")))?;
    const ACCEPT: &str = "application/ocsp-response";
    let (method, reply) = if how.get {
        let base = url.trim_end_matches('/');
        let get_url = format!("{base}/{}", gica_pki::ocsp::get::encode_get_path(&der));
        ("GET", http.get_accept(&get_url, ACCEPT, net::RESPONSE)?)
    } else {
        let reply = http.post(
            &url,
            "application/ocsp-request",
            ACCEPT,
            &der,
            net::RESPONSE,
        )?;
        ("POST", reply)
    };
    let mut answers = OcspVerifier::new(issuer.clone())
        .verify(&reply.body, &req, now)
        .map_err(|e| {
            let hint = match &e {
                OcspVerifyError::Nonce => Some(
                    "the responder did not echo the nonce; responders that serve cached \
                     responses (RFC 5019) need --no-nonce"
                        .to_string(),
                ),
                OcspVerifyError::Malformed { .. } => reply.media_hint(ACCEPT),
                OcspVerifyError::UnknownSigner | OcspVerifyError::Signature(_) => {
                    Some("is --issuer the certificate that issued this one?".to_string())
                }
                _ => None,
            };
            let message = format!("{url}: response for {subject}: {e}");
            match e {
                // Transient: a script should retry, as after a network error.
                OcspVerifyError::Status(
                    OcspResponseStatus::TryLater | OcspResponseStatus::InternalError,
                ) => CliError::Io(message),
                _ => CliError::Failed { message, hint },
            }
        })?;
    if answers.is_empty() {
        return Err(CliError::failed(format!("{url}: no answer for {subject}")));
    }
    Ok(Answer {
        url,
        method,
        response: answers.remove(0),
        der: reply.body,
    })
}

pub fn check(args: &OcspCheck, http: &Http, now: SystemTime) -> Result<Report, CliError> {
    let leaf = input::first_cert(&args.cert)?;
    let issuer = input::first_cert(&args.issuer)?;
    let chain = match &args.anchors {
        Some(anchors) => {
            let anchors = input::cert_file(anchors)?;
            let path = cert::verify_path_with(
                &leaf,
                std::slice::from_ref(&issuer),
                &anchors,
                now,
                &PathOptions::default(),
            )
            .map_err(|e| {
                CliError::failed(format!("{}: path to --anchors: {e}", args.cert.display()))
            })?;
            Some(path)
        }
        None => None,
    };
    let how = Ask {
        url: args.url.clone(),
        get: args.get,
        nonce: !args.no_nonce,
        cert_id_hash: args.cert_id_hash.digest(),
    };
    let answer = ask(&leaf, &issuer, &how, http, now)?;
    let mut r = status_report(&leaf, &issuer, &answer.response);
    r.field("url", answer.url.as_str())
        .field("method", answer.method)
        .field(
            "nonce",
            if how.nonce {
                "sent and echoed"
            } else {
                "not sent"
            },
        );
    match chain {
        Some(path) => {
            r.field("chain", path.iter().map(fmt::subject).collect::<Vec<_>>());
        }
        None => {
            r.note("the issuer was trusted as given (add --anchors to validate the path)");
        }
    }
    Ok(r)
}

/// The verdict for one verified answer.
pub fn status_report(leaf: &Certificate, issuer: &Certificate, resp: &VerifiedResponse) -> Report {
    let subject = fmt::subject(leaf);
    let mut r = match &resp.status {
        VerifiedStatus::Good => Report::new(Code::Ok, "good", subject),
        VerifiedStatus::Revoked { time, reason } => {
            let mut r = Report::new(
                Code::Failed,
                "revoked",
                format!(
                    "{subject} was revoked at {}{}",
                    fmt::time(*time),
                    reason.map(|x| format!(" ({x})")).unwrap_or_default()
                ),
            );
            r.field("revocation_time", fmt::time(*time));
            r.opt("reason", reason.map(|x| x.name()));
            r
        }
        VerifiedStatus::Unknown => Report::new(
            Code::Unknown,
            "unknown",
            format!("the responder does not know {subject}"),
        ),
    };
    r.field("serial", fmt::cert_serial(leaf))
        .field("this_update", fmt::time(resp.this_update))
        .field(
            "next_update",
            resp.next_update
                .map(fmt::time)
                .unwrap_or_else(|| "none".into()),
        )
        .field("produced_at", fmt::time(resp.produced_at))
        .field(
            "responder",
            if &resp.signer == issuer {
                format!("{} (the issuer)", fmt::subject(&resp.signer))
            } else {
                format!("{} (delegated responder)", fmt::subject(&resp.signer))
            },
        );
    r
}
