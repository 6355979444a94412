//! Settings: a TOML file (`--config`) whose keys are the flags' names, overridden by flags.

use std::{net::SocketAddr, path::PathBuf};

use clap::Parser;
use gica_pki::{DigestAlgorithm, der::asn1::ObjectIdentifier};
use serde::Deserialize;

/// Policy used by `--demo` when none is given: the placeholder of openssl's own example TSA
/// configuration (`tsa_policy1`), never a production policy.
pub const DEMO_POLICY: &str = "1.2.3.4.1";

/// Command-line flags. Every one can also be a key of the `--config` TOML file.
#[derive(Parser, Debug, Default, Clone)]
#[command(
    name = "gica-tsa-server",
    version,
    about = "RFC 3161 / RFC 5816 time-stamp authority"
)]
pub struct Args {
    /// TOML file with any of the keys below (flag names, e.g. `accept-policy = ["1.2.3"]`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address to listen on [default: 127.0.0.1:3180].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// TSA certificate (PEM).
    #[arg(long, value_name = "PEM")]
    pub cert: Option<PathBuf>,
    /// TSA private key: a PEM file (PKCS#8, PKCS#1 or SEC1), or a key on a token as an RFC 7512
    /// `pkcs11:` URI (PIN from `pin-source=file:PATH` or GICA_PKCS11_PIN).
    #[arg(long, value_name = "PEM")]
    pub key: Option<PathBuf>,
    /// Intermediates and root (PEM), sent after the TSA certificate when certReq is set.
    #[arg(long, value_name = "PEM")]
    pub chain: Option<PathBuf>,
    /// Default policy OID of tokens.
    #[arg(long, value_name = "OID")]
    pub policy: Option<String>,
    /// A further policy a request may ask for (repeatable).
    #[arg(long = "accept-policy", value_name = "OID")]
    pub accept_policy: Vec<String>,
    /// Accuracy stated in tokens, in milliseconds; 0 leaves it out [default: 1000].
    #[arg(long, value_name = "N")]
    pub accuracy_ms: Option<u64>,
    /// Fraction-of-second digits in genTime, 0..=6 [default: 3].
    #[arg(long, value_name = "N")]
    pub fraction_digits: Option<u8>,
    /// Promise ordering by genTime (genTimes strictly increase).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub ordering: Option<bool>,
    /// Include the TSA name in tokens [default: true].
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub tsa_name: Option<bool>,
    /// Accepted imprint hash (repeatable) [default: sha256 sha384 sha512].
    #[arg(long = "hash", value_name = "ALG")]
    pub hash: Vec<String>,
    /// Hash of the TSA's own signature [default: sha256 for RSA and P-256, sha384 for P-384].
    #[arg(long, value_name = "ALG")]
    pub signing_digest: Option<String>,
    /// Sign with RSASSA-PSS instead of PKCS#1 v1.5 (RSA keys).
    #[arg(long, num_args = 0..=1, default_missing_value = "true", value_name = "BOOL")]
    pub rsa_pss: Option<bool>,
    /// Flags every gica server takes.
    #[command(flatten)]
    pub common: gica_serve::config::CommonArgs,
    /// Make an ephemeral demo PKI (P-256 root, intermediate, TSA) and serve with it.
    #[arg(long)]
    pub demo: bool,
    /// Where `--demo` writes its PEM files (replacing earlier ones) [default: $TMPDIR/gica-tsa-demo].
    #[arg(long, value_name = "DIR")]
    pub demo_dir: Option<PathBuf>,
}

/// The `--config` file: the flags' names as keys.
#[derive(Deserialize, Debug, Default)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
    chain: Option<PathBuf>,
    policy: Option<String>,
    #[serde(default)]
    accept_policy: Vec<String>,
    accuracy_ms: Option<u64>,
    fraction_digits: Option<u8>,
    ordering: Option<bool>,
    tsa_name: Option<bool>,
    #[serde(default)]
    hash: Vec<String>,
    signing_digest: Option<String>,
    rsa_pss: Option<bool>,
    demo: Option<bool>,
    demo_dir: Option<PathBuf>,
}

pub use gica_serve::config::ConfigError;

