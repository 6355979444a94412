//! `gica_pki::merkle`: known answers from the Certificate Transparency test tree, a recursive
//! model of RFC 9162 2.1 to compare against, tampering, hostile sizes and the DER forms.

use gica_pki::der::{Decode, Encode};
use gica_pki::merkle::{
    ConsistencyProof, EMPTY_ROOT, Frontier, Hash, InclusionProof, MAX_CONSISTENCY_PATH,
    MAX_INCLUSION_PATH, MerkleError, MerkleTree, ProofPath, consistency_path, inclusion_path,
    leaf_hash, node_hash, root, root_from_inclusion_path, verify_consistency, verify_inclusion,
};
use proptest::prelude::*;

fn h(hex: &str) -> Hash {
    let v = hex::decode(hex).expect("hex");
    v.try_into().expect("32 octets")
}

// The 8-leaf test tree shared by Certificate Transparency implementations. Facts taken from
// transparency-dev/merkle: leaf inputs and roots from testonly/constants.go (LeafInputs,
// RootHashes), proofs from proof/verify_test.go (inclusionProofs, consistencyProofs, whose
// leaf numbers count from 1; the indices below count from 0). The same vectors are in
// google/certificate-transparency-go and the C++ certificate-transparency merkle tests.
const LEAF_INPUTS: [&str; 8] = [
    "",
    "00",
    "10",
    "2021",
    "3031",
    "40414243",
    "5051525354555657",
    "606162636465666768696a6b6c6d6e6f",
];

