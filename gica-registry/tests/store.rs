//! The registry's store on both backends (`sqlite::*`, `postgres::*`): imports folding first
//! and last seen across files, snapshot versions whose leaves and roots are recomputed here by
//! an independent RFC 9162 implementation, every decision rule, races for one IMEI and for
//! one owner's limit, export sequence numbers, and chunked inclusion proofs at chunk
//! boundaries.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeSet;
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use der::{Decode, Encode};
use gica_pki::proof::{ProofSigner, ProofVerifier, read_proof};
use gica_pki::{SignerOptions, SoftwareSigner, cert::load_pem_certs, oid};
use gica_registry::decide::{Decided, LoadedSnapshot, Request, Rules};
use gica_registry::domain::Date;
use gica_registry::import::{ImportOptions, import_file};
use gica_registry::receipt::{Decision, DeviceReceipt, ListKind, PairEntry, RegistrySnapshot};
use gica_registry::service::{AddDevice, Notary};
use gica_registry::snapshot::Frozen;
use gica_registry::store::{FileRecord, SeenPair, Store, Table};
use gica_store::testing::TestDb;
use sha2::{Digest, Sha256};
use sqlx::Row as _;
use support::{Hash, imei15, imei15_wrong, mth, national_id, pair_leaf, path, verify_inclusion};

gica_store::backend_suite!(
    import_folds_first_and_last_seen_across_files,
    freeze_makes_versions_of_the_sorted_pairs,
    every_rule_and_a_repeated_request,
    sixteen_owners_race_for_one_imei,
    owner_limit_holds_under_concurrency,
    export_sequences_increase_and_deltas_hold_the_new_pairs,
    chunked_proofs_equal_independent_ones_at_chunk_boundaries,
);

/// 2020-01-01T00:00:00Z: sightings on 2019-12-31 count, on 2020-01-01 they do not.
const CUTOFF_SECS: u64 = 1_577_836_800;

fn cutoff() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(CUTOFF_SECS)
}

fn day(y: u16, m: u8, d: u8) -> i32 {
    Date::from_ymd(y, m, d).expect("date").days_since_epoch()
}

async fn open(db: &TestDb) -> Store {
    Store::open(db.url()).await.expect("open the store")
}

fn fixture_text(rel: &str) -> String {
    std::fs::read_to_string(support::fixture(rel)).expect(rel)
}

/// Signs with the fixture proof signer (testdata/proof/signer-p256), no TSA.
fn notary() -> Notary {
    let key = SoftwareSigner::from_pem(
        &fixture_text("proof/signer-p256.key"),
        SignerOptions::default(),
    )
    .expect("key");
    let cert = load_pem_certs(&fixture_text("proof/signer-p256.pem"))
        .expect("cert")
        .remove(0);
    let chain = load_pem_certs(&fixture_text("pki/int-ca.pem")).expect("chain");
    let signer = ProofSigner::new(Arc::new(key), cert, chain).expect("signer");
    Notary::new(
        signer,
        None,
        gica_serve::SigningPool::new(1, Duration::from_secs(10)),
    )
}

async fn freeze(store: &Store) -> Frozen {
    let notary = notary();
    let now = SystemTime::now();
    store
        .freeze(cutoff(), now, async |content| {
            notary
                .sign(oid::CT_REGISTRY_SNAPSHOT, content, now, true)
                .await
        })
        .await
        .expect("freeze")
}

/// A sighting entry seen on `first`..=`last`.
fn seen(imei: &str, imsi: &str, msisdn: &str, first: i32, last: i32) -> SeenPair {
    SeenPair {
        imei: imei.into(),
        imsi: imsi.into(),
        msisdn: msisdn.into(),
        first,
        last,
        rat: "4G".into(),
    }
}

