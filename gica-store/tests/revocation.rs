//! One suite for every revocation store backend: each check runs on SQLite (a file in a
//! temporary directory) and on PostgreSQL (a fresh schema, dropped afterwards), through
//! `gica_store::testing`.
//!
//! PostgreSQL: `GICA_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/test`).
//! `GICA_SKIP_POSTGRES=1` skips it; otherwise failing to connect fails the test.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use gica_pki::CrlReason;
use gica_store::StoreError;
use gica_store::revocation::{
    AnyStore, Change, ImportSummary, PgStore, PublishedCrl, PublishedCrlMeta, RecordStatus,
    RevocationStore, RevocationWriter, RevokeOutcome, SqliteStore, StatusSource,
};
use gica_store::testing::{DEFAULT_POSTGRES_URL, TestDb, at, record, revoked};

/// The newest change's seq, so a check sees only its own changes.
async fn last_seq<S: StatusSource>(store: &S) -> i64 {
    let all = store
        .changes_since(i64::MIN, i64::MAX)
        .await
        .expect("changes_since");
    all.last().map_or(0, |c| c.seq)
}

// ---------------------------------------------------------------------------------------------
// Backends

/// Opens (a new pool on) the check's database, migrated.
trait Open {
    fn open(&self) -> impl Future<Output = AnyStore> + Send;
}

impl Open for TestDb {
    async fn open(&self) -> AnyStore {
        AnyStore::connect(self.url())
            .await
            .expect("open the store (GICA_SKIP_POSTGRES=1 skips PostgreSQL)")
    }
}

gica_store::backend_suite!(
    record_round_trip,
    revoke_once,
    revoke_races,
    revoked_in_serial_order,
    reasons_round_trip,
    crl_numbers_increase,
    crl_snapshots_agree_with_their_numbers,
    changes_in_order,
    pruned_changes_keep_sequence_numbers,
    published_crls_only_move_forward,
    import_all_or_nothing,
);

// ---------------------------------------------------------------------------------------------
// The suite

async fn record_round_trip(db: TestDb) {
    let s = db.open().await;
    s.migrate().await.expect("migrate is idempotent");
    let issuer = "issuer-a";

    s.record_issued(issuer, &[0x01, 0x02], Some(at(1_900_000_000)))
        .await
        .expect("record");
    let expected = record(issuer, &[1, 2], Some(1_900_000_000), RecordStatus::Valid);
    let got = s.status(issuer, &[1, 2]).await.expect("status");
    assert_eq!(got.as_ref(), Some(&expected));
    // Leading zero octets are not part of the serial.
    let got = s.status(issuer, &[0, 0, 1, 2]).await.expect("status");
    assert_eq!(got.as_ref(), Some(&expected));

    // A second record_issued changes nothing.
    s.record_issued(issuer, &[0x00, 0x01, 0x02], Some(at(5)))
        .await
        .expect("record again");
    let got = s.status(issuer, &[1, 2]).await.expect("status");
    assert_eq!(got.as_ref(), Some(&expected));

    // Unknown serial, other issuer.
    assert_eq!(s.status(issuer, &[1, 3]).await.expect("status"), None);
    assert_eq!(s.status("issuer-b", &[1, 2]).await.expect("status"), None);

    // No notAfter; a fraction of a second is dropped; times before 1970 round down.
    s.record_issued(issuer, &[7], None).await.expect("record");
    let got = s.status(issuer, &[7]).await.expect("status");
    assert_eq!(got, Some(record(issuer, &[7], None, RecordStatus::Valid)));
    s.record_issued(issuer, &[8], Some(at(1_000) + Duration::from_millis(999)))
        .await
        .expect("record");
    let got = s
        .status(issuer, &[8])
        .await
        .expect("status")
        .expect("record");
    assert_eq!(got.not_after, Some(at(1_000)));
    s.record_issued(issuer, &[9], Some(at(-10) - Duration::from_millis(500)))
        .await
        .expect("record");
    let got = s
        .status(issuer, &[9])
        .await
        .expect("status")
        .expect("record");
    assert_eq!(got.not_after, Some(at(-11)));

    // Reopening sees the same data (it was durable).
    drop(s);
    let s = db.open().await;
    let got = s.status(issuer, &[1, 2]).await.expect("status");
    assert_eq!(got, Some(expected));
}

