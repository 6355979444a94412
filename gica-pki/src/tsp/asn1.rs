//! RFC 3161 (as updated by RFC 5816) DER types. Each carries its ASN.1 definition.

use cms::content_info::ContentInfo;
use der::{
    DecodeValue, Encode, EncodeValue, Enumerated, FixedTag, Header, Length, Reader, Sequence, Tag,
    Writer,
    asn1::{BitString, Int, ObjectIdentifier, OctetString},
};
use spki::AlgorithmIdentifierOwned;
use x509_cert::ext::{Extensions, pkix::name::GeneralName};

use crate::GenTime;

/// ```text
/// MessageImprint ::= SEQUENCE  {
///      hashAlgorithm                AlgorithmIdentifier,
///      hashedMessage                OCTET STRING  }
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct MessageImprint {
    /// hashAlgorithm.
    pub hash_algorithm: AlgorithmIdentifierOwned,
    /// hashedMessage.
    pub hashed_message: OctetString,
}

/// ```text
/// TimeStampReq ::= SEQUENCE  {
///    version                      INTEGER  { v1(1) },
///    messageImprint               MessageImprint,
///    reqPolicy             TSAPolicyId              OPTIONAL,
///    nonce                 INTEGER                  OPTIONAL,
///    certReq               BOOLEAN                  DEFAULT FALSE,
///    extensions            [0] IMPLICIT Extensions  OPTIONAL  }
/// ```
/// Decoded tolerantly, as clients send it: an explicit `certReq FALSE` or `critical FALSE`
/// is accepted (see [`crate::strict`]); it re-encodes as DER.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampReq {
    /// version (1).
    pub version: u32,
    /// messageImprint.
    pub message_imprint: MessageImprint,
    /// reqPolicy.
    #[asn1(optional = "true")]
    pub req_policy: Option<ObjectIdentifier>,
    /// nonce, kept as the exact INTEGER sent.
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// certReq.
    #[asn1(default = "default_false")]
    pub cert_req: bool,
    /// extensions.
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

fn default_false() -> bool {
    false
}

/// ```text
/// PKIStatus ::= INTEGER {
///    granted                (0),
///    grantedWithMods        (1),
///    rejection              (2),
///    waiting                (3),
///    revocationWarning      (4),
///    revocationNotification (5) }
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash, Enumerated)]
#[asn1(type = "INTEGER")]
#[repr(u8)]
pub enum PkiStatus {
    /// A token is present, as asked.
    Granted = 0,
    /// A token is present, with changes from what was asked.
    GrantedWithMods = 1,
    /// Refused; failInfo says why.
    Rejection = 2,
    /// Not yet; no token.
    Waiting = 3,
    /// A revocation is imminent.
    RevocationWarning = 4,
    /// A revocation has occurred.
    RevocationNotification = 5,
}

impl PkiStatus {
    /// Lowercase name as in the RFC (`granted`, `rejection`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Self::Granted => "granted",
            Self::GrantedWithMods => "grantedWithMods",
            Self::Rejection => "rejection",
            Self::Waiting => "waiting",
            Self::RevocationWarning => "revocationWarning",
            Self::RevocationNotification => "revocationNotification",
        }
    }
}

/// One named bit of PKIFailureInfo.
///
/// ```text
/// PKIFailureInfo ::= BIT STRING {
///    badAlg               (0),  badRequest           (2),  badDataFormat        (5),
///    timeNotAvailable    (14),  unacceptedPolicy    (15),  unacceptedExtension (16),
///    addInfoNotAvailable (17),  systemFailure       (25) }
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq, Hash)]
#[non_exhaustive]
pub enum FailureInfo {
    /// Unrecognized or unsupported algorithm identifier.
    BadAlg = 0,
    /// Transaction not permitted or supported.
    BadRequest = 2,
    /// The data submitted has the wrong format.
    BadDataFormat = 5,
    /// The TSA's time source is not available.
    TimeNotAvailable = 14,
    /// The requested TSA policy is not supported.
    UnacceptedPolicy = 15,
    /// The requested extension is not supported.
    UnacceptedExtension = 16,
    /// The additional information requested could not be understood or is not available.
    AddInfoNotAvailable = 17,
    /// The request cannot be handled due to system failure.
    SystemFailure = 25,
}

