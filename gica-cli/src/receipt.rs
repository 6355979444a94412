//! `gica receipt`: verify the device registry's receipts, and show its signed objects
//! (receipts, snapshots, export lists).
//!
//! A receipt is a gica proof (`gica_pki::proof`): CMS SignedData over a DER
//! `DeviceReceipt`, signed by the registry, with an RFC 3161 token on the signature. Verifying
//! it means the proof (signature, signer path at the token's genTime, token), then the content:
//! a well-formed DeviceReceipt whose approvals carry one RFC 9162 inclusion proof per
//! (IMEI, IMSI) pair that leads to the snapshot root the receipt names; and, given the
//! registry's signed snapshot, that the root is the registry's.

use std::{path::Path, time::SystemTime};

use gica_pki::{
    cert::{PathError, PathOptions, verify_path_with},
    der::{Decode, Encode, asn1::ObjectIdentifier},
    merkle, oid,
    proof::{self, ProofError, ProofParts, ProofVerifier, VerifiedProof, read_proof},
    tsp::{VerifyError, read_token},
    x509_cert::Certificate,
};
use gica_registry::{
    domain::TrackingCode,
    receipt::{
        Decision, DeviceReceipt, ListKind, MAX_IMEIS, PairEntry, PairList, RegistrySnapshot,
        SnapshotRef,
    },
};
use serde_json::{Value, json};

use crate::{
    cli::ReceiptVerify,
    fmt, input,
    net::Http,
    report::{CliError, Code, Report},
};

/// Pairs of an export list `show` prints unless told to print all.
const SHOWN_PAIRS: usize = 10;

/// The registry's object types, by eContentType.
fn kind(content_type: &ObjectIdentifier) -> Option<&'static str> {
    match *content_type {
        oid::CT_REGISTRY_RECEIPT => Some("registry receipt"),
        oid::CT_REGISTRY_SNAPSHOT => Some("registry snapshot"),
        oid::CT_REGISTRY_EXPORT => Some("registry export list"),
        _ => None,
    }
}

fn kind_or_oid(content_type: &ObjectIdentifier) -> String {
    kind(content_type).map_or_else(|| fmt::oid(content_type), |k| format!("a {k}"))
}

/// Reads a signed object: DER, or PEM (`PKCS7` or `CMS`), at most the proof size limit.
fn read_signed(path: &Path) -> Result<(String, Vec<u8>), CliError> {
    let name = path.display().to_string();
    let bytes = input::read_file(path, proof::DEFAULT_MAX_LEN as u64)?;
    let der = input::der_blocks(&bytes, &["PKCS7", "CMS"], &name)?
        .into_iter()
        .next()
        .ok_or_else(|| CliError::Usage(format!("{name}: empty")))?;
    Ok((name, der))
}

/// Decodes `der` as `T` and insists it is the one DER encoding of the value: a signed record
/// has exactly one byte form.
fn decode_exact<T: for<'a> Decode<'a, Error = gica_pki::der::Error> + Encode>(
    der: &[u8],
) -> Result<T, String> {
    let value = T::from_der(der).map_err(|e| e.to_string())?;
    match value.to_der() {
        Ok(again) if again == der => Ok(value),
        Ok(_) => Err("not in DER (it re-encodes differently)".into()),
        Err(e) => Err(e.to_string()),
    }
}

/// What proofs are checked against, and when.
struct Checker {
    anchors: Vec<Certificate>,
    tsa_anchors: Option<Vec<Certificate>>,
    untrusted: Vec<Certificate>,
    crls: Vec<Vec<u8>>,
    /// Also check both paths at this time (`--at now|RFC3339`); `None`: at genTime only.
    at: Option<SystemTime>,
    now: SystemTime,
}

