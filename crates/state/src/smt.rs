//! A persistent sparse Merkle tree over 256-bit keys.
//!
//! The root depends only on the set of (key, value) leaves, never on the
//! order they were written in, so undoing a block's writes restores the exact
//! previous root. Nodes are immutable and shared through `Arc`: updating a
//! tree returns a new tree that shares every untouched subtree with the old
//! one, which makes forks (a block built on an uncommitted block) cheap.
//!
//! Hashing, with `H` = keccak256:
//! - empty subtree: 32 zero bytes;
//! - a subtree holding a single leaf: `H(0x00 ‖ key ‖ value)`, whatever its depth;
//! - any other subtree: `H(0x01 ‖ left ‖ right)`, splitting on the key's next bit.

use std::sync::Arc;

use alloy_primitives::{B256, keccak256};

/// A leaf update: the new value, or `None` to delete the key.
pub type Update = (B256, Option<B256>);

#[derive(Debug)]
enum Node {
    Leaf {
        key: B256,
        value: B256,
        hash: B256,
    },
    Branch {
        left: Option<Arc<Node>>,
        right: Option<Arc<Node>>,
        hash: B256,
    },
}

impl Node {
    const fn hash(&self) -> B256 {
        match self {
            Self::Leaf { hash, .. } | Self::Branch { hash, .. } => *hash,
        }
    }
}

/// An immutable sparse Merkle tree; cloning is O(1).
#[derive(Clone, Debug, Default)]
pub struct SparseMerkleTree {
    root: Option<Arc<Node>>,
}

impl SparseMerkleTree {
    /// The root hash (zero for the empty tree).
    pub fn root(&self) -> B256 {
        hash_of(&self.root)
    }

    /// A tree holding `leaves` (later duplicates win).
    pub fn from_leaves(leaves: Vec<(B256, B256)>) -> Self {
        Self::default().update(leaves.into_iter().map(|(k, v)| (k, Some(v))).collect())
    }

    /// The tree after applying `updates` (later updates of one key win).
    pub fn update(&self, mut updates: Vec<Update>) -> Self {
        // Stable sort keeps the order of equal keys; keep only the last of each.
        updates.sort_by_key(|u| u.0);
        let mut deduped: Vec<Update> = Vec::with_capacity(updates.len());
        for u in updates {
            match deduped.last_mut() {
                Some(last) if last.0 == u.0 => *last = u,
                _ => deduped.push(u),
            }
        }
        Self {
            root: update(&self.root, 0, &deduped),
        }
    }
}

fn hash_of(node: &Option<Arc<Node>>) -> B256 {
    node.as_ref().map_or(B256::ZERO, |n| n.hash())
}

/// Bit `depth` of `key`, most significant first. Keys are distinct, so two
/// keys in one subtree always differ before depth 256.
fn bit(key: &B256, depth: usize) -> bool {
    let byte = key.get(depth / 8).copied().unwrap_or(0);
    (byte << (depth % 8)) & 0x80 != 0
}

/// `H(tag ‖ a ‖ b)`.
fn hash_tagged(tag: u8, a: &B256, b: &B256) -> B256 {
    let mut buf = [0u8; 65];
    let (t, rest) = buf.split_at_mut(1);
    let (x, y) = rest.split_at_mut(32);
    t.fill(tag);
    x.copy_from_slice(a.as_slice());
    y.copy_from_slice(b.as_slice());
    keccak256(buf)
}

fn leaf(key: B256, value: B256) -> Arc<Node> {
    Arc::new(Node::Leaf {
        key,
        value,
        hash: hash_tagged(0, &key, &value),
    })
}

fn branch(left: Option<Arc<Node>>, right: Option<Arc<Node>>) -> Option<Arc<Node>> {
    match (left, right) {
        (None, None) => None,
        // A single leaf moves up: its hash does not depend on its depth.
        (Some(l), None) if matches!(*l, Node::Leaf { .. }) => Some(l),
        (None, Some(r)) if matches!(*r, Node::Leaf { .. }) => Some(r),
        (left, right) => {
            let hash = hash_tagged(1, &hash_of(&left), &hash_of(&right));
            Some(Arc::new(Node::Branch { left, right, hash }))
        }
    }
}

