//! `gica receipt verify | show`: receipts, snapshots and export lists made with the library
//! as the registry makes them (the fixture proof signer of testdata/proof, tokens from an
//! in-process `tsp::Authority` on the fixture TSA), checked by the binary and by
//! `openssl cms -verify`.

use std::{
    path::{Path, PathBuf},
    sync::Arc,
    time::{Duration, SystemTime},
};

use gica_pki::{
    DigestAlgorithm, SignerOptions, SoftwareSigner,
    cert::load_pem_certs,
    der::{
        Decode, Encode,
        asn1::{GeneralizedTime, ObjectIdentifier, OctetString},
    },
    merkle::MerkleTree,
    oid,
    proof::ProofSigner,
    tsp::{Authority, AuthorityConfig, TimeStampReqBuilder, TstSerial},
};
use gica_registry::receipt::{
    Decision, DeviceReceipt, ListKind, PairEntry, PairList, PairProof, Refusal, RegistrySnapshot,
    Sim, SnapshotRef,
};

use crate::{common::*, support::*};

const OWNER: &str = "0010350829";
const TRACKING: &str = "0000005724";
/// The SIM both approved IMEIs were seen with (pairs 2 and 5).
const SIM_IMSI: &str = "432111234567890";

fn pem_certs(rel: &str) -> Vec<gica_pki::x509_cert::Certificate> {
    load_pem_certs(&std::fs::read_to_string(fixture(rel)).expect("read")).expect("certs")
}

fn key(rel: &str) -> SoftwareSigner {
    SoftwareSigner::from_pem(
        &std::fs::read_to_string(fixture(rel)).expect("read"),
        SignerOptions::default(),
    )
    .expect("key")
}

fn time(secs: u64) -> GeneralizedTime {
    GeneralizedTime::from_unix_duration(Duration::from_secs(secs)).expect("time")
}

/// A registry in miniature: its signer, its TSA, and a frozen snapshot of nine pairs.
struct Registry {
    signer: ProofSigner,
    tsa: Authority,
    pairs: Vec<PairEntry>,
    tree: MerkleTree,
    dir: tempfile::TempDir,
}

impl Registry {
    fn new() -> Self {
        let signer = ProofSigner::new(
            Arc::new(key("proof/signer-p256.key")),
            pem_certs("proof/signer-p256.pem").remove(0),
            pem_certs("pki/int-ca.pem"),
        )
        .expect("proof signer");
        let mut config = AuthorityConfig::new(POLICY.parse().expect("oid"));
        config.chain = pem_certs("pki/chain.pem");
        let tsa = Authority::new(
            pem_certs("pki/tsa-p256.pem").remove(0),
            Arc::new(key("pki/tsa-p256.key")),
            config,
        )
        .expect("authority");
        let pairs = pairs(9);
        let tree = tree(&pairs);
        Self {
            signer,
            tsa,
            pairs,
            tree,
            dir: tempfile::tempdir().expect("tmp"),
        }
    }

    fn snapshot(&self) -> SnapshotRef {
        snapshot_ref(&self.tree)
    }

    /// Signs `content` as a proof of `content_type`, time-stamped unless `stamp` is false.
    fn sign(&self, content_type: ObjectIdentifier, content: &[u8], stamp: bool) -> Vec<u8> {
        let now = SystemTime::now();
        let unstamped = self.signer.sign(content_type, content, now).expect("sign");
        if !stamp {
            return unstamped.to_der().expect("der");
        }
        let req = TimeStampReqBuilder::new(DigestAlgorithm::Sha256)
            .hash(&unstamped.time_stamp_imprint(DigestAlgorithm::Sha256))
            .with_nonce()
            .cert_req(true)
            .build()
            .expect("request");
        let issued = self.tsa.respond(
            &req.to_der().expect("der"),
            now,
            TstSerial::random().expect("serial"),
        );
        assert!(issued.outcome.is_ok(), "{:?}", issued.outcome);
        unstamped.with_time_stamp(&issued.der).expect("stamp")
    }

    /// Writes `bytes` to a file in the registry's directory.
    fn write(&self, name: &str, bytes: &[u8]) -> String {
        let p = self.dir.path().join(name);
        std::fs::write(&p, bytes).expect("write");
        s(&p)
    }

    fn signed_receipt(&self, name: &str, receipt: &DeviceReceipt) -> String {
        let der = self.sign(
            oid::CT_REGISTRY_RECEIPT,
            &receipt.to_der().expect("der"),
            true,
        );
        self.write(name, &der)
    }

