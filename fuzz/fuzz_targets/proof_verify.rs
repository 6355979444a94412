//! The proof verifier (anchor: the fixture root-ca.pem, so the signed seeds reach the token and
//! path checks) and `read_proof` must return, never panic, on any input; a proof that verifies
//! is one `read_proof` reads, with the same record.
#![no_main]

use std::sync::LazyLock;
use std::time::SystemTime;

use gica_pki::proof::{ProofVerifier, read_proof};
use libfuzzer_sys::fuzz_target;

static VERIFIER: LazyLock<ProofVerifier> = LazyLock::new(|| {
    let pem = include_str!("../../testdata/pki/root-ca.pem");
    let roots = gica_pki::cert::load_pem_certs(pem).expect("root-ca.pem parses");
    ProofVerifier::new(roots).require_time_stamp(false)
});

fuzz_target!(|data: &[u8]| {
    let parts = read_proof(data);
    if let Ok(proof) = VERIFIER.verify(data, SystemTime::now()) {
        let parts = parts.expect("a proof that verifies reads");
        assert_eq!(parts.content, proof.content, "read_proof and verify disagree");
    }
});
