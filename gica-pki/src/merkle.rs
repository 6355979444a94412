//! Merkle trees with RFC 9162 (Certificate Transparency 2.0) hashing, section 2.1: the
//! append-only log that gica's workflows share (the device registry's frozen snapshots, the
//! inbox's evidence log).
//!
//! - Hashing: [`leaf_hash`] is `SHA-256(0x00 || entry)`, [`node_hash`] is
//!   `SHA-256(0x01 || left || right)`; the root of the empty tree is [`EMPTY_ROOT`],
//!   `SHA-256("")`.
//! - [`root`] is MTH (2.1.1) of a list of leaf hashes; [`Frontier`] computes the same root
//!   leaf by leaf, keeping only the right edge of the tree (at most 64 hashes), so a log of
//!   any length fits in a few kilobytes.
//! - [`MerkleTree`] keeps every complete subtree of a fixed set of leaves (a frozen
//!   snapshot): about 2n hashes, and then any proof in O(log n).
//! - Inclusion proofs (2.1.3): [`inclusion_path`] is PATH (from a slice of leaf hashes, in
//!   one O(n) pass), [`verify_inclusion`] the verification algorithm of 2.1.3.2.
//! - Consistency proofs (2.1.4): [`consistency_path`] is PROOF/SUBPROOF, [`verify_consistency`]
//!   the algorithm of 2.1.4.2.
//! - [`InclusionProof`] and [`ConsistencyProof`] are the DER forms that receipts and
//!   checkpoints carry (ASN.1 in their docs).
//!
//! Sans-I/O and panic-free: every size, index and path comes in as hostile input and every
//! way a proof can be wrong is a [`MerkleError`] variant.
//!
//! ```
//! use gica_pki::merkle::{Frontier, InclusionProof, ConsistencyProof, leaf_hash, root};
//!
//! let leaves: Vec<_> = ["a", "b", "c", "d", "e"].iter().map(|e| leaf_hash(e.as_bytes())).collect();
//!
//! // The root, leaf by leaf (a log) or all at once (a frozen set): the same hash.
//! let mut log = Frontier::new();
//! for e in ["a", "b", "c"] {
//!     log.push(e.as_bytes())?;
//! }
//! let old_root = log.root();
//! for e in ["d", "e"] {
//!     log.push(e.as_bytes())?;
//! }
//! assert_eq!(log.root(), root(&leaves));
//!
//! // "c" is in the tree of 5, and the tree of 5 extends the tree of 3.
//! let proof = InclusionProof::generate(2, &leaves)?;
//! proof.verify(&leaf_hash(b"c"), &log.root())?;
//! let consistency = ConsistencyProof::generate(3, &leaves)?;
//! consistency.verify(&old_root, &log.root())?;
//!
//! // Both travel as DER.
//! use gica_pki::der::{Decode, Encode};
//! let der = proof.to_der()?;
//! assert_eq!(InclusionProof::from_der(&der)?, proof);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use der::{
    Decode as _, DecodeValue, EncodeValue, FixedTag, Header, Length, Reader, Sequence, Tag, Writer,
    asn1::OctetStringRef,
};
use sha2::{Digest as _, Sha256};

/// Length of a hash ([`Hash`](tyalias@Hash)) in octets.
pub const HASH_LEN: usize = 32;

/// A SHA-256 tree hash: a leaf hash, an interior node hash or a root.
pub type Hash = [u8; HASH_LEN];

/// MTH of the empty tree: SHA-256 of the empty string (RFC 9162 2.1.1).
pub const EMPTY_ROOT: Hash = [
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
];

/// Most hashes an inclusion path can have: one per level of a tree of up to 2^64 - 1 leaves.
pub const MAX_INCLUSION_PATH: usize = 64;

/// Most hashes a consistency path can have. One more than [`MAX_INCLUSION_PATH`]: a path
/// between trees whose sizes are close to 2^64 can need 64 hashes plus the seed, the root of
/// the subtree where the two trees part (for example 2^64 - 3 and 2^64 - 1 leaves).
pub const MAX_CONSISTENCY_PATH: usize = 65;

