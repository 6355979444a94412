//! The registry as a service: validated requests in, signed and time-stamped receipts out.
//! The HTTP server, the USSD gateway endpoint and the commands all go through [`Registry`].

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use der::asn1::GeneralizedTime;
use der::oid::ObjectIdentifier;
use gica_pki::proof::ProofSigner;
use gica_pki::{BoxError, DigestAlgorithm};
use gica_serve::SigningPool;
use gica_serve::tsa_client::TsaClient;
use gica_store::StoreError;
use serde::{Deserialize, Serialize};
use sqlx::Row as _;
use tokio::sync::RwLock;

use crate::decide::{Decided, GivenImei, LoadedSnapshot, Request, Rules};
use crate::domain::{Imei, Imsi, Msisdn, NationalId};
use crate::receipt::{Decision, DeviceReceipt, ListKind, MAX_IMEIS, PairEntry, PairList};
use crate::store::{Store, on_pool};

/// Longest IMEI text a request may carry (a refusal echoes it).
const MAX_IMEI_TEXT: usize = 32;

/// Signs the registry's objects and has them time-stamped.
#[derive(Clone)]
pub struct Notary {
    signer: Arc<ProofSigner>,
    tsa: Option<TsaClient>,
    pool: SigningPool,
}

impl std::fmt::Debug for Notary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Notary")
            .field("tsa", &self.tsa.is_some())
            .finish()
    }
}

impl Notary {
    /// A notary signing with `signer` on `pool`, time-stamping through `tsa` when given.
    pub fn new(signer: ProofSigner, tsa: Option<TsaClient>, pool: SigningPool) -> Self {
        Self {
            signer: Arc::new(signer),
            tsa,
            pool,
        }
    }

    /// Signs `content` (DER) as a CMS SignedData of `content_type`, with an RFC 3161 token on
    /// the signature when a TSA is configured and `stamp` is true.
    pub async fn sign(
        &self,
        content_type: ObjectIdentifier,
        content: Vec<u8>,
        now: SystemTime,
        stamp: bool,
    ) -> Result<Vec<u8>, BoxError> {
        let signer = self.signer.clone();
        let unstamped = self
            .pool
            .run(move || signer.sign(content_type, &content, now))
            .await??;
        match (&self.tsa, stamp) {
            (Some(tsa), true) => {
                let imprint = unstamped.time_stamp_imprint(DigestAlgorithm::Sha256);
                let token = tsa.stamp(DigestAlgorithm::Sha256, &imprint).await?;
                Ok(unstamped.with_time_stamp(&token)?)
            }
            _ => Ok(unstamped.to_der()?),
        }
    }

    /// Time-stamps a SHA-256 hash (an imported file's), when a TSA is configured.
    pub async fn stamp_hash(&self, hash: &[u8; 32]) -> Result<Option<Vec<u8>>, BoxError> {
        match &self.tsa {
            Some(tsa) => Ok(Some(tsa.stamp(DigestAlgorithm::Sha256, hash).await?)),
            None => Ok(None),
        }
    }
}

/// An add-device request as the portal and the USSD gateway send it.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct AddDevice {
    /// The owner's national ID.
    pub national_id: String,
    /// One to four IMEIs (14, 15 or 16 digits).
    pub imeis: Vec<String>,
    /// The SIM's IMSI, when the channel knows it.
    #[serde(default)]
    pub imsi: Option<String>,
    /// The SIM's MSISDN.
    #[serde(default)]
    pub msisdn: Option<String>,
}

/// A request field that is missing or malformed: HTTP 400 naming the field.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct InputError {
    /// The field (`national_id`, `imeis`, `imsi`, `msisdn`, or `body`).
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    fn new(field: &'static str, message: impl std::fmt::Display) -> Self {
        Self {
            field,
            message: message.to_string(),
        }
    }
}

