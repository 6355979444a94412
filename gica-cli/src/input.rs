//! Reading what users give: files or URLs, PEM or DER (told apart by content), bundles.

use std::{
    io::Read,
    path::Path,
    time::{Duration, SystemTime},
};

use gica_pki::{
    cms::{cert::CertificateChoices, content_info::ContentInfo, signed_data::SignedData},
    der::{Decode, asn1::ObjectIdentifier},
    x509_cert::Certificate,
};

use crate::{net::Http, report::CliError};

/// Largest certificate bundle, token or OCSP response read from a file.
pub const SMALL: u64 = 16 << 20;
/// Largest CRL read from a file or URL (a million entries is about 40 MiB).
pub const CRL: u64 = 512 << 20;

/// Reads a whole file (`-`: stdin), refusing more than `limit` bytes.
pub fn read_file(path: &Path, limit: u64) -> Result<Vec<u8>, CliError> {
    let name = path.display();
    let mut buf = Vec::new();
    let read = if path == Path::new("-") {
        std::io::stdin()
            .lock()
            .take(limit + 1)
            .read_to_end(&mut buf)
    } else {
        std::fs::File::open(path).and_then(|f| f.take(limit + 1).read_to_end(&mut buf))
    };
    read.map_err(|e| CliError::Io(format!("{name}: {e}")))?;
    if buf.len() as u64 > limit {
        return Err(CliError::Io(format!("{name}: larger than {limit} bytes")));
    }
    Ok(buf)
}

/// A file or, when it starts with `http://` or `https://`, a URL.
pub fn read_source(source: &str, limit: u64, http: &Http) -> Result<Vec<u8>, CliError> {
    if is_url(source) {
        http.get(source, limit)
    } else {
        read_file(Path::new(source), limit)
    }
}

pub fn is_url(s: &str) -> bool {
    let lower = s.get(..8).unwrap_or(s).to_ascii_lowercase();
    lower.starts_with("http://") || lower.starts_with("https://")
}

/// The DER blocks of a PEM text with one of `labels`, or the input itself when it is not PEM.
pub fn der_blocks(bytes: &[u8], labels: &[&str], name: &str) -> Result<Vec<Vec<u8>>, CliError> {
    let text = match std::str::from_utf8(bytes) {
        Ok(t) if t.trim_start().starts_with("-----BEGIN ") => t,
        _ => return Ok(vec![bytes.to_vec()]),
    };
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let block = &rest[start..];
        let label_end = block[11..]
            .find("-----")
            .ok_or_else(|| CliError::Usage(format!("{name}: broken PEM header")))?;
        let label = &block[11..11 + label_end];
        let end_marker = format!("-----END {label}-----");
        let end = block
            .find(&end_marker)
            .ok_or_else(|| CliError::Usage(format!("{name}: PEM block {label} has no END line")))?
            + end_marker.len();
        if labels.contains(&label) {
            let (_, der) = gica_pki::der::pem::decode_vec(&block.as_bytes()[..end])
                .map_err(|e| CliError::Usage(format!("{name}: bad PEM block {label}: {e}")))?;
            out.push(der);
        }
        rest = &block[end..];
    }
    if out.is_empty() {
        return Err(CliError::Usage(format!(
            "{name}: no PEM block labelled {}",
            labels.join(" or ")
        )));
    }
    Ok(out)
}

/// Certificates from PEM (any number of CERTIFICATE blocks), DER (one certificate, or
/// several concatenated) or a PKCS#7 bundle (`.p7b`, PEM or DER).
pub fn certificates(bytes: &[u8], name: &str) -> Result<Vec<Certificate>, CliError> {
    let bad = |e: gica_pki::der::Error| CliError::Usage(format!("{name}: not a certificate: {e}"));
    let mut out = Vec::new();
    for der in der_blocks(bytes, &["CERTIFICATE", "X509 CERTIFICATE", "PKCS7"], name)? {
        if let Ok(ci) = ContentInfo::from_der(&der) {
            let sd: SignedData = ci.content.decode_as().map_err(bad)?;
            out.extend(
                sd.certificates
                    .iter()
                    .flat_map(|set| set.0.iter())
                    .filter_map(|c| match c {
                        CertificateChoices::Certificate(c) => Some(c.clone()),
                        CertificateChoices::Other(_) => None,
                    }),
            );
            continue;
        }
        let mut reader = gica_pki::der::SliceReader::new(&der).map_err(bad)?;
        while !gica_pki::der::Reader::is_finished(&reader) {
            out.push(Certificate::decode(&mut reader).map_err(bad)?);
        }
    }
    if out.is_empty() {
        return Err(CliError::Usage(format!("{name}: no certificate found")));
    }
    Ok(out)
}

