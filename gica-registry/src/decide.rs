//! Deciding an add-device request: the rules, in one transaction per decision.
//!
//! What the frozen snapshot settles (was the IMEI seen before the cutoff, and with which SIM)
//! is read before the transaction: a snapshot never changes. What can change (ownership, the
//! blocklist, the owner's count) is read and written inside one writing transaction, and the
//! database's unique constraints settle races: two owners racing for one IMEI both try to
//! insert its `reg_devices` row, exactly one commits, and the other's retry finds the IMEI
//! taken and is refused `registered-to-another-owner`.

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::asn1::{GeneralizedTime, OctetString};
use der::{Decode, Encode};
use gica_pki::merkle::{self, Hash, InclusionProof, MerkleTree};
use gica_store::StoreError;
use sha2::{Digest, Sha256};
use sqlx::Row as _;

use crate::receipt::{Decision, DeviceReceipt, PairEntry, PairProof, Refusal, Sim, SnapshotRef};
use crate::store::{Store, is_retryable, is_unique_violation, on_pool};

/// Leaves per chunk of a snapshot's tree: a proof reads one chunk's leaves and combines their
/// subtree with the chunk roots kept in memory (a chunk is a complete subtree of RFC 9162's
/// MTH, so the path is the same as over the whole tree).
pub const CHUNK: u64 = 64;

/// Why a request was refused. Codes are part of the API.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Reason {
    /// An IMEI that does not parse (length, digits, check digit).
    InvalidImei,
    /// No operator saw this IMEI before the cutoff.
    NotSeenBeforeCutoff,
    /// Seen before the cutoff, but not with the SIM the request comes from.
    SeenWithOtherSim,
    /// Another owner registered it (who is never said).
    RegisteredToAnotherOwner,
    /// On the blocklist (stolen devices).
    Blocklisted,
    /// The owner would exceed the per-person limit.
    OwnerLimit,
}

impl Reason {
    /// Every reason, in code order.
    pub const ALL: [Reason; 6] = [
        Reason::InvalidImei,
        Reason::NotSeenBeforeCutoff,
        Reason::SeenWithOtherSim,
        Reason::RegisteredToAnotherOwner,
        Reason::Blocklisted,
        Reason::OwnerLimit,
    ];

    /// The reason code: `invalid-imei`, `not-seen-before-cutoff`, `seen-with-other-sim`,
    /// `registered-to-another-owner`, `blocklisted`, `owner-limit`.
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidImei => "invalid-imei",
            Self::NotSeenBeforeCutoff => "not-seen-before-cutoff",
            Self::SeenWithOtherSim => "seen-with-other-sim",
            Self::RegisteredToAnotherOwner => "registered-to-another-owner",
            Self::Blocklisted => "blocklisted",
            Self::OwnerLimit => "owner-limit",
        }
    }

    /// The reason with this code.
    pub fn from_code(code: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.code() == code)
    }
}

/// One IMEI of a request: as given, and its 14-digit body when it parsed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GivenImei {
    /// What the caller sent (bounded by the caller).
    pub given: String,
    /// The normalised 14-digit body, or `None` when it did not parse.
    pub body: Option<String>,
}

/// A validated add-device request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The owner's national ID (validated, 10 digits).
    pub owner: String,
    /// One to four IMEIs.
    pub imeis: Vec<GivenImei>,
    /// The SIM's IMSI, when the channel knows it (USSD).
    pub imsi: Option<String>,
    /// The SIM's MSISDN, normalised (`98...`).
    pub msisdn: Option<String>,
}

impl Request {
    /// SHA-256 of the request's canonical form and the snapshot it is decided against: the
    /// same request under the same snapshot is the same decision.
    pub fn key(&self, snapshot_version: u64) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"gica-registry request v1\0");
        h.update(self.owner.as_bytes());
        h.update(b"\0");
        for imei in &self.imeis {
            h.update(imei.body.as_deref().unwrap_or(&imei.given).as_bytes());
            h.update(b",");
        }
        h.update(b"\0");
        h.update(self.imsi.as_deref().unwrap_or("").as_bytes());
        h.update(b"\0");
        h.update(self.msisdn.as_deref().unwrap_or("").as_bytes());
        h.update(b"\0");
        h.update(snapshot_version.to_be_bytes());
        h.finalize().into()
    }
}

/// The decision rules' settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rules {
    /// Most devices one owner may have registered.
    pub owner_limit: u32,
}

impl Default for Rules {
    fn default() -> Self {
        Self { owner_limit: 10 }
    }
}

