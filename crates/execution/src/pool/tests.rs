//! The pool's behaviour: admission, order, promotion, eviction, replacement,
//! removal and reinsertion.

use proptest::prelude::*;

use super::{test_utils::*, *};

/// `(signer, nonce, tip)` of a transaction.
type Spec = (u8, u64, u128);
/// `(signer, nonce)` of transactions.
type Ids = &'static [(u8, u64)];
/// What [`Pool::reinsert`] turns away.
type Rejected = Vec<(B256, PoolError)>;

fn pool_with(config: PoolConfig, accounts: &Accounts, txs: &[Spec]) -> Pool {
    let mut pool = Pool::new(config);
    for &(signer, nonce, tip) in txs {
        pool.add(tx(signer, nonce, tip), accounts).unwrap();
    }
    pool
}

#[test]
fn best_after_skips_what_a_block_took() {
    let pool = pool_with(
        config(),
        &Accounts::default(),
        &[
            (0, 0, 5),
            (0, 1, 5),
            (0, 2, 5),
            (1, 0, 3),
            (1, 1, 3),
            (2, 0, 1),
        ],
    );
    let ids = |taken: &[(u8, u64)]| -> Vec<(Address, u64)> {
        let taken: AddressMap<u64> = taken.iter().map(|&(s, n)| (addr(s), n)).collect();
        pool.best_after(&taken)
            .map(|t| (t.sender(), t.nonce()))
            .collect()
    };
    let all: Vec<(Address, u64)> = pool.best().map(|t| (t.sender(), t.nonce())).collect();
    assert_eq!(ids(&[]), all, "nothing taken: best");
    assert_eq!(
        ids(&[(0, 2), (1, 1)]),
        vec![(addr(0), 2), (addr(1), 1), (addr(2), 0)]
    );
    assert_eq!(
        ids(&[(0, u64::MAX), (2, 1)]),
        vec![(addr(1), 0), (addr(1), 1)],
        "a sender left out, a sender exhausted"
    );
}

#[test]
fn best_orders_by_tip_then_arrival_and_by_nonce_within_a_sender() {
    let cases: [(&str, &[Spec], Ids); 5] = [
        (
            "highest tip first",
            &[(0, 0, 1), (1, 0, 3), (2, 0, 2)],
            &[(1, 0), (2, 0), (0, 0)],
        ),
        (
            "equal tips by arrival",
            &[(2, 0, 5), (0, 0, 5), (1, 0, 5)],
            &[(2, 0), (0, 0), (1, 0)],
        ),
        (
            "a later nonce waits for its predecessor",
            &[(0, 1, 100), (0, 0, 1), (1, 0, 50)],
            &[(1, 0), (0, 0), (0, 1)],
        ),
        (
            "a later nonce competes once its predecessor is out",
            &[(0, 0, 60), (0, 1, 100), (1, 0, 50)],
            &[(0, 0), (0, 1), (1, 0)],
        ),
        (
            "nonce gaps are held",
            &[(0, 0, 1), (0, 2, 9), (1, 3, 9), (2, 1, 9)],
            &[(0, 0)],
        ),
    ];
    for (name, txs, expected) in cases {
        let pool = pool_with(config(), &Accounts::default(), txs);
        assert_eq!(best(&pool), expected, "{name}");
        assert_eq!(pool.pending_len(), expected.len(), "{name}");
        assert_eq!(pool.len(), txs.len(), "{name}");
    }
}

#[test]
fn would_wait_names_what_a_gap_holds_back() {
    let accounts = Accounts::default().with_nonce(1, 5);
    let pool = pool_with(config(), &accounts, &[(0, 0, 10), (0, 1, 10), (0, 3, 10)]);
    assert!(!pool.would_wait(addr(0), 2, &accounts), "2 is next");
    assert!(pool.would_wait(addr(0), 4, &accounts), "4 waits for 2");
    assert!(
        !pool.would_wait(addr(1), 5, &accounts),
        "the account's nonce"
    );
    assert!(pool.would_wait(addr(1), 6, &accounts), "5 is missing");
    assert_eq!(pool.pending_nonce(addr(0), 0), 2, "0 and 1 pooled, 2 next");
    assert_eq!(pool.pending_nonce(addr(1), 5), 5, "nothing pooled from 5");
    assert_eq!(pool.pending_nonce(addr(3), 9), 9, "no pooled transactions");
    assert_eq!(pool.pending_len(), 2, "0 and 1 can execute, 3 waits");
    let one = pool
        .get(&pool.best().next().unwrap().hash())
        .unwrap()
        .encoded()
        .len();
    assert_eq!(pool.pending_size().bytes, 2 * one, "the bytes of 0 and 1");
}