async fn revoke_once(db: TestDb) {
    let s = db.open().await;
    let issuer = "issuer-revoke";
    let base = last_seq(&s).await;

    s.record_issued(issuer, &[0x10], Some(at(2_000_000_000)))
        .await
        .expect("record");
    let first = s
        .revoke(
            issuer,
            &[0x10],
            at(1_700_000_000),
            Some(CrlReason::KeyCompromise),
            Some(at(1_690_000_000)),
        )
        .await
        .expect("revoke");
    assert_eq!(first, RevokeOutcome::Revoked);
    let expected = record(
        issuer,
        &[0x10],
        Some(2_000_000_000),
        revoked(
            1_700_000_000,
            Some(CrlReason::KeyCompromise),
            Some(1_690_000_000),
        ),
    );
    let got = s.status(issuer, &[0x10]).await.expect("status");
    assert_eq!(got.as_ref(), Some(&expected));

    // Again, with another time and reason: nothing changes.
    let second = s
        .revoke(
            issuer,
            &[0, 0x10],
            at(1_800_000_000),
            Some(CrlReason::Superseded),
            None,
        )
        .await
        .expect("revoke again");
    assert_eq!(second, RevokeOutcome::AlreadyRevoked);
    let got = s.status(issuer, &[0x10]).await.expect("status");
    assert_eq!(got.as_ref(), Some(&expected));

    // record_issued does not un-revoke.
    s.record_issued(issuer, &[0x10], None)
        .await
        .expect("record");
    let got = s.status(issuer, &[0x10]).await.expect("status");
    assert_eq!(got.as_ref(), Some(&expected));

    // A serial with no record is recorded as revoked.
    let outcome = s
        .revoke(issuer, &[0x11], at(1_700_000_001), None, None)
        .await
        .expect("revoke unknown");
    assert_eq!(outcome, RevokeOutcome::Revoked);
    let got = s.status(issuer, &[0x11]).await.expect("status");
    assert_eq!(
        got,
        Some(record(
            issuer,
            &[0x11],
            None,
            revoked(1_700_000_001, None, None)
        ))
    );

    // No duplicates; one change per revocation.
    let list = s.revoked(issuer).await.expect("revoked");
    let serials: Vec<_> = list.iter().map(|r| r.serial.clone()).collect();
    assert_eq!(serials, [vec![0x10], vec![0x11]]);
    assert_eq!(list[0], expected);
    let changes = s.changes_since(base, 100).await.expect("changes");
    let changed: Vec<_> = changes.iter().map(|c| c.serial.clone()).collect();
    assert_eq!(changed, [vec![0x10], vec![0x11]]);
}

/// Writers on two pools revoke the same serials at once: each is revoked exactly once.
async fn revoke_races(db: TestDb) {
    let pools = [Arc::new(db.open().await), Arc::new(db.open().await)];
    let base = last_seq(&*pools[0]).await;
    let mut tasks = Vec::new();
    for task in 0..8_u8 {
        let store = Arc::clone(&pools[usize::from(task % 2)]);
        tasks.push(tokio::spawn(async move {
            let mut newly = 0;
            for serial in 1..=10_u8 {
                let outcome = store
                    .revoke(
                        "issuer-race",
                        &[serial],
                        at(1_700_000_000 + i64::from(task)),
                        None,
                        None,
                    )
                    .await
                    .expect("revoke");
                newly += u32::from(outcome == RevokeOutcome::Revoked);
            }
            newly
        }));
    }
    let mut newly = 0;
    for task in tasks {
        newly += task.await.expect("task");
    }
    assert_eq!(newly, 10);
    let store = &pools[0];
    assert_eq!(
        store.revoked("issuer-race").await.expect("revoked").len(),
        10
    );
    assert_eq!(
        store.changes_since(base, 100).await.expect("changes").len(),
        10
    );
}

