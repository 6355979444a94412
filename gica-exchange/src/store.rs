//! The exchange's tables, through gica-store: SQLite by default, PostgreSQL for several
//! instances. One transaction per state change; a second open request for the same agency,
//! system and service is refused by a unique constraint (`open_key`, set to NULL when the
//! request closes), never by a check followed by an insert.
//!
//! Every transition appends an audit record chained by hash to the request's previous one
//! ([`verify_chain`] finds a tampered or missing record).

use sha2::{Digest, Sha256};
use sqlx::Row as _;

use gica_store::{Component, Db, Migration, StoreError};

use crate::catalogue::Bus;
use crate::check::scan_type;
use crate::request::{Action, IllegalMove, RequestKind, State, transition};

/// The exchange's first schema, written once for both backends: `$blob` is `BLOB` or
/// `BYTEA`.
macro_rules! schema_v1 {
    ($blob:literal) => {
        &[
            "CREATE TABLE ex_agencies (
                id TEXT PRIMARY KEY CHECK (id <> ''),
                name TEXT NOT NULL,
                created_at BIGINT NOT NULL
            )",
            "CREATE TABLE ex_connections (
                agency TEXT NOT NULL REFERENCES ex_agencies (id),
                bus TEXT NOT NULL CHECK (bus IN ('gsb', 'pgsb')),
                status TEXT NOT NULL CHECK (status IN ('pending', 'active', 'suspended')),
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (agency, bus)
            )",
            concat!(
                "CREATE TABLE ex_scans (
                sha256 ",
                $blob,
                " PRIMARY KEY CHECK (length(sha256) = 32),
                media_type TEXT NOT NULL,
                content ",
                $blob,
                " NOT NULL,
                created_at BIGINT NOT NULL
            )"
            ),
            // open_key: SHA-256 of (agency, system, service) while the request is open and
            // names both, else NULL; UNIQUE allows any number of NULLs on both backends.
            concat!(
                "CREATE TABLE ex_requests (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL CHECK (kind IN ('new', 'renewal')),
                agency TEXT NOT NULL REFERENCES ex_agencies (id),
                state TEXT NOT NULL,
                bus TEXT CHECK (bus IN ('gsb', 'pgsb', 'both')),
                system TEXT,
                service TEXT,
                csr ",
                $blob,
                ",
                permit_number TEXT,
                permit_scan ",
                $blob,
                " REFERENCES ex_scans (sha256),
                contact_email TEXT,
                open_key ",
                $blob,
                " UNIQUE,
                certificate ",
                $blob,
                ",
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )"
            ),
            "CREATE INDEX ex_requests_agency ON ex_requests (agency)",
            "CREATE INDEX ex_requests_state ON ex_requests (state)",
            concat!(
                "CREATE TABLE ex_audit (
                request TEXT NOT NULL REFERENCES ex_requests (id),
                seq BIGINT NOT NULL CHECK (seq >= 0),
                actor TEXT NOT NULL,
                at BIGINT NOT NULL,
                action TEXT NOT NULL,
                from_state TEXT,
                to_state TEXT NOT NULL,
                prev_hash ",
                $blob,
                " NOT NULL CHECK (length(prev_hash) = 32),
                hash ",
                $blob,
                " NOT NULL CHECK (length(hash) = 32),
                PRIMARY KEY (request, seq)
            )"
            ),
        ]
    };
}

/// The exchange's migrations (component `exchange`).
pub const MIGRATIONS: Component = Component {
    name: "exchange",
    migrations: &[Migration {
        version: 1,
        name: "agencies, connections, scans, requests, audit",
        sqlite: schema_v1!("BLOB"),
        postgres: schema_v1!("BYTEA"),
    }],
};

use gica_store::on_pool;