/// Certificates from a file.
pub fn cert_file(path: &Path) -> Result<Vec<Certificate>, CliError> {
    certificates(&read_file(path, SMALL)?, &path.display().to_string())
}

/// The first certificate of a file.
pub fn first_cert(path: &Path) -> Result<Certificate, CliError> {
    Ok(cert_file(path)?.remove(0))
}

/// `now` or an RFC 3339 time.
pub fn time(s: &str, now: SystemTime) -> Result<SystemTime, CliError> {
    if s.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    gica_pki::parse_rfc3339(s).map_err(|e| CliError::Usage(format!("--at: {e}")))
}

pub fn oid(s: &str, flag: &str) -> Result<ObjectIdentifier, CliError> {
    ObjectIdentifier::new(s)
        .map_err(|_| CliError::Usage(format!("{flag}: {s:?} is not an OID like 1.2.3.4")))
}

pub fn hex_digest(s: &str, len: usize) -> Result<Vec<u8>, CliError> {
    let bytes = hex::decode(s.trim())
        .map_err(|_| CliError::Usage(format!("--digest: {s:?} is not hexadecimal")))?;
    if bytes.len() != len {
        return Err(CliError::Usage(format!(
            "--digest: {} bytes, but the hash algorithm makes {len}",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// Hashes a file (`-`: stdin) as a stream.
pub fn hash_file(path: &Path, digest: gica_pki::DigestAlgorithm) -> Result<Vec<u8>, CliError> {
    let name = path.display();
    let io = |e: std::io::Error| CliError::Io(format!("{name}: {e}"));
    let mut reader: Box<dyn Read> = if path == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::fs::File::open(path).map_err(io)?)
    };
    let mut hasher = digest.hasher();
    let mut buf = vec![0u8; 256 << 10];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io(e)),
        }
    }
    Ok(hasher.finalize())
}

pub fn seconds(s: u64) -> Duration {
    Duration::from_secs(s.max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(rel: &str) -> Vec<u8> {
        std::fs::read(format!("{}/../testdata/{rel}", env!("CARGO_MANIFEST_DIR"))).expect("fixture")
    }

    #[test]
    fn pem_bundles_der_and_concatenated_der_all_read() {
        let pem = fixture("pki/chain.pem");
        let certs = certificates(&pem, "chain.pem").expect("pem");
        assert!(!certs.is_empty());
        let der: Vec<u8> = certs
            .iter()
            .flat_map(|c| gica_pki::der::Encode::to_der(c).expect("der"))
            .collect();
        assert_eq!(certificates(&der, "x").expect("der").len(), certs.len());
        let mut two = fixture("pki/root-ca.pem");
        two.extend(fixture("pki/int-ca.pem"));
        assert_eq!(certificates(&two, "two").expect("two").len(), 2);
    }

    #[test]
    fn garbage_and_wrong_pem_labels_are_usage_errors_naming_the_file() {
        let e = certificates(b"hello", "x.pem").expect_err("garbage");
        assert!(e.to_string().starts_with("x.pem: not a certificate"), "{e}");
        let key = fixture("pki/tsa-p256.key");
        let e = certificates(&key, "k.pem").expect_err("key");
        assert!(
            e.to_string().contains("no PEM block labelled CERTIFICATE"),
            "{e}"
        );
        let e = certificates(b"-----BEGIN CERTIFICATE-----\nAAAA\n", "t.pem").expect_err("end");
        assert!(e.to_string().contains("no END line"), "{e}");
    }

    #[test]
    fn times_oids_and_digests_are_checked() {
        let now = SystemTime::now();
        assert_eq!(time("now", now).expect("now"), now);
        assert!(time("2026-01-01T00:00:00Z", now).is_ok());
        assert!(time("yesterday", now).is_err());
        assert!(oid("1.2.3", "--policy").is_ok());
        assert!(oid("x", "--policy").is_err());
        assert_eq!(hex_digest(&"ab".repeat(32), 32).expect("hex").len(), 32);
        assert!(hex_digest("abcd", 32).is_err());
        assert!(hex_digest("zz", 1).is_err());
    }

    #[test]
    fn files_over_the_limit_are_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("big");
        std::fs::write(&p, vec![0u8; 100]).expect("write");
        assert!(read_file(&p, 100).is_ok());
        let e = read_file(&p, 99).expect_err("limit");
        assert!(e.to_string().contains("larger than 99 bytes"), "{e}");
        let e = read_file(&dir.path().join("missing"), 10).expect_err("missing");
        assert!(e.to_string().contains("missing"), "{e}");
    }
}
