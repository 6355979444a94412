//! `gica ts`: request, verify and show RFC 3161 time-stamps.

use std::{
    path::{Path, PathBuf},
    time::SystemTime,
};

use gica_pki::{
    AlgorithmPolicy, DigestAlgorithm,
    cert::PathError,
    der::Encode,
    tsp::{
        Expectation, TimeStampReqBuilder, TokenVerifier, TstInfo, ValidationTime, VerifyError,
        check_reply, read_token,
    },
};
use serde_json::json;

use crate::{
    cli::{Hash, TsRequest, TsVerify},
    fmt, input,
    net::{self, Http},
    report::{CliError, Code, Report},
};

impl Hash {
    fn digest(self) -> DigestAlgorithm {
        match self {
            Hash::Sha256 => DigestAlgorithm::Sha256,
            Hash::Sha384 => DigestAlgorithm::Sha384,
            Hash::Sha512 => DigestAlgorithm::Sha512,
        }
    }
}

pub fn request(args: &TsRequest, http: &Http) -> Result<Report, CliError> {
    let digest = args.hash.digest();
    let (hash, out) = match (&args.file, &args.digest) {
        (_, Some(hex)) => (input::hex_digest(hex, digest.output_len())?, None),
        (Some(file), None) => {
            let out = (file != Path::new("-")).then(|| {
                let mut name = file.as_os_str().to_owned();
                name.push(".tsr");
                PathBuf::from(name)
            });
            (input::hash_file(file, digest)?, out)
        }
        (None, None) => return Err(CliError::Usage("give FILE or --digest HEX".into())),
    };
    let out = args.out.clone().or(out).ok_or_else(|| {
        CliError::Usage(
            "--out FILE.tsr is needed when the data comes from stdin or --digest".into(),
        )
    })?;
    let mut builder = TimeStampReqBuilder::new(digest)
        .hash(&hash)
        .cert_req(!args.no_cert);
    if !args.no_nonce {
        builder = builder.with_nonce();
    }
    if let Some(p) = &args.policy {
        builder = builder.policy(input::oid(p, "--policy")?);
    }
    let req = builder
        .build()
        .map_err(|e| CliError::Usage(format!("request: {e}")))?;
    let der = req
        .to_der()
        .map_err(|e| CliError::Usage(format!("request: {e}")))?;
    let reply = http.post(
        &args.url,
        "application/timestamp-query",
        "application/timestamp-reply",
        &der,
        net::RESPONSE,
    )?;
    let checked = check_reply(
        &reply.body,
        &Expectation::request(&req),
        &AlgorithmPolicy::default(),
    )
    .map_err(|e| {
        let hint = match e {
            VerifyError::Malformed { .. } => reply.media_hint("application/timestamp-reply"),
            _ => None,
        };
        failed(&format!("{}: the reply", args.url), e, hint)
    })?;
    write_atomically(&out, &reply.body)?;
    let tst = &checked.tst_info;
    let mut r = Report::new(
        Code::Ok,
        "granted",
        format!("time-stamp written to {}", out.display()),
    );
    tst_fields(&mut r, tst);
    r.field("url", args.url.as_str());
    r.field(
        "checked",
        if args.no_nonce {
            "status, imprint, policy"
        } else {
            "status, imprint, nonce, policy"
        },
    );
    match &checked.signer {
        Some(c) => {
            r.field("signer", fmt::subject(c));
            r.note(
                "the signature was checked with the certificate in the token; \
                 `gica ts verify --anchors` checks who that certificate belongs to",
            );
        }
        None => {
            r.note("no certificate in the token (--no-cert): its signature is checked by `gica ts verify` with --untrusted");
        }
    }
    Ok(r)
}

