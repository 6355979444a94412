//! The registry's signed records (`DeviceReceipt`, `RegistrySnapshot`, `PairList`): `from_der`
//! returns, never panics, on any bytes, and a value it accepts re-encodes to exactly those
//! bytes (a signed record has one DER form). An accepted receipt's Merkle checks run too.
#![no_main]

use gica_pki::der::{Decode, Encode};
use gica_registry::receipt::{DeviceReceipt, PairList, RegistrySnapshot};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(r) = DeviceReceipt::from_der(data) {
        assert_eq!(r.to_der().expect("re-encodes"), data, "non-DER receipt accepted");
        let root = r.snapshot.root_hash.as_bytes().try_into().unwrap_or([0; 32]);
        for p in &r.proofs {
            if let Ok(leaf) = p.pair.leaf_hash() {
                let _ = p.proof.verify(&leaf, &root);
            }
        }
    }
    if let Ok(s) = RegistrySnapshot::from_der(data) {
        assert_eq!(s.to_der().expect("re-encodes"), data, "non-DER snapshot accepted");
    }
    if let Ok(l) = PairList::from_der(data) {
        assert_eq!(l.to_der().expect("re-encodes"), data, "non-DER list accepted");
    }
});
