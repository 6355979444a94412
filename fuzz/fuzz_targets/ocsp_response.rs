//! Any input that decodes as an OCSPResponse must re-encode to DER that decodes to an equal value,
//! and a BasicOCSPResponse that `basic()` (strict) accepts must re-encode byte for byte; the
//! verifier (trusting the fixture int-ca.pem, checking an empty request) must return, never
//! panic, on any input.
#![no_main]

use std::sync::LazyLock;
use std::time::SystemTime;

use gica_pki::der::{Decode, Encode};
use gica_pki::ocsp::{OcspRequest, OcspRequestBuilder, OcspResponse, OcspVerifier};
use libfuzzer_sys::fuzz_target;

static VERIFIER: LazyLock<(OcspVerifier, OcspRequest)> = LazyLock::new(|| {
    let pem = include_str!("../../testdata/pki/int-ca.pem");
    let issuer = gica_pki::cert::load_pem_certs(pem).expect("int-ca.pem parses").remove(0);
    (OcspVerifier::new(issuer), OcspRequestBuilder::new().build())
});

fuzz_target!(|data: &[u8]| {
    if let Ok(resp) = OcspResponse::from_der(data) {
        let der = resp.to_der().expect("a decoded OCSPResponse re-encodes");
        let again = OcspResponse::from_der(&der).expect("the re-encoding decodes");
        assert_eq!(resp, again, "round trip changed the value");
        // basic() is strict: what it accepts re-encodes byte for byte.
        if let (Some(Ok(basic)), Some(rb)) = (resp.basic(), &resp.response_bytes) {
            let der = basic.to_der().expect("a BasicOCSPResponse re-encodes");
            assert_eq!(der, rb.response.as_bytes(), "basic() accepted non-DER");
        }
    }
    let (verifier, request) = &*VERIFIER;
    let _ = verifier.verify(data, request, SystemTime::now());
});
