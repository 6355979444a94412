//! The `gica-registry` command line: `serve` and the operator's commands.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use clap::{Args, Parser, Subcommand};
use gica_pki::SignerOptions;
use gica_pki::proof::ProofSigner;
use gica_serve::config::CommonArgs;
use gica_serve::keys::{self, CryptoBackend};
use gica_serve::tsa_client::TsaClient;
use serde::Deserialize;

use crate::apikey::Scope;
use crate::decide::Rules;
use crate::service::{Notary, Registry};
use crate::store::Store;

/// Default listen address of `serve`.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:3182";

/// How long a TSA exchange may take.
const TSA_TIMEOUT: Duration = Duration::from_secs(10);

/// gica-registry: pre-registry phones added by their owners, with signed, time-stamped
/// receipts.
#[derive(Parser, Debug)]
#[command(name = "gica-registry", version, about)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve the HTTP API.
    Serve(Box<ServeArgs>),
    /// Import operators' sightings files (CSV `date,imei,imsi,msisdn,rat`, gzip accepted).
    ImportSightings(ImportArgs),
    /// Import a blocklist (one IMEI a line).
    ImportBlocklist(BlocklistArgs),
    /// Freeze the pairs seen before the cutoff as a new signed, time-stamped snapshot.
    Freeze(FreezeArgs),
    /// Manage API keys.
    #[command(subcommand)]
    ApiKey(ApiKeyCommand),
    /// Write the signed export list (full, or a delta with --since).
    Export(ExportArgs),
}

/// The signing key, certificate and TSA every signing command takes.
#[derive(Args, Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct SignerArgs {
    /// The registry's certificate (PEM), followed by its intermediates.
    #[arg(long, value_name = "PEM")]
    pub signer_cert: Option<PathBuf>,
    /// Its key: a PEM file (PKCS#8, PKCS#1 or SEC1) or a `pkcs11:` URI.
    #[arg(long, value_name = "PEM|URI")]
    pub signer_key: Option<PathBuf>,
    /// The RFC 3161 time-stamping service (http://host:port/tsa).
    #[arg(long, value_name = "URL")]
    pub tsa_url: Option<String>,
}

/// `serve` flags; every one is also a key of the `--config` file.
#[derive(Args, Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
pub struct ServeArgs {
    /// A TOML file whose keys are these flags' names (flags win).
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Database: sqlite:PATH or postgres://...
    #[arg(long, value_name = "URL", env = "GICA_REGISTRY_DB")]
    pub db: Option<String>,
    /// Listen address [default: 127.0.0.1:3182].
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<SocketAddr>,
    /// Signing key, certificate and TSA.
    #[command(flatten)]
    #[serde(flatten)]
    pub signer: SignerArgs,
    /// Most devices one owner may register [default: 10].
    #[arg(long, value_name = "N")]
    pub owner_limit: Option<u32>,
    /// Run out of the box: a demo PKI, an in-process TSA, generated sightings, a snapshot and
    /// API keys, with example requests printed.
    #[arg(long)]
    #[serde(skip)]
    pub demo: bool,
    /// Where --demo writes its files [default: a directory under the system's temp dir].
    #[arg(long, value_name = "DIR")]
    #[serde(skip)]
    pub demo_dir: Option<PathBuf>,
    /// Flags every gica server takes.
    #[command(flatten)]
    #[serde(skip)]
    pub common: CommonArgs,
}

/// `import-sightings` flags.
#[derive(Args, Debug)]
pub struct ImportArgs {
    /// Database: sqlite:PATH or postgres://...
    #[arg(long, value_name = "URL", env = "GICA_REGISTRY_DB")]
    pub db: String,
    /// The operator that delivered the files.
    #[arg(long, value_name = "NAME")]
    pub operator: String,
    /// Time-stamp each accepted file's SHA-256 here.
    #[arg(long, value_name = "URL")]
    pub tsa_url: Option<String>,
    /// Refuse a file whose share of bad rows is over this.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.05)]
    pub max_bad_share: f64,
    /// No progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// The files.
    #[arg(required = true, value_name = "FILE")]
    pub files: Vec<PathBuf>,
}

