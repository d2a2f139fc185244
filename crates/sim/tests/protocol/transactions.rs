//! The one way transactions enter the core (`Input::Transactions`): what
//! it gossips, what it refuses, and what it tells the driver to do with
//! gossip, by origin.

use alloy_consensus::TxEip1559;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{B256, Bytes, TxKind, U256, keccak256};
use chunkseq_execution::pool::{sign_transaction, signed_transfer};
use chunkseq_primitives::{ChainSpec, Preset, Slot, Timetable, UnixMillis};
use chunkseq_protocol::{
    Core, Event, Gossip, Input, Output, StatusDetail, TxIn, TxOrigin, TxRefused, TxStatus,
};
use chunkseq_sim::ScriptedRun;

use crate::common::scripted;

fn refusals(out: &[Output]) -> Vec<(TxOrigin, TxRefused)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(Event::TransactionRefused { origin, reason, .. }) => {
                Some((*origin, reason.clone()))
            }
            _ => None,
        })
        .collect()
}

/// Asserts that `refused` is one user's transaction refused for the
/// backlog, counted at `pooled` against `limit`.
fn assert_backlog_refusal(refused: &[(TxOrigin, TxRefused)], pooled: usize, limit: usize) {
    assert!(
        matches!(
            refused,
            [(
                TxOrigin::Rpc,
                TxRefused::Backlog { pooled: p, limit: l, .. }
            )] if *p == pooled && *l == limit
        ),
        "{refused:?}"
    );
}

#[test]
fn transactions_by_origin() {
    let spec = Preset::Devnet.spec();
    let tt = Timetable::new(&spec).unwrap();
    let mut h = scripted(spec.clone(), 4);
    let now = tt.slot_start(Slot(1)).unwrap();
    let user = h.users()[0].clone();
    let to = h.users()[1].address();
    let raw = |nonce| signed_transfer(&user, spec.chain_id, nonce, to, U256::from(1u64));
    let tip = h.l1().tip().unwrap();
    let core = h.core_mut(0).unwrap();
    let send = |core: &mut chunkseq_protocol::Core, txs: Vec<Bytes>, origin| {
        core.handle(
            now,
            Input::Transactions {
                txs: txs.into_iter().map(TxIn::Raw).collect(),
                origin,
            },
        )
    };

    // A core that has not caught up with L1 takes nothing and gossips nothing.
    let out = send(core, vec![raw(0)], TxOrigin::Rpc);
    assert_eq!(
        refusals(&out),
        vec![(TxOrigin::Rpc, TxRefused::CatchingUp)],
        "{out:?}"
    );
    assert!(!out.iter().any(|o| matches!(o, Output::Publish(_))));
    let out = send(core, vec![raw(0)], TxOrigin::Gossip);
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Ignored { topic: "tx", .. })),
        "not forwarded, not held against the sender: {out:?}"
    );
    assert!(core.is_catching_up());
    core.handle(now, Input::L1Tip(tip));
    assert!(
        !core.is_catching_up(),
        "L1 holds no checkpoint: level at once"
    );

    // A user's transaction the pool admits goes out on gossip, once.
    let first = raw(0);
    let out = send(core, vec![first.clone()], TxOrigin::Rpc);
    let gossiped: Vec<&Bytes> = out
        .iter()
        .filter_map(|o| match o {
            Output::Publish(Gossip::Tx(b)) => Some(b),
            _ => None,
        })
        .collect();
    assert_eq!(gossiped, vec![&first]);
    assert!(refusals(&out).is_empty());

    // The same again: refused (a duplicate), and nothing is gossiped.
    let out = send(core, vec![first.clone()], TxOrigin::Rpc);
    assert!(!out.iter().any(|o| matches!(o, Output::Publish(_))));
    assert!(matches!(
        refusals(&out)[..],
        [(TxOrigin::Rpc, TxRefused::Pool(_))]
    ));
    assert!(
        !out.iter()
            .any(|o| matches!(o, Output::Rejected { .. } | Output::Ignored { .. })),
        "a user's transaction is no gossip message"
    );

    // By gossip, a duplicate is not forwarded but not held against the peer...
    let out = send(core, vec![first], TxOrigin::Gossip);
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Ignored { topic: "tx", .. }))
    );
    assert!(!out.iter().any(|o| matches!(o, Output::Rejected { .. })));
    // ...while bytes that are no transaction are rejected (the peer is
    // scored down), and so are the ones of another chain.
    let other_chain = signed_transfer(&user, spec.chain_id + 1, 1, to, U256::from(1u64));
    for garbage in [Bytes::from_static(b"\x02not a transaction"), other_chain] {
        let out = send(core, vec![garbage.clone()], TxOrigin::Gossip);
        assert!(
            out.iter()
                .any(|o| matches!(o, Output::Rejected { topic: "tx", .. })),
            "{garbage}"
        );
        let refused = refusals(&out);
        assert_eq!(refused.len(), 1);
        // The hash of bytes that decode to nothing is still known.
        assert!(out.iter().any(|o| matches!(
            o,
            Output::Event(Event::TransactionRefused { hash: Some(h), .. }) if *h == keccak256(&garbage)
        )));
    }
    // A gossiped transaction the pool admits is not gossiped again by the
    // core: gossipsub forwards it.
    let out = send(core, vec![raw(1)], TxOrigin::Gossip);
    assert!(!out.iter().any(|o| matches!(o, Output::Publish(_))));
    assert!(refusals(&out).is_empty());
}

