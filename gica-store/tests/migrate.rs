//! The migration runner, on SQLite and PostgreSQL: each migration once, in order, in its own
//! transaction; concurrent runners; and a database made before migrations were recorded.

use std::time::{Duration, UNIX_EPOCH};

use gica_pki::CrlReason;
use gica_store::revocation::{AnyStore, MIGRATIONS, RevocationWriter, StatusSource};
use gica_store::testing::TestDb;
use gica_store::{Component, Db, Migration, StoreError};

gica_store::backend_suite!(
    applies_each_migration_once,
    conflicting_names_are_refused,
    failed_migration_changes_nothing,
    concurrent_runners_take_turns,
    components_keep_their_own_versions,
    upgrades_a_database_made_before_migrations,
);

const fn migration(version: i64, name: &'static str, sql: &'static [&'static str]) -> Migration {
    Migration {
        version,
        name,
        sqlite: sql,
        postgres: sql,
    }
}

const NOTES: Component = Component {
    name: "notes",
    migrations: &[
        migration(
            1,
            "notes",
            &["CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT)"],
        ),
        migration(2, "notes.at", &["ALTER TABLE notes ADD COLUMN at BIGINT"]),
    ],
};

async fn raw(db: &Db, sql: &str) -> Result<(), sqlx::Error> {
    match db {
        Db::Sqlite(pool) => sqlx::query(sql).execute(pool).await.map(drop),
        Db::Postgres(pool) => sqlx::query(sql).execute(pool).await.map(drop),
    }
}

async fn count(db: &Db, sql: &str) -> i64 {
    match db {
        Db::Sqlite(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
        Db::Postgres(pool) => sqlx::query_scalar(sql).fetch_one(pool).await,
    }
    .expect(sql)
}

async fn applies_each_migration_once(db: TestDb) {
    let pool = db.connect().await;
    assert_eq!(pool.migrate(&NOTES).await.expect("migrate"), 2);
    assert_eq!(pool.migrate(&NOTES).await.expect("again"), 0);
    raw(&pool, "INSERT INTO notes (id, body, at) VALUES (1, 'x', 5)")
        .await
        .expect("the table has both migrations");
    let applied = pool.applied("notes").await.expect("applied");
    assert_eq!(
        applied,
        vec![(1, "notes".to_owned()), (2, "notes.at".to_owned())]
    );
    // A newer program's list, migrated by an older one: the extra version is left alone.
    const OLDER: Component = Component {
        name: "notes",
        migrations: &[migration(
            1,
            "notes",
            &["CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT)"],
        )],
    };
    assert_eq!(pool.migrate(&OLDER).await.expect("older program"), 0);
}

async fn conflicting_names_are_refused(db: TestDb) {
    let pool = db.connect().await;
    pool.migrate(&NOTES).await.expect("migrate");
    const CHANGED: Component = Component {
        name: "notes",
        migrations: &[migration(1, "notes, rewritten", &["SELECT 1"])],
    };
    let err = pool.migrate(&CHANGED).await.expect_err("another name");
    match err {
        StoreError::MigrationConflict {
            component,
            version,
            expected,
            found,
        } => assert_eq!(
            (
                component.as_str(),
                version,
                expected.as_str(),
                found.as_str()
            ),
            ("notes", 1, "notes, rewritten", "notes")
        ),
        other => panic!("{other}"),
    }
}

async fn failed_migration_changes_nothing(db: TestDb) {
    const BROKEN: Component = Component {
        name: "broken",
        migrations: &[
            migration(1, "one", &["CREATE TABLE one (id BIGINT)"]),
            migration(
                2,
                "two",
                &[
                    "CREATE TABLE two (id BIGINT)",
                    "CREATE TABLE one (id BIGINT)",
                ],
            ),
        ],
    };
    let pool = db.connect().await;
    let err = pool.migrate(&BROKEN).await.expect_err("table one exists");
    assert!(matches!(err, StoreError::Database(_)), "{err}");
    assert_eq!(
        pool.applied("broken").await.expect("applied"),
        vec![(1, "one".to_owned())]
    );
    // Migration 2 rolled back whole: its first table is not there.
    assert!(raw(&pool, "SELECT id FROM two").await.is_err());
    raw(&pool, "SELECT id FROM one")
        .await
        .expect("migration 1 stays");
}

async fn concurrent_runners_take_turns(db: TestDb) {
    // Opened one after the other: switching a new SQLite file to WAL is not what this
    // checks (and can report "locked" when pools race to do it).
    let mut pools = Vec::new();
    for _ in 0..4 {
        pools.push(db.connect().await);
    }
    let runs = pools.iter().map(|pool| async move {
        let notes = pool.migrate(&NOTES).await?;
        let revocation = pool.migrate(&MIGRATIONS).await?;
        Ok::<_, StoreError>(notes + revocation)
    });
    let applied: Vec<usize> = futures_util::future::try_join_all(runs)
        .await
        .expect("every runner succeeds");
    assert_eq!(
        applied.iter().sum::<usize>(),
        NOTES.migrations.len() + MIGRATIONS.migrations.len(),
        "each migration applied once: {applied:?}"
    );
}

async fn components_keep_their_own_versions(db: TestDb) {
    let pool = db.connect().await;
    pool.migrate(&NOTES).await.expect("notes");
    pool.migrate(&MIGRATIONS).await.expect("revocation");
    assert_eq!(pool.applied("notes").await.expect("notes").len(), 2);
    let revocation = pool.applied("revocation").await.expect("revocation");
    let versions: Vec<i64> = revocation.iter().map(|(v, _)| *v).collect();
    assert_eq!(versions, [1, 2]);
}

/// What gica-ocsp-server 0.1 created (`CREATE TABLE IF NOT EXISTS`, no migration records),
/// written by that code's SQL, with data: the store opens it, keeps every row, and goes on
/// numbering CRLs after the last one.
async fn upgrades_a_database_made_before_migrations(db: TestDb) {
    let old = db.connect().await;
    let (blob, certs_pk) = match old.backend() {
        gica_store::Backend::Sqlite => ("BLOB", ") WITHOUT ROWID"),
        _ => ("BYTEA", ")"),
    };
    let seq = match old.backend() {
        gica_store::Backend::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
        _ => "BIGSERIAL PRIMARY KEY",
    };
    let schema = [
        format!(
            "CREATE TABLE IF NOT EXISTS certs (issuer TEXT NOT NULL CHECK (issuer <> ''), \
             serial {blob} NOT NULL CHECK (length(serial) BETWEEN 1 AND 64), not_after BIGINT, \
             status TEXT NOT NULL CHECK (status IN ('V', 'R')), revocation_time BIGINT, \
             reason SMALLINT, invalidity_date BIGINT, PRIMARY KEY (issuer, serial), \
             CHECK ((status = 'R') = (revocation_time IS NOT NULL)){certs_pk}"
        ),
        "CREATE INDEX IF NOT EXISTS certs_revoked ON certs (issuer) WHERE status = 'R'".into(),
        "CREATE TABLE IF NOT EXISTS crl_numbers (issuer TEXT PRIMARY KEY, \
         last_number BIGINT NOT NULL)"
            .into(),
        format!(
            "CREATE TABLE IF NOT EXISTS crls (issuer TEXT PRIMARY KEY, number BIGINT NOT NULL, \
             this_update BIGINT NOT NULL, next_update BIGINT NOT NULL, der {blob} NOT NULL)"
        ),
        format!(
            "CREATE TABLE IF NOT EXISTS changes (seq {seq}, issuer TEXT NOT NULL, \
             serial {blob} NOT NULL, recorded_at BIGINT NOT NULL)"
        ),
        "INSERT INTO certs VALUES ('old', X'0102', 1900000000, 'V', NULL, NULL, NULL)".into(),
        "INSERT INTO certs VALUES ('old', X'03', NULL, 'R', 1700000000, 1, 1690000000)".into(),
        "INSERT INTO crl_numbers VALUES ('old', 41)".into(),
        "INSERT INTO crls VALUES ('old', 41, 1700000000, 1700086400, X'3000')".into(),
        "INSERT INTO changes (issuer, serial, recorded_at) VALUES ('old', X'03', 1700000000)"
            .into(),
    ];
    for statement in &schema {
        let statement = match old.backend() {
            // PostgreSQL spells a bytea literal '\x..'.
            gica_store::Backend::Postgres => statement
                .replace("X'0102'", "'\\x0102'")
                .replace("X'03'", "'\\x03'")
                .replace("X'3000'", "'\\x3000'"),
            _ => statement.clone(),
        };
        raw(&old, &statement).await.expect(&statement);
    }
    old.close().await;

    let store = AnyStore::connect(db.url())
        .await
        .expect("open the old database");
    let pool = store.db();
    assert_eq!(pool.applied("revocation").await.expect("applied").len(), 2);
    let at = |secs| UNIX_EPOCH + Duration::from_secs(secs);
    let valid = store.status("old", &[1, 2]).await.expect("status");
    assert_eq!(valid.map(|r| r.not_after), Some(Some(at(1_900_000_000))));
    let snapshot = store.crl_snapshot("old").await.expect("snapshot");
    assert_eq!(snapshot.number, 42, "numbering goes on after the old CRLs");
    let entries = gica_store::testing::revoked_rows(&snapshot.revoked);
    assert_eq!(
        entries,
        vec![(
            vec![3],
            at(1_700_000_000),
            Some(CrlReason::KeyCompromise),
            Some(at(1_690_000_000))
        )]
    );
    let published = store.published_crl("old").await.expect("published");
    assert_eq!(
        published.map(|c| (c.number, c.der)),
        Some((41, vec![0x30, 0x00]))
    );
    let changes = store.changes_since(0, 10).await.expect("changes");
    assert_eq!(changes.len(), 1);
    // The old index gave way to the CRL index.
    let indexes = match &pool {
        Db::Sqlite(_) => {
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'certs_crl'"
        }
        Db::Postgres(_) => {
            "SELECT count(*) FROM pg_indexes WHERE indexname = 'certs_crl' \
              AND schemaname = current_schema()"
        }
    };
    assert_eq!(count(&pool, indexes).await, 1);
    // Revoking still works, and the log goes on after the old seq.
    store
        .revoke("old", &[1, 2], at(1_800_000_000), None, None)
        .await
        .expect("revoke");
    let changes = store.changes_since(0, 10).await.expect("changes");
    assert_eq!(changes.iter().map(|c| c.seq).collect::<Vec<_>>(), [1, 2]);
}