async fn revoked_in_serial_order(db: TestDb) {
    let s = db.open().await;
    let issuer = "issuer-order";
    let serials: [&[u8]; 7] = [
        &[0x02],
        &[0x01, 0x00],
        &[0xff],
        &[0x00, 0x80],
        &[0x01],
        &[0x01, 0x00, 0x00],
        &[0x7f, 0xff],
    ];
    for (i, serial) in (0..).zip(serials) {
        s.revoke(issuer, serial, at(1_700_000_000 + i), None, None)
            .await
            .expect("revoke");
    }
    s.record_issued(issuer, &[0x03], None)
        .await
        .expect("record");
    s.revoke("issuer-other", &[0x05], at(1), None, None)
        .await
        .expect("revoke");

    let got: Vec<Vec<u8>> = s
        .revoked(issuer)
        .await
        .expect("revoked")
        .into_iter()
        .map(|r| r.serial)
        .collect();
    let want: [&[u8]; 7] = [
        &[0x01],
        &[0x02],
        &[0x80],
        &[0xff],
        &[0x01, 0x00],
        &[0x7f, 0xff],
        &[0x01, 0x00, 0x00],
    ];
    assert_eq!(got, want);
    assert!(s.revoked("issuer-none").await.expect("revoked").is_empty());
}

async fn reasons_round_trip(db: TestDb) {
    let s = db.open().await;
    let issuer = "issuer-reasons";
    // removeFromCRL is refused as a revocation (RFC 5280 5.3.1), and nothing is written.
    let refused = s
        .revoke(
            issuer,
            &[0x7f],
            at(1_600_000_000),
            Some(CrlReason::RemoveFromCrl),
            None,
        )
        .await;
    assert!(
        matches!(refused, Err(StoreError::RemoveFromCrl { .. })),
        "{refused:?}"
    );
    assert_eq!(s.status(issuer, &[0x7f]).await.expect("status"), None);
    let reasons = CrlReason::ALL
        .into_iter()
        .filter(|r| *r != CrlReason::RemoveFromCrl)
        .map(Some)
        .chain([None]);
    let mut expected = Vec::new();
    for (i, reason) in (1..).zip(reasons) {
        let serial = [i];
        let time = 1_600_000_000 + i64::from(i);
        let invalidity = (i % 2 == 0).then_some(1_500_000_000 - i64::from(i));
        s.revoke(issuer, &serial, at(time), reason, invalidity.map(at))
            .await
            .expect("revoke");
        let want = record(issuer, &serial, None, revoked(time, reason, invalidity));
        let got = s.status(issuer, &serial).await.expect("status");
        assert_eq!(got.as_ref(), Some(&want), "reason {reason:?}");
        expected.push(want);
    }
    assert_eq!(s.revoked(issuer).await.expect("revoked"), expected);
    // A removeFromCRL revocation an earlier version stored is a released hold: left off CRLs
    // (build_crl would refuse it and no CRL could be made).
    db.execute(
        "INSERT INTO certs (issuer, serial, status, revocation_time, reason) \
         VALUES ('issuer-reasons', $1, 'R', 1600000000, 8)",
        &[0x7e],
    )
    .await;
    // The CRL snapshot reads the same entries, packed.
    let snapshot = s.crl_snapshot(issuer).await.expect("snapshot");
    let packed = gica_store::testing::revoked_rows(&snapshot.revoked);
    let want: Vec<_> = expected
        .iter()
        .map(|r| match &r.status {
            RecordStatus::Revoked {
                time,
                reason,
                invalidity_date,
            } => (r.serial.clone(), *time, *reason, *invalidity_date),
            RecordStatus::Valid => unreachable!("only revocations here"),
        })
        .collect();
    assert_eq!(packed, want);
}

