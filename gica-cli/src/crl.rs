//! `gica crl`: show and verify CRLs.

use std::time::SystemTime;

use gica_pki::crl::{CrlEntry, CrlError, IssuingDistributionPoint, parse_crl};

use crate::{
    cli::CrlVerify,
    fmt, input,
    net::Http,
    report::{CliError, Code, Report},
};

/// Entries shown without `--entries`.
const SHOWN: usize = 10;

/// The DER of a CRL from a file or URL, PEM or DER.
pub fn crl_der(source: &str, http: &Http) -> Result<Vec<u8>, CliError> {
    let bytes = input::read_source(source, input::CRL, http)?;
    Ok(input::der_blocks(&bytes, &["X509 CRL"], source)?.remove(0))
}

pub fn show(source: &str, all: bool, http: &Http) -> Result<Report, CliError> {
    let der = crl_der(source, http)?;
    let crl = parse_crl(&der).map_err(|e| CliError::Usage(format!("{source}: {e}")))?;
    let mut r = Report::new(
        Code::Ok,
        "shown",
        format!("{source}: CRL number {} of {}", crl.crl_number, crl.issuer),
    );
    r.field("issuer", crl.issuer.to_string())
        .field("crl_number", crl.crl_number.to_string())
        .field("this_update", fmt::time(crl.this_update))
        .field(
            "next_update",
            crl.next_update
                .map(fmt::time)
                .unwrap_or_else(|| "none".into()),
        )
        .field(
            "signature_algorithm",
            fmt::oid(&crl.signature_algorithm.oid),
        )
        .opt(
            "authority_key_id",
            crl.authority_key_id.as_deref().map(hex::encode),
        )
        .opt("scope", crl.idp.as_ref().map(scope))
        .field("entries", crl.len());
    let listed: Vec<String> = crl
        .entries()
        .take(if all { usize::MAX } else { SHOWN })
        .map(|e| entry(&e))
        .collect();
    r.field("revoked", listed);
    if !all && crl.len() > SHOWN {
        r.note(format!(
            "{} more entries (--entries lists them all)",
            crl.len() - SHOWN
        ));
    }
    r.note("shown, not verified: use `gica crl verify --issuer` to check it");
    Ok(r)
}

pub fn verify(args: &CrlVerify, http: &Http, now: SystemTime) -> Result<Report, CliError> {
    let source = args.source.as_str();
    let issuer = input::first_cert(&args.issuer)?;
    let leaf = args.cert.as_deref().map(input::first_cert).transpose()?;
    let at = input::time(&args.at, now)?;
    let der = crl_der(source, http)?;
    let fail = |e: CrlError| {
        let hint = match e {
            CrlError::Stale => Some("fetch a newer CRL from the issuer".to_string()),
            CrlError::AkiMismatch | CrlError::BadSignature(_) => {
                Some("is --issuer the certificate that signed this CRL?".to_string())
            }
            _ => None,
        };
        CliError::Failed {
            message: format!("{source}: {e}"),
            hint,
        }
    };
    let crl = parse_crl(&der)
        .map_err(fail)?
        .verify(&issuer, at)
        .map_err(fail)?;
    let fields = |r: &mut Report| {
        r.field("crl_number", crl.crl_number.to_string())
            .field("this_update", fmt::time(crl.this_update))
            .field("next_update", fmt::time(crl.next_update))
            .field("issuer", fmt::subject(&issuer))
            .field(
                "scope",
                crl.idp
                    .as_ref()
                    .map(scope)
                    .unwrap_or_else(|| "every certificate of the issuer".into()),
            )
            .field("entries", crl.len());
    };
    let Some(leaf) = leaf else {
        let mut r = Report::new(
            Code::Ok,
            "verified",
            format!("{source}: signed by {}, current", fmt::subject(&issuer)),
        );
        fields(&mut r);
        return Ok(r);
    };
    let subject = fmt::subject(&leaf);
    let mut r = match crl.status_of(&leaf) {
        Ok(None) => Report::new(
            Code::Ok,
            "good",
            format!("{subject} is not listed in {source}"),
        ),
        Ok(Some(e)) => {
            let mut r = Report::new(
                Code::Failed,
                "revoked",
                format!(
                    "{subject} was revoked at {}{}",
                    fmt::time(e.revocation_time),
                    e.reason.map(|x| format!(" ({x})")).unwrap_or_default()
                ),
            );
            r.field("revocation_time", fmt::time(e.revocation_time))
                .opt("reason", e.reason.map(|x| x.name()))
                .opt("invalidity_date", e.invalidity_date.map(fmt::time));
            r
        }
        Err(CrlError::OutOfScope) => Report::new(
            Code::Unknown,
            "unknown",
            format!("{source} does not cover {subject} (another issuer, or outside its scope)"),
        ),
        Err(e) => return Err(fail(e)),
    };
    r.field("serial", fmt::cert_serial(&leaf));
    fields(&mut r);
    Ok(r)
}

fn scope(idp: &IssuingDistributionPoint) -> String {
    let mut parts = Vec::new();
    if idp.only_contains_user_certs {
        parts.push("end-entity certificates only".to_string());
    }
    if idp.only_contains_ca_certs {
        parts.push("CA certificates only".to_string());
    }
    if !idp.full_name.is_empty() {
        parts.push(format!("distribution point {}", idp.full_name.join(", ")));
    }
    if parts.is_empty() {
        "issuingDistributionPoint without restrictions".into()
    } else {
        parts.join("; ")
    }
}

fn entry(e: &CrlEntry<'_>) -> String {
    let serial = if e.negative {
        format!("-{}", hex::encode(e.serial))
    } else {
        hex::encode(e.serial)
    };
    format!(
        "{serial} at {}{}",
        fmt::time(e.revocation_time),
        e.reason.map(|r| format!(" ({r})")).unwrap_or_default()
    )
}
