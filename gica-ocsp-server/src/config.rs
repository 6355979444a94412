//! Command line and TOML configuration of gica-ocsp-server.

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use clap::{Args, Parser, Subcommand};
use serde::Deserialize;

/// OCSP responder, CRL publisher and revocation store.
#[derive(Parser, Debug)]
#[command(name = "gica-ocsp-server", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve OCSP (POST and GET /ocsp) and CRLs (GET /crl/{name}.crl).
    Serve(Box<ServeArgs>),
    /// Import an OpenSSL CA index.txt into the store (one transaction).
    ImportIndex(ImportArgs),
    /// Revoke a certificate.
    Revoke(RevokeArgs),
    /// Record an issued certificate (so it is answered `good`).
    Record(RecordArgs),
    /// Generate and sign the issuer's next CRL into a file.
    Crl(CrlArgs),
}

/// Flags of `serve`; each is also a key of the `--config` TOML file.
#[derive(Args, Debug, Default, Clone)]
pub struct ServeArgs {
    /// TOML file: the flags' names as keys, plus `[[issuer]]` tables.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Listen address [default: 127.0.0.1:3181].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Store: `sqlite:PATH` or `postgres://...`.
    #[arg(long, value_name = "URL")]
    pub db: Option<String>,
    /// Issuer CA certificate (PEM).
    #[arg(long, value_name = "PEM")]
    pub issuer: Option<PathBuf>,
    /// Delegated responder certificate (PEM); without it the CA key signs.
    #[arg(long, value_name = "PEM")]
    pub responder_cert: Option<PathBuf>,
    /// Delegated responder key (PEM, or a `pkcs11:` URI).
    #[arg(long, value_name = "PEM")]
    pub responder_key: Option<PathBuf>,
    /// The issuer's CA key (PEM, or a `pkcs11:` URI): signs OCSP when no responder is given,
    /// and CRLs.
    #[arg(long, value_name = "PEM")]
    pub ca_key: Option<PathBuf>,
    /// URL the issuer's CRL is published at: written into the CRL as its
    /// issuingDistributionPoint (critical, RFC 5280 5.2.5), so relying parties can match it
    /// to the cRLDistributionPoints of certificates [default: no IDP].
    #[arg(long, value_name = "URL")]
    pub crl_url: Option<String>,
    /// Name in `/crl/{name}.crl` [default: the issuer file's stem].
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// OCSP response validity (nextUpdate - thisUpdate) [default: 1h].
    #[arg(long, value_name = "DURATION")]
    pub validity: Option<String>,
    /// Longest a revocation may take to reach cached responses [default: 60s].
    #[arg(long, value_name = "DURATION")]
    pub max_staleness: Option<String>,
    /// CRL nextUpdate - thisUpdate [default: 24h]; CRLs are re-made every quarter of it.
    #[arg(long, value_name = "DURATION")]
    pub crl_next_update: Option<String>,
    /// Most CertIDs in one request [default: 16].
    #[arg(long, value_name = "N")]
    pub max_cert_ids: Option<usize>,
    /// Longest nonce echoed, 1..=128 octets (RFC 9654 2.1); longer ones are answered
    /// malformedRequest [default: 32].
    #[arg(long, value_name = "OCTETS")]
    pub max_nonce_len: Option<usize>,
    /// Answer for serials never issued: `unknown` or `revoked` [default: unknown].
    #[arg(long, value_name = "POLICY")]
    pub not_issued: Option<String>,
    /// ResponderID form: `key` or `name` [default: key].
    #[arg(long, value_name = "FORM")]
    pub responder_id: Option<String>,
    /// Flags every gica server takes.
    #[command(flatten)]
    pub common: gica_serve::config::CommonArgs,
    /// Make a throwaway demo PKI and database and serve them.
    #[arg(long)]
    pub demo: bool,
    /// Where `--demo` writes [default: $TMPDIR/gica-ocsp-demo].
    #[arg(long, value_name = "DIR")]
    pub demo_dir: Option<PathBuf>,
}

/// `import-index` flags.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Store URL.
    #[arg(long, value_name = "URL")]
    pub db: String,
    /// Issuer CA certificate (PEM).
    #[arg(long, value_name = "PEM")]
    pub issuer: PathBuf,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// The index.txt.
    pub index: PathBuf,
}