fn invalid(key: &'static str, reason: impl Into<String>) -> ConfigError {
    ConfigError::invalid(key, reason)
}

/// Resolved settings.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Listen address.
    pub listen: SocketAddr,
    /// TSA certificate file (absent only with `demo`).
    pub cert: Option<PathBuf>,
    /// Key file or `pkcs11:` URI.
    pub key: Option<PathBuf>,
    /// Chain file.
    pub chain: Option<PathBuf>,
    /// Default policy.
    pub policy: ObjectIdentifier,
    /// Further accepted policies.
    pub accept_policies: Vec<ObjectIdentifier>,
    /// Accuracy in milliseconds (0: none stated).
    pub accuracy_ms: u64,
    /// genTime fraction digits.
    pub fraction_digits: u8,
    /// Ordering.
    pub ordering: bool,
    /// TSA name in tokens.
    pub tsa_name: bool,
    /// Accepted imprint hashes.
    pub hashes: Vec<DigestAlgorithm>,
    /// Signature hash.
    pub signing_digest: Option<DigestAlgorithm>,
    /// RSA-PSS.
    pub rsa_pss: bool,
    /// Request limits.
    pub limits: gica_serve::Limits,
    /// Signing threads.
    pub signing_threads: usize,
    /// JSON logs.
    pub json_logs: bool,
    /// What signs with the key (`--crypto`).
    pub crypto: gica_serve::keys::CryptoBackend,
    /// Demo mode.
    pub demo: bool,
    /// Demo directory.
    pub demo_dir: Option<PathBuf>,
}

fn parse_oid(key: &'static str, s: &str) -> Result<ObjectIdentifier, ConfigError> {
    s.parse()
        .map_err(|e| invalid(key, format!("{s:?} is not an OID: {e}")))
}

fn parse_digest(key: &'static str, s: &str) -> Result<DigestAlgorithm, ConfigError> {
    match DigestAlgorithm::from_name(s) {
        Some(DigestAlgorithm::Sha1) => Err(invalid(key, "sha1 is not accepted")),
        Some(d) => Ok(d),
        None => Err(invalid(
            key,
            format!("unknown hash {s:?}; use sha256, sha384 or sha512"),
        )),
    }
}

impl Settings {
    /// Flags over the config file over defaults.
    pub fn resolve(args: Args) -> Result<Self, ConfigError> {
        let (file_common, file) = match &args.config {
            None => Default::default(),
            Some(path) => gica_serve::config::read_config::<FileConfig>(path)?,
        };
        let common = args.common.resolve(&file_common)?;
        let demo = args.demo || file.demo.unwrap_or(false);
        let policy = match args.policy.or(file.policy) {
            Some(p) => parse_oid("policy", &p)?,
            None if demo => parse_oid("policy", DEMO_POLICY)?,
            None => {
                return Err(invalid(
                    "policy",
                    "a default policy OID is required (--policy OID)",
                ));
            }
        };
        let accept = if args.accept_policy.is_empty() {
            file.accept_policy
        } else {
            args.accept_policy
        };
        let accept_policies = accept
            .iter()
            .map(|p| parse_oid("accept-policy", p))
            .collect::<Result<_, _>>()?;
        let hash_names = if args.hash.is_empty() {
            file.hash
        } else {
            args.hash
        };
        let hashes = if hash_names.is_empty() {
            vec![
                DigestAlgorithm::Sha256,
                DigestAlgorithm::Sha384,
                DigestAlgorithm::Sha512,
            ]
        } else {
            hash_names
                .iter()
                .map(|h| parse_digest("hash", h))
                .collect::<Result<_, _>>()?
        };
        let signing_digest = args
            .signing_digest
            .or(file.signing_digest)
            .map(|d| parse_digest("signing-digest", &d))
            .transpose()?;
        let fraction_digits = args.fraction_digits.or(file.fraction_digits).unwrap_or(3);
        if fraction_digits > 6 {
            return Err(invalid(
                "fraction-digits",
                "at most 6 (microseconds); finer is noise on these clocks",
            ));
        }
        let cert = args.cert.or(file.cert);
        let key = args.key.or(file.key);
        if !demo && (cert.is_none() || key.is_none()) {
            return Err(invalid(
                "cert",
                "--cert and --key are required (or --demo for a throwaway PKI)",
            ));
        }
        Ok(Self {
            listen: args
                .listen
                .or(file.listen)
                .unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 3180))),
            cert,
            key,
            chain: args.chain.or(file.chain),
            policy,
            accept_policies,
            accuracy_ms: args.accuracy_ms.or(file.accuracy_ms).unwrap_or(1000),
            fraction_digits,
            ordering: args.ordering.or(file.ordering).unwrap_or(false),
            tsa_name: args.tsa_name.or(file.tsa_name).unwrap_or(true),
            hashes,
            signing_digest,
            rsa_pss: args.rsa_pss.or(file.rsa_pss).unwrap_or(false),
            limits: common.limits,
            signing_threads: common.signing_threads,
            json_logs: common.json_logs,
            crypto: common.crypto,
            demo,
            demo_dir: args.demo_dir.or(file.demo_dir),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Args {
        Args::try_parse_from(std::iter::once("gica-tsa-server").chain(list.iter().copied()))
            .expect("flags parse")
    }

