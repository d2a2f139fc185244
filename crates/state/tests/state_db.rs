//! Behaviour of the state store: forks, commits, history, unwinding, reopening.
//!
//! Every test of the store runs on each backend (`on_every_backend!`); the
//! tests that reopen a file run on redb alone.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::{collections::BTreeMap, path::Path};

use alloy_primitives::{Address, B256, Bytes, U256};
use chunkseq_primitives::BlockNumber;
use chunkseq_state::{
    Account, Head, SparseMerkleTree, StateDb, StateDiff, StateError, StateKey, code_hash,
};
use proptest::prelude::*;

/// A storage backend of [`StateDb`].
#[derive(Clone, Copy, Debug)]
enum Backend {
    Memory,
    #[cfg(feature = "redb")]
    Redb,
}

/// Every backend this build has.
const BACKENDS: &[Backend] = &[
    Backend::Memory,
    #[cfg(feature = "redb")]
    Backend::Redb,
];

impl Backend {
    /// A new, empty store; on redb, the file `name` in `dir`.
    fn create(self, dir: &Path, name: &str) -> StateDb {
        match self {
            Self::Memory => {
                let _ = (dir, name);
                StateDb::in_memory().unwrap()
            }
            #[cfg(feature = "redb")]
            Self::Redb => StateDb::open(&dir.join(name)).unwrap(),
        }
    }
}

/// One `#[test]` per backend for each function named, which takes the
/// backend: `memory::name` and `redb::name`.
macro_rules! on_every_backend {
    ($($test:ident),* $(,)?) => {
        mod memory {
            $(#[test]
            fn $test() {
                super::$test(super::Backend::Memory);
            })*
        }
        #[cfg(feature = "redb")]
        mod redb {
            $(#[test]
            fn $test() {
                super::$test(super::Backend::Redb);
            })*
        }
    };
}

on_every_backend!(
    forks_stack_and_commit_in_order,
    storage_and_code,
    unwind_limits,
    block_hashes_follow_the_forks_own_chain,
    a_long_pipeline_frees_committed_blocks,
    a_reader_behind_a_shared_store_reads_its_own_tip,
    a_store_keeping_only_its_head_refuses_older_versions,
    forks_and_readers_keep_their_version_through_commits_and_unwinds,
);

fn addr(i: u8) -> Address {
    Address::repeat_byte(i)
}

fn hash(i: u64) -> B256 {
    alloy_primitives::keccak256(i.to_be_bytes())
}

fn genesis(db: &StateDb, accounts: &[(u8, u64)]) {
    let mut fork = db.fork();
    let mut diff = StateDiff::default();
    for (a, balance) in accounts {
        diff.set_account(addr(*a), Some(Account::with_balance(U256::from(*balance))));
    }
    fork.apply(diff);
    let sealed = fork.seal();
    db.commit(&sealed, hash(0)).unwrap();
}

fn transfer(from: u8, to: u8, amount: u64, fork: &chunkseq_state::Fork) -> StateDiff {
    let mut diff = StateDiff::default();
    let mut a = fork.account(&addr(from)).unwrap().unwrap_or_default();
    let mut b = fork.account(&addr(to)).unwrap().unwrap_or_default();
    a.balance -= U256::from(amount);
    a.nonce += 1;
    b.balance += U256::from(amount);
    diff.set_account(addr(from), Some(a));
    diff.set_account(addr(to), Some(b));
    diff
}

