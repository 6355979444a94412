//! `genTime`: a GeneralizedTime with fractional seconds (RFC 3161 2.4.2).
//!
//! der's `GeneralizedTime` is the RFC 5280 profile (whole seconds only), so TSTInfo needs its
//! own type: `YYYYMMDDhhmmss[.s+]Z`, the fraction without trailing zeros, and `Z` only.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::{
    DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Tag, Writer, asn1::GeneralizedTime,
};

/// Longest value gica accepts: 14 digits, '.', 9 fraction digits, 'Z'.
const MAX_LEN: usize = 25;

/// A point in time with up to nanosecond precision, encoded as a DER GeneralizedTime.
///
/// ```
/// use gica_pki::GenTime;
/// use der::{Decode, Encode};
/// let t = GenTime::from_unix(1_700_000_000, 120_000_000).unwrap();
/// let der = t.to_der().unwrap();
/// assert_eq!(&der[2..], b"20231114221320.12Z");
/// assert_eq!(GenTime::from_der(&der).unwrap(), t);
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq, Ord, PartialOrd, Hash)]
pub struct GenTime {
    secs: u64,
    nanos: u32,
}

impl GenTime {
    /// From seconds and nanoseconds since the Unix epoch; years 1970 to 9999.
    pub fn from_unix(secs: u64, nanos: u32) -> der::Result<Self> {
        if nanos >= 1_000_000_000 {
            return Err(Self::TAG.value_error().into());
        }
        // Validates the year range.
        der::DateTime::from_unix_duration(Duration::from_secs(secs))?;
        Ok(Self { secs, nanos })
    }

    /// From a `SystemTime`, keeping `digits` fraction digits (0..=9, more are cut to 9).
    pub fn from_system_time(t: SystemTime, digits: u8) -> der::Result<Self> {
        let d = t
            .duration_since(UNIX_EPOCH)
            .map_err(|_| der::Error::from(Self::TAG.value_error()))?;
        Ok(Self::from_unix(d.as_secs(), d.subsec_nanos())?.truncate(digits))
    }

    /// Cuts the fraction to `digits` decimal digits (0..=9).
    #[must_use]
    pub fn truncate(self, digits: u8) -> Self {
        let unit = 10u32.pow(9 - u32::from(digits.min(9)));
        Self {
            secs: self.secs,
            nanos: self.nanos - self.nanos % unit,
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix_secs(&self) -> u64 {
        self.secs
    }

    /// Nanoseconds within the second.
    pub fn subsec_nanos(&self) -> u32 {
        self.nanos
    }

    /// Nanoseconds since the Unix epoch (fits in u64 until the year 2554).
    pub fn unix_nanos(&self) -> u128 {
        u128::from(self.secs) * 1_000_000_000 + u128::from(self.nanos)
    }

    /// As a `SystemTime`.
    pub fn to_system_time(&self) -> SystemTime {
        UNIX_EPOCH + Duration::new(self.secs, self.nanos)
    }

    /// The whole-second part as der's RFC 5280 `GeneralizedTime`.
    pub fn whole_seconds(&self) -> der::Result<GeneralizedTime> {
        GeneralizedTime::from_unix_duration(Duration::from_secs(self.secs))
    }

    fn fraction(&self) -> ([u8; 9], usize) {
        let mut buf = [0u8; 9];
        let mut n = self.nanos;
        for slot in buf.iter_mut().rev() {
            *slot = b'0' + (n % 10) as u8;
            n /= 10;
        }
        let mut len = 9;
        while len > 0 && buf[len - 1] == b'0' {
            len -= 1;
        }
        (buf, len)
    }
}

impl std::fmt::Display for GenTime {
    /// RFC 3339 in UTC, with the fraction as encoded: `2026-11-23T18:06:59.975Z`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let dt = der::DateTime::from_unix_duration(Duration::from_secs(self.secs))
            .map_err(|_| std::fmt::Error)?;
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
            dt.year(),
            dt.month(),
            dt.day(),
            dt.hour(),
            dt.minutes(),
            dt.seconds()
        )?;
        let (buf, len) = self.fraction();
        if len > 0 {
            f.write_str(".")?;
            f.write_str(std::str::from_utf8(&buf[..len]).map_err(|_| std::fmt::Error)?)?;
        }
        f.write_str("Z")
    }
}

impl FixedTag for GenTime {
    const TAG: Tag = Tag::GeneralizedTime;
}

