//! The exchange store on SQLite and PostgreSQL: connections, the duplicate guard, state
//! changes through the transition table, and the audit chain.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use gica_exchange::Bus;
use gica_exchange::request::{Action, RequestKind, State};
use gica_exchange::store::{
    ChainError, ConnectionStatus, Details, ExchangeStoreError, Store, verify_chain,
};
use gica_store::Db;
use gica_store::testing::TestDb;

async fn store(db: &TestDb) -> Store {
    let store = Store::open(Db::connect(db.url()).await.unwrap())
        .await
        .unwrap();
    assert!(store.add_agency("post", "Iran Post", 1).await.unwrap());
    assert!(
        !store.add_agency("post", "again", 2).await.unwrap(),
        "adding twice changes nothing"
    );
    store
}

fn details(system: &str, service: &str) -> Details {
    Details {
        bus: Some(Bus::Gsb),
        system: Some(system.into()),
        service: Some(service.into()),
        contact_email: Some("ops@post.ir".into()),
        ..Details::default()
    }
}

async fn connections_decide_step_four(db: TestDb) {
    let s = store(&db).await;
    assert_eq!(s.active_buses("post").await.unwrap(), vec![]);
    s.set_connection("post", Bus::Both, ConnectionStatus::Pending, 3)
        .await
        .unwrap();
    assert_eq!(s.active_buses("post").await.unwrap(), vec![]);
    s.set_connection("post", Bus::Gsb, ConnectionStatus::Active, 4)
        .await
        .unwrap();
    assert_eq!(s.active_buses("post").await.unwrap(), vec![Bus::Gsb]);
    s.set_connection("post", Bus::Pgsb, ConnectionStatus::Active, 5)
        .await
        .unwrap();
    assert_eq!(
        s.active_buses("post").await.unwrap(),
        vec![Bus::Gsb, Bus::Pgsb]
    );
    s.set_connection("post", Bus::Gsb, ConnectionStatus::Suspended, 6)
        .await
        .unwrap();
    assert_eq!(s.active_buses("post").await.unwrap(), vec![Bus::Pgsb]);
    let e = s
        .set_connection("nobody", Bus::Gsb, ConnectionStatus::Active, 7)
        .await
        .unwrap_err();
    assert!(
        matches!(e, ExchangeStoreError::NoAgency { ref id } if id == "nobody"),
        "{e}"
    );
}