fn forks_stack_and_commit_in_order(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = backend.create(dir.path(), "state.redb");
    assert_eq!(db.head(), None);
    genesis(&db, &[(1, 1000), (2, 0)]);
    let root0 = db.head().unwrap().state_root;

    // Block 1 on the head, block 2 on uncommitted block 1.
    let mut f1 = db.fork();
    assert_eq!(f1.number(), BlockNumber(1));
    let d = transfer(1, 2, 100, &f1);
    f1.apply(d);
    let s1 = f1.seal();
    let mut f2 = db.fork_on(&s1, hash(1)).unwrap();
    assert_eq!(
        f2.account(&addr(2)).unwrap().unwrap().balance,
        U256::from(100),
        "sees its parent's writes"
    );
    let d = transfer(2, 3, 40, &f2);
    f2.apply(d);
    let s2 = f2.seal();
    assert_eq!(
        db.head().unwrap().state_root,
        root0,
        "forks leave the committed state alone"
    );

    // Block 2 cannot be committed before block 1.
    assert!(matches!(
        db.commit(&s2, hash(2)),
        Err(StateError::NotOnHead { .. })
    ));
    db.commit(&s1, hash(1)).unwrap();
    // A sibling of block 1 with the same state but another hash does not connect.
    assert!(matches!(
        db.fork_on(&s1, hash(99)),
        Err(StateError::NotOnHead { .. })
    ));
    // Block 3 on block 2: block 1, now committed, is read from disk again.
    let f3 = db.fork_on(&s2, hash(2)).unwrap();
    assert_eq!(
        f3.account(&addr(3)).unwrap().unwrap().balance,
        U256::from(40)
    );
    db.commit(&s2, hash(2)).unwrap();
    let head = db.head().unwrap();
    assert_eq!(
        (head.number, head.state_root),
        (BlockNumber(2), s2.state_root())
    );

    // The root is the tree over the final leaves, whatever the history.
    let mut diff = StateDiff::default();
    for (a, bal, nonce) in [(1u8, 900u64, 1u64), (2, 60, 1), (3, 40, 0)] {
        diff.set_account(
            addr(a),
            Some(Account {
                nonce,
                balance: U256::from(bal),
                ..Account::default()
            }),
        );
    }
    let scratch = backend.create(dir.path(), "scratch.redb");
    let mut f = scratch.fork();
    f.apply(diff);
    assert_eq!(f.seal().state_root(), head.state_root);

    // History: reads at every committed block.
    let at = |n: u64, a: u8| {
        db.reader(BlockNumber(n))
            .unwrap()
            .balance(&addr(a))
            .unwrap()
    };
    assert_eq!(
        (at(0, 1), at(1, 1), at(2, 1)),
        (U256::from(1000), U256::from(900), U256::from(900))
    );
    assert_eq!(
        (at(0, 3), at(1, 3), at(2, 3)),
        (U256::ZERO, U256::ZERO, U256::from(40))
    );
    assert!(matches!(
        db.reader(BlockNumber(3)),
        Err(StateError::NoSuchBlock(_))
    ));
}

/// Commits code and storage in two blocks and checks reads at both; the
/// head's root.
fn commit_storage_and_code(db: &StateDb) -> B256 {
    genesis(db, &[(1, 5)]);
    let mut f = db.fork();
    let code = Bytes::from_static(&[0x60, 0x00, 0x60, 0x00, 0xf3]);
    let mut diff = StateDiff::default();
    diff.set_account(
        addr(9),
        Some(Account {
            nonce: 1,
            balance: U256::ZERO,
            code_hash: code_hash(&code),
        }),
    );
    diff.add_code(code_hash(&code), code.clone());
    diff.set_storage(addr(9), U256::from(1), U256::from(77));
    diff.set_storage(addr(9), U256::from(2), U256::from(88));
    f.apply(diff);
    let s = f.seal();
    db.commit(&s, hash(1)).unwrap();
    let mut f = db.fork();
    let mut diff = StateDiff::default();
    diff.set_storage(addr(9), U256::from(2), U256::ZERO);
    f.apply(diff);
    let s = f.seal();
    db.commit(&s, hash(2)).unwrap();
    let r = db.reader(BlockNumber(2)).unwrap();
    assert_eq!(r.code(&addr(9)).unwrap(), code);
    assert_eq!(r.storage(&addr(9), U256::from(2)).unwrap(), U256::ZERO);
    let r1 = db.reader(BlockNumber(1)).unwrap();
    assert_eq!(r1.storage(&addr(9), U256::from(2)).unwrap(), U256::from(88));
    assert_eq!(r1.code(&addr(9)).unwrap(), code);
    db.head().unwrap().state_root
}

