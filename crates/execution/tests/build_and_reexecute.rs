//! Building blocks and re-executing them: identical headers for honest
//! blocks, precise mismatches for altered ones.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use alloy_sol_types::SolCall;
use chunkseq_execution::{
    AddTxError, BlockBuilder, BlockContext, Genesis, ILoadToken, LOAD_TOKEN_ADDRESS, NoneKnown,
    RecoveredTx, ReexecError, dev_keys,
    pool::{recover, sign_transaction},
    reexecute,
};
use chunkseq_primitives::{
    BlockHeader, BlockIndex, BlockNumber, FeeSpec, Preset, PrivateKey, Slot, UnixMillis,
};
use chunkseq_state::StateDb;
use proptest::prelude::*;

const CHAIN_ID: u64 = 8_001;

struct Chain {
    _dir: tempfile::TempDir,
    db: Arc<StateDb>,
    keys: Vec<PrivateKey>,
    genesis: BlockHeader,
}

fn chain(accounts: usize) -> Chain {
    let dir = tempfile::tempdir().unwrap();
    let db = Arc::new(StateDb::open(&dir.path().join("state.redb")).unwrap());
    let keys = dev_keys("build and reexecute", accounts);
    let addrs: Vec<Address> = keys.iter().map(PrivateKey::address).collect();
    let genesis = Genesis::funded(&addrs, U256::from(10u128.pow(21)), U256::from(1_000_000u64));
    let (header, _) = genesis.commit(&db, &Preset::Devnet.spec()).unwrap();
    Chain {
        _dir: dir,
        db,
        keys,
        genesis: header,
    }
}

fn ctx(number: u64, parent: B256) -> BlockContext {
    BlockContext {
        number: BlockNumber(number),
        slot: Slot(1),
        index: BlockIndex(number as u32 - 1),
        parent_hash: parent,
        timestamp: UnixMillis(1_767_225_600_000 + number * 925),
        coinbase: Address::repeat_byte(0xcb),
        gas_limit: 30_000_000,
        max_txs: 1_000,
        chain_id: CHAIN_ID,
        fees: FeeSpec::default(),
        data_price: FeeSpec::default().min_data_price,
    }
}

fn tx(
    key: &PrivateKey,
    nonce: u64,
    to: Address,
    value: U256,
    input: Bytes,
    gas: u64,
) -> RecoveredTx {
    let envelope = sign_transaction(
        key,
        TxEip1559 {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit: gas,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(to),
            value,
            access_list: Default::default(),
            input,
        },
    );
    let mut raw = Vec::new();
    alloy_eips::eip2718::Encodable2718::encode_2718(&envelope, &mut raw);
    recover(&raw, CHAIN_ID).unwrap()
}

fn transfer(key: &PrivateKey, nonce: u64, to: Address, value: u64) -> RecoveredTx {
    tx(key, nonce, to, U256::from(value), Bytes::new(), 21_000)
}

fn token_transfer(key: &PrivateKey, nonce: u64, to: Address, value: u64) -> RecoveredTx {
    let input = ILoadToken::transferCall {
        to,
        value: U256::from(value),
    }
    .abi_encode();
    tx(
        key,
        nonce,
        LOAD_TOKEN_ADDRESS,
        U256::ZERO,
        input.into(),
        60_000,
    )
}

