//! Any input that decodes as a TimeStampResp must re-encode to DER that decodes to an equal value;
//! and the verifier (no trust anchors) must return, never panic, on any input.
#![no_main]

use gica_pki::der::{Decode, Encode};
use gica_pki::tsp::{Expectation, TimeStampResp, TokenVerifier};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(resp) = TimeStampResp::from_der(data) {
        let der = resp.to_der().expect("a decoded TimeStampResp re-encodes");
        let again = TimeStampResp::from_der(&der).expect("the re-encoding decodes");
        assert_eq!(resp, again, "round trip changed the value");
    }
    let _ = TokenVerifier::new(Vec::new()).verify_response(data, &Expectation::data(b"x"));
});