#[test]
fn filling_a_gap_promotes_the_queued() {
    let accounts = Accounts::default().with_nonce(1, 5);
    let mut pool = pool_with(config(), &accounts, &[(0, 0, 1), (0, 2, 1), (1, 6, 1)]);
    assert_eq!(best(&pool), [(0, 0)]);
    pool.add(tx(0, 1, 1), &accounts).unwrap();
    pool.add(tx(1, 5, 1), &accounts).unwrap();
    assert_eq!(best(&pool), [(0, 0), (0, 1), (0, 2), (1, 5), (1, 6)]);
}

#[test]
fn rejections_leave_the_pool_unchanged() {
    let small = PoolConfig {
        max_txs: 2,
        max_per_sender: 2,
        ..config()
    };
    let cases: Vec<(&str, &[Spec], Accounts, Spec, PoolError)> = vec![
        (
            "already known",
            &[(0, 0, 1)],
            Accounts::default(),
            (0, 0, 1),
            PoolError::AlreadyKnown(tx(0, 0, 1).hash()),
        ),
        (
            "nonce too low",
            &[],
            Accounts::default().with_nonce(0, 1),
            (0, 0, 1),
            PoolError::NonceTooLow {
                nonce: 0,
                account_nonce: 1,
            },
        ),
        (
            "sender full",
            &[(0, 0, 1), (0, 1, 1)],
            Accounts::default(),
            (0, 2, 9),
            PoolError::SenderFull {
                sender: addr(0),
                max: 2,
            },
        ),
        (
            "pool full, tip below the lowest",
            &[(0, 0, 5), (1, 0, 3)],
            Accounts::default(),
            (2, 0, 2),
            PoolError::PoolFull {
                tip: 2,
                lowest_tip: Some(3),
            },
        ),
        (
            "pool full, tip equal to the lowest",
            &[(0, 0, 5), (1, 0, 3)],
            Accounts::default(),
            (2, 0, 3),
            PoolError::PoolFull {
                tip: 3,
                lowest_tip: Some(3),
            },
        ),
        (
            "replacement without the bump",
            &[(0, 0, 100)],
            Accounts::default(),
            (0, 0, 109),
            PoolError::ReplacementUnderpriced {
                min_max_fee_per_gas: 110,
                min_max_priority_fee_per_gas: 110,
            },
        ),
    ];
    for (name, txs, accounts, (signer, nonce, tip), expected) in cases {
        let mut pool = pool_with(small.clone(), &accounts, txs);
        let before = (best(&pool), pool.len());
        let raw = tx(signer, nonce, tip).encoded().clone();
        assert_eq!(pool.add_raw(&raw, &accounts), Err(expected), "{name}");
        assert_eq!((best(&pool), pool.len()), before, "{name}");
    }
    let mut pool = Pool::new(PoolConfig {
        max_txs: 0,
        ..config()
    });
    assert_eq!(
        pool.add(tx(0, 0, 1), &Accounts::default()),
        Err(PoolError::PoolFull {
            tip: 1,
            lowest_tip: None
        })
    );
    assert_eq!(
        pool.add_raw(&[0x03], &Accounts::default()),
        Err(PoolError::UnsupportedType(3))
    );
}

#[test]
fn a_full_pool_evicts_its_lowest_paying_transaction() {
    let cases: [(&str, &[Spec], Spec, Ids); 3] = [
        (
            "lowest tip",
            &[(0, 0, 5), (1, 0, 3), (2, 0, 7)],
            (3, 0, 4),
            &[(2, 0), (0, 0), (3, 0)],
        ),
        (
            "latest arrival among equal tips",
            &[(0, 0, 3), (1, 0, 3), (2, 0, 7)],
            (3, 0, 4),
            &[(2, 0), (3, 0), (0, 0)],
        ),
        (
            "its sender's later nonces wait behind the gap",
            &[(0, 0, 1), (0, 1, 9), (1, 0, 5)],
            (2, 0, 6),
            &[(2, 0), (1, 0)],
        ),
    ];
    let full = PoolConfig {
        max_txs: 3,
        ..config()
    };
    for (name, txs, (signer, nonce, tip), expected) in cases {
        let mut pool = pool_with(full.clone(), &Accounts::default(), txs);
        pool.add(tx(signer, nonce, tip), &Accounts::default())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(best(&pool), expected, "{name}");
        assert_eq!(pool.len(), 3, "{name}");
    }
}

