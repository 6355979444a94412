//! Import of an OpenSSL `ca` database (`index.txt`) into a [`RevocationWriter`].
//!
//! One line per certificate, six tab-separated fields, as `openssl ca` writes them
//! (`apps/ca.c`; a tab inside a field is escaped as `\<TAB>`):
//!
//! | field | content |
//! | --- | --- |
//! | status | `V` valid, `R` revoked, `E` expired (imported as valid: expiry follows from notAfter) |
//! | notAfter | UTCTime `YYMMDDHHMMSSZ`, or GeneralizedTime `YYYYMMDDHHMMSSZ` (from 2050) |
//! | revocation | empty unless `R`: `time`, `time,reason` or `time,reason,argument` |
//! | serial | hex, any length and case, leading zeros allowed |
//! | file name | usually `unknown`; ignored |
//! | subject | the DN, may hold spaces; ignored |
//!
//! The reason is one of openssl's names, matched ignoring case (`unspecified`,
//! `keyCompromise`, `CACompromise`, `affiliationChanged`, `superseded`,
//! `cessationOfOperation`, `certificateHold`, `removeFromCRL`; the other RFC 5280 names are
//! accepted too), or one of openssl's pseudo reasons:
//!
//! | written by `openssl ca -revoke` with | field | recorded as |
//! | --- | --- | --- |
//! | `-crl_hold OID` | `time,holdInstruction,OID` | certificateHold |
//! | `-crl_compromise GENTIME` | `time,keyTime,GENTIME` | keyCompromise, invalidityDate GENTIME |
//! | `-crl_CA_compromise GENTIME` | `time,CAkeyTime,GENTIME` | cACompromise, invalidityDate GENTIME |
//!
//! As in openssl, an argument after a plain reason (`certificateHold,OID`) is ignored. The
//! hold instruction itself is checked but not stored (RFC 5280 deprecates it).
//!
//! An `R` line with reason `removeFromCRL` is imported as valid: RFC 5280 5.3.1 gives that
//! reason only to delta-CRL entries saying a hold was released, so the certificate is not
//! revoked (openssl would list it on a full CRL, where relying parties read it as revoked).

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use gica_pki::CrlReason;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::store::{CertRecord, ImportSummary, RecordStatus, RevocationWriter, StoreError};

/// Serials longer than this are refused (RFC 5280 4.1.2.2: at most 20 octets; CRLs and OCSP
/// could not carry longer ones).
const MAX_SERIAL_OCTETS: usize = 20;
/// Files with fewer lines import too fast to need a progress bar.
const PROGRESS_MIN_LINES: usize = 10_000;
/// How much of a bad field a message quotes.
const QUOTE_MAX: usize = 40;

/// Why an import failed; nothing was written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// The file could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        source: std::io::Error,
    },
    /// The store refused the import (the transaction was rolled back).
    #[error("import failed, nothing imported: {0}")]
    Store(#[from] StoreError),
}

/// Parses an `index.txt` into the records of `issuer`, and the malformed lines as (line number,
/// 1-based; why). Blank lines and `#` comments are skipped.
pub fn parse_index(text: &str, issuer: &str) -> (Vec<CertRecord>, Vec<(usize, String)>) {
    parse_with(text, issuer, |_| {})
}

/// Reads `path`, parses it and imports every well-formed line in one transaction (all or
/// nothing). The summary lists the malformed lines, which were left out. With `progress`, a
/// large file shows a progress bar on stderr.
pub async fn import_index<S: RevocationWriter>(
    store: &S,
    path: &Path,
    issuer: &str,
    progress: bool,
) -> Result<ImportSummary, ImportError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|source| ImportError::Read {
            path: path.to_owned(),
            source,
        })?;
    // Subjects may hold stray bytes; the fields that matter are ASCII.
    let text = String::from_utf8_lossy(&bytes);
    let lines = bytes.iter().filter(|b| **b == b'\n').count();
    let bar = (progress && lines > PROGRESS_MIN_LINES).then(|| parse_bar(lines));

    let (records, malformed) = parse_with(&text, issuer, |line| {
        if let Some(bar) = &bar
            && line % 1024 == 0
        {
            bar.set_position(line as u64);
        }
    });

    if let Some(bar) = &bar {
        if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
            bar.set_style(style);
        }
        bar.set_message(format!(
            "importing {} records in one transaction",
            records.len()
        ));
        bar.enable_steady_tick(Duration::from_millis(100));
    }
    let imported = store.import(&records).await;
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let mut summary = imported?;
    summary.malformed = malformed;
    Ok(summary)
}

