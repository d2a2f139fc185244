//! The fee rules as execution applies them: the EIP-1559 base fee (burned,
//! recorded in the state for the next block), the tip and the data fee (to
//! the coinbase), and refusals that leave the block untouched.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::sync::Arc;

use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use chunkseq_execution::{
    AddTxError, BlockBuilder, BlockContext, Genesis, NoneKnown, RecoveredTx, ReexecError, dev_keys,
    pool::{recover, sign_transaction},
    reexecute,
};
use chunkseq_primitives::{BlockIndex, BlockNumber, FeeSpec, Preset, PrivateKey, Slot, UnixMillis};
use chunkseq_state::StateDb;

const CHAIN_ID: u64 = 8_001;
const TIP: u128 = 1_000_000_000;
const COINBASE: Address = Address::repeat_byte(0xcb);

fn db_with(balances: &[(Address, U256)]) -> (Arc<StateDb>, B256) {
    let db = Arc::new(StateDb::in_memory().unwrap());
    let genesis = Genesis {
        accounts: balances.to_vec(),
        token_holders: Vec::new(),
    };
    let (header, _) = genesis.commit(&db, &Preset::Devnet.spec()).unwrap();
    (db, header.hash())
}

fn ctx(number: u64, parent: B256, gas_limit: u64) -> BlockContext {
    BlockContext {
        number: BlockNumber(number),
        slot: Slot(1),
        index: BlockIndex(number as u32 - 1),
        parent_hash: parent,
        timestamp: UnixMillis(1_767_225_600_000 + number * 1_000),
        coinbase: COINBASE,
        gas_limit,
        max_txs: 1_000,
        chain_id: CHAIN_ID,
        fees: FeeSpec::default(),
        data_price: 300_000_000,
    }
}

fn transfer(key: &PrivateKey, nonce: u64, max_fee: u128) -> RecoveredTx {
    let envelope = sign_transaction(
        key,
        TxEip1559 {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: max_fee,
            max_priority_fee_per_gas: TIP.min(max_fee),
            to: TxKind::Call(Address::repeat_byte(0x99)),
            value: U256::from(1),
            access_list: Default::default(),
            input: Bytes::new(),
        },
    );
    let mut raw = Vec::new();
    alloy_eips::eip2718::Encodable2718::encode_2718(&envelope, &mut raw);
    recover(&raw, CHAIN_ID).unwrap()
}

fn balance(db: &StateDb, state: &chunkseq_execution::BuiltBlock, who: Address) -> U256 {
    db.fork_on(&state.state, state.hash())
        .unwrap()
        .account(&who)
        .unwrap()
        .map_or(U256::ZERO, |a| a.balance)
}

#[test]
fn the_sender_pays_gas_and_data_the_base_fee_burns_the_rest_reaches_the_coinbase() {
    let key = &dev_keys("fees", 1)[0];
    let start = U256::from(10u128.pow(21));
    let (db, genesis) = db_with(&[(key.address(), start)]);
    let context = ctx(1, genesis, 30_000_000);
    let mut b = BlockBuilder::new(db.fork(), context).unwrap();
    let base_fee = b.base_fee();
    assert_eq!(
        base_fee,
        FeeSpec::default().min_base_fee,
        "the first block pays the floor"
    );
    let t = transfer(key, 0, 2_000_000_000);
    let data_fee = context.fees.data_fee(t.encoded().len(), context.data_price);
    assert!(data_fee > 0);
    let out = b.add_tx(&t).unwrap();
    assert_eq!(out.data_fee, data_fee);
    let built = b.seal();
    assert_eq!(
        (built.header.baseFee, built.header.dataPrice),
        (base_fee, context.data_price),
        "the header carries the prices it was built at"
    );
    let gas = 21_000u128;
    let paid = gas * (u128::from(base_fee) + TIP) + data_fee + 1;
    assert_eq!(
        balance(&db, &built, key.address()),
        start - U256::from(paid)
    );
    assert_eq!(
        balance(&db, &built, COINBASE),
        U256::from(gas * TIP + data_fee),
        "the proposer earns the tip and the data fee; the base fee is burned"
    );
}