impl Checker {
    /// Verifies a proof of `content_type`: signature, signer path at genTime, token (and
    /// both paths at `--at` too, when given).
    fn verify(
        &self,
        der: &[u8],
        content_type: ObjectIdentifier,
        name: &str,
    ) -> Result<VerifiedProof, CliError> {
        let mut verifier = ProofVerifier::new(self.anchors.clone())
            .content_type(content_type)
            .untrusted(self.untrusted.clone())
            .crls(self.crls.clone());
        if let Some(tsa) = &self.tsa_anchors {
            verifier = verifier.tsa_anchors(tsa.clone());
        }
        let proof = verifier.verify(der, self.now).map_err(|e| {
            let e = match e {
                ProofError::TimeStamp(VerifyError::Path(PathError::NoPath))
                    if self.tsa_anchors.is_none() && self.signer_has_no_path(der) =>
                {
                    ProofError::SignerPath(PathError::NoPath)
                }
                e => e,
            };
            proof_failed(name, content_type, e, self.tsa_anchors.is_some())
        })?;
        if let Some(at) = self.at {
            self.check_paths_at(&proof, name, at)?;
        }
        Ok(proof)
    }

    /// Whether the signer has no path to the anchors either. Wrong anchors fail the token's
    /// path first (the verifier checks the token before the signer); the registry not being
    /// trusted is then the plainer thing to say.
    fn signer_has_no_path(&self, der: &[u8]) -> bool {
        let Ok(parts) = read_proof(der) else {
            return false;
        };
        let Some(signer) = parts.signer else {
            return false;
        };
        let at = parts
            .time_stamp_token
            .as_deref()
            .and_then(|t| read_token(t).and_then(|c| c.granted()).ok())
            .map_or(self.now, |t| t.tst_info.gen_time.to_system_time());
        let pool: Vec<Certificate> = parts
            .certificates
            .iter()
            .chain(&self.untrusted)
            .cloned()
            .collect();
        matches!(
            verify_path_with(&signer, &pool, &self.anchors, at, &PathOptions::default()),
            Err(PathError::NoPath)
        )
    }

    fn check_paths_at(
        &self,
        proof: &VerifiedProof,
        name: &str,
        at: SystemTime,
    ) -> Result<(), CliError> {
        let token = proof.time_stamp.as_ref();
        let pool: Vec<Certificate> = proof
            .chain
            .iter()
            .chain(token.map_or(&[][..], |t| t.path.as_slice()))
            .chain(&self.untrusted)
            .cloned()
            .collect();
        let options = PathOptions::default().crls(self.crls.clone());
        let when = fmt::time(at);
        verify_path_with(&proof.signer, &pool, &self.anchors, at, &options)
            .map_err(|e| path_failed(name, "the signer's certificate", &when, e))?;
        if let Some(token) = token {
            let anchors = self.tsa_anchors.as_ref().unwrap_or(&self.anchors);
            let options = options.purpose(oid::KP_TIME_STAMPING);
            verify_path_with(&token.signer, &pool, anchors, at, &options)
                .map_err(|e| path_failed(name, "the TSA's certificate", &when, e))?;
        }
        Ok(())
    }
}

fn path_failed(name: &str, whose: &str, when: &str, e: PathError) -> CliError {
    match e {
        PathError::RevocationUnknown { subject } => unknown_revocation(name, whose, &subject),
        e => CliError::Failed {
            message: format!("{name}: {whose} path is not valid at {when}: {e}"),
            hint: Some(
                "--at gentime checks the paths when the time-stamp was made, as CAdES-T does"
                    .into(),
            ),
        },
    }
}

fn unknown_revocation(name: &str, whose: &str, subject: &str) -> CliError {
    CliError::Unknown {
        message: format!(
            "{name}: the revocation status of {subject} ({whose} path) is unknown: \
             no CRL given covers it"
        ),
        hint: Some(
            "give a CRL for every certificate below the anchor (--crl), one per issuer".into(),
        ),
    }
}

