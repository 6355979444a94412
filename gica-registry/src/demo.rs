//! `serve --demo`: a throwaway PKI, an in-process gica TSA, a few thousand generated
//! sightings, a frozen snapshot, a blocklist entry and API keys, then example requests that
//! show an approval and each refusal.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gica_pki::cert::to_pem;
use gica_pki::certgen::{CertificateParams, DemoCa};
use gica_pki::tsp::{Authority, AuthorityConfig};
use gica_pki::{Signer, SoftwareSigner};

use crate::apikey::Scope;
use crate::cli::{CliError, ServeArgs};
use crate::domain::Imei;
use crate::import::{ImportOptions, import_file};
use crate::store::Store;

/// Pairs the demo generates.
const PAIRS: u64 = 3000;
/// Of them, the ones seen only after the cutoff.
const AFTER_CUTOFF: u64 = 200;
/// The demo registry's cutoff.
pub const CUTOFF: &str = "2020-01-01T00:00:00Z";

/// What `--demo` made, and the in-process TSA it runs.
#[derive(Debug)]
pub struct Demo {
    /// Where the files are.
    pub dir: PathBuf,
    /// Trust anchor of the receipts and time-stamps.
    pub root: PathBuf,
    /// Intermediate CA (for `openssl ... -untrusted`).
    pub chain: PathBuf,
    /// API keys by scope.
    pub keys: Vec<(Scope, String)>,
    tsa_url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    tsa: Option<tokio::task::JoinHandle<()>>,
}

fn pki_error(e: gica_pki::Error) -> CliError {
    CliError::Signer(format!("demo PKI: {e}"))
}

