//! Any input that decodes as a TSTInfo must re-encode to DER that decodes to an equal value.
#![no_main]

use gica_pki::der::{Decode, Encode};
use gica_pki::tsp::TstInfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = TstInfo::from_der(data) {
        let der = info.to_der().expect("a decoded TSTInfo re-encodes");
        let again = TstInfo::from_der(&der).expect("the re-encoding decodes");
        assert_eq!(info, again, "round trip changed the value");
    }
});
