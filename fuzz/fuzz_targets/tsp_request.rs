//! Any input that decodes as a TimeStampReq must re-encode to DER that decodes to an equal value.
#![no_main]

use gica_pki::der::{Decode, Encode};
use gica_pki::tsp::TimeStampReq;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(req) = TimeStampReq::from_der(data) {
        let der = req.to_der().expect("a decoded TimeStampReq re-encodes");
        let again = TimeStampReq::from_der(&der).expect("the re-encoding decodes");
        assert_eq!(req, again, "round trip changed the value");
    }
});