#[test]
fn transfers_and_token_transfers_build_and_reexecute_identically() {
    let c = chain(4);
    let mut b = BlockBuilder::new(c.db.fork(), ctx(1, c.genesis.hash())).unwrap();
    let to = Address::repeat_byte(0x77);
    let mut data_fees = 0u128;
    for (i, k) in c.keys.iter().enumerate() {
        let out = b.add_tx(&transfer(k, 0, to, 1_000 + i as u64)).unwrap();
        assert!(out.success);
        assert_eq!(out.gas_used, 21_000);
        assert!(out.data_fee > 0, "every transaction pays for its data");
        data_fees += out.data_fee;
        let out = b.add_tx(&token_transfer(k, 1, to, 10)).unwrap();
        assert!(out.success, "token transfer succeeds");
        data_fees += out.data_fee;
    }
    let built = b.seal();
    assert_eq!(built.header.txCount, 8);
    assert_eq!(built.receipts.len(), 8);

    // Balances as the builder's state sees them.
    let fork = c.db.fork_on(&built.state, built.hash()).unwrap();
    assert_eq!(
        fork.account(&to).unwrap().unwrap().balance,
        U256::from(1_000 + 1_001 + 1_002 + 1_003)
    );
    let coinbase = fork.account(&Address::repeat_byte(0xcb)).unwrap().unwrap();
    assert_eq!(
        coinbase.balance,
        U256::from(built.header.gasUsed) * U256::from(1_000_000_000u64) + U256::from(data_fees),
        "tips and data fees go to the coinbase"
    );
    let slot = chunkseq_execution::genesis::token_balance_slot(to);
    assert_eq!(
        fork.storage(&LOAD_TOKEN_ADDRESS, slot).unwrap(),
        U256::from(40)
    );

    // An attester re-executes on its own fork of the same parent.
    let again = reexecute(
        c.db.fork(),
        ctx(1, c.genesis.hash()),
        &built.header,
        &built.transactions,
        &NoneKnown,
    )
    .unwrap();
    assert_eq!(again.header, built.header);
    assert_eq!(again.hash(), built.hash());
}

#[test]
fn invalid_transactions_leave_the_block_untouched() {
    let c = chain(2);
    let (k0, k1) = (&c.keys[0], &c.keys[1]);
    let to = Address::repeat_byte(0x55);
    let mut with = BlockBuilder::new(c.db.fork(), ctx(1, c.genesis.hash())).unwrap();
    let mut without = BlockBuilder::new(c.db.fork(), ctx(1, c.genesis.hash())).unwrap();
    for b in [&mut with, &mut without] {
        b.add_tx(&transfer(k0, 0, to, 5)).unwrap();
    }
    // Nonce gap, replayed nonce, and more value than the balance.
    let too_much = tx(k1, 0, to, U256::from(10u128.pow(22)), Bytes::new(), 21_000);
    for bad in [transfer(k0, 5, to, 1), transfer(k0, 0, to, 1), too_much] {
        match with.add_tx(&bad) {
            Err(AddTxError::Invalid(_) | AddTxError::InsufficientFunds { .. }) => {}
            other => panic!("expected an invalid transaction, got {other:?}"),
        }
    }
    for b in [&mut with, &mut without] {
        b.add_tx(&transfer(k1, 0, to, 7)).unwrap();
    }
    assert_eq!(with.seal().header, without.seal().header);
}

#[test]
fn block_limits() {
    let c = chain(3);
    let mut small = ctx(1, c.genesis.hash());
    small.max_txs = 2;
    small.gas_limit = 50_000;
    let mut b = BlockBuilder::new(c.db.fork(), small).unwrap();
    b.add_tx(&transfer(&c.keys[0], 0, Address::ZERO, 1))
        .unwrap();
    assert!(matches!(
        b.add_tx(&token_transfer(&c.keys[1], 0, Address::ZERO, 1)),
        Err(AddTxError::OutOfBlockGas {
            needed: 60_000,
            left: 29_000
        })
    ));
    b.add_tx(&transfer(&c.keys[1], 0, Address::ZERO, 1))
        .unwrap();
    assert!(b.is_full());
    assert!(matches!(
        b.add_tx(&transfer(&c.keys[2], 0, Address::ZERO, 1)),
        Err(AddTxError::TooManyTxs(2))
    ));
}