fn storage_and_code(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    commit_storage_and_code(&backend.create(dir.path(), "state.redb"));
}

#[cfg(feature = "redb")]
#[test]
fn storage_code_and_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let root = commit_storage_and_code(&StateDb::open(&path).unwrap());
    let db = StateDb::open(&path).unwrap();
    let head = db.head().unwrap();
    assert_eq!(
        (head.number, head.state_root, head.block_hash),
        (BlockNumber(2), root, hash(2))
    );
    assert_eq!(
        db.reader(BlockNumber(2))
            .unwrap()
            .storage(&addr(9), U256::from(1))
            .unwrap(),
        U256::from(77)
    );
}

fn unwind_limits(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = backend.create(dir.path(), "s.redb");
    assert!(matches!(
        db.unwind(1),
        Err(StateError::UnwindTooDeep { .. })
    ));
    genesis(&db, &[(1, 5)]);
    assert!(matches!(
        db.unwind(1),
        Err(StateError::UnwindTooDeep {
            requested: 1,
            available: 0
        })
    ));
    assert_eq!(db.unwind(0).unwrap().number, BlockNumber(0));
}

/// One generated block: writes of balances and storage slots to a few keys.
#[derive(Clone, Debug)]
struct BlockWrites {
    accounts: Vec<(u8, Option<u64>)>,
    storage: Vec<(u8, u8, u64)>,
}

fn block_writes() -> impl Strategy<Value = BlockWrites> {
    (
        proptest::collection::vec((0u8..12, proptest::option::of(0u64..4)), 0..8),
        proptest::collection::vec((0u8..4, 0u8..6, 0u64..3), 0..8),
    )
        .prop_map(|(accounts, storage)| BlockWrites { accounts, storage })
}

fn apply_block(db: &StateDb, n: u64, w: &BlockWrites) {
    let mut f = db.fork();
    let mut diff = StateDiff::default();
    for (a, bal) in &w.accounts {
        diff.set_account(addr(*a), bal.map(|b| Account::with_balance(U256::from(b))));
    }
    for (a, s, v) in &w.storage {
        diff.set_storage(addr(*a), U256::from(*s), U256::from(*v));
    }
    f.apply(diff);
    let s = f.seal();
    db.commit(&s, hash(n)).unwrap();
}

/// Every account and slot the generated blocks can touch, at the head.
type Dump = BTreeMap<StateKey, (Option<Account>, U256)>;

fn dump(db: &StateDb) -> Dump {
    let head = db.head().unwrap().number;
    let r = db.reader(head).unwrap();
    let mut out = BTreeMap::new();
    for a in 0u8..12 {
        out.insert(
            StateKey::Account(addr(a)),
            (r.account(&addr(a)).unwrap(), U256::ZERO),
        );
        for s in 0u8..6 {
            let v = r.storage(&addr(a), U256::from(s)).unwrap();
            out.insert(StateKey::Storage(addr(a), U256::from(s)), (None, v));
        }
    }
    out
}