async fn a_request_walks_the_steps_and_its_audit_chain_verifies(db: TestDb) {
    let s = store(&db).await;
    let id = s
        .create_request(RequestKind::New, "post", "portal:post", 10)
        .await
        .unwrap();
    assert_eq!(
        s.apply(&id, Action::ConnectionMissing, "system", 11, None, None)
            .await
            .unwrap(),
        State::ConnectionRequired
    );
    assert_eq!(
        s.apply(&id, Action::ConnectionEstablished, "system", 12, None, None)
            .await
            .unwrap(),
        State::Draft
    );
    let scan = s.put_scan(b"%PDF-1.7 letter", 13).await.unwrap();
    assert_eq!(
        s.put_scan(b"%PDF-1.7 letter", 13).await.unwrap(),
        scan,
        "stored once by its hash"
    );
    assert!(matches!(
        s.put_scan(b"GIF89a", 13).await,
        Err(ExchangeStoreError::ScanType)
    ));
    let d = Details {
        permit_scan: Some(scan),
        permit_number: Some("1402/1".into()),
        ..details("sys", "inbox.submit")
    };
    assert_eq!(
        s.apply(&id, Action::EnterDetails, "portal:post", 14, Some(&d), None)
            .await
            .unwrap(),
        State::DetailsEntered
    );
    assert_eq!(
        s.apply(&id, Action::ReportDeficiencies, "system", 15, None, None)
            .await
            .unwrap(),
        State::DeficienciesReported
    );
    // Changing one field keeps the others.
    let fix = Details {
        contact_email: Some("noc@post.ir".into()),
        ..Details::default()
    };
    s.apply(
        &id,
        Action::EnterDetails,
        "portal:post",
        16,
        Some(&fix),
        None,
    )
    .await
    .unwrap();
    let row = s.request(&id).await.unwrap().unwrap();
    assert_eq!(row.details.contact_email.as_deref(), Some("noc@post.ir"));
    assert_eq!(row.details.permit_scan, Some(scan));
    assert_eq!(row.details.system.as_deref(), Some("sys"));
    s.apply(&id, Action::Submit, "portal:post", 17, None, None)
        .await
        .unwrap();
    // Illegal moves are refused naming the state, and change nothing.
    let e = s
        .apply(&id, Action::Approve, "expert:a", 18, None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, ExchangeStoreError::Illegal(ref m) if m.state == State::Submitted),
        "{e}"
    );
    s.apply(&id, Action::Claim, "expert:a", 19, None, None)
        .await
        .unwrap();
    assert_eq!(
        s.request(&id).await.unwrap().unwrap().certificate,
        None,
        "nothing granted while pending"
    );
    s.apply(
        &id,
        Action::Approve,
        "expert:a",
        20,
        None,
        Some(b"cert-der"),
    )
    .await
    .unwrap();
    let row = s.request(&id).await.unwrap().unwrap();
    assert_eq!(row.state, State::Approved);
    assert_eq!(row.certificate.as_deref(), Some(&b"cert-der"[..]));

    let audit = s.audit(&id).await.unwrap();
    let trail: Vec<(Option<State>, State, &str)> = audit
        .iter()
        .map(|r| (r.from, r.to, r.action.as_str()))
        .collect();
    assert_eq!(trail.len(), 9, "{trail:?}");
    assert_eq!(trail[0], (None, State::Draft, "create"));
    assert_eq!(
        trail[8],
        (Some(State::UnderReview), State::Approved, "approve")
    );
    assert_eq!(audit[8].actor, "expert:a");
    verify_chain(&audit).unwrap();

    // Tampering is detected: a changed field, a removed record, a re-hashed change.
    let mut changed = audit.clone();
    changed[4].actor = "someone else".into();
    assert_eq!(verify_chain(&changed), Err(ChainError::Tampered { seq: 4 }));
    let mut removed = audit.clone();
    removed.remove(3);
    assert_eq!(verify_chain(&removed), Err(ChainError::Broken { seq: 4 }));
    let mut rehashed = audit.clone();
    rehashed[5].at = 99;
    rehashed[5].hash = rehashed[5].compute_hash();
    assert_eq!(verify_chain(&rehashed), Err(ChainError::Broken { seq: 6 }));

    // Details only with enter-details, a certificate only with approve, lengths bounded.
    let other = s
        .create_request(RequestKind::New, "post", "p", 30)
        .await
        .unwrap();
    let e = s
        .apply(
            &other,
            Action::ConnectionMissing,
            "p",
            31,
            Some(&details("x", "y")),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ExchangeStoreError::NotTaken {
                action: Action::ConnectionMissing,
                ..
            }
        ),
        "{e}"
    );
    let e = s
        .apply(&other, Action::EnterDetails, "p", 31, None, Some(b"c"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ExchangeStoreError::NotTaken {
                action: Action::EnterDetails,
                ..
            }
        ),
        "{e}"
    );
    let long = details(&"s".repeat(1025), "y");
    let e = s
        .apply(&other, Action::EnterDetails, "p", 31, Some(&long), None)
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ExchangeStoreError::TooLong {
                field: "system",
                len: 1025,
                ..
            }
        ),
        "{e}"
    );
    let big_scan = [
        b"%PDF-".to_vec(),
        vec![0; gica_exchange::check::MAX_SCAN_BYTES],
    ]
    .concat();
    assert!(matches!(
        s.put_scan(&big_scan, 1).await,
        Err(ExchangeStoreError::ScanTooLarge { .. })
    ));
    assert_eq!(
        s.request(&other).await.unwrap().unwrap().state,
        State::Draft
    );

    // A record changed in the database is found by the chain.
    db.execute("UPDATE ex_audit SET prev_hash = $1 WHERE seq = 3", &[0; 32])
        .await;
    assert_eq!(
        verify_chain(&s.audit(&id).await.unwrap()),
        Err(ChainError::Tampered { seq: 3 })
    );
    let e = s
        .apply(&other, Action::Withdraw, &"a".repeat(257), 40, None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, ExchangeStoreError::TooLong { field: "actor", .. }),
        "{e}"
    );

    let e = s
        .apply("no-such", Action::Submit, "x", 1, None, None)
        .await
        .unwrap_err();
    assert!(matches!(e, ExchangeStoreError::NoRequest { .. }), "{e}");
    let e = s
        .create_request(RequestKind::New, "nobody", "x", 1)
        .await
        .unwrap_err();
    assert!(matches!(e, ExchangeStoreError::NoAgency { .. }), "{e}");
}