/// A proof's refusal, said as the check that failed.
fn proof_failed(
    name: &str,
    expected: ObjectIdentifier,
    e: ProofError,
    tsa_anchors_given: bool,
) -> CliError {
    let failed = |check: &str, hint: Option<&str>| CliError::Failed {
        message: format!("{name}: {check}: {e}"),
        hint: hint.map(Into::into),
    };
    match &e {
        ProofError::SignerPath(PathError::RevocationUnknown { subject }) => {
            unknown_revocation(name, "the signer's certificate", subject)
        }
        ProofError::TimeStamp(VerifyError::Path(PathError::RevocationUnknown { subject })) => {
            unknown_revocation(name, "the TSA's certificate", subject)
        }
        ProofError::ContentType { found, .. } => CliError::Failed {
            message: format!(
                "{name}: this is {}, not {}",
                kind_or_oid(found),
                kind_or_oid(&expected)
            ),
            hint: Some("`gica receipt show` shows any of the registry's objects".into()),
        },
        ProofError::TooLarge { .. }
        | ProofError::Malformed { .. }
        | ProofError::NotSignedData { .. }
        | ProofError::Structure(_)
        | ProofError::TooMany { .. }
        | ProofError::SignerCount { .. }
        | ProofError::ContentMissing => failed("not a well-formed signed object", None),
        ProofError::MessageDigest => failed("the content was changed after it was signed", None),
        ProofError::ContentTypeAttribute { .. }
        | ProofError::Signature(_)
        | ProofError::SigningCertificate(_) => failed("the signature does not verify", None),
        ProofError::SignerCertificateMissing => failed(
            "the signer's certificate is missing",
            Some("give it with --untrusted"),
        ),
        ProofError::SignerCertificate(_) => failed("the signer's certificate may not sign", None),
        ProofError::SignerPath(PathError::NoPath) => failed(
            "the signer's certificate is not trusted",
            Some(
                "check --anchors (the registry's root); give missing intermediates with --untrusted",
            ),
        ),
        ProofError::SignerPath(_) => failed(
            "the signer's certificate is not trusted at the time-stamp's genTime",
            None,
        ),
        ProofError::TimeStampMissing => failed(
            "the time-stamp is missing",
            Some("a receipt proves its time only with the TSA's token on its signature"),
        ),
        ProofError::TimeStampImprint => failed("the time-stamp is not over this signature", None),
        ProofError::TimeStamp(VerifyError::Path(PathError::NoPath)) => failed(
            "the time-stamp does not verify",
            Some(if tsa_anchors_given {
                "check --tsa-anchors (the TSA's root)"
            } else {
                "if the TSA has other roots than the registry, give them with --tsa-anchors"
            }),
        ),
        ProofError::TimeStamp(_) => failed("the time-stamp does not verify", None),
        _ => failed("it does not verify", None),
    }
}