    fn signed_snapshot(&self, name: &str, snapshot: SnapshotRef) -> String {
        let content = RegistrySnapshot {
            snapshot,
            created_at: time(1_750_000_000),
        };
        let der = self.sign(
            oid::CT_REGISTRY_SNAPSHOT,
            &content.to_der().expect("der"),
            true,
        );
        self.write(name, &der)
    }

    /// A two-IMEI phone approved with its one SIM: proofs of pairs 2 and 5.
    fn approval(&self) -> DeviceReceipt {
        DeviceReceipt {
            version: 1,
            tracking_code: TRACKING.into(),
            decided_at: time(1_800_000_000),
            owner: OWNER.into(),
            imeis: vec![self.pairs[2].imei.clone(), self.pairs[5].imei.clone()],
            sim: Sim {
                imsi: Some(SIM_IMSI.into()),
                msisdn: Some("989121234567".into()),
            },
            decision: Decision::Approved,
            reasons: Vec::new(),
            snapshot: self.snapshot(),
            proofs: [2u64, 5]
                .iter()
                .map(|&i| PairProof {
                    pair: self.pairs[i as usize].clone(),
                    proof: self.tree.inclusion_proof(i).expect("proof"),
                })
                .collect(),
        }
    }

    fn refusal(&self) -> DeviceReceipt {
        DeviceReceipt {
            version: 1,
            tracking_code: "0000000013".into(),
            decided_at: time(1_800_000_100),
            owner: OWNER.into(),
            imeis: vec!["35209900176148".into(), "12345".into()],
            sim: Sim {
                imsi: None,
                msisdn: Some("989121234567".into()),
            },
            decision: Decision::Refused,
            reasons: vec![
                Refusal {
                    code: "invalid-imei".into(),
                    imei: Some("12345".into()),
                },
                Refusal {
                    code: "not-seen-before-cutoff".into(),
                    imei: Some("35209900176148".into()),
                },
            ],
            snapshot: self.snapshot(),
            proofs: Vec::new(),
        }
    }

    fn export(&self, kind: ListKind) -> PairList {
        PairList {
            kind,
            sequence: 12,
            since: (kind == ListKind::Delta).then_some(4),
            produced_at: time(1_800_000_200),
            pairs: pairs(12),
        }
    }
}

/// `n` pairs ordered by (imei, imsi); pairs 2 and 5 share the SIM `SIM_IMSI`.
fn pairs(n: u64) -> Vec<PairEntry> {
    (0..n)
        .map(|i| PairEntry {
            imei: format!("{:014}", 35_209_900_176_140u64 + i * 10),
            imsi: if i == 2 || i == 5 {
                SIM_IMSI.into()
            } else {
                format!("{:015}", 432_350_000_000_000u64 + i)
            },
        })
        .collect()
}

fn tree(pairs: &[PairEntry]) -> MerkleTree {
    MerkleTree::new(pairs.iter().map(|p| p.leaf_hash().expect("leaf")).collect())
}

fn snapshot_ref(tree: &MerkleTree) -> SnapshotRef {
    SnapshotRef {
        version: 1,
        cutoff: time(1_700_000_000),
        tree_size: tree.size(),
        root_hash: OctetString::new(tree.root().to_vec()).expect("root"),
    }
}

fn root() -> String {
    fixture_str("pki/root-ca.pem")
}

/// `openssl cms -verify` of `file` against `anchors`: whether it accepted, and the content it
/// wrote.
fn openssl_cms(file: &str, anchors: &str, out: &Path) -> (bool, Vec<u8>) {
    let (ok, text) = openssl_try(&[
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        file,
        "-CAfile",
        anchors,
        "-purpose",
        "any",
        "-out",
        &s(out),
    ]);
    let content = if ok {
        std::fs::read(out).expect("content")
    } else {
        eprintln!("openssl: {text}");
        Vec::new()
    };
    (ok, content)
}

fn verify(receipt: &str, extra: &[&str]) -> Run {
    let root = root();
    let mut args = vec!["receipt", "verify", receipt, "--anchors", &root];
    args.extend_from_slice(extra);
    gica(&args)
}