#[test]
fn replacement_takes_the_place_of_the_old_transaction() {
    let tight = PoolConfig {
        max_txs: 2,
        max_per_sender: 1,
        ..config()
    };
    let accounts = Accounts::default();
    let mut pool = pool_with(tight, &accounts, &[(0, 0, 100), (1, 0, 1)]);
    let (old, new) = (tx(0, 0, 100), tx(0, 0, 110));
    assert_eq!(pool.add(new.clone(), &accounts), Ok(new.hash()));
    assert!(!pool.contains(&old.hash()));
    assert_eq!(pool.get(&new.hash()), Some(&new));
    assert_eq!(
        pool.len(),
        2,
        "a replacement neither evicts nor counts twice"
    );
    assert_eq!(best(&pool), [(0, 0), (1, 0)]);
}

#[test]
fn what_leaves_without_a_block_says_why() {
    let accounts = Accounts::default();
    // Replaced: the old one names its replacement.
    let mut pool = pool_with(config(), &accounts, &[(0, 0, 100)]);
    let (old, new) = (tx(0, 0, 100), tx(0, 0, 110));
    pool.add(new.clone(), &accounts).unwrap();
    assert_eq!(
        pool.take_removed(),
        vec![(old.hash(), StatusDetail::ReplacedBy { hash: new.hash() })]
    );
    assert!(pool.take_removed().is_empty(), "taken once");
    // Evicted: the lowest tip makes room.
    let full = PoolConfig {
        max_txs: 2,
        ..config()
    };
    let mut pool = pool_with(full, &accounts, &[(0, 0, 5), (1, 0, 3)]);
    pool.add(tx(2, 0, 4), &accounts).unwrap();
    assert_eq!(
        pool.take_removed(),
        vec![(tx(1, 0, 3).hash(), StatusDetail::Evicted)]
    );
    // Nonce used: a block took another transaction with its nonce.
    let mut pool = pool_with(config(), &accounts, &[(0, 0, 5), (0, 1, 5)]);
    pool.remove_included(&[(addr(0), 0)]);
    assert_eq!(
        pool.take_removed(),
        vec![(tx(0, 0, 5).hash(), StatusDetail::NonceUsed)],
        "the owner tells an included transaction from a conflicting one"
    );
}

#[test]
fn a_pool_full_in_bytes_evicts_the_lowest_paying_first() {
    let accounts = Accounts::default();
    let one = tx(0, 0, 5).encoded().len();
    // Room for two transactions' bytes, whatever the count allows.
    let small = PoolConfig {
        max_bytes: 2 * one + one / 2,
        ..config()
    };
    let mut pool = pool_with(small.clone(), &accounts, &[(0, 0, 5), (1, 0, 3)]);
    assert_eq!(pool.bytes(), 2 * one);
    pool.add(tx(2, 0, 4), &accounts).unwrap();
    assert_eq!(best(&pool), [(0, 0), (2, 0)], "the lowest tip made room");
    assert_eq!(
        pool.take_removed(),
        vec![(tx(1, 0, 3).hash(), StatusDetail::Evicted)]
    );
    assert!(
        matches!(
            pool.add(tx(3, 0, 1), &accounts),
            Err(PoolError::PoolFull { .. })
        ),
        "a lower tip than everything pooled is refused"
    );
    assert_eq!(pool.bytes(), 2 * one, "bytes follow removals");
}

#[test]
fn a_transaction_that_fills_a_gap_is_never_locked_out() {
    let accounts = Accounts::default();
    // Sender 0 holds its limit, all behind the missing nonce 0.
    let tight = PoolConfig {
        max_per_sender: 3,
        ..config()
    };
    let mut pool = pool_with(tight, &accounts, &[(0, 1, 5), (0, 2, 5), (0, 3, 5)]);
    assert!(best(&pool).is_empty());
    pool.add(tx(0, 0, 5), &accounts).unwrap();
    assert_eq!(
        best(&pool),
        [(0, 0), (0, 1), (0, 2)],
        "its highest made room"
    );
    assert_eq!(
        pool.take_removed(),
        vec![(tx(0, 3, 5).hash(), StatusDetail::Evicted)]
    );
    assert!(
        matches!(
            pool.add(tx(0, 4, 5), &accounts),
            Err(PoolError::SenderFull { .. })
        ),
        "a higher nonce still finds the sender full"
    );
    // A full pool drops a transaction behind a gap before refusing an
    // executable one of the same tip.
    let full = PoolConfig {
        max_txs: 2,
        ..config()
    };
    let mut pool = pool_with(full, &accounts, &[(0, 0, 5), (1, 5, 5)]);
    pool.add(tx(2, 0, 5), &accounts).unwrap();
    assert_eq!(best(&pool), [(0, 0), (2, 0)]);
    assert_eq!(
        pool.take_removed(),
        vec![(tx(1, 5, 5).hash(), StatusDetail::Evicted)]
    );
    assert!(
        matches!(
            pool.add(tx(3, 0, 5), &accounts),
            Err(PoolError::PoolFull { .. })
        ),
        "with nothing behind a gap, an equal tip is refused"
    );
}

