//! Strategies shared by the property tests of several modules.

use der::asn1::Int;
use proptest::prelude::*;

/// A canonical (minimal two's complement) INTEGER of 1 to 20 octets: DER forbids redundant
/// leading octets, so only these can round-trip byte for byte.
pub(crate) fn arb_int() -> impl Strategy<Value = Int> {
    proptest::collection::vec(any::<u8>(), 1..21).prop_map(|mut b| {
        while b.len() > 1 && ((b[0] == 0 && b[1] < 0x80) || (b[0] == 0xff && b[1] >= 0x80)) {
            b.remove(0);
        }
        Int::new(&b).expect("int")
    })
}