/// Why the registry could not answer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RegistryError {
    /// The request is malformed (HTTP 400).
    #[error(transparent)]
    Input(#[from] InputError),
    /// No snapshot has been frozen yet (HTTP 503).
    #[error("no snapshot has been frozen yet: run `gica-registry freeze`")]
    NoSnapshot,
    /// The database.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Signing or time-stamping: the decision is stored; a retry returns it with its receipt.
    #[error("signing the receipt: {0}")]
    Sign(BoxError),
}

impl From<sqlx::Error> for RegistryError {
    fn from(e: sqlx::Error) -> Self {
        Self::Store(e.into())
    }
}

impl AddDevice {
    /// Parses a JSON body; an error names the field that is missing or has the wrong type.
    pub fn from_json(body: &[u8]) -> Result<Self, InputError> {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|e| InputError::new("body", format!("not JSON: {e}")))?;
        let Some(object) = value.as_object() else {
            return Err(InputError::new("body", "expected a JSON object"));
        };
        for key in object.keys() {
            if !["national_id", "imeis", "imsi", "msisdn"].contains(&key.as_str()) {
                return Err(InputError::new("body", format!("unknown field {key:?}")));
            }
        }
        let text = |field: &'static str| -> Result<Option<String>, InputError> {
            match object.get(field) {
                None | Some(serde_json::Value::Null) => Ok(None),
                Some(serde_json::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(InputError::new(field, "expected a string")),
            }
        };
        let national_id =
            text("national_id")?.ok_or_else(|| InputError::new("national_id", "missing"))?;
        let imeis = match object.get("imeis") {
            None | Some(serde_json::Value::Null) => {
                return Err(InputError::new("imeis", "missing"));
            }
            Some(serde_json::Value::Array(items)) => items
                .iter()
                .map(|i| {
                    i.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| InputError::new("imeis", "expected strings"))
                })
                .collect::<Result<Vec<_>, _>>()?,
            Some(_) => return Err(InputError::new("imeis", "expected an array of strings")),
        };
        Ok(Self {
            national_id,
            imeis,
            imsi: text("imsi")?,
            msisdn: text("msisdn")?,
        })
    }

    /// Validates the fields; an IMEI that does not parse is not an error here but a refusal
    /// (`invalid-imei`) in the decision.
    pub fn validate(&self) -> Result<Request, InputError> {
        let owner: NationalId = self
            .national_id
            .parse()
            .map_err(|e| InputError::new("national_id", e))?;
        if self.imeis.is_empty() || self.imeis.len() > MAX_IMEIS {
            return Err(InputError::new(
                "imeis",
                format!("give 1 to {MAX_IMEIS} IMEIs"),
            ));
        }
        let mut imeis: Vec<GivenImei> = Vec::with_capacity(self.imeis.len());
        for given in &self.imeis {
            if given.len() > MAX_IMEI_TEXT {
                return Err(InputError::new(
                    "imeis",
                    format!("an IMEI is at most {MAX_IMEI_TEXT} characters"),
                ));
            }
            let body = given.parse::<Imei>().ok().map(|i| i.to_string());
            if body.is_some() && imeis.iter().any(|i| i.body == body) {
                return Err(InputError::new("imeis", format!("{given} is given twice")));
            }
            imeis.push(GivenImei {
                given: given.trim().to_owned(),
                body,
            });
        }
        let imsi = self
            .imsi
            .as_deref()
            .map(|s| s.parse::<Imsi>().map(|i| i.to_string()))
            .transpose()
            .map_err(|e| InputError::new("imsi", e))?;
        let msisdn = self
            .msisdn
            .as_deref()
            .map(|s| s.parse::<Msisdn>().map(|m| m.to_string()))
            .transpose()
            .map_err(|e| InputError::new("msisdn", e))?;
        if imsi.is_none() && msisdn.is_none() {
            return Err(InputError::new("msisdn", "give the SIM's imsi or msisdn"));
        }
        Ok(Request {
            owner: owner.to_string(),
            imeis,
            imsi,
            msisdn,
        })
    }
}

