//! Strict DER for what gica verifies; tolerance for what clients ask.
//!
//! der's derived decoders read a `DEFAULT` field that is spelled out (`ordering FALSE` in a
//! TSTInfo, `version [0] v1` in an OCSP ResponseData, `critical FALSE` in an extension) as if
//! it were left out, and sort a `SET OF` that arrives unsorted. DER forbids both (X.690 11.5,
//! 11.6), and RFC 3161 2.4.2 asks for a DER TSTInfo. DER is canonical: a value has exactly one
//! encoding, so re-encoding a decoded value and comparing it with the bytes received finds
//! every such deviation at once, in every nested type, without a check per field that could
//! be forgotten when a type grows.
//!
//! Decoded strictly (a difference is refused, naming the structure):
//! - time-stamp tokens: the SignedData (with its certificates and signed attributes), the
//!   TSTInfo, SigningCertificate(V2) (where an ESSCertIDv2 `hashAlgorithm` equal to its
//!   DEFAULT SHA-256 is refused too: its derived type cannot tell it from an absent one);
//! - OCSP responses: the BasicOCSPResponse (with its certificates) and its ResponseData;
//! - CRLs: every field, by [`crate::crl::parse_crl`].
//!
//! Tolerant, for interoperability with the clients in the field: requests
//! ([`TimeStampReq`](crate::tsp::TimeStampReq), [`OcspRequest`](crate::ocsp::OcspRequest))
//! are read with der's derived decoders, so an explicit `certReq FALSE` or `version [0] v1`
//! is accepted; nothing in a request is signed or relied on in its encoded form (the nonce is
//! echoed as the INTEGER decoded).
//!
//! ```
//! use gica_pki::{der::Decode, strict, x509_cert::ext::Extension};
//! // Extension { extnID 1.2.3, critical FALSE, extnValue '' }: FALSE is the DEFAULT.
//! let explicit = [0x30, 0x09, 0x06, 0x02, 0x2a, 0x03, 0x01, 0x01, 0x00, 0x04, 0x00];
//! assert!(Extension::from_der(&explicit).is_ok()); // der's derived decoder takes it
//! assert!(strict::decode::<Extension>(&explicit).is_err());
//! let der = [0x30, 0x06, 0x06, 0x02, 0x2a, 0x03, 0x04, 0x00];
//! assert!(strict::decode::<Extension>(&der).is_ok());
//! ```

use der::{Decode, Encode, ErrorKind, Length, Tagged};

/// Decodes `bytes` as `T` and refuses them unless they are the DER encoding of the value
/// decoded (see the [module docs](self) for why this finds every non-DER form).
///
/// The error is der's `Noncanonical` for `T`'s tag, at the offset of the first byte that
/// differs.
pub fn decode<'a, T>(bytes: &'a [u8]) -> der::Result<T>
where
    T: Decode<'a, Error = der::Error> + Encode + Tagged,
{
    let value = T::from_der(bytes)?;
    check(&value, bytes)?;
    Ok(value)
}

/// Refuses `received` unless it is exactly the DER encoding of `value`.
pub fn check<T: Encode + Tagged>(value: &T, received: &[u8]) -> der::Result<()> {
    let ours = value.to_der()?;
    match ours.iter().zip(received).position(|(a, b)| a != b) {
        None if ours.len() == received.len() => Ok(()),
        at => {
            let at = at.unwrap_or(ours.len().min(received.len()));
            Err(der::Error::new(
                ErrorKind::Noncanonical { tag: value.tag() },
                Length::try_from(at)?,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use der::asn1::OctetString;

    use super::*;

    #[test]
    fn says_where_the_encoding_differs() {
        // critical FALSE spelled out: the first difference is the SEQUENCE's length octet.
        let ext = [
            0x30, 0x09, 0x06, 0x02, 0x2a, 0x03, 0x01, 0x01, 0x00, 0x04, 0x00,
        ];
        let err = decode::<x509_cert::ext::Extension>(&ext).expect_err("explicit DEFAULT");
        assert_eq!(
            err.kind(),
            ErrorKind::Noncanonical {
                tag: der::Tag::Sequence
            }
        );
        assert_eq!(err.position(), Some(Length::ONE));
        // Trailing data inside: refused by der before any comparison.
        assert!(decode::<x509_cert::ext::Extension>(&ext[..9]).is_err());
    }

    #[test]
    fn accepts_der() {
        let der = OctetString::new(vec![1, 2, 3])
            .expect("octets")
            .to_der()
            .expect("der");
        assert!(decode::<OctetString>(&der).is_ok());
    }
}