#[test]
fn altered_blocks_are_rejected_with_the_precise_mismatch() {
    let c = chain(2);
    let mut b = BlockBuilder::new(c.db.fork(), ctx(1, c.genesis.hash())).unwrap();
    b.add_tx(&transfer(&c.keys[0], 0, Address::repeat_byte(1), 10))
        .unwrap();
    b.add_tx(&transfer(&c.keys[1], 0, Address::repeat_byte(2), 20))
        .unwrap();
    let built = b.seal();
    let re = |header: &BlockHeader, txs: &[Bytes]| {
        reexecute(
            c.db.fork(),
            ctx(1, c.genesis.hash()),
            header,
            txs,
            &NoneKnown,
        )
    };

    let mut bad_root = built.header.clone();
    bad_root.stateRoot = B256::repeat_byte(0xee);
    match re(&bad_root, &built.transactions) {
        Err(ReexecError::Mismatch(m)) => {
            assert_eq!(m.len(), 1);
            assert_eq!(m[0].field, "stateRoot");
            assert_eq!(m[0].expected, built.header.stateRoot.to_string());
            assert_eq!(m[0].found, bad_root.stateRoot.to_string());
        }
        other => panic!("{other:?}"),
    }

    let mut bad_gas = built.header.clone();
    bad_gas.gasUsed += 1;
    match re(&bad_gas, &built.transactions) {
        Err(ReexecError::Mismatch(m)) => {
            assert_eq!(
                (m.len(), m[0].field, m[0].expected.as_str()),
                (1, "gasUsed", "42000")
            );
        }
        other => panic!("{other:?}"),
    }

    // Another valid transaction in place of the second one.
    let mut txs = built.transactions.clone();
    let other = transfer(&c.keys[1], 0, Address::repeat_byte(2), 21);
    txs[1] = other.encoded().clone();
    match re(&built.header, &txs) {
        Err(ReexecError::Mismatch(m)) => {
            let fields: Vec<_> = m.iter().map(|m| m.field).collect();
            assert!(
                fields.contains(&"txRoot") && fields.contains(&"stateRoot"),
                "{fields:?}"
            );
        }
        other => panic!("{other:?}"),
    }

    // A corrupted transaction: one byte of its signature flipped.
    let mut txs = built.transactions.clone();
    let mut raw = txs[0].to_vec();
    let last = raw.len() - 2;
    raw[last] ^= 1;
    txs[0] = raw.into();
    assert!(matches!(
        re(&built.header, &txs),
        Err(ReexecError::Malformed { index: 0, .. })
            | Err(ReexecError::Mismatch(_))
            | Err(ReexecError::InvalidTx { index: 0, .. })
    ));
}

#[test]
fn blocks_stack_on_uncommitted_parents() {
    let c = chain(2);
    let k = &c.keys[0];
    let mut b1 = BlockBuilder::new(c.db.fork(), ctx(1, c.genesis.hash())).unwrap();
    b1.add_tx(&transfer(k, 0, Address::repeat_byte(9), 1))
        .unwrap();
    let one = b1.seal();
    let mut b2 = BlockBuilder::new(
        c.db.fork_on(&one.state, one.hash()).unwrap(),
        ctx(2, one.hash()),
    )
    .unwrap();
    b2.add_tx(&transfer(k, 1, Address::repeat_byte(9), 1))
        .unwrap();
    let two = b2.seal();

    // An attester re-executes both in order before anything is committed.
    let r1 = reexecute(
        c.db.fork(),
        ctx(1, c.genesis.hash()),
        &one.header,
        &one.transactions,
        &NoneKnown,
    )
    .unwrap();
    let r2 = reexecute(
        c.db.fork_on(&r1.state, r1.hash()).unwrap(),
        ctx(2, one.hash()),
        &two.header,
        &two.transactions,
        &NoneKnown,
    )
    .unwrap();
    assert_eq!(r2.header, two.header);
    c.db.commit(&r1.state, r1.hash()).unwrap();
    c.db.commit(&r2.state, r2.hash()).unwrap();
    assert_eq!(c.db.head().unwrap().state_root, two.header.stateRoot);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Whatever mix of valid and invalid transactions a proposer tries, the
    /// block it seals re-executes to the identical header.
    #[test]
    fn building_then_reexecuting_yields_identical_headers(
        ops in proptest::collection::vec((0usize..4, 0u64..4, any::<bool>(), 0u64..2_000_000), 1..30),
    ) {
        let c = chain(4);
        let mut b = BlockBuilder::new(c.db.fork(), ctx(1, c.genesis.hash())).unwrap();
        for (sender, nonce, token, value) in ops {
            let key = &c.keys[sender];
            let to = c.keys[(sender + 1) % 4].address();
            let t = if token { token_transfer(key, nonce, to, value) } else { transfer(key, nonce, to, value) };
            let _ = b.add_tx(&t);
        }
        let built = b.seal();
        let again = reexecute(c.db.fork(), ctx(1, c.genesis.hash()), &built.header, &built.transactions, &NoneKnown).unwrap();
        prop_assert_eq!(again.header, built.header);
    }
}