/// Applies `blocks` on genesis in a store named `full` and all but the last
/// `k` in one named `short`, checks reads at every past block, unwinds `k`
/// blocks of `full` and checks it now equals `short`. The unwound head and
/// its state.
fn unwind_against_never_applying(
    backend: Backend,
    dir: &Path,
    blocks: &[BlockWrites],
    k: usize,
) -> Result<(Option<Head>, Dump), TestCaseError> {
    let full = backend.create(dir, "full.redb");
    let short = backend.create(dir, "short.redb");
    genesis(&full, &[(1, 10), (2, 20)]);
    genesis(&short, &[(1, 10), (2, 20)]);
    let mut before_unwind = Vec::new();
    for (i, w) in blocks.iter().enumerate() {
        apply_block(&full, i as u64 + 1, w);
        before_unwind.push(dump(&full));
    }
    for (i, w) in blocks[..blocks.len() - k].iter().enumerate() {
        apply_block(&short, i as u64 + 1, w);
    }
    // Reads at past blocks match what the head said back then.
    for (i, expected) in before_unwind.iter().enumerate() {
        let r = full.reader(BlockNumber(i as u64 + 1)).unwrap();
        for (key, (acc, val)) in expected {
            match key {
                StateKey::Account(a) => prop_assert_eq!(&r.account(a).unwrap(), acc),
                StateKey::Storage(a, s) => prop_assert_eq!(&r.storage(a, *s).unwrap(), val),
            }
        }
    }
    full.unwind(k as u64).unwrap();
    prop_assert_eq!(full.head(), short.head());
    let state = dump(&full);
    prop_assert_eq!(&state, &dump(&short));
    Ok((full.head(), state))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    /// Any sequence of blocks followed by unwinding k of them gives the same
    /// root and values as never applying them, and the history reads agree,
    /// on every backend; all backends end at the same head, root and values,
    /// and a redb file unwound reopens to the same root.
    #[test]
    fn unwinding_equals_never_applying(blocks in proptest::collection::vec(block_writes(), 1..8), k in 0usize..8) {
        let k = k.min(blocks.len());
        let mut outcomes = Vec::new();
        for backend in BACKENDS {
            let dir = tempfile::tempdir().unwrap();
            let outcome = unwind_against_never_applying(*backend, dir.path(), &blocks, k)?;
            #[cfg(feature = "redb")]
            if let Backend::Redb = backend {
                let reopened = StateDb::open(&dir.path().join("full.redb")).unwrap();
                prop_assert_eq!(reopened.head(), outcome.0);
            }
            outcomes.push(outcome);
        }
        for other in &outcomes[1..] {
            prop_assert_eq!(other, &outcomes[0]);
        }
    }
}

#[test]
fn tree_matches_scratch_for_large_batches() {
    let leaves: Vec<(B256, B256)> = (0..5000u64)
        .map(|i| (hash(i), hash(i + 1_000_000)))
        .collect();
    let all = SparseMerkleTree::from_leaves(leaves.clone());
    let half = SparseMerkleTree::from_leaves(leaves[..2500].to_vec());
    let rest = half.update(leaves[2500..].iter().map(|(k, v)| (*k, Some(*v))).collect());
    assert_eq!(all.root(), rest.root());
}

fn block_hashes_follow_the_forks_own_chain(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = backend.create(dir.path(), "s.redb");
    genesis(&db, &[(1, 5)]);
    let f1 = db.fork();
    let s1 = f1.seal();
    let f2 = db.fork_on(&s1, hash(1)).unwrap();
    assert_eq!(
        f2.block_hash(BlockNumber(0)).unwrap(),
        Some(hash(0)),
        "committed"
    );
    assert_eq!(
        f2.block_hash(BlockNumber(1)).unwrap(),
        Some(hash(1)),
        "the uncommitted parent"
    );
    assert_eq!(
        f2.block_hash(BlockNumber(2)).unwrap(),
        None,
        "the block being built"
    );
    let s2 = f2.seal();
    let f3 = db.fork_on(&s2, hash(2)).unwrap();
    assert_eq!(
        f3.block_hash(BlockNumber(1)).unwrap(),
        Some(hash(1)),
        "an uncommitted ancestor"
    );
}