    #[test]
    fn flags_override_the_config_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tsa.toml");
        std::fs::write(
            &path,
            "listen = \"127.0.0.1:9000\"\npolicy = \"1.2.3\"\naccept-policy = [\"1.2.4\"]\naccuracy-ms = 500\ncert = \"a.pem\"\nkey = \"a.key\"\nmax-body = 2048\nsigning-threads = 3\nlog-format = \"json\"\n",
        )
        .expect("write");
        let p = path.to_str().expect("utf-8");
        let s = Settings::resolve(args(&[
            "--config",
            p,
            "--accuracy-ms",
            "20",
            "--policy",
            "1.2.5",
        ]))
        .expect("ok");
        assert_eq!(s.listen, "127.0.0.1:9000".parse().expect("addr"));
        assert_eq!(s.accuracy_ms, 20);
        assert_eq!(s.policy, "1.2.5".parse().expect("oid"));
        assert_eq!(s.accept_policies, vec!["1.2.4".parse().expect("oid")]);
        // The keys every server shares, read through gica_serve::config.
        assert_eq!(s.limits.max_body, 2048);
        assert_eq!(s.signing_threads, 3);
        assert!(s.json_logs);
        let s = Settings::resolve(args(&["--config", p, "--signing-threads", "1"])).expect("ok");
        assert_eq!(s.signing_threads, 1);
    }

    #[test]
    fn mistakes_are_named() {
        let e = Settings::resolve(args(&["--cert", "a", "--key", "b"])).expect_err("no policy");
        assert!(e.to_string().contains("policy"), "{e}");
        let e = Settings::resolve(args(&["--demo", "--hash", "sha1"])).expect_err("sha1");
        assert!(e.to_string().contains("sha1"), "{e}");
        let e = Settings::resolve(args(&["--policy", "1.2.3"])).expect_err("no cert");
        assert!(e.to_string().contains("--cert"), "{e}");
        let s = Settings::resolve(args(&["--demo"])).expect("demo needs nothing");
        assert_eq!(s.listen.port(), 3180);
        assert_eq!(s.crypto, gica_serve::keys::CryptoBackend::RustCrypto);
        let e = Settings::resolve(args(&["--demo", "--crypto", "ring"])).expect_err("ring");
        assert!(e.to_string().starts_with("crypto:"), "{e}");
        let aws = Settings::resolve(args(&["--demo", "--crypto", "aws-lc"]));
        if cfg!(feature = "aws-lc") {
            assert_eq!(
                aws.expect("aws-lc").crypto,
                gica_serve::keys::CryptoBackend::AwsLc
            );
        } else {
            let e = aws.expect_err("not in this build").to_string();
            assert!(e.contains("--features aws-lc"), "{e}");
        }
    }

    #[test]
    fn unknown_config_keys_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("tsa.toml");
        std::fs::write(&path, "polcy = \"1.2.3\"\n").expect("write");
        let e = Settings::resolve(args(&["--config", path.to_str().expect("utf-8"), "--demo"]))
            .expect_err("typo");
        assert!(e.to_string().contains("polcy"), "{e}");
    }
}