/// Why a store operation was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExchangeStoreError {
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The state machine does not allow the move.
    #[error(transparent)]
    Illegal(#[from] IllegalMove),
    /// No such request.
    #[error("no request {id:?}")]
    NoRequest {
        /// The id asked for.
        id: String,
    },
    /// The agency does not exist.
    #[error("no agency {id:?}")]
    NoAgency {
        /// The id asked for.
        id: String,
    },
    /// Another open request exists for the same agency, system and service.
    #[error(
        "agency {agency:?} already has an open request for system {system:?} and service {service:?}"
    )]
    Duplicate {
        /// The agency.
        agency: String,
        /// The system.
        system: String,
        /// The service.
        service: String,
    },
    /// A permit scan that is not PDF, PNG or JPEG.
    #[error("permit scan is not a PDF, PNG or JPEG file")]
    ScanType,
    /// A permit scan larger than [`crate::check::MAX_SCAN_BYTES`].
    #[error("permit scan is {len} bytes, at most {max} allowed")]
    ScanTooLarge {
        /// Its size.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A field longer than the store keeps.
    #[error("{field} is {len} bytes, at most {max} allowed")]
    TooLong {
        /// Which field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// Details or a certificate given with an action that does not take them (details only
    /// with enter-details, a certificate only with approve).
    #[error("{action} does not take {what}")]
    NotTaken {
        /// The action.
        action: Action,
        /// `details` or `a certificate`.
        what: &'static str,
    },
}

/// Longest value of each text field the store keeps, in bytes (generous: the completeness
/// check applies the real rules; this only bounds what is written).
const FIELD_LIMITS: [(&str, usize); 4] = [
    ("system", 1024),
    ("service", 1024),
    ("permit_number", 256),
    ("contact_email", 1024),
];
/// Longest actor name in an audit record, in bytes.
pub const MAX_ACTOR_BYTES: usize = 256;

fn check_actor(actor: &str) -> Result<(), ExchangeStoreError> {
    if actor.len() > MAX_ACTOR_BYTES {
        return Err(ExchangeStoreError::TooLong {
            field: "actor",
            len: actor.len(),
            max: MAX_ACTOR_BYTES,
        });
    }
    Ok(())
}

/// Largest certificate stored with an approval.
pub const MAX_CERTIFICATE_BYTES: usize = 64 * 1024;

fn check_lengths(d: &Details) -> Result<(), ExchangeStoreError> {
    let fields = [&d.system, &d.service, &d.permit_number, &d.contact_email];
    for ((field, max), value) in FIELD_LIMITS.iter().zip(fields) {
        if let Some(v) = value
            && v.len() > *max
        {
            return Err(ExchangeStoreError::TooLong {
                field,
                len: v.len(),
                max: *max,
            });
        }
    }
    if let Some(csr) = &d.csr
        && csr.len() > crate::check::MAX_CSR_BYTES
    {
        return Err(ExchangeStoreError::TooLong {
            field: "csr",
            len: csr.len(),
            max: crate::check::MAX_CSR_BYTES,
        });
    }
    Ok(())
}

impl From<sqlx::Error> for ExchangeStoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(StoreError::from(e))
    }
}

/// A connection's status.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectionStatus {
    /// Applied for, not yet usable.
    Pending,
    /// Usable: step 4 passes.
    Active,
    /// Suspended by the bus operator.
    Suspended,
}

impl ConnectionStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Active => "active",
            Self::Suspended => "suspended",
        }
    }
}

/// What the agency entered; `None` leaves a field as it was.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Details {
    /// The bus.
    pub bus: Option<Bus>,
    /// The consuming system.
    pub system: Option<String>,
    /// Its PKCS#10 request, DER.
    pub csr: Option<Vec<u8>>,
    /// Permit letter number.
    pub permit_number: Option<String>,
    /// SHA-256 of the permit scan, stored before with [`Store::put_scan`].
    pub permit_scan: Option<[u8; 32]>,
    /// The service id.
    pub service: Option<String>,
    /// Technical contact's e-mail.
    pub contact_email: Option<String>,
}

/// A request as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestRow {
    /// Its id.
    pub id: String,
    /// New or renewal.
    pub kind: RequestKind,
    /// The agency.
    pub agency: String,
    /// Where it is.
    pub state: State,
    /// What was entered.
    pub details: Details,
    /// The issued certificate (DER), once approved.
    pub certificate: Option<Vec<u8>>,
}

/// One audit record: a transition, chained to the request's previous record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditRecord {
    /// The request.
    pub request: String,
    /// 0 for the creation, then one more per transition.
    pub seq: i64,
    /// Who did it (an API key's name, `expert:...`, `system`).
    pub actor: String,
    /// When (Unix seconds).
    pub at: i64,
    /// What was done (`create` for the first record, else an [`Action`] name).
    pub action: String,
    /// The state before (`None` for the creation).
    pub from: Option<State>,
    /// The state after.
    pub to: State,
    /// The previous record's hash (zeros for the first).
    pub prev_hash: [u8; 32],
    /// This record's hash: [`AuditRecord::compute_hash`].
    pub hash: [u8; 32],
}