#[test]
fn an_approval_verifies_with_its_snapshot_and_openssl_agrees() {
    let reg = Registry::new();
    let receipt = reg.approval();
    let file = reg.signed_receipt("approval.p7m", &receipt);
    let snapshot = reg.signed_snapshot("snapshot.p7m", reg.snapshot());
    let root_hex = hex::encode(reg.tree.root());
    let run = verify(&file, &["--snapshot", &snapshot]);
    run.expect(
        0,
        &[
            &format!("verified: receipt {TRACKING}: approved for owner {OWNER}"),
            "signed by CN=gica Test Proof Signer P-256",
            &reg.pairs[2].imei,
            &reg.pairs[5].imei,
            SIM_IMSI,
            &root_hex,
            "matches ",
            "TSA P-256",
            "validated at",
            "was not checked (give --crl)",
        ],
    );
    assert_eq!(
        run.stdout.matches("result=included").count(),
        2,
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("FAILED"), "{}", run.stdout);
    // openssl checks the same CMS and hands back exactly the DeviceReceipt we signed.
    let (ok, content) = openssl_cms(&file, &root(), &reg.dir.path().join("content.der"));
    assert!(ok, "openssl cms -verify refused a receipt gica accepts");
    assert_eq!(content, receipt.to_der().expect("der"));
    // Without --snapshot it still verifies, and says what was not checked.
    verify(&file, &[]).expect(0, &["verified", "give --snapshot SNAPSHOT.p7m"]);
}

#[test]
fn a_refusal_verifies_and_shows_its_reasons() {
    let reg = Registry::new();
    let file = reg.signed_receipt("refusal.p7m", &reg.refusal());
    verify(&file, &[]).expect(
        0,
        &[
            "verified: receipt 0000000013: refused for owner",
            "code=invalid-imei, imei=12345",
            "code=not-seen-before-cutoff, imei=35209900176148",
            "sim msisdn",
            "989121234567",
        ],
    );
    let (ok, _) = openssl_cms(&file, &root(), &reg.dir.path().join("c.der"));
    assert!(ok);
}

#[test]
fn json_output_parses_for_verdicts_and_failures() {
    let reg = Registry::new();
    let file = reg.signed_receipt("approval.p7m", &reg.approval());
    let run = verify(&file, &["--json"]);
    run.expect(0, &[]);
    let v = run.json();
    assert_eq!(v["verdict"], "verified");
    assert_eq!(v["exit_code"], 0);
    assert_eq!(v["tracking_code"], TRACKING);
    assert_eq!(v["decision"], "approved");
    assert_eq!(v["owner"], OWNER);
    assert_eq!(v["sim_imsi"], SIM_IMSI);
    assert_eq!(v["imeis"][1], reg.pairs[5].imei.as_str());
    assert_eq!(v["snapshot"]["tree_size"], 9);
    assert_eq!(v["snapshot"]["root"], hex::encode(reg.tree.root()));
    assert_eq!(v["proofs"][0]["leaf_index"], 2);
    assert_eq!(v["proofs"][1]["result"], "included");
    assert!(v["gen_time"].as_str().expect("gen_time").ends_with('Z'));
    assert!(
        v["tsa"]
            .as_str()
            .expect("tsa")
            .contains("gica Test TSA P-256")
    );
    let run = gica(&[
        "receipt",
        "verify",
        &file,
        "--anchors",
        &fixture_str("pki/other-root.pem"),
        "--json",
    ]);
    run.expect(1, &[]);
    let v = run.json();
    assert_eq!(v["verdict"], "FAILED");
    assert_eq!(v["exit_code"], 1);
    assert!(
        v["summary"]
            .as_str()
            .expect("summary")
            .contains("the signer's certificate is not trusted"),
        "{v}"
    );
}

#[test]
fn a_changed_content_byte_fails_and_openssl_agrees() {
    let reg = Registry::new();
    let der = reg.sign(
        oid::CT_REGISTRY_RECEIPT,
        &reg.approval().to_der().expect("der"),
        true,
    );
    // The owner's national ID, one digit changed, inside the signed eContent.
    let at = der
        .windows(OWNER.len())
        .position(|w| w == OWNER.as_bytes())
        .expect("owner in the DER");
    let mut tampered = der.clone();
    tampered[at + 9] = b'8';
    let file = reg.write("tampered.p7m", &tampered);
    verify(&file, &[]).expect(
        1,
        &[
            "FAILED",
            "tampered.p7m: the content was changed after it was signed",
        ],
    );
    let (ok, _) = openssl_cms(&file, &root(), &reg.dir.path().join("c.der"));
    assert!(!ok, "openssl accepted a changed receipt");
}