/// `revoke` flags.
#[derive(Args, Debug)]
pub struct RevokeArgs {
    /// Store URL.
    #[arg(long, value_name = "URL")]
    pub db: String,
    /// Issuer CA certificate (PEM).
    #[arg(long, value_name = "PEM")]
    pub issuer: PathBuf,
    /// Serial number in hex.
    #[arg(long, value_name = "HEX")]
    pub serial: String,
    /// CRL reason name (keyCompromise, superseded, ...).
    #[arg(long, value_name = "NAME")]
    pub reason: Option<String>,
    /// Revocation time, RFC 3339 [default: now].
    #[arg(long, value_name = "RFC3339")]
    pub time: Option<String>,
    /// Invalidity date, RFC 3339.
    #[arg(long, value_name = "RFC3339")]
    pub invalidity_date: Option<String>,
}

/// `record` flags.
#[derive(Args, Debug)]
pub struct RecordArgs {
    /// Store URL.
    #[arg(long, value_name = "URL")]
    pub db: String,
    /// Issuer CA certificate (PEM).
    #[arg(long, value_name = "PEM")]
    pub issuer: PathBuf,
    /// Issued certificates (PEM), repeatable.
    #[arg(long, value_name = "PEM", required = true)]
    pub cert: Vec<PathBuf>,
}

/// `crl` flags.
#[derive(Args, Debug)]
pub struct CrlArgs {
    /// Store URL.
    #[arg(long, value_name = "URL")]
    pub db: String,
    /// Issuer CA certificate (PEM).
    #[arg(long, value_name = "PEM")]
    pub issuer: PathBuf,
    /// CA key (PEM, or a `pkcs11:` URI).
    #[arg(long, value_name = "PEM")]
    pub ca_key: PathBuf,
    /// Output file (DER).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// nextUpdate - thisUpdate [default: 24h].
    #[arg(long, value_name = "DURATION")]
    pub next_update: Option<String>,
    /// URL the CRL is published at, written as its issuingDistributionPoint.
    #[arg(long, value_name = "URL")]
    pub crl_url: Option<String>,
    /// What signs with the CA key: `rustcrypto` or `aws-lc` (builds with the `aws-lc`
    /// feature), as `serve --crypto` [default: rustcrypto].
    #[arg(long, value_name = "BACKEND")]
    pub crypto: Option<String>,
}

/// One issuer in the TOML file.
#[derive(Deserialize, Debug, Clone, Default)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct IssuerConfig {
    /// CRL name.
    pub name: Option<String>,
    /// CA certificate.
    pub cert: PathBuf,
    /// CA key (file or `pkcs11:` URI).
    pub ca_key: Option<PathBuf>,
    /// Delegated responder certificate.
    pub responder_cert: Option<PathBuf>,
    /// Delegated responder key (file or `pkcs11:` URI).
    pub responder_key: Option<PathBuf>,
    /// CRL issuingDistributionPoint URL.
    pub crl_url: Option<String>,
}

/// The `--config` file.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct FileConfig {
    listen: Option<SocketAddr>,
    db: Option<String>,
    validity: Option<String>,
    max_staleness: Option<String>,
    crl_next_update: Option<String>,
    max_cert_ids: Option<usize>,
    max_nonce_len: Option<usize>,
    not_issued: Option<String>,
    responder_id: Option<String>,
    #[serde(default)]
    issuer: Vec<IssuerConfig>,
}

/// Resolved `serve` settings.
#[derive(Debug, Clone)]
pub struct ServeSettings {
    /// Listen address.
    pub listen: SocketAddr,
    /// Store URL.
    pub db: String,
    /// Issuers.
    pub issuers: Vec<IssuerConfig>,
    /// OCSP validity.
    pub validity: Duration,
    /// Cache invalidation bound.
    pub max_staleness: Duration,
    /// CRL validity.
    pub crl_next_update: Duration,
    /// CertID cap.
    pub max_cert_ids: usize,
    /// Longest nonce echoed.
    pub max_nonce_len: usize,
    /// Serials never issued answered revoked.
    pub not_issued_revoked: bool,
    /// ResponderID byName.
    pub by_name: bool,
    /// HTTP limits.
    pub limits: gica_serve::Limits,
    /// Signing threads.
    pub signing_threads: usize,
    /// JSON logs.
    pub json_logs: bool,
    /// What signs with the keys (`--crypto`).
    pub crypto: gica_serve::keys::CryptoBackend,
}