async fn crl_numbers_increase(db: TestDb) {
    let s = db.open().await;
    let issuer = "issuer-crl";
    for want in 1..=3 {
        assert_eq!(s.next_crl_number(issuer).await.expect("number"), want);
    }
    assert_eq!(s.next_crl_number("issuer-crl-2").await.expect("number"), 1);

    // Across a restart, this time through AnyStore and the URL.
    drop(s);
    let s = AnyStore::connect(db.url()).await.expect("reconnect");
    assert_eq!(s.next_crl_number(issuer).await.expect("number"), 4);

    // Concurrent writers on two pools: every number handed out once, none skipped.
    let pools = [Arc::new(db.open().await), Arc::new(db.open().await)];
    let mut tasks = Vec::new();
    for task in 0..8 {
        let store = Arc::clone(&pools[task % 2]);
        tasks.push(tokio::spawn(async move {
            let mut mine = Vec::new();
            for _ in 0..25 {
                mine.push(store.next_crl_number("issuer-crl").await.expect("number"));
            }
            mine
        }));
    }
    let mut all = BTreeSet::new();
    for task in tasks {
        let mine = task.await.expect("task");
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
        for n in mine {
            assert!(all.insert(n), "CRL number {n} handed out twice");
        }
    }
    assert_eq!(all, (5..205).collect::<BTreeSet<u64>>());
    assert_eq!(s.next_crl_number(issuer).await.expect("number"), 205);
}

/// Concurrent revokers and CRL makers: a CRL with a higher number never lists fewer
/// revocations, and its time is never earlier (RFC 5280 5.2.3).
async fn crl_snapshots_agree_with_their_numbers(db: TestDb) {
    let issuer = "issuer-snap";
    let pools = [Arc::new(db.open().await), Arc::new(db.open().await)];
    let revoker = {
        let store = Arc::clone(&pools[0]);
        tokio::spawn(async move {
            for n in 1u16..=60 {
                store
                    .revoke(issuer, &n.to_be_bytes(), at(1_700_000_000), None, None)
                    .await
                    .expect("revoke");
            }
        })
    };
    let mut makers = Vec::new();
    for pool in &pools {
        let store = Arc::clone(pool);
        makers.push(tokio::spawn(async move {
            let mut seen = Vec::new();
            for _ in 0..15 {
                let snap = store.crl_snapshot(issuer).await.expect("snapshot");
                seen.push((snap.number, snap.revoked.len(), snap.at));
            }
            seen
        }));
    }
    revoker.await.expect("revoker");
    let mut all = Vec::new();
    for m in makers {
        all.extend(m.await.expect("maker"));
    }
    all.sort();
    for w in all.windows(2) {
        assert!(w[0].0 < w[1].0, "numbers are distinct: {w:?}");
        assert!(
            w[0].1 <= w[1].1,
            "CRL {} lists more than CRL {}: {w:?}",
            w[0].0,
            w[1].0
        );
        assert!(
            w[0].2 <= w[1].2,
            "CRL {} is dated after CRL {}",
            w[0].0,
            w[1].0
        );
    }
    let last = pools[0].crl_snapshot(issuer).await.expect("snapshot");
    assert_eq!(last.revoked.len(), 60);
}