#[test]
fn a_signed_receipt_whose_proof_path_was_changed_fails() {
    let reg = Registry::new();
    let mut receipt = reg.approval();
    let mut path = receipt.proofs[1].proof.path.clone().into_vec();
    path[1][7] ^= 0x40;
    receipt.proofs[1].proof.path = path.try_into().expect("path");
    // Signed as it is: the signature holds, the proof must not.
    let file = reg.signed_receipt("bad-proof.p7m", &receipt);
    let run = verify(&file, &[]);
    run.expect(
        1,
        &[
            &format!(
                "FAILED: {file}: inclusion proof of IMEI {}: the inclusion proof leads to a \
                 different root",
                reg.pairs[5].imei
            ),
            "result=FAILED: the inclusion proof leads to a different root",
        ],
    );
    assert_eq!(run.stdout.matches("result=included").count(), 1);
    // The CMS itself is sound: openssl, which knows nothing of Merkle trees, accepts it.
    let (ok, _) = openssl_cms(&file, &root(), &reg.dir.path().join("c.der"));
    assert!(ok);
}

#[test]
fn a_snapshot_with_another_root_fails() {
    let reg = Registry::new();
    let file = reg.signed_receipt("approval.p7m", &reg.approval());
    // The same version and size, another root: a different set of pairs.
    let mut other = pairs(9);
    other[8].imsi = "432359999999999".into();
    let wrong = reg.signed_snapshot("wrong-root.p7m", snapshot_ref(&tree(&other)));
    let other_root = hex::encode(tree(&other).root());
    verify(&file, &["--snapshot", &wrong]).expect(
        1,
        &[
            &format!(
                "FAILED: {file}: the snapshot in {wrong} is version 1, 9 pairs, root {other_root}; \
                 the receipt names version 1, 9 pairs, root {}",
                hex::encode(reg.tree.root())
            ),
            "snapshot check",
        ],
    );
    // A snapshot is not a receipt, nor a receipt a snapshot.
    let snapshot = reg.signed_snapshot("snapshot.p7m", reg.snapshot());
    verify(&snapshot, &[]).expect(1, &["this is a registry snapshot, not a registry receipt"]);
    verify(&file, &["--snapshot", &file]).expect(
        1,
        &["approval.p7m: this is a registry receipt, not a registry snapshot"],
    );
}

#[test]
fn a_receipt_without_its_token_fails() {
    let reg = Registry::new();
    let der = reg.sign(
        oid::CT_REGISTRY_RECEIPT,
        &reg.approval().to_der().expect("der"),
        false,
    );
    let file = reg.write("unstamped.p7m", &der);
    verify(&file, &[]).expect(
        1,
        &[
            "unstamped.p7m: the time-stamp is missing: no time-stamp token",
            "note: a receipt proves its time only with the TSA's token",
        ],
    );
    // For openssl it is a sound CMS signature: the token is gica's requirement (CAdES-T).
    let (ok, _) = openssl_cms(&file, &root(), &reg.dir.path().join("c.der"));
    assert!(ok);
}

#[test]
fn wrong_anchors_fail_and_openssl_agrees() {
    let reg = Registry::new();
    let file = reg.signed_receipt("approval.p7m", &reg.approval());
    let other = fixture_str("pki/other-root.pem");
    gica(&["receipt", "verify", &file, "--anchors", &other]).expect(
        1,
        &[
            "approval.p7m: the signer's certificate is not trusted",
            "check --anchors",
        ],
    );
    let (ok, _) = openssl_cms(&file, &other, &reg.dir.path().join("c.der"));
    assert!(!ok, "openssl accepted the receipt under another root");
    // The registry's root, but another root for the TSA.
    verify(&file, &["--tsa-anchors", &other]).expect(
        1,
        &[
            "approval.p7m: the time-stamp does not verify",
            "check --tsa-anchors",
        ],
    );
}

