//! The registry's signed objects, in DER: decision receipts, frozen snapshots and export
//! lists, and the (IMEI, IMSI) entries their Merkle trees are made of.
//!
//! Each travels as a CMS SignedData (see [`gica_pki::proof`]) whose eContentType names it:
//! [`oid::CT_REGISTRY_RECEIPT`], [`oid::CT_REGISTRY_SNAPSHOT`], [`oid::CT_REGISTRY_EXPORT`].
//! The ASN.1 module, in one place:
//!
//! ```text
//! GicaRegistry DEFINITIONS IMPLICIT TAGS ::= BEGIN
//!
//! -- A leaf of a snapshot's Merkle tree: leaf hash = SHA-256(0x00 || DER(PairEntry)),
//! -- leaves ordered by (imei, imsi) as octet strings.
//! PairEntry ::= SEQUENCE {
//!     imei    UTF8String (SIZE (14)),      -- the 14-digit body, no check digit
//!     imsi    UTF8String (SIZE (15)) }
//!
//! DeviceReceipt ::= SEQUENCE {             -- eContentType id-gica-registry-receipt
//!     version       INTEGER { v1(1) },
//!     trackingCode  UTF8String (SIZE (10)), -- 9 digits and a Damm check digit
//!     decidedAt     GeneralizedTime,
//!     owner         UTF8String (SIZE (10)), -- national ID
//!     imeis         SEQUENCE SIZE (1..4) OF UTF8String (SIZE (1..32)), -- as given
//!     sim           Sim,
//!     decision      Decision,
//!     reasons       SEQUENCE SIZE (0..16) OF Refusal,  -- empty when approved
//!     snapshot      SnapshotRef,
//!     proofs        SEQUENCE SIZE (0..4) OF PairProof } -- one per IMEI when approved
//!
//! Sim ::= SEQUENCE {
//!     imsi    [0] UTF8String (SIZE (15)) OPTIONAL,
//!     msisdn  [1] UTF8String (SIZE (1..16)) OPTIONAL }   -- E.164 digits, 98...
//!
//! Decision ::= ENUMERATED { approved(0), refused(1) }
//!
//! Refusal ::= SEQUENCE {
//!     code  UTF8String,              -- invalid-imei, not-seen-before-cutoff, ...
//!     imei  UTF8String OPTIONAL }    -- the IMEI it is about, as given
//!
//! SnapshotRef ::= SEQUENCE {
//!     version   INTEGER,
//!     cutoff    GeneralizedTime,
//!     treeSize  INTEGER,
//!     rootHash  OCTET STRING (SIZE (32)) }
//!
//! PairProof ::= SEQUENCE {
//!     pair   PairEntry,
//!     proof  InclusionProof }        -- gica_pki::merkle: leafIndex, treeSize, path
//!
//! RegistrySnapshot ::= SEQUENCE {    -- eContentType id-gica-registry-snapshot
//!     snapshot   SnapshotRef,
//!     createdAt  GeneralizedTime }
//!
//! PairList ::= SEQUENCE {            -- eContentType id-gica-registry-export
//!     kind        ListKind,
//!     sequence    INTEGER,           -- the newest change the list includes
//!     since       [0] INTEGER OPTIONAL,  -- delta lists: changes after this one
//!     producedAt  GeneralizedTime,
//!     pairs       SEQUENCE OF PairEntry }
//!
//! ListKind ::= ENUMERATED { full(0), delta(1) }
//! END
//! ```

use der::asn1::{GeneralizedTime, OctetString};
use der::{Enumerated, Sequence};
use gica_pki::merkle::InclusionProof;

pub use gica_pki::oid;

/// Most IMEIs one request may name (multi-SIM phones have up to four).
pub const MAX_IMEIS: usize = 4;

/// A leaf of a snapshot's Merkle tree.
///
/// ```text
/// PairEntry ::= SEQUENCE { imei UTF8String (SIZE (14)), imsi UTF8String (SIZE (15)) }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Ord, PartialOrd, Hash, Sequence)]
pub struct PairEntry {
    /// The IMEI's 14-digit body.
    pub imei: String,
    /// The IMSI, 15 digits.
    pub imsi: String,
}

impl PairEntry {
    /// The RFC 9162 leaf hash of this entry: `SHA-256(0x00 || DER)`.
    pub fn leaf_hash(&self) -> Result<gica_pki::merkle::Hash, der::Error> {
        use der::Encode;
        Ok(gica_pki::merkle::leaf_hash(&self.to_der()?))
    }
}