/// Why a proof, a tree operation or a proof's DER form was refused.
#[derive(Clone, Debug, Eq, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MerkleError {
    /// The leaf index is not inside the tree (every index is, for a tree of size 0).
    #[error("leaf index {index} is not below the tree size {size}")]
    IndexOutOfRange {
        /// The leaf index given.
        index: u64,
        /// The tree size given.
        size: u64,
    },
    /// A consistency proof from a larger tree to a smaller one.
    #[error("first tree size {first} is larger than the second tree size {second}")]
    SizeOrder {
        /// The first (older) tree size.
        first: u64,
        /// The second (newer) tree size.
        second: u64,
    },
    /// The path does not have the number of hashes these sizes (and index) call for.
    #[error("the proof has {got} hashes, these tree sizes need {expected}")]
    WrongPathLength {
        /// The number the sizes call for.
        expected: usize,
        /// The number the proof has.
        got: usize,
    },
    /// The inclusion path leads from the leaf to another root.
    #[error("the inclusion proof leads to a different root")]
    RootMismatch,
    /// The consistency path does not rebuild the first (older) root.
    #[error("the consistency proof does not lead to the first root")]
    FirstRootMismatch,
    /// The consistency path does not rebuild the second (newer) root.
    #[error("the consistency proof does not lead to the second root")]
    SecondRootMismatch,
    /// A path longer than any tree of up to 2^64 - 1 leaves needs.
    #[error("the path has {len} hashes, more than the {max} any tree needs")]
    PathTooLong {
        /// The path's length.
        len: usize,
        /// The most allowed.
        max: usize,
    },
    /// The tree already holds 2^64 - 1 leaves.
    #[error("the tree is full (2^64 - 1 leaves)")]
    TreeFull,
    /// Frontier hashes that do not fit the size: a tree of `size` leaves has one complete
    /// subtree (one hash) per bit set in `size`.
    #[error("{nodes} frontier hashes do not fit a tree of {size} leaves")]
    FrontierShape {
        /// The tree size given.
        size: u64,
        /// The number of hashes given.
        nodes: usize,
    },
}

/// The hash of a leaf: `SHA-256(0x00 || entry)`.
///
/// ```
/// # use gica_pki::merkle::leaf_hash;
/// // The first leaf of the Certificate Transparency test tree is the empty entry.
/// assert_eq!(leaf_hash(b"")[..4], [0x6e, 0x34, 0x0b, 0x9c]);
/// ```
pub fn leaf_hash(entry: &[u8]) -> Hash {
    Sha256::new()
        .chain_update([0x00])
        .chain_update(entry)
        .finalize()
        .into()
}

/// The hash of an interior node: `SHA-256(0x01 || left || right)`.
pub fn node_hash(left: &Hash, right: &Hash) -> Hash {
    Sha256::new()
        .chain_update([0x01])
        .chain_update(left)
        .chain_update(right)
        .finalize()
        .into()
}

/// MTH of a list of leaf hashes (RFC 9162 2.1.1); [`EMPTY_ROOT`] for none.
///
/// Iterative, with at most 64 hashes of extra memory (it runs a [`Frontier`]).
///
/// ```
/// use gica_pki::merkle::{EMPTY_ROOT, leaf_hash, node_hash, root};
/// assert_eq!(root(&[]), EMPTY_ROOT);
/// let (a, b, c) = (leaf_hash(b"a"), leaf_hash(b"b"), leaf_hash(b"c"));
/// assert_eq!(root(&[a]), a);
/// assert_eq!(root(&[a, b, c]), node_hash(&node_hash(&a, &b), &c));
/// ```
pub fn root(leaves: &[Hash]) -> Hash {
    let mut frontier = Frontier::new();
    for leaf in leaves {
        // A slice holds fewer than 2^64 - 1 hashes, so the tree never fills.
        frontier.append(*leaf);
    }
    frontier.root()
}

/// A Merkle tree that grows leaf by leaf and keeps only its right frontier: the roots of the
/// complete subtrees that make up the tree, one per bit set in its size, largest (leftmost)
/// first. That is at most 64 hashes for any size, enough to give the root at every size and
/// to append more.
///
/// For a log that lives across restarts, store [`Frontier::size`] and [`Frontier::nodes`]
/// with each checkpoint and resume with [`Frontier::from_nodes`].
///
/// ```
/// use gica_pki::merkle::{Frontier, leaf_hash, root};
/// let mut f = Frontier::new();
/// assert_eq!(f.push(b"first")?, 0); // the new leaf's index
/// assert_eq!(f.push(b"second")?, 1);
/// assert_eq!(f.root(), root(&[leaf_hash(b"first"), leaf_hash(b"second")]));
///
/// let resumed = Frontier::from_nodes(f.size(), f.nodes().to_vec())?;
/// assert_eq!(resumed, f);
/// # Ok::<(), gica_pki::merkle::MerkleError>(())
/// ```
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct Frontier {
    size: u64,
    nodes: Vec<Hash>,
}

