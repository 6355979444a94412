//! Criterion benchmarks of `gica_pki::merkle` (SHA-256, RFC 9162 hashing).
//!
//! - `merkle_root_streaming/10000000`: ten million entries (8-octet counters) through
//!   `Frontier::push` (a leaf hash and, on average, one node hash each), then the root.
//! - `merkle_root_batch/1000000`: `root` of a million leaf hashes.
//! - `merkle_inclusion_path/1000000`, `merkle_consistency_path/1000000`: one proof from a
//!   million leaf hashes (each walks all leaves once: O(n) hashes, O(log n) memory).
//! - `merkle_tree_build/1000000`: `MerkleTree::new` of a million leaf hashes (every level kept);
//!   `merkle_tree_inclusion_proof/1000000`, `merkle_tree_consistency_proof/1000000`: one
//!   proof from it (O(log n)).
//! - `merkle_verify_inclusion/1000000`, `merkle_verify_consistency/1000000`: checking them.
//!
//! `cargo bench -p gica-pki --bench merkle` (add `-- merkle_root_streaming` to run one).
//! The million leaves are built only when a benchmark that needs them runs, so the peak
//! memory of the streaming root alone (the Frontier keeps at most 64 hashes) is
//! `/usr/bin/time -v target/release/deps/merkle-HASH --bench --profile-time 5 merkle_root_streaming`
//! (HASH as `cargo bench` prints it).

use std::{hint::black_box, sync::OnceLock, time::Duration};

use criterion::{Criterion, criterion_group, criterion_main};
use gica_pki::merkle::{
    Frontier, Hash, MerkleTree, consistency_path, inclusion_path, leaf_hash, root,
    verify_consistency, verify_inclusion,
};

const N: u64 = 1_000_000;
const INDEX: u64 = N / 2 + 12_345;
const FIRST: u64 = N / 3;

/// The million leaf hashes and the frozen tree of them, built on first use.
fn fixture() -> &'static (Vec<Hash>, MerkleTree) {
    static DATA: OnceLock<(Vec<Hash>, MerkleTree)> = OnceLock::new();
    DATA.get_or_init(|| {
        let leaves: Vec<Hash> = (0..N).map(|i| leaf_hash(&i.to_be_bytes())).collect();
        let tree = MerkleTree::new(leaves.clone());
        (leaves, tree)
    })
}

/// A group `name` of ten samples of `f` over the million leaves.
fn slow(c: &mut Criterion, name: &str, f: impl Fn(&[Hash])) {
    let mut g = c.benchmark_group(name);
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.bench_function("1000000", |b| {
        let (leaves, _) = fixture();
        b.iter(|| f(leaves))
    });
    g.finish();
}

fn merkle(c: &mut Criterion) {
    let mut g = c.benchmark_group("merkle_root_streaming");
    g.sample_size(10).measurement_time(Duration::from_secs(60));
    g.bench_function("10000000", |b| {
        b.iter(|| {
            let mut f = Frontier::new();
            for i in 0..10_000_000u64 {
                f.push(&i.to_be_bytes()).expect("not full");
            }
            black_box(f.root())
        })
    });
    g.finish();

    slow(c, "merkle_root_batch", |leaves| {
        black_box(root(leaves));
    });
    slow(c, "merkle_inclusion_path", |leaves| {
        black_box(inclusion_path(INDEX, leaves).expect("in range"));
    });
    slow(c, "merkle_consistency_path", |leaves| {
        black_box(consistency_path(FIRST, leaves).expect("first <= n"));
    });
    slow(c, "merkle_tree_build", |leaves| {
        black_box(MerkleTree::new(leaves.to_vec()));
    });

    c.bench_function("merkle_tree_inclusion_proof/1000000", |b| {
        let (_, tree) = fixture();
        b.iter(|| black_box(tree.inclusion_proof(black_box(INDEX)).expect("in range")))
    });
    c.bench_function("merkle_tree_consistency_proof/1000000", |b| {
        let (_, tree) = fixture();
        b.iter(|| {
            black_box(
                tree.consistency_proof(black_box(FIRST))
                    .expect("first <= n"),
            )
        })
    });
    c.bench_function("merkle_verify_inclusion/1000000", |b| {
        let (leaves, tree) = fixture();
        let proof = tree.inclusion_proof(INDEX).expect("in range");
        let (leaf, r) = (leaves[INDEX as usize], tree.root());
        b.iter(|| {
            let p = black_box(proof.path.as_slice());
            verify_inclusion(INDEX, N, &leaf, p, &r).expect("verifies")
        })
    });
    c.bench_function("merkle_verify_consistency/1000000", |b| {
        let (leaves, tree) = fixture();
        let proof = tree.consistency_proof(FIRST).expect("first <= n");
        let (r1, r2) = (root(&leaves[..FIRST as usize]), tree.root());
        b.iter(|| {
            let p = black_box(proof.path.as_slice());
            verify_consistency(FIRST, N, &r1, &r2, p).expect("verifies")
        })
    });
}

criterion_group!(benches, merkle);
criterion_main!(benches);
