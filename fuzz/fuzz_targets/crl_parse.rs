//! `crl::parse_crl` (no signature check, so mutations reach the extension and entry parsers)
//! must return, never panic; for a CRL it accepts, `entries()` yields `len()` entries, and the
//! input is DER: x509-cert, if it reads it, re-encodes it byte for byte.
#![no_main]

use gica_pki::crl::parse_crl;
use gica_pki::der::{Decode, Encode};
use gica_pki::x509_cert::crl::CertificateList;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(crl) = parse_crl(data) else {
        return;
    };
    let n = crl.entries().map(std::hint::black_box).count();
    assert_eq!(n, crl.len(), "entries() yields len() entries");
    // x509-cert refuses some inputs parse_crl takes (negative serials); when it reads one,
    // any difference on re-encoding is a non-DER form parse_crl let through.
    if let Ok(list) = <CertificateList>::from_der(data) {
        assert_eq!(list.to_der().expect("re-encodes"), data, "parse_crl accepted non-DER");
    }
});
