//! Any input that decodes as a TSTInfo must re-encode to DER that decodes to an equal value
//! and that the strict decoder (`TstInfo::from_econtent`, what token verification uses)
//! accepts; an input the strict decoder accepts must be exactly that re-encoding.
#![no_main]

use gica_pki::der::{Decode, Encode};
use gica_pki::tsp::TstInfo;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(info) = TstInfo::from_der(data) {
        let der = info.to_der().expect("a decoded TSTInfo re-encodes");
        let again = TstInfo::from_econtent(&der).expect("the re-encoding is DER");
        assert_eq!(info, again, "round trip changed the value");
        if TstInfo::from_econtent(data).is_ok() {
            assert_eq!(der, data, "strict decoding accepted non-DER");
        }
    } else {
        assert!(TstInfo::from_econtent(data).is_err(), "strict accepts what lenient refuses");
    }
});