/// A 4-validator devnet run under `spec` whose node 0 is level with L1 (which
/// holds no checkpoint) at slot 1's start, and that time.
fn level_run(spec: &ChainSpec) -> (ScriptedRun, UnixMillis) {
    let now = Timetable::new(spec).unwrap().slot_start(Slot(1)).unwrap();
    let mut h = scripted(spec.clone(), 4);
    let tip = h.l1().tip().unwrap();
    h.core_mut(0).unwrap().handle(now, Input::L1Tip(tip));
    (h, now)
}

/// Hands `core` one raw transaction from `origin` at `at`.
fn send_one(core: &mut Core, at: UnixMillis, raw: Bytes, origin: TxOrigin) -> Vec<Output> {
    core.handle(
        at,
        Input::Transactions {
            txs: vec![TxIn::Raw(raw)],
            origin,
        },
    )
}

/// The statuses a transaction gets when the pool lets it go without a block.
fn status_changes(out: &[Output]) -> Vec<(B256, TxStatus, Option<StatusDetail>)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(Event::TxStatusChanged {
                hash,
                status,
                detail,
            }) => Some((*hash, *status, *detail)),
            _ => None,
        })
        .collect()
}

#[test]
fn replaced_and_expired_transactions_end_with_those_statuses() {
    let spec = Preset::Devnet.spec();
    let (mut h, now) = level_run(&spec);
    let user = h.users()[0].clone();
    let to = h.users()[1].address();
    // Fees in units of 0.01 gwei, the devnet's lowest base fee.
    let signed = |nonce: u64, fee: u128| -> Bytes {
        let tx = TxEip1559 {
            chain_id: spec.chain_id,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: fee * 10_000_000,
            max_priority_fee_per_gas: fee * 10_000_000,
            to: TxKind::Call(to),
            value: U256::from(1u64),
            ..Default::default()
        };
        sign_transaction(&user, tx).encoded_2718().into()
    };
    let core = h.core_mut(0).unwrap();
    let send = |core: &mut Core, raw: Bytes, at| send_one(core, at, raw, TxOrigin::Rpc);

    // Replaced: the first names the transaction that took its place.
    let (first, second) = (signed(0, 100), signed(0, 110));
    let (a, b) = (keccak256(&first), keccak256(&second));
    send(core, first, now);
    let out = send(core, second, now);
    assert!(
        status_changes(&out).contains(&(
            a,
            TxStatus::Replaced,
            Some(StatusDetail::ReplacedBy { hash: b })
        )),
        "{out:?}"
    );
    assert_eq!(core.tx_status(&a), Some(TxStatus::Replaced));
    assert_eq!(
        core.tx_status_detail(&a),
        Some(StatusDetail::ReplacedBy { hash: b })
    );
    assert_eq!(core.tx_status(&b), Some(TxStatus::Pending));

    // Expired: behind a nonce gap for longer than the pool keeps such.
    let gapped = signed(5, 100);
    let c = keccak256(&gapped);
    send(core, gapped, now);
    let lifetime = chunkseq_execution::pool::DEFAULT_QUEUED_LIFETIME_MS;
    let early = core.handle(now.checked_add_ms(lifetime / 2).unwrap(), Input::Tick);
    assert!(status_changes(&early).iter().all(|(h, ..)| *h != c));
    assert_eq!(core.tx_status(&c), Some(TxStatus::Pending));
    let later = now.checked_add_ms(lifetime + 1_000).unwrap();
    let out = core.handle(later, Input::Tick);
    assert!(
        status_changes(&out).contains(&(c, TxStatus::Dropped, Some(StatusDetail::Expired))),
        "{out:?}"
    );
    assert_eq!(core.tx_status_detail(&c), Some(StatusDetail::Expired));
    assert!(!core.pool().contains(&c));
    // The pending replacement stays.
    assert!(core.pool().contains(&b));
}

