//! What the registry's store and end-to-end tests share: an independent RFC 9162 Merkle tree
//! (written from the RFC, not from gica_pki::merkle, so the two can disagree), the DER of a
//! pair written by hand, test identifiers and fixture paths.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use sha2::{Digest, Sha256};

pub type Hash = [u8; 32];

/// `PairEntry ::= SEQUENCE { imei UTF8String, imsi UTF8String }`, encoded by hand.
pub fn pair_der(imei: &str, imsi: &str) -> Vec<u8> {
    assert_eq!((imei.len(), imsi.len()), (14, 15), "{imei} {imsi}");
    let mut der = vec![0x30, (2 + 14 + 2 + 15) as u8, 0x0c, 14];
    der.extend_from_slice(imei.as_bytes());
    der.extend_from_slice(&[0x0c, 15]);
    der.extend_from_slice(imsi.as_bytes());
    der
}

/// RFC 9162 2.1.1: `SHA-256(0x00 || entry)`.
pub fn leaf(entry: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0u8])
        .chain_update(entry)
        .finalize()
        .into()
}

pub fn pair_leaf(imei: &str, imsi: &str) -> Hash {
    leaf(&pair_der(imei, imsi))
}

fn node(l: &Hash, r: &Hash) -> Hash {
    Sha256::new()
        .chain_update([1u8])
        .chain_update(l)
        .chain_update(r)
        .finalize()
        .into()
}

/// The largest power of two smaller than `n` (n > 1).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// MTH(D[n]) of leaf hashes, by the RFC's recursive definition.
pub fn mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => Sha256::digest([]).into(),
        1 => d[0],
        n => {
            let k = split(n);
            node(&mth(&d[..k]), &mth(&d[k..]))
        }
    }
}

/// PATH(m, D[n]), by the RFC's recursive definition.
pub fn path(m: usize, d: &[Hash]) -> Vec<Hash> {
    if d.len() <= 1 {
        return Vec::new();
    }
    let k = split(d.len());
    let mut p;
    if m < k {
        p = path(m, &d[..k]);
        p.push(mth(&d[k..]));
    } else {
        p = path(m - k, &d[k..]);
        p.push(mth(&d[..k]));
    }
    p
}

/// RFC 9162 2.1.3.2: does `path` prove `leaf` at `index` in the tree of `size` with `root`?
pub fn verify_inclusion(index: u64, size: u64, leaf: &Hash, path: &[Hash], root: &Hash) -> bool {
    if index >= size {
        return false;
    }
    let (mut fn_, mut sn, mut r) = (index, size - 1, *leaf);
    for p in path {
        if sn == 0 {
            return false;
        }
        if fn_ & 1 == 1 || fn_ == sn {
            r = node(p, &r);
            while fn_ & 1 == 0 && fn_ != 0 {
                fn_ >>= 1;
                sn >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        fn_ >>= 1;
        sn >>= 1;
    }
    sn == 0 && &r == root
}

/// The Luhn check digit of a 14-digit IMEI body.
pub fn luhn(body: &str) -> char {
    let sum: u32 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let x = d * 2;
                x / 10 + x % 10
            } else {
                d
            }
        })
        .sum();
    char::from(b'0' + ((10 - sum % 10) % 10) as u8)
}

/// The 15-digit IMEI (with its check digit) of a 14-digit body.
pub fn imei15(body: &str) -> String {
    format!("{body}{}", luhn(body))
}

/// The same IMEI with a wrong check digit.
pub fn imei15_wrong(body: &str) -> String {
    let good = luhn(body) as u8 - b'0';
    format!("{body}{}", (good + 1) % 10)
}

/// A valid Iranian national ID: 9 digits and their check digit.
pub fn national_id(n: u64) -> String {
    let first = format!("{:09}", n % 1_000_000_000);
    let s: u32 = first
        .bytes()
        .enumerate()
        .map(|(i, b)| u32::from(b - b'0') * (10 - i as u32))
        .sum();
    let r = s % 11;
    format!("{first}{}", if r < 2 { r } else { 11 - r })
}

/// A file under the workspace's testdata/.
pub fn fixture(rel: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testdata")
        .join(rel)
}

#[test]
fn the_independent_tree_matches_rfc_9162_vectors() {
    // The Certificate Transparency test tree (RFC 6962's reference vectors): 8 entries.
    let entries: [&[u8]; 8] = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        b"\x50\x51\x52\x53\x54\x55\x56\x57",
        b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
    ];
    let leaves: Vec<Hash> = entries.iter().map(|e| leaf(e)).collect();
    assert_eq!(
        hex::encode(mth(&leaves)),
        "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
    );
    assert_eq!(
        hex::encode(mth(&leaves[..3])),
        "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77"
    );
    for n in 1..=leaves.len() {
        let root = mth(&leaves[..n]);
        for m in 0..n {
            let p = path(m, &leaves[..n]);
            assert!(verify_inclusion(m as u64, n as u64, &leaves[m], &p, &root));
            // Any other leaf, index or size fails.
            let other = (m + 1) % n;
            if other != m {
                assert!(!verify_inclusion(
                    m as u64,
                    n as u64,
                    &leaves[other],
                    &p,
                    &root
                ));
                assert!(!verify_inclusion(
                    other as u64,
                    n as u64,
                    &leaves[m],
                    &p,
                    &root
                ));
            }
        }
    }
    assert_eq!(luhn("49015420323751"), '8');
    assert_eq!(national_id(1_234_567).len(), 10);
}