/// Building each block on the previous, uncommitted one and committing the
/// one behind it frees old blocks: nothing keeps the whole chain alive.
fn a_long_pipeline_frees_committed_blocks(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = backend.create(dir.path(), "s.redb");
    genesis(&db, &[(1, 5)]);
    let first = std::sync::Arc::new(db.fork().seal());
    let watch = std::sync::Arc::downgrade(&first);
    let mut previous = first;
    for n in 1u64..=50 {
        let mut fork = db.fork_on(&previous, hash(n)).unwrap();
        let mut d = StateDiff::default();
        d.set_account(
            addr((n % 200) as u8 + 2),
            Some(Account::with_balance(U256::from(n))),
        );
        fork.apply(d);
        let next = std::sync::Arc::new(fork.seal());
        db.commit(&previous, hash(n)).unwrap();
        previous = next;
    }
    assert!(watch.upgrade().is_none(), "block 1's state was freed");
}

/// Two readers share one store (the simulator's honest nodes): the one
/// ahead commits, the one behind still reads its own tip, and committing
/// what the store already has is a no-op.
fn a_reader_behind_a_shared_store_reads_its_own_tip(backend: Backend) {
    const KEPT: u64 = 8;
    let dir = tempfile::tempdir().unwrap();
    let db = backend.create(dir.path(), "s.redb");
    db.keep_versions(KEPT as usize);
    genesis(&db, &[(1, 1000), (2, 0)]);
    let mut f1 = db.fork();
    let d = transfer(1, 2, 100, &f1);
    f1.apply(d);
    let s1 = f1.seal();
    let mut f2 = db.fork_on(&s1, hash(1)).unwrap();
    let d = transfer(2, 3, 40, &f2);
    f2.apply(d);
    let s2 = f2.seal();

    // The writer commits blocks 1 and 2.
    db.commit(&s1, hash(1)).unwrap();
    db.commit(&s2, hash(2)).unwrap();

    // A reader whose tip is still genesis or block 1 reads those states.
    let at0 = db.fork_at(hash(0)).unwrap();
    assert_eq!(at0.number(), BlockNumber(1));
    assert_eq!(
        at0.account(&addr(2)).unwrap().unwrap_or_default().balance,
        U256::ZERO
    );
    let at1 = db.fork_at(hash(1)).unwrap();
    assert_eq!(at1.number(), BlockNumber(2));
    assert_eq!(
        at1.account(&addr(2)).unwrap().unwrap().balance,
        U256::from(100)
    );
    assert_eq!(at1.account(&addr(3)).unwrap(), None);
    assert!(matches!(
        db.fork_at(hash(7)),
        Err(StateError::NotReadable { .. })
    ));

    // It commits the same blocks again: nothing changes.
    assert_eq!(db.commit(&s1, hash(1)).unwrap().number, BlockNumber(1));
    assert_eq!(db.commit(&s2, hash(2)).unwrap().number, BlockNumber(2));
    assert_eq!(db.head().unwrap().block_hash, hash(2));
    // A different block 1 is still refused.
    assert!(matches!(
        db.commit(&s1, hash(98)),
        Err(StateError::NotOnHead { .. })
    ));

    // A block built on block 1 before block 2 existed (a sibling of block
    // 2) still forks: it rests on the committed block 1, a kept version.
    let mut g2 = db.fork_on(&s1, hash(1)).unwrap();
    let d = transfer(1, 4, 5, &g2);
    g2.apply(d);
    let t2 = g2.seal();
    let g3 = db.fork_on(&t2, hash(52)).unwrap();
    assert_eq!(g3.number(), BlockNumber(3));
    assert_eq!(
        g3.account(&addr(4)).unwrap().unwrap().balance,
        U256::from(5)
    );
    assert_eq!(g3.account(&addr(3)).unwrap(), None, "not block 2's write");

    // Versions older than the ones kept are no longer readable.
    let mut sealed = s2;
    let mut last = hash(2);
    for n in 3..(3 + KEPT) {
        let f = db.fork_on(&sealed, last).unwrap();
        sealed = f.seal();
        last = hash(n);
        db.commit(&sealed, last).unwrap();
    }
    assert!(matches!(
        db.fork_at(hash(0)),
        Err(StateError::NotReadable { .. })
    ));
    assert!(db.fork_at(last).is_ok());
}