pub fn verify(args: &ReceiptVerify, http: &Http, now: SystemTime) -> Result<Report, CliError> {
    let (name, der) = read_signed(&args.receipt)?;
    let snapshot_file = args.snapshot.as_deref().map(read_signed).transpose()?;
    let mut untrusted = Vec::new();
    for u in &args.untrusted {
        untrusted.extend(input::cert_file(u)?);
    }
    let at = match args.at.to_ascii_lowercase().as_str() {
        "gentime" => None,
        other => Some(input::time(other, now)?),
    };
    let checker = Checker {
        anchors: input::cert_file(&args.anchors)?,
        tsa_anchors: args
            .tsa_anchors
            .as_deref()
            .map(input::cert_file)
            .transpose()?,
        untrusted,
        crls: args
            .crl
            .iter()
            .map(|c| crate::crl::crl_der(c, http))
            .collect::<Result<Vec<_>, _>>()?,
        at,
        now,
    };

    let proof = checker.verify(&der, oid::CT_REGISTRY_RECEIPT, &name)?;
    let receipt: DeviceReceipt = decode_exact(&proof.content).map_err(|e| {
        CliError::failed(format!(
            "{name}: the signed content is not a DeviceReceipt: {e}"
        ))
    })?;

    let mut problems = check_content(&receipt);
    let proofs = check_proofs(&receipt);
    problems.extend(proofs.iter().filter_map(|p| {
        p.result
            .as_ref()
            .err()
            .map(|e| format!("inclusion proof of IMEI {}: {e}", p.imei))
    }));
    let snapshot_check = match &snapshot_file {
        None => "not checked".to_string(),
        Some((snap_name, snap_der)) => {
            let snap = checker.verify(snap_der, oid::CT_REGISTRY_SNAPSHOT, snap_name)?;
            let signed: RegistrySnapshot = decode_exact(&snap.content).map_err(|e| {
                CliError::failed(format!(
                    "{snap_name}: the signed content is not a RegistrySnapshot: {e}"
                ))
            })?;
            match snapshot_mismatch(&receipt.snapshot, &signed.snapshot) {
                Some(m) => {
                    problems.push(format!("the snapshot in {snap_name} {m}"));
                    format!("FAILED: {snap_name} {m}")
                }
                None => format!(
                    "matches {snap_name}, signed by {}{}",
                    fmt::subject(&snap.signer),
                    snap.gen_time()
                        .map(|t| format!(", time-stamped at {t}"))
                        .unwrap_or_default()
                ),
            }
        }
    };

    let token = proof.time_stamp.as_ref();
    let gen_time = proof.gen_time().map(|t| t.to_string());
    let mut r = match problems.first() {
        Some(first) => Report::new(Code::Failed, "FAILED", format!("{name}: {first}")),
        None => Report::new(
            Code::Ok,
            "verified",
            format!(
                "receipt {}: {} for owner {}, signed by {}{}",
                receipt.tracking_code,
                receipt.decision.as_str(),
                receipt.owner,
                fmt::subject(&proof.signer),
                gen_time
                    .as_ref()
                    .map(|t| format!(", time-stamped at {t}"))
                    .unwrap_or_default()
            ),
        ),
    };
    if problems.len() > 1 {
        r.field("problems", problems.clone());
    }
    receipt_fields(&mut r, &receipt);
    r.field("snapshot_check", snapshot_check);
    r.field(
        "proofs",
        proofs.iter().map(ProofCheck::to_json).collect::<Vec<_>>(),
    );
    r.opt("gen_time", gen_time);
    r.field(
        "validated_at",
        match at {
            None => "genTime".to_string(),
            Some(t) => format!("genTime and {}", fmt::time(t)),
        },
    );
    r.field("signer", fmt::subject(&proof.signer));
    r.field(
        "chain",
        proof.chain.iter().map(fmt::subject).collect::<Vec<_>>(),
    );
    r.opt("tsa", token.map(|t| fmt::subject(&t.signer)));
    r.opt(
        "tsa_serial",
        token.map(|t| fmt::serial_hex(t.tst_info.serial_number.as_bytes())),
    );
    if args.crl.is_empty() {
        r.field("revocation", "not checked");
        r.note("revocation of the registry's and the TSA's chains was not checked (give --crl)");
    } else {
        r.field(
            "revocation",
            format!("not revoked per {} CRL(s)", args.crl.len()),
        );
    }
    if snapshot_file.is_none() {
        r.note(
            "the snapshot root is the one the receipt names; give --snapshot SNAPSHOT.p7m to \
             check it against the registry's signed snapshot",
        );
    }
    Ok(r)
}

/// The rules of the receipt's ASN.1 that its DER type cannot state: what the registry never
/// signs.
fn check_content(receipt: &DeviceReceipt) -> Vec<String> {
    let mut problems = Vec::new();
    if receipt.version != 1 {
        problems.push(format!("receipt version {} is not 1", receipt.version));
    }
    if let Err(e) = TrackingCode::parse(&receipt.tracking_code) {
        problems.push(format!("{:?} ({e})", receipt.tracking_code));
    }
    if receipt.imeis.is_empty() || receipt.imeis.len() > MAX_IMEIS {
        problems.push(format!(
            "{} IMEIs; a receipt names 1 to {MAX_IMEIS}",
            receipt.imeis.len()
        ));
    }
    if receipt.snapshot.root_hash.as_bytes().len() != merkle::HASH_LEN {
        problems.push(format!(
            "the snapshot root is {} octets, not {}",
            receipt.snapshot.root_hash.as_bytes().len(),
            merkle::HASH_LEN
        ));
    }
    match receipt.decision {
        Decision::Approved if !receipt.reasons.is_empty() => {
            problems.push("approved, yet it gives refusal reasons".into());
        }
        Decision::Refused if receipt.reasons.is_empty() => {
            problems.push("refused without a reason".into());
        }
        Decision::Refused if !receipt.proofs.is_empty() => {
            problems.push("refused, yet it carries inclusion proofs".into());
        }
        _ => {}
    }
    problems
}