/// A configuration mistake.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ConfigError(pub String);

impl From<gica_serve::config::ConfigError> for ConfigError {
    fn from(e: gica_serve::config::ConfigError) -> Self {
        Self(e.to_string())
    }
}

/// Parses `90s`, `30m`, `1h`, `7d` (or plain seconds).
///
/// ```
/// use gica_ocsp_server::config::parse_duration;
/// assert_eq!(parse_duration("1h").unwrap().as_secs(), 3600);
/// assert_eq!(parse_duration("45").unwrap().as_secs(), 45);
/// assert!(parse_duration("1y").is_err());
/// ```
pub fn parse_duration(s: &str) -> Result<Duration, ConfigError> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len()));
    let n: u64 = num
        .parse()
        .map_err(|_| ConfigError(format!("{s:?} is not a duration like 90s, 30m, 1h, 7d")))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(ConfigError(format!("{s:?}: unit must be s, m, h or d"))),
    };
    n.checked_mul(mult)
        .filter(|v| *v > 0 && *v <= 366 * 86_400)
        .map(Duration::from_secs)
        .ok_or_else(|| ConfigError(format!("{s:?} is out of range (1s to 366d)")))
}

impl ServeSettings {
    /// Flags over the file over defaults.
    pub fn resolve(args: &ServeArgs) -> Result<Self, ConfigError> {
        let (file_common, file) = match &args.config {
            None => Default::default(),
            Some(p) => gica_serve::config::read_config::<FileConfig>(p)?,
        };
        let common = args.common.resolve(&file_common)?;
        let dur = |flag: &Option<String>,
                   file: &Option<String>,
                   default: &str|
         -> Result<Duration, ConfigError> {
            parse_duration(flag.as_deref().or(file.as_deref()).unwrap_or(default))
        };
        let issuers = match &args.issuer {
            Some(cert) => vec![IssuerConfig {
                name: args.name.clone(),
                cert: cert.clone(),
                ca_key: args.ca_key.clone(),
                responder_cert: args.responder_cert.clone(),
                responder_key: args.responder_key.clone(),
                crl_url: args.crl_url.clone(),
            }],
            None => file.issuer.clone(),
        };
        if issuers.is_empty() && !args.demo {
            return Err(ConfigError(
                "--issuer CA.pem is required (or [[issuer]] in --config, or --demo)".into(),
            ));
        }
        for i in &issuers {
            if i.responder_cert.is_some() != i.responder_key.is_some() {
                return Err(ConfigError(
                    "--responder-cert and --responder-key go together".into(),
                ));
            }
            if let Some(url) = &i.crl_url {
                crate::crl::idp_for_url(url).map_err(ConfigError)?;
            }
            if i.responder_cert.is_none() && i.ca_key.is_none() {
                return Err(ConfigError(format!(
                    "{}: give --responder-cert/--responder-key, or --ca-key so the CA signs",
                    i.cert.display()
                )));
            }
        }
        let db = args.db.clone().or(file.db.clone());
        let db = match db {
            Some(d) => d,
            None if args.demo => String::new(),
            None => {
                return Err(ConfigError(
                    "--db URL is required (sqlite:PATH or postgres://...)".into(),
                ));
            }
        };
        let not_issued_revoked = match args.not_issued.as_deref().or(file.not_issued.as_deref()) {
            None | Some("unknown") => false,
            Some("revoked") => true,
            Some(o) => {
                return Err(ConfigError(format!(
                    "--not-issued {o:?}: use unknown or revoked"
                )));
            }
        };
        let by_name = match args
            .responder_id
            .as_deref()
            .or(file.responder_id.as_deref())
        {
            None | Some("key") => false,
            Some("name") => true,
            Some(o) => {
                return Err(ConfigError(format!(
                    "--responder-id {o:?}: use key or name"
                )));
            }
        };
        let max_nonce_len = args
            .max_nonce_len
            .or(file.max_nonce_len)
            .unwrap_or(gica_pki::ocsp::MAX_NONCE_LEN);
        if !(1..=gica_pki::ocsp::RFC9654_MAX_NONCE_LEN).contains(&max_nonce_len) {
            return Err(ConfigError(format!(
                "--max-nonce-len {max_nonce_len}: RFC 9654 allows 1 to 128 octets"
            )));
        }
        let validity = dur(&args.validity, &file.validity, "1h")?;
        let max_staleness = dur(&args.max_staleness, &file.max_staleness, "60s")?;
        // Responses are re-signed at half their validity and may rest on a status up to half
        // of max-staleness old (one poll interval): both must fit well inside the validity.
        if max_staleness >= validity {
            return Err(ConfigError(format!(
                "--max-staleness ({}s) must be shorter than --validity ({}s)",
                max_staleness.as_secs(),
                validity.as_secs()
            )));
        }
        Ok(Self {
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3181))),
            db,
            issuers,
            validity,
            max_staleness,
            crl_next_update: dur(&args.crl_next_update, &file.crl_next_update, "24h")?,
            max_cert_ids: args
                .max_cert_ids
                .or(file.max_cert_ids)
                .unwrap_or(16)
                .clamp(1, 1000),
            max_nonce_len,
            not_issued_revoked,
            by_name,
            limits: common.limits,
            signing_threads: common.signing_threads,
            json_logs: common.json_logs,
            crypto: common.crypto,
        })
    }
}