#[test]
fn the_base_fee_follows_gas_used_from_block_to_block() {
    let keys = dev_keys("fees", 4);
    let funded: Vec<_> = keys
        .iter()
        .map(|k| (k.address(), U256::from(10u128.pow(21))))
        .collect();
    let (db, genesis) = db_with(&funded);
    let fees = FeeSpec::default();
    // A limit of four transfers: four is twice the target.
    let limit = 84_000;
    let mut b = BlockBuilder::new(db.fork(), ctx(1, genesis, limit)).unwrap();
    for k in &keys {
        b.add_tx(&transfer(k, 0, 2_000_000_000)).unwrap();
    }
    let one = b.seal();
    let up = fees.next_base_fee(fees.min_base_fee, 84_000, limit);
    assert_eq!(
        up,
        fees.min_base_fee / 8 * 9,
        "a full block raises it by 1/8"
    );
    let fork = db.fork_on(&one.state, one.hash()).unwrap();
    let b = BlockBuilder::new(fork, ctx(2, one.hash(), limit)).unwrap();
    assert_eq!(b.base_fee(), up, "the next block reads it from the state");
    // An empty block lowers it again, to the floor at most.
    let two = b.seal();
    assert_eq!(two.header.baseFee, up);
    let fork = db.fork_on(&two.state, two.hash()).unwrap();
    let b = BlockBuilder::new(fork, ctx(3, two.hash(), limit)).unwrap();
    assert_eq!(b.base_fee(), fees.min_base_fee);
}

#[test]
fn a_transaction_that_cannot_pay_is_refused_and_the_block_is_untouched() {
    let keys = dev_keys("fees", 2);
    let (poor, rich) = (&keys[0], &keys[1]);
    // Enough for gas at the fee cap and the value, one wei short of the data fee.
    let t = transfer(poor, 0, 2_000_000_000);
    let context = ctx(1, B256::ZERO, 30_000_000);
    let data_fee = context.fees.data_fee(t.encoded().len(), context.data_price);
    let gas_and_value = U256::from(21_000u128 * 2_000_000_000 + 1);
    let short = gas_and_value + U256::from(data_fee) - U256::from(1);
    let (db, genesis) = db_with(&[
        (poor.address(), short),
        (rich.address(), U256::from(10u128.pow(21))),
    ]);
    let context = ctx(1, genesis, 30_000_000);
    let mut with = BlockBuilder::new(db.fork(), context).unwrap();
    let mut without = BlockBuilder::new(db.fork(), context).unwrap();
    match with.add_tx(&t) {
        Err(AddTxError::InsufficientFunds {
            balance,
            cost,
            data_fee: fee,
        }) => {
            assert_eq!((balance, cost, fee), (short, gas_and_value, data_fee));
        }
        other => panic!("expected the data fee refusal, got {other:?}"),
    }
    // A fee cap below the base fee: the EVM refuses it, and the data fee
    // taken before execution is given back.
    match with.add_tx(&transfer(rich, 0, 1)) {
        Err(AddTxError::Invalid(reason)) => assert!(reason.contains("basefee"), "{reason}"),
        other => panic!("expected a fee cap refusal, got {other:?}"),
    }
    for b in [&mut with, &mut without] {
        b.add_tx(&transfer(rich, 0, 2_000_000_000)).unwrap();
    }
    assert_eq!(with.seal().header, without.seal().header);
}

#[test]
fn reexecution_names_a_wrong_base_fee_or_data_price() {
    let key = &dev_keys("fees", 1)[0];
    let (db, genesis) = db_with(&[(key.address(), U256::from(10u128.pow(21)))]);
    let context = ctx(1, genesis, 30_000_000);
    let mut b = BlockBuilder::new(db.fork(), context).unwrap();
    b.add_tx(&transfer(key, 0, 2_000_000_000)).unwrap();
    let built = b.seal();
    let mut cheap = built.header.clone();
    cheap.baseFee -= 1;
    let mut pricier = built.header.clone();
    pricier.dataPrice += 1;
    for (header, field) in [(cheap, "baseFee"), (pricier, "dataPrice")] {
        match reexecute(db.fork(), context, &header, &built.transactions, &NoneKnown) {
            Err(ReexecError::Mismatch(m)) => {
                assert_eq!(m.len(), 1, "{m:?}");
                assert_eq!(m[0].field, field);
            }
            other => panic!("{field}: {other:?}"),
        }
    }
}