fn parse_bar(lines: usize) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(lines as u64), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{msg} [{bar:40}] {pos}/{len} lines") {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("parsing");
    bar
}

fn parse_with(
    text: &str,
    issuer: &str,
    mut on_line: impl FnMut(usize),
) -> (Vec<CertRecord>, Vec<(usize, String)>) {
    let mut records = Vec::new();
    let mut malformed = Vec::new();
    for (number, line) in (1..).zip(text.lines()) {
        on_line(number);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        match parse_line(line, issuer) {
            Ok(record) => records.push(record),
            Err(why) => malformed.push((number, why)),
        }
    }
    (records, malformed)
}

fn parse_line(line: &str, issuer: &str) -> Result<CertRecord, String> {
    let fields = split_fields(line);
    let [status, not_after, revocation, serial, _file, _subject] = fields[..] else {
        return Err(format!(
            "expected 6 tab-separated fields, found {}",
            fields.len()
        ));
    };
    let not_after =
        parse_time(not_after).ok_or_else(|| format!("bad expiry date {}", quote(not_after)))?;
    let serial = parse_serial(serial)?;
    let status = match status {
        "V" | "E" if revocation.is_empty() => RecordStatus::Valid,
        "V" | "E" => {
            return Err(format!(
                "revocation field {} on a {status} line",
                quote(revocation)
            ));
        }
        "R" => parse_revocation(revocation)?,
        other => return Err(format!("unknown status {} (want V, R or E)", quote(other))),
    };
    Ok(CertRecord {
        issuer: issuer.to_owned(),
        serial,
        not_after: Some(not_after),
        status,
    })
}

/// Splits at tabs not escaped by a backslash (escaped ones stay, backslash and all: only the
/// ignored file name and subject ever hold one).
fn split_fields(line: &str) -> Vec<&str> {
    let mut fields = Vec::with_capacity(6);
    let mut start = 0;
    let mut escaped = false;
    for (i, c) in line.char_indices() {
        if c == '\t' && !escaped {
            fields.push(&line[start..i]);
            start = i + 1;
        }
        escaped = c == '\\';
    }
    fields.push(&line[start..]);
    fields
}

/// Hex to magnitude: odd length and leading zeros are fine, zero is not (serials are positive).
fn parse_serial(hex: &str) -> Result<Vec<u8>, String> {
    if hex.is_empty() || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("bad serial {}", quote(hex)));
    }
    let digits = hex.trim_start_matches('0');
    if digits.is_empty() {
        return Err("serial is zero (serials are positive)".into());
    }
    if digits.len() > 2 * MAX_SERIAL_OCTETS {
        return Err(format!("serial longer than {MAX_SERIAL_OCTETS} octets"));
    }
    let padded = if digits.len() % 2 == 1 {
        format!("0{digits}")
    } else {
        digits.to_owned()
    };
    hex::decode(padded).map_err(|e| format!("bad serial {}: {e}", quote(hex)))
}

/// `time[,reason[,argument]]`, as `unpack_revinfo` in openssl's `apps/ca.c` reads it.
fn parse_revocation(field: &str) -> Result<RecordStatus, String> {
    if field.is_empty() {
        return Err("R line without a revocation date".into());
    }
    let (time, rest) = match field.split_once(',') {
        Some((time, rest)) => (time, Some(rest)),
        None => (field, None),
    };
    let time = parse_time(time).ok_or_else(|| format!("bad revocation date {}", quote(time)))?;
    let (reason, invalidity_date) = match rest {
        None => (None, None),
        Some(rest) => {
            let (reason, invalidity_date) = match rest.split_once(',') {
                Some((name, argument)) => parse_reason(name, Some(argument))?,
                None => parse_reason(rest, None)?,
            };
            (Some(reason), invalidity_date)
        }
    };
    if reason == Some(CrlReason::RemoveFromCrl) {
        // A released hold (RFC 5280 5.3.1): not revoked.
        return Ok(RecordStatus::Valid);
    }
    Ok(RecordStatus::Revoked {
        time,
        reason,
        invalidity_date,
    })
}