async fn a_second_open_request_is_refused(db: TestDb) {
    let s = store(&db).await;
    let first = s
        .create_request(RequestKind::New, "post", "p", 1)
        .await
        .unwrap();
    s.apply(
        &first,
        Action::EnterDetails,
        "p",
        2,
        Some(&details("sys", "inbox.submit")),
        None,
    )
    .await
    .unwrap();
    let second = s
        .create_request(RequestKind::New, "post", "p", 3)
        .await
        .unwrap();
    let e = s
        .apply(
            &second,
            Action::EnterDetails,
            "p",
            4,
            Some(&details("sys", "inbox.submit")),
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(e, ExchangeStoreError::Duplicate { ref agency, ref system, ref service } if agency == "post" && system == "sys" && service == "inbox.submit"),
        "{e}"
    );
    assert_eq!(
        s.request(&second).await.unwrap().unwrap().state,
        State::Draft,
        "refused move left no trace"
    );
    assert_eq!(s.audit(&second).await.unwrap().len(), 1);
    // Another system or service is not a duplicate.
    s.apply(
        &second,
        Action::EnterDetails,
        "p",
        5,
        Some(&details("sys2", "inbox.submit")),
        None,
    )
    .await
    .unwrap();
    // Once the first closes, the same triple may be requested again.
    s.apply(&first, Action::Withdraw, "p", 6, None, None)
        .await
        .unwrap();
    let third = s
        .create_request(RequestKind::New, "post", "p", 7)
        .await
        .unwrap();
    s.apply(
        &third,
        Action::EnterDetails,
        "p",
        8,
        Some(&details("sys", "inbox.submit")),
        None,
    )
    .await
    .unwrap();
    // An approved request closes too.
    for (a, actor) in [
        (Action::Submit, "p"),
        (Action::Claim, "e"),
        (Action::Approve, "e"),
    ] {
        s.apply(&third, a, actor, 9, None, None).await.unwrap();
    }
    let renewal = s
        .create_request(RequestKind::Renewal, "post", "p", 10)
        .await
        .unwrap();
    s.apply(
        &renewal,
        Action::EnterDetails,
        "p",
        11,
        Some(&details("sys", "inbox.submit")),
        None,
    )
    .await
    .unwrap();
    let fresh = s
        .create_request(RequestKind::Renewal, "post", "p", 12)
        .await
        .unwrap();
    let e = s
        .apply(&fresh, Action::ConnectionMissing, "p", 12, None, None)
        .await
        .unwrap_err();
    assert!(
        matches!(e, ExchangeStoreError::Illegal(m) if m.kind == RequestKind::Renewal),
        "{e}"
    );
}

/// Racing requests for the same triple: the constraint lets exactly one through.
async fn racing_duplicates_one_wins(db: TestDb) {
    let s = store(&db).await;
    let mut ids = Vec::new();
    for i in 0..8 {
        ids.push(
            s.create_request(RequestKind::New, "post", "p", i)
                .await
                .unwrap(),
        );
    }
    let tasks: Vec<_> = ids
        .into_iter()
        .map(|id| {
            let s = s.clone();
            tokio::spawn(async move {
                s.apply(
                    &id,
                    Action::EnterDetails,
                    "p",
                    20,
                    Some(&details("sys", "svc")),
                    None,
                )
                .await
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => won += 1,
            Err(ExchangeStoreError::Duplicate { .. }) => {}
            Err(e) => panic!("{e}"),
        }
    }
    assert_eq!(won, 1);
}

gica_store::backend_suite!(
    racing_duplicates_one_wins,
    connections_decide_step_four,
    a_request_walks_the_steps_and_its_audit_chain_verifies,
    a_second_open_request_is_refused,
);