/// Writes `pairs` as one imported "file" through the store's import transaction.
async fn upsert(store: &Store, pairs: &[SeenPair]) {
    let mut tx = store.begin_import().await.expect("begin");
    tx.upsert("op", pairs).await.expect("upsert");
    let mut h = Sha256::new();
    for p in pairs {
        h.update(format!("{p:?}"));
    }
    let file = FileRecord {
        sha256: h.finalize().into(),
        operator: "op".into(),
        name: "direct".into(),
        rows_read: pairs.len() as u64,
        rows_accepted: pairs.len() as u64,
        rows_bad: 0,
        pairs: pairs.len() as u64,
        imported_at: 0,
        tsa_token: None,
    };
    tx.commit(&file).await.expect("commit");
}

/// The 14-digit IMEI body of test device `i`.
fn body(i: u64) -> String {
    format!("35{:012}", i)
}

fn imsi(i: u64) -> String {
    format!("43235{:010}", i)
}

fn msisdn(i: u64) -> String {
    format!("98912{:07}", i)
}

/// Device `i` seen in 2019 with its own SIM.
fn pre(i: u64) -> SeenPair {
    seen(
        &body(i),
        &imsi(i),
        &msisdn(i),
        day(2019, 3, 1),
        day(2019, 6, 1),
    )
}

fn add(owner: &str, imeis: &[String], imsi: Option<&str>, msisdn: Option<&str>) -> Request {
    AddDevice {
        national_id: owner.into(),
        imeis: imeis.to_vec(),
        imsi: imsi.map(Into::into),
        msisdn: msisdn.map(Into::into),
    }
    .validate()
    .expect("a well-formed request")
}

fn codes(d: &Decided) -> Vec<(String, Option<String>)> {
    d.receipt
        .reasons
        .iter()
        .map(|r| (r.code.clone(), r.imei.clone()))
        .collect()
}

/// The (imei, imsi) leaves of snapshot `version`, in index order.
async fn leaves(store: &Store, version: i64) -> Vec<(String, String)> {
    const SQL: &str = "SELECT idx, imei, imsi FROM reg_leaves WHERE version = $1 ORDER BY idx";
    macro_rules! read {
        ($pool:expr) => {
            sqlx::query(SQL)
                .bind(version)
                .fetch_all($pool)
                .await
                .expect("leaves")
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    assert_eq!(r.get::<i64, _>("idx"), i as i64, "dense indexes");
                    (r.get("imei"), r.get("imsi"))
                })
                .collect()
        };
    }
    match store.db() {
        gica_store::Db::Sqlite(pool) => read!(pool),
        gica_store::Db::Postgres(pool) => read!(pool),
    }
}

/// One row of reg_sightings: (imei, imsi, msisdn, first, last, operator, rat).
type SightingRow = (String, String, String, i32, i32, String, String);

async fn sightings(store: &Store) -> Vec<SightingRow> {
    const SQL: &str = "SELECT imei, imsi, msisdn, first_seen, last_seen, operator, rat \
         FROM reg_sightings ORDER BY imei, imsi, msisdn";
    macro_rules! read {
        ($pool:expr) => {
            sqlx::query(SQL)
                .fetch_all($pool)
                .await
                .expect("sightings")
                .iter()
                .map(|r| {
                    (
                        r.get("imei"),
                        r.get("imsi"),
                        r.get("msisdn"),
                        r.get("first_seen"),
                        r.get("last_seen"),
                        r.get("operator"),
                        r.get("rat"),
                    )
                })
                .collect()
        };
    }
    match store.db() {
        gica_store::Db::Sqlite(pool) => read!(pool),
        gica_store::Db::Postgres(pool) => read!(pool),
    }
}

async fn owner_count(store: &Store, owner: &str) -> i64 {
    const SQL: &str = "SELECT devices FROM reg_owners WHERE owner = $1";
    match store.db() {
        gica_store::Db::Sqlite(pool) => sqlx::query(SQL)
            .bind(owner)
            .fetch_one(pool)
            .await
            .expect("owner")
            .get("devices"),
        gica_store::Db::Postgres(pool) => sqlx::query(SQL)
            .bind(owner)
            .fetch_one(pool)
            .await
            .expect("owner")
            .get("devices"),
    }
}