/// A decision with its signed receipt.
#[derive(Clone, Debug)]
pub struct Outcome {
    /// The decision.
    pub decided: Decided,
    /// The signed, time-stamped receipt (CMS DER).
    pub receipt: Vec<u8>,
}

/// The registry: store, rules, notary, and the newest snapshot.
#[derive(Debug)]
pub struct Registry {
    store: Store,
    notary: Notary,
    rules: Rules,
    snapshot: RwLock<Option<Arc<LoadedSnapshot>>>,
    /// When the newest snapshot version was last read from the database.
    checked: std::sync::Mutex<std::time::Instant>,
    /// The newest export list made, and the `since` it was made for.
    exports: std::sync::Mutex<Option<CachedExport>>,
}

/// An export list as signed.
#[derive(Debug)]
struct CachedExport {
    since: Option<u64>,
    list: PairList,
    signed: Vec<u8>,
}

/// How long a snapshot is used before the database is asked for a newer one.
const SNAPSHOT_RECHECK: Duration = Duration::from_secs(1);

impl Registry {
    /// A registry on `store`.
    pub fn new(store: Store, notary: Notary, rules: Rules) -> Self {
        Self {
            store,
            notary,
            rules,
            snapshot: RwLock::new(None),
            checked: std::sync::Mutex::new(std::time::Instant::now()),
            exports: std::sync::Mutex::new(None),
        }
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The notary.
    pub fn notary(&self) -> &Notary {
        &self.notary
    }

    /// The newest snapshot, reloaded when another process froze a newer one.
    pub async fn snapshot(&self) -> Result<Arc<LoadedSnapshot>, RegistryError> {
        const NEWEST: &str = "SELECT COALESCE(MAX(version), 0) AS v FROM reg_snapshots";
        // A freeze by another process is noticed within a second, not by a query per request.
        if let Some(s) = self.snapshot.read().await.as_ref()
            && self
                .checked
                .lock()
                .is_ok_and(|at| at.elapsed() < SNAPSHOT_RECHECK)
        {
            return Ok(s.clone());
        }
        let newest: i64 = on_pool!(self.store.db(), |pool, begin| {
            sqlx::query(NEWEST)
                .fetch_one(pool)
                .await?
                .try_get::<i64, _>("v")
        })?;
        self.mark_checked();
        if let Some(s) = self.snapshot.read().await.as_ref()
            && i64::try_from(s.version()).ok() == Some(newest)
        {
            return Ok(s.clone());
        }
        let loaded = self
            .store
            .newest_snapshot()
            .await?
            .ok_or(RegistryError::NoSnapshot)?;
        let loaded = Arc::new(loaded);
        *self.snapshot.write().await = Some(loaded.clone());
        Ok(loaded)
    }

    fn mark_checked(&self) {
        if let Ok(mut at) = self.checked.lock() {
            *at = std::time::Instant::now();
        }
    }

    /// Decides an add-device request and returns the decision with its signed receipt. The
    /// same request under the same snapshot returns the same decision and receipt.
    pub async fn add_device(
        &self,
        body: &AddDevice,
        now: SystemTime,
    ) -> Result<Outcome, RegistryError> {
        let request = body.validate()?;
        let snapshot = self.snapshot().await?;
        let decided = self
            .store
            .decide(&request, self.rules, &snapshot, now)
            .await?;
        let receipt = self.ensure_receipt(&decided, now).await?;
        Ok(Outcome { decided, receipt })
    }

    /// The signed receipt of a decision: the stored one, or made and stored now.
    pub async fn ensure_receipt(
        &self,
        decided: &Decided,
        now: SystemTime,
    ) -> Result<Vec<u8>, RegistryError> {
        if let Some(signed) = &decided.signed {
            return Ok(signed.clone());
        }
        let signed = self
            .notary
            .sign(
                gica_pki::oid::CT_REGISTRY_RECEIPT,
                decided.content.clone(),
                now,
                true,
            )
            .await
            .map_err(RegistryError::Sign)?;
        Ok(self
            .store
            .store_receipt(&decided.receipt.tracking_code, &signed)
            .await?)
    }

    /// The decision with this tracking code, and its receipt (made now if it was missing).
    pub async fn request(
        &self,
        tracking_code: &str,
        now: SystemTime,
    ) -> Result<Option<Outcome>, RegistryError> {
        let Some(decided) = self.store.request(tracking_code).await? else {
            return Ok(None);
        };
        let receipt = self.ensure_receipt(&decided, now).await?;
        Ok(Some(Outcome { decided, receipt }))
    }

    /// The export list: every approved pair (`since` = None) or those approved after `since`,
    /// signed.
    pub async fn export(
        &self,
        since: Option<u64>,
        now: SystemTime,
    ) -> Result<(PairList, Vec<u8>), RegistryError> {
        // Approvals are never undone, so the list up to a sequence number never changes: the
        // newest one made is served again until an approval moves the sequence on, instead of
        // reading and signing every approved pair for each request.
        let sequence = self.store.export_sequence().await?;
        if let Some(hit) = self.exports.lock().ok().and_then(|c| {
            c.as_ref()
                .filter(|e| e.since == since && e.list.sequence == sequence)
                .map(|e| (e.list.clone(), e.signed.clone()))
        }) {
            return Ok(hit);
        }
        let list = self.store.pair_list(since, now).await?;
        let content = der::Encode::to_der(&list).map_err(|e| StoreError::corrupt("export", e))?;
        let signed = self
            .notary
            .sign(gica_pki::oid::CT_REGISTRY_EXPORT, content, now, false)
            .await
            .map_err(RegistryError::Sign)?;
        if let Ok(mut cache) = self.exports.lock() {
            *cache = Some(CachedExport {
                since,
                list: list.clone(),
                signed: signed.clone(),
            });
        }
        Ok((list, signed))
    }
}

impl Store {
    /// The sequence number of the newest approval (0 before the first).
    pub async fn export_sequence(&self) -> Result<u64, StoreError> {
        const SEQ: &str = "SELECT value FROM reg_counters WHERE name = 'device_seq'";
        let sequence: i64 = on_pool!(self.db(), |pool, begin| {
            sqlx::query(SEQ)
                .fetch_one(pool)
                .await?
                .try_get::<i64, _>("value")
        })?;
        u64::try_from(sequence).map_err(|_| StoreError::corrupt("device_seq", sequence))
    }