impl FailureInfo {
    /// Every named bit.
    pub const ALL: [FailureInfo; 8] = [
        Self::BadAlg,
        Self::BadRequest,
        Self::BadDataFormat,
        Self::TimeNotAvailable,
        Self::UnacceptedPolicy,
        Self::UnacceptedExtension,
        Self::AddInfoNotAvailable,
        Self::SystemFailure,
    ];

    /// The name as in the RFC (`badAlg`), also the metrics label.
    pub fn name(self) -> &'static str {
        match self {
            Self::BadAlg => "badAlg",
            Self::BadRequest => "badRequest",
            Self::BadDataFormat => "badDataFormat",
            Self::TimeNotAvailable => "timeNotAvailable",
            Self::UnacceptedPolicy => "unacceptedPolicy",
            Self::UnacceptedExtension => "unacceptedExtension",
            Self::AddInfoNotAvailable => "addInfoNotAvailable",
            Self::SystemFailure => "systemFailure",
        }
    }
}

/// PKIFailureInfo: a set of [`FailureInfo`] bits (any bit up to 31 is kept).
///
/// DER drops trailing zero bits of a named-bit BIT STRING (X.690 11.2.2); this type encodes
/// that way and accepts only that form.
///
/// ```
/// use gica_pki::tsp::{FailureInfo, PkiFailureInfo};
/// use der::{Decode, Encode};
/// let f = PkiFailureInfo::from(FailureInfo::BadAlg);
/// assert_eq!(f.to_der().unwrap(), [0x03, 0x02, 0x07, 0x80]);
/// assert!(PkiFailureInfo::from_der(&[0x03, 0x02, 0x07, 0x80]).unwrap().contains(FailureInfo::BadAlg));
/// ```
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Hash)]
pub struct PkiFailureInfo(pub u32);

impl PkiFailureInfo {
    /// Whether `bit` is set.
    pub fn contains(self, bit: FailureInfo) -> bool {
        self.0 & (1 << bit as u32) != 0
    }

    /// The named bits that are set.
    pub fn bits(self) -> impl Iterator<Item = FailureInfo> {
        FailureInfo::ALL
            .into_iter()
            .filter(move |b| self.contains(*b))
    }

    fn to_bit_string(self) -> der::Result<BitString> {
        // Named bit i is the (i % 8)-th most significant bit of octet i / 8.
        let highest = (32 - self.0.leading_zeros()) as usize;
        let mut bytes = vec![0u8; highest.div_ceil(8)];
        for i in (0..highest).filter(|i| self.0 & (1 << i) != 0) {
            bytes[i / 8] |= 0x80 >> (i % 8);
        }
        let unused = (bytes.len() * 8 - highest) as u8;
        BitString::new(unused, bytes)
    }
}

impl From<FailureInfo> for PkiFailureInfo {
    fn from(bit: FailureInfo) -> Self {
        Self(1 << bit as u32)
    }
}

impl FixedTag for PkiFailureInfo {
    const TAG: Tag = Tag::BitString;
}

impl EncodeValue for PkiFailureInfo {
    fn value_len(&self) -> der::Result<Length> {
        self.to_bit_string()?.value_len()
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        self.to_bit_string()?.encode_value(writer)
    }
}

impl<'a> DecodeValue<'a> for PkiFailureInfo {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let bits = BitString::decode_value(reader, header)?;
        let mut v = 0u32;
        for (i, bit) in bits.bits().enumerate() {
            if bit {
                if i >= 32 {
                    return Err(Self::TAG.value_error().into());
                }
                v |= 1 << i;
            }
        }
        let ours = Self(v);
        // DER form only: no trailing zero bits.
        if ours.to_bit_string()? != bits {
            return Err(Self::TAG.non_canonical_error().into());
        }
        Ok(ours)
    }
}

