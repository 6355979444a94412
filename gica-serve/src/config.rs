//! What every gica server is configured with: the flags they share (`--max-body`,
//! `--client-timeout`, `--max-connection-age`, `--signing-threads`, `--log-format`,
//! `--crypto`), and reading a `--config` TOML file whose keys are the flags' names.
//!
//! A server flattens [`CommonArgs`] into its clap parser and reads its file with
//! [`read_config`], which splits the shared keys off before the server's own (strict)
//! deserialisation, so a misspelt key is still an error.
//!
//! ```
//! use clap::Parser;
//! use gica_serve::config::CommonArgs;
//!
//! #[derive(Parser)]
//! struct Cli {
//!     #[command(flatten)]
//!     common: CommonArgs,
//! }
//!
//! let cli = Cli::parse_from(["server", "--max-body", "4096", "--log-format", "json"]);
//! let file = CommonArgs { client_timeout: Some(3), ..CommonArgs::default() };
//! let settings = cli.common.resolve(&file).unwrap();
//! assert_eq!(settings.limits.max_body, 4096);
//! assert_eq!(settings.limits.header_timeout.as_secs(), 3);
//! assert!(settings.json_logs);
//! ```

use std::{
    path::{Path, PathBuf},
    time::Duration,
};

use serde::{Deserialize, de::DeserializeOwned};

use crate::{Limits, keys::CryptoBackend};

/// The flags every gica server takes; each is also a key of its `--config` file.
#[derive(clap::Args, Deserialize, Debug, Default, Clone, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct CommonArgs {
    /// Largest request body in bytes [default: 16384].
    #[arg(long, value_name = "BYTES")]
    pub max_body: Option<usize>,
    /// Seconds a client has to send headers, and again the body [default: 10].
    #[arg(long, value_name = "SECS")]
    pub client_timeout: Option<u64>,
    /// Seconds after which a keep-alive connection is retired: its next response says
    /// `Connection: close` [default: 300].
    #[arg(long, value_name = "SECS")]
    pub max_connection_age: Option<u64>,
    /// Signing threads [default: the number of cores].
    #[arg(long, value_name = "N")]
    pub signing_threads: Option<usize>,
    /// Log format: `text` or `json` [default: text].
    #[arg(long, value_name = "FORMAT")]
    pub log_format: Option<String>,
    /// What signs with the keys: `rustcrypto` (pure Rust) or `aws-lc` (AWS-LC, in builds
    /// with the `aws-lc` feature) [default: rustcrypto].
    #[arg(long, value_name = "BACKEND")]
    pub crypto: Option<String>,
}

/// [`CommonArgs`] resolved: flags over the file over defaults.
#[derive(Clone, Copy, Debug)]
pub struct CommonSettings {
    /// Request limits (body size, client timeouts and connection age; the rest at their
    /// defaults).
    pub limits: Limits,
    /// Signing threads.
    pub signing_threads: usize,
    /// One JSON object a log line.
    pub json_logs: bool,
    /// What signs with the keys the server loads.
    pub crypto: CryptoBackend,
}

/// A configuration mistake, said plainly.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file could not be read or parsed.
    #[error("config file {path}: {reason}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// A value is not acceptable.
    #[error("{key}: {reason}")]
    Invalid {
        /// The key or flag.
        key: &'static str,
        /// What went wrong.
        reason: String,
    },
}

impl ConfigError {
    /// An [`ConfigError::Invalid`] for `key`.
    pub fn invalid(key: &'static str, reason: impl Into<String>) -> Self {
        Self::Invalid {
            key,
            reason: reason.into(),
        }
    }
}

impl CommonArgs {
    const KEYS: [&'static str; 6] = [
        "max-body",
        "client-timeout",
        "max-connection-age",
        "signing-threads",
        "log-format",
        "crypto",
    ];

