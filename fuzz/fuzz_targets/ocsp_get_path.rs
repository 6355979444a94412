//! The OCSP GET path decoder (percent-decoding, then base64 in four spellings) must return,
//! never panic, on any UTF-8 input; whatever it decodes goes through the request parser too.
#![no_main]

use gica_ocsp_server::server::decode_get_path;
use gica_pki::ocsp::parse_request;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(path) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(der) = decode_get_path(path) {
        let _ = parse_request(&der, 16);
    }
});