/// The leaf hashes of sorted (imei, imsi) pairs, by the independent implementation.
fn leaf_hashes(pairs: &BTreeSet<(String, String)>) -> Vec<Hash> {
    pairs.iter().map(|(i, s)| pair_leaf(i, s)).collect()
}

/// Checks an approval's proofs with the independent verifier against `root`.
fn check_proofs(d: &Decided, expected: &[(String, String)], root: &Hash, size: u64) {
    assert_eq!(d.receipt.decision, Decision::Approved, "{:?}", codes(d));
    assert!(d.receipt.reasons.is_empty());
    assert_eq!(d.receipt.proofs.len(), expected.len());
    for (p, (imei, imsi)) in d.receipt.proofs.iter().zip(expected) {
        assert_eq!((&p.pair.imei, &p.pair.imsi), (imei, imsi));
        assert_eq!(p.proof.tree_size, size);
        assert!(
            verify_inclusion(
                p.proof.leaf_index,
                size,
                &pair_leaf(imei, imsi),
                p.proof.path.as_slice(),
                root
            ),
            "proof of {imei}/{imsi}"
        );
    }
}

fn write_file(path: &Path, text: &str, gzip: bool) {
    let mut f = std::fs::File::create(path).expect("create");
    if gzip {
        let mut gz = flate2::write::GzEncoder::new(f, flate2::Compression::default());
        gz.write_all(text.as_bytes()).expect("write");
        gz.finish().expect("gzip");
    } else {
        f.write_all(text.as_bytes()).expect("write");
    }
}

// ---------------------------------------------------------------------------------------------

async fn import_folds_first_and_last_seen_across_files(db: TestDb) {
    let store = open(&db).await;
    let dir = tempfile::tempdir().expect("dir");
    let (a, b, c) = (body(1), body(2), body(3));
    let (a15, b15, c15) = (imei15(&a), imei15(&b), imei15(&c));
    let first = dir.path().join("mci.csv");
    write_file(
        &first,
        &format!(
            "date,imei,imsi,msisdn,rat\n\
             2019-05-10,{a15},{},09120000001,3G\n\
             2019-03-01,{a15},{},09120000001,2G\n\
             2019-04-01,{b15},{},09120000002,4G\n",
            imsi(1),
            imsi(1),
            imsi(2)
        ),
        false,
    );
    let second = dir.path().join("rightel.csv.gz");
    write_file(
        &second,
        &format!(
            "date,imei,imsi,msisdn,rat\n\
             2019-01-15,{a15},{},989120000001,4G\n\
             2019-12-31,{a},{},9120000001,5G\n\
             2019-04-01,{b15},{},09120000002,\n\
             2020-02-01,{c15},{},09120000003,2G\n",
            imsi(1),
            imsi(1),
            imsi(2),
            imsi(3)
        ),
        true,
    );
    let options = |operator: &str| ImportOptions {
        operator: operator.into(),
        max_bad_share: 0.05,
        progress: false,
    };
    let one = import_file(&store, &first, &options("mci"), None)
        .await
        .expect("first file");
    assert!(!one.already_imported);
    assert_eq!(
        (
            one.file.rows_read,
            one.file.rows_accepted,
            one.file.rows_bad,
            one.file.pairs
        ),
        (3, 3, 0, 2)
    );
    let sha: [u8; 32] = Sha256::digest(std::fs::read(&first).expect("read")).into();
    assert_eq!(one.file.sha256, sha);
    let two = import_file(&store, &second, &options("rightel"), None)
        .await
        .expect("second file");
    assert_eq!((two.file.rows_read, two.file.pairs), (4, 3));
    // The hash is of the file as delivered: the gzip bytes.
    let sha: [u8; 32] = Sha256::digest(std::fs::read(&second).expect("read")).into();
    assert_eq!(
        store.file(&sha).await.expect("file"),
        Some(two.file.clone())
    );

    let m = |i: u64| format!("9891200000{i:02}");
    let want: Vec<SightingRow> = vec![
        // Folded across both files: earliest first (its operator), latest last (its RAT).
        (
            a.clone(),
            imsi(1),
            m(1),
            day(2019, 1, 15),
            day(2019, 12, 31),
            "rightel".into(),
            "5G".into(),
        ),
        // The same day again: first_seen not earlier, so the operator stays; the RAT of
        // the latest (tied) sighting wins.
        (
            b.clone(),
            imsi(2),
            m(2),
            day(2019, 4, 1),
            day(2019, 4, 1),
            "mci".into(),
            "".into(),
        ),
        (
            c.clone(),
            imsi(3),
            m(3),
            day(2020, 2, 1),
            day(2020, 2, 1),
            "rightel".into(),
            "2G".into(),
        ),
    ];
    assert_eq!(sightings(&store).await, want);

    // The same bytes again: nothing is written, the first record stands.
    let again = import_file(&store, &first, &options("someone-else"), None)
        .await
        .expect("again");
    assert!(again.already_imported);
    assert_eq!(again.file, one.file);
    assert_eq!(store.count(Table::Files).await.expect("count"), 2);
    assert_eq!(sightings(&store).await, want);
}