async fn changes_in_order(db: TestDb) {
    let s = db.open().await;
    let base = last_seq(&s).await;
    let revocations: [(&str, &[u8]); 5] = [
        ("issuer-c1", &[0x05]),
        ("issuer-c2", &[0x01]),
        ("issuer-c1", &[0x03]),
        ("issuer-c2", &[0x09, 0x00]),
        ("issuer-c1", &[0x04]),
    ];
    for (issuer, serial) in revocations {
        s.revoke(issuer, serial, at(1_700_000_000), None, None)
            .await
            .expect("revoke");
    }
    // Neither a repeated revocation nor an issuance is a change.
    s.revoke("issuer-c1", &[0x05], at(1), None, None)
        .await
        .expect("revoke");
    s.record_issued("issuer-c1", &[0x06], None)
        .await
        .expect("record");

    let changes = s.changes_since(base, 100).await.expect("changes");
    let got: Vec<(&str, &[u8])> = changes
        .iter()
        .map(|c| (c.issuer.as_str(), c.serial.as_slice()))
        .collect();
    assert_eq!(got, revocations);
    assert!(changes.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(changes[0].seq > base);

    let first_two = s.changes_since(base, 2).await.expect("changes");
    assert_eq!(first_two[..], changes[..2]);
    let after_third = s.changes_since(changes[2].seq, 100).await.expect("changes");
    assert_eq!(after_third[..], changes[3..]);
    let last = changes.last().map(|c| c.seq).expect("changes");
    assert!(
        s.changes_since(last, 100)
            .await
            .expect("changes")
            .is_empty()
    );
    assert!(s.changes_since(base, 0).await.expect("changes").is_empty());
    assert!(s.changes_since(base, -1).await.expect("changes").is_empty());
}

async fn pruned_changes_keep_sequence_numbers(db: TestDb) {
    let s = db.open().await;
    for serial in [[0x01], [0x02]] {
        s.revoke("issuer-p", &serial, at(1_700_000_000), None, None)
            .await
            .expect("revoke");
    }
    let before = s.changes_since(0, 100).await.expect("changes");
    assert_eq!(before.len(), 2);
    // Entries recorded now are not older than an hour ago: nothing goes.
    let hour_ago = SystemTime::now() - std::time::Duration::from_secs(3600);
    assert_eq!(s.prune_changes(hour_ago).await.expect("prune"), 0);
    // Everything recorded up to now goes, the newest entry included.
    let later = SystemTime::now() + std::time::Duration::from_secs(2);
    assert_eq!(s.prune_changes(later).await.expect("prune"), 2);
    assert!(s.changes_since(0, 100).await.expect("changes").is_empty());
    // The next change still comes after everything a follower may have seen.
    s.revoke("issuer-p", &[0x03], at(1_700_000_000), None, None)
        .await
        .expect("revoke");
    let after = s.changes_since(0, 100).await.expect("changes");
    assert_eq!(after.len(), 1);
    assert!(after[0].seq > before[1].seq, "a sequence number was reused");
}

async fn published_crls_only_move_forward(db: TestDb) {
    let s = db.open().await;
    let issuer = "issuer-published";
    assert_eq!(s.published_crl(issuer).await.expect("read"), None);
    assert_eq!(s.published_crl_meta(issuer).await.expect("read"), None);
    let crl = |number: u64, byte: u8| PublishedCrl {
        number,
        this_update: at(1_700_000_000 + number as i64),
        next_update: at(1_700_086_400 + number as i64),
        der: vec![byte; 3],
    };
    assert!(s.publish_crl(issuer, &crl(5, 0xa5)).await.expect("publish"));
    // Lower or equal numbers never replace it.
    assert!(!s.publish_crl(issuer, &crl(4, 0xa4)).await.expect("publish"));
    assert!(!s.publish_crl(issuer, &crl(5, 0xff)).await.expect("publish"));
    assert_eq!(
        s.published_crl(issuer).await.expect("read"),
        Some(crl(5, 0xa5))
    );
    assert!(s.publish_crl(issuer, &crl(7, 0xa7)).await.expect("publish"));
    assert_eq!(
        s.published_crl_meta(issuer).await.expect("read"),
        Some(PublishedCrlMeta {
            number: 7,
            this_update: at(1_700_000_007),
            next_update: at(1_700_086_407),
        })
    );
    // Seen from another connection too, and per issuer.
    let other = db.open().await;
    assert_eq!(
        other.published_crl(issuer).await.expect("read"),
        Some(crl(7, 0xa7))
    );
    assert_eq!(
        other.published_crl("issuer-else").await.expect("read"),
        None
    );
}

async fn import_all_or_nothing(db: TestDb) {
    let s = db.open().await;
    let issuer = "issuer-import";
    s.record_issued(issuer, &[0x01], Some(at(2_000_000_000)))
        .await
        .expect("record");
    s.record_issued(issuer, &[0x02], Some(at(2_000_000_000)))
        .await
        .expect("record");
    s.revoke(
        issuer,
        &[0x03],
        at(1_700_000_000),
        Some(CrlReason::Superseded),
        None,
    )
    .await
    .expect("revoke");
    let base = last_seq(&s).await;

    let r = |secs, reason| revoked(secs, reason, None);
    let records = [
        // New, valid: imported.
        record(issuer, &[0x10], Some(2_100_000_000), RecordStatus::Valid),
        // New, revoked: imported, a change.
        record(
            issuer,
            &[0x11],
            Some(2_100_000_000),
            r(1_750_000_000, Some(CrlReason::KeyCompromise)),
        ),
        // Valid and already valid: skipped.
        record(issuer, &[0x01], Some(2_000_000_000), RecordStatus::Valid),
        // Revoked, valid in the store: imported (revokes it), a change.
        record(issuer, &[0x02], Some(2_000_000_000), r(1_760_000_000, None)),
        // Valid, revoked in the store: skipped, stays revoked.
        record(issuer, &[0x03], None, RecordStatus::Valid),
        // Revoked and already revoked: skipped, the first revocation stands.
        record(
            issuer,
            &[0x00, 0x03],
            None,
            r(1_770_000_000, Some(CrlReason::CaCompromise)),
        ),
    ];
    let summary = s.import(&records).await.expect("import");
    assert_eq!(
        summary,
        ImportSummary {
            imported: 3,
            skipped: 3,
            malformed: Vec::new()
        }
    );
    let status = async |serial: u8| {
        s.status(issuer, &[serial])
            .await
            .expect("status")
            .expect("a record")
            .status
    };
    assert_eq!(status(0x10).await, RecordStatus::Valid);
    assert_eq!(
        status(0x11).await,
        r(1_750_000_000, Some(CrlReason::KeyCompromise))
    );
    assert_eq!(status(0x01).await, RecordStatus::Valid);
    assert_eq!(status(0x02).await, r(1_760_000_000, None));
    assert_eq!(
        status(0x03).await,
        r(1_700_000_000, Some(CrlReason::Superseded))
    );
    let changes = s.changes_since(base, 100).await.expect("changes");
    let changed: Vec<_> = changes.iter().map(|c| c.serial.clone()).collect();
    assert_eq!(changed, [vec![0x11], vec![0x02]]);

    // The same again: all skipped.
    let summary = s.import(&records).await.expect("import");
    assert_eq!((summary.imported, summary.skipped), (0, 6));

    // A failure part way rolls everything back: the empty serial breaks the schema's rule.
    let failing = [
        record(issuer, &[0x20], None, RecordStatus::Valid),
        record(issuer, &[0x21], None, r(1_780_000_000, None)),
        record(issuer, &[0x01], None, r(1_780_000_000, None)),
        record(issuer, &[0x00], None, RecordStatus::Valid),
    ];
    let err = s.import(&failing).await.expect_err("an empty serial");
    assert!(matches!(err, StoreError::Database(_)), "{err}");
    assert_eq!(s.status(issuer, &[0x20]).await.expect("status"), None);
    assert_eq!(s.status(issuer, &[0x21]).await.expect("status"), None);
    assert_eq!(status(0x01).await, RecordStatus::Valid);
    let after: Vec<Change> = s.changes_since(base, 100).await.expect("changes");
    assert_eq!(after, changes);
    // The store still works after the rollback.
    assert_eq!(s.import(&failing[..3]).await.expect("import").imported, 3);
}

#[tokio::test]
async fn any_store_refuses_other_urls() {
    for url in ["mysql://user:secret@db/x", "sqlite", "/var/lib/gica.db"] {
        let err = AnyStore::connect(url).await.expect_err(url);
        assert!(matches!(err, StoreError::Url { .. }), "{err}");
        assert!(!err.to_string().contains("secret"), "{err}");
    }
}

#[tokio::test]
async fn sqlite_is_durable() {
    let dir = tempfile::tempdir().expect("temporary directory");
    let path = dir.path().join("store.db");
    let s = SqliteStore::connect(&format!("sqlite:{}", path.display()))
        .await
        .expect("create the file");
    assert!(path.exists());
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(s.pool())
        .await
        .expect("pragma");
    assert_eq!(mode, "wal");
    let (sync,): (i64,) = sqlx::query_as("PRAGMA synchronous")
        .fetch_one(s.pool())
        .await
        .expect("pragma");
    assert_eq!(sync, 2, "synchronous = FULL");
}

#[tokio::test]
async fn postgres_schema_names_are_checked() {
    let err = PgStore::connect_with_schema(DEFAULT_POSTGRES_URL, "x; DROP TABLE certs")
        .await
        .expect_err("not a plain name");
    assert!(err.to_string().contains("schema name"), "{err}");
}

/// Code generic over the store can spawn its calls: the futures are `Send`.
#[allow(dead_code)]
fn store_futures_are_send<S: RevocationStore + 'static>(store: Arc<S>) {
    tokio::spawn(async move { store.status("i", &[1]).await });
}