/// A snapshot loaded for deciding: its reference, and the roots of its chunks.
#[derive(Clone, Debug)]
pub struct LoadedSnapshot {
    /// Version, cutoff, size and root, as receipts name it.
    pub reference: SnapshotRef,
    /// The cutoff in Unix seconds.
    pub cutoff_secs: i64,
    /// Chunk roots as a tree (its root is the snapshot's root).
    top: MerkleTree,
    /// The signed snapshot (CMS DER).
    pub signed: Vec<u8>,
}

impl LoadedSnapshot {
    /// Builds from the stored parts, checking that the chunk roots give the stored root.
    pub fn new(
        reference: SnapshotRef,
        cutoff_secs: i64,
        chunk_roots: &[u8],
        signed: Vec<u8>,
    ) -> Result<Self, StoreError> {
        if !chunk_roots.len().is_multiple_of(merkle::HASH_LEN) {
            return Err(StoreError::corrupt(
                "reg_snapshots.chunk_roots length",
                chunk_roots.len(),
            ));
        }
        let roots: Vec<Hash> = chunk_roots
            .chunks_exact(merkle::HASH_LEN)
            .filter_map(|c| c.try_into().ok())
            .collect();
        let expected_chunks = reference.tree_size.div_ceil(CHUNK);
        if roots.len() as u64 != expected_chunks {
            return Err(StoreError::corrupt(
                "reg_snapshots.chunk_roots count",
                roots.len(),
            ));
        }
        let top = MerkleTree::new(roots);
        let root = if reference.tree_size == 0 {
            merkle::EMPTY_ROOT
        } else {
            top.root()
        };
        if root.as_slice() != reference.root_hash.as_bytes() {
            return Err(StoreError::corrupt("reg_snapshots.root", reference.version));
        }
        Ok(Self {
            reference,
            cutoff_secs,
            top,
            signed,
        })
    }

    /// The version.
    pub fn version(&self) -> u64 {
        self.reference.version
    }

    /// The first day (days since 1970-01-01, UTC) that no longer counts: a sighting counts
    /// only when its whole day ended at or before the cutoff.
    pub fn cutoff_day(&self) -> i64 {
        self.cutoff_secs.div_euclid(86_400)
    }

    /// The inclusion proof of leaf `index`, given the leaf hashes of its chunk.
    pub fn proof(
        &self,
        index: u64,
        chunk_leaves: &[Hash],
    ) -> Result<InclusionProof, merkle::MerkleError> {
        let chunk = index / CHUNK;
        let inner = merkle::inclusion_path(index % CHUNK, chunk_leaves)?;
        let outer = self.top.inclusion_proof(chunk)?;
        let mut path = inner;
        path.extend_from_slice(outer.path.as_slice());
        let proof = InclusionProof {
            leaf_index: index,
            tree_size: self.reference.tree_size,
            path: path.try_into()?,
        };
        Ok(proof)
    }
}

/// A decision as stored: its receipt content, and the signed receipt once made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decided {
    /// The receipt content (DER of [`DeviceReceipt`] is `content`).
    pub receipt: DeviceReceipt,
    /// DER of `receipt`, as signed.
    pub content: Vec<u8>,
    /// The signed, time-stamped receipt, when it has been made.
    pub signed: Option<Vec<u8>>,
    /// True when this request had been decided before (a retry).
    pub repeated: bool,
}

/// A registered device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Device {
    /// 14-digit IMEI body.
    pub imei: String,
    /// The IMSI it was registered with.
    pub imsi: String,
    /// The MSISDN the request came from, if known.
    pub msisdn: Option<String>,
    /// The request that registered it.
    pub tracking_code: String,
    /// Its position in the export sequence.
    pub seq: u64,
    /// When (Unix seconds).
    pub registered_at: i64,
}

/// How often a decision is tried again after losing a race or a busy database.
const ATTEMPTS: usize = 8;

fn secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

fn gen_time(t: SystemTime) -> Result<GeneralizedTime, StoreError> {
    let d = Duration::from_secs(u64::try_from(secs(t)).unwrap_or(0));
    GeneralizedTime::from_unix_duration(d).map_err(|e| StoreError::corrupt("time", e))
}

/// A fresh tracking code: 9 random digits and a Damm check digit.
pub fn new_tracking_code() -> Result<String, StoreError> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| StoreError::corrupt("random", e))?;
    let n = u64::from_le_bytes(bytes) % 1_000_000_000;
    Ok(crate::domain::TrackingCode::from_number(n)
        .map_err(|e| StoreError::corrupt("tracking code", e))?
        .to_string())
}