    /// `self` (the flags) over `file` over the defaults.
    pub fn resolve(&self, file: &CommonArgs) -> Result<CommonSettings, ConfigError> {
        let json_logs = match self.log_format.as_deref().or(file.log_format.as_deref()) {
            None | Some("text") => false,
            Some("json") => true,
            Some(other) => {
                return Err(ConfigError::invalid(
                    "log-format",
                    format!("{other:?}: use text or json"),
                ));
            }
        };
        let max_body = self.max_body.or(file.max_body).unwrap_or(16 * 1024);
        if max_body == 0 {
            return Err(ConfigError::invalid("max-body", "must be positive"));
        }
        let timeout = match self.client_timeout.or(file.client_timeout).unwrap_or(10) {
            0 => return Err(ConfigError::invalid("client-timeout", "must be positive")),
            secs => Duration::from_secs(secs),
        };
        let max_connection_age = match self.max_connection_age.or(file.max_connection_age) {
            None => Limits::default().max_connection_age,
            Some(0) => {
                return Err(ConfigError::invalid(
                    "max-connection-age",
                    "must be positive",
                ));
            }
            Some(secs) => Duration::from_secs(secs),
        };
        let signing_threads = match self.signing_threads.or(file.signing_threads) {
            Some(0) => return Err(ConfigError::invalid("signing-threads", "must be positive")),
            Some(n) => n,
            None => std::thread::available_parallelism().map_or(2, usize::from),
        };
        let crypto = match self.crypto.as_deref().or(file.crypto.as_deref()) {
            None => CryptoBackend::default(),
            Some(name) => CryptoBackend::from_flag(name)?,
        };
        Ok(CommonSettings {
            limits: Limits {
                max_body,
                header_timeout: timeout,
                body_timeout: timeout,
                max_connection_age,
                ..Limits::default()
            },
            signing_threads,
            json_logs,
            crypto,
        })
    }
}

/// Reads a `--config` TOML file: the shared keys into [`CommonArgs`], the rest into the
/// server's own `T` (which should deny unknown fields).
pub fn read_config<T: DeserializeOwned>(path: &Path) -> Result<(CommonArgs, T), ConfigError> {
    let file_error = |reason: String| ConfigError::File {
        path: path.to_path_buf(),
        reason,
    };
    let text = std::fs::read_to_string(path).map_err(|e| file_error(e.to_string()))?;
    parse_config(&text).map_err(file_error)
}