#[test]
fn at_checks_the_paths_then_too_and_crls_can_leave_it_unknown() {
    let reg = Registry::new();
    let file = reg.signed_receipt("approval.p7m", &reg.approval());
    verify(&file, &["--at", "now"]).expect(0, &["verified", "genTime and "]);
    verify(&file, &["--at", "2000-01-01T00:00:00Z"]).expect(
        1,
        &[
            "the signer's certificate path is not valid at 2000-01-01T00:00:00Z",
            "--at gentime",
        ],
    );
    verify(&file, &["--at", "yesterday"]).expect(3, &["--at"]);
    // The root's CRL covers int-ca, but nothing covers the certificates int-ca issued.
    let crl = root_crl(reg.dir.path());
    verify(&file, &["--crl", &s(&crl)]).expect(2, &["unknown", "revocation status", "--crl"]);
}

#[test]
fn show_tells_receipts_snapshots_and_export_lists_apart() {
    let reg = Registry::new();
    let file = reg.signed_receipt("approval.p7m", &reg.approval());
    gica(&["receipt", "show", &file]).expect(
        0,
        &[
            "shown: ",
            "a registry receipt",
            TRACKING,
            OWNER,
            "leaf_index=5, tree_size=9",
            "gen time",
            "shown, not verified",
        ],
    );
    let snapshot = reg.signed_snapshot("snapshot.p7m", reg.snapshot());
    gica(&["receipt", "show", &snapshot]).expect(
        0,
        &[
            "a registry snapshot",
            "tree_size=9",
            &hex::encode(reg.tree.root()),
            "created at",
        ],
    );
    let list = reg.sign(
        oid::CT_REGISTRY_EXPORT,
        &reg.export(ListKind::Delta).to_der().expect("der"),
        false,
    );
    let list = reg.write("export.p7m", &list);
    let run = gica(&["receipt", "show", &list]);
    run.expect(
        0,
        &[
            "a registry export list",
            "kind",
            "delta",
            "since",
            "pair count",
            "2 more pairs (--entries lists them all)",
            "time stamp",
            "none",
        ],
    );
    let all = gica(&["receipt", "show", &list, "--entries", "--json"]);
    all.expect(0, &[]);
    let v = all.json();
    assert_eq!(v["pairs"].as_array().expect("pairs").len(), 12);
    assert_eq!(v["sequence"], 12);
    assert_eq!(v["since"], 4);
    // Not a signed object at all: a usage error naming the file.
    let junk = reg.write("junk.p7m", b"\x30\x03\x02\x01\x01");
    gica(&["receipt", "show", &junk]).expect(3, &["junk.p7m: not a signed object"]);
}

/// Receipts the registry's own code decides: sightings into a SQLite store, `freeze` (a
/// tree of 70 pairs, over one chunk of 64, signed and stamped), `decide`, then the receipt
/// signed as the notary signs it.
#[test]
fn receipts_the_registry_decides_verify_against_its_frozen_snapshot() {
    use gica_registry::{
        decide::Rules,
        demo,
        service::AddDevice,
        store::{FileRecord, SeenPair, Store},
    };
    let reg = Registry::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let owner = demo::national_id(123_456_789);
    let (imei_a, imsi, msisdn) = demo::pair(20);
    let (imei_b, _, _) = demo::pair(21); // the same phone's second IMEI, the same SIM
    let (unseen, _, _) = demo::pair(500);
    let now = SystemTime::now();
    let (snapshot, approved, refused) = rt.block_on(async {
        let url = format!("sqlite:{}", s(&reg.dir.path().join("registry.db")));
        let store = Store::open(&url).await.expect("store");
        let seen: Vec<SeenPair> = (0..70)
            .map(|i| {
                let (imei, imsi, msisdn) = demo::pair(i);
                SeenPair {
                    imei: imei[..14].to_string(),
                    imsi,
                    msisdn,
                    first: 18_000,
                    last: 18_100,
                    rat: "4G".into(),
                }
            })
            .collect();
        let mut tx = store.begin_import().await.expect("import");
        tx.upsert("mci", &seen).await.expect("upsert");
        tx.commit(&FileRecord {
            sha256: [7; 32],
            operator: "mci".into(),
            name: "sightings.csv".into(),
            rows_read: 70,
            rows_accepted: 70,
            rows_bad: 0,
            pairs: 70,
            imported_at: 0,
            tsa_token: None,
        })
        .await
        .expect("commit");
        let cutoff = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let frozen = store
            .freeze(cutoff, now, async |content: Vec<u8>| {
                Ok::<_, gica_pki::BoxError>(reg.sign(oid::CT_REGISTRY_SNAPSHOT, &content, true))
            })
            .await
            .expect("freeze");
        assert_eq!(frozen.tree_size, 70);
        let snap = store
            .newest_snapshot()
            .await
            .expect("snapshot")
            .expect("frozen");
        let decide = async |imeis: Vec<String>| {
            let request = AddDevice {
                national_id: owner.clone(),
                imeis,
                imsi: Some(imsi.clone()),
                msisdn: Some(msisdn.clone()),
            }
            .validate()
            .expect("valid request");
            store
                .decide(&request, Rules::default(), &snap, now)
                .await
                .expect("decide")
        };
        let approved = decide(vec![imei_a.clone(), imei_b.clone()]).await;
        let refused = decide(vec![unseen.clone()]).await;
        (frozen.signed, approved, refused)
    });
    assert_eq!(approved.receipt.decision, Decision::Approved);
    assert_eq!(approved.receipt.proofs.len(), 2);
    assert_eq!(refused.receipt.decision, Decision::Refused);
    let snapshot = reg.write("frozen.p7m", &snapshot);
    let approved_file = reg.write(
        "decided-approval.p7m",
        &reg.sign(oid::CT_REGISTRY_RECEIPT, &approved.content, true),
    );
    let run = verify(&approved_file, &["--snapshot", &snapshot]);
    run.expect(
        0,
        &[
            &format!(
                "verified: receipt {}: approved for owner {owner}",
                approved.receipt.tracking_code
            ),
            &imei_a[..14],
            &imei_b[..14],
            "leaf_index=20, result=included",
            "leaf_index=21, result=included",
            "matches ",
        ],
    );
    let refused_file = reg.write(
        "decided-refusal.p7m",
        &reg.sign(oid::CT_REGISTRY_RECEIPT, &refused.content, true),
    );
    verify(&refused_file, &["--snapshot", &snapshot])
        .expect(0, &["refused for owner", "code=not-seen-before-cutoff"]);
}