/// A contract that stores `BLOCKHASH(1)` in slot 0, called in block 2 built on
/// block 1 before block 1 is committed. An attester that has committed block
/// 1 already must see the same hash: `BLOCKHASH` follows the chain, not what a
/// node happens to have committed.
#[test]
fn blockhash_is_the_chains_not_the_nodes() {
    let dir = tempfile::tempdir().unwrap();
    let proposer_db = StateDb::open(&dir.path().join("p.redb")).unwrap();
    let attester_db = StateDb::open(&dir.path().join("a.redb")).unwrap();
    let keys = dev_keys("blockhash", 1);
    let probe = Address::repeat_byte(0xb1);
    // PUSH1 1, BLOCKHASH, PUSH1 0, SSTORE, STOP
    let code = Bytes::from_static(&[0x60, 0x01, 0x40, 0x60, 0x00, 0x55, 0x00]);
    let spec = Preset::Devnet.spec();
    let genesis_on = |db: &StateDb| {
        let genesis = Genesis::funded(&[keys[0].address()], U256::from(10u128.pow(21)), U256::ZERO);
        let mut diff = genesis.diff().unwrap();
        let hash = chunkseq_state::code_hash(&code);
        diff.set_account(
            probe,
            Some(chunkseq_state::Account {
                nonce: 1,
                balance: U256::ZERO,
                code_hash: hash,
            }),
        );
        diff.add_code(hash, code.clone());
        let mut fork = db.fork();
        fork.apply(diff);
        let sealed = fork.seal();
        let header = Genesis::header(&spec, sealed.state_root());
        db.commit(&sealed, header.hash()).unwrap();
        header
    };
    let g = genesis_on(&proposer_db);
    assert_eq!(genesis_on(&attester_db), g);

    // The proposer builds blocks 1 and 2 without committing either.
    let mut b1 = BlockBuilder::new(proposer_db.fork(), ctx(1, g.hash())).unwrap();
    b1.add_tx(&transfer(&keys[0], 0, Address::repeat_byte(1), 1))
        .unwrap();
    let one = b1.seal();
    let mut b2 = BlockBuilder::new(
        proposer_db.fork_on(&one.state, one.hash()).unwrap(),
        ctx(2, one.hash()),
    )
    .unwrap();
    assert!(
        b2.add_tx(&tx(&keys[0], 1, probe, U256::ZERO, Bytes::new(), 50_000))
            .unwrap()
            .success
    );
    let two = b2.seal();
    let stored = proposer_db
        .fork_on(&two.state, two.hash())
        .unwrap()
        .storage(&probe, U256::ZERO)
        .unwrap();
    assert_eq!(
        stored,
        U256::from_be_bytes(one.hash().0),
        "BLOCKHASH(1) is block 1's hash"
    );

    // The attester re-executes block 1, commits it, then re-executes block 2.
    let r1 = reexecute(
        attester_db.fork(),
        ctx(1, g.hash()),
        &one.header,
        &one.transactions,
        &NoneKnown,
    )
    .unwrap();
    attester_db.commit(&r1.state, r1.hash()).unwrap();
    let r2 = reexecute(
        attester_db.fork(),
        ctx(2, one.hash()),
        &two.header,
        &two.transactions,
        &NoneKnown,
    )
    .unwrap();
    assert_eq!(r2.header, two.header);
}

#[test]
fn a_context_that_does_not_continue_the_fork_is_refused() {
    let c = chain(1);
    let mut b = BlockBuilder::new(c.db.fork(), ctx(1, c.genesis.hash())).unwrap();
    b.add_tx(&transfer(&c.keys[0], 0, Address::ZERO, 1))
        .unwrap();
    let built = b.seal();
    let wrong_number = ctx(9, c.genesis.hash());
    assert!(matches!(
        reexecute(
            c.db.fork(),
            wrong_number,
            &built.header,
            &built.transactions,
            &NoneKnown
        ),
        Err(ReexecError::Context(
            chunkseq_execution::ContextError::WrongNumber { .. }
        ))
    ));
    let wrong_parent = ctx(1, B256::repeat_byte(7));
    assert!(matches!(
        BlockBuilder::new(c.db.fork(), wrong_parent),
        Err(chunkseq_execution::ContextError::WrongParent { .. })
    ));
}