/// ```text
/// PKIStatusInfo ::= SEQUENCE {
///     status        PKIStatus,
///     statusString  PKIFreeText     OPTIONAL,
///     failInfo      PKIFailureInfo  OPTIONAL  }
/// PKIFreeText ::= SEQUENCE SIZE (1..MAX) OF UTF8String
/// ```
/// An empty statusString breaks SIZE (1..MAX): it is neither decoded nor encoded.
///
/// ```
/// use gica_pki::{der::{Decode, Encode}, tsp::PkiStatusInfo};
/// // status granted, statusString {} (empty)
/// assert!(PkiStatusInfo::from_der(&[0x30, 0x05, 0x02, 0x01, 0x00, 0x30, 0x00]).is_err());
/// let mut s = PkiStatusInfo::granted();
/// s.status_string = Some(Vec::new());
/// assert!(s.to_der().is_err());
/// ```
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct PkiStatusInfo {
    /// status.
    pub status: PkiStatus,
    /// statusString: at least one string when present.
    pub status_string: Option<Vec<String>>,
    /// failInfo.
    pub fail_info: Option<PkiFailureInfo>,
}

impl PkiStatusInfo {
    /// statusString, refused if empty (PKIFreeText is SIZE (1..MAX)).
    fn free_text(&self) -> der::Result<&Option<Vec<String>>> {
        match &self.status_string {
            Some(t) if t.is_empty() => Err(Tag::Sequence.value_error().into()),
            t => Ok(t),
        }
    }
}

impl<'a> DecodeValue<'a> for PkiStatusInfo {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, _header: Header) -> der::Result<Self> {
        let status = reader.decode()?;
        let status_string: Option<Vec<String>> = reader.decode()?;
        if status_string.as_ref().is_some_and(Vec::is_empty) {
            return Err(reader.error(Tag::Sequence.value_error()));
        }
        let fail_info = reader.decode()?;
        Ok(Self {
            status,
            status_string,
            fail_info,
        })
    }
}

impl EncodeValue for PkiStatusInfo {
    fn value_len(&self) -> der::Result<Length> {
        self.status.encoded_len()?
            + self.free_text()?.encoded_len()?
            + self.fail_info.encoded_len()?
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        self.status.encode(writer)?;
        self.free_text()?.encode(writer)?;
        self.fail_info.encode(writer)
    }
}

impl Sequence<'_> for PkiStatusInfo {}

impl PkiStatusInfo {
    /// `granted`, nothing else.
    pub fn granted() -> Self {
        Self {
            status: PkiStatus::Granted,
            status_string: None,
            fail_info: None,
        }
    }

    /// `rejection` with one failure bit and a human-readable reason.
    pub fn rejection(bit: FailureInfo, text: impl Into<String>) -> Self {
        Self {
            status: PkiStatus::Rejection,
            status_string: Some(vec![text.into()]),
            fail_info: Some(bit.into()),
        }
    }
}

/// ```text
/// TimeStampResp ::= SEQUENCE  {
///      status                  PKIStatusInfo,
///      timeStampToken          TimeStampToken     OPTIONAL  }
/// TimeStampToken ::= ContentInfo
///      -- contentType is id-signedData; content is SignedData over a TSTInfo
/// ```
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TimeStampResp {
    /// status.
    pub status: PkiStatusInfo,
    /// timeStampToken.
    #[asn1(optional = "true")]
    pub time_stamp_token: Option<ContentInfo>,
}

/// ```text
/// Accuracy ::= SEQUENCE {
///       seconds        INTEGER           OPTIONAL,
///       millis     [0] INTEGER  (1..999) OPTIONAL,
///       micros     [1] INTEGER  (1..999) OPTIONAL  }
/// ```
#[derive(Clone, Copy, Debug, Default, Eq, PartialEq, Sequence)]
pub struct Accuracy {
    /// seconds.
    #[asn1(optional = "true")]
    pub seconds: Option<u32>,
    /// millis (1..999).
    #[asn1(context_specific = "0", tag_mode = "IMPLICIT", optional = "true")]
    pub millis: Option<u16>,
    /// micros (1..999).
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub micros: Option<u16>,
}

