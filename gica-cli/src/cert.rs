//! `gica cert verify`: path validation with revocation from CRLs and OCSP.

use std::time::SystemTime;

use gica_pki::{
    DigestAlgorithm,
    cert::{PathError, PathOptions, verify_path_with},
    ocsp::VerifiedStatus,
};

use crate::{
    cli::CertVerify,
    fmt, input,
    net::Http,
    ocsp::{self, Ask},
    report::{CliError, Code, Report},
};

pub fn verify(args: &CertVerify, http: &Http, now: SystemTime) -> Result<Report, CliError> {
    let name = args.leaf.display().to_string();
    let mut certs = input::cert_file(&args.leaf)?;
    let leaf = certs.remove(0);
    let mut untrusted = certs;
    for u in &args.untrusted {
        untrusted.extend(input::cert_file(u)?);
    }
    let anchors = input::cert_file(&args.anchors)?;
    let at = input::time(&args.at, now)?;
    let path_failed = |e: PathError| match e {
        PathError::Revoked {
            subject,
            time,
            reason,
        } => {
            let mut r = Report::new(
                Code::Failed,
                "revoked",
                format!(
                    "{subject} was revoked at {}{}",
                    fmt::time(time),
                    reason.map(|x| format!(" ({x})")).unwrap_or_default()
                ),
            );
            r.field("revocation_time", fmt::time(time))
                .opt("reason", reason.map(|x| x.name()));
            Ok(r)
        }
        PathError::RevocationUnknown { subject } => {
            let mut r = Report::new(
                Code::Unknown,
                "unknown",
                format!(
                    "the revocation status of {subject} is unknown: \
                     no CRL or OCSP answer given covers it"
                ),
            );
            if !args.leaf_only && fmt::subject(&leaf) != subject {
                r.note(
                    "give the CRL of its issuer with --crl, \
                     or check the certificate alone with --leaf-only",
                );
            }
            Ok(r)
        }
        e => {
            let hint = match e {
                PathError::NoPath => Some(
                    "give the intermediate certificates with --untrusted, and check --anchors"
                        .to_string(),
                ),
                _ => None,
            };
            Err(CliError::Failed {
                message: format!("{name}: {e}"),
                hint,
            })
        }
    };
    // The path first: it says which certificates need a revocation status.
    let path = match verify_path_with(&leaf, &untrusted, &anchors, at, &PathOptions::default()) {
        Ok(p) => p,
        Err(e) => return path_failed(e),
    };
    let subjects: Vec<String> = path.iter().map(fmt::subject).collect();
    if args.crl.is_empty() && !args.ocsp {
        let mut r = Report::new(
            Code::Ok,
            "valid",
            format!("{} (revocation not checked)", fmt::subject(&leaf)),
        );
        r.field("validated_at", fmt::time(at))
            .field("chain", subjects)
            .field("revocation", "not checked");
        r.note("revocation was not checked: add --crl FILE|URL or --ocsp");
        return Ok(r);
    }
    let crls = args
        .crl
        .iter()
        .map(|c| crate::crl::crl_der(c, http))
        .collect::<Result<Vec<_>, _>>()?;
    let mut responses = Vec::new();
    let mut asked = Vec::new();
    let mut unasked = Vec::new();
    if args.ocsp {
        // Every certificate below the anchor, asked of its own responder.
        for (i, pair) in path.windows(2).enumerate() {
            let (cert, issuer) = (&pair[0], &pair[1]);
            // A certificate that names no responder is left to the CRLs, or to the
            // verdict "unknown" below (or not needed, with --leaf-only).
            if fmt::ocsp_urls(cert).is_empty() {
                if i == 0 && crls.is_empty() {
                    return Err(CliError::Usage(format!(
                        "{} names no OCSP responder (authorityInfoAccess); give --crl",
                        fmt::subject(cert)
                    )));
                }
                unasked.push(fmt::subject(cert));
                continue;
            }
            let how = Ask {
                url: None,
                get: false,
                nonce: true,
                cert_id_hash: DigestAlgorithm::Sha1,
            };
            let answer = ocsp::ask(cert, issuer, &how, http, now)?;
            let status = match answer.response.status {
                VerifiedStatus::Good => "good",
                VerifiedStatus::Revoked { .. } => "revoked",
                VerifiedStatus::Unknown => "unknown",
            };
            asked.push(format!(
                "{}: {status} from {}",
                fmt::subject(cert),
                answer.url
            ));
            responses.push(answer.der);
        }
    }
    let options = PathOptions::default()
        .crls(crls)
        .ocsp_responses(responses)
        .leaf_revocation_only(args.leaf_only);
    let mut r = match verify_path_with(&leaf, &untrusted, &anchors, at, &options) {
        Ok(_) => Report::new(
            Code::Ok,
            "valid",
            format!("{} (not revoked)", fmt::subject(&leaf)),
        ),
        Err(e) => path_failed(e)?,
    };
    r.field("validated_at", fmt::time(at))
        .field("chain", subjects);
    let mut sources: Vec<String> = args.crl.iter().map(|c| format!("CRL {c}")).collect();
    sources.extend(asked.into_iter().map(|a| format!("OCSP {a}")));
    r.field("revocation", sources);
    if !unasked.is_empty() {
        r.note(format!(
            "no OCSP responder named by: {} (their status comes from --crl, if any)",
            unasked.join("; ")
        ));
    }
    if args.leaf_only {
        r.note("revocation of the CAs on the path was not required (--leaf-only)");
    }
    Ok(r)
}