/// A store that keeps only its head (a node's own store) reads no older
/// version: a chain resting on a block below the head does not connect.
fn a_store_keeping_only_its_head_refuses_older_versions(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = backend.create(dir.path(), "s.redb");
    genesis(&db, &[(1, 1000)]);
    let mut f1 = db.fork();
    let d = transfer(1, 2, 1, &f1);
    f1.apply(d);
    let s1 = f1.seal();
    db.commit(&s1, hash(1)).unwrap();
    assert!(matches!(
        db.fork_at(hash(0)),
        Err(StateError::NotReadable { .. })
    ));
    assert!(db.fork_at(hash(1)).is_ok());
    db.keep_versions(4);
    let f2 = db.fork_on(&s1, hash(1)).unwrap();
    db.commit(&f2.seal(), hash(2)).unwrap();
    assert!(db.fork_at(hash(1)).is_ok(), "kept once asked for");
}

/// A fork and a reader keep reading the version they started on while
/// later blocks commit and are unwound: a backend view is a snapshot.
fn forks_and_readers_keep_their_version_through_commits_and_unwinds(backend: Backend) {
    let dir = tempfile::tempdir().unwrap();
    let db = backend.create(dir.path(), "s.redb");
    genesis(&db, &[(1, 1000)]);
    let mut f1 = db.fork();
    let d = transfer(1, 2, 100, &f1);
    f1.apply(d);
    let s1 = f1.seal();
    db.commit(&s1, hash(1)).unwrap();
    let on_block_1 = db.fork();
    let reader_at_1 = db.reader(BlockNumber(1)).unwrap();
    let balance = |fork: &chunkseq_state::Fork, a: u8| {
        fork.account(&addr(a)).unwrap().unwrap_or_default().balance
    };
    for n in 2..6u64 {
        let mut f = db.fork();
        let d = transfer(2, 3, 10, &f);
        f.apply(d);
        db.commit(&f.seal(), hash(n)).unwrap();
    }
    assert_eq!(balance(&on_block_1, 2), U256::from(100));
    assert_eq!(balance(&on_block_1, 3), U256::ZERO);
    db.unwind(5).unwrap();
    assert_eq!(db.head().unwrap().number, BlockNumber(0));
    assert_eq!(balance(&db.fork(), 2), U256::ZERO);
    assert_eq!(
        balance(&on_block_1, 2),
        U256::from(100),
        "still block 1's state"
    );
    assert_eq!(
        on_block_1.block_hash(BlockNumber(1)).unwrap(),
        Some(hash(1))
    );
    assert_eq!(
        reader_at_1.balance(&addr(2)).unwrap(),
        U256::from(100),
        "the reader too"
    );
    assert_eq!(
        reader_at_1.header(BlockNumber(1)).unwrap().map(|h| h.0),
        Some(hash(1))
    );
    // Block 1 again, then another block 2: the new history reads right.
    db.commit(&s1, hash(1)).unwrap();
    let mut f = db.fork();
    let d = transfer(2, 4, 1, &f);
    f.apply(d);
    db.commit(&f.seal(), hash(22)).unwrap();
    let r = db.reader(BlockNumber(1)).unwrap();
    assert_eq!(r.balance(&addr(2)).unwrap(), U256::from(100));
    assert_eq!(r.balance(&addr(3)).unwrap(), U256::ZERO);
    assert_eq!(
        db.reader(BlockNumber(2))
            .unwrap()
            .balance(&addr(4))
            .unwrap(),
        U256::from(1)
    );
    assert_eq!(
        db.header(BlockNumber(2)).unwrap().map(|h| h.0),
        Some(hash(22))
    );
}