impl Accuracy {
    /// The accuracy for a span of `micros` microseconds, in the fields the RFC defines.
    pub fn from_micros(micros: u64) -> Self {
        let nz = |v: u64| (v != 0).then_some(v);
        Self {
            seconds: nz(micros / 1_000_000).map(|s| s.min(u64::from(u32::MAX)) as u32),
            millis: nz(micros / 1000 % 1000).map(|v| v as u16),
            micros: nz(micros % 1000).map(|v| v as u16),
        }
    }

    /// The span in microseconds.
    pub fn to_micros(&self) -> u64 {
        u64::from(self.seconds.unwrap_or(0)) * 1_000_000
            + u64::from(self.millis.unwrap_or(0)) * 1000
            + u64::from(self.micros.unwrap_or(0))
    }

    /// The accuracy for `millis` milliseconds; `None` for 0 or spans over a day (a TSA that
    /// cannot do better than that should not claim a time at all).
    pub fn from_millis(millis: u64) -> Option<Self> {
        (1..=86_400_000)
            .contains(&millis)
            .then(|| Self::from_micros(millis * 1000))
    }

    /// Whether millis and micros are in 1..=999 as the RFC requires.
    pub fn is_valid(&self) -> bool {
        let ok = |v: Option<u16>| v.is_none_or(|v| (1..=999).contains(&v));
        ok(self.millis) && ok(self.micros)
    }
}

/// ```text
/// TSTInfo ::= SEQUENCE  {
///    version                      INTEGER  { v1(1) },
///    policy                       TSAPolicyId,
///    messageImprint               MessageImprint,
///    serialNumber                 INTEGER,
///    genTime                      GeneralizedTime,
///    accuracy                     Accuracy                 OPTIONAL,
///    ordering                     BOOLEAN             DEFAULT FALSE,
///    nonce                        INTEGER                  OPTIONAL,
///    tsa                          [0] GeneralName          OPTIONAL,
///    extensions                   [1] IMPLICIT Extensions  OPTIONAL  }
/// ```
/// A token's TSTInfo must be DER: read it with [`TstInfo::from_econtent`], which refuses
/// anything else.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct TstInfo {
    /// version (1).
    pub version: u32,
    /// policy.
    pub policy: ObjectIdentifier,
    /// messageImprint, copied from the request.
    pub message_imprint: MessageImprint,
    /// serialNumber.
    pub serial_number: Int,
    /// genTime, with fractional seconds.
    pub gen_time: GenTime,
    /// accuracy.
    #[asn1(optional = "true")]
    pub accuracy: Option<Accuracy>,
    /// ordering.
    #[asn1(default = "default_false")]
    pub ordering: bool,
    /// nonce, echoed from the request.
    #[asn1(optional = "true")]
    pub nonce: Option<Int>,
    /// tsa: the TSA's name (a CHOICE, so the tag is explicit).
    #[asn1(context_specific = "0", tag_mode = "EXPLICIT", optional = "true")]
    pub tsa: Option<GeneralName>,
    /// extensions.
    #[asn1(context_specific = "1", tag_mode = "IMPLICIT", optional = "true")]
    pub extensions: Option<Extensions>,
}

impl TstInfo {
    /// Parses the eContent of a token: DER only (RFC 3161 2.4.2), so an explicit
    /// `ordering FALSE` or any other non-DER form is refused (see [`crate::strict`]).
    /// `from_der` stays as tolerant as der's derived decoder.
    pub fn from_econtent(econtent: &[u8]) -> der::Result<Self> {
        crate::strict::decode(econtent)
    }

