//! The admin commands, `revoke`, `record`, `crl` and `import-index`: what the binary's
//! subcommands do, with the same flags ([`crate::config`]) and the same output lines, written
//! to `out` (and, for malformed index lines, `err`).

use std::io::Write;
use std::time::SystemTime;

use gica_pki::CrlReason;

use crate::{
    AppError,
    config::{
        ConfigError, CrlArgs, ImportArgs, RecordArgs, RevokeArgs, parse_duration, parse_rfc3339,
    },
    issuer_id, load_cert, load_key_with,
    store::{AnyStore, ImportSummary, PublishedCrl, RevocationWriter, RevokeOutcome},
};

/// What [`crl`] made.
#[derive(Clone, Debug)]
pub struct CrlMade {
    /// The signed CRL, as written to the file.
    pub crl: PublishedCrl,
    /// Whether it was published for the responders (false: a CRL with a higher number is
    /// published already).
    pub published: bool,
}

fn bad(msg: String) -> AppError {
    AppError::Config(ConfigError(msg))
}

/// Writes one output line; a closed stdout is an error like any other file.
fn line(out: &mut impl Write, text: std::fmt::Arguments<'_>) -> Result<(), AppError> {
    writeln!(out, "{text}").map_err(|source| AppError::Io {
        path: "output".into(),
        source,
    })
}

/// A hex serial (`0x` prefix and `:` separators allowed) as its positive magnitude, 1 to 20
/// octets.
///
/// ```
/// use gica_ocsp_server::admin::serial_bytes;
/// assert_eq!(serial_bytes("0x00:1f").unwrap(), vec![0x1f]);
/// assert!(serial_bytes("00").is_err());
/// ```
pub fn serial_bytes(hex_serial: &str) -> Result<Vec<u8>, AppError> {
    let s = hex_serial.trim().trim_start_matches("0x").replace(':', "");
    let s = if s.len() % 2 == 1 { format!("0{s}") } else { s };
    let mut v = hex::decode(&s).map_err(|_| bad(format!("--serial {hex_serial:?} is not hex")))?;
    let zeros = v.iter().take_while(|b| **b == 0).count();
    v.drain(..zeros);
    if v.is_empty() || v.len() > 20 {
        return Err(bad(format!(
            "--serial {hex_serial:?}: a serial is 1 to 20 octets and not zero"
        )));
    }
    Ok(v)
}

/// `import-index`: imports an OpenSSL `index.txt` in one transaction; malformed lines go to
/// `err` as `FILE:LINE: why`, the counts to `out`.
pub async fn import_index(
    args: &ImportArgs,
    out: &mut impl Write,
    err: &mut impl Write,
) -> Result<ImportSummary, AppError> {
    let issuer = load_cert(&args.issuer)?;
    let store = AnyStore::connect(&args.db).await?;
    let summary = crate::index::import_index(&store, &args.index, &issuer_id(&issuer), !args.quiet)
        .await
        .map_err(|e| bad(e.to_string()))?;
    for (n, why) in &summary.malformed {
        line(err, format_args!("{}:{n}: {why}", args.index.display()))?;
    }
    line(
        out,
        format_args!(
            "imported {}, skipped {}, malformed {}",
            summary.imported,
            summary.skipped,
            summary.malformed.len()
        ),
    )?;
    Ok(summary)
}

/// `revoke`: revokes one serial (a second revocation changes nothing).
pub async fn revoke(args: &RevokeArgs, out: &mut impl Write) -> Result<RevokeOutcome, AppError> {
    let issuer = load_cert(&args.issuer)?;
    let serial = serial_bytes(&args.serial)?;
    let reason = args
        .reason
        .as_deref()
        .map(|r| match CrlReason::from_name(r) {
            // RFC 5280 5.3.1: removeFromCRL belongs to delta CRLs only.
            Some(CrlReason::RemoveFromCrl) => Err(bad(
                "--reason removeFromCRL is for delta CRLs, not a revocation".into(),
            )),
            Some(reason) => Ok(reason),
            None => Err(bad(format!("--reason {r:?} is not a CRL reason"))),
        })
        .transpose()?;
    let time = args
        .time
        .as_deref()
        .map(parse_rfc3339)
        .transpose()?
        .unwrap_or_else(SystemTime::now);
    let invalidity = args
        .invalidity_date
        .as_deref()
        .map(parse_rfc3339)
        .transpose()?;
    let store = AnyStore::connect(&args.db).await?;
    let outcome = store
        .revoke(&issuer_id(&issuer), &serial, time, reason, invalidity)
        .await?;
    let serial = hex::encode(&serial);
    match outcome {
        RevokeOutcome::Revoked => line(out, format_args!("revoked {serial}"))?,
        RevokeOutcome::AlreadyRevoked => {
            line(out, format_args!("{serial} was already revoked; unchanged"))?
        }
    }
    Ok(outcome)
}

/// `record`: records issued certificates (so they are answered `good`); returns their
/// serials. Stops at the first certificate not issued by the issuer.
pub async fn record(args: &RecordArgs, out: &mut impl Write) -> Result<Vec<Vec<u8>>, AppError> {
    let issuer = load_cert(&args.issuer)?;
    let id = issuer_id(&issuer);
    let store = AnyStore::connect(&args.db).await?;
    let mut recorded = Vec::with_capacity(args.cert.len());
    for path in &args.cert {
        let c = load_cert(path)?;
        if c.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
            return Err(bad(format!(
                "{} was not issued by {}",
                path.display(),
                args.issuer.display()
            )));
        }
        let serial = serial_bytes(&hex::encode(c.tbs_certificate().serial_number().as_bytes()))?;
        let not_after = c.tbs_certificate().validity().not_after.to_system_time();
        store.record_issued(&id, &serial, Some(not_after)).await?;
        line(out, format_args!("recorded {}", hex::encode(&serial)))?;
        recorded.push(serial);
    }
    Ok(recorded)
}

/// `crl`: makes and signs the issuer's next CRL, writes it to `--out`, and publishes it in
/// the store for the responders unless a higher-numbered one is published already.
pub async fn crl(args: &CrlArgs, out: &mut impl Write) -> Result<CrlMade, AppError> {
    let issuer = load_cert(&args.issuer)?;
    let backend = match args.crypto.as_deref() {
        None => gica_serve::keys::CryptoBackend::default(),
        Some(name) => {
            gica_serve::keys::CryptoBackend::from_flag(name).map_err(ConfigError::from)?
        }
    };
    let key = load_key_with(&args.ca_key, backend, crate::default_sessions())?;
    let next = parse_duration(args.next_update.as_deref().unwrap_or("24h"))?;
    let idp = args
        .crl_url
        .as_deref()
        .map(crate::crl::idp_for_url)
        .transpose()
        .map_err(ConfigError)?;
    let store = AnyStore::connect(&args.db).await?;
    let id = issuer_id(&issuer);
    let crl = crate::crl::generate(&store, &id, &issuer, key.as_ref(), next, idp.as_ref()).await?;
    std::fs::write(&args.out, &crl.der).map_err(|source| AppError::Io {
        path: args.out.display().to_string(),
        source,
    })?;
    line(
        out,
        format_args!("wrote {} ({} bytes)", args.out.display(), crl.der.len()),
    )?;
    // Responders sharing the store serve it from their next CRL check on.
    let published = store.publish_crl(&id, &crl).await?;
    if published {
        line(
            out,
            format_args!("published CRL number {} for the responders", crl.number),
        )?;
    } else {
        line(
            out,
            format_args!("not published: a CRL with a higher number is published already"),
        )?;
    }
    Ok(CrlMade { crl, published })
}