pub fn verify(args: &TsVerify, http: &Http, now: SystemTime) -> Result<Report, CliError> {
    let token_name = args.token.display().to_string();
    let token_bytes = input::read_file(&args.token, input::SMALL)?;
    let der =
        input::der_blocks(&token_bytes, &["PKCS7", "TIMESTAMP RESPONSE"], &token_name)?.remove(0);
    let contents = read_token(&der).map_err(|e| failed(&token_name, e, None))?;
    let is_response = contents.status.is_some();
    let parts = contents
        .granted()
        .map_err(|e| failed(&token_name, e, None))?;
    let imprint = &parts.tst_info.message_imprint;
    let digest =
        DigestAlgorithm::from_algorithm_identifier(&imprint.hash_algorithm).ok_or_else(|| {
            CliError::failed(format!(
                "{token_name}: the token's hash algorithm {} is not supported",
                fmt::oid(&imprint.hash_algorithm.oid)
            ))
        })?;
    let (what, hash) = match (&args.file, &args.digest) {
        (_, Some(hex)) => (
            "the digest given".to_string(),
            input::hex_digest(hex, digest.output_len())?,
        ),
        (Some(file), None) => (file.display().to_string(), input::hash_file(file, digest)?),
        (None, None) => return Err(CliError::Usage("give FILE or --digest HEX".into())),
    };
    let anchors = input::cert_file(&args.anchors)?;
    let mut untrusted = Vec::new();
    for u in &args.untrusted {
        untrusted.extend(input::cert_file(u)?);
    }
    let at = match args.at.to_ascii_lowercase().as_str() {
        "gentime" => ValidationTime::GenTime,
        other => ValidationTime::At(input::time(other, now)?),
    };
    let mut expect = Expectation::digest(digest, &hash);
    if let Some(p) = &args.policy {
        expect.policy = Some(input::oid(p, "--policy")?);
    }
    let crls = args
        .crl
        .iter()
        .map(|c| crate::crl::crl_der(c, http))
        .collect::<Result<Vec<_>, _>>()?;
    let verifier = TokenVerifier::new(anchors)
        .untrusted(untrusted)
        .validation_time(at)
        .crls(crls);
    let result = if is_response {
        verifier.verify_response(&der, &expect)
    } else {
        verifier.verify_token(&der, &expect)
    };
    if let Err(VerifyError::Path(PathError::RevocationUnknown { subject })) = &result {
        let mut r = Report::new(
            Code::Unknown,
            "unknown",
            format!(
                "{token_name}: the revocation status of {subject} is unknown: \
                 no CRL given covers it"
            ),
        );
        r.note("give a CRL for every certificate below the anchor (--crl), one per issuer");
        return Ok(r);
    }
    let token = result.map_err(|e| {
        let hint = match (&e, at) {
            (VerifyError::Path(PathError::Expired { .. }), ValidationTime::At(_)) => Some(
                "the TSA's certificate chain has expired since the token was made; \
                 for an archived token use --at gentime (best with --crl evidence)"
                    .to_string(),
            ),
            (VerifyError::ImprintMismatch, _) => Some(format!(
                "the token is not over {what} (or the file changed since)"
            )),
            (VerifyError::SignerCertificateMissing, _) => {
                Some("give the TSA certificate with --untrusted".into())
            }
            _ => None,
        };
        failed(&token_name, e, hint)
    })?;
    let tst = &token.tst_info;
    let mut r = Report::new(
        Code::Ok,
        "verified",
        format!(
            "{what} was time-stamped at {} by {}",
            tst.gen_time,
            fmt::subject(&token.signer)
        ),
    );
    tst_fields(&mut r, tst);
    r.field(
        "validated_at",
        match at {
            ValidationTime::GenTime => format!("{} (genTime)", tst.gen_time),
            ValidationTime::At(t) => fmt::time(t),
        },
    );
    r.field(
        "chain",
        token.path.iter().map(fmt::subject).collect::<Vec<_>>(),
    );
    if args.crl.is_empty() {
        r.field("revocation", "not checked");
        r.note("revocation of the TSA's chain was not checked (give --crl)");
    } else {
        r.field(
            "revocation",
            format!("not revoked per {} CRL(s)", args.crl.len()),
        );
    }
    Ok(r)
}