fn write(path: &Path, text: impl AsRef<[u8]>) -> Result<(), CliError> {
    std::fs::write(path, text).map_err(|source| CliError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// A deterministic generator for the demo's numbers (splitmix64).
struct Numbers(u64);

impl Numbers {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        (z ^ (z >> 31)) % below
    }
}

/// A valid national ID from 9 digits.
pub fn national_id(first9: u64) -> String {
    let digits: Vec<u32> = format!("{:09}", first9 % 1_000_000_000)
        .bytes()
        .map(|b| u32::from(b - b'0'))
        .collect();
    let s: u32 = digits
        .iter()
        .enumerate()
        .map(|(i, d)| d * (10 - i as u32))
        .sum();
    let r = s % 11;
    let check = if r < 2 { r } else { 11 - r };
    format!("{:09}{check}", first9 % 1_000_000_000)
}

/// The demo's pair `i`: IMEI (15 digits), IMSI, MSISDN.
pub fn pair(i: u64) -> (String, String, String) {
    let body = format!("35209900{:06}", i % 1_000_000);
    let imei = Imei::parse(&body).map(|i| i.to_15()).unwrap_or(body);
    // Pairs 21 and 22 share pair 20's SIM: one multi-IMEI phone.
    let sim = if (21..=22).contains(&i) { 20 } else { i };
    (
        imei,
        format!("4321100{:08}", sim),
        format!("98912{:07}", sim),
    )
}

/// Writes the demo's sightings CSV.
fn sightings(path: &Path) -> Result<(), CliError> {
    let mut n = Numbers(9162);
    let mut csv = String::from("date,imei,imsi,msisdn,rat\n");
    for i in 0..PAIRS {
        let (imei, imsi, msisdn) = pair(i);
        let rat = ["2G", "3G", "4G", ""][n.next(4) as usize];
        let (year, month) = if i >= PAIRS - AFTER_CUTOFF {
            (2020, 3 + n.next(9))
        } else {
            (2019, 1 + n.next(12))
        };
        for _ in 0..1 + n.next(3) {
            csv.push_str(&format!(
                "{year}-{month:02}-{:02},{imei},{imsi},{msisdn},{rat}\n",
                1 + n.next(28)
            ));
        }
    }
    write(path, csv)
}

/// Makes the demo's files, database, snapshot and keys, starts its TSA, and points `args` at
/// them (flags the operator gave win).
pub async fn prepare(dir: &Path, args: &mut ServeArgs) -> Result<Demo, CliError> {
    std::fs::create_dir_all(dir).map_err(|source| CliError::Io {
        path: dir.display().to_string(),
        source,
    })?;
    let now = SystemTime::now();
    let demo = DemoCa::new("gica demo", "gica Demo Intermediate CA", now).map_err(pki_error)?;
    let reg_key = SoftwareSigner::generate_p256().map_err(pki_error)?;
    let reg_cert =
        CertificateParams::leaf("CN=gica Demo Device Registry,O=gica demo,C=IR", now, 365)
            .signed_by(reg_key.public_key(), &demo.ca, &demo.ca_key)
            .map_err(pki_error)?;
    let tsa_key = SoftwareSigner::generate_p256().map_err(pki_error)?;
    let tsa_cert = CertificateParams::tsa("CN=gica Demo TSA,O=gica demo,C=IR", now, 365)
        .signed_by(tsa_key.public_key(), &demo.ca, &demo.ca_key)
        .map_err(pki_error)?;
    let root = dir.join("root.pem");
    let chain = dir.join("chain.pem");
    let cert_path = dir.join("registry.pem");
    let key_path = dir.join("registry.key");
    let ca_pem = to_pem(&demo.ca).map_err(pki_error)?;
    write(&root, to_pem(&demo.root).map_err(pki_error)?)?;
    write(&chain, &ca_pem)?;
    write(&cert_path, to_pem(&reg_cert).map_err(pki_error)? + &ca_pem)?;
    write(&key_path, reg_key.to_pkcs8_pem().map_err(pki_error)?)?;

    // The in-process TSA, on a port of its own.
    let mut config = AuthorityConfig::new(
        "1.3.6.1.4.1.99999.1.1"
            .parse()
            .map_err(|_| CliError::Signer("policy".into()))?,
    );
    config.chain = vec![demo.ca.clone()];
    let authority = Authority::new(tsa_cert, Arc::new(tsa_key), config).map_err(pki_error)?;
    let tsa = gica_tsa_server::TsaServer::new(
        authority,
        gica_serve::Limits::default(),
        1,
        Arc::new(gica_serve::keys::SystemClock),
    )
    .map_err(|e| CliError::Signer(format!("demo TSA: {e}")))?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|source| CliError::Io {
            path: "127.0.0.1:0".into(),
            source,
        })?;
    let tsa_addr = listener.local_addr().map_err(|source| CliError::Io {
        path: "TSA".into(),
        source,
    })?;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let handle = tokio::spawn(async move {
        let _ = Arc::new(tsa)
            .serve(listener, async {
                let _ = stop_rx.await;
            })
            .await;
    });
    let tsa_url = format!("http://{tsa_addr}/tsa");

    let db_path = dir.join("registry.db");
    let db = args
        .db
        .clone()
        .unwrap_or_else(|| format!("sqlite:{}", db_path.display()));
    let store = Store::open(&db).await?;
    let csv = dir.join("sightings.csv");
    sightings(&csv)?;
    let options = ImportOptions {
        operator: "demo-operator".into(),
        max_bad_share: 0.05,
        progress: false,
    };
    let client = gica_serve::tsa_client::TsaClient::new(&tsa_url, Duration::from_secs(10))
        .map_err(|e| CliError::Usage(format!("demo TSA: {e}")))?;
    import_file(&store, &csv, &options, Some(&client)).await?;
    let (blocked, _, _) = pair(10);
    let blocked = Imei::parse(&blocked).map_err(|e| CliError::Usage(e.to_string()))?;
    store
        .add_to_blocklist(&[blocked.as_str().to_owned()], 0)
        .await?;
    let signer_args = crate::cli::SignerArgs {
        signer_cert: Some(cert_path.clone()),
        signer_key: Some(key_path.clone()),
        tsa_url: Some(tsa_url.clone()),
    };
    if store.newest_snapshot().await?.is_none() {
        let notary = crate::cli::notary(
            &signer_args,
            gica_serve::keys::CryptoBackend::RustCrypto,
            1,
            true,
        )?;
        let cutoff = gica_pki::parse_rfc3339(CUTOFF).map_err(|e| CliError::Usage(e.to_string()))?;
        store
            .freeze(cutoff, now, async |content| {
                notary
                    .sign(gica_pki::oid::CT_REGISTRY_SNAPSHOT, content, now, true)
                    .await
            })
            .await?;
    }
    let mut keys = Vec::new();
    for scope in [Scope::Portal, Scope::Ussd, Scope::Export] {
        let (key, _) = store.add_api_key(scope, "demo", 0).await?;
        keys.push((scope, key));
    }
    store.db().close().await;

    args.db = Some(db);
    args.signer.signer_cert.get_or_insert(cert_path);
    args.signer.signer_key.get_or_insert(key_path);
    args.signer.tsa_url.get_or_insert(tsa_url.clone());
    args.owner_limit.get_or_insert(2);
    Ok(Demo {
        dir: dir.to_path_buf(),
        root,
        chain,
        keys,
        tsa_url,
        stop: Some(stop_tx),
        tsa: Some(handle),
    })
}

impl Demo {
    fn key(&self, scope: Scope) -> &str {
        self.keys
            .iter()
            .find(|(s, _)| *s == scope)
            .map_or("", |(_, k)| k.as_str())
    }