#[test]
fn a_node_behind_refuses_users_transactions_as_retryable_and_still_takes_peers() {
    let mut spec = Preset::Devnet.spec();
    // A chunk's work: at most 2 transactions; the limit is 4 chunks.
    spec.block_max_txs = 2;
    let (mut h, now) = level_run(&spec);
    let users = h.users().to_vec();
    let to = users[1].address();
    let send = |core: &mut Core, raw: Bytes, origin| send_one(core, now, raw, origin);
    let transfer = |user: usize, nonce: u64| {
        signed_transfer(&users[user], spec.chain_id, nonce, to, U256::from(1u64))
    };
    // Transactions behind a nonce gap wait for no block: they do not count
    // against the executable backlog (or anyone could lock users out with
    // them), but they are taken only while everything pooled is under the
    // limit, so that filling gaps later cannot lift the executable backlog
    // far past it.
    {
        // On a node of its own, with nothing executable pooled.
        let (mut h, now) = level_run(&spec);
        let core = h.core_mut(0).unwrap();
        for nonce in 100..108 {
            assert!(refusals(&send_one(core, now, transfer(2, nonce), TxOrigin::Rpc)).is_empty());
        }
        let refused = refusals(&send_one(core, now, transfer(2, 108), TxOrigin::Rpc));
        assert_backlog_refusal(&refused, 8, 8);
    }
    let core = h.core_mut(0).unwrap();
    // One waits behind a gap that its sender fills later.
    assert!(refusals(&send(core, transfer(3, 1), TxOrigin::Rpc)).is_empty());
    // Half the limit of executable work.
    for nonce in 0..4 {
        assert!(refusals(&send(core, transfer(0, nonce), TxOrigin::Rpc)).is_empty());
    }
    // From here on, one behind a gap is refused although the pool (5) is
    // under the limit: near the limit, what would fill its gap may be
    // refused on every retry, and it would wait acknowledged for as long.
    let refused = refusals(&send(core, transfer(4, 1), TxOrigin::Rpc));
    assert_backlog_refusal(&refused, 4, 4);
    // 8 executable transactions are 4 chunks of work: the limit.
    for nonce in 4..8 {
        assert!(refusals(&send(core, transfer(0, nonce), TxOrigin::Rpc)).is_empty());
    }
    let raw = transfer(0, 8);
    let refused = refusals(&send(core, raw.clone(), TxOrigin::Rpc));
    assert_backlog_refusal(&refused, 8, 8);
    assert!(refused[0].1.is_retryable());
    assert!(refused[0].1.to_string().contains("send it again"));
    // A peer's transaction is still taken (the peer acknowledged it).
    assert!(refusals(&send(core, raw, TxOrigin::Gossip)).is_empty());
    // The transaction that fills the gap in front of a pooled one waits
    // like any other: what waits behind it waits only until the backlog
    // drains and its sender sends it again.
    let refused = refusals(&send(core, transfer(3, 0), TxOrigin::Rpc));
    assert!(
        matches!(refused[..], [(TxOrigin::Rpc, TxRefused::Backlog { .. })]),
        "{refused:?}"
    );
    // The refusal the RPC gives before recovering senders says the same.
    assert!(matches!(
        core.backlog(),
        Some(TxRefused::Backlog {
            pooled: 9,
            limit: 8,
            ..
        })
    ));
    assert_eq!(core.pool().len(), 1 + 8 + 1);
}

#[test]
fn the_backlog_is_bounded_by_the_slots_data_budget_too() {
    let mut spec = Preset::Devnet.spec();
    // Calldata of 500 bytes a slot is 666 bytes of transactions at the
    // expected compression; 4 of 8 chunks are half of that.
    spec.data_mode = chunkseq_primitives::DataMode::Calldata;
    spec.max_calldata_bytes = 500;
    let (mut h, now) = level_run(&spec);
    let users = h.users().to_vec();
    let to = users[1].address();
    let core = h.core_mut(0).unwrap();
    let transfer =
        |nonce: u64| signed_transfer(&users[0], spec.chain_id, nonce, to, U256::from(1u64));
    let one = transfer(0).len();
    let mut taken = 0;
    let refused = loop {
        let refused = refusals(&send_one(core, now, transfer(taken), TxOrigin::Rpc));
        if !refused.is_empty() || taken > 10 {
            break refused;
        }
        taken += 1;
    };
    assert_eq!(
        taken as usize,
        333usize.div_ceil(one),
        "{one}-byte transfers up to 333 bytes"
    );
    assert!(
        matches!(
            refused[..],
            [(
                TxOrigin::Rpc,
                TxRefused::Backlog {
                    limit_bytes: 333,
                    ..
                }
            )]
        ),
        "{refused:?}"
    );
}