/// What the snapshot says of one IMEI for the request's SIM.
enum Seen {
    /// Seen with this SIM: the pair and its leaf index.
    Yes(PairEntry, u64),
    /// Seen before the cutoff, with another SIM.
    OtherSim,
    /// Not seen before the cutoff.
    No,
}

impl Store {
    /// The newest snapshot, if any was frozen.
    pub async fn newest_snapshot(&self) -> Result<Option<LoadedSnapshot>, StoreError> {
        const SELECT: &str = "SELECT version, cutoff, tree_size, root, chunk_roots, signed \
             FROM reg_snapshots ORDER BY version DESC LIMIT 1";
        on_pool!(self.db(), |pool, begin| {
            let Some(row) = sqlx::query(SELECT).fetch_optional(pool).await? else {
                return Ok(None);
            };
            let version: i64 = row.try_get("version")?;
            let cutoff: i64 = row.try_get("cutoff")?;
            let size: i64 = row.try_get("tree_size")?;
            let root: Vec<u8> = row.try_get("root")?;
            let chunks: Vec<u8> = row.try_get("chunk_roots")?;
            let signed: Vec<u8> = row.try_get("signed")?;
            let reference = SnapshotRef {
                version: u64::try_from(version)
                    .map_err(|_| StoreError::corrupt("version", version))?,
                cutoff: gen_time(
                    UNIX_EPOCH + Duration::from_secs(u64::try_from(cutoff).unwrap_or(0)),
                )?,
                tree_size: u64::try_from(size)
                    .map_err(|_| StoreError::corrupt("tree_size", size))?,
                root_hash: OctetString::new(root).map_err(|e| StoreError::corrupt("root", e))?,
            };
            LoadedSnapshot::new(reference, cutoff, &chunks, signed).map(Some)
        })
    }

    /// Looks up, in the snapshot, whether `imei` was seen before the cutoff with the SIM.
    async fn seen(
        &self,
        snap: &LoadedSnapshot,
        imei: &str,
        req: &Request,
    ) -> Result<Seen, StoreError> {
        const LEAF: &str =
            "SELECT idx FROM reg_leaves WHERE version = $1 AND imei = $2 AND imsi = $3";
        const ANY_LEAF: &str =
            "SELECT 1 AS one FROM reg_leaves WHERE version = $1 AND imei = $2 LIMIT 1";
        const BY_MSISDN: &str = "SELECT DISTINCT imsi FROM reg_sightings \
             WHERE imei = $1 AND msisdn = $2 AND first_seen < $3 ORDER BY imsi LIMIT 16";
        let version = i64::try_from(snap.version()).unwrap_or(i64::MAX);
        on_pool!(self.db(), |pool, begin| {
            let imsis: Vec<String> = match (&req.imsi, &req.msisdn) {
                (Some(imsi), _) => vec![imsi.clone()],
                (None, Some(msisdn)) => sqlx::query(BY_MSISDN)
                    .bind(imei)
                    .bind(msisdn)
                    .bind(i32::try_from(snap.cutoff_day()).unwrap_or(i32::MAX))
                    .fetch_all(pool)
                    .await?
                    .iter()
                    .map(|r| r.try_get::<String, _>("imsi"))
                    .collect::<Result<_, _>>()?,
                (None, None) => Vec::new(),
            };
            for imsi in imsis {
                if let Some(row) = sqlx::query(LEAF)
                    .bind(version)
                    .bind(imei)
                    .bind(&imsi)
                    .fetch_optional(pool)
                    .await?
                {
                    let idx: i64 = row.try_get("idx")?;
                    let idx = u64::try_from(idx).map_err(|_| StoreError::corrupt("idx", idx))?;
                    return Ok(Seen::Yes(
                        PairEntry {
                            imei: imei.to_owned(),
                            imsi,
                        },
                        idx,
                    ));
                }
            }
            let any = sqlx::query(ANY_LEAF)
                .bind(version)
                .bind(imei)
                .fetch_optional(pool)
                .await?;
            Ok(if any.is_some() {
                Seen::OtherSim
            } else {
                Seen::No
            })
        })
    }