async fn freeze_makes_versions_of_the_sorted_pairs(db: TestDb) {
    let store = open(&db).await;
    // Nothing imported yet: version 1 is the empty tree.
    let empty = freeze(&store).await;
    assert_eq!(
        (empty.version, empty.tree_size, empty.root),
        (1, 0, mth(&[]))
    );
    let last_day = day(2019, 12, 31);
    let cutoff_day = day(2020, 1, 1);
    // Inserted out of order; device 5 with two SIMs, device 7 with two MSISDNs (one leaf).
    let mut batch = vec![
        pre(9),
        pre(5),
        seen(&body(5), &imsi(50), &msisdn(50), day(2018, 1, 1), last_day),
        pre(7),
        seen(&body(7), &imsi(7), &msisdn(70), last_day, last_day),
        // Seen first on the cutoff day or later: not in the snapshot.
        seen(&body(8), &imsi(8), &msisdn(8), cutoff_day, cutoff_day),
        seen(
            &body(6),
            &imsi(6),
            &msisdn(6),
            day(2021, 1, 1),
            day(2021, 1, 1),
        ),
        pre(1),
    ];
    upsert(&store, &batch).await;
    let mut expected: BTreeSet<(String, String)> = [
        (body(1), imsi(1)),
        (body(5), imsi(5)),
        (body(5), imsi(50)),
        (body(7), imsi(7)),
        (body(9), imsi(9)),
    ]
    .into();
    let first = freeze(&store).await;
    let first_leaves: Vec<(String, String)> = expected.iter().cloned().collect();
    let first_root = mth(&leaf_hashes(&expected));
    assert_eq!(
        (first.version, first.tree_size, first.root),
        (2, 5, first_root)
    );
    assert_eq!(leaves(&store, 2).await, first_leaves);

    // The signed snapshot says the same, and verifies under the fixture root.
    let parts = read_proof(&first.signed).expect("signed snapshot");
    assert_eq!(parts.content_type, oid::CT_REGISTRY_SNAPSHOT);
    assert!(parts.time_stamp_token.is_none(), "no TSA configured");
    let snap = RegistrySnapshot::from_der(&parts.content).expect("RegistrySnapshot");
    assert_eq!(snap.snapshot.version, 2);
    assert_eq!(snap.snapshot.tree_size, 5);
    assert_eq!(snap.snapshot.root_hash.as_bytes(), &first_root[..]);
    assert_eq!(
        snap.snapshot.cutoff.to_unix_duration().as_secs(),
        CUTOFF_SECS
    );
    let anchors = load_pem_certs(&fixture_text("pki/root-ca.pem")).expect("root");
    let verified = ProofVerifier::new(anchors)
        .content_type(oid::CT_REGISTRY_SNAPSHOT)
        .require_time_stamp(false)
        .verify(&first.signed, SystemTime::now())
        .expect("the snapshot verifies");
    assert_eq!(verified.content, parts.content);

    // A later import of pre-cutoff data: version 3, version 2 untouched.
    batch = vec![
        pre(3),
        seen(
            &body(8),
            &imsi(8),
            &msisdn(8),
            day(2019, 2, 2),
            day(2019, 2, 2),
        ),
    ];
    upsert(&store, &batch).await;
    expected.insert((body(3), imsi(3)));
    expected.insert((body(8), imsi(8)));
    let second = freeze(&store).await;
    let second_root = mth(&leaf_hashes(&expected));
    assert_eq!(
        (second.version, second.tree_size, second.root),
        (3, 7, second_root)
    );
    assert_ne!(first_root, second_root);
    assert_eq!(
        leaves(&store, 3).await,
        expected.iter().cloned().collect::<Vec<_>>()
    );
    assert_eq!(leaves(&store, 2).await, first_leaves);
    assert!(leaves(&store, 1).await.is_empty());
    assert_eq!(store.count(Table::Snapshots).await.expect("count"), 3);
    let newest = store.newest_snapshot().await.expect("load").expect("some");
    assert_eq!(newest.version(), 3);
    assert_eq!(newest.reference.root_hash.as_bytes(), &second_root[..]);
    assert_eq!(newest.signed, second.signed);
}