/// Parses an RFC 3339 time in UTC or with an offset (`2026-11-23T10:00:00Z`,
/// `2026-11-23T13:30:00+03:30`); fractions of a second are dropped.
///
/// ```
/// use gica_ocsp_server::config::parse_rfc3339;
/// let a = parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
/// let b = parse_rfc3339("2026-11-23T13:30:00.5+03:30").unwrap();
/// assert_eq!(a, b);
/// ```
pub fn parse_rfc3339(s: &str) -> Result<std::time::SystemTime, ConfigError> {
    gica_pki::parse_rfc3339(s).map_err(|e| ConfigError(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(max_nonce_len: Option<usize>) -> ServeArgs {
        ServeArgs {
            db: Some("sqlite::memory:".into()),
            issuer: Some("ca.pem".into()),
            ca_key: Some("ca.key".into()),
            max_nonce_len,
            ..ServeArgs::default()
        }
    }

    #[test]
    fn crypto_is_a_shared_flag() {
        use gica_serve::keys::CryptoBackend;
        let s = ServeSettings::resolve(&args(None)).expect("defaults");
        assert_eq!(s.crypto, CryptoBackend::RustCrypto);
        let mut a = args(None);
        a.common.crypto = Some("aws-lc".into());
        match ServeSettings::resolve(&a) {
            Ok(s) if cfg!(feature = "aws-lc") => assert_eq!(s.crypto, CryptoBackend::AwsLc),
            Err(e) if !cfg!(feature = "aws-lc") => {
                assert!(e.0.contains("--features aws-lc"), "{e}")
            }
            other => panic!(
                "aws-lc with feature {}: {other:?}",
                cfg!(feature = "aws-lc")
            ),
        }
    }

    #[test]
    fn max_staleness_must_be_shorter_than_validity() {
        let mut a = args(None);
        a.validity = Some("60s".into());
        let err = ServeSettings::resolve(&a).expect_err("60s staleness, 60s validity");
        assert!(err.0.contains("--max-staleness"), "{err}");
        a.max_staleness = Some("20s".into());
        assert!(ServeSettings::resolve(&a).is_ok());
    }

    #[test]
    fn max_nonce_len_defaults_to_32_and_stays_within_rfc9654() {
        let resolve = |n| ServeSettings::resolve(&args(n)).map(|s| s.max_nonce_len);
        assert_eq!(resolve(None).expect("default"), 32);
        assert_eq!(resolve(Some(128)).expect("ceiling"), 128);
        for bad in [0, 129] {
            let err = resolve(Some(bad)).expect_err("out of range");
            assert!(err.0.contains("--max-nonce-len"), "{err}");
        }
    }
}