impl AuditRecord {
    /// SHA-256 over every field but `hash`, each length-prefixed so no two records encode
    /// alike.
    pub fn compute_hash(&self) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"gica-exchange audit v1");
        let from = self.from.map(State::as_str).unwrap_or("");
        for part in [
            self.request.as_bytes(),
            &self.seq.to_be_bytes(),
            self.actor.as_bytes(),
            &self.at.to_be_bytes(),
            self.action.as_bytes(),
            from.as_bytes(),
            self.to.as_str().as_bytes(),
            &self.prev_hash,
        ] {
            h.update((part.len() as u64).to_be_bytes());
            h.update(part);
        }
        h.finalize().into()
    }
}

/// Where an audit chain breaks.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// Record `seq` does not hash to its stored hash: it was changed.
    #[error("audit record {seq} does not match its hash")]
    Tampered {
        /// The record.
        seq: i64,
    },
    /// Record `seq` does not follow the record before it (one removed, reordered or
    /// replaced).
    #[error("audit record {seq} does not follow the record before it")]
    Broken {
        /// The record.
        seq: i64,
    },
}

/// Checks a request's audit records, oldest first: numbered from 0, each hash right, each
/// linked to the one before, and the states following each other.
pub fn verify_chain(records: &[AuditRecord]) -> Result<(), ChainError> {
    let mut prev: Option<&AuditRecord> = None;
    for (i, r) in records.iter().enumerate() {
        if r.compute_hash() != r.hash {
            return Err(ChainError::Tampered { seq: r.seq });
        }
        let linked = match prev {
            None => r.seq == 0 && r.prev_hash == [0; 32] && r.from.is_none(),
            Some(p) => {
                r.seq == p.seq + 1
                    && r.prev_hash == p.hash
                    && r.from == Some(p.to)
                    && r.request == p.request
            }
        };
        if !linked || i64::try_from(i).ok() != Some(r.seq) {
            return Err(ChainError::Broken { seq: r.seq });
        }
        prev = Some(r);
    }
    Ok(())
}

/// The exchange's database.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
}

fn open_key(agency: &str, system: &str, service: &str) -> Vec<u8> {
    let mut h = Sha256::new();
    for part in [agency, system, service] {
        h.update((part.len() as u64).to_be_bytes());
        h.update(part.as_bytes());
    }
    h.finalize().to_vec()
}

fn new_id() -> Result<String, StoreError> {
    let mut b = [0u8; 16];
    getrandom::fill(&mut b).map_err(|e| StoreError::corrupt("random id", e))?;
    Ok(hex::encode(b))
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn is_fk_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_foreign_key_violation())
}

fn hash32(v: Vec<u8>, column: &'static str) -> Result<[u8; 32], StoreError> {
    <[u8; 32]>::try_from(v.as_slice()).map_err(|_| StoreError::corrupt(column, hex::encode(&v)))
}

const REQUEST_COLUMNS: &str = "id, kind, agency, state, bus, system, service, csr, permit_number, permit_scan, contact_email, certificate";

impl Store {
    /// The exchange's tables in `db`, after applying [`MIGRATIONS`].
    pub async fn open(db: Db) -> Result<Self, StoreError> {
        db.migrate(&MIGRATIONS).await?;
        Ok(Self { db })
    }

    /// The database, to share with the revocation store.
    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Adds an agency; adding it again changes nothing. Returns whether it was new.
    pub async fn add_agency(&self, id: &str, name: &str, now: i64) -> Result<bool, StoreError> {
        const SQL: &str = "INSERT INTO ex_agencies (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (id) DO NOTHING";
        on_pool!(&self.db, |pool, begin| {
            let n = sqlx::query(SQL)
                .bind(id)
                .bind(name)
                .bind(now)
                .execute(pool)
                .await?;
            Ok(n.rows_affected() == 1)
        })
    }