impl Frontier {
    /// The empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// A frontier from its parts, as [`Frontier::size`] and [`Frontier::nodes`] gave them.
    ///
    /// # Errors
    /// [`MerkleError::FrontierShape`] unless there is exactly one hash per bit set in `size`.
    pub fn from_nodes(size: u64, nodes: Vec<Hash>) -> Result<Self, MerkleError> {
        if nodes.len() != size.count_ones() as usize {
            return Err(MerkleError::FrontierShape {
                size,
                nodes: nodes.len(),
            });
        }
        Ok(Self { size, nodes })
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.size
    }

    /// True for the empty tree.
    pub fn is_empty(&self) -> bool {
        self.size == 0
    }

    /// The roots of the complete subtrees that make up the tree, largest (leftmost) first.
    pub fn nodes(&self) -> &[Hash] {
        &self.nodes
    }

    /// Appends an entry (its leaf hash is [`leaf_hash`]`(entry)`); returns its leaf index.
    ///
    /// # Errors
    /// [`MerkleError::TreeFull`] once the tree holds 2^64 - 1 leaves.
    pub fn push(&mut self, entry: &[u8]) -> Result<u64, MerkleError> {
        self.push_leaf_hash(leaf_hash(entry))
    }

    /// Appends a leaf by its hash; returns its leaf index.
    ///
    /// # Errors
    /// [`MerkleError::TreeFull`] once the tree holds 2^64 - 1 leaves.
    pub fn push_leaf_hash(&mut self, leaf: Hash) -> Result<u64, MerkleError> {
        if self.size == u64::MAX {
            return Err(MerkleError::TreeFull);
        }
        let index = self.size;
        self.append(leaf);
        Ok(index)
    }

    /// Appends a leaf hash; the caller has checked that the tree is not full.
    fn append(&mut self, leaf: Hash) {
        // Each trailing one bit of the old size is a complete subtree of the new leaf's
        // height, which the new leaf completes into one twice as large.
        let mut node = leaf;
        let mut carry = self.size;
        while carry & 1 == 1 {
            match self.nodes.pop() {
                Some(left) => node = node_hash(&left, &node),
                None => break, // unreachable: one node per bit set in size
            }
            carry >>= 1;
        }
        self.nodes.push(node);
        self.size += 1;
    }

    /// MTH of the leaves so far ([`EMPTY_ROOT`] for none).
    pub fn root(&self) -> Hash {
        // MTH splits off the largest power of two on the left, so the root folds the
        // subtrees from the right: H(n0, H(n1, ... H(nk-1, nk))).
        let mut iter = self.nodes.iter().rev();
        let Some(last) = iter.next() else {
            return EMPTY_ROOT;
        };
        iter.fold(*last, |acc, left| node_hash(left, &acc))
    }
}

/// The largest power of two smaller than `n` (n >= 2).
fn split_point(n: usize) -> usize {
    1 << (usize::BITS - 1 - (n - 1).leading_zeros())
}

/// PATH(m, D[lo..hi]) of RFC 9162 2.1.3.1 over any source of subtree roots:
/// `mth(lo, hi)` is MTH of the leaves `lo..hi`.
fn path_of(
    mut m: usize,
    mut lo: usize,
    mut hi: usize,
    mth: impl Fn(usize, usize) -> Hash,
) -> Vec<Hash> {
    // PATH appends the sibling subtree's root after the path inside the half that holds m;
    // walking down collects the siblings top first.
    let mut siblings = Vec::new();
    while hi - lo > 1 {
        let k = split_point(hi - lo);
        if m < k {
            siblings.push(mth(lo + k, hi));
            hi = lo + k;
        } else {
            siblings.push(mth(lo, lo + k));
            lo += k;
            m -= k;
        }
    }
    siblings.reverse();
    siblings
}

/// PROOF(m, D[0..n]) of RFC 9162 2.1.4.1 (SUBPROOF with b = true), 0 < m <= n.
fn proof_of(mut m: usize, n: usize, mth: impl Fn(usize, usize) -> Hash) -> Vec<Hash> {
    let (mut lo, mut hi) = (0, n);
    // `complete`: SUBPROOF's b, true while the old tree's root is a node of the new tree
    // that the verifier already knows (it is the first root).
    let mut complete = true;
    let mut tail = Vec::new();
    while m != hi - lo {
        let k = split_point(hi - lo);
        if m <= k {
            tail.push(mth(lo + k, hi));
            hi = lo + k;
        } else {
            tail.push(mth(lo, lo + k));
            lo += k;
            m -= k;
            complete = false;
        }
    }
    let mut path = Vec::with_capacity(tail.len() + 1);
    if !complete {
        path.push(mth(lo, hi));
    }
    path.extend(tail.into_iter().rev());
    path
}