/// One inclusion proof's result (or an approved IMEI's missing proof).
#[derive(Debug)]
struct ProofCheck {
    imei: String,
    imsi: Option<String>,
    leaf_index: Option<u64>,
    result: Result<(), String>,
}

impl ProofCheck {
    fn to_json(&self) -> Value {
        json!({
            "imei": self.imei,
            "imsi": self.imsi,
            "leaf_index": self.leaf_index,
            "result": match &self.result {
                Ok(()) => "included".to_string(),
                Err(e) => format!("FAILED: {e}"),
            },
        })
    }
}

/// Checks every inclusion proof of an approval against the receipt's snapshot root, and that
/// each IMEI has exactly one, for the request's SIM.
fn check_proofs(receipt: &DeviceReceipt) -> Vec<ProofCheck> {
    if receipt.decision != Decision::Approved {
        return Vec::new();
    }
    let snapshot = &receipt.snapshot;
    let root: Option<merkle::Hash> = snapshot.root_hash.as_bytes().try_into().ok();
    let mut checks: Vec<ProofCheck> = receipt
        .proofs
        .iter()
        .map(|p| {
            let result = (|| {
                if !receipt.imeis.contains(&p.pair.imei) {
                    return Err("the receipt does not name this IMEI".to_string());
                }
                if receipt
                    .proofs
                    .iter()
                    .filter(|q| q.pair.imei == p.pair.imei)
                    .count()
                    > 1
                {
                    return Err("more than one proof for this IMEI".into());
                }
                if let Some(imsi) = &receipt.sim.imsi
                    && *imsi != p.pair.imsi
                {
                    return Err(format!(
                        "the pair's IMSI {} is not the request's SIM {imsi}",
                        p.pair.imsi
                    ));
                }
                // The size comes from the receipt's snapshot, never from the proof alone: a
                // path has the same shape in trees of some other sizes.
                if p.proof.tree_size != snapshot.tree_size {
                    return Err(format!(
                        "the proof is for a tree of {} pairs, the snapshot has {}",
                        p.proof.tree_size, snapshot.tree_size
                    ));
                }
                let root = root.ok_or("the snapshot root is not a SHA-256 hash")?;
                let leaf = p.pair.leaf_hash().map_err(|e| e.to_string())?;
                merkle::verify_inclusion(
                    p.proof.leaf_index,
                    snapshot.tree_size,
                    &leaf,
                    p.proof.path.as_slice(),
                    &root,
                )
                .map_err(|e| e.to_string())
            })();
            ProofCheck {
                imei: p.pair.imei.clone(),
                imsi: Some(p.pair.imsi.clone()),
                leaf_index: Some(p.proof.leaf_index),
                result,
            }
        })
        .collect();
    for imei in &receipt.imeis {
        if !receipt.proofs.iter().any(|p| &p.pair.imei == imei) {
            checks.push(ProofCheck {
                imei: imei.clone(),
                imsi: None,
                leaf_index: None,
                result: Err("approved without an inclusion proof".into()),
            });
        }
    }
    checks
}

/// How the signed snapshot differs from the one the receipt names, if it does.
fn snapshot_mismatch(named: &SnapshotRef, signed: &SnapshotRef) -> Option<String> {
    let describe = |s: &SnapshotRef| {
        format!(
            "version {}, {} pairs, root {}",
            s.version,
            s.tree_size,
            hex::encode(s.root_hash.as_bytes())
        )
    };
    (named != signed).then(|| {
        let cutoff = if named.cutoff != signed.cutoff {
            format!(
                " (cutoff {} against {})",
                fmt::time(signed.cutoff.to_system_time()),
                fmt::time(named.cutoff.to_system_time())
            )
        } else {
            String::new()
        };
        format!(
            "is {}{cutoff}; the receipt names {}",
            describe(signed),
            describe(named)
        )
    })
}