    /// Sets the status of an agency's connection to one bus (`bus` must be GSB or PGSB;
    /// `Both` sets both).
    pub async fn set_connection(
        &self,
        agency: &str,
        bus: Bus,
        status: ConnectionStatus,
        now: i64,
    ) -> Result<(), ExchangeStoreError> {
        const SQL: &str = "INSERT INTO ex_connections (agency, bus, status, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (agency, bus) DO UPDATE SET status = excluded.status, updated_at = excluded.updated_at";
        for part in bus.parts() {
            let r = on_pool!(&self.db, |pool, begin| {
                sqlx::query(SQL)
                    .bind(agency)
                    .bind(part.as_str())
                    .bind(status.as_str())
                    .bind(now)
                    .execute(pool)
                    .await
                    .map(drop)
            });
            match r {
                Err(e) if is_fk_violation(&e) => {
                    return Err(ExchangeStoreError::NoAgency { id: agency.into() });
                }
                r => r?,
            }
        }
        Ok(())
    }

    /// The buses the agency has an active connection to (what step 4 checks).
    pub async fn active_buses(&self, agency: &str) -> Result<Vec<Bus>, StoreError> {
        const SQL: &str =
            "SELECT bus FROM ex_connections WHERE agency = $1 AND status = 'active' ORDER BY bus";
        let rows: Vec<String> = on_pool!(&self.db, |pool, begin| {
            sqlx::query_scalar(SQL).bind(agency).fetch_all(pool).await?
        });
        rows.iter()
            .map(|b| Bus::parse(b).ok_or_else(|| StoreError::corrupt("ex_connections.bus", b)))
            .collect()
    }

    /// Stores a permit scan once by its SHA-256 and returns the hash. Its type must be PDF,
    /// PNG or JPEG; its size is the caller's to bound (see [`crate::check::MAX_SCAN_BYTES`]).
    pub async fn put_scan(&self, scan: &[u8], now: i64) -> Result<[u8; 32], ExchangeStoreError> {
        const SQL: &str = "INSERT INTO ex_scans (sha256, media_type, content, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT (sha256) DO NOTHING";
        if scan.len() > crate::check::MAX_SCAN_BYTES {
            return Err(ExchangeStoreError::ScanTooLarge {
                len: scan.len(),
                max: crate::check::MAX_SCAN_BYTES,
            });
        }
        let kind = scan_type(scan).ok_or(ExchangeStoreError::ScanType)?;
        let sha: [u8; 32] = Sha256::digest(scan).into();
        on_pool!(&self.db, |pool, begin| {
            sqlx::query(SQL)
                .bind(&sha[..])
                .bind(kind.media_type())
                .bind(scan)
                .bind(now)
                .execute(pool)
                .await?
                .rows_affected()
        });
        Ok(sha)
    }

