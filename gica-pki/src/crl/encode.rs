//! Hand-written DER for the builder's hot path: lengths, INTEGER magnitudes and RFC 5280 times,
//! all on the stack.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::CrlError;

/// Room a header (tag and length) of a value up to 4 GiB takes at most.
pub(super) const MAX_HEADER: usize = 6;

/// Appends a tag and a DER length.
pub(super) fn push_header(out: &mut Vec<u8>, tag: u8, len: usize) {
    let mut buf = [0u8; MAX_HEADER];
    let n = header(&mut buf, tag, len);
    out.extend_from_slice(&buf[..n]);
}

/// Writes a tag and a DER length into `buf`, returning the bytes used. `len` must be below
/// 2^32 (callers check).
pub(super) fn header(buf: &mut [u8; MAX_HEADER], tag: u8, len: usize) -> usize {
    buf[0] = tag;
    if len < 0x80 {
        buf[1] = len as u8;
        return 2;
    }
    let octets = len_octets(len);
    buf[1] = 0x80 | octets as u8;
    for i in 0..octets {
        buf[2 + i] = (len >> (8 * (octets - 1 - i))) as u8;
    }
    2 + octets
}

/// Size of a header for a value of `len` octets.
pub(super) fn header_len(len: usize) -> usize {
    if len < 0x80 { 2 } else { 2 + len_octets(len) }
}

fn len_octets(len: usize) -> usize {
    (usize::BITS - len.leading_zeros()).div_ceil(8) as usize
}

/// Content length of the INTEGER holding a positive `magnitude` (no leading zeros, non-empty).
pub(super) fn uint_len(magnitude: &[u8]) -> usize {
    magnitude.len() + usize::from(magnitude.first().is_some_and(|b| b & 0x80 != 0))
}

/// Appends a whole INTEGER TLV for a non-negative magnitude (no leading zeros; empty = 0).
pub(super) fn push_uint(out: &mut Vec<u8>, magnitude: &[u8]) {
    if magnitude.is_empty() {
        out.extend_from_slice(&[0x02, 0x01, 0x00]);
        return;
    }
    push_header(out, 0x02, uint_len(magnitude));
    if magnitude[0] & 0x80 != 0 {
        out.push(0);
    }
    out.extend_from_slice(magnitude);
}

/// A Time TLV (UTCTime or GeneralizedTime), at most 17 octets.
#[derive(Clone, Copy)]
pub(super) struct TimeTlv {
    buf: [u8; 17],
    len: u8,
}

impl TimeTlv {
    /// RFC 5280 Time: UTCTime for 1970-2049, GeneralizedTime from 2050; whole seconds.
    pub(super) fn rfc5280(t: SystemTime) -> Result<Self, CrlError> {
        Self::encode(t, false)
    }

    /// GeneralizedTime in any year (invalidityDate is always one).
    pub(super) fn generalized(t: SystemTime) -> Result<Self, CrlError> {
        Self::encode(t, true)
    }

    fn encode(t: SystemTime, always_generalized: bool) -> Result<Self, CrlError> {
        let secs = t
            .duration_since(UNIX_EPOCH)
            .map_err(|_| CrlError::TimeOutOfRange)?
            .as_secs();
        let dt = der::DateTime::from_unix_duration(Duration::from_secs(secs))
            .map_err(|_| CrlError::TimeOutOfRange)?;
        let year = dt.year();
        let mut buf = [0u8; 17];
        let mut i = 2;
        let put2 = |buf: &mut [u8; 17], i: &mut usize, v: u16| {
            buf[*i] = b'0' + (v / 10 % 10) as u8;
            buf[*i + 1] = b'0' + (v % 10) as u8;
            *i += 2;
        };
        if always_generalized || year >= 2050 {
            buf[0] = 0x18;
            buf[1] = 15;
            put2(&mut buf, &mut i, year / 100);
        } else {
            buf[0] = 0x17;
            buf[1] = 13;
        }
        put2(&mut buf, &mut i, year % 100);
        for v in [dt.month(), dt.day(), dt.hour(), dt.minutes(), dt.seconds()] {
            put2(&mut buf, &mut i, u16::from(v));
        }
        buf[i] = b'Z';
        Ok(Self {
            buf,
            len: (i + 1) as u8,
        })
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.buf[..usize::from(self.len)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use der::{Decode, Encode};

    #[test]
    fn headers_match_der() {
        for len in [
            0usize,
            1,
            127,
            128,
            255,
            256,
            65_535,
            65_536,
            16_777_216,
            4_000_000_000,
        ] {
            let mut ours = Vec::new();
            push_header(&mut ours, 0x30, len);
            let theirs =
                der::Header::new(der::Tag::Sequence, der::Length::try_from(len).expect("len"))
                    .to_der()
                    .expect("header");
            assert_eq!(ours, theirs, "{len}");
            assert_eq!(header_len(len), ours.len());
        }
    }

    #[test]
    fn uints_match_der() {
        for m in [
            &[1][..],
            &[0x7f],
            &[0x80],
            &[0xff, 0],
            &[1, 2, 3],
            &[0x80; 20],
        ] {
            let mut ours = Vec::new();
            push_uint(&mut ours, m);
            let theirs = der::asn1::Uint::new(m)
                .expect("uint")
                .to_der()
                .expect("enc");
            assert_eq!(ours, theirs, "{m:02x?}");
        }
        // der's Uint writes zero as an empty INTEGER; DER wants one zero octet.
        let mut zero = Vec::new();
        push_uint(&mut zero, &[]);
        assert_eq!(zero, [0x02, 0x01, 0x00]);
    }

    #[test]
    fn times_match_x509_cert() {
        for secs in [
            0u64,
            946_684_799,
            2_524_607_999,
            2_524_608_000,
            4_102_444_800,
        ] {
            let t = UNIX_EPOCH + Duration::new(secs, 999_999_999);
            let ours = TimeTlv::rfc5280(t).expect("time");
            let parsed = x509_cert::time::Time::from_der(ours.as_bytes()).expect("parse");
            assert_eq!(
                parsed.to_system_time(),
                UNIX_EPOCH + Duration::from_secs(secs)
            );
            let is_utc = matches!(parsed, x509_cert::time::Time::UtcTime(_));
            assert_eq!(is_utc, secs < 2_524_608_000, "{secs}");
            let g = TimeTlv::generalized(t).expect("time");
            let parsed = der::asn1::GeneralizedTime::from_der(g.as_bytes()).expect("parse");
            assert_eq!(parsed.to_unix_duration().as_secs(), secs);
        }
        assert!(TimeTlv::rfc5280(UNIX_EPOCH - Duration::from_secs(1)).is_err());
    }
}