impl EncodeValue for GenTime {
    fn value_len(&self) -> der::Result<Length> {
        let (_, f) = self.fraction();
        Length::try_from(15 + if f > 0 { f + 1 } else { 0 })
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        let whole = self.whole_seconds()?.to_der_bytes()?;
        // whole = "YYYYMMDDhhmmssZ"
        writer.write(&whole[..14])?;
        let (buf, f) = self.fraction();
        if f > 0 {
            writer.write_byte(b'.')?;
            writer.write(&buf[..f])?;
        }
        writer.write_byte(b'Z')
    }
}

impl<'a> DecodeValue<'a> for GenTime {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, header: Header) -> der::Result<Self> {
        let len = usize::try_from(header.length())?;
        if !(15..=MAX_LEN).contains(&len) || len == 16 {
            return Err(reader.error(Self::TAG.length_error()));
        }
        let bytes = reader.read_slice(header.length())?;
        let bad = || der::Error::from(Self::TAG.value_error());
        let (whole, rest) = bytes.split_at(14);
        if rest.last() != Some(&b'Z') {
            return Err(bad());
        }
        let frac = &rest[..rest.len() - 1];
        let mut nanos = 0u32;
        if !frac.is_empty() {
            let digits = &frac[1..];
            // DER: a '.', at least one digit, no trailing zero (X.690 11.7).
            if frac[0] != b'.'
                || digits.is_empty()
                || digits.len() > 9
                || digits.last() == Some(&b'0')
                || !digits.iter().all(u8::is_ascii_digit)
            {
                return Err(bad());
            }
            for (i, d) in digits.iter().enumerate() {
                nanos += u32::from(d - b'0') * 10u32.pow(8 - i as u32);
            }
        }
        let mut canonical = [0u8; 15];
        canonical[..14].copy_from_slice(whole);
        canonical[14] = b'Z';
        let gt = GeneralizedTime::from_der_value(&canonical)?;
        Ok(Self {
            secs: gt.to_unix_duration().as_secs(),
            nanos,
        })
    }
}

trait DerValue: Sized {
    fn to_der_bytes(&self) -> der::Result<Vec<u8>>;
    fn from_der_value(value: &[u8]) -> der::Result<Self>;
}

impl DerValue for GeneralizedTime {
    fn to_der_bytes(&self) -> der::Result<Vec<u8>> {
        let mut out = Vec::with_capacity(15);
        self.encode_value(&mut out)?;
        Ok(out)
    }

    fn from_der_value(value: &[u8]) -> der::Result<Self> {
        let mut reader = der::SliceReader::new(value)?;
        let header = Header::new(Tag::GeneralizedTime, Length::try_from(value.len())?);
        let t = <GeneralizedTime as DecodeValue>::decode_value(&mut reader, header)?;
        reader.finish()?;
        Ok(t)
    }
}

/// Shows a [`SystemTime`] as RFC 3339 in UTC, whole seconds: `2026-11-23T18:06:59Z`.
///
/// Error messages and tools print times with it, never as a `SystemTime` debug dump.
///
/// ```
/// use gica_pki::Rfc3339;
/// let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
/// assert_eq!(Rfc3339(t).to_string(), "2023-11-14T22:13:20Z");
/// ```
#[derive(Clone, Copy, Debug, Eq, PartialEq)]
pub struct Rfc3339(pub SystemTime);

impl std::fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.duration_since(UNIX_EPOCH) {
            Ok(d) => match GenTime::from_unix(d.as_secs(), 0) {
                Ok(t) => t.fmt(f),
                Err(_) => write!(f, "{}s after 1970-01-01T00:00:00Z", d.as_secs()),
            },
            Err(e) => write!(f, "{}s before 1970-01-01T00:00:00Z", e.duration().as_secs()),
        }
    }
}

/// A string that is not an RFC 3339 time.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[error("{0:?} is not an RFC 3339 time like 2026-11-23T10:00:00Z")]
pub struct TimeParseError(pub String);