/// `index` as a position in a tree of `len` leaves.
fn position(index: u64, len: usize) -> Result<usize, MerkleError> {
    match usize::try_from(index) {
        Ok(m) if m < len => Ok(m),
        _ => Err(MerkleError::IndexOutOfRange {
            index,
            size: len as u64,
        }),
    }
}

/// The inclusion path of the leaf at `index` in the tree of `leaves` (RFC 9162 2.1.3.1
/// PATH), deepest sibling first.
///
/// Every subtree root it needs is computed from the leaves: one pass over them, O(n)
/// hashes and O(log n) memory. For many proofs from one tree, build a [`MerkleTree`].
///
/// # Errors
/// [`MerkleError::IndexOutOfRange`] if `index >= leaves.len()`.
pub fn inclusion_path(index: u64, leaves: &[Hash]) -> Result<Vec<Hash>, MerkleError> {
    let m = position(index, leaves.len())?;
    Ok(path_of(m, 0, leaves.len(), |lo, hi| root(&leaves[lo..hi])))
}

/// The consistency path from the tree of the first `first` leaves to the tree of all
/// `leaves` (RFC 9162 2.1.4.1 PROOF and SUBPROOF).
///
/// The RFC defines it for 0 < first < n; for `first == 0` or `first == n` the path is empty
/// (there is nothing to prove, and [`verify_consistency`] expects it empty). One pass over
/// the leaves, as [`inclusion_path`].
///
/// # Errors
/// [`MerkleError::SizeOrder`] if `first > leaves.len()`.
pub fn consistency_path(first: u64, leaves: &[Hash]) -> Result<Vec<Hash>, MerkleError> {
    let second = leaves.len() as u64;
    if first > second {
        return Err(MerkleError::SizeOrder { first, second });
    }
    if first == 0 {
        return Ok(Vec::new());
    }
    // first <= leaves.len(), so it fits a usize.
    Ok(proof_of(first as usize, leaves.len(), |lo, hi| {
        root(&leaves[lo..hi])
    }))
}

/// A frozen tree that keeps every complete subtree's root, for many proofs from one set of
/// leaves (a registry snapshot): about 2n hashes of memory (64 MB per million leaves), built
/// with n - 1 node hashes. A proof then reads O(log n) stored hashes and computes at most
/// 63 (only the one subtree on the right edge that is not complete is folded).
///
/// ```
/// use gica_pki::merkle::{MerkleTree, inclusion_path, leaf_hash, root};
/// let leaves: Vec<_> = (0u32..1000).map(|i| leaf_hash(&i.to_be_bytes())).collect();
/// let tree = MerkleTree::new(leaves.clone());
/// assert_eq!(tree.root(), root(&leaves));
/// let proof = tree.inclusion_proof(617)?;
/// assert_eq!(proof.path.as_slice(), inclusion_path(617, &leaves)?);
/// proof.verify(&leaves[617], &tree.root())?;
/// tree.consistency_proof(300)?.verify(&root(&leaves[..300]), &tree.root())?;
/// # Ok::<(), gica_pki::merkle::MerkleError>(())
/// ```
#[derive(Clone, Debug, Eq, PartialEq)]
pub struct MerkleTree {
    /// `levels[h][i]` is the root of the complete subtree of leaves `i << h .. (i + 1) << h`;
    /// `levels[0]` are the leaves.
    levels: Vec<Vec<Hash>>,
}

impl MerkleTree {
    /// The tree of `leaves` (leaf hashes).
    pub fn new(leaves: Vec<Hash>) -> Self {
        let mut levels = vec![leaves];
        while let Some(below) = levels.last().filter(|l| l.len() > 1) {
            let above = below
                .chunks_exact(2)
                .map(|pair| node_hash(&pair[0], &pair[1]))
                .collect();
            levels.push(above);
        }
        Self { levels }
    }

    /// The leaf hashes.
    pub fn leaves(&self) -> &[Hash] {
        self.levels.first().map_or(&[], Vec::as_slice)
    }

