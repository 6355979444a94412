//! The CRL verifier (issuer: the fixture int-ca.pem) must return, never panic, on any input;
//! iterating the entries of a CRL it accepts must not panic and must yield `len()` of them.
#![no_main]

use std::sync::LazyLock;
use std::time::SystemTime;

use gica_pki::crl::verify_crl;
use gica_pki::x509_cert::Certificate;
use libfuzzer_sys::fuzz_target;

static ISSUER: LazyLock<Certificate> = LazyLock::new(|| {
    let pem = include_str!("../../testdata/pki/int-ca.pem");
    gica_pki::cert::load_pem_certs(pem).expect("int-ca.pem parses").remove(0)
});

fuzz_target!(|data: &[u8]| {
    if let Ok(crl) = verify_crl(data, &ISSUER, SystemTime::now()) {
        let n = crl.entries().map(std::hint::black_box).count();
        assert_eq!(n, crl.len(), "entries() yields len() entries");
    }
});