    /// The approved pairs up to the newest change (full), or after `since` (delta), read in
    /// one transaction so the sequence number and the pairs agree.
    pub async fn pair_list(
        &self,
        since: Option<u64>,
        now: SystemTime,
    ) -> Result<PairList, StoreError> {
        const SEQ: &str = "SELECT value FROM reg_counters WHERE name = 'device_seq'";
        const PAIRS: &str = "SELECT imei, imsi FROM reg_devices WHERE seq > $1 AND seq <= $2 \
             ORDER BY imei, imsi";
        let from = i64::try_from(since.unwrap_or(0)).unwrap_or(i64::MAX);
        let (sequence, pairs) = on_pool!(self.db(), |pool, begin| {
            // A read transaction: one consistent view of the counter and the rows.
            let mut tx = pool.begin().await?;
            let sequence: i64 = sqlx::query(SEQ)
                .fetch_one(&mut *tx)
                .await?
                .try_get("value")?;
            let rows = sqlx::query(PAIRS)
                .bind(from)
                .bind(sequence)
                .fetch_all(&mut *tx)
                .await?;
            tx.commit().await?;
            let pairs = rows
                .iter()
                .map(|r| {
                    Ok(PairEntry {
                        imei: r.try_get("imei")?,
                        imsi: r.try_get("imsi")?,
                    })
                })
                .collect::<Result<Vec<_>, StoreError>>()?;
            Ok::<_, StoreError>((sequence, pairs))
        })?;
        let secs = now
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        Ok(PairList {
            kind: if since.is_some() {
                ListKind::Delta
            } else {
                ListKind::Full
            },
            sequence: u64::try_from(sequence)
                .map_err(|_| StoreError::corrupt("device_seq", sequence))?,
            since,
            produced_at: GeneralizedTime::from_unix_duration(Duration::from_secs(secs))
                .map_err(|e| StoreError::corrupt("time", e))?,
            pairs,
        })
    }
}

/// The JSON view of a decision, as `POST /v1/devices` and `GET /v1/requests/{code}` answer.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DecisionView {
    /// The tracking code.
    pub tracking_code: String,
    /// `approved` or `refused`.
    pub decision: String,
    /// Reason codes (empty when approved).
    pub reasons: Vec<ReasonView>,
    /// The IMEIs (normalised when they parsed).
    pub imeis: Vec<String>,
    /// When it was decided (RFC 3339).
    pub decided_at: String,
    /// The snapshot version it was decided against.
    pub snapshot_version: u64,
    /// Where the signed receipt is.
    pub receipt_url: String,
}