#[test]
fn transactions_behind_a_nonce_gap_expire_and_pending_ones_do_not() {
    let accounts = Accounts::default();
    let short = PoolConfig {
        queued_lifetime_ms: 1_000,
        ..config()
    };
    let mut pool = Pool::new(short);
    pool.set_clock(10_000);
    // Sender 0: nonces 0 and 1 pending, 3 behind a gap; sender 1: 5 behind
    // one; sender 2: one run of nonces from its account's, nothing queued.
    for (signer, nonce) in [(0, 0), (0, 1), (0, 3), (1, 5), (2, 0), (2, 1), (2, 2)] {
        pool.add(tx(signer, nonce, 1), &accounts).unwrap();
    }
    pool.set_clock(10_999);
    assert_eq!(pool.expire_queued(), 0, "not yet");
    pool.set_clock(11_000);
    pool.set_clock(5_000); // the clock never goes back
    assert_eq!(pool.expire_queued(), 2);
    let mut expired = pool.take_removed();
    expired.sort();
    let mut expected = vec![
        (tx(0, 3, 1).hash(), StatusDetail::Expired),
        (tx(1, 5, 1).hash(), StatusDetail::Expired),
    ];
    expected.sort();
    assert_eq!(expired, expected);
    assert_eq!(best(&pool), [(0, 0), (0, 1), (2, 0), (2, 1), (2, 2)]);
    assert_eq!(pool.len(), 5);
}

#[test]
fn remove_included_drops_included_and_lower_nonces() {
    let txs: &[Spec] = &[(0, 0, 1), (0, 1, 1), (0, 2, 1), (1, 0, 1), (2, 3, 1)];
    let cases: [(&str, Ids, Ids, usize); 4] = [
        ("included and lower", &[(0, 1)], &[(0, 2), (1, 0)], 3),
        (
            "nothing pooled for the sender",
            &[(3, 0)],
            &[(0, 0), (0, 1), (0, 2), (1, 0)],
            5,
        ),
        (
            "whatever was included at that nonce",
            &[(1, 0)],
            &[(0, 0), (0, 1), (0, 2)],
            4,
        ),
        (
            "filling a gap by inclusion",
            &[(2, 0), (2, 1), (2, 2)],
            &[(0, 0), (0, 1), (0, 2), (1, 0), (2, 3)],
            5,
        ),
    ];
    for (name, included, expected, len) in cases {
        let mut pool = pool_with(config(), &Accounts::default(), txs);
        let included: Vec<_> = included.iter().map(|&(s, n)| (addr(s), n)).collect();
        pool.remove_included(&included);
        assert_eq!(best(&pool), expected, "{name}");
        assert_eq!(pool.len(), len, "{name}");
    }
}

#[test]
fn remove_leaves_later_nonces_queued() {
    let mut pool = pool_with(config(), &Accounts::default(), &[(0, 0, 1), (0, 1, 1)]);
    let first = tx(0, 0, 1);
    assert_eq!(pool.remove(&first.hash()), Some(first.clone()));
    assert_eq!(pool.remove(&first.hash()), None);
    assert_eq!((best(&pool), pool.len()), (vec![], 1));
}

#[test]
fn reinsert_takes_back_unwound_transactions() {
    let at = |nonce| Accounts::default().with_nonce(0, nonce);
    let unwound = || vec![tx(0, 0, 1), tx(0, 1, 1)];
    // Each case: account nonce after the unwind, and what it rejects.
    let cases: [(&str, u64, Rejected, Ids); 2] = [
        ("both blocks unwound", 0, vec![], &[(0, 0), (0, 1), (0, 2)]),
        (
            "only the second block unwound",
            1,
            vec![(
                tx(0, 0, 1).hash(),
                PoolError::NonceTooLow {
                    nonce: 0,
                    account_nonce: 1,
                },
            )],
            &[(0, 1), (0, 2)],
        ),
    ];
    for (name, nonce, rejected, expected) in cases {
        let mut pool = pool_with(config(), &at(0), &[(0, 0, 1), (0, 1, 1), (0, 2, 1)]);
        pool.remove_included(&[(addr(0), 1)]);
        assert_eq!(best(&pool), [(0, 2)], "{name}");
        assert_eq!(pool.reinsert(unwound(), &at(nonce)), rejected, "{name}");
        assert_eq!(best(&pool), expected, "{name}");
    }
}