    /// The inclusion proof of leaf `index` in `snap`, read from its chunk and checked against
    /// the root before it is handed out.
    pub async fn inclusion_proof(
        &self,
        snap: &LoadedSnapshot,
        index: u64,
        pair: &PairEntry,
    ) -> Result<InclusionProof, StoreError> {
        const CHUNK_LEAVES: &str = "SELECT imei, imsi FROM reg_leaves \
             WHERE version = $1 AND idx >= $2 AND idx < $3 ORDER BY idx";
        let version = i64::try_from(snap.version()).unwrap_or(i64::MAX);
        if index >= snap.reference.tree_size {
            return Err(StoreError::corrupt("reg_leaves.idx beyond the tree", index));
        }
        let start = index - index % CHUNK;
        let end = (start + CHUNK).min(snap.reference.tree_size);
        let rows = on_pool!(self.db(), |pool, begin| {
            let rows = sqlx::query(CHUNK_LEAVES)
                .bind(version)
                .bind(i64::try_from(start).unwrap_or(i64::MAX))
                .bind(i64::try_from(end).unwrap_or(i64::MAX))
                .fetch_all(pool)
                .await?;
            rows.iter()
                .map(|r| {
                    Ok(PairEntry {
                        imei: r.try_get("imei")?,
                        imsi: r.try_get("imsi")?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()
        })?;
        if rows.len() as u64 != end - start {
            return Err(StoreError::corrupt("reg_leaves chunk", rows.len()));
        }
        let leaves = rows
            .iter()
            .map(PairEntry::leaf_hash)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::corrupt("leaf", e))?;
        let leaf = pair
            .leaf_hash()
            .map_err(|e| StoreError::corrupt("leaf", e))?;
        let proof = snap
            .proof(index, &leaves)
            .map_err(|e| StoreError::corrupt("proof", e))?;
        let mut root = [0u8; 32];
        root.copy_from_slice(snap.reference.root_hash.as_bytes());
        proof
            .verify(&leaf, &root)
            .map_err(|e| StoreError::corrupt("proof does not verify", e))?;
        Ok(proof)
    }

    /// Decides `req` against `snap` at `now`, or returns the decision already made for the
    /// same request under the same snapshot.
    pub async fn decide(
        &self,
        req: &Request,
        rules: Rules,
        snap: &LoadedSnapshot,
        now: SystemTime,
    ) -> Result<Decided, StoreError> {
        let key = req.key(snap.version());
        if let Some(found) = self.request_by_key(&key).await? {
            return Ok(found);
        }
        // The snapshot's answers, read outside the writing transaction.
        let mut reasons: BTreeSet<(Reason, Option<String>)> = BTreeSet::new();
        let mut pairs = Vec::new();
        for imei in &req.imeis {
            let Some(body) = &imei.body else {
                reasons.insert((Reason::InvalidImei, Some(imei.given.clone())));
                continue;
            };
            match self.seen(snap, body, req).await? {
                Seen::Yes(pair, idx) => pairs.push((pair, idx)),
                Seen::OtherSim => {
                    reasons.insert((Reason::SeenWithOtherSim, Some(imei.given.clone())));
                }
                Seen::No => {
                    reasons.insert((Reason::NotSeenBeforeCutoff, Some(imei.given.clone())));
                }
            }
        }
        let mut proofs = Vec::new();
        if reasons.is_empty() {
            for (pair, idx) in &pairs {
                let proof = self.inclusion_proof(snap, *idx, pair).await?;
                proofs.push(PairProof {
                    pair: pair.clone(),
                    proof,
                });
            }
        }
        let mut last_error = None;
        for _ in 0..ATTEMPTS {
            match self
                .decide_once(req, &key, rules, snap, now, &reasons, &proofs)
                .await
            {
                Ok(decided) => return Ok(decided),
                Err(e) if is_unique_violation(&e) || is_retryable(&e) => {
                    last_error = Some(e);
                    // The winner's row is committed now: the retry sees it.
                    if let Some(found) = self.request_by_key(&key).await? {
                        return Ok(found);
                    }
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(last_error.map_or_else(
            || StoreError::corrupt("decision retries", ATTEMPTS),
            Into::into,
        ))
    }

    #[allow(clippy::too_many_arguments)]
    async fn decide_once(
        &self,
        req: &Request,
        key: &[u8; 32],
        rules: Rules,
        snap: &LoadedSnapshot,
        now: SystemTime,
        snapshot_reasons: &BTreeSet<(Reason, Option<String>)>,
        proofs: &[PairProof],
    ) -> Result<Decided, sqlx::Error> {
        const BLOCKED: &str = "SELECT 1 AS one FROM reg_blocklist WHERE imei = $1";
        const OWNER_OF: &str = "SELECT owner FROM reg_devices WHERE imei = $1";
        const OWNER_COUNT: &str = "INSERT INTO reg_owners (owner, devices) VALUES ($1, $2) \
             ON CONFLICT (owner) DO UPDATE SET devices = reg_owners.devices + excluded.devices \
             WHERE reg_owners.devices + excluded.devices <= $3 RETURNING devices";
        const NEXT_SEQ: &str =
            "UPDATE reg_counters SET value = value + $1 WHERE name = 'device_seq' RETURNING value";
        const INSERT_DEVICE: &str = "INSERT INTO reg_devices \
             (imei, owner, imsi, msisdn, tracking_code, seq, registered_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)";
        const INSERT_REQUEST: &str = "INSERT INTO reg_requests \
             (tracking_code, request_key, owner, decision, content, receipt, snapshot_version, created_at) \
             VALUES ($1, $2, $3, $4, $5, NULL, $6, $7)";
        let corrupt = |what: &str| sqlx::Error::Protocol(format!("registry: {what}"));
        let tracking_code = new_tracking_code().map_err(|e| corrupt(&e.to_string()))?;
        let now_secs = secs(now);
        on_pool!(self.db(), |pool, begin| {
            let mut tx = pool.begin_with(begin).await?;
            let mut reasons = snapshot_reasons.clone();
            let mut new_imeis = Vec::new();
            for imei in &req.imeis {
                let Some(body) = &imei.body else { continue };
                if sqlx::query(BLOCKED)
                    .bind(body)
                    .fetch_optional(&mut *tx)
                    .await?
                    .is_some()
                {
                    reasons.insert((Reason::Blocklisted, Some(imei.given.clone())));
                }
                match sqlx::query(OWNER_OF)
                    .bind(body)
                    .fetch_optional(&mut *tx)
                    .await?
                {
                    Some(row) => {
                        let owner: String = row.try_get("owner")?;
                        if owner != req.owner {
                            reasons.insert((
                                Reason::RegisteredToAnotherOwner,
                                Some(imei.given.clone()),
                            ));
                        }
                    }
                    None => new_imeis.push(body.clone()),
                }
            }
            if reasons.is_empty() && !new_imeis.is_empty() {
                let n = new_imeis.len() as i64;
                let within = n <= i64::from(rules.owner_limit)
                    && sqlx::query(OWNER_COUNT)
                        .bind(&req.owner)
                        .bind(n)
                        .bind(i64::from(rules.owner_limit))
                        .fetch_optional(&mut *tx)
                        .await?
                        .is_some();
                if !within {
                    reasons.insert((Reason::OwnerLimit, None));
                }
            }
            let decision = if reasons.is_empty() {
                Decision::Approved
            } else {
                Decision::Refused
            };
            if decision == Decision::Approved && !new_imeis.is_empty() {
                let n = new_imeis.len() as i64;
                let last: i64 = sqlx::query(NEXT_SEQ)
                    .bind(n)
                    .fetch_one(&mut *tx)
                    .await?
                    .try_get("value")?;
                for (i, body) in new_imeis.iter().enumerate() {
                    let imsi = proofs
                        .iter()
                        .find(|p| &p.pair.imei == body)
                        .map(|p| p.pair.imsi.clone())
                        .ok_or_else(|| corrupt("approved IMEI without a proof"))?;
                    sqlx::query(INSERT_DEVICE)
                        .bind(body)
                        .bind(&req.owner)
                        .bind(imsi)
                        .bind(req.msisdn.as_deref())
                        .bind(&tracking_code)
                        .bind(last - n + 1 + i as i64)
                        .bind(now_secs)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            let receipt = DeviceReceipt {
                version: 1,
                tracking_code: tracking_code.clone(),
                decided_at: gen_time(now).map_err(|e| corrupt(&e.to_string()))?,
                owner: req.owner.clone(),
                imeis: req
                    .imeis
                    .iter()
                    .map(|i| i.body.clone().unwrap_or_else(|| i.given.clone()))
                    .collect(),
                sim: Sim {
                    imsi: req.imsi.clone(),
                    msisdn: req.msisdn.clone(),
                },
                decision,
                reasons: reasons
                    .iter()
                    .map(|(r, imei)| Refusal {
                        code: r.code().to_owned(),
                        imei: imei.clone(),
                    })
                    .collect(),
                snapshot: snap.reference.clone(),
                proofs: if decision == Decision::Approved {
                    proofs.to_vec()
                } else {
                    Vec::new()
                },
            };
            let content = receipt.to_der().map_err(|e| corrupt(&e.to_string()))?;
            sqlx::query(INSERT_REQUEST)
                .bind(&tracking_code)
                .bind(&key[..])
                .bind(&req.owner)
                .bind(decision.as_str())
                .bind(&content)
                .bind(i64::try_from(snap.version()).unwrap_or(i64::MAX))
                .bind(now_secs)
                .execute(&mut *tx)
                .await?;
            tx.commit().await?;
            Ok(Decided {
                receipt,
                content,
                signed: None,
                repeated: false,
            })
        })
    }

    async fn request_by_key(&self, key: &[u8; 32]) -> Result<Option<Decided>, StoreError> {
        const SELECT: &str = "SELECT content, receipt FROM reg_requests WHERE request_key = $1";
        on_pool!(self.db(), |pool, begin| {
            let row = sqlx::query(SELECT)
                .bind(&key[..])
                .fetch_optional(pool)
                .await?;
            row.map(|r| decided_from_row(&r, true)).transpose()
        })
    }

    /// The decision with this tracking code.
    pub async fn request(&self, tracking_code: &str) -> Result<Option<Decided>, StoreError> {
        const SELECT: &str = "SELECT content, receipt FROM reg_requests WHERE tracking_code = $1";
        on_pool!(self.db(), |pool, begin| {
            let row = sqlx::query(SELECT)
                .bind(tracking_code)
                .fetch_optional(pool)
                .await?;
            row.map(|r| decided_from_row(&r, true)).transpose()
        })
    }

    /// Stores the signed receipt of a decision, unless one is stored already; returns the
    /// stored one (the first writer's, when two raced).
    pub async fn store_receipt(
        &self,
        tracking_code: &str,
        signed: &[u8],
    ) -> Result<Vec<u8>, StoreError> {
        const UPDATE: &str =
            "UPDATE reg_requests SET receipt = $2 WHERE tracking_code = $1 AND receipt IS NULL";
        const SELECT: &str = "SELECT receipt FROM reg_requests WHERE tracking_code = $1";
        on_pool!(self.db(), |pool, begin| {
            let updated = sqlx::query(UPDATE)
                .bind(tracking_code)
                .bind(signed)
                .execute(pool)
                .await?;
            if updated.rows_affected() == 1 {
                return Ok(signed.to_vec());
            }
            let row = sqlx::query(SELECT)
                .bind(tracking_code)
                .fetch_one(pool)
                .await?;
            let stored: Option<Vec<u8>> = row.try_get("receipt")?;
            stored.ok_or_else(|| StoreError::corrupt("receipt not stored", tracking_code))
        })
    }

    /// Devices registered to `owner`, oldest first.
    pub async fn devices_of(&self, owner: &str) -> Result<Vec<Device>, StoreError> {
        const SELECT: &str = "SELECT imei, imsi, msisdn, tracking_code, seq, registered_at \
             FROM reg_devices WHERE owner = $1 ORDER BY seq";
        on_pool!(self.db(), |pool, begin| {
            let rows = sqlx::query(SELECT).bind(owner).fetch_all(pool).await?;
            rows.iter()
                .map(|r| {
                    let seq: i64 = r.try_get("seq")?;
                    Ok(Device {
                        imei: r.try_get("imei")?,
                        imsi: r.try_get("imsi")?,
                        msisdn: r.try_get("msisdn")?,
                        tracking_code: r.try_get("tracking_code")?,
                        seq: u64::try_from(seq).map_err(|_| StoreError::corrupt("seq", seq))?,
                        registered_at: r.try_get("registered_at")?,
                    })
                })
                .collect()
        })
    }
}

fn decided_from_row<R: sqlx::Row>(row: &R, repeated: bool) -> Result<Decided, StoreError>
where
    for<'a> &'a str: sqlx::ColumnIndex<R>,
    for<'a> Vec<u8>: sqlx::Decode<'a, R::Database> + sqlx::Type<R::Database>,
    for<'a> Option<Vec<u8>>: sqlx::Decode<'a, R::Database>,
{
    let content: Vec<u8> = row.try_get("content")?;
    let signed: Option<Vec<u8>> = row.try_get("receipt")?;
    let receipt = DeviceReceipt::from_der(&content)
        .map_err(|e| StoreError::corrupt("reg_requests.content", e))?;
    Ok(Decided {
        receipt,
        content,
        signed,
        repeated,
    })
}
