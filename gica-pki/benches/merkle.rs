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
//! Peak memory of the streaming root (the Frontier keeps at most 64 hashes):
//! `/usr/bin/time -v target/release/deps/merkle-* --bench merkle_root_streaming`.

use std::{hint::black_box, time::Duration};

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use gica_pki::merkle::{
    Frontier, Hash, MerkleTree, consistency_path, inclusion_path, leaf_hash, root,
    verify_consistency, verify_inclusion,
};

fn leaves(n: u64) -> Vec<Hash> {
    (0..n).map(|i| leaf_hash(&i.to_be_bytes())).collect()
}

fn merkle(c: &mut Criterion) {
    let n = 10_000_000u64;
    let mut g = c.benchmark_group("merkle_root_streaming");
    g.sample_size(10).measurement_time(Duration::from_secs(60));
    g.bench_with_input(BenchmarkId::from_parameter(n), &n, |b, &n| {
        b.iter(|| {
            let mut f = Frontier::new();
            for i in 0..n {
                f.push(&i.to_be_bytes()).expect("not full");
            }
            black_box(f.root())
        })
    });
    g.finish();

    let n = 1_000_000u64;
    let tree = leaves(n);
    let r = root(&tree);
    let index = n / 2 + 12_345;
    let first = n / 3;

    let mut g = c.benchmark_group("merkle_root_batch");
    g.sample_size(10);
    g.bench_with_input(BenchmarkId::from_parameter(n), &tree, |b, t| {
        b.iter(|| black_box(root(t)))
    });
    g.finish();

    let mut g = c.benchmark_group("merkle_inclusion_path");
    g.sample_size(10);
    g.bench_with_input(BenchmarkId::from_parameter(n), &tree, |b, t| {
        b.iter(|| black_box(inclusion_path(index, t).expect("in range")))
    });
    g.finish();

    let mut g = c.benchmark_group("merkle_consistency_path");
    g.sample_size(10);
    g.bench_with_input(BenchmarkId::from_parameter(n), &tree, |b, t| {
        b.iter(|| black_box(consistency_path(first, t).expect("first <= n")))
    });
    g.finish();

    let mut g = c.benchmark_group("merkle_tree_build");
    g.sample_size(10);
    g.bench_with_input(BenchmarkId::from_parameter(n), &tree, |b, t| {
        b.iter(|| black_box(MerkleTree::new(t.clone())))
    });
    g.finish();
    let frozen = MerkleTree::new(tree.clone());
    c.bench_with_input(
        BenchmarkId::new("merkle_tree_inclusion_proof", n),
        &frozen,
        |b, t| b.iter(|| black_box(t.inclusion_proof(black_box(index)).expect("in range"))),
    );
    c.bench_with_input(
        BenchmarkId::new("merkle_tree_consistency_proof", n),
        &frozen,
        |b, t| b.iter(|| black_box(t.consistency_proof(black_box(first)).expect("first <= n"))),
    );

    let path = inclusion_path(index, &tree).expect("in range");
    let leaf = tree[index as usize];
    c.bench_with_input(
        BenchmarkId::new("merkle_verify_inclusion", n),
        &path,
        |b, p| b.iter(|| verify_inclusion(index, n, &leaf, black_box(p), &r).expect("verifies")),
    );
    let cpath = consistency_path(first, &tree).expect("first <= n");
    let r1 = root(&tree[..first as usize]);
    c.bench_with_input(
        BenchmarkId::new("merkle_verify_consistency", n),
        &cpath,
        |b, p| b.iter(|| verify_consistency(first, n, &r1, &r, black_box(p)).expect("verifies")),
    );
}

criterion_group!(benches, merkle);
criterion_main!(benches);