    /// Number of leaves.
    pub fn size(&self) -> u64 {
        self.leaves().len() as u64
    }

    /// MTH of the whole tree.
    pub fn root(&self) -> Hash {
        self.range_root(0, self.leaves().len())
    }

    /// MTH of leaves `lo..hi`, where `lo` is a multiple of the largest power of two not above
    /// `hi - lo` (as every range PATH and PROOF visit is): the complete subtrees that make it
    /// up, largest first, folded from the right.
    fn range_root(&self, lo: usize, hi: usize) -> Hash {
        let mut subtrees = Vec::new();
        let mut at = lo;
        while at < hi {
            let height = (usize::BITS - 1 - (hi - at).leading_zeros()) as usize;
            let node = self
                .levels
                .get(height)
                .and_then(|level| level.get(at >> height));
            match node {
                Some(node) => subtrees.push(*node),
                None => break, // unreachable for ranges inside the tree
            }
            at += 1 << height;
        }
        let mut iter = subtrees.iter().rev();
        let Some(last) = iter.next() else {
            return EMPTY_ROOT;
        };
        iter.fold(*last, |acc, left| node_hash(left, &acc))
    }

    /// The inclusion proof of the leaf at `index`; the same path as [`inclusion_path`].
    ///
    /// # Errors
    /// [`MerkleError::IndexOutOfRange`].
    pub fn inclusion_proof(&self, index: u64) -> Result<InclusionProof, MerkleError> {
        let n = self.leaves().len();
        let m = position(index, n)?;
        let path = path_of(m, 0, n, |lo, hi| self.range_root(lo, hi));
        Ok(InclusionProof {
            leaf_index: index,
            tree_size: n as u64,
            path: ProofPath::try_from(path)?,
        })
    }

    /// The consistency proof from the tree of the first `first` leaves; the same path as
    /// [`consistency_path`].
    ///
    /// # Errors
    /// [`MerkleError::SizeOrder`] if `first` is larger than the tree.
    pub fn consistency_proof(&self, first: u64) -> Result<ConsistencyProof, MerkleError> {
        let n = self.leaves().len();
        let second = n as u64;
        if first > second {
            return Err(MerkleError::SizeOrder { first, second });
        }
        let path = if first == 0 {
            Vec::new()
        } else {
            proof_of(first as usize, n, |lo, hi| self.range_root(lo, hi))
        };
        Ok(ConsistencyProof {
            first_size: first,
            second_size: second,
            path: ProofPath::try_from(path)?,
        })
    }
}

/// How many hashes the inclusion path of `index` in a tree of `size` has: the number of
/// rounds of 2.1.3.2 step 4 before `sn` reaches 0.
fn inclusion_path_len(index: u64, size: u64) -> usize {
    let (mut fnn, mut sn) = (index, size - 1);
    let mut len = 0;
    while sn != 0 {
        len += 1;
        if fnn & 1 == 0 && fnn == sn {
            while fnn & 1 == 0 && fnn != 0 {
                fnn >>= 1;
                sn >>= 1;
            }
        }
        fnn >>= 1;
        sn >>= 1;
    }
    len
}

/// How many hashes the consistency path from `first` to `second` (0 < first < second) has:
/// the seed unless `first` is a power of two, plus the rounds of 2.1.4.2 step 6.
fn consistency_path_len(first: u64, second: u64) -> usize {
    let (mut fnn, mut sn) = (first - 1, second - 1);
    while fnn & 1 == 1 {
        fnn >>= 1;
        sn >>= 1;
    }
    let mut len = usize::from(!first.is_power_of_two());
    while sn != 0 {
        len += 1;
        if fnn & 1 == 0 && fnn == sn {
            while fnn & 1 == 0 && fnn != 0 {
                fnn >>= 1;
                sn >>= 1;
            }
        }
        fnn >>= 1;
        sn >>= 1;
    }
    len
}