/// The decision of a receipt.
///
/// ```text
/// Decision ::= ENUMERATED { approved(0), refused(1) }
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash, Enumerated)]
#[repr(u32)]
pub enum Decision {
    /// Every IMEI was added to the owner.
    Approved = 0,
    /// Nothing was added; the reasons say why.
    Refused = 1,
}

impl Decision {
    /// `approved` or `refused`, as the API and the database spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Approved => "approved",
            Self::Refused => "refused",
        }
    }
}

/// The SIM a request came from, as its channel asserted it.
///
/// ```text
/// Sim ::= SEQUENCE { imsi [0] UTF8String OPTIONAL, msisdn [1] UTF8String OPTIONAL }
/// ```
#[derive(Clone, Debug, Default, Eq, PartialEq, Sequence)]
pub struct Sim {
    /// The IMSI (USSD knows it; the web portal does not).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub imsi: Option<String>,
    /// The MSISDN, normalised to `98...`.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub msisdn: Option<String>,
}

/// One reason for a refusal.
///
/// ```text
/// Refusal ::= SEQUENCE { code UTF8String, imei UTF8String OPTIONAL }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct Refusal {
    /// The reason code ([`crate::decide::Reason::code`]).
    pub code: String,
    /// The IMEI it is about, as given, when it is about one.
    #[asn1(optional = "true")]
    pub imei: Option<String>,
}

/// Which snapshot a decision was made against.
///
/// ```text
/// SnapshotRef ::= SEQUENCE { version INTEGER, cutoff GeneralizedTime,
///                            treeSize INTEGER, rootHash OCTET STRING (SIZE (32)) }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct SnapshotRef {
    /// The snapshot's version, from 1.
    pub version: u64,
    /// The registry's cutoff: only sightings before it count.
    pub cutoff: GeneralizedTime,
    /// Leaves in the snapshot's tree.
    pub tree_size: u64,
    /// The tree's root (RFC 9162 MTH).
    pub root_hash: OctetString,
}

/// The inclusion proof of one approved (IMEI, IMSI) pair.
///
/// ```text
/// PairProof ::= SEQUENCE { pair PairEntry, proof InclusionProof }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PairProof {
    /// The pair.
    pub pair: PairEntry,
    /// Its inclusion proof in the snapshot's tree.
    pub proof: InclusionProof,
}

/// A decision receipt: the content of the CMS SignedData the owner keeps.
///
/// The ASN.1 is in the [module documentation](self).
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct DeviceReceipt {
    /// 1.
    pub version: u8,
    /// The request's tracking code.
    pub tracking_code: String,
    /// When the decision was made.
    pub decided_at: GeneralizedTime,
    /// The owner's national ID.
    pub owner: String,
    /// The IMEIs, as given (normalised to 14 digits when they parsed).
    pub imeis: Vec<String>,
    /// The SIM the request came from.
    pub sim: Sim,
    /// Approved or refused.
    pub decision: Decision,
    /// Why it was refused; empty when approved.
    pub reasons: Vec<Refusal>,
    /// The snapshot the decision was made against.
    pub snapshot: SnapshotRef,
    /// One inclusion proof per IMEI when approved; empty when refused.
    pub proofs: Vec<PairProof>,
}

/// A frozen snapshot, signed and time-stamped when it is made.
///
/// ```text
/// RegistrySnapshot ::= SEQUENCE { snapshot SnapshotRef, createdAt GeneralizedTime }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct RegistrySnapshot {
    /// Version, cutoff, size and root.
    pub snapshot: SnapshotRef,
    /// When it was frozen.
    pub created_at: GeneralizedTime,
}

/// Full list or delta.
///
/// ```text
/// ListKind ::= ENUMERATED { full(0), delta(1) }
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash, Enumerated)]
#[repr(u32)]
pub enum ListKind {
    /// Every approved pair up to `sequence`.
    Full = 0,
    /// The pairs approved after `since`, up to `sequence`.
    Delta = 1,
}

