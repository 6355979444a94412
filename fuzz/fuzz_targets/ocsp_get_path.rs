//! The OCSP GET path decoder (percent-decoding, then base64 in four spellings) must return,
//! never panic, on any UTF-8 input; whatever it decodes goes through the request parser too,
//! and the client encoder's output must decode back to the same bytes.
#![no_main]

use gica_pki::ocsp::{
    get::{MAX_GET_PATH_LEN, decode_get_path, encode_get_path},
    parse_request,
};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(path) = std::str::from_utf8(data)
        && let Ok(der) = decode_get_path(path)
    {
        let _ = parse_request(&der, 16);
    }
    let encoded = encode_get_path(data);
    if encoded.len() <= MAX_GET_PATH_LEN {
        assert_eq!(decode_get_path(&encoded).ok().as_deref(), Some(data));
    }
});