/// The root that an inclusion path leads to from the leaf at `index` (RFC 9162 2.1.3.2,
/// steps 1 to 4); compare it with a root you trust, or use [`verify_inclusion`].
///
/// # Errors
/// [`MerkleError::IndexOutOfRange`] if `index >= size`; [`MerkleError::WrongPathLength`]
/// unless the path has exactly as many hashes as the position calls for.
pub fn root_from_inclusion_path(
    index: u64,
    size: u64,
    leaf: &Hash,
    path: &[Hash],
) -> Result<Hash, MerkleError> {
    if index >= size {
        return Err(MerkleError::IndexOutOfRange { index, size });
    }
    let expected = inclusion_path_len(index, size);
    if path.len() != expected {
        return Err(MerkleError::WrongPathLength {
            expected,
            got: path.len(),
        });
    }
    let wrong_length = MerkleError::WrongPathLength {
        expected,
        got: path.len(),
    };
    let (mut fnn, mut sn) = (index, size - 1);
    let mut r = *leaf;
    for p in path {
        if sn == 0 {
            return Err(wrong_length);
        }
        if fnn & 1 == 1 || fnn == sn {
            r = node_hash(p, &r);
            if fnn & 1 == 0 {
                while fnn & 1 == 0 && fnn != 0 {
                    fnn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            r = node_hash(&r, p);
        }
        fnn >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(wrong_length);
    }
    Ok(r)
}

/// Verifies that `leaf` is the leaf at `index` of the tree of `size` leaves whose root is
/// `root` (RFC 9162 2.1.3.2).
///
/// The path's hashes do not bind `size` by themselves: a leaf's path has the same shape in
/// some trees of different sizes (leaf 0 in trees of 41 and 64 leaves), so take the size and
/// the root together from one signed checkpoint, never the size from the proof alone.
///
/// ```
/// use gica_pki::merkle::{inclusion_path, leaf_hash, root, verify_inclusion, MerkleError};
/// let leaves: Vec<_> = (0u8..7).map(|i| leaf_hash(&[i])).collect();
/// let path = inclusion_path(3, &leaves)?;
/// verify_inclusion(3, 7, &leaves[3], &path, &root(&leaves))?;
/// assert_eq!(
///     verify_inclusion(4, 7, &leaves[3], &path, &root(&leaves)),
///     Err(MerkleError::RootMismatch)
/// );
/// # Ok::<(), MerkleError>(())
/// ```
///
/// # Errors
/// [`MerkleError::IndexOutOfRange`], [`MerkleError::WrongPathLength`], or
/// [`MerkleError::RootMismatch`] when the path leads elsewhere.
pub fn verify_inclusion(
    index: u64,
    size: u64,
    leaf: &Hash,
    path: &[Hash],
    root: &Hash,
) -> Result<(), MerkleError> {
    let computed = root_from_inclusion_path(index, size, leaf, path)?;
    if computed != *root {
        return Err(MerkleError::RootMismatch);
    }
    Ok(())
}

/// Verifies that the tree of `second` leaves with root `second_root` extends the tree of
/// `first` leaves with root `first_root` (RFC 9162 2.1.4.2).
///
/// The RFC covers 0 < first < second; the edge cases are decided here as follows. `first ==
/// 0`: the path must be empty and `first_root` must be [`EMPTY_ROOT`] (every tree extends
/// the empty one). `first == second`: the path must be empty and the roots equal.
///
/// ```
/// use gica_pki::merkle::{consistency_path, leaf_hash, root, verify_consistency};
/// let leaves: Vec<_> = (0u8..7).map(|i| leaf_hash(&[i])).collect();
/// let path = consistency_path(3, &leaves)?;
/// verify_consistency(3, 7, &root(&leaves[..3]), &root(&leaves), &path)?;
/// # Ok::<(), gica_pki::merkle::MerkleError>(())
/// ```
///
/// # Errors
/// [`MerkleError::SizeOrder`] if `first > second`, [`MerkleError::WrongPathLength`],
/// [`MerkleError::FirstRootMismatch`] or [`MerkleError::SecondRootMismatch`].
pub fn verify_consistency(
    first: u64,
    second: u64,
    first_root: &Hash,
    second_root: &Hash,
    path: &[Hash],
) -> Result<(), MerkleError> {
    if first > second {
        return Err(MerkleError::SizeOrder { first, second });
    }
    if first == 0 || first == second {
        if !path.is_empty() {
            return Err(MerkleError::WrongPathLength {
                expected: 0,
                got: path.len(),
            });
        }
        if first == 0 && *first_root != EMPTY_ROOT {
            return Err(MerkleError::FirstRootMismatch);
        }
        let second_expected = if second == 0 { &EMPTY_ROOT } else { first_root };
        if first == second && second_root != second_expected {
            return Err(MerkleError::SecondRootMismatch);
        }
        return Ok(());
    }
    let expected = consistency_path_len(first, second);
    let wrong_length = MerkleError::WrongPathLength {
        expected,
        got: path.len(),
    };
    if path.len() != expected {
        return Err(wrong_length);
    }
    // Step 2: a power-of-two first tree is a complete subtree the verifier knows: its root
    // is the seed. Otherwise the path starts with the seed.
    let (seed, rest) = if first.is_power_of_two() {
        (first_root, path)
    } else {
        match path.split_first() {
            Some((seed, rest)) => (seed, rest),
            None => return Err(wrong_length),
        }
    };
    let (mut fnn, mut sn) = (first - 1, second - 1);
    while fnn & 1 == 1 {
        fnn >>= 1;
        sn >>= 1;
    }
    let (mut fr, mut sr) = (*seed, *seed);
    for c in rest {
        if sn == 0 {
            return Err(wrong_length);
        }
        if fnn & 1 == 1 || fnn == sn {
            fr = node_hash(c, &fr);
            sr = node_hash(c, &sr);
            if fnn & 1 == 0 {
                while fnn & 1 == 0 && fnn != 0 {
                    fnn >>= 1;
                    sn >>= 1;
                }
            }
        } else {
            sr = node_hash(&sr, c);
        }
        fnn >>= 1;
        sn >>= 1;
    }
    if sn != 0 {
        return Err(wrong_length);
    }
    if fr != *first_root {
        return Err(MerkleError::FirstRootMismatch);
    }
    if sr != *second_root {
        return Err(MerkleError::SecondRootMismatch);
    }
    Ok(())
}

/// A proof's list of hashes, at most `MAX` of them; in DER
/// `SEQUENCE SIZE (0..MAX) OF OCTET STRING (SIZE (32))`.
///
/// Decoding stops at the first hash past `MAX` or the first OCTET STRING that is not 32
/// octets long, so a hostile input never makes it allocate more than `MAX` hashes.
#[derive(Clone, Debug, Default, Eq, PartialEq)]
pub struct ProofPath<const MAX: usize>(Vec<Hash>);

impl<const MAX: usize> ProofPath<MAX> {
    /// The hashes, deepest first.
    pub fn as_slice(&self) -> &[Hash] {
        &self.0
    }

    /// The hashes, deepest first.
    pub fn into_vec(self) -> Vec<Hash> {
        self.0
    }

    /// Number of hashes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for a path of no hashes.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<const MAX: usize> TryFrom<Vec<Hash>> for ProofPath<MAX> {
    type Error = MerkleError;

    fn try_from(path: Vec<Hash>) -> Result<Self, MerkleError> {
        if path.len() > MAX {
            return Err(MerkleError::PathTooLong {
                len: path.len(),
                max: MAX,
            });
        }
        Ok(Self(path))
    }
}

impl<const MAX: usize> FixedTag for ProofPath<MAX> {
    const TAG: Tag = Tag::Sequence;
}

impl<'a, const MAX: usize> DecodeValue<'a> for ProofPath<MAX> {
    type Error = der::Error;

    fn decode_value<R: Reader<'a>>(reader: &mut R, _header: Header) -> der::Result<Self> {
        let mut path = Vec::new();
        while !reader.is_finished() {
            if path.len() == MAX {
                return Err(reader.error(Tag::Sequence.length_error()));
            }
            let octets = <&OctetStringRef>::decode(reader)?;
            let hash = Hash::try_from(octets.as_bytes())
                .map_err(|_| reader.error(Tag::OctetString.length_error()))?;
            path.push(hash);
        }
        Ok(Self(path))
    }
}

impl<const MAX: usize> EncodeValue for ProofPath<MAX> {
    fn value_len(&self) -> der::Result<Length> {
        self.0.iter().try_fold(Length::ZERO, |len, hash| {
            len + der::Encode::encoded_len(&OctetStringRef::new(hash)?)?
        })
    }

    fn encode_value(&self, writer: &mut impl Writer) -> der::Result<()> {
        for hash in &self.0 {
            der::Encode::encode(&OctetStringRef::new(hash)?, writer)?;
        }
        Ok(())
    }
}

/// An inclusion proof as receipts carry it: the leaf's position, the tree size and the
/// audit path (RFC 9162 2.1.3), SHA-256 hashes, deepest sibling first.
///
/// ```text
/// InclusionProof ::= SEQUENCE {
///     leafIndex  INTEGER (0..18446744073709551615),
///     treeSize   INTEGER (0..18446744073709551615),
///     path       SEQUENCE SIZE (0..64) OF OCTET STRING (SIZE (32)) }
/// ```
///
/// Decoding checks only the form (integers in range, at most 64 hashes of 32 octets);
/// [`InclusionProof::verify`] checks the rest.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct InclusionProof {
    /// leafIndex: the leaf's position, from 0.
    pub leaf_index: u64,
    /// treeSize: the number of leaves of the tree the root belongs to.
    pub tree_size: u64,
    /// path: the audit path.
    pub path: ProofPath<MAX_INCLUSION_PATH>,
}