    /// Creates a request in state draft, with its first audit record; returns its id.
    pub async fn create_request(
        &self,
        kind: RequestKind,
        agency: &str,
        actor: &str,
        now: i64,
    ) -> Result<String, ExchangeStoreError> {
        const INSERT: &str = "INSERT INTO ex_requests (id, kind, agency, state, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5)";
        check_actor(actor)?;
        let id = new_id()?;
        let mut record = AuditRecord {
            request: id.clone(),
            seq: 0,
            actor: actor.into(),
            at: now,
            action: "create".into(),
            from: None,
            to: State::Draft,
            prev_hash: [0; 32],
            hash: [0; 32],
        };
        record.hash = record.compute_hash();
        let r: Result<(), sqlx::Error> = on_pool!(&self.db, |pool, begin| {
            async {
                let mut tx = pool.begin_with(begin).await?;
                sqlx::query(INSERT)
                    .bind(&id)
                    .bind(kind.as_str())
                    .bind(agency)
                    .bind(State::Draft.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                insert_audit!(&mut *tx, &record);
                tx.commit().await
            }
            .await
        });
        match r {
            Err(e) if is_fk_violation(&e) => {
                Err(ExchangeStoreError::NoAgency { id: agency.into() })
            }
            r => Ok(r.map(|()| id)?),
        }
    }

    /// Applies `action` to the request in one transaction: checks the move against the
    /// state machine, writes the new state and any `details` (enter-details only; fields left
    /// `None` keep their value), keeps `open_key` (a duplicate open request is refused),
    /// stores `certificate` (approve only), and appends the audit record. Returns the new
    /// state.
    pub async fn apply(
        &self,
        id: &str,
        action: Action,
        actor: &str,
        now: i64,
        details: Option<&Details>,
        certificate: Option<&[u8]>,
    ) -> Result<State, ExchangeStoreError> {
        check_actor(actor)?;
        if let Some(d) = details {
            if action != Action::EnterDetails {
                return Err(ExchangeStoreError::NotTaken {
                    action,
                    what: "details",
                });
            }
            check_lengths(d)?;
        }
        if let Some(c) = certificate {
            if action != Action::Approve {
                return Err(ExchangeStoreError::NotTaken {
                    action,
                    what: "a certificate",
                });
            }
            if c.len() > MAX_CERTIFICATE_BYTES {
                return Err(ExchangeStoreError::TooLong {
                    field: "certificate",
                    len: c.len(),
                    max: MAX_CERTIFICATE_BYTES,
                });
            }
        }
        let lock = match self.db {
            Db::Sqlite(_) => "",
            Db::Postgres(_) => " FOR UPDATE",
        };
        let select = format!("SELECT {REQUEST_COLUMNS} FROM ex_requests WHERE id = $1{lock}");
        const LAST: &str =
            "SELECT seq, hash FROM ex_audit WHERE request = $1 ORDER BY seq DESC LIMIT 1";
        const UPDATE: &str = "UPDATE ex_requests SET state = $2, bus = $3, system = $4, service = $5, csr = $6, \
             permit_number = $7, permit_scan = $8, contact_email = $9, open_key = $10, \
             certificate = COALESCE($11, certificate), updated_at = $12 WHERE id = $1";
        let mut dup: Option<(String, String, String)> = None;
        let r: Result<Result<State, ExchangeStoreError>, sqlx::Error> =
            on_pool!(&self.db, |pool, begin| {
                async {
                    let mut tx = pool.begin_with(begin).await?;
                    let Some(row) = sqlx::query(&select)
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?
                    else {
                        return Ok(Err(ExchangeStoreError::NoRequest { id: id.into() }));
                    };
                    let mut req = match request_from_row(&row) {
                        Ok(r) => r,
                        Err(e) => return Ok(Err(e.into())),
                    };
                    let to = match transition(req.kind, req.state, action) {
                        Ok(to) => to,
                        Err(e) => return Ok(Err(e.into())),
                    };
                    if let Some(d) = details {
                        merge(&mut req.details, d);
                    }
                    let d = &req.details;
                    let key = match (to.is_open(), &d.system, &d.service) {
                        (true, Some(sys), Some(svc)) => {
                            dup = Some((req.agency.clone(), sys.clone(), svc.clone()));
                            Some(open_key(&req.agency, sys, svc))
                        }
                        _ => None,
                    };
                    let last = sqlx::query(LAST).bind(id).fetch_one(&mut *tx).await?;
                    let prev_seq: i64 = last.try_get("seq")?;
                    let prev_hash: Vec<u8> = last.try_get("hash")?;
                    let prev_hash = match hash32(prev_hash, "ex_audit.hash") {
                        Ok(h) => h,
                        Err(e) => return Ok(Err(e.into())),
                    };
                    sqlx::query(UPDATE)
                        .bind(id)
                        .bind(to.as_str())
                        .bind(d.bus.map(Bus::as_str))
                        .bind(d.system.as_deref())
                        .bind(d.service.as_deref())
                        .bind(d.csr.as_deref())
                        .bind(d.permit_number.as_deref())
                        .bind(d.permit_scan.as_ref().map(|h| &h[..]))
                        .bind(d.contact_email.as_deref())
                        .bind(key)
                        .bind(certificate)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                    let mut record = AuditRecord {
                        request: id.into(),
                        seq: prev_seq + 1,
                        actor: actor.into(),
                        at: now,
                        action: action.as_str().into(),
                        from: Some(req.state),
                        to,
                        prev_hash,
                        hash: [0; 32],
                    };
                    record.hash = record.compute_hash();
                    insert_audit!(&mut *tx, &record);
                    tx.commit().await?;
                    Ok(Ok(to))
                }
                .await
            });
        match r {
            Err(e) if is_unique_violation(&e) => {
                let (agency, system, service) = dup.unwrap_or_default();
                Err(ExchangeStoreError::Duplicate {
                    agency,
                    system,
                    service,
                })
            }
            Err(e) => Err(e.into()),
            Ok(r) => r,
        }
    }

    /// The request with this id.
    pub async fn request(&self, id: &str) -> Result<Option<RequestRow>, StoreError> {
        let sql = format!("SELECT {REQUEST_COLUMNS} FROM ex_requests WHERE id = $1");
        let row = on_pool!(&self.db, |pool, begin| {
            match sqlx::query(&sql).bind(id).fetch_optional(pool).await? {
                Some(row) => Some(request_from_row(&row)?),
                None => None,
            }
        });
        Ok(row)
    }

    /// The request's audit records, oldest first.
    pub async fn audit(&self, id: &str) -> Result<Vec<AuditRecord>, StoreError> {
        const SQL: &str = "SELECT request, seq, actor, at, action, from_state, to_state, prev_hash, hash \
             FROM ex_audit WHERE request = $1 ORDER BY seq";
        on_pool!(&self.db, |pool, begin| {
            let rows = sqlx::query(SQL).bind(id).fetch_all(pool).await?;
            rows.iter().map(audit_from_row).collect()
        })
    }
}

/// Inserts one audit record in the transaction `$tx`.
macro_rules! insert_audit {
    ($tx:expr, $r:expr) => {{
        let r: &AuditRecord = $r;
        sqlx::query(
            "INSERT INTO ex_audit (request, seq, actor, at, action, from_state, to_state, prev_hash, hash) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(&r.request)
        .bind(r.seq)
        .bind(&r.actor)
        .bind(r.at)
        .bind(&r.action)
        .bind(r.from.map(State::as_str))
        .bind(r.to.as_str())
        .bind(&r.prev_hash[..])
        .bind(&r.hash[..])
        .execute($tx)
        .await?;
    }};
}
use insert_audit;

fn merge(into: &mut Details, d: &Details) {
    if d.bus.is_some() {
        into.bus = d.bus;
    }
    for (to, from) in [
        (&mut into.system, &d.system),
        (&mut into.permit_number, &d.permit_number),
        (&mut into.service, &d.service),
        (&mut into.contact_email, &d.contact_email),
    ] {
        if from.is_some() {
            to.clone_from(from);
        }
    }
    if d.csr.is_some() {
        into.csr.clone_from(&d.csr);
    }
    if d.permit_scan.is_some() {
        into.permit_scan = d.permit_scan;
    }
}

fn request_from_row<R: sqlx::Row>(row: &R) -> Result<RequestRow, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<Vec<u8>>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let kind: String = row.try_get("kind")?;
    let state: String = row.try_get("state")?;
    let bus: Option<String> = row.try_get("bus")?;
    let scan: Option<Vec<u8>> = row.try_get("permit_scan")?;
    Ok(RequestRow {
        id: row.try_get("id")?,
        kind: RequestKind::parse(&kind)
            .ok_or_else(|| StoreError::corrupt("ex_requests.kind", &kind))?,
        agency: row.try_get("agency")?,
        state: State::parse(&state)
            .ok_or_else(|| StoreError::corrupt("ex_requests.state", &state))?,
        details: Details {
            bus: match bus {
                Some(b) => {
                    Some(Bus::parse(&b).ok_or_else(|| StoreError::corrupt("ex_requests.bus", &b))?)
                }
                None => None,
            },
            system: row.try_get("system")?,
            csr: row.try_get("csr")?,
            permit_number: row.try_get("permit_number")?,
            permit_scan: scan
                .map(|s| hash32(s, "ex_requests.permit_scan"))
                .transpose()?,
            service: row.try_get("service")?,
            contact_email: row.try_get("contact_email")?,
        },
        certificate: row.try_get("certificate")?,
    })
}

fn audit_from_row<R: sqlx::Row>(row: &R) -> Result<AuditRecord, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> String: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<String>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> i64: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
{
    let from: Option<String> = row.try_get("from_state")?;
    let to: String = row.try_get("to_state")?;
    Ok(AuditRecord {
        request: row.try_get("request")?,
        seq: row.try_get("seq")?,
        actor: row.try_get("actor")?,
        at: row.try_get("at")?,
        action: row.try_get("action")?,
        from: match from {
            Some(f) => Some(
                State::parse(&f).ok_or_else(|| StoreError::corrupt("ex_audit.from_state", &f))?,
            ),
            None => None,
        },
        to: State::parse(&to).ok_or_else(|| StoreError::corrupt("ex_audit.to_state", &to))?,
        prev_hash: hash32(row.try_get("prev_hash")?, "ex_audit.prev_hash")?,
        hash: hash32(row.try_get("hash")?, "ex_audit.hash")?,
    })
}