    /// DER of this TSTInfo.
    pub fn encode(&self) -> der::Result<Vec<u8>> {
        self.to_der()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::Decode;
    use proptest::prelude::*;

    use crate::testutil::arb_int;

    fn arb_imprint() -> impl Strategy<Value = MessageImprint> {
        (
            prop_oneof![
                Just(crate::oid::SHA256),
                Just(crate::oid::SHA512),
                Just(crate::oid::SHA1)
            ],
            proptest::collection::vec(any::<u8>(), 0..65),
        )
            .prop_map(|(oid, h)| MessageImprint {
                hash_algorithm: AlgorithmIdentifierOwned {
                    oid,
                    parameters: None,
                },
                hashed_message: OctetString::new(h).expect("octets"),
            })
    }

    fn arb_accuracy() -> impl Strategy<Value = Accuracy> {
        (
            proptest::option::of(any::<u32>()),
            proptest::option::of(1u16..1000),
            proptest::option::of(1u16..1000),
        )
            .prop_map(|(seconds, millis, micros)| Accuracy {
                seconds,
                millis,
                micros,
            })
    }

    prop_compose! {
        fn arb_req()(version in 0u32..5, imprint in arb_imprint(), policy in proptest::option::of(Just(ObjectIdentifier::new_unwrap("1.3.6.1.4.1.99999.1.1"))),
                     nonce in proptest::option::of(arb_int()), cert_req in any::<bool>()) -> TimeStampReq {
            TimeStampReq { version, message_imprint: imprint, req_policy: policy, nonce, cert_req, extensions: None }
        }
    }

    proptest! {
        #[test]
        fn time_stamp_req_round_trip(req in arb_req()) {
            let der = req.to_der().expect("encode");
            prop_assert_eq!(TimeStampReq::from_der(&der).expect("decode"), req);
        }

        #[test]
        fn tst_info_round_trip(imprint in arb_imprint(), serial in arb_int(), secs in 0u64..4_000_000_000, nanos in 0u32..1_000_000_000,
                              accuracy in proptest::option::of(arb_accuracy()), ordering in any::<bool>(), nonce in proptest::option::of(arb_int())) {
            let t = TstInfo {
                version: 1,
                policy: ObjectIdentifier::new_unwrap("1.2.3.4"),
                message_imprint: imprint,
                serial_number: serial,
                gen_time: GenTime::from_unix(secs, nanos).expect("time"),
                accuracy, ordering, nonce,
                tsa: Some(GeneralName::DirectoryName(Default::default())),
                extensions: None,
            };
            let der = t.to_der().expect("encode");
            prop_assert_eq!(TstInfo::from_der(&der).expect("decode"), t);
        }

        #[test]
        fn status_info_round_trip(bits in any::<u32>(), text in proptest::option::of(".{1,20}")) {
            let s = PkiStatusInfo {
                status: PkiStatus::Rejection,
                status_string: text.map(|t| vec![t]),
                fail_info: (bits != 0).then_some(PkiFailureInfo(bits)),
            };
            let r = TimeStampResp { status: s, time_stamp_token: None };
            let der = r.to_der().expect("encode");
            prop_assert_eq!(TimeStampResp::from_der(&der).expect("decode"), r);
        }

        #[test]
        fn accuracy_round_trip(a in arb_accuracy()) {
            let der = a.to_der().expect("encode");
            prop_assert_eq!(Accuracy::from_der(&der).expect("decode"), a);
        }

        #[test]
        fn parsers_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = TimeStampReq::from_der(&bytes);
            let _ = TimeStampResp::from_der(&bytes);
            let _ = TstInfo::from_der(&bytes);
            let _ = PkiFailureInfo::from_der(&bytes);
        }
    }

    #[test]
    fn failure_info_der_forms() {
        let enc = |b: FailureInfo| PkiFailureInfo::from(b).to_der().expect("encode");
        assert_eq!(enc(FailureInfo::BadAlg), [3, 2, 7, 0x80]);
        assert_eq!(enc(FailureInfo::BadDataFormat), [3, 2, 2, 0x04]);
        assert_eq!(enc(FailureInfo::TimeNotAvailable), [3, 3, 1, 0, 0x02]);
        assert_eq!(enc(FailureInfo::SystemFailure), [3, 5, 6, 0, 0, 0, 0x40]);
        // Trailing zero bits are not DER.
        assert!(PkiFailureInfo::from_der(&[3, 2, 0, 0x80]).is_err());
    }

    #[test]
    fn accuracy_from_micros() {
        assert_eq!(
            Accuracy::from_micros(1_500_000),
            Accuracy {
                seconds: Some(1),
                millis: Some(500),
                micros: None
            }
        );
        assert_eq!(Accuracy::from_micros(1).to_micros(), 1);
    }
}
