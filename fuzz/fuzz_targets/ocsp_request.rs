//! Any input that decodes as an OCSPRequest must re-encode to DER that decodes to an equal value;
//! and the responder's request parser must return, never panic, on any input.
#![no_main]

use gica_pki::der::{Decode, Encode};
use gica_pki::ocsp::{OcspRequest, parse_request};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = OcspRequest::from_der(data) {
        let der = req.to_der().expect("a decoded OCSPRequest re-encodes");
        let again = OcspRequest::from_der(&der).expect("the re-encoding decodes");
        assert_eq!(req, again, "round trip changed the value");
    }
    let _ = parse_request(data, 16);
});