/// `updates` are sorted by key, unique, and all share `node`'s path prefix.
fn update(node: &Option<Arc<Node>>, depth: usize, updates: &[Update]) -> Option<Arc<Node>> {
    if updates.is_empty() {
        return node.clone();
    }
    match node.as_deref() {
        None => build(
            depth,
            updates
                .iter()
                .filter_map(|(k, v)| v.map(|v| (*k, v)))
                .collect(),
        ),
        Some(Node::Leaf { key, value, .. }) => {
            let mut leaves: Vec<(B256, B256)> = updates
                .iter()
                .filter_map(|(k, v)| v.map(|v| (*k, v)))
                .collect();
            if !updates.iter().any(|(k, _)| k == key) {
                let at = leaves.partition_point(|(k, _)| k < key);
                leaves.insert(at, (*key, *value));
            }
            build(depth, leaves)
        }
        Some(Node::Branch { left, right, .. }) => {
            let split = updates.partition_point(|(k, _)| !bit(k, depth));
            let (l, r) = updates.split_at(split);
            let next = depth.saturating_add(1);
            branch(update(left, next, l), update(right, next, r))
        }
    }
}

/// A subtree holding `leaves` (sorted, unique) below `depth`.
fn build(depth: usize, leaves: Vec<(B256, B256)>) -> Option<Arc<Node>> {
    match leaves.len() {
        0 => None,
        1 => leaves.first().map(|(k, v)| leaf(*k, *v)),
        _ => {
            let split = leaves.partition_point(|(k, _)| !bit(k, depth));
            let mut left = leaves;
            let right = left.split_off(split);
            let next = depth.saturating_add(1);
            branch(build(next, left), build(next, right))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key(i: u64) -> B256 {
        keccak256(i.to_be_bytes())
    }

    #[test]
    fn empty_and_single_leaf() {
        assert_eq!(SparseMerkleTree::default().root(), B256::ZERO);
        let t = SparseMerkleTree::from_leaves(vec![(key(1), B256::repeat_byte(1))]);
        let mut buf = vec![0u8];
        buf.extend_from_slice(key(1).as_slice());
        buf.extend_from_slice(B256::repeat_byte(1).as_slice());
        assert_eq!(t.root(), keccak256(buf));
        assert_eq!(t.update(vec![(key(1), None)]).root(), B256::ZERO);
    }

    #[test]
    fn old_versions_are_untouched() {
        let a = SparseMerkleTree::from_leaves((0..100).map(|i| (key(i), key(i + 1000))).collect());
        let root_a = a.root();
        let b = a.update(vec![(key(5), Some(B256::repeat_byte(7)))]);
        assert_ne!(b.root(), root_a);
        assert_eq!(a.root(), root_a, "a fork does not disturb its parent");
    }

    proptest! {
        /// The root is a function of the leaf set alone.
        #[test]
        fn root_is_history_independent(
            initial in proptest::collection::btree_map(0u64..200, 0u64..5, 0..60),
            ops in proptest::collection::vec((0u64..200, proptest::option::of(0u64..5)), 0..80),
        ) {
            let value = |v: u64| keccak256(v.to_le_bytes());
            let t0 = SparseMerkleTree::from_leaves(initial.iter().map(|(k, v)| (key(*k), value(*v))).collect());
            // Apply the ops one at a time...
            let mut t = t0.clone();
            let mut expected = initial.clone();
            for (k, v) in &ops {
                t = t.update(vec![(key(*k), v.map(value))]);
                match v { Some(v) => { expected.insert(*k, *v); } None => { expected.remove(k); } }
            }
            // ...in one batch, and from scratch: the same root.
            let batch = t0.update(ops.iter().map(|(k, v)| (key(*k), v.map(value))).collect());
            let scratch = SparseMerkleTree::from_leaves(expected.iter().map(|(k, v)| (key(*k), value(*v))).collect());
            prop_assert_eq!(t.root(), scratch.root());
            prop_assert_eq!(batch.root(), scratch.root());
            // Undoing the ops restores the original root.
            let undo: Vec<Update> = expected.keys().chain(initial.keys())
                .map(|k| (key(*k), initial.get(k).map(|v| value(*v)))).collect();
            prop_assert_eq!(t.update(undo).root(), t0.root());
        }
    }
}