/// [`read_config`] on text already read.
///
/// ```
/// use gica_serve::config::parse_config;
/// #[derive(serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Own { listen: String }
/// let (common, own): (_, Own) = parse_config("listen = 'x'\nmax-body = 10").unwrap();
/// assert_eq!((common.max_body, own.listen.as_str()), (Some(10), "x"));
/// assert!(parse_config::<Own>("listen = 'x'\nmax-bdy = 10").is_err());
/// ```
pub fn parse_config<T: DeserializeOwned>(text: &str) -> Result<(CommonArgs, T), String> {
    let mut own: toml::Table = toml::from_str(text).map_err(|e| e.to_string())?;
    let mut common = toml::Table::new();
    for key in CommonArgs::KEYS {
        if let Some(v) = own.remove(key) {
            common.insert(key.to_string(), v);
        }
    }
    let common = CommonArgs::deserialize(common).map_err(|e| e.to_string())?;
    let own = T::deserialize(own).map_err(|table_error| {
        // The table lost the positions: the whole text, parsed as `T`, says line and column,
        // unless what it trips on first is one of the shared keys.
        match toml::from_str::<T>(text) {
            Err(e) if !CommonArgs::KEYS.iter().any(|k| e.message().contains(k)) => e.to_string(),
            _ => table_error.to_string(),
        }
    })?;
    Ok((common, own))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_zero_is_refused() {
        let flags = CommonArgs {
            max_body: Some(100),
            ..CommonArgs::default()
        };
        let file = CommonArgs {
            max_body: Some(200),
            client_timeout: Some(7),
            max_connection_age: Some(20),
            signing_threads: Some(3),
            log_format: Some("text".into()),
            crypto: Some("rustcrypto".into()),
        };
        let s = flags.resolve(&file).expect("valid");
        assert_eq!(s.limits.max_body, 100);
        assert_eq!(s.limits.body_timeout, Duration::from_secs(7));
        assert_eq!(s.signing_threads, 3);
        assert_eq!(s.limits.max_connection_age, Duration::from_secs(20));
        assert!(!s.json_logs);
        assert_eq!(s.crypto, CryptoBackend::RustCrypto);
        let defaults = CommonArgs::default()
            .resolve(&CommonArgs::default())
            .expect("defaults");
        assert_eq!(defaults.limits.max_connection_age, Duration::from_secs(300));
        assert_eq!(defaults.crypto, CryptoBackend::RustCrypto);
        for (bad, key) in [
            (
                CommonArgs {
                    max_body: Some(0),
                    ..CommonArgs::default()
                },
                "max-body",
            ),
            (
                CommonArgs {
                    client_timeout: Some(0),
                    ..CommonArgs::default()
                },
                "client-timeout",
            ),
            (
                CommonArgs {
                    max_connection_age: Some(0),
                    ..CommonArgs::default()
                },
                "max-connection-age",
            ),
            (
                CommonArgs {
                    signing_threads: Some(0),
                    ..CommonArgs::default()
                },
                "signing-threads",
            ),
            (
                CommonArgs {
                    log_format: Some("xml".into()),
                    ..CommonArgs::default()
                },
                "log-format",
            ),
            (
                CommonArgs {
                    crypto: Some("openssl".into()),
                    ..CommonArgs::default()
                },
                "crypto",
            ),
        ] {
            let err = bad.resolve(&CommonArgs::default()).expect_err(key);
            assert!(err.to_string().starts_with(key), "{err}");
        }
    }

    #[test]
    fn shared_keys_are_split_off_and_typos_still_fail() {
        #[derive(Deserialize, Debug)]
        #[serde(rename_all = "kebab-case", deny_unknown_fields)]
        struct Own {
            listen: Option<String>,
        }
        let (common, own): (CommonArgs, Own) = parse_config(
            "listen = \"127.0.0.1:1\"\nsigning-threads = 2\nlog-format = \"json\"\n\
                 max-connection-age = 30",
        )
        .expect("parses");
        assert_eq!(common.signing_threads, Some(2));
        assert_eq!(common.max_connection_age, Some(30));
        assert_eq!(common.log_format.as_deref(), Some("json"));
        assert_eq!(own.listen.as_deref(), Some("127.0.0.1:1"));
        let typo = parse_config::<Own>("listen = \"x\"\nsigning-thread = 2").expect_err("typo");
        assert!(
            typo.contains("signing-thread") && typo.contains("line 2"),
            "{typo}"
        );
        assert!(parse_config::<Own>("max-body = \"big\"").is_err());
    }

    /// `--crypto aws-lc` in a build without the feature: a startup error naming the flag and
    /// the feature, never a panic; in a build with it, the backend.
    #[test]
    fn crypto_aws_lc_needs_the_feature() {
        let flags = CommonArgs {
            crypto: Some("aws-lc".into()),
            ..CommonArgs::default()
        };
        let from_file = CommonArgs::default().resolve(&flags);
        for resolved in [flags.resolve(&CommonArgs::default()), from_file] {
            if cfg!(feature = "aws-lc") {
                assert_eq!(resolved.expect("aws-lc").crypto, CryptoBackend::AwsLc);
            } else {
                let err = resolved.expect_err("no aws-lc in this build").to_string();
                assert!(
                    err.starts_with("crypto:") && err.contains("--features aws-lc"),
                    "{err}"
                );
            }
        }
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Nothing {}
        let (common, Nothing {}) = parse_config("crypto = \"aws-lc\"").expect("a shared key");
        assert_eq!(common.crypto.as_deref(), Some("aws-lc"));
    }
}