/// The approved pairs for the operators' EIRs, as CRLs and delta CRLs are for certificates.
///
/// ```text
/// PairList ::= SEQUENCE { kind ListKind, sequence INTEGER, since [0] INTEGER OPTIONAL,
///                         producedAt GeneralizedTime, pairs SEQUENCE OF PairEntry }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct PairList {
    /// Full or delta.
    pub kind: ListKind,
    /// The newest approval included: strictly increasing as approvals are made.
    pub sequence: u64,
    /// Delta lists: the approvals after this sequence number.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub since: Option<u64>,
    /// When the list was made.
    pub produced_at: GeneralizedTime,
    /// The pairs, ordered by (imei, imsi).
    pub pairs: Vec<PairEntry>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use der::{Decode, Encode};
    use proptest::prelude::*;

    fn time(secs: u64) -> GeneralizedTime {
        GeneralizedTime::from_unix_duration(std::time::Duration::from_secs(secs)).unwrap()
    }

    fn digits(n: usize) -> impl Strategy<Value = String> {
        proptest::string::string_regex(&format!("[0-9]{{{n}}}")).unwrap()
    }

    prop_compose! {
        fn arb_pair()(imei in digits(14), imsi in digits(15)) -> PairEntry {
            PairEntry { imei, imsi }
        }
    }

    prop_compose! {
        fn arb_receipt()(
            code in digits(10), secs in 0u64..4_000_000_000, owner in digits(10),
            imeis in proptest::collection::vec(digits(14), 1..=4),
            imsi in proptest::option::of(digits(15)), msisdn in proptest::option::of(digits(12)),
            refused in any::<bool>(),
            reasons in proptest::collection::vec(("[a-z-]{1,30}", proptest::option::of(digits(15))), 0..4),
            version in 1u64..1000, size in 0u64..u64::MAX, root in proptest::array::uniform32(any::<u8>()),
            pairs in proptest::collection::vec((arb_pair(), 0u64..1000, proptest::collection::vec(proptest::array::uniform32(any::<u8>()), 0..5)), 0..4),
        ) -> DeviceReceipt {
            DeviceReceipt {
                version: 1,
                tracking_code: code,
                decided_at: time(secs),
                owner,
                imeis,
                sim: Sim { imsi, msisdn },
                decision: if refused { Decision::Refused } else { Decision::Approved },
                reasons: reasons.into_iter().map(|(code, imei)| Refusal { code, imei }).collect(),
                snapshot: SnapshotRef {
                    version, cutoff: time(secs / 2), tree_size: size,
                    root_hash: OctetString::new(root.to_vec()).unwrap(),
                },
                proofs: pairs.into_iter().map(|(pair, leaf_index, path)| PairProof {
                    pair,
                    proof: InclusionProof {
                        leaf_index, tree_size: 1000,
                        path: path.try_into().unwrap(),
                    },
                }).collect(),
            }
        }
    }

    proptest! {
        #[test]
        fn receipts_round_trip(receipt in arb_receipt()) {
            let der = receipt.to_der().unwrap();
            prop_assert_eq!(DeviceReceipt::from_der(&der).unwrap(), receipt);
        }

        #[test]
        fn pair_lists_round_trip(pairs in proptest::collection::vec(arb_pair(), 0..20), seq in any::<u64>(), since in proptest::option::of(any::<u64>())) {
            let list = PairList {
                kind: if since.is_some() { ListKind::Delta } else { ListKind::Full },
                sequence: seq, since, produced_at: time(1_800_000_000), pairs,
            };
            let der = list.to_der().unwrap();
            prop_assert_eq!(PairList::from_der(&der).unwrap(), list);
        }

        #[test]
        fn random_bytes_never_panic_the_decoders(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            let _ = DeviceReceipt::from_der(&bytes);
            let _ = PairList::from_der(&bytes);
            let _ = RegistrySnapshot::from_der(&bytes);
        }
    }

    #[test]
    fn pair_entry_leaf_hash_is_rfc9162_over_the_der() {
        let pair = PairEntry {
            imei: "49015420323751".into(),
            imsi: "432111234567890".into(),
        };
        let der = pair.to_der().unwrap();
        // SEQUENCE { UTF8String "4901...", UTF8String "4321..." }
        assert_eq!(&der[..4], &[0x30, 33, 0x0c, 14]);
        let mut prefixed = vec![0u8];
        prefixed.extend_from_slice(&der);
        use sha2::Digest;
        let want: [u8; 32] = sha2::Sha256::digest(&prefixed).into();
        assert_eq!(pair.leaf_hash().unwrap(), want);
    }
}