    /// Prints where things are and curl lines for an approval and each refusal.
    pub fn print_examples(&self, addr: SocketAddr, out: &mut dyn Write) -> std::io::Result<()> {
        let base = format!("http://{addr}");
        let portal = self.key(Scope::Portal);
        let owner_a = national_id(1_234_567);
        let owner_b = national_id(7_654_321);
        let owner_c = national_id(5_550_000);
        let post = |body: String| {
            format!(
                "curl -s -H 'Authorization: Bearer {portal}' -H 'Content-Type: application/json' -d '{body}' {base}/v1/devices"
            )
        };
        let body = |owner: &str, imeis: &[String], imsi: &str| {
            let list: Vec<String> = imeis.iter().map(|i| format!("\"{i}\"")).collect();
            format!(
                "{{\"national_id\":\"{owner}\",\"imeis\":[{}],\"imsi\":\"{imsi}\"}}",
                list.join(",")
            )
        };
        let (imei0, imsi0, msisdn0) = pair(0);
        let (imei1, imsi1, _) = pair(1);
        let mut wrong = imei1.clone();
        let last = wrong.pop().and_then(|c| c.to_digit(10)).unwrap_or(0);
        wrong.push(char::from_digit((last + 1) % 10, 10).unwrap_or('0'));
        let (late, late_imsi, _) = pair(PAIRS - 1);
        let (imei3, _, _) = pair(3);
        let (_, imsi4, _) = pair(4);
        let (blocked, blocked_imsi, _) = pair(10);
        let multi: Vec<String> = (20..=22).map(|i| pair(i).0).collect();
        let (_, multi_imsi, _) = pair(20);
        let (imei5, _, msisdn5) = pair(5);
        writeln!(out, "demo PKI in {}", self.dir.display())?;
        writeln!(out, "  root:   {}", self.root.display())?;
        writeln!(out, "  chain:  {}", self.chain.display())?;
        writeln!(out, "  TSA:    {}", self.tsa_url)?;
        writeln!(
            out,
            "  cutoff: {CUTOFF}; {PAIRS} generated pairs; owner limit 2 in the demo"
        )?;
        for (scope, key) in &self.keys {
            writeln!(out, "  {scope} key: {key}")?;
        }
        writeln!(out, "examples:")?;
        writeln!(
            out,
            "  # approved\n  {}",
            post(body(&owner_a, std::slice::from_ref(&imei0), &imsi0))
        )?;
        writeln!(
            out,
            "  # approved, the portal's way (MSISDN only)\n  {}",
            post(format!(
                "{{\"national_id\":\"{owner_a}\",\"imeis\":[\"{imei5}\"],\"msisdn\":\"0{}\"}}",
                &msisdn5[2..]
            ))
        )?;
        writeln!(
            out,
            "  # invalid-imei\n  {}",
            post(body(&owner_a, &[wrong], &imsi1))
        )?;
        writeln!(
            out,
            "  # not-seen-before-cutoff\n  {}",
            post(body(&owner_a, &[late], &late_imsi))
        )?;
        writeln!(
            out,
            "  # seen-with-other-sim\n  {}",
            post(body(&owner_a, &[imei3], &imsi4))
        )?;
        writeln!(
            out,
            "  # registered-to-another-owner (after the first example)\n  {}",
            post(body(&owner_b, std::slice::from_ref(&imei0), &imsi0))
        )?;
        writeln!(
            out,
            "  # blocklisted\n  {}",
            post(body(&owner_b, &[blocked], &blocked_imsi))
        )?;
        writeln!(
            out,
            "  # owner-limit (three IMEIs of one phone, limit 2)\n  {}",
            post(body(&owner_c, &multi, &multi_imsi))
        )?;
        writeln!(
            out,
            "  # USSD (Persian reply; add &lang=en for English)\n  curl -s -H 'Authorization: Bearer {}' --data-urlencode 'msisdn={msisdn0}' --data-urlencode 'imsi={imsi0}' --data-urlencode 'text=*4444*{owner_a}*{imei0}#' {base}/v1/ussd",
            self.key(Scope::Ussd)
        )?;
        writeln!(
            out,
            "  # the receipt, checked by openssl\n  curl -s -H 'Authorization: Bearer {portal}' {base}/v1/receipts/TRACKING-CODE -o receipt.p7m\n  openssl cms -verify -inform DER -in receipt.p7m -CAfile {} -purpose any -out receipt.der",
            self.root.display()
        )?;
        writeln!(
            out,
            "  # the operators' export\n  curl -s -H 'Authorization: Bearer {}' {base}/v1/export/full -o full.p7m",
            self.key(Scope::Export)
        )?;
        Ok(())
    }

    /// Stops the in-process TSA.
    pub async fn stop(mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(handle) = self.tsa.take() {
            let _ = handle.await;
        }
    }
}
