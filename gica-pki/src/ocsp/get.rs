//! The GET form of a request (RFC 6960 A.1, RFC 5019 5): `GET {url}/{url-encoding of
//! base-64 encoding of the DER encoding of the OCSPRequest}`.
//!
//! The decoder is lenient the way deployed clients need: '+' is not turned into a space
//! (it is a base64 character, not a form encoding), leading slashes from a doubled '/' are
//! skipped, the URL-safe alphabet and missing padding are accepted, and whitespace some
//! clients leave in is dropped. The encoder is strict: standard alphabet, padded, and
//! '+', '/', '=' percent-encoded so that every decoder reads the same bytes.

use base64ct::{Base64, Base64Unpadded, Base64Url, Base64UrlUnpadded, Encoding};

/// Longest path (after the leading slashes) the decoder looks at: 16 KiB of DER is about
/// 22 KB of base64, so this leaves room for percent-escapes.
pub const MAX_GET_PATH_LEN: usize = 4 * 16 * 1024;

/// Why a GET path does not decode to request bytes.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum GetPathError {
    /// Longer than [`MAX_GET_PATH_LEN`].
    #[error("GET path of {len} characters is longer than {max}")]
    TooLong {
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A '%' not followed by two hex digits.
    #[error("bad percent-escape at character {offset}")]
    BadEscape {
        /// Where the '%' is.
        offset: usize,
    },
    /// The percent-decoded path is not UTF-8.
    #[error("percent-decoded GET path is not UTF-8")]
    NotUtf8,
    /// Not base64 in any of the accepted spellings.
    #[error("GET path is not base64")]
    NotBase64,
}

/// Decodes the `{base64}` of `GET /ocsp/{base64}` into the DER of the request.
///
/// ```
/// use gica_pki::ocsp::get::{GetPathError, decode_get_path};
/// assert_eq!(decode_get_path("//MAA%3D").unwrap(), vec![0x30, 0x00]);
/// assert_eq!(decode_get_path("MAA").unwrap(), vec![0x30, 0x00]);
/// assert_eq!(decode_get_path("%zz"), Err(GetPathError::BadEscape { offset: 0 }));
/// ```
pub fn decode_get_path(raw: &str) -> Result<Vec<u8>, GetPathError> {
    let raw = raw.trim_start_matches('/');
    if raw.len() > MAX_GET_PATH_LEN {
        return Err(GetPathError::TooLong {
            len: raw.len(),
            max: MAX_GET_PATH_LEN,
        });
    }
    let text = percent_decode(raw.as_bytes())?;
    let s = std::str::from_utf8(&text)
        .map_err(|_| GetPathError::NotUtf8)?
        .trim();
    // Whitespace some clients leave in (line breaks of PEM-style base64).
    let s: String = s.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    Base64::decode_vec(&s)
        .or_else(|_| Base64Unpadded::decode_vec(&s))
        .or_else(|_| Base64Url::decode_vec(&s))
        .or_else(|_| Base64UrlUnpadded::decode_vec(&s))
        .map_err(|_| GetPathError::NotBase64)
}

fn percent_decode(bytes: &[u8]) -> Result<Vec<u8>, GetPathError> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let bad = GetPathError::BadEscape { offset: i };
            let hex = bytes.get(i + 1..i + 3).ok_or(bad.clone())?;
            // from_str_radix also takes a sign ("%+9"); kept, as the server always did.
            let v = std::str::from_utf8(hex)
                .ok()
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or(bad)?;
            out.push(v);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    Ok(out)
}

/// The path segment a client appends to the responder URL (after a '/') to send `request_der`
/// by GET: standard base64 with padding, '+', '/' and '=' percent-encoded.
///
/// ```
/// use gica_pki::ocsp::get::{decode_get_path, encode_get_path};
/// let der = [0xfb, 0xef, 0xff, 0x30]; // "++//MA=="
/// let path = encode_get_path(&der);
/// assert_eq!(path, "%2B%2B%2F%2FMA%3D%3D");
/// assert_eq!(decode_get_path(&path).unwrap(), der);
/// ```
pub fn encode_get_path(request_der: &[u8]) -> String {
    let b64 = Base64::encode_string(request_der);
    let mut out = String::with_capacity(b64.len() + b64.len() / 4);
    for c in b64.chars() {
        match c {
            '+' => out.push_str("%2B"),
            '/' => out.push_str("%2F"),
            '=' => out.push_str("%3D"),
            c => out.push(c),
        }
    }
    out
}