async fn every_rule_and_a_repeated_request(db: TestDb) {
    let store = open(&db).await;
    let mut batch: Vec<SeenPair> = (0..=9).filter(|i| *i != 2).map(pre).collect();
    // Device 2 seen only after the cutoff; devices 6, 7, 8 are one phone on SIM 6.
    batch.push(seen(
        &body(2),
        &imsi(2),
        &msisdn(2),
        day(2020, 3, 1),
        day(2020, 3, 1),
    ));
    batch.retain(|p| p.imei != body(7) && p.imei != body(8));
    batch.push(seen(
        &body(7),
        &imsi(6),
        &msisdn(6),
        day(2019, 3, 1),
        day(2019, 3, 1),
    ));
    batch.push(seen(
        &body(8),
        &imsi(6),
        &msisdn(6),
        day(2019, 3, 1),
        day(2019, 3, 1),
    ));
    upsert(&store, &batch).await;
    assert_eq!(
        store
            .add_to_blocklist(&[body(5)], 0)
            .await
            .expect("blocklist"),
        1
    );
    let frozen = freeze(&store).await;
    let snap = store.newest_snapshot().await.expect("load").expect("some");
    let rules = Rules { owner_limit: 2 };
    let now = SystemTime::now();
    let (a, b, c) = (national_id(11), national_id(22), national_id(33));
    let decide = |req: Request| {
        let store = store.clone();
        let snap = snap.clone();
        async move { store.decide(&req, rules, &snap, now).await.expect("decide") }
    };

    // Approved, by IMSI (the 15-digit IMEI is stored as its body).
    let first = decide(add(&a, &[imei15(&body(0))], Some(&imsi(0)), None)).await;
    check_proofs(
        &first,
        &[(body(0), imsi(0))],
        &frozen.root,
        frozen.tree_size,
    );
    assert!(!first.repeated);
    assert_eq!(first.receipt.owner, a);
    assert_eq!(first.receipt.imeis, vec![body(0)]);
    assert_eq!(first.receipt.snapshot.version, 1);
    assert_eq!(
        DeviceReceipt::from_der(&first.content).expect("content"),
        first.receipt
    );
    assert_eq!(first.content, first.receipt.to_der().expect("der"));
    let code = &first.receipt.tracking_code;
    assert!(gica_registry::domain::TrackingCode::parse(code).is_ok());

    // The same request again: the same decision, tracking code and bytes.
    let again = decide(add(&a, &[body(0)], Some(&imsi(0)), None)).await;
    assert!(again.repeated);
    assert_eq!(&again.receipt.tracking_code, code);
    assert_eq!(again.content, first.content);
    assert_eq!(store.count(Table::Requests).await.expect("count"), 1);
    let stored = store.request(code).await.expect("read").expect("stored");
    assert_eq!(stored.content, first.content);

    // Approved by MSISDN alone (the portal's way), in its 09... form.
    let by_msisdn = decide(add(&a, &[body(1)], None, Some("09120000001"))).await;
    check_proofs(
        &by_msisdn,
        &[(body(1), imsi(1))],
        &frozen.root,
        frozen.tree_size,
    );

    let refused = |d: &Decided, code: &str, imei: Option<String>| {
        assert_eq!(d.receipt.decision, Decision::Refused);
        assert_eq!(codes(d), vec![(code.to_owned(), imei)]);
        assert!(d.receipt.proofs.is_empty());
    };
    let wrong = imei15_wrong(&body(3));
    let d = decide(add(&a, std::slice::from_ref(&wrong), Some(&imsi(3)), None)).await;
    refused(&d, "invalid-imei", Some(wrong));
    let d = decide(add(&a, &[body(2)], Some(&imsi(2)), None)).await;
    refused(&d, "not-seen-before-cutoff", Some(body(2)));
    let d = decide(add(&a, &[body(3)], Some(&imsi(4)), None)).await;
    refused(&d, "seen-with-other-sim", Some(body(3)));
    let d = decide(add(&b, &[body(0)], Some(&imsi(0)), None)).await;
    refused(&d, "registered-to-another-owner", Some(body(0)));
    let d = decide(add(&b, &[body(5)], Some(&imsi(5)), None)).await;
    refused(&d, "blocklisted", Some(body(5)));
    let phone = [body(6), body(7), body(8)];
    let d = decide(add(&c, &phone, Some(&imsi(6)), None)).await;
    refused(&d, "owner-limit", None);
    // A's third device is over A's limit of 2 too.
    let d = decide(add(&a, &[body(9)], Some(&imsi(9)), None)).await;
    refused(&d, "owner-limit", None);

    // Only the two approvals registered anything.
    assert_eq!(store.count(Table::Devices).await.expect("count"), 2);
    assert_eq!(store.count(Table::Requests).await.expect("count"), 9);
    let mine = store.devices_of(&a).await.expect("devices");
    let got: Vec<(&str, &str, u64, &str)> = mine
        .iter()
        .map(|d| {
            (
                d.imei.as_str(),
                d.imsi.as_str(),
                d.seq,
                d.tracking_code.as_str(),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (body(0).as_str(), imsi(0).as_str(), 1, code.as_str()),
            (
                body(1).as_str(),
                imsi(1).as_str(),
                2,
                by_msisdn.receipt.tracking_code.as_str()
            ),
        ]
    );
    assert_eq!(mine[1].msisdn.as_deref(), Some("989120000001"));
    assert!(store.devices_of(&c).await.expect("devices").is_empty());
}

async fn sixteen_owners_race_for_one_imei(db: TestDb) {
    let store = open(&db).await;
    upsert(&store, &[pre(42)]).await;
    freeze(&store).await;
    let snap = Arc::new(store.newest_snapshot().await.expect("load").expect("some"));
    let now = SystemTime::now();
    let tasks: Vec<_> = (0..16u64)
        .map(|i| {
            let (store, snap) = (store.clone(), snap.clone());
            let req = add(&national_id(100 + i), &[body(42)], Some(&imsi(42)), None);
            tokio::spawn(async move {
                store
                    .decide(&req, Rules::default(), &snap, now)
                    .await
                    .expect("decide")
            })
        })
        .collect();
    let mut approved = Vec::new();
    for t in tasks {
        let d = t.await.expect("task");
        match d.receipt.decision {
            Decision::Approved => approved.push(d.receipt.owner.clone()),
            Decision::Refused => assert_eq!(
                codes(&d),
                vec![("registered-to-another-owner".into(), Some(body(42)))]
            ),
        }
    }
    assert_eq!(approved.len(), 1, "exactly one owner wins");
    assert_eq!(store.count(Table::Devices).await.expect("count"), 1);
    assert_eq!(store.count(Table::Requests).await.expect("count"), 16);
    let devices = store.devices_of(&approved[0]).await.expect("devices");
    assert_eq!(devices.len(), 1);
    assert_eq!(devices[0].imei, body(42));
    assert_eq!(owner_count(&store, &approved[0]).await, 1);
}

async fn owner_limit_holds_under_concurrency(db: TestDb) {
    let store = open(&db).await;
    upsert(&store, &(0..8).map(pre).collect::<Vec<_>>()).await;
    freeze(&store).await;
    let snap = Arc::new(store.newest_snapshot().await.expect("load").expect("some"));
    let owner = national_id(777);
    let now = SystemTime::now();
    let tasks: Vec<_> = (0..8u64)
        .map(|i| {
            let (store, snap) = (store.clone(), snap.clone());
            let req = add(&owner, &[body(i)], Some(&imsi(i)), None);
            tokio::spawn(async move {
                store
                    .decide(&req, Rules { owner_limit: 3 }, &snap, now)
                    .await
                    .expect("decide")
            })
        })
        .collect();
    let mut approved = 0;
    for t in tasks {
        let d = t.await.expect("task");
        match d.receipt.decision {
            Decision::Approved => approved += 1,
            Decision::Refused => assert_eq!(codes(&d), vec![("owner-limit".into(), None)]),
        }
    }
    assert_eq!(approved, 3);
    assert_eq!(store.devices_of(&owner).await.expect("devices").len(), 3);
    assert_eq!(store.count(Table::Devices).await.expect("count"), 3);
    assert_eq!(owner_count(&store, &owner).await, 3);
}

async fn export_sequences_increase_and_deltas_hold_the_new_pairs(db: TestDb) {
    let store = open(&db).await;
    let mut batch: Vec<SeenPair> = (0..6).map(pre).collect();
    // Devices 10 and 11: one phone on SIM 10.
    batch.push(seen(
        &body(10),
        &imsi(10),
        &msisdn(10),
        day(2019, 1, 1),
        day(2019, 1, 1),
    ));
    batch.push(seen(
        &body(11),
        &imsi(10),
        &msisdn(10),
        day(2019, 1, 1),
        day(2019, 1, 1),
    ));
    upsert(&store, &batch).await;
    freeze(&store).await;
    let snap = store.newest_snapshot().await.expect("load").expect("some");
    let now = SystemTime::now();
    let decide = |req: Request| {
        let (store, snap) = (store.clone(), snap.clone());
        async move {
            store
                .decide(&req, Rules::default(), &snap, now)
                .await
                .expect("decide")
        }
    };
    let pe = |i: u64, s: u64| PairEntry {
        imei: body(i),
        imsi: imsi(s),
    };

    let empty = store.pair_list(None, now).await.expect("list");
    assert_eq!(
        (empty.kind, empty.sequence, empty.since),
        (ListKind::Full, 0, None)
    );
    assert!(empty.pairs.is_empty());

    let a = national_id(1);
    assert_eq!(
        decide(add(&a, &[body(3)], Some(&imsi(3)), None))
            .await
            .receipt
            .decision,
        Decision::Approved
    );
    assert_eq!(
        decide(add(&a, &[body(11), body(10)], Some(&imsi(10)), None))
            .await
            .receipt
            .decision,
        Decision::Approved
    );
    // A refusal changes nothing in the lists.
    let refused = decide(add(&national_id(2), &[body(3)], Some(&imsi(3)), None)).await;
    assert_eq!(refused.receipt.decision, Decision::Refused);

    let full1 = store.pair_list(None, now).await.expect("list");
    assert_eq!((full1.kind, full1.sequence), (ListKind::Full, 3));
    assert_eq!(full1.pairs, vec![pe(3, 3), pe(10, 10), pe(11, 10)]);
    let delta0 = store.pair_list(Some(0), now).await.expect("list");
    assert_eq!(
        (delta0.kind, delta0.sequence, delta0.since),
        (ListKind::Delta, 3, Some(0))
    );
    assert_eq!(delta0.pairs, full1.pairs);

    let b = national_id(3);
    for i in [5, 0] {
        assert_eq!(
            decide(add(&b, &[body(i)], Some(&imsi(i)), None))
                .await
                .receipt
                .decision,
            Decision::Approved
        );
    }
    let full2 = store.pair_list(None, now).await.expect("list");
    assert_eq!(full2.sequence, 5);
    assert!(full2.sequence > full1.sequence);
    assert_eq!(
        full2.pairs,
        vec![pe(0, 0), pe(3, 3), pe(5, 5), pe(10, 10), pe(11, 10)]
    );
    let delta = store
        .pair_list(Some(full1.sequence), now)
        .await
        .expect("list");
    assert_eq!((delta.sequence, delta.since), (5, Some(3)));
    assert_eq!(
        delta.pairs,
        vec![pe(0, 0), pe(5, 5)],
        "exactly the new pairs"
    );
    let delta_mid = store.pair_list(Some(4), now).await.expect("list");
    assert_eq!(delta_mid.pairs, vec![pe(0, 0)], "the approval after 4");
    let none = store.pair_list(Some(5), now).await.expect("list");
    assert_eq!((none.sequence, none.pairs.len()), (5, 0));
}

async fn chunked_proofs_equal_independent_ones_at_chunk_boundaries(db: TestDb) {
    let store = open(&db).await;
    let mut all: BTreeSet<(String, String)> = BTreeSet::new();
    let mut next = 0u64;
    for size in [63usize, 64, 65, 127, 128, 129, 1000] {
        let mut batch = Vec::new();
        while all.len() < size {
            // A scattered order, so new pairs land between old ones.
            let i = (next * 7919) % 100_003;
            next += 1;
            batch.push(seen(
                &body(i),
                &imsi(i),
                &msisdn(i % 10_000_000),
                day(2019, 5, 5),
                day(2019, 5, 5),
            ));
            all.insert((body(i), imsi(i)));
        }
        upsert(&store, &batch).await;
        let frozen = freeze(&store).await;
        let hashes = leaf_hashes(&all);
        let root = mth(&hashes);
        assert_eq!(
            (frozen.tree_size, frozen.root),
            (size as u64, root),
            "size {size}"
        );
        let snap: LoadedSnapshot = store.newest_snapshot().await.expect("load").expect("some");
        assert_eq!(snap.reference.tree_size, size as u64);
        for (i, (imei, imsi)) in all.iter().enumerate() {
            let pair = PairEntry {
                imei: imei.clone(),
                imsi: imsi.clone(),
            };
            let proof = store
                .inclusion_proof(&snap, i as u64, &pair)
                .await
                .unwrap_or_else(|e| panic!("size {size}, leaf {i}: {e}"));
            assert_eq!((proof.leaf_index, proof.tree_size), (i as u64, size as u64));
            let want = path(i, &hashes);
            assert_eq!(
                proof.path.as_slice(),
                want.as_slice(),
                "size {size}, leaf {i}"
            );
            assert!(verify_inclusion(
                i as u64,
                size as u64,
                &hashes[i],
                &want,
                &root
            ));
        }
        // A pair that is not the leaf at that index gets no proof.
        let (imei, imsi) = all.iter().nth(1).expect("two leaves").clone();
        assert!(
            store
                .inclusion_proof(&snap, 0, &PairEntry { imei, imsi })
                .await
                .is_err()
        );
    }
}