fn snapshot_json(s: &SnapshotRef) -> Value {
    json!({
        "version": s.version,
        "cutoff": fmt::time(s.cutoff.to_system_time()),
        "tree_size": s.tree_size,
        "root": hex::encode(s.root_hash.as_bytes()),
    })
}

fn pair_json(p: &PairEntry) -> Value {
    json!({ "imei": p.imei, "imsi": p.imsi })
}

fn receipt_fields(r: &mut Report, receipt: &DeviceReceipt) {
    r.field("tracking_code", receipt.tracking_code.as_str())
        .field("decision", receipt.decision.as_str())
        .field("decided_at", fmt::time(receipt.decided_at.to_system_time()))
        .field("owner", receipt.owner.as_str())
        .field("imeis", receipt.imeis.clone())
        .field("sim_imsi", receipt.sim.imsi.clone())
        .field("sim_msisdn", receipt.sim.msisdn.clone())
        .field(
            "reasons",
            receipt
                .reasons
                .iter()
                .map(|x| json!({ "code": x.code, "imei": x.imei }))
                .collect::<Vec<_>>(),
        )
        .field("snapshot", snapshot_json(&receipt.snapshot));
}

pub fn show(path: &Path, all: bool) -> Result<Report, CliError> {
    let (name, der) = read_signed(path)?;
    let parts = read_proof(&der)
        .map_err(|e| CliError::Usage(format!("{name}: not a signed object: {e}")))?;
    let bad_content = |what: &str, e: String| {
        CliError::Usage(format!("{name}: the content is not a {what}: {e}"))
    };
    let mut r = Report::new(
        Code::Ok,
        "shown",
        format!("{name}: {}", kind_or_oid(&parts.content_type)),
    );
    r.field("content_type", fmt::oid(&parts.content_type));
    match parts.content_type {
        oid::CT_REGISTRY_RECEIPT => {
            let receipt: DeviceReceipt =
                decode_exact(&parts.content).map_err(|e| bad_content("DeviceReceipt", e))?;
            receipt_fields(&mut r, &receipt);
            r.field(
                "proofs",
                receipt
                    .proofs
                    .iter()
                    .map(|p| {
                        json!({
                            "imei": p.pair.imei,
                            "imsi": p.pair.imsi,
                            "leaf_index": p.proof.leaf_index,
                            "tree_size": p.proof.tree_size,
                            "path_hashes": p.proof.path.len(),
                        })
                    })
                    .collect::<Vec<_>>(),
            );
        }
        oid::CT_REGISTRY_SNAPSHOT => {
            let snap: RegistrySnapshot =
                decode_exact(&parts.content).map_err(|e| bad_content("RegistrySnapshot", e))?;
            r.field("snapshot", snapshot_json(&snap.snapshot));
            r.field("created_at", fmt::time(snap.created_at.to_system_time()));
        }
        oid::CT_REGISTRY_EXPORT => {
            let list: PairList =
                decode_exact(&parts.content).map_err(|e| bad_content("PairList", e))?;
            r.field(
                "kind",
                match list.kind {
                    ListKind::Full => "full",
                    ListKind::Delta => "delta",
                },
            );
            r.field("sequence", list.sequence);
            r.opt("since", list.since);
            r.field("produced_at", fmt::time(list.produced_at.to_system_time()));
            r.field("pair_count", list.pairs.len());
            let shown = if all {
                list.pairs.len()
            } else {
                SHOWN_PAIRS.min(list.pairs.len())
            };
            r.field(
                "pairs",
                list.pairs
                    .iter()
                    .take(shown)
                    .map(pair_json)
                    .collect::<Vec<_>>(),
            );
            if shown < list.pairs.len() {
                r.note(format!(
                    "{} more pairs (--entries lists them all)",
                    list.pairs.len() - shown
                ));
            }
        }
        _ => {
            r.field("content_octets", parts.content.len());
        }
    }
    signature_fields(&mut r, &parts);
    r.note(match parts.content_type {
        oid::CT_REGISTRY_RECEIPT => "shown, not verified: use `gica receipt verify` to check it",
        oid::CT_REGISTRY_SNAPSHOT => {
            "shown, not verified: `gica receipt verify --snapshot` checks it with a receipt"
        }
        _ => "shown, not verified",
    });
    Ok(r)
}