/// `import-blocklist` flags.
#[derive(Args, Debug)]
pub struct BlocklistArgs {
    /// Database: sqlite:PATH or postgres://...
    #[arg(long, value_name = "URL", env = "GICA_REGISTRY_DB")]
    pub db: String,
    /// One IMEI a line (14, 15 or 16 digits); `#` starts a comment.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

/// `freeze` flags.
#[derive(Args, Debug)]
pub struct FreezeArgs {
    /// Database: sqlite:PATH or postgres://...
    #[arg(long, value_name = "URL", env = "GICA_REGISTRY_DB")]
    pub db: String,
    /// The instant the registry started (RFC 3339): only sightings on days that ended by
    /// then count.
    #[arg(long, value_name = "RFC3339")]
    pub cutoff: String,
    /// Signing key, certificate and TSA.
    #[command(flatten)]
    pub signer: SignerArgs,
}

/// `api-key` commands.
#[derive(Subcommand, Debug)]
pub enum ApiKeyCommand {
    /// Make a key; prints it alone on one line of stdout (it is not stored, only its hash).
    Add {
        /// Database: sqlite:PATH or postgres://...
        #[arg(long, value_name = "URL", env = "GICA_REGISTRY_DB")]
        db: String,
        /// portal, ussd, export or admin.
        #[arg(long)]
        scope: Scope,
        /// A name for people.
        #[arg(long, default_value = "")]
        name: String,
    },
    /// List keys (never their secrets).
    List {
        /// Database: sqlite:PATH or postgres://...
        #[arg(long, value_name = "URL", env = "GICA_REGISTRY_DB")]
        db: String,
    },
    /// Revoke a key by its id.
    Revoke {
        /// Database: sqlite:PATH or postgres://...
        #[arg(long, value_name = "URL", env = "GICA_REGISTRY_DB")]
        db: String,
        /// The key's id (as `list` shows it).
        id: String,
    },
}

/// `export` flags.
#[derive(Args, Debug)]
pub struct ExportArgs {
    /// Database: sqlite:PATH or postgres://...
    #[arg(long, value_name = "URL", env = "GICA_REGISTRY_DB")]
    pub db: String,
    /// A delta of the approvals after this sequence number (else the full list).
    #[arg(long, value_name = "N")]
    pub since: Option<u64>,
    /// Where to write the signed list (DER).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Signing key and certificate (no time-stamp is added to exports).
    #[command(flatten)]
    pub signer: SignerArgs,
}

/// A command that failed, said plainly.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CliError {
    /// A flag is missing or wrong.
    #[error("{0}")]
    Usage(String),
    /// The database.
    #[error(transparent)]
    Store(#[from] gica_store::StoreError),
    /// Loading keys or certificates.
    #[error(transparent)]
    Load(#[from] keys::LoadError),
    /// Configuration.
    #[error(transparent)]
    Config(#[from] gica_serve::config::ConfigError),
    /// The registry.
    #[error(transparent)]
    Registry(#[from] crate::service::RegistryError),
    /// Importing.
    #[error(transparent)]
    Import(#[from] crate::import::ImportError),
    /// Freezing.
    #[error(transparent)]
    Freeze(#[from] crate::snapshot::FreezeError),
    /// A file.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// Signing setup.
    #[error("{0}")]
    Signer(String),
}

/// Opens the store at `url`.
pub async fn open_store(url: &str) -> Result<Store, CliError> {
    Ok(Store::open(url).await?)
}

/// Builds the notary from `--signer-cert`, `--signer-key` and `--tsa-url`.
pub fn notary(
    args: &SignerArgs,
    crypto: CryptoBackend,
    threads: usize,
    stamp: bool,
) -> Result<Notary, CliError> {
    let (Some(cert), Some(key)) = (&args.signer_cert, &args.signer_key) else {
        return Err(CliError::Usage(
            "--signer-cert and --signer-key are required".into(),
        ));
    };
    let mut certs = keys::load_certs(cert)?;
    if certs.is_empty() {
        return Err(CliError::Usage(format!(
            "{}: no certificate",
            cert.display()
        )));
    }
    let signer_cert = certs.remove(0);
    let signer = keys::load_signer(key, SignerOptions::default(), crypto, threads)?;
    let proof = ProofSigner::new(signer.clone(), signer_cert, certs)
        .map_err(|e| CliError::Signer(format!("{}: {e}", cert.display())))?;
    let tsa = match (&args.tsa_url, stamp) {
        (Some(url), true) => Some(
            TsaClient::new(url, TSA_TIMEOUT)
                .map_err(|e| CliError::Usage(format!("--tsa-url: {e}")))?,
        ),
        (None, true) => return Err(CliError::Usage("--tsa-url is required".into())),
        _ => None,
    };
    let pool = gica_serve::SigningPool::new(threads, Duration::from_secs(10))
        .inline_if_fast_signers([signer.as_ref()], b"gica-registry speed probe");
    Ok(Notary::new(proof, tsa, pool))
}

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Runs a command other than `serve`, writing its report to `out`.
pub async fn run_admin(command: Command, out: &mut dyn std::io::Write) -> Result<(), CliError> {
    let io = |path: &Path| {
        let path = path.display().to_string();
        move |source| CliError::Io { path, source }
    };
    let stdout = |r: std::io::Result<()>| {
        r.map_err(|source| CliError::Io {
            path: "stdout".into(),
            source,
        })
    };
    match command {
        Command::Serve(_) => Err(CliError::Usage("serve is not an admin command".into())),
        Command::ImportSightings(args) => {
            let store = open_store(&args.db).await?;
            let tsa = args
                .tsa_url
                .as_deref()
                .map(|u| TsaClient::new(u, TSA_TIMEOUT))
                .transpose()
                .map_err(|e| CliError::Usage(format!("--tsa-url: {e}")))?;
            let mut failed = 0;
            for file in &args.files {
                let options = crate::import::ImportOptions {
                    operator: args.operator.clone(),
                    max_bad_share: args.max_bad_share,
                    progress: !args.quiet,
                };
                match crate::import::import_file(&store, file, &options, tsa.as_ref()).await {
                    Ok(report) => stdout(writeln!(out, "{report}"))?,
                    Err(e) => {
                        failed += 1;
                        stdout(writeln!(out, "{}: refused: {e}", file.display()))?;
                    }
                }
            }
            if failed > 0 {
                return Err(CliError::Usage(format!(
                    "{failed} of {} files refused",
                    args.files.len()
                )));
            }
            Ok(())
        }
        Command::ImportBlocklist(args) => {
            let store = open_store(&args.db).await?;
            let text = std::fs::read_to_string(&args.file).map_err(io(&args.file))?;
            let mut imeis = Vec::new();
            for (n, line) in text.lines().enumerate() {
                let line = line.split('#').next().unwrap_or("").trim();
                if line.is_empty() {
                    continue;
                }
                let imei = crate::domain::Imei::parse(line).map_err(|e| {
                    CliError::Usage(format!("{}:{}: {e}", args.file.display(), n + 1))
                })?;
                imeis.push(imei.as_str().to_owned());
            }
            let added = store.add_to_blocklist(&imeis, now_secs()).await?;
            stdout(writeln!(
                out,
                "{}: {} IMEIs, {added} new on the blocklist",
                args.file.display(),
                imeis.len()
            ))
        }
        Command::Freeze(args) => {
            let store = open_store(&args.db).await?;
            let cutoff = gica_pki::parse_rfc3339(&args.cutoff)
                .map_err(|e| CliError::Usage(format!("--cutoff: {e}")))?;
            let notary = notary(&args.signer, CryptoBackend::RustCrypto, 1, true)?;
            let now = SystemTime::now();
            let frozen = store
                .freeze(cutoff, now, async |content| {
                    notary
                        .sign(gica_pki::oid::CT_REGISTRY_SNAPSHOT, content, now, true)
                        .await
                })
                .await?;
            stdout(writeln!(
                out,
                "snapshot {}: {} pairs seen before {}, root {}",
                frozen.version,
                frozen.tree_size,
                gica_pki::Rfc3339(cutoff),
                hex::encode(frozen.root)
            ))
        }
        Command::ApiKey(ApiKeyCommand::Add { db, scope, name }) => {
            let store = open_store(&db).await?;
            let (key, _) = store.add_api_key(scope, &name, now_secs()).await?;
            stdout(writeln!(out, "{key}"))
        }
        Command::ApiKey(ApiKeyCommand::List { db }) => {
            let store = open_store(&db).await?;
            for key in store.api_keys().await? {
                let state = if key.revoked_at.is_some() {
                    "revoked"
                } else {
                    "active"
                };
                stdout(writeln!(
                    out,
                    "{}\t{}\t{}\t{}",
                    key.id, key.scope, state, key.name
                ))?;
            }
            Ok(())
        }
        Command::ApiKey(ApiKeyCommand::Revoke { db, id }) => {
            let store = open_store(&db).await?;
            if store.revoke_api_key(&id, now_secs()).await? {
                stdout(writeln!(out, "revoked {id}"))
            } else {
                Err(CliError::Usage(format!("no active key with id {id}")))
            }
        }
        Command::Export(args) => {
            let store = open_store(&args.db).await?;
            let notary = notary(&args.signer, CryptoBackend::RustCrypto, 1, false)?;
            let registry = Registry::new(store, notary, Rules::default());
            let (list, signed) = registry.export(args.since, SystemTime::now()).await?;
            std::fs::write(&args.out, signed).map_err(io(&args.out))?;
            stdout(writeln!(
                out,
                "{}: {} list, sequence {}, {} pairs",
                args.out.display(),
                if args.since.is_some() {
                    "delta"
                } else {
                    "full"
                },
                list.sequence,
                list.pairs.len()
            ))
        }
    }
}

/// `serve`'s settings resolved: flags over the config file over defaults.
#[derive(Debug)]
pub struct ServeSettings {
    /// Database URL.
    pub db: String,
    /// Listen address.
    pub listen: SocketAddr,
    /// Signing key, certificate, TSA.
    pub signer: SignerArgs,
    /// Rules.
    pub rules: Rules,
    /// Shared server settings.
    pub common: gica_serve::config::CommonSettings,
}

impl ServeSettings {
    /// Resolves `args` with its `--config` file.
    pub fn resolve(args: &ServeArgs) -> Result<Self, CliError> {
        let (common_file, file): (CommonArgs, ServeArgs) = match &args.config {
            Some(path) => gica_serve::config::read_config(path)?,
            None => (CommonArgs::default(), ServeArgs::default()),
        };
        let common = args.common.resolve(&common_file)?;
        let db = args.db.clone().or(file.db).ok_or_else(|| {
            CliError::Usage("--db is required (sqlite:PATH or postgres://...)".into())
        })?;
        let listen = match args.listen.or(file.listen) {
            Some(l) => l,
            None => DEFAULT_LISTEN
                .parse()
                .map_err(|_| CliError::Usage("default listen address".into()))?,
        };
        let signer = SignerArgs {
            signer_cert: args.signer.signer_cert.clone().or(file.signer.signer_cert),
            signer_key: args.signer.signer_key.clone().or(file.signer.signer_key),
            tsa_url: args.signer.tsa_url.clone().or(file.signer.tsa_url),
        };
        let rules = Rules {
            owner_limit: args
                .owner_limit
                .or(file.owner_limit)
                .unwrap_or(Rules::default().owner_limit),
        };
        Ok(Self {
            db,
            listen,
            signer,
            rules,
            common,
        })
    }

    /// Opens the store and builds the registry these settings describe.
    pub async fn registry(&self) -> Result<Arc<Registry>, CliError> {
        let store = open_store(&self.db).await?;
        let notary = notary(
            &self.signer,
            self.common.crypto,
            self.common.signing_threads,
            true,
        )?;
        Ok(Arc::new(Registry::new(store, notary, self.rules)))
    }
}

/// A database URL fit for a log line: a PostgreSQL password is replaced by `***`.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{}:***{}", &url[..scheme + 3], user, &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn config_files_take_the_flags_names_and_flags_win() {
        let text = "db = 'sqlite:/tmp/r.db'\nlisten = '127.0.0.1:9999'\nsigner-cert = 'c.pem'\n\
                    signer-key = 'k.pem'\ntsa-url = 'http://t/tsa'\nowner-limit = 3\nmax-body = 4096\n";
        let (common, file): (CommonArgs, ServeArgs) =
            gica_serve::config::parse_config(text).unwrap();
        assert_eq!(common.max_body, Some(4096));
        assert_eq!(file.db.as_deref(), Some("sqlite:/tmp/r.db"));
        assert_eq!(file.signer.tsa_url.as_deref(), Some("http://t/tsa"));
        assert_eq!(file.owner_limit, Some(3));
        let misspelt = gica_serve::config::parse_config::<ServeArgs>("owner-limt = 3");
        assert!(misspelt.is_err(), "{misspelt:?}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("registry.toml");
        std::fs::write(&path, text).unwrap();
        let cli = Cli::parse_from([
            "gica-registry",
            "serve",
            "--config",
            path.to_str().unwrap(),
            "--owner-limit",
            "5",
        ]);
        let Command::Serve(args) = cli.command else {
            panic!("serve")
        };
        let settings = ServeSettings::resolve(&args).unwrap();
        assert_eq!(settings.rules.owner_limit, 5);
        assert_eq!(settings.listen.port(), 9999);
        assert_eq!(settings.common.limits.max_body, 4096);
        assert_eq!(
            settings.signer.signer_key.as_deref(),
            Some(Path::new("k.pem"))
        );
    }

    #[test]
    fn database_passwords_stay_out_of_logs() {
        assert_eq!(
            redact_url("postgres://reg:s3cret@db:5432/r"),
            "postgres://reg:***@db:5432/r"
        );
        assert_eq!(redact_url("postgres://reg@db/r"), "postgres://reg@db/r");
        assert_eq!(redact_url("sqlite:/var/lib/r.db"), "sqlite:/var/lib/r.db");
    }
}