pub fn show(path: &Path) -> Result<Report, CliError> {
    let name = path.display().to_string();
    let bytes = input::read_file(path, input::SMALL)?;
    let der = input::der_blocks(&bytes, &["PKCS7", "TIMESTAMP RESPONSE"], &name)?.remove(0);
    let contents = read_token(&der).map_err(|e| CliError::Usage(format!("{name}: {e}")))?;
    let kind = if contents.status.is_some() {
        "TimeStampResp"
    } else {
        "TimeStampToken"
    };
    let mut r = Report::new(Code::Ok, "shown", format!("{name}: {kind}"));
    if let Some(status) = &contents.status {
        r.field("status", status.status.name());
        r.opt(
            "fail_info",
            status
                .fail_info
                .map(|f| f.bits().map(|b| b.name()).collect::<Vec<_>>().join(" ")),
        );
        r.opt("status_string", status.status_string.clone());
    }
    if let Some(parts) = &contents.token {
        tst_fields(&mut r, &parts.tst_info);
        r.field(
            "signature_algorithm",
            fmt::oid(&parts.signature_algorithm.oid),
        );
        r.field("digest_algorithm", fmt::oid(&parts.digest_algorithm.oid));
        r.field(
            "signer",
            parts
                .signer_certificate()
                .map(fmt::subject)
                .unwrap_or_else(|| "(its certificate is not in the token)".into()),
        );
        r.field(
            "certificates",
            parts
                .certificates
                .iter()
                .map(|c| format!("{} (serial {})", fmt::subject(c), fmt::cert_serial(c)))
                .collect::<Vec<_>>(),
        );
        r.note("shown, not verified: use `gica ts verify` to check it");
    }
    Ok(r)
}

fn tst_fields(r: &mut Report, tst: &TstInfo) {
    let imprint = &tst.message_imprint;
    r.field("gen_time", tst.gen_time.to_string());
    r.field(
        "accuracy",
        tst.accuracy
            .map(|a| {
                let micros = u64::from(a.seconds.unwrap_or(0)) * 1_000_000
                    + u64::from(a.millis.unwrap_or(0)) * 1_000
                    + u64::from(a.micros.unwrap_or(0));
                let frac = format!("{:06}", micros % 1_000_000);
                let frac = frac.trim_end_matches('0');
                if frac.is_empty() {
                    format!("±{} s", micros / 1_000_000)
                } else {
                    format!("±{}.{frac} s", micros / 1_000_000)
                }
            })
            .unwrap_or_else(|| "not stated".into()),
    );
    r.field("serial", fmt::serial_hex(tst.serial_number.as_bytes()));
    r.field("policy", tst.policy.to_string());
    r.field(
        "hash",
        DigestAlgorithm::from_algorithm_identifier(&imprint.hash_algorithm)
            .map(|d| d.name().to_string())
            .unwrap_or_else(|| fmt::oid(&imprint.hash_algorithm.oid)),
    );
    r.field("imprint", hex::encode(imprint.hashed_message.as_bytes()));
    r.field(
        "nonce",
        tst.nonce
            .as_ref()
            .map(|n| hex::encode(n.as_bytes()))
            .map(serde_json::Value::from)
            .unwrap_or(json!(null)),
    );
    if tst.ordering {
        r.field("ordering", true);
    }
    r.opt("tsa", tst.tsa.as_ref().map(fmt::general_name));
}

fn failed(name: &str, e: VerifyError, hint: Option<String>) -> CliError {
    CliError::Failed {
        message: format!("{name}: {e}"),
        hint,
    }
}

/// Writes through a temporary file in the same directory, so a reader never sees half a
/// token and an interrupted run leaves the old file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), CliError> {
    let io = |e: std::io::Error| CliError::Io(format!("{}: {e}", path.display()));
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut tmp_name = path.file_name().unwrap_or_default().to_owned();
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    std::fs::write(&tmp, bytes).map_err(io)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        io(e)
    })
}