/// The registry objects written for the fuzz target's seeds (testdata/registry/).
fn vectors(reg: &Registry) -> Vec<(&'static str, Vec<u8>)> {
    let snapshot = RegistrySnapshot {
        snapshot: reg.snapshot(),
        created_at: time(1_750_000_000),
    };
    [
        ("receipt-approved.der", reg.approval().to_der()),
        ("receipt-refused.der", reg.refusal().to_der()),
        ("snapshot.der", snapshot.to_der()),
        ("export-full.der", reg.export(ListKind::Full).to_der()),
        ("export-delta.der", reg.export(ListKind::Delta).to_der()),
    ]
    .into_iter()
    .map(|(name, der)| (name, der.expect("der")))
    .collect()
}

fn vector_dir() -> PathBuf {
    fixture("registry")
}

/// Writes testdata/registry/*.der; run by hand (see testdata/registry/README.md).
#[test]
#[ignore = "writes the committed vectors"]
fn write_registry_vectors() {
    let reg = Registry::new();
    std::fs::create_dir_all(vector_dir()).expect("mkdir");
    for (name, der) in vectors(&reg) {
        std::fs::write(vector_dir().join(name), der).expect("write");
    }
}

/// Every committed vector decodes and re-encodes byte for byte, and so does every one-octet
/// change of it that still decodes: the fuzz target's property, on its seeds.
#[test]
fn registry_vectors_round_trip_and_their_mutants_never_re_encode_differently() {
    let reg = Registry::new();
    for (name, want) in vectors(&reg) {
        let der = std::fs::read(vector_dir().join(name)).expect("committed vector");
        assert_eq!(der, want, "{name} is what write_registry_vectors makes");
        let decoded = round_trip(&der);
        assert!(decoded, "{name} does not decode");
        for i in 0..der.len() {
            for flip in [0x01, 0x80, 0xff] {
                let mut m = der.clone();
                m[i] ^= flip;
                round_trip(&m);
            }
        }
    }
}

/// Decodes `der` as each registry type; any that accepts must re-encode to `der`.
fn round_trip(der: &[u8]) -> bool {
    let mut any = false;
    if let Ok(v) = DeviceReceipt::from_der(der) {
        assert_eq!(v.to_der().expect("encode"), der);
        any = true;
    }
    if let Ok(v) = RegistrySnapshot::from_der(der) {
        assert_eq!(v.to_der().expect("encode"), der);
        any = true;
    }
    if let Ok(v) = PairList::from_der(der) {
        assert_eq!(v.to_der().expect("encode"), der);
        any = true;
    }
    any
}