/// Parses an RFC 3339 time in UTC or with an offset (`2026-11-23T10:00:00Z`,
/// `2026-11-23T13:30:00+03:30`); fractions of a second are dropped.
///
/// ```
/// use gica_pki::parse_rfc3339;
/// let a = parse_rfc3339("2026-11-23T10:00:00Z").unwrap();
/// let b = parse_rfc3339("2026-11-23T13:30:00.5+03:30").unwrap();
/// assert_eq!(a, b);
/// assert!(parse_rfc3339("2026-11-23 10:00").is_err());
/// ```
pub fn parse_rfc3339(s: &str) -> Result<SystemTime, TimeParseError> {
    let bad = || TimeParseError(s.chars().take(64).collect());
    if !s.is_ascii() {
        return Err(bad());
    }
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !matches!(b[10], b'T' | b't' | b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return Err(bad());
    }
    let num = |r: std::ops::Range<usize>| {
        s.get(r)
            .filter(|x| x.bytes().all(|c| c.is_ascii_digit()))
            .and_then(|x| x.parse::<u16>().ok())
            .ok_or_else(bad)
    };
    let dt = der::DateTime::new(
        num(0..4)?,
        num(5..7)? as u8,
        num(8..10)? as u8,
        num(11..13)? as u8,
        num(14..16)? as u8,
        num(17..19)? as u8,
    )
    .map_err(|_| bad())?;
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad());
        }
        rest = &frac[digits..];
    }
    let secs = i64::try_from(dt.unix_duration().as_secs()).map_err(|_| bad())?;
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let h: i64 = num_in(&o[1..3]).ok_or_else(bad)?;
            let m: i64 = num_in(&o[4..6]).ok_or_else(bad)?;
            if h > 23 || m > 59 {
                return Err(bad());
            }
            let v = h * 3600 + m * 60;
            if o.starts_with('+') { v } else { -v }
        }
        _ => return Err(bad()),
    };
    let utc = u64::try_from(secs - offset).map_err(|_| bad())?;
    Ok(UNIX_EPOCH + Duration::from_secs(utc))
}

fn num_in(s: &str) -> Option<i64> {
    s.bytes()
        .all(|c| c.is_ascii_digit())
        .then(|| s.parse().ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, Encode};
    use proptest::prelude::*;

    fn der_of(s: &str) -> Vec<u8> {
        let mut v = vec![0x18, s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }

    #[test]
    fn trailing_zeros_are_dropped() {
        let t = GenTime::from_unix(0, 500_000_000).expect("valid");
        assert_eq!(t.to_der().expect("enc"), der_of("19700101000000.5Z"));
        let t = GenTime::from_unix(0, 0).expect("valid");
        assert_eq!(t.to_der().expect("enc"), der_of("19700101000000Z"));
    }

    #[test]
    fn rejects_non_der_forms() {
        for s in [
            "19700101000000.50Z",
            "19700101000000.Z",
            "19700101000000,5Z",
            "19700101000000.5",
            "19700101000000.5+0100",
            "197001010000Z",
            "19700101000000.1234567891Z",
            "19701301000000Z",
        ] {
            assert!(GenTime::from_der(&der_of(s)).is_err(), "{s} accepted");
        }
    }

    #[test]
    fn displays_as_rfc3339() {
        let t = GenTime::from_unix(1_700_000_000, 120_000_000).expect("valid");
        assert_eq!(t.to_string(), "2023-11-14T22:13:20.12Z");
    }

    #[test]
    fn truncate_cuts_digits() {
        let t = GenTime::from_unix(5, 123_456_789).expect("valid");
        assert_eq!(t.truncate(3).subsec_nanos(), 123_000_000);
        assert_eq!(t.truncate(0).subsec_nanos(), 0);
        assert_eq!(t.truncate(9), t);
    }

    proptest! {
        #[test]
        fn round_trip(secs in 0u64..253_402_300_799, nanos in 0u32..1_000_000_000) {
            let t = GenTime::from_unix(secs, nanos).expect("in range");
            let der = t.to_der().expect("encode");
            prop_assert_eq!(GenTime::from_der(&der).expect("decode"), t);
        }

        #[test]
        fn never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..40)) {
            let _ = GenTime::from_der(&bytes);
        }
    }
}

/// `t + d`, or the latest time the platform represents when that overflows: caller-supplied
/// durations (leeways, validities) must never panic.
pub(crate) fn add_saturating(t: SystemTime, d: Duration) -> SystemTime {
    t.checked_add(d).unwrap_or_else(|| {
        // Probe down from a far future bound the platform can hold.
        [u64::MAX / 4, 1 << 40, 1 << 36]
            .into_iter()
            .find_map(|s| UNIX_EPOCH.checked_add(Duration::from_secs(s)))
            .unwrap_or(t)
    })
}

#[cfg(test)]
mod saturating_tests {
    use super::*;

    #[test]
    fn huge_durations_saturate() {
        let now = SystemTime::now();
        assert!(add_saturating(now, Duration::MAX) > now);
    }
}
