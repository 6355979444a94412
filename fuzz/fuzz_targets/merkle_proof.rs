//! The first 64 bytes are two hashes (leaf and root, or first and second root), the rest DER.
//! A proof that decodes re-encodes byte for byte; verifying it never panics, and an inclusion
//! proof that verifies leads to exactly that root.
#![no_main]

use gica_pki::der::{Decode, Encode};
use gica_pki::merkle::{ConsistencyProof, Hash, InclusionProof, root_from_inclusion_path};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let (Some(a), Some(b), Some(der)) = (data.get(..32), data.get(32..64), data.get(64..)) else {
        return;
    };
    let a = Hash::try_from(a).expect("32 octets");
    let b = Hash::try_from(b).expect("32 octets");
    if let Ok(p) = InclusionProof::from_der(der) {
        assert_eq!(p.to_der().expect("re-encodes"), der, "non-DER accepted");
        if p.verify(&a, &b).is_ok() {
            let r = root_from_inclusion_path(p.leaf_index, p.tree_size, &a, p.path.as_slice());
            assert_eq!(r, Ok(b));
        }
    }
    if let Ok(p) = ConsistencyProof::from_der(der) {
        assert_eq!(p.to_der().expect("re-encodes"), der, "non-DER accepted");
        let _ = p.verify(&a, &b);
    }
});