/// One reason in [`DecisionView`].
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct ReasonView {
    /// The reason code.
    pub code: String,
    /// The IMEI it is about, when it is about one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imei: Option<String>,
}

impl DecisionView {
    /// The view of a receipt's content.
    pub fn of(receipt: &DeviceReceipt) -> Self {
        let decided_at = gica_pki::Rfc3339(receipt.decided_at.to_system_time()).to_string();
        Self {
            tracking_code: receipt.tracking_code.clone(),
            decision: receipt.decision.as_str().to_owned(),
            reasons: receipt
                .reasons
                .iter()
                .map(|r| ReasonView {
                    code: r.code.clone(),
                    imei: r.imei.clone(),
                })
                .collect(),
            imeis: receipt.imeis.clone(),
            decided_at,
            snapshot_version: receipt.snapshot.version,
            receipt_url: format!("/v1/receipts/{}", receipt.tracking_code),
        }
    }

    /// Whether it was approved.
    pub fn approved(&self) -> bool {
        self.decision == Decision::Approved.as_str()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_name_the_field() {
        let field = |body: &str| AddDevice::from_json(body.as_bytes()).map_err(|e| e.field);
        assert_eq!(field("nope"), Err("body"));
        assert_eq!(field("[]"), Err("body"));
        assert_eq!(field(r#"{"imeis":["1"]}"#), Err("national_id"));
        assert_eq!(
            field(r#"{"national_id":1,"imeis":["1"]}"#),
            Err("national_id")
        );
        assert_eq!(field(r#"{"national_id":"1"}"#), Err("imeis"));
        assert_eq!(field(r#"{"national_id":"1","imeis":"x"}"#), Err("imeis"));
        assert_eq!(field(r#"{"national_id":"1","imeis":[1]}"#), Err("imeis"));
        assert_eq!(
            field(r#"{"national_id":"1","imeis":["1"],"imsi":5}"#),
            Err("imsi")
        );
        assert_eq!(
            field(r#"{"national_id":"1","imeis":["1"],"extra":5}"#),
            Err("body")
        );
        let ok = AddDevice::from_json(
            br#"{"national_id":"0012345679","imeis":["490154203237518"],"msisdn":"09121234567"}"#,
        );
        let request = ok.as_ref().map(AddDevice::validate);
        assert!(matches!(request, Ok(Ok(_))), "{request:?}");
        let bad_imsi = AddDevice {
            imsi: Some("12".into()),
            ..ok.clone().unwrap_or_default()
        };
        assert_eq!(bad_imsi.validate().map_err(|e| e.field).err(), Some("imsi"));
        let no_sim = AddDevice {
            msisdn: None,
            ..ok.unwrap_or_default()
        };
        assert_eq!(no_sim.validate().map_err(|e| e.field).err(), Some("msisdn"));
    }
}