const ROOTS: [&str; 9] = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf index, tree size, path)
const INCLUSION: [(u64, usize, &[&str]); 5] = [
    (0, 1, &[]),
    (
        0,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        5,
        8,
        &[
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        3,
        &["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"],
    ),
    (
        1,
        5,
        &[
            "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
];

/// (first size, second size, path)
const CONSISTENCY: [(u64, usize, &[&str]); 5] = [
    (1, 1, &[]),
    (
        1,
        8,
        &[
            "96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4",
        ],
    ),
    (
        6,
        8,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
    (
        2,
        5,
        &[
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
        ],
    ),
    (
        6,
        7,
        &[
            "0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
        ],
    ),
];

fn ct_leaves() -> Vec<Hash> {
    LEAF_INPUTS
        .iter()
        .map(|x| leaf_hash(&hex::decode(x).expect("hex")))
        .collect()
}

fn hashes(hex: &[&str]) -> Vec<Hash> {
    hex.iter().map(|x| h(x)).collect()
}

#[test]
fn ct_roots_of_every_size_batch_and_streaming() {
    let leaves = ct_leaves();
    assert_eq!(
        leaves[0],
        h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    );
    let mut frontier = Frontier::new();
    assert_eq!(frontier.root(), h(ROOTS[0]));
    assert_eq!(root(&[]), EMPTY_ROOT);
    for (n, expected) in ROOTS.iter().enumerate().skip(1) {
        assert_eq!(root(&leaves[..n]), h(expected), "batch root of {n}");
        assert_eq!(
            frontier.push(&hex::decode(LEAF_INPUTS[n - 1]).expect("hex")),
            Ok(n as u64 - 1)
        );
        assert_eq!(frontier.root(), h(expected), "streaming root of {n}");
    }
    assert_eq!(frontier.nodes().len(), 1, "8 leaves: one complete subtree");
}

#[test]
fn ct_inclusion_proofs_generate_and_verify() {
    let leaves = ct_leaves();
    for (index, size, path) in INCLUSION {
        let expected = hashes(path);
        let tree = &leaves[..size];
        assert_eq!(
            inclusion_path(index, tree).expect("path"),
            expected,
            "PATH({index}, D[{size}])"
        );
        let root = h(ROOTS[size]);
        let leaf = &leaves[index as usize];
        verify_inclusion(index, size as u64, leaf, &expected, &root).expect("verifies");
        let proof = InclusionProof::generate(index, tree).expect("proof");
        proof.verify(leaf, &root).expect("DER form verifies");
        let frozen = MerkleTree::new(tree.to_vec()).inclusion_proof(index);
        assert_eq!(frozen, Ok(proof));
    }
    // Every leaf of every size, against the published roots.
    for size in 1..=8usize {
        for index in 0..size as u64 {
            let path = inclusion_path(index, &leaves[..size]).expect("path");
            verify_inclusion(
                index,
                size as u64,
                &leaves[index as usize],
                &path,
                &h(ROOTS[size]),
            )
            .expect("verifies");
        }
    }
}

#[test]
fn ct_consistency_proofs_generate_and_verify() {
    let leaves = ct_leaves();
    for (first, second, path) in CONSISTENCY {
        let expected = hashes(path);
        assert_eq!(
            consistency_path(first, &leaves[..second]).expect("path"),
            expected,
            "PROOF({first}, D[{second}])"
        );
        let (r1, r2) = (h(ROOTS[first as usize]), h(ROOTS[second]));
        verify_consistency(first, second as u64, &r1, &r2, &expected).expect("verifies");
        ConsistencyProof::generate(first, &leaves[..second])
            .expect("proof")
            .verify(&r1, &r2)
            .expect("DER form verifies");
    }
    for second in 0..=8usize {
        for first in 0..=second as u64 {
            let path = consistency_path(first, &leaves[..second]).expect("path");
            verify_consistency(
                first,
                second as u64,
                &h(ROOTS[first as usize]),
                &h(ROOTS[second]),
                &path,
            )
            .expect("verifies");
        }
    }
}

/// The corruptions Certificate Transparency's own verifier tests try, on each known proof.
#[test]
fn ct_inclusion_proofs_refuse_corruptions() {
    let leaves = ct_leaves();
    let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
    for (index, size, path) in INCLUSION.into_iter().skip(1) {
        let path = hashes(path);
        let (size, root, leaf) = (size as u64, h(ROOTS[size]), leaves[index as usize]);
        let ok = |i: u64, s: u64, l: &Hash, p: &[Hash], r: &Hash| verify_inclusion(i, s, l, p, r);
        assert!(ok(index.wrapping_sub(1), size, &leaf, &path, &root).is_err());
        assert!(ok(index + 1, size, &leaf, &path, &root).is_err());
        assert!(ok(index ^ 2, size, &leaf, &path, &root).is_err());
        assert!(ok(index, size * 2, &leaf, &path, &root).is_err());
        assert!(ok(index, size / 2, &leaf, &path, &root).is_err());
        assert!(ok(index, size, &some, &path, &root).is_err());
        assert_eq!(
            ok(index, size, &leaf, &path, &EMPTY_ROOT),
            Err(MerkleError::RootMismatch)
        );
        let mut longer = path.clone();
        longer.push(root);
        assert!(matches!(
            ok(index, size, &leaf, &longer, &root),
            Err(MerkleError::WrongPathLength { .. })
        ));
        longer.rotate_right(1);
        assert!(ok(index, size, &leaf, &longer, &root).is_err());
        assert!(matches!(
            ok(index, size, &leaf, &path[..path.len() - 1], &root),
            Err(MerkleError::WrongPathLength { .. })
        ));
        for i in 0..path.len() {
            let mut bad = path.clone();
            bad[i][0] ^= 8;
            assert_eq!(
                ok(index, size, &leaf, &bad, &root),
                Err(MerkleError::RootMismatch)
            );
        }
    }
}

#[test]
fn ct_consistency_proofs_refuse_corruptions() {
    for (first, second, path) in CONSISTENCY.into_iter().skip(1) {
        let path = hashes(path);
        let (r1, r2) = (h(ROOTS[first as usize]), h(ROOTS[second]));
        let second = second as u64;
        let ok = |f: u64, s: u64, a: &Hash, b: &Hash, p: &[Hash]| verify_consistency(f, s, a, b, p);
        assert!(ok(first - 1, second, &r1, &r2, &path).is_err());
        assert!(ok(first + 1, second, &r1, &r2, &path).is_err());
        assert!(ok(first ^ 2, second, &r1, &r2, &path).is_err());
        assert!(ok(first, second * 2, &r1, &r2, &path).is_err());
        assert!(ok(first, second / 2, &r1, &r2, &path).is_err());
        assert!(ok(first, second, &r2, &r2, &path).is_err());
        assert!(ok(first, second, &r1, &r1, &path).is_err());
        assert!(ok(first, second, &r2, &r1, &path).is_err());
        assert!(ok(first, second, &r1, &r2, &[]).is_err());
        for extra in [r1, r2, EMPTY_ROOT, path[0]] {
            let mut longer = path.clone();
            longer.push(extra);
            assert!(ok(first, second, &r1, &r2, &longer).is_err());
            longer.rotate_right(1);
            assert!(ok(first, second, &r1, &r2, &longer).is_err());
        }
        assert!(ok(first, second, &r1, &r2, &path[..path.len() - 1]).is_err());
        for i in 0..path.len() {
            let mut bad = path.clone();
            bad[i][0] ^= 16;
            assert!(
                ok(first, second, &r1, &r2, &bad).is_err(),
                "bit flip in {i}"
            );
        }
    }
}

#[test]
fn edge_sizes_are_errors_not_panics() {
    let leaf = leaf_hash(b"x");
    // Size 0: no index is inside; 2.1.3.2 step 1.
    assert_eq!(
        verify_inclusion(0, 0, &leaf, &[], &EMPTY_ROOT),
        Err(MerkleError::IndexOutOfRange { index: 0, size: 0 })
    );
    assert_eq!(
        inclusion_path(0, &[]),
        Err(MerkleError::IndexOutOfRange { index: 0, size: 0 })
    );
    assert_eq!(
        inclusion_path(u64::MAX, &[leaf]),
        Err(MerkleError::IndexOutOfRange {
            index: u64::MAX,
            size: 1
        })
    );
    // A single leaf is its own root with an empty path.
    verify_inclusion(0, 1, &leaf, &[], &leaf).expect("one leaf");
    assert_eq!(
        verify_inclusion(0, 1, &leaf, &[leaf], &leaf),
        Err(MerkleError::WrongPathLength {
            expected: 0,
            got: 1
        })
    );
    // The largest sizes: a path of the right length is checked, the wrong length refused.
    let full = vec![leaf; MAX_INCLUSION_PATH];
    assert_eq!(
        verify_inclusion(0, u64::MAX, &leaf, &full, &leaf),
        Err(MerkleError::RootMismatch)
    );
    assert_eq!(
        verify_inclusion(u64::MAX - 1, u64::MAX, &leaf, &[], &leaf),
        Err(MerkleError::WrongPathLength {
            expected: 63,
            got: 0
        })
    );
    assert!(root_from_inclusion_path(u64::MAX, u64::MAX, &leaf, &[]).is_err());
    // Consistency: sizes out of order, trivial cases and the largest sizes.
    assert_eq!(
        verify_consistency(2, 1, &leaf, &leaf, &[]),
        Err(MerkleError::SizeOrder {
            first: 2,
            second: 1
        })
    );
    assert_eq!(
        consistency_path(2, &[leaf]),
        Err(MerkleError::SizeOrder {
            first: 2,
            second: 1
        })
    );
    verify_consistency(0, 0, &EMPTY_ROOT, &EMPTY_ROOT, &[]).expect("empty to empty");
    verify_consistency(0, 5, &EMPTY_ROOT, &leaf, &[]).expect("empty to any");
    assert_eq!(
        verify_consistency(0, 5, &leaf, &leaf, &[]),
        Err(MerkleError::FirstRootMismatch)
    );
    assert_eq!(
        verify_consistency(0, 0, &EMPTY_ROOT, &leaf, &[]),
        Err(MerkleError::SecondRootMismatch)
    );
    assert_eq!(
        verify_consistency(0, 1, &EMPTY_ROOT, &leaf, &[leaf]),
        Err(MerkleError::WrongPathLength {
            expected: 0,
            got: 1
        })
    );
    verify_consistency(3, 3, &leaf, &leaf, &[]).expect("same tree");
    assert_eq!(
        verify_consistency(3, 3, &leaf, &EMPTY_ROOT, &[]),
        Err(MerkleError::SecondRootMismatch)
    );
    assert!(matches!(
        verify_consistency(1, 2, &leaf, &leaf, &[]),
        Err(MerkleError::WrongPathLength { expected: 1, .. })
    ));
    let full = vec![leaf; MAX_CONSISTENCY_PATH];
    assert_eq!(
        verify_consistency(u64::MAX - 2, u64::MAX, &leaf, &leaf, &full),
        Err(MerkleError::FirstRootMismatch)
    );
    assert!(verify_consistency(u64::MAX - 1, u64::MAX, &leaf, &leaf, &full).is_err());
    assert!(verify_consistency(1, u64::MAX, &leaf, &leaf, &[]).is_err());
}

#[test]
fn frontier_edges() {
    let mut f = Frontier::from_nodes(u64::MAX, vec![[7; 32]; 64]).expect("a full tree");
    assert_eq!(f.push(b"one more"), Err(MerkleError::TreeFull));
    assert_eq!(
        Frontier::from_nodes(3, vec![[0; 32]]),
        Err(MerkleError::FrontierShape { size: 3, nodes: 1 })
    );
    assert_eq!(
        Frontier::from_nodes(0, vec![]).expect("empty").root(),
        EMPTY_ROOT
    );
    f = Frontier::new();
    assert!(f.is_empty());
    assert_eq!(f.push(b""), Ok(0));
    assert_eq!(f.size(), 1);
}

#[test]
fn der_forms() {
    let leaves = ct_leaves();
    let proof = InclusionProof::generate(5, &leaves).expect("proof");
    let der = proof.to_der().expect("encodes");
    // SEQUENCE { INTEGER 5, INTEGER 8, SEQUENCE { 3 x OCTET STRING (32) } }
    assert_eq!(
        &der[..10],
        &[0x30, 0x6e, 0x02, 0x01, 0x05, 0x02, 0x01, 0x08, 0x30, 0x66]
    );
    assert_eq!(InclusionProof::from_der(&der).expect("decodes"), proof);

    // The largest sizes encode as unsigned INTEGERs (a leading 0x00).
    let big = ConsistencyProof {
        first_size: u64::MAX - 2,
        second_size: u64::MAX,
        path: ProofPath::try_from(vec![[1; 32]; MAX_CONSISTENCY_PATH]).expect("65 fit"),
    };
    let der = big.to_der().expect("encodes");
    assert_eq!(ConsistencyProof::from_der(&der).expect("decodes"), big);

    assert_eq!(
        ProofPath::<MAX_INCLUSION_PATH>::try_from(vec![[1; 32]; 65]),
        Err(MerkleError::PathTooLong { len: 65, max: 64 })
    );
    // A 65th hash in an inclusion proof, a 31-octet hash, a negative size: refused.
    let mut too_long = Vec::new();
    for _ in 0..65 {
        too_long.extend_from_slice(&[0x04, 0x20]);
        too_long.extend_from_slice(&[0; 32]);
    }
    let mut der = vec![0x30, 0x82, 0x08, 0xac, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01];
    der.extend_from_slice(&[0x30, 0x82, 0x08, 0xa2]);
    der.extend_from_slice(&too_long);
    assert!(InclusionProof::from_der(&der).is_err());
    let short_hash = [
        [
            0x30, 0x29, 0x02, 0x01, 0x00, 0x02, 0x01, 0x02, 0x30, 0x21, 0x04, 0x1f,
        ]
        .as_slice(),
        &[0; 31],
    ]
    .concat();
    assert!(InclusionProof::from_der(&short_hash).is_err());
    assert!(
        InclusionProof::from_der(&[0x30, 0x08, 0x02, 0x01, 0xff, 0x02, 0x01, 0x01, 0x30, 0x00])
            .is_err()
    );
    let empty =
        InclusionProof::from_der(&[0x30, 0x08, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01, 0x30, 0x00])
            .expect("well-formed");
    let leaf = leaf_hash(b"only");
    empty.verify(&leaf, &leaf).expect("a one-leaf tree");
}

// --- A recursive model, written from RFC 9162 2.1 as directly as possible. ------------------

fn k_of(n: usize) -> usize {
    let mut k = 1;
    while k * 2 < n {
        k *= 2;
    }
    k
}

fn model_mth(d: &[Hash]) -> Hash {
    match d.len() {
        0 => EMPTY_ROOT,
        1 => d[0],
        n => {
            let k = k_of(n);
            node_hash(&model_mth(&d[..k]), &model_mth(&d[k..]))
        }
    }
}

fn model_path(m: usize, d: &[Hash]) -> Vec<Hash> {
    if d.len() <= 1 {
        return Vec::new();
    }
    let k = k_of(d.len());
    let mut p;
    if m < k {
        p = model_path(m, &d[..k]);
        p.push(model_mth(&d[k..]));
    } else {
        p = model_path(m - k, &d[k..]);
        p.push(model_mth(&d[..k]));
    }
    p
}

fn model_subproof(m: usize, d: &[Hash], b: bool) -> Vec<Hash> {
    let n = d.len();
    if m == n {
        return if b { Vec::new() } else { vec![model_mth(d)] };
    }
    let k = k_of(n);
    let mut p;
    if m <= k {
        p = model_subproof(m, &d[..k], b);
        p.push(model_mth(&d[k..]));
    } else {
        p = model_subproof(m - k, &d[k..], false);
        p.push(model_mth(&d[..k]));
    }
    p
}

fn tree(n: usize, salt: u64) -> Vec<Hash> {
    (0..n as u64)
        .map(|i| leaf_hash(&[salt.to_be_bytes(), i.to_be_bytes()].concat()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn streaming_root_is_the_batch_root_at_every_size(n in 0usize..300, salt: u64) {
        let leaves = tree(n, salt);
        let mut f = Frontier::new();
        prop_assert_eq!(f.root(), EMPTY_ROOT);
        for (i, leaf) in leaves.iter().enumerate() {
            prop_assert_eq!(f.push_leaf_hash(*leaf), Ok(i as u64));
            prop_assert!(f.nodes().len() <= 64);
            prop_assert_eq!(f.root(), model_mth(&leaves[..=i]));
        }
        prop_assert_eq!(root(&leaves), model_mth(&leaves));
        let resumed = Frontier::from_nodes(f.size(), f.nodes().to_vec());
        prop_assert_eq!(resumed, Ok(f));
    }

    #[test]
    fn inclusion_proofs_verify_and_any_flipped_bit_fails(
        n in 1usize..600, index in any::<prop::sample::Index>(), salt: u64,
        which in any::<prop::sample::Index>(), bit in 0usize..256, other in any::<u64>(),
    ) {
        let leaves = tree(n, salt);
        let i = index.index(n);
        let path = inclusion_path(i as u64, &leaves).expect("in range");
        prop_assert_eq!(&path, &model_path(i, &leaves));
        let r = root(&leaves);
        prop_assert_eq!(verify_inclusion(i as u64, n as u64, &leaves[i], &path, &r), Ok(()));

        let flip = |x: &Hash| { let mut y = *x; y[bit / 8] ^= 1 << (bit % 8); y };
        if !path.is_empty() {
            let mut bad = path.clone();
            let j = which.index(path.len());
            bad[j] = flip(&bad[j]);
            prop_assert_eq!(verify_inclusion(i as u64, n as u64, &leaves[i], &bad, &r), Err(MerkleError::RootMismatch));
        }
        prop_assert!(verify_inclusion(i as u64, n as u64, &flip(&leaves[i]), &path, &r).is_err());
        prop_assert!(verify_inclusion(i as u64, n as u64, &leaves[i], &path, &flip(&r)).is_err());
        let j = other % n as u64;
        if j != i as u64 {
            prop_assert!(verify_inclusion(j, n as u64, &leaves[i], &path, &r).is_err());
        }
        // The hashes do not bind the size on their own (index 0 has the same path shape in
        // trees of 41 and 64 leaves); a checkpoint signs size and root together, so what
        // must fail is the proof against a smaller tree of the same log.
        let m = i as u64 + 1 + other % (n - i) as u64;
        if m != n as u64 {
            let smaller = root(&leaves[..m as usize]);
            prop_assert!(verify_inclusion(i as u64, m, &leaves[i], &path, &smaller).is_err());
        }
    }

    #[test]
    fn consistency_proofs_verify_and_tampering_fails(
        n in 0usize..600, first in any::<prop::sample::Index>(), salt: u64,
        which in any::<prop::sample::Index>(), bit in 0usize..256, other in any::<u64>(),
    ) {
        let leaves = tree(n, salt);
        let m = first.index(n + 1);
        let path = consistency_path(m as u64, &leaves).expect("m <= n");
        if 0 < m && m < n {
            prop_assert_eq!(&path, &model_subproof(m, &leaves, true));
        } else {
            prop_assert!(path.is_empty());
        }
        let (r1, r2) = (root(&leaves[..m]), root(&leaves));
        prop_assert_eq!(verify_consistency(m as u64, n as u64, &r1, &r2, &path), Ok(()));

        let flip = |x: &Hash| { let mut y = *x; y[bit / 8] ^= 1 << (bit % 8); y };
        if !path.is_empty() {
            let mut bad = path.clone();
            let j = which.index(path.len());
            bad[j] = flip(&bad[j]);
            prop_assert!(verify_consistency(m as u64, n as u64, &r1, &r2, &bad).is_err());
        }
        prop_assert!(verify_consistency(m as u64, n as u64, &flip(&r1), &r2, &path).is_err());
        if m != 0 {
            prop_assert!(verify_consistency(m as u64, n as u64, &r1, &flip(&r2), &path).is_err());
        }
        let m2 = other % (n as u64 + 1);
        if m2 != m as u64 && m != 0 {
            prop_assert!(verify_consistency(m2, n as u64, &r1, &r2, &path).is_err());
        }
    }

    #[test]
    fn der_round_trip(
        a: u64, b: u64,
        path in prop::collection::vec(any::<[u8; 32]>(), 0..=MAX_INCLUSION_PATH),
        extra: [u8; 32],
    ) {
        let inclusion = InclusionProof {
            leaf_index: a,
            tree_size: b,
            path: ProofPath::try_from(path.clone()).expect("at most 64"),
        };
        let der = inclusion.to_der().expect("encodes");
        prop_assert_eq!(InclusionProof::from_der(&der).expect("decodes"), inclusion);

        let mut longer = path;
        longer.push(extra);
        let consistency = ConsistencyProof {
            first_size: a,
            second_size: b,
            path: ProofPath::try_from(longer).expect("at most 65"),
        };
        let der = consistency.to_der().expect("encodes");
        prop_assert_eq!(ConsistencyProof::from_der(&der).expect("decodes"), consistency);
    }

    #[test]
    fn der_decoding_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(p) = InclusionProof::from_der(&bytes) {
            prop_assert_eq!(p.to_der().expect("re-encodes"), bytes.clone());
        }
        if let Ok(p) = ConsistencyProof::from_der(&bytes) {
            prop_assert_eq!(p.to_der().expect("re-encodes"), bytes);
        }
    }
}

proptest! {
    // Every proof of every tree compared with the slice functions: O(n^2) hashes per case.
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn frozen_tree_gives_the_same_roots_and_proofs(n in 0usize..160, salt: u64) {
        let leaves = tree(n, salt);
        let t = MerkleTree::new(leaves.clone());
        prop_assert_eq!(t.size(), n as u64);
        prop_assert_eq!(t.leaves(), &leaves[..]);
        prop_assert_eq!(t.root(), root(&leaves));
        for i in 0..n as u64 {
            let p = t.inclusion_proof(i).expect("in range");
            prop_assert_eq!(p.path.as_slice(), &inclusion_path(i, &leaves).expect("in range")[..]);
        }
        for m in 0..=n as u64 {
            let p = t.consistency_proof(m).expect("m <= n");
            prop_assert_eq!(p.path.as_slice(), &consistency_path(m, &leaves).expect("m <= n")[..]);
        }
        prop_assert_eq!(
            t.inclusion_proof(n as u64),
            Err(MerkleError::IndexOutOfRange { index: n as u64, size: n as u64 })
        );
        prop_assert_eq!(
            t.consistency_proof(n as u64 + 1),
            Err(MerkleError::SizeOrder { first: n as u64 + 1, second: n as u64 })
        );
    }
}