/// Who signed and stamped, as the object says (nothing checked).
fn signature_fields(r: &mut Report, parts: &ProofParts) {
    r.field(
        "signer",
        parts
            .signer
            .as_ref()
            .map(fmt::subject)
            .unwrap_or_else(|| "(its certificate is not in the file)".into()),
    );
    r.opt("signing_time", parts.signing_time.map(fmt::time));
    match &parts.time_stamp_token {
        None => {
            r.field("time_stamp", "none");
        }
        Some(token) => match read_token(token).and_then(|c| c.granted()) {
            Ok(t) => {
                r.field("gen_time", t.tst_info.gen_time.to_string());
                r.field(
                    "tsa",
                    t.signer_certificate()
                        .map(fmt::subject)
                        .or_else(|| t.tst_info.tsa.as_ref().map(fmt::general_name))
                        .unwrap_or_else(|| "(not named)".into()),
                );
            }
            Err(e) => {
                r.field("time_stamp", format!("unreadable: {e}"));
            }
        },
    }
    r.field(
        "certificates",
        parts
            .certificates
            .iter()
            .map(|c| format!("{} (serial {})", fmt::subject(c), fmt::cert_serial(c)))
            .collect::<Vec<_>>(),
    );
}

#[cfg(test)]
mod tests {
    use gica_pki::{
        der::asn1::{GeneralizedTime, OctetString},
        merkle::{InclusionProof, MerkleTree},
    };
    use gica_registry::receipt::{PairProof, Refusal, Sim};

    use super::*;

    fn pairs() -> Vec<PairEntry> {
        (0..7)
            .map(|i| PairEntry {
                imei: format!("{:014}", 35_000_000_000_000u64 + i),
                imsi: format!("{:015}", 432_110_000_000_000u64 + i),
            })
            .collect()
    }