/// A reason name and its argument: openssl's pseudo reasons, else a CRLReason name.
fn parse_reason(
    name: &str,
    argument: Option<&str>,
) -> Result<(CrlReason, Option<SystemTime>), String> {
    let compromised = |reason: CrlReason| {
        let at = argument.ok_or_else(|| format!("{name} without the compromise time"))?;
        let at = parse_generalized_time(at)
            .ok_or_else(|| format!("bad compromise time {} (want YYYYMMDDHHMMSSZ)", quote(at)))?;
        Ok((reason, Some(at)))
    };
    if name.eq_ignore_ascii_case("keyTime") {
        compromised(CrlReason::KeyCompromise)
    } else if name.eq_ignore_ascii_case("CAkeyTime") {
        compromised(CrlReason::CaCompromise)
    } else if name.eq_ignore_ascii_case("holdInstruction") {
        match argument {
            Some(oid) if is_hold_instruction(oid) => Ok((CrlReason::CertificateHold, None)),
            Some(oid) => Err(format!("bad hold instruction {}", quote(oid))),
            None => Err("holdInstruction without the instruction".into()),
        }
    } else {
        CrlReason::from_name(name)
            .map(|reason| (reason, None))
            .ok_or_else(|| format!("unknown revocation reason {}", quote(name)))
    }
}

/// What openssl's `OBJ_txt2obj` takes for a hold instruction: a dotted OID or a known name.
fn is_hold_instruction(text: &str) -> bool {
    const NAMES: [&str; 6] = [
        "holdInstructionNone",
        "holdInstructionCallIssuer",
        "holdInstructionReject",
        "Hold Instruction None",
        "Hold Instruction Call Issuer",
        "Hold Instruction Reject",
    ];
    let dotted = text.contains('.')
        && text
            .split('.')
            .all(|arc| !arc.is_empty() && arc.bytes().all(|b| b.is_ascii_digit()));
    dotted || NAMES.contains(&text)
}

/// UTCTime `YYMMDDHHMMSSZ` (years 1950 to 2049) or GeneralizedTime `YYYYMMDDHHMMSSZ`.
fn parse_time(text: &str) -> Option<SystemTime> {
    if !text.is_ascii() {
        return None;
    }
    match text.len() {
        13 => {
            let yy = number(&text[..2])?;
            let century = if yy >= 50 { 1900 } else { 2000 };
            date_time(century + yy, &text[2..])
        }
        15 => parse_generalized_time(text),
        _ => None,
    }
}

/// GeneralizedTime `YYYYMMDDHHMMSSZ`.
fn parse_generalized_time(text: &str) -> Option<SystemTime> {
    if !text.is_ascii() || text.len() != 15 {
        return None;
    }
    date_time(number(&text[..4])?, &text[4..])
}

/// `MMDDHHMMSSZ` of `year`.
fn date_time(year: i64, rest: &str) -> Option<SystemTime> {
    if rest.len() != 11 || !rest.is_ascii() || !rest.ends_with('Z') {
        return None;
    }
    let field = |at: usize| number(&rest[at..at + 2]);
    let (month, day) = (field(0)?, field(2)?);
    let (hour, minute, second) = (field(4)?, field(6)?, field(8)?);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) || hour > 23 || minute > 59 || second > 59 {
        return None;
    }
    let secs = days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second;
    crate::store::from_unix_secs(secs)
}

/// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let day_of_year = (153 * ((month + 9) % 12) + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// Decimal digits only (no sign, no spaces).
fn number(digits: &str) -> Option<i64> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse().ok()
}

/// A field for an error message, cut short.
fn quote(field: &str) -> String {
    match field.char_indices().nth(QUOTE_MAX) {
        Some((cut, _)) => format!("{:?}...", &field[..cut]),
        None => format!("{field:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2000, 3, 1), 11_017);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        let t = parse_time("491231235959Z").expect("UTCTime");
        assert_eq!(crate::store::unix_secs(t), 2_524_607_999);
        assert_eq!(parse_time("500101000000Z"), parse_time("19500101000000Z"));
        assert!(parse_time("240230000000Z").is_none());
        assert!(parse_time("240229000000Z").is_some());
        assert!(parse_time("21000229000000Z").is_none());
        assert!(parse_time("2401010000+0Z").is_none());
    }
}
