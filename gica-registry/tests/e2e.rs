//! The registry end to end, through the real `gica-registry` binary on a fresh database, with
//! a real gica TSA running in this process (the fixture TSA of testdata/pki): import of plain
//! and gzip'd sightings, the blocklist, freeze, API keys, then `serve` driven over HTTP.
//! Receipts, snapshots and exports are checked by `openssl cms -verify`, time-stamp tokens by
//! `openssl ts -verify`, and Merkle proofs by the independent implementation in
//! `support/`. No test sleeps: `serve` prints its address after it has bound the port.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Barrier, mpsc};
use std::time::Duration;

use der::Decode;
use gica_pki::proof::read_proof;
use gica_pki::{SignerOptions, SoftwareSigner, cert::load_pem_certs, oid};
use gica_registry::receipt::{
    Decision, DeviceReceipt, ListKind, PairEntry, PairList, RegistrySnapshot,
};
use gica_registry::store::{Store, Table};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::{Hash, fixture, imei15, imei15_wrong, mth, national_id, pair_leaf, verify_inclusion};

const BIN: &str = env!("CARGO_BIN_EXE_gica-registry");
/// Longest any one command or server start may take: a hang fails, it does not stall.
const LIMIT: Duration = Duration::from_secs(60);
const CUTOFF: &str = "2020-01-01T00:00:00Z";
const OWNER_LIMIT: &str = "3";

// --- the generated operator data --------------------------------------------------------------

/// Devices 0..200. File 1 (mci) holds 0..100, of which 90..100 were seen only after the
/// cutoff; file 2 (irancell, gzip'd) holds 100..200 and an earlier sighting of device 0.
/// Devices 21, 22, 23 are one phone with device 20's SIM.
const DEVICES: u64 = 200;

fn body(i: u64) -> String {
    format!("3520990{i:07}")
}

fn sim(i: u64) -> u64 {
    if (21..=23).contains(&i) { 20 } else { i }
}

fn imsi(i: u64) -> String {
    format!("43211{:010}", sim(i))
}

fn msisdn(i: u64) -> String {
    format!("98912{:07}", sim(i))
}

fn after_cutoff(i: u64) -> bool {
    (90..100).contains(&i)
}

/// The CSV rows of device `i`, in the forms operators send (15 or 14 digits, 09... or 98...).
fn rows(i: u64, out: &mut String) -> u64 {
    let n = 1 + i % 3;
    for k in 0..n {
        let imei = if (i + k).is_multiple_of(2) {
            imei15(&body(i))
        } else {
            body(i)
        };
        let phone = if k % 2 == 0 {
            format!("0{}", &msisdn(i)[2..])
        } else {
            msisdn(i)
        };
        let date = if after_cutoff(i) {
            // From the cutoff's own day on (device 90 on 2020-01-01): none of it counts.
            format!("2020-01-{:02}", 1 + k)
        } else {
            format!("2019-{:02}-{:02}", 1 + i % 12, 1 + (i * 7 + k) % 28)
        };
        let rat = ["4G", "3G", "", "21"][((i + k) % 4) as usize];
        out.push_str(&format!("{date},{imei},{},{phone},{rat}\n", imsi(i)));
    }
    n
}

/// (CSV text, data rows, distinct (imei, imsi, msisdn) entries) of each file.
fn sightings_files() -> [(String, u64, u64); 2] {
    let mut one = String::from("date,imei,imsi,msisdn,rat\n");
    let rows1: u64 = (0..100).map(|i| rows(i, &mut one)).sum();
    let mut two = String::from("date,imei,imsi,msisdn,rat\n");
    let mut rows2: u64 = (100..DEVICES).map(|i| rows(i, &mut two)).sum();
    two.push_str(&format!(
        "2018-06-01,{},{},{},2G\n",
        body(0),
        imsi(0),
        msisdn(0)
    ));
    rows2 += 1;
    [(one, rows1, 100), (two, rows2, 101)]
}

/// The (IMEI, IMSI) pairs seen before the cutoff, sorted as the tree's leaves are.
fn pre_cutoff_pairs() -> BTreeSet<(String, String)> {
    (0..DEVICES)
        .filter(|i| !after_cutoff(*i))
        .map(|i| (body(i), imsi(i)))
        .collect()
}

// --- running the binary -----------------------------------------------------------------------

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// Runs `gica-registry ARGS` to completion (within LIMIT).
fn registry(args: &[&str]) -> Run {
    let mut cmd = Command::new(BIN);
    cmd.args(args).stdin(Stdio::null()).env("RUST_LOG", "warn");
    let (tx, rx) = mpsc::channel();
    let shown = args.join(" ");
    std::thread::spawn(move || {
        let _ = tx.send(cmd.output());
    });
    let out = rx
        .recv_timeout(LIMIT)
        .unwrap_or_else(|_| panic!("gica-registry {shown} did not finish within {LIMIT:?}"))
        .expect("run gica-registry");
    Run {
        code: out.status.code().expect("exited"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

#[track_caller]
fn ok(args: &[&str]) -> String {
    let run = registry(args);
    assert_eq!(
        run.code,
        0,
        "gica-registry {}:\n{}{}",
        args.join(" "),
        run.stdout,
        run.stderr
    );
    run.stdout
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// A running `serve`; killed on drop.
struct Server {
    child: Option<Child>,
    addr: SocketAddr,
    log: PathBuf,
}

impl Server {
    fn start(db: &str, w: &World, log: PathBuf) -> Self {
        let stderr = std::fs::File::create(&log).expect("log file");
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--db",
                db,
                "--listen",
                "127.0.0.1:0",
                "--signer-cert",
                s(&w.cert),
                "--signer-key",
                s(&w.key),
                "--tsa-url",
                &w.tsa.url,
                "--owner-limit",
                OWNER_LIMIT,
            ])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        // The line comes after the listener is bound: the port is ready when it arrives.
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            let mut sent = false;
            for line in lines.by_ref() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("listening on http://") {
                    let _ = tx.send(rest.trim_end_matches("/v1").to_owned());
                    sent = true;
                    break;
                }
            }
            if !sent {
                let _ = tx.send(String::new());
            }
            for _ in lines {}
        });
        let addr = rx.recv_timeout(LIMIT).unwrap_or_default();
        let Ok(addr) = addr.parse() else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "serve did not say where it listens:\n{}",
                std::fs::read_to_string(&log).unwrap_or_default()
            );
        };
        Self {
            child: Some(child),
            addr,
            log,
        }
    }

    /// SIGKILL: no drain, no shutdown hook.
    fn kill9(mut self) {
        use std::os::unix::process::ExitStatusExt;
        let mut child = self.child.take().expect("running");
        child.kill().expect("kill -9");
        let status = child.wait().expect("wait");
        assert_eq!(status.signal(), Some(9), "{status:?}");
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

// --- a minimal HTTP/1.1 client ----------------------------------------------------------------

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    #[track_caller]
    fn json(&self) -> Value {
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{self:?}"
        );
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("utf-8 body")
    }
}

fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    key: Option<&str>,
    content_type: Option<&str>,
    body: &[u8],
) -> Reply {
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(k) = key {
        head.push_str(&format!("Authorization: Bearer {k}\r\n"));
    }
    if let Some(t) = content_type {
        head.push_str(&format!("Content-Type: {t}\r\n"));
    }
    if method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    head.push_str("\r\n");
    let mut stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(LIMIT)).expect("timeout");
    stream.write_all(head.as_bytes()).expect("write");
    // The server may answer (413) before it has read a large body.
    let _ = stream.write_all(body);
    let mut buf = Vec::new();
    let _ = stream.read_to_end(&mut buf);
    let end = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no response head: {:?}", String::from_utf8_lossy(&buf)));
    let text = std::str::from_utf8(&buf[..end]).expect("ascii head");
    let mut lines = text.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let reply = Reply {
        status,
        headers,
        body: buf[end + 4..].to_vec(),
    };
    assert_ne!(reply.header("transfer-encoding"), Some("chunked"));
    if let Some(n) = reply.header("content-length") {
        assert_eq!(n.parse::<usize>().expect("length"), reply.body.len());
    }
    reply
}

fn get(addr: SocketAddr, path: &str, key: Option<&str>) -> Reply {
    http(addr, "GET", path, key, None, b"")
}

fn post_json(addr: SocketAddr, key: &str, body: &Value) -> Reply {
    http(
        addr,
        "POST",
        "/v1/devices",
        Some(key),
        Some("application/json"),
        body.to_string().as_bytes(),
    )
}

fn ussd(addr: SocketAddr, key: &str, fields: &[(&str, &str)]) -> Reply {
    let mut form = form_urlencoded::Serializer::new(String::new());
    for (k, v) in fields {
        form.append_pair(k, v);
    }
    http(
        addr,
        "POST",
        "/v1/ussd",
        Some(key),
        Some("application/x-www-form-urlencoded"),
        form.finish().as_bytes(),
    )
}

// --- the in-process TSA -----------------------------------------------------------------------

/// gica's TSA on 127.0.0.1:0 on a runtime of its own; stops on drop.
struct Tsa {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Tsa {
    fn start() -> Self {
        let text = |rel: &str| std::fs::read_to_string(fixture(rel)).expect(rel);
        let mut config =
            gica_pki::tsp::AuthorityConfig::new("1.3.6.1.4.1.99999.1.1".parse().expect("oid"));
        config.chain = load_pem_certs(&text("pki/chain.pem")).expect("chain");
        let key = SoftwareSigner::from_pem(&text("pki/tsa-p256.key"), SignerOptions::default())
            .expect("key");
        let authority = gica_pki::tsp::Authority::new(
            load_pem_certs(&text("pki/tsa-p256.pem"))
                .expect("cert")
                .remove(0),
            Arc::new(key),
            config,
        )
        .expect("authority");
        let server = gica_tsa_server::TsaServer::new(
            authority,
            gica_serve::Limits::default(),
            1,
            Arc::new(gica_tsa_server::SystemClock),
        )
        .expect("TSA");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let (addr_tx, addr_rx) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
                    .await
                    .expect("bind");
                addr_tx
                    .send(listener.local_addr().expect("addr"))
                    .expect("send");
                let _ = Arc::new(server)
                    .serve(listener, async {
                        let _ = stopped.await;
                    })
                    .await;
            });
        });
        let addr: SocketAddr = addr_rx.recv_timeout(LIMIT).expect("TSA started");
        Self {
            url: format!("http://{addr}/tsa"),
            stop: Some(stop),
            thread: Some(thread),
        }
    }
}