impl InclusionProof {
    /// The proof for the leaf at `index` in the tree of `leaves` ([`inclusion_path`]).
    ///
    /// # Errors
    /// [`MerkleError::IndexOutOfRange`].
    pub fn generate(index: u64, leaves: &[Hash]) -> Result<Self, MerkleError> {
        let path = inclusion_path(index, leaves)?;
        Ok(Self {
            leaf_index: index,
            tree_size: leaves.len() as u64,
            path: ProofPath::try_from(path)?,
        })
    }

    /// Verifies that `leaf` is in the tree with `root` at this proof's position
    /// ([`verify_inclusion`]).
    ///
    /// # Errors
    /// As [`verify_inclusion`].
    pub fn verify(&self, leaf: &Hash, root: &Hash) -> Result<(), MerkleError> {
        verify_inclusion(
            self.leaf_index,
            self.tree_size,
            leaf,
            self.path.as_slice(),
            root,
        )
    }
}

/// A consistency proof as checkpoints carry it: two tree sizes and the path that shows the
/// second tree extends the first (RFC 9162 2.1.4), SHA-256 hashes.
///
/// ```text
/// ConsistencyProof ::= SEQUENCE {
///     firstSize   INTEGER (0..18446744073709551615),
///     secondSize  INTEGER (0..18446744073709551615),
///     path        SEQUENCE SIZE (0..65) OF OCTET STRING (SIZE (32)) }
/// ```
///
/// Decoding checks only the form (integers in range, at most 65 hashes of 32 octets; see
/// [`MAX_CONSISTENCY_PATH`] for why 65); [`ConsistencyProof::verify`] checks the rest.
#[derive(Clone, Debug, Eq, PartialEq, Sequence)]
pub struct ConsistencyProof {
    /// firstSize: the older tree's size.
    pub first_size: u64,
    /// secondSize: the newer tree's size.
    pub second_size: u64,
    /// path: the consistency path.
    pub path: ProofPath<MAX_CONSISTENCY_PATH>,
}