#[test]
fn skip_sender_drops_the_rest_of_a_failed_sender() {
    let pool = pool_with(
        config(),
        &Accounts::default(),
        &[(0, 0, 5), (0, 1, 5), (1, 0, 1)],
    );
    let mut best = pool.best();
    assert_eq!(
        best.next().map(|t| (t.sender(), t.nonce())),
        Some((addr(0), 0))
    );
    best.skip_sender();
    assert_eq!(
        best.next().map(|t| (t.sender(), t.nonce())),
        Some((addr(1), 0))
    );
    assert_eq!(best.next(), None);
}

#[derive(Debug, Clone)]
enum Op {
    Add(Spec),
    Include(u8, u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..4u8, 0..8u64, 0..4u128).prop_map(Op::Add),
        1 => (0..4u8, 0..8u64).prop_map(|(s, n)| Op::Include(s, n)),
    ]
}

/// Applies `ops` to a small pool, keeping the accounts in step with inclusions.
fn run(ops: &[Op]) -> (Pool, Accounts) {
    let mut pool = Pool::new(PoolConfig {
        max_txs: 12,
        max_per_sender: 5,
        ..config()
    });
    let mut accounts = Accounts::default();
    for op in ops {
        match *op {
            Op::Add((signer, nonce, tip)) => {
                let _ = pool.add(tx(signer, nonce, tip), &accounts);
            }
            Op::Include(signer, nonce) => {
                let next = accounts.nonce(addr(signer)).max(nonce + 1);
                accounts.nonces.insert(addr(signer), next);
                pool.remove_included(&[(addr(signer), nonce)]);
            }
        }
    }
    (pool, accounts)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn best_yields_each_sender_in_nonce_order_without_gaps(ops in proptest::collection::vec(op(), 0..40)) {
        let (pool, accounts) = run(&ops);
        prop_assert!(pool.len() <= 12);
        let yielded: Vec<&RecoveredTx> = pool.best().collect();
        prop_assert_eq!(yielded.len(), pool.pending_len());
        let mut next: BTreeMap<Address, u64> = BTreeMap::new();
        for tx in &yielded {
            let expected = next.entry(tx.sender()).or_insert_with(|| accounts.nonce(tx.sender()));
            prop_assert_eq!(tx.nonce(), *expected, "nonce gap or disorder");
            *expected += 1;
        }
        // Each yielded transaction pays at least as much as every other
        // sender's next one at that point.
        for (i, tx) in yielded.iter().enumerate() {
            let mut seen = BTreeSet::from([tx.sender()]);
            for later in yielded.iter().skip(i + 1) {
                if seen.insert(later.sender()) {
                    prop_assert!(later.effective_tip() <= tx.effective_tip());
                }
            }
        }
        prop_assert_eq!(best(&pool), best(&run(&ops).0), "deterministic");
    }
}

#[test]
fn relayed_transactions_get_room_for_several_entry_nodes() {
    let cfg = PoolConfig {
        max_per_sender: 2,
        ..config()
    };
    let accounts = Accounts::default();
    let mut pool = Pool::new(cfg);
    pool.add(tx(0, 0, 1), &accounts).unwrap();
    pool.add(tx(0, 1, 1), &accounts).unwrap();
    // A user's third is refused here...
    assert_eq!(
        pool.add(tx(0, 2, 1), &accounts),
        Err(PoolError::SenderFull {
            sender: addr(0),
            max: 2,
        })
    );
    // ...but a peer's is taken, up to PEER_SENDER_FACTOR times the bound.
    let relayed = 2 * PEER_SENDER_FACTOR;
    for nonce in 2..relayed as u64 {
        pool.add_from_peer(tx(0, nonce, 1), &accounts).unwrap();
    }
    assert_eq!(pool.len(), relayed);
    assert_eq!(
        pool.add_from_peer(tx(0, relayed as u64, 1), &accounts),
        Err(PoolError::SenderFull {
            sender: addr(0),
            max: relayed,
        })
    );
    assert_eq!(pool.len(), relayed, "a refusal changes nothing");
}