    fn approval() -> DeviceReceipt {
        let pairs = pairs();
        let leaves: Vec<_> = pairs.iter().map(|p| p.leaf_hash().expect("leaf")).collect();
        let tree = MerkleTree::new(leaves);
        let proof = |i: usize| PairProof {
            pair: pairs[i].clone(),
            proof: tree.inclusion_proof(i as u64).expect("proof"),
        };
        DeviceReceipt {
            version: 1,
            tracking_code: "0000005724".into(),
            decided_at: GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(
                1_800_000_000,
            ))
            .expect("time"),
            owner: "0010350829".into(),
            imeis: vec![pairs[3].imei.clone()],
            sim: Sim {
                imsi: Some(pairs[3].imsi.clone()),
                msisdn: Some("989121234567".into()),
            },
            decision: Decision::Approved,
            reasons: Vec::new(),
            snapshot: SnapshotRef {
                version: 1,
                cutoff: GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(
                    1_700_000_000,
                ))
                .expect("time"),
                tree_size: 7,
                root_hash: OctetString::new(tree.root().to_vec()).expect("root"),
            },
            proofs: vec![proof(3)],
        }
    }

    fn failures(r: &DeviceReceipt) -> Vec<String> {
        check_proofs(r)
            .into_iter()
            .filter_map(|c| c.result.err())
            .collect()
    }

    #[test]
    fn a_good_approval_passes_every_check() {
        let r = approval();
        assert!(check_content(&r).is_empty());
        let checks = check_proofs(&r);
        assert_eq!(checks.len(), 1);
        assert_eq!(checks[0].result, Ok(()));
        assert_eq!(checks[0].leaf_index, Some(3));
    }

    #[test]
    fn a_proof_that_leads_elsewhere_fails() {
        let mut r = approval();
        let mut path = r.proofs[0].proof.path.clone().into_vec();
        path[0][0] ^= 1;
        r.proofs[0].proof.path = path.try_into().expect("path");
        assert_eq!(
            failures(&r),
            ["the inclusion proof leads to a different root"]
        );
        // The same proof at another leaf index.
        let mut r = approval();
        r.proofs[0].proof.leaf_index = 2;
        assert_eq!(failures(&r).len(), 1);
    }

    #[test]
    fn the_tree_size_comes_from_the_snapshot_not_the_proof() {
        let mut r = approval();
        r.proofs[0].proof = InclusionProof {
            tree_size: 8,
            ..r.proofs[0].proof.clone()
        };
        let f = failures(&r);
        assert!(
            f[0].contains("tree of 8 pairs, the snapshot has 7"),
            "{f:?}"
        );
    }

    #[test]
    fn every_imei_of_an_approval_needs_its_own_proof_for_the_sim() {
        let mut r = approval();
        r.imeis.push(pairs()[4].imei.clone());
        let f = failures(&r);
        assert_eq!(f, ["approved without an inclusion proof"]);

        let mut r = approval();
        r.proofs.push(r.proofs[0].clone());
        assert_eq!(failures(&r).len(), 2, "both copies are refused");

        let mut r = approval();
        r.sim.imsi = Some(pairs()[4].imsi.clone());
        assert!(failures(&r)[0].contains("is not the request's SIM"));
        // Matched by MSISDN (the web portal): no IMSI to compare.
        r.sim.imsi = None;
        assert!(failures(&r).is_empty());

        let mut r = approval();
        r.imeis = vec![pairs()[4].imei.clone()];
        let f = failures(&r);
        assert!(
            f.contains(&"the receipt does not name this IMEI".to_string()),
            "{f:?}"
        );
    }

    #[test]
    fn content_rules_the_der_type_cannot_state() {
        let mut r = approval();
        r.version = 2;
        r.tracking_code = "0000007524".into();
        r.reasons.push(Refusal {
            code: "blocklisted".into(),
            imei: None,
        });
        r.snapshot.root_hash = OctetString::new(vec![0; 31]).expect("octets");
        let p = check_content(&r);
        assert_eq!(p.len(), 4, "{p:?}");
        assert!(p[0].contains("version 2"));
        assert!(p[1].contains("\"0000007524\" (tracking code"), "{p:?}");
        assert!(p[2].contains("31 octets"));
        assert!(p[3].contains("approved, yet"));

        let mut r = approval();
        r.decision = Decision::Refused;
        assert_eq!(check_content(&r), ["refused without a reason"]);
        assert!(
            check_proofs(&r).is_empty(),
            "refusals have no proofs to check"
        );
        r.reasons.push(Refusal {
            code: "owner-limit".into(),
            imei: None,
        });
        assert_eq!(
            check_content(&r),
            ["refused, yet it carries inclusion proofs"]
        );
        r.proofs.clear();
        assert!(check_content(&r).is_empty());
    }

    #[test]
    fn snapshot_mismatch_names_both_sides() {
        let named = approval().snapshot;
        assert_eq!(snapshot_mismatch(&named, &named), None);
        let mut other = named.clone();
        other.root_hash = OctetString::new(vec![0xab; 32]).expect("octets");
        let m = snapshot_mismatch(&named, &other).expect("mismatch");
        assert!(m.starts_with(&format!("is version 1, 7 pairs, root {}", "ab".repeat(32))));
        assert!(m.contains("the receipt names version 1, 7 pairs, root"));
    }

    #[test]
    fn decode_exact_refuses_non_der_and_trailing_bytes() {
        let der = approval().to_der().expect("der");
        assert!(decode_exact::<DeviceReceipt>(&der).is_ok());
        let mut trailing = der.clone();
        trailing.push(0);
        assert!(decode_exact::<DeviceReceipt>(&trailing).is_err());
        // The outer length in one more octet than it needs.
        let octets = usize::from(der[1] & 0x7f);
        assert!(der[1] & 0x80 != 0 && octets < 4, "a long-form length");
        let mut long = vec![0x30, der[1] + 1, 0];
        long.extend_from_slice(&der[2..]);
        assert!(decode_exact::<DeviceReceipt>(&long).is_err());
    }
}