impl ConsistencyProof {
    /// The proof that the tree of all `leaves` extends the tree of their first `first`
    /// ([`consistency_path`]).
    ///
    /// # Errors
    /// [`MerkleError::SizeOrder`] if `first > leaves.len()`.
    pub fn generate(first: u64, leaves: &[Hash]) -> Result<Self, MerkleError> {
        let path = consistency_path(first, leaves)?;
        Ok(Self {
            first_size: first,
            second_size: leaves.len() as u64,
            path: ProofPath::try_from(path)?,
        })
    }

    /// Verifies that the tree with `second_root` extends the tree with `first_root`
    /// ([`verify_consistency`]).
    ///
    /// # Errors
    /// As [`verify_consistency`].
    pub fn verify(&self, first_root: &Hash, second_root: &Hash) -> Result<(), MerkleError> {
        verify_consistency(
            self.first_size,
            self.second_size,
            first_root,
            second_root,
            self.path.as_slice(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_lengths_fit_the_der_bounds_at_the_largest_sizes() {
        let max = u64::MAX;
        let mut longest_inclusion = 0;
        let mut longest_consistency = 0;
        for a in [
            0,
            1,
            2,
            3,
            4,
            5,
            max / 2,
            max / 2 + 1,
            max - 5,
            max - 3,
            max - 2,
            max - 1,
        ] {
            for b in [
                1,
                2,
                3,
                max / 2,
                max / 2 + 1,
                max - 4,
                max - 2,
                max - 1,
                max,
            ] {
                if a < b {
                    longest_inclusion = longest_inclusion.max(inclusion_path_len(a, b));
                }
                if 0 < a && a < b {
                    longest_consistency = longest_consistency.max(consistency_path_len(a, b));
                }
            }
        }
        assert_eq!(longest_inclusion, MAX_INCLUSION_PATH);
        assert_eq!(consistency_path_len(max - 2, max), MAX_CONSISTENCY_PATH);
        assert_eq!(longest_consistency, MAX_CONSISTENCY_PATH);
    }

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT, <[u8; 32]>::from(Sha256::digest(b"")));
    }
}