impl Drop for Tsa {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// --- openssl ----------------------------------------------------------------------------------

fn openssl(args: &[&str]) -> (bool, String) {
    let out = Command::new("openssl")
        .args(args)
        .output()
        .expect("openssl on PATH");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// `openssl cms -verify` of a DER SignedData under the fixture root; returns the content.
fn cms_verify(dir: &Path, name: &str, der: &[u8]) -> Vec<u8> {
    let input = dir.join(format!("{name}.p7m"));
    let out = dir.join(format!("{name}.content"));
    std::fs::write(&input, der).expect("write");
    let root = fixture("pki/root-ca.pem");
    let (ok, text) = openssl(&[
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        s(&input),
        "-CAfile",
        s(&root),
        "-purpose",
        "any",
        "-out",
        s(&out),
    ]);
    assert!(ok, "openssl cms -verify {name}: {text}");
    std::fs::read(&out).expect("content")
}

/// The embedded token checked by `openssl ts -verify` against the SHA-256 of the signature.
fn ts_verify(dir: &Path, name: &str, der: &[u8]) {
    let parts = read_proof(der).expect("a proof");
    let token = parts.time_stamp_token.expect("a time-stamp token");
    let path = dir.join(format!("{name}.tst"));
    std::fs::write(&path, token).expect("write");
    let digest = hex::encode(Sha256::digest(&parts.signature));
    let (root, chain) = (fixture("pki/root-ca.pem"), fixture("pki/chain.pem"));
    let verify = |digest: &str| {
        openssl(&[
            "ts",
            "-verify",
            "-token_in",
            "-in",
            s(&path),
            "-digest",
            digest,
            "-CAfile",
            s(&root),
            "-untrusted",
            s(&chain),
        ])
    };
    let (ok, text) = verify(&digest);
    assert!(
        ok && text.contains("Verification: OK"),
        "openssl ts -verify {name}: {text}"
    );
    // The token is bound to this signature: another imprint fails.
    let other = hex::encode(Sha256::digest(b"another signature"));
    assert!(
        !verify(&other).0,
        "{name}: a token verified against another imprint"
    );
}

/// A receipt checked by both openssl commands, its content decoded.
fn check_receipt(dir: &Path, code: &str, der: &[u8]) -> DeviceReceipt {
    let content = cms_verify(dir, code, der);
    let parts = read_proof(der).expect("a proof");
    assert_eq!(parts.content_type, oid::CT_REGISTRY_RECEIPT);
    assert_eq!(parts.content, content);
    ts_verify(dir, code, der);
    let receipt = DeviceReceipt::from_der(&content).expect("DeviceReceipt");
    assert_eq!(receipt.version, 1);
    assert_eq!(receipt.tracking_code, code);
    receipt
}

// --- one prepared registry --------------------------------------------------------------------

struct World {
    dir: tempfile::TempDir,
    db: String,
    tsa: Tsa,
    cert: PathBuf,
    key: PathBuf,
    root: Hash,
    portal: String,
    ussd: String,
    export: String,
}

impl World {
    /// Imports both files, the blocklist, freezes and makes keys, through the binary.
    fn new(db: Option<&str>) -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let db = db.map_or_else(
            || format!("sqlite:{}", dir.path().join("registry.db").display()),
            str::to_owned,
        );
        let tsa = Tsa::start();
        // The registry's certificate followed by its intermediate, as --signer-cert takes.
        let cert = dir.path().join("registry.pem");
        let pem = std::fs::read_to_string(fixture("proof/signer-p256.pem")).expect("cert")
            + &std::fs::read_to_string(fixture("pki/int-ca.pem")).expect("int-ca");
        std::fs::write(&cert, pem).expect("write");
        let key = fixture("proof/signer-p256.key");

        let [(one, rows1, pairs1), (two, rows2, pairs2)] = sightings_files();
        let csv = dir.path().join("mci-2019.csv");
        std::fs::write(&csv, &one).expect("write");
        let gz = dir.path().join("irancell-2019.csv.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(two.as_bytes()).expect("gzip");
        std::fs::write(&gz, enc.finish().expect("gzip")).expect("write");
        for (file, operator, rows, pairs) in [
            (&csv, "mci", rows1, pairs1),
            (&gz, "irancell", rows2, pairs2),
        ] {
            let out = ok(&[
                "import-sightings",
                "--db",
                &db,
                "--operator",
                operator,
                "--tsa-url",
                &tsa.url,
                "--quiet",
                s(file),
            ]);
            let sha = hex::encode(Sha256::digest(std::fs::read(file).expect("read")));
            assert_eq!(
                out,
                format!(
                    "{}: {rows} rows, {rows} accepted, 0 bad; {pairs} pairs; sha256 {sha}; time-stamped\n",
                    file.display()
                )
            );
        }

        let blocklist = dir.path().join("stolen.txt");
        std::fs::write(
            &blocklist,
            format!(
                "# stolen phones\n{}\n\n{}  # and this one\n",
                imei15(&body(6)),
                body(7)
            ),
        )
        .expect("write");
        assert_eq!(
            ok(&["import-blocklist", "--db", &db, s(&blocklist)]),
            format!("{}: 2 IMEIs, 2 new on the blocklist\n", blocklist.display())
        );

        let pairs = pre_cutoff_pairs();
        let root = mth(&pairs
            .iter()
            .map(|(i, s)| pair_leaf(i, s))
            .collect::<Vec<_>>());
        assert_eq!(
            ok(&[
                "freeze",
                "--db",
                &db,
                "--cutoff",
                CUTOFF,
                "--signer-cert",
                s(&cert),
                "--signer-key",
                s(&key),
                "--tsa-url",
                &tsa.url,
            ]),
            format!(
                "snapshot 1: {} pairs seen before {CUTOFF}, root {}\n",
                pairs.len(),
                hex::encode(root)
            )
        );

        let [portal, ussd, export] = ["portal", "ussd", "export"].map(|scope| {
            let out = ok(&[
                "api-key", "add", "--db", &db, "--scope", scope, "--name", scope,
            ]);
            let key = out.strip_suffix('\n').expect("one line");
            assert!(!key.contains('\n') && key.starts_with("greg_"), "{out:?}");
            key.to_owned()
        });
        Self {
            dir,
            db,
            tsa,
            cert,
            key,
            root,
            portal,
            ussd,
            export,
        }
    }

    fn serve(&self, log: &str) -> Server {
        Server::start(&self.db, self, self.dir.path().join(log))
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Counts rows through the library, on the same database.
    fn count(&self, table: Table) -> u64 {
        let db = self.db.clone();
        block_on(async move {
            let store = Store::open(&db).await.expect("open");
            let n = store.count(table).await.expect("count");
            store.db().close().await;
            n
        })
    }

    /// The signed snapshot as stored by `freeze`.
    fn signed_snapshot(&self) -> Vec<u8> {
        let db = self.db.clone();
        block_on(async move {
            let store = Store::open(&db).await.expect("open");
            let snap = store
                .newest_snapshot()
                .await
                .expect("load")
                .expect("frozen");
            store.db().close().await;
            snap.signed
        })
    }
}

fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
        .block_on(f)
}

fn request(owner: &str, imeis: &[String], imsi: Option<&str>, msisdn: Option<&str>) -> Value {
    let mut v = json!({"national_id": owner, "imeis": imeis});
    if let Some(i) = imsi {
        v["imsi"] = json!(i);
    }
    if let Some(m) = msisdn {
        v["msisdn"] = json!(m);
    }
    v
}

/// POSTs an add-device request; asserts 200 and the decision and reason codes.
#[track_caller]
fn decide(addr: SocketAddr, key: &str, body: &Value, decision: &str, reasons: Value) -> Value {
    let reply = post_json(addr, key, body);
    assert_eq!(reply.status, 200, "{}", reply.text());
    let v = reply.json();
    assert_eq!(v["decision"], decision, "{v}");
    assert_eq!(v["reasons"], reasons, "{v}");
    let code = v["tracking_code"].as_str().expect("code");
    assert!(
        code.len() == 10 && code.bytes().all(|b| b.is_ascii_digit()),
        "{code}"
    );
    assert_eq!(v["receipt_url"], format!("/v1/receipts/{code}"));
    v
}

fn code(v: &Value) -> String {
    v["tracking_code"].as_str().expect("code").to_owned()
}

fn reason(code: &str, imei: &str) -> Value {
    json!([{"code": code, "imei": imei}])
}

/// `gica_registry_decisions_total` by (outcome, reason).
fn decision_counters(metrics: &str) -> BTreeMap<(String, String), u64> {
    let label = |line: &str, name: &str| {
        let start = line.find(&format!("{name}=\""))? + name.len() + 2;
        let len = line[start..].find('"')?;
        Some(line[start..start + len].to_owned())
    };
    metrics
        .lines()
        .filter(|l| l.starts_with("gica_registry_decisions_total{"))
        .map(|l| {
            let n = l
                .rsplit(' ')
                .next()
                .and_then(|n| n.parse().ok())
                .expect("count");
            (
                (
                    label(l, "outcome").expect("outcome"),
                    label(l, "reason").expect("reason"),
                ),
                n,
            )
        })
        .collect()
}

// --- the tests --------------------------------------------------------------------------------

#[test]
fn decisions_receipts_ussd_reads_exports_and_metrics() {
    let w = World::new(None);
    let server = w.serve("serve.log");
    let addr = server.addr;
    let portal = w.portal.as_str();
    let (a, b, c) = (national_id(1001), national_id(1002), national_id(1003));

    // The signed snapshot, checked by openssl: its root is the independent MTH.
    let snapshot =
        RegistrySnapshot::from_der(&cms_verify(w.path(), "snapshot", &w.signed_snapshot()))
            .expect("RegistrySnapshot");
    ts_verify(w.path(), "snapshot", &w.signed_snapshot());
    assert_eq!(snapshot.snapshot.version, 1);
    assert_eq!(snapshot.snapshot.tree_size, pre_cutoff_pairs().len() as u64);
    assert_eq!(snapshot.snapshot.root_hash.as_bytes(), &w.root[..]);
    let snapshot_root: Hash = snapshot
        .snapshot
        .root_hash
        .as_bytes()
        .try_into()
        .expect("32");

    let health = get(addr, "/healthz", None);
    assert_eq!(health.status, 200);
    assert_eq!(
        health.json(),
        json!({"status": "ok", "snapshot_version": 1, "tree_size": 190})
    );

    // Approved by IMSI; the same request again is the same decision.
    let first = decide(
        addr,
        portal,
        &request(&a, &[imei15(&body(0))], Some(&imsi(0)), None),
        "approved",
        json!([]),
    );
    assert_eq!(first["imeis"], json!([body(0)]));
    assert_eq!(first["snapshot_version"], 1);
    let again = decide(
        addr,
        portal,
        &request(&a, &[body(0)], Some(&imsi(0)), None),
        "approved",
        json!([]),
    );
    assert_eq!(again, first);
    // Approved by MSISDN alone, the portal's way.
    let by_msisdn = decide(
        addr,
        portal,
        &request(
            &a,
            &[imei15(&body(1))],
            None,
            Some(&format!("0{}", &msisdn(1)[2..])),
        ),
        "approved",
        json!([]),
    );
    // Every refusal code.
    let wrong = imei15_wrong(&body(2));
    let invalid = decide(
        addr,
        portal,
        &request(&a, std::slice::from_ref(&wrong), Some(&imsi(2)), None),
        "refused",
        reason("invalid-imei", &wrong),
    );
    let late = imei15(&body(95));
    decide(
        addr,
        portal,
        &request(&a, std::slice::from_ref(&late), Some(&imsi(95)), None),
        "refused",
        reason("not-seen-before-cutoff", &late),
    );
    let three = imei15(&body(3));
    decide(
        addr,
        portal,
        &request(&a, std::slice::from_ref(&three), Some(&imsi(4)), None),
        "refused",
        reason("seen-with-other-sim", &three),
    );
    let zero = imei15(&body(0));
    decide(
        addr,
        portal,
        &request(&b, std::slice::from_ref(&zero), Some(&imsi(0)), None),
        "refused",
        reason("registered-to-another-owner", &zero),
    );
    let stolen = imei15(&body(6));
    decide(
        addr,
        portal,
        &request(&b, std::slice::from_ref(&stolen), Some(&imsi(6)), None),
        "refused",
        reason("blocklisted", &stolen),
    );
    let phone: Vec<String> = (20..=23).map(|i| imei15(&body(i))).collect();
    decide(
        addr,
        portal,
        &request(&c, &phone, Some(&imsi(20)), None),
        "refused",
        json!([{"code": "owner-limit"}]),
    );
    // Three of the phone's four IMEIs are within the limit of 3: one receipt, three proofs.
    let multi = decide(
        addr,
        portal,
        &request(&c, &phone[..3], Some(&imsi(20)), None),
        "approved",
        json!([]),
    );

    // USSD: Persian by default, English on request; at most 160 characters.
    let ussd_key = w.ussd.as_str();
    let d = national_id(1004);
    let fa = ussd(
        addr,
        ussd_key,
        &[
            ("msisdn", &msisdn(30)),
            ("imsi", &imsi(30)),
            ("session", "s-1"),
            ("text", &format!("*4444*{d}*{}#", imei15(&body(30)))),
        ],
    );
    assert_eq!(
        (fa.status, fa.header("content-type")),
        (200, Some("text/plain; charset=utf-8"))
    );
    let fa = fa.text();
    let fa_code = fa.rsplit(' ').next().expect("code").to_owned();
    assert_eq!(fa, format!("گوشی شما ثبت شد. کد رهگیری: {fa_code}"));
    let en = ussd(
        addr,
        ussd_key,
        &[
            ("msisdn", &msisdn(31)),
            ("imsi", &imsi(31)),
            ("national_id", &d),
            ("text", &format!("*4444*{}#", imei15(&body(31)))),
            ("lang", "en"),
        ],
    )
    .text();
    let en_code = en.rsplit(' ').next().expect("code").to_owned();
    assert_eq!(
        en,
        format!("Your phone is registered. Tracking code: {en_code}")
    );
    let en_refused = ussd(
        addr,
        ussd_key,
        &[
            ("msisdn", &msisdn(96)),
            ("imsi", &imsi(96)),
            ("text", &format!("*4444*{d}*{}#", imei15(&body(96)))),
            ("lang", "en"),
        ],
    )
    .text();
    let refused_code = en_refused.rsplit(' ').next().expect("code").to_owned();
    assert_eq!(
        en_refused,
        format!(
            "Refused: not seen on a network before the registry started. Tracking code: {refused_code}"
        )
    );
    let fa_refused = ussd(
        addr,
        ussd_key,
        &[
            ("msisdn", &msisdn(7)),
            ("imsi", &imsi(7)),
            ("text", &format!("*4444*{d}*{}#", body(7))),
        ],
    )
    .text();
    let blocked_code = fa_refused.rsplit(' ').next().expect("code").to_owned();
    assert_eq!(
        fa_refused,
        format!("رد شد: گوشی در فهرست مسدود است. کد رهگیری: {blocked_code}")
    );
    // A dial without the national ID: a Persian hint, nothing decided.
    let before = w.count(Table::Requests);
    let hint = ussd(
        addr,
        ussd_key,
        &[
            ("msisdn", &msisdn(32)),
            ("text", &format!("*4444*{}#", body(32))),
        ],
    )
    .text();
    assert_eq!(
        hint,
        "کد ملی نادرست است. *4444*کدملی*IMEI# را شماره‌گیری کنید"
    );
    assert_eq!(w.count(Table::Requests), before);
    for (reply, code) in [
        (&fa, &fa_code),
        (&en, &en_code),
        (&en_refused, &refused_code),
        (&fa_refused, &blocked_code),
        (&hint, &String::new()),
    ] {
        assert!(reply.chars().count() <= 160, "{reply}");
        if !code.is_empty() {
            let view = get(addr, &format!("/v1/requests/{code}"), Some(portal));
            assert_eq!(view.status, 200, "{code}");
        }
    }
    let view = get(addr, &format!("/v1/requests/{fa_code}"), Some(portal)).json();
    assert_eq!(
        (view["decision"].as_str(), view["imeis"].clone()),
        (Some("approved"), json!([body(30)]))
    );

    // Reads: the decision as JSON, the owner's devices, unknown codes.
    let read = get(
        addr,
        &format!("/v1/requests/{}", code(&first)),
        Some(portal),
    );
    assert_eq!((read.status, read.json()), (200, first.clone()));
    let devices = get(addr, &format!("/v1/devices?owner={a}"), Some(portal)).json();
    let got: Vec<(Value, Value, Value)> = devices["devices"]
        .as_array()
        .expect("list")
        .iter()
        .map(|d| {
            (
                d["imei"].clone(),
                d["imsi"].clone(),
                d["tracking_code"].clone(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (json!(body(0)), json!(imsi(0)), json!(code(&first))),
            (json!(body(1)), json!(imsi(1)), json!(code(&by_msisdn))),
        ]
    );
    assert_eq!(
        get(addr, &format!("/v1/devices?owner={b}"), Some(portal)).json(),
        json!({"devices": []})
    );
    assert_eq!(
        get(addr, "/v1/devices?owner=123", Some(portal)).json()["field"],
        "owner"
    );
    assert_eq!(
        get(addr, "/v1/requests/0000000000", Some(portal)).status,
        404
    );
    assert_eq!(get(addr, "/v1/receipts/12345", Some(portal)).status, 404);

    // Receipts: openssl checks the signature and the token; the content says what JSON said,
    // and each proof verifies against the receipt's root and the signed snapshot's root.
    for (view, pairs) in [
        (&first, vec![(body(0), imsi(0))]),
        (&by_msisdn, vec![(body(1), imsi(1))]),
        (&multi, (20..=22).map(|i| (body(i), imsi(i))).collect()),
    ] {
        let reply = get(addr, &format!("/v1/receipts/{}", code(view)), Some(portal));
        assert_eq!(
            (reply.status, reply.header("content-type")),
            (200, Some("application/pkcs7-mime"))
        );
        let r = check_receipt(w.path(), &code(view), &reply.body);
        assert_eq!(r.decision, Decision::Approved);
        assert!(r.reasons.is_empty());
        assert_eq!(
            r.imeis,
            view["imeis"]
                .as_array()
                .expect("imeis")
                .iter()
                .map(|v| v.as_str().expect("s").to_owned())
                .collect::<Vec<_>>()
        );
        assert_eq!(r.snapshot, snapshot.snapshot);
        assert_eq!(
            gica_pki::Rfc3339(r.decided_at.to_system_time()).to_string(),
            view["decided_at"].as_str().expect("time")
        );
        assert_eq!(r.proofs.len(), pairs.len());
        for (p, (imei, imsi)) in r.proofs.iter().zip(&pairs) {
            assert_eq!((&p.pair.imei, &p.pair.imsi), (imei, imsi));
            let leaf = pair_leaf(imei, imsi);
            let path = p.proof.path.as_slice();
            let receipt_root: Hash = r.snapshot.root_hash.as_bytes().try_into().expect("32");
            assert!(verify_inclusion(
                p.proof.leaf_index,
                p.proof.tree_size,
                &leaf,
                path,
                &receipt_root
            ));
            assert!(verify_inclusion(
                p.proof.leaf_index,
                snapshot.snapshot.tree_size,
                &leaf,
                path,
                &snapshot_root
            ));
            let index = pre_cutoff_pairs()
                .iter()
                .position(|x| x == &(imei.clone(), imsi.clone()));
            assert_eq!(Some(p.proof.leaf_index as usize), index);
        }
    }
    let a_receipt = get(
        addr,
        &format!("/v1/receipts/{}", code(&first)),
        Some(portal),
    );
    let r = check_receipt(w.path(), &code(&first), &a_receipt.body);
    assert_eq!(
        (
            r.owner.as_str(),
            r.sim.imsi.as_deref(),
            r.sim.msisdn.as_deref()
        ),
        (a.as_str(), Some(imsi(0).as_str()), None)
    );
    let by_msisdn_r = check_receipt(
        w.path(),
        &code(&by_msisdn),
        &get(
            addr,
            &format!("/v1/receipts/{}", code(&by_msisdn)),
            Some(portal),
        )
        .body,
    );
    assert_eq!(
        (by_msisdn_r.sim.imsi, by_msisdn_r.sim.msisdn),
        (None, Some(msisdn(1)))
    );
    // A refusal's receipt: its reasons, no proofs.
    let r = check_receipt(
        w.path(),
        &code(&invalid),
        &get(
            addr,
            &format!("/v1/receipts/{}", code(&invalid)),
            Some(portal),
        )
        .body,
    );
    assert_eq!(r.decision, Decision::Refused);
    assert_eq!(r.imeis, vec![wrong.clone()]);
    assert_eq!(
        (
            r.reasons.len(),
            r.reasons[0].code.as_str(),
            r.reasons[0].imei.as_deref()
        ),
        (1, "invalid-imei", Some(wrong.as_str()))
    );
    assert!(r.proofs.is_empty());

    // Exports: the full list, then a delta after one more approval.
    let export = w.export.as_str();
    let full = get(addr, "/v1/export/full", Some(export));
    assert_eq!(
        (full.status, full.header("content-type")),
        (200, Some("application/pkcs7-mime"))
    );
    let content = cms_verify(w.path(), "full", &full.body);
    assert_eq!(
        read_proof(&full.body).expect("proof").content_type,
        oid::CT_REGISTRY_EXPORT
    );
    let list = PairList::from_der(&content).expect("PairList");
    let approved: Vec<u64> = vec![0, 1, 20, 21, 22, 30, 31];
    let pe = |i: u64| PairEntry {
        imei: body(i),
        imsi: imsi(i),
    };
    assert_eq!(
        (list.kind, list.sequence, list.since),
        (ListKind::Full, approved.len() as u64, None)
    );
    assert_eq!(
        full.header("x-gica-sequence"),
        Some(approved.len().to_string().as_str())
    );
    assert_eq!(
        list.pairs,
        approved.iter().map(|i| pe(*i)).collect::<Vec<_>>()
    );
    decide(
        addr,
        portal,
        &request(
            &national_id(1005),
            &[imei15(&body(40))],
            Some(&imsi(40)),
            None,
        ),
        "approved",
        json!([]),
    );
    let delta = get(
        addr,
        &format!("/v1/export/delta?since={}", list.sequence),
        Some(export),
    );
    assert_eq!(delta.status, 200);
    let delta = PairList::from_der(&cms_verify(w.path(), "delta", &delta.body)).expect("PairList");
    assert_eq!(
        (delta.kind, delta.sequence, delta.since),
        (ListKind::Delta, list.sequence + 1, Some(list.sequence))
    );
    assert_eq!(delta.pairs, vec![pe(40)]);
    // The full list follows the new approval (a list made earlier is not served again),
    // and asking twice at the same sequence gives the same signed bytes.
    let again = get(addr, "/v1/export/full", Some(export));
    let relist = PairList::from_der(&cms_verify(w.path(), "full2", &again.body)).expect("PairList");
    assert_eq!(relist.sequence, list.sequence + 1);
    assert!(relist.pairs.contains(&pe(40)), "{:?}", relist.pairs);
    assert_eq!(get(addr, "/v1/export/full", Some(export)).body, again.body);
    let empty = PairList::from_der(&cms_verify(
        w.path(),
        "empty",
        &get(
            addr,
            &format!("/v1/export/delta?since={}", delta.sequence),
            Some(export),
        )
        .body,
    ))
    .expect("PairList");
    assert_eq!((empty.sequence, empty.pairs.len()), (delta.sequence, 0));
    let bad = get(addr, "/v1/export/delta", Some(export));
    assert_eq!(
        (bad.status, bad.json()["field"].as_str()),
        (400, Some("since"))
    );

    // Metrics: each decision counted once (the repeat not at all), by outcome and reason.
    let metrics = get(addr, "/metrics", None);
    assert_eq!(metrics.status, 200);
    let counted = decision_counters(&metrics.text());
    let want: BTreeMap<(String, String), u64> = [
        (("approved", "none"), 6),
        (("refused", "invalid-imei"), 1),
        (("refused", "not-seen-before-cutoff"), 2),
        (("refused", "seen-with-other-sim"), 1),
        (("refused", "registered-to-another-owner"), 1),
        (("refused", "blocklisted"), 2),
        (("refused", "owner-limit"), 1),
    ]
    .into_iter()
    .map(|((o, r), n)| ((o.to_owned(), r.to_owned()), n))
    .collect();
    assert_eq!(counted, want, "{}", metrics.text());
    assert_eq!(w.count(Table::Requests), 14);
    assert_eq!(w.count(Table::Devices), 8);

    // Logs name owners and SIMs only masked.
    let log = server.log();
    assert!(log.contains("decision"), "{log}");
    for secret in [a.as_str(), &imsi(0), &msisdn(1), &d] {
        assert!(!log.contains(secret), "{secret} in the log:\n{log}");
    }
}

#[test]
fn keys_scopes_and_malformed_requests_store_nothing() {
    let w = World::new(None);
    // A key revoked before it is ever used.
    let spare = ok(&[
        "api-key",
        "add",
        "--db",
        &w.db,
        "--scope",
        "admin",
        "--name",
        "to-revoke",
    ]);
    let spare = spare.trim();
    let list = ok(&["api-key", "list", "--db", &w.db]);
    let line = list
        .lines()
        .find(|l| l.ends_with("\tto-revoke"))
        .expect("listed");
    let id = line.split('\t').next().expect("id");
    assert!(spare.starts_with(&format!("greg_{id}_")), "{spare} {line}");
    assert_eq!(
        ok(&["api-key", "revoke", "--db", &w.db, id]),
        format!("revoked {id}\n")
    );
    assert!(
        ok(&["api-key", "list", "--db", &w.db])
            .contains(&format!("{id}\tadmin\trevoked\tto-revoke"))
    );
    let again = registry(&["api-key", "revoke", "--db", &w.db, id]);
    assert_ne!(again.code, 0);

    let server = w.serve("serve.log");
    let addr = server.addr;
    let good = request(
        &national_id(2001),
        &[imei15(&body(0))],
        Some(&imsi(0)),
        None,
    );
    let body_bytes = good.to_string();

    // 401: no key, an unknown key, a revoked key; 403: a key without the scope.
    for key in [None, Some("greg_000000000000_unknown"), Some(spare)] {
        let r = http(
            addr,
            "POST",
            "/v1/devices",
            key,
            Some("application/json"),
            body_bytes.as_bytes(),
        );
        assert_eq!(r.status, 401, "{key:?}");
        assert_eq!(
            r.header("www-authenticate"),
            Some("Bearer realm=\"gica-registry\"")
        );
        assert_eq!(r.json()["error"], "unauthorized");
    }
    let r = http(
        addr,
        "POST",
        "/v1/devices",
        Some(&w.ussd),
        Some("application/json"),
        body_bytes.as_bytes(),
    );
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (403, Some("forbidden"))
    );
    assert_eq!(get(addr, "/v1/export/full", Some(&w.portal)).status, 403);
    assert_eq!(get(addr, "/v1/export/full", None).status, 401);
    assert_eq!(
        get(addr, "/v1/requests/0000000000", Some(&w.export)).status,
        403
    );
    assert_eq!(
        ussd(
            addr,
            &w.portal,
            &[("msisdn", &msisdn(0)), ("text", "*4444*1#")]
        )
        .status,
        403
    );
    assert_eq!(get(addr, "/healthz", None).status, 200);
    assert_eq!(get(addr, "/metrics", None).status, 200);

    // Malformed bodies: 4xx JSON naming the field.
    let portal = w.portal.as_str();
    let mut cases: Vec<(String, u16, &str)> = vec![
        (r#"{"national_id": "#.into(), 400, "body"),
        ("not json".into(), 400, "body"),
        (json!({"imeis": [body(0)], "imsi": imsi(0)}).to_string(), 400, "national_id"),
        (json!({"national_id": national_id(2001), "imsi": imsi(0)}).to_string(), 400, "imeis"),
        (json!({"national_id": national_id(2001), "imeis": body(0), "imsi": imsi(0)}).to_string(), 400, "imeis"),
        (json!({"national_id": 12345, "imeis": [body(0)], "imsi": imsi(0)}).to_string(), 400, "national_id"),
        (json!({"national_id": national_id(2001), "imeis": [body(0)], "imsi": 432}).to_string(), 400, "imsi"),
        (json!({"national_id": national_id(2001), "imeis": [body(0)], "imsi": imsi(0), "owner": "x"}).to_string(), 400, "body"),
        (json!({"national_id": "0012345678", "imeis": [body(0)], "imsi": imsi(0)}).to_string(), 400, "national_id"),
        (json!({"national_id": national_id(2001), "imeis": [], "imsi": imsi(0)}).to_string(), 400, "imeis"),
        (json!({"national_id": national_id(2001), "imeis": (0..5).map(body).collect::<Vec<_>>(), "imsi": imsi(0)}).to_string(), 400, "imeis"),
        (json!({"national_id": national_id(2001), "imeis": [body(0)], "imsi": "4321"}).to_string(), 400, "imsi"),
        (json!({"national_id": national_id(2001), "imeis": [body(0)], "msisdn": "12"}).to_string(), 400, "msisdn"),
        (json!({"national_id": national_id(2001), "imeis": [body(0)]}).to_string(), 400, "msisdn"),
        (json!({"national_id": national_id(2001), "imeis": ["1".repeat(40)], "imsi": imsi(0)}).to_string(), 400, "imeis"),
    ];
    let big = json!({"national_id": national_id(2001), "imeis": [body(0)], "imsi": imsi(0), "pad": "x".repeat(17 * 1024)});
    cases.push((big.to_string(), 413, "body"));
    for (text, status, field) in &cases {
        let r = http(
            addr,
            "POST",
            "/v1/devices",
            Some(portal),
            Some("application/json"),
            text.as_bytes(),
        );
        assert_eq!(r.status, *status, "{text:.200}: {}", r.text());
        let v = r.json();
        assert_eq!(v["field"], *field, "{text:.200}: {v}");
        assert!(v["message"].as_str().is_some_and(|m| !m.is_empty()), "{v}");
    }
    let r = http(
        addr,
        "POST",
        "/v1/devices",
        Some(portal),
        Some("text/plain"),
        body_bytes.as_bytes(),
    );
    assert_eq!(r.status, 415);
    let r = http(addr, "PUT", "/v1/devices", Some(portal), None, b"");
    assert_eq!(r.status, 405);
    assert_eq!(get(addr, "/v1/nothing", Some(portal)).status, 404);
    // USSD forms that are not requests.
    let r = ussd(addr, &w.ussd, &[("text", "*4444*1#")]);
    assert_eq!(
        (r.status, r.json()["field"].as_str()),
        (400, Some("msisdn"))
    );
    let r = ussd(
        addr,
        &w.ussd,
        &[("msisdn", &msisdn(0)), ("lang", "de"), ("text", "*4444*1#")],
    );
    assert_eq!((r.status, r.json()["field"].as_str()), (400, Some("lang")));

    // Nothing was stored by any of it; the well-formed request then is.
    assert_eq!((w.count(Table::Requests), w.count(Table::Devices)), (0, 0));
    decide(addr, portal, &good, "approved", json!([]));
    assert_eq!((w.count(Table::Requests), w.count(Table::Devices)), (1, 1));
}

#[test]
fn sightings_files_refused_for_bad_rows_or_imported_twice() {
    let w = World::new(None);
    let before = (w.count(Table::Files), w.count(Table::Sightings));
    assert_eq!(before, (2, 190 + 10));

    // 3 bad rows in 40 (7.5%, over 5%): refused with their line numbers, nothing stored.
    let mut csv = String::from("date,imei,imsi,msisdn,rat\n");
    for i in 0..40u64 {
        let line = match i {
            4 => format!(
                "2019-02-30,{},{},{},4G\n",
                imei15(&body(300 + i)),
                imsi(300 + i),
                msisdn(300 + i)
            ),
            17 => format!(
                "2019-02-01,{},{},{},4G\n",
                imei15_wrong(&body(300 + i)),
                imsi(300 + i),
                msisdn(300 + i)
            ),
            33 => format!("2019-02-01,{},{}\n", imei15(&body(300 + i)), imsi(300 + i)),
            _ => format!(
                "2019-02-01,{},{},{},4G\n",
                imei15(&body(300 + i)),
                imsi(300 + i),
                msisdn(300 + i)
            ),
        };
        csv.push_str(&line);
    }
    let bad = w.path().join("bad.csv");
    std::fs::write(&bad, &csv).expect("write");
    let run = registry(&[
        "import-sightings",
        "--db",
        &w.db,
        "--operator",
        "mci",
        "--quiet",
        s(&bad),
    ]);
    assert_ne!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let text = format!("{}{}", run.stdout, run.stderr);
    assert!(
        text.contains(&format!("{}: refused:", bad.display())),
        "{text}"
    );
    assert!(text.contains("3 of 40 rows are bad"), "{text}");
    // Line numbers count the header as line 1.
    for line in [6, 19, 35] {
        assert!(
            text.contains(&format!("line {line}:")),
            "line {line} missing:\n{text}"
        );
    }
    assert!(text.contains("1 of 1 files refused"), "{text}");
    assert_eq!((w.count(Table::Files), w.count(Table::Sightings)), before);

    // Under the threshold (1 bad row in 40) the file goes in, with the bad line reported.
    let mostly = csv
        .lines()
        .enumerate()
        .filter(|(n, _)| *n != 18 && *n != 34)
        .map(|(_, l)| format!("{l}\n"))
        .collect::<String>();
    let mostly_path = w.path().join("mostly.csv");
    std::fs::write(&mostly_path, &mostly).expect("write");
    let out = ok(&[
        "import-sightings",
        "--db",
        &w.db,
        "--operator",
        "mci",
        "--tsa-url",
        &w.tsa.url,
        "--quiet",
        s(&mostly_path),
    ]);
    assert!(
        out.contains(": 38 rows, 37 accepted, 1 bad; 37 pairs;"),
        "{out}"
    );
    assert!(out.contains("line 6:"), "{out}");
    assert_eq!(
        (w.count(Table::Files), w.count(Table::Sightings)),
        (before.0 + 1, before.1 + 37)
    );

    // The same bytes again, under another name: already imported, nothing changes.
    let copy = w.path().join("copy.csv");
    std::fs::copy(&mostly_path, &copy).expect("copy");
    let out = ok(&[
        "import-sightings",
        "--db",
        &w.db,
        "--operator",
        "other",
        "--quiet",
        s(&copy),
    ]);
    let sha = hex::encode(Sha256::digest(mostly.as_bytes()));
    assert_eq!(
        out,
        format!(
            "{}: already imported (sha256 {sha}), nothing changed\n",
            copy.display()
        )
    );
    assert_eq!(
        (w.count(Table::Files), w.count(Table::Sightings)),
        (before.0 + 1, before.1 + 37)
    );

    // The import's token stamps the file's SHA-256: openssl agrees.
    let db = w.db.clone();
    let digest: [u8; 32] = Sha256::digest(mostly.as_bytes()).into();
    let record = block_on(async move {
        let store = Store::open(&db).await.expect("open");
        store.file(&digest).await.expect("read").expect("recorded")
    });
    assert_eq!(
        (
            record.operator.as_str(),
            record.name.as_str(),
            record.rows_bad
        ),
        ("mci", "mostly.csv", 1)
    );
    let token = w.path().join("file.tsr");
    std::fs::write(&token, record.tsa_token.expect("time-stamped")).expect("write");
    let (root, chain) = (fixture("pki/root-ca.pem"), fixture("pki/chain.pem"));
    let (okay, text) = openssl(&[
        "ts",
        "-verify",
        "-token_in",
        "-in",
        s(&token),
        "-digest",
        &sha,
        "-CAfile",
        s(&root),
        "-untrusted",
        s(&chain),
    ]);
    assert!(okay, "{text}");
}

#[test]
fn acknowledged_decisions_survive_kill_9() {
    let w = World::new(None);
    let server = w.serve("first.log");
    let addr = server.addr;
    // A key that works now, revoked while the server is down.
    let short_lived = ok(&[
        "api-key", "add", "--db", &w.db, "--scope", "portal", "--name", "short",
    ]);
    let short_lived = short_lived.trim().to_owned();
    let mut acknowledged = Vec::new();
    for i in 40..48u64 {
        let key = if i == 40 {
            short_lived.as_str()
        } else {
            w.portal.as_str()
        };
        let v = decide(
            addr,
            key,
            &request(
                &national_id(3000 + i),
                &[imei15(&body(i))],
                Some(&imsi(i)),
                None,
            ),
            "approved",
            json!([]),
        );
        acknowledged.push((i, v));
    }
    let refused = decide(
        addr,
        &w.portal,
        &request(
            &national_id(3999),
            &[imei15(&body(40))],
            Some(&imsi(40)),
            None,
        ),
        "refused",
        reason("registered-to-another-owner", &imei15(&body(40))),
    );
    acknowledged.push((40, refused));
    // Half the receipts fetched before the crash, to compare bytes after it.
    let early: BTreeMap<String, Vec<u8>> = acknowledged
        .iter()
        .step_by(2)
        .map(|(_, v)| {
            let r = get(addr, &format!("/v1/receipts/{}", code(v)), Some(&w.portal));
            assert_eq!(r.status, 200);
            (code(v), r.body)
        })
        .collect();
    server.kill9();

    // Every acknowledged decision is in the database with its signed receipt.
    let db = w.db.clone();
    let codes: Vec<String> = acknowledged.iter().map(|(_, v)| code(v)).collect();
    let stored = block_on(async move {
        let store = Store::open(&db).await.expect("open");
        let mut out = Vec::new();
        for c in &codes {
            out.push(store.request(c).await.expect("read").expect("stored"));
        }
        out
    });
    for d in &stored {
        assert!(
            d.signed.is_some(),
            "{} has no receipt",
            d.receipt.tracking_code
        );
    }
    let list = ok(&["api-key", "list", "--db", &w.db]);
    let id = list
        .lines()
        .find(|l| l.ends_with("\tshort"))
        .and_then(|l| l.split('\t').next())
        .expect("id");
    ok(&["api-key", "revoke", "--db", &w.db, id]);

    let server = w.serve("second.log");
    let addr = server.addr;
    for ((i, view), d) in acknowledged.iter().zip(&stored) {
        let c = code(view);
        let read = get(addr, &format!("/v1/requests/{c}"), Some(&w.portal));
        assert_eq!((read.status, &read.json()), (200, view));
        let receipt = get(addr, &format!("/v1/receipts/{c}"), Some(&w.portal)).body;
        assert_eq!(Some(&receipt), d.signed.as_ref());
        if let Some(before) = early.get(&c) {
            assert_eq!(
                &receipt, before,
                "{c}: the receipt changed across the crash"
            );
        }
        let r = check_receipt(w.path(), &c, &receipt);
        assert_eq!(r.imeis, vec![body(*i)]);
        assert_eq!(
            r.decision,
            if view["decision"] == "approved" {
                Decision::Approved
            } else {
                Decision::Refused
            }
        );
    }
    let devices = get(
        addr,
        &format!("/v1/devices?owner={}", national_id(3040)),
        Some(&w.portal),
    )
    .json();
    assert_eq!(devices["devices"][0]["imei"], body(40));
    assert_eq!(w.count(Table::Devices), 8);
    let r = get(
        addr,
        &format!("/v1/devices?owner={}", national_id(3040)),
        Some(&short_lived),
    );
    assert_eq!(r.status, 401, "a key revoked while the server was down");
}

/// Two servers on one PostgreSQL schema; two owners race for each of eight IMEIs, one through
/// each server. `GICA_SKIP_POSTGRES=1` skips it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_two_servers_race_two_owners_for_each_imei() {
    gica_store::testing::on_postgres(|db| async move {
        let url = db.url().to_owned();
        tokio::task::spawn_blocking(move || race_on(&url))
            .await
            .expect("race");
    })
    .await;
}

fn race_on(url: &str) {
    let w = World::new(Some(url));
    let servers = [w.serve("pg-1.log"), w.serve("pg-2.log")];
    let imeis: Vec<u64> = (50..58).collect();
    let barrier = Arc::new(Barrier::new(imeis.len() * 2));
    let threads: Vec<_> = imeis
        .iter()
        .flat_map(|&i| [(i, 0usize), (i, 1usize)])
        .map(|(i, side)| {
            let addr = servers[side].addr;
            let key = w.portal.clone();
            let barrier = barrier.clone();
            std::thread::spawn(move || {
                let body = request(
                    &national_id(4000 + 10 * i + side as u64),
                    &[imei15(&body(i))],
                    Some(&imsi(i)),
                    None,
                );
                barrier.wait();
                let reply = post_json(addr, &key, &body);
                assert_eq!(reply.status, 200, "{}", reply.text());
                (i, reply.json())
            })
        })
        .collect();
    let mut winners: BTreeMap<u64, usize> = BTreeMap::new();
    for t in threads {
        let (i, v) = t.join().expect("thread");
        match v["decision"].as_str() {
            Some("approved") => *winners.entry(i).or_default() += 1,
            _ => assert_eq!(
                v["reasons"],
                reason("registered-to-another-owner", &imei15(&body(i))),
                "{v}"
            ),
        }
    }
    assert_eq!(
        winners,
        imeis.iter().map(|i| (*i, 1)).collect(),
        "one winner per IMEI"
    );
    for server in &servers {
        assert!(server.log().contains("decision"), "{}", server.log());
    }
    assert_eq!(w.count(Table::Devices), imeis.len() as u64);
    assert_eq!(w.count(Table::Requests), 2 * imeis.len() as u64);
}
