//! Checkpoints published in EIP-4844 blobs, as attacks on the Rollup
//! contract's blob rules, run on the embedded L1 and on anvil: the L1
//! computes a transaction's blob hashes from the blobs it carries, and the
//! contract takes exactly the blobs the attestations vouch for (by their
//! data hash), in order, only where the chain's data mode allows blobs.
//! Then the embedded L1's own blob rules: admission, the blob fee market,
//! block capacity, sidecar retention and reorgs.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Arc;

use alloy_eips::eip4844::{Blob, DATA_GAS_PER_BLOB};
use alloy_primitives::{Address, B256, Bytes, U256};
use chunkseq_l1::{
    CheckpointData, ControlledL1, EmbeddedConfig, EmbeddedL1, L1Error, L1Event, RollupCall,
    checkpoint_call::SlotData,
};
use chunkseq_primitives::{BlockHeader, hashing::data_hash};

mod harness;
use harness::*;

on_both_l1s!(
    an_honest_blob_checkpoint_is_accepted_and_its_blobs_are_served @ blobs_only,
    an_auto_chain_takes_either_blobs_or_calldata,
    a_missing_blob_is_refused @ blobs_only,
    a_different_blob_is_refused @ blobs_only,
    an_extra_blob_is_refused @ blobs_only,
    blob_mode_needs_blobs @ blobs_only,
    more_blobs_than_the_chain_allows_are_refused @ two_blobs_at_most,
    calldata_is_refused_on_a_blobs_only_chain @ blobs_only,
    blobs_are_refused_on_a_calldata_only_chain @ calldata_only,
    a_calldata_checkpoint_carries_no_blob,
    attestations_bind_the_checkpoint_to_its_blobs @ blobs_only,
    one_block_attested_with_two_data_hashes_is_slashed,
);

/// The blob hashes and blobs of a checkpoint call.
fn blob_parts(call: &RollupCall) -> (Vec<B256>, Arc<Vec<Blob>>) {
    match call {
        RollupCall::ProposeCheckpoint {
            blob_hashes, blobs, ..
        } => (blob_hashes.clone(), Arc::clone(blobs)),
        other => panic!("not a checkpoint: {other:?}"),
    }
}

/// `call` declaring `hashes` and carrying `blobs`.
fn with_blobs(call: &RollupCall, hashes: Vec<B256>, blobs: Vec<Blob>) -> RollupCall {
    let mut c = call.clone();
    if let RollupCall::ProposeCheckpoint {
        blob_hashes,
        blobs: b,
        ..
    } = &mut c
    {
        *blob_hashes = hashes;
        *b = Arc::new(blobs);
    }
    c
}

/// A blob no honest checkpoint of the tests carries, and its hash. (Blobs
/// stay on the heap: 128 KiB each, too big for an unoptimised stack.)
fn stranger_blob() -> (B256, Vec<Blob>) {
    let d = SlotData::encode(&block_txs(1, 1, 1, 64, 0xee)).unwrap();
    (d.blob_hashes[0], d.blobs.to_vec())
}

/// Transactions of a slot of `count` blocks whose blobs fill `blobs`
/// blobs: incompressible, about 120 KB per blob.
fn txs_filling(slot: u64, blobs: u32) -> Vec<Vec<Bytes>> {
    let txs = block_txs(slot, blobs, 1, 120_000, 1);
    assert_eq!(
        SlotData::encode(&txs).unwrap().blobs.len(),
        blobs as usize,
        "the test data fills {blobs} blobs"
    );
    txs
}

fn accepted(events: &[L1Event]) -> &L1Event {
    events
        .iter()
        .find(|e| matches!(e, L1Event::CheckpointAccepted { .. }))
        .expect("CheckpointAccepted")
}

fn blob_gas(events: &[L1Event]) -> u64 {
    events
        .iter()
        .find_map(|e| match e {
            L1Event::Included { blob_gas_used, .. } => Some(*blob_gas_used),
            _ => None,
        })
        .expect("included")
}

/// The honest path: a checkpoint in blobs lands; its event, resolved,
/// carries the bodies the blobs decode to (each matching its header's body
/// hash); L1 serves the blobs by versioned hash; the next slot chains on it.
async fn an_honest_blob_checkpoint_is_accepted_and_its_blobs_are_served<L: ControlledL1>(
    mut h: Harness<L>,
) {
    h.enter_slot(1).await;
    let call = h.checkpoint(1, 2, (GENESIS_HASH, 0), B256::ZERO).await;
    let (hashes, blobs) = blob_parts(&call);
    assert!(!blobs.is_empty());
    let RollupCall::ProposeCheckpoint {
        headers, bodies, ..
    } = &call
    else {
        unreachable!()
    };
    assert!(bodies.is_empty(), "blob mode carries no bodies in calldata");
    let (outcome, events) = h.run(h.reporter, call.clone()).await;
    assert_eq!(outcome, Ok(()));
    assert_eq!(
        blob_gas(&events),
        DATA_GAS_PER_BLOB * blobs.len() as u64,
        "the inclusion reports the blob gas"
    );
    let event = accepted(&events).clone();
    let L1Event::CheckpointAccepted {
        slot,
        headers: got_headers,
        bodies: got_bodies,
        data,
        header_hash,
        l1_block,
        ..
    } = &event
    else {
        unreachable!()
    };
    assert_eq!((*slot, got_headers), (1, headers));
    assert_eq!(
        data,
        &CheckpointData::Blobs {
            versioned_hashes: hashes.clone(),
            unavailable: None
        }
    );
    let expected = SlotData::encode(&h.txs(1, 2)).unwrap().bodies;
    assert_eq!(got_bodies, &expected, "the bodies the blobs decode to");
    for (header, body) in headers.iter().zip(got_bodies) {
        assert_eq!(
            header.bodyHash,
            alloy_primitives::keccak256(body),
            "each body is the one its header commits to"
        );
    }
    assert_eq!(
        h.l1.blobs(*l1_block, &hashes).await.unwrap(),
        *blobs,
        "L1 serves them, by the block that carries them"
    );
    let unknown = B256::repeat_byte(0x01);
    for (block, asked) in [
        (*l1_block, vec![hashes[0], unknown]),
        (*l1_block - 1, hashes.clone()),
    ] {
        assert!(
            matches!(
                h.l1.blobs(block, &asked).await,
                Err(L1Error::BlobUnavailable { .. })
            ),
            "block {block}, {asked:?}"
        );
    }
    // A node catching up from L1 gets the same, resolved event.
    assert_eq!(
        h.l1.checkpoints_after(0, 0, 10).await.unwrap(),
        vec![event.clone()]
    );
    let tip = h.l1.tip().await.unwrap();
    assert_eq!(tip.header_hash, *header_hash);

    // The next slot chains on it, in blobs too.
    h.enter_slot(2).await;
    let last = headers[1].hash();
    let next = h.checkpoint(2, 1, (last, 2), *header_hash).await;
    assert_eq!(h.run(h.reporter, next).await.0, Ok(()));
    assert_eq!(h.l1.tip().await.unwrap().slot, 2);
}

/// An auto chain's attestations sign the blobs' versioned hashes; its
/// proposer publishes either the blobs or the bodies.
async fn an_auto_chain_takes_either_blobs_or_calldata<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    let txs = h.txs(1, 2);
    let call = h
        .checkpoint_as(1, &txs, (GENESIS_HASH, 0), B256::ZERO, Publish::Blobs)
        .await;
    let (outcome, events) = h.run(h.reporter, call.clone()).await;
    assert_eq!(outcome, Ok(()));
    let L1Event::CheckpointAccepted {
        headers,
        header_hash,
        bodies,
        data,
        ..
    } = accepted(&events).clone()
    else {
        unreachable!()
    };
    assert!(matches!(
        data,
        CheckpointData::Blobs {
            unavailable: None,
            ..
        }
    ));
    assert_eq!(bodies, SlotData::encode(&txs).unwrap().bodies);
    h.enter_slot(2).await;
    let txs = h.txs(2, 1);
    let call = h
        .checkpoint_as(
            2,
            &txs,
            (headers[1].hash(), 2),
            header_hash,
            Publish::Calldata,
        )
        .await;
    let (hashes, blobs) = blob_parts(&call);
    assert!(
        !hashes.is_empty() && blobs.is_empty(),
        "attested, not carried"
    );
    let (outcome, events) = h.run(h.reporter, call).await;
    assert_eq!(outcome, Ok(()));
    assert_eq!(blob_gas(&events), 0);
    assert!(matches!(
        accepted(&events),
        L1Event::CheckpointAccepted { data: CheckpointData::Calldata, bodies, .. }
            if *bodies == SlotData::encode(&txs).unwrap().bodies
    ));
}

/// Two blobs attested, one attached (or none): the second is missing.
async fn a_missing_blob_is_refused<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    let txs = txs_filling(1, 2);
    let honest = h
        .checkpoint_as(1, &txs, (GENESIS_HASH, 0), B256::ZERO, Publish::Blobs)
        .await;
    let (hashes, blobs) = blob_parts(&honest);
    h.expect_in_one_block(vec![
        (
            with_blobs(&honest, hashes.clone(), blobs[..1].to_vec()),
            Err("MissingBlob"),
        ),
        // Declared, and none attached: a plain transaction.
        (with_blobs(&honest, hashes, vec![]), Err("MissingBlob")),
        (honest, Ok(())),
    ])
    .await;
}

/// A blob other than the attested one, or the attested ones out of order.
async fn a_different_blob_is_refused<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    let txs = txs_filling(1, 2);
    let honest = h
        .checkpoint_as(1, &txs, (GENESIS_HASH, 0), B256::ZERO, Publish::Blobs)
        .await;
    let (hashes, blobs) = blob_parts(&honest);
    let (_, stranger) = stranger_blob();
    h.expect_in_one_block(vec![
        (
            with_blobs(&honest, hashes.clone(), [&blobs[..1], &stranger].concat()),
            Err("WrongBlob"),
        ),
        (
            with_blobs(&honest, hashes, [&blobs[1..], &blobs[..1]].concat()),
            Err("WrongBlob"),
        ),
        (honest, Ok(())),
    ])
    .await;
}

/// The attested blobs and one more.
async fn an_extra_blob_is_refused<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    let honest = h.checkpoint(1, 2, (GENESIS_HASH, 0), B256::ZERO).await;
    let (hashes, blobs) = blob_parts(&honest);
    let (_, stranger) = stranger_blob();
    h.expect_in_one_block(vec![
        (
            with_blobs(&honest, hashes, [&blobs[..], &stranger].concat()),
            Err("ExtraBlob"),
        ),
        (honest, Ok(())),
    ])
    .await;
}

/// A blobs-only checkpoint without blobs publishes no data at all.
async fn blob_mode_needs_blobs<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    let honest = h.checkpoint(1, 2, (GENESIS_HASH, 0), B256::ZERO).await;
    let (_, blobs) = blob_parts(&honest);
    h.expect_in_one_block(vec![
        (with_blobs(&honest, vec![], vec![]), Err("NoBlobs")),
        // Attached but not declared: still no declared data.
        (with_blobs(&honest, vec![], blobs.to_vec()), Err("NoBlobs")),
        (honest, Ok(())),
    ])
    .await;
}

/// A chain allowing two blobs per checkpoint refuses an honestly attested
/// three-blob checkpoint, and takes a two-blob one.
async fn more_blobs_than_the_chain_allows_are_refused<L: ControlledL1>(mut h: Harness<L>) {
    assert_eq!(h.spec.max_blobs_per_checkpoint, 2);
    h.enter_slot(1).await;
    let three = h
        .checkpoint_as(
            1,
            &txs_filling(1, 3),
            (GENESIS_HASH, 0),
            B256::ZERO,
            Publish::Blobs,
        )
        .await;
    let two = h
        .checkpoint_as(
            1,
            &txs_filling(1, 2),
            (GENESIS_HASH, 0),
            B256::ZERO,
            Publish::Blobs,
        )
        .await;
    h.expect_in_one_block(vec![(three, Err("TooManyBlobs")), (two, Ok(()))])
        .await;
    let accepted = h.l1.checkpoints_after(0, 0, 1).await.unwrap();
    assert!(matches!(
        &accepted[0],
        L1Event::CheckpointAccepted {
            data: CheckpointData::Blobs { versioned_hashes, unavailable: None },
            ..
        } if versioned_hashes.len() == 2
    ));
}

async fn calldata_is_refused_on_a_blobs_only_chain<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    let txs = h.txs(1, 2);
    let calldata = h
        .checkpoint_as(1, &txs, (GENESIS_HASH, 0), B256::ZERO, Publish::Calldata)
        .await;
    let blobs = h
        .checkpoint_as(1, &txs, (GENESIS_HASH, 0), B256::ZERO, Publish::Blobs)
        .await;
    h.expect_in_one_block(vec![(calldata, Err("DataModeNotAllowed")), (blobs, Ok(()))])
        .await;
}

/// A calldata-only chain takes no blobs: not as the data, nor alongside it.
async fn blobs_are_refused_on_a_calldata_only_chain<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    let txs = h.txs(1, 2);
    let blobs = h
        .checkpoint_as(1, &txs, (GENESIS_HASH, 0), B256::ZERO, Publish::Blobs)
        .await;
    let honest = h.checkpoint(1, 2, (GENESIS_HASH, 0), B256::ZERO).await;
    let (hashes, _) = blob_parts(&honest);
    assert!(
        hashes.is_empty(),
        "nothing to attest on a calldata-only chain"
    );
    let (declared, attached) = blob_parts(&blobs);
    h.expect_in_one_block(vec![
        (blobs.clone(), Err("DataModeNotAllowed")),
        (
            with_blobs(&honest, vec![], attached.to_vec()),
            Err("ExtraBlob"),
        ),
        // Declaring blob hashes there is refused too.
        (with_blobs(&honest, declared, vec![]), Err("TooManyBlobs")),
        (honest, Ok(())),
    ])
    .await;
    let accepted = h.l1.checkpoints_after(0, 0, 1).await.unwrap();
    assert!(matches!(
        &accepted[0],
        L1Event::CheckpointAccepted {
            data: CheckpointData::Calldata,
            bodies,
            ..
        } if *bodies == SlotData::encode(&txs).unwrap().bodies
    ));
}

/// A checkpoint in calldata carries no blob: one riding along would be paid
/// for and ignored.
async fn a_calldata_checkpoint_carries_no_blob<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    let honest = h.checkpoint(1, 2, (GENESIS_HASH, 0), B256::ZERO).await;
    let (hashes, _) = blob_parts(&honest);
    let data = SlotData::encode(&h.txs(1, 2)).unwrap();
    assert_eq!(hashes, data.blob_hashes, "an auto chain attests the blobs");
    let (_, stranger) = stranger_blob();
    h.expect_in_one_block(vec![
        (
            with_blobs(&honest, hashes.clone(), data.blobs.to_vec()),
            Err("ExtraBlob"),
        ),
        (with_blobs(&honest, hashes, stranger), Err("ExtraBlob")),
        (honest, Ok(())),
    ])
    .await;
}

/// The attestations sign the data hash: a checkpoint with other blobs than
/// the attested ones does not land, however the blobs and the declared
/// hashes are arranged.
async fn attestations_bind_the_checkpoint_to_its_blobs<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    let honest = h.checkpoint(1, 2, (GENESIS_HASH, 0), B256::ZERO).await;
    let (_, blobs) = blob_parts(&honest);
    let (stranger_hash, stranger) = stranger_blob();
    let (committee, _) = h.duties(1).await;
    let RollupCall::ProposeCheckpoint { headers, .. } = &honest else {
        unreachable!()
    };
    let threshold = 2 * committee.len() / 3 + 1;
    let with_attestations = |atts: Bytes| {
        let mut c = honest.clone();
        if let RollupCall::ProposeCheckpoint { attestations, .. } = &mut c {
            *attestations = atts;
        }
        c
    };
    // Attestations over another data hash than the blobs carried...
    let over_stranger = with_attestations(h.attest_over(
        &headers[1],
        data_hash(&[stranger_hash]),
        &committee,
        threshold,
    ));
    // ...zero, as on a calldata-only chain, is another one too.
    let over_zero =
        with_attestations(h.attest_over(&headers[1], B256::ZERO, &committee, threshold));
    h.expect_in_one_block(vec![
        // A front-runner swaps in other blobs, declared consistently: the
        // committee's signatures do not cover them.
        (
            with_blobs(&honest, vec![stranger_hash], stranger),
            Err("NotCommitteeMember"),
        ),
        (over_stranger.clone(), Err("NotCommitteeMember")),
        // The hashes those attestations sign declared, the blobs not
        // matching them.
        (
            with_blobs(&over_stranger, vec![stranger_hash], blobs.to_vec()),
            Err("WrongBlob"),
        ),
        (over_zero, Err("NotCommitteeMember")),
        (honest.clone(), Ok(())),
    ])
    .await;
}

/// An honest attester derives the data hash from the block, so one block
/// attested with two data hashes is an equivocation, slashed once.
async fn one_block_attested_with_two_data_hashes_is_slashed<L: ControlledL1>(mut h: Harness<L>) {
    h.enter_slot(1).await;
    let (committee, _) = h.duties(1).await;
    let attester = committee[1];
    let block = h.blocks(1, 1, (GENESIS_HASH, 0))[0].hash();
    let (a, b) = (B256::repeat_byte(1), B256::repeat_byte(2));
    let same = h.attestation_equivocation_of(attester, 1, (block, a), (block, a));
    h.expect_revert(
        RollupCall::SlashAttestationEquivocation(same),
        "NotAnOffence",
    )
    .await;
    let e = h.attestation_equivocation_of(attester, 1, (block, a), (block, b));
    let (outcome, events) = h
        .run(
            h.outsiders[0],
            RollupCall::SlashAttestationEquivocation(e.clone()),
        )
        .await;
    assert_eq!(outcome, Ok(()));
    assert!(events.iter().any(|ev| matches!(
        ev,
        L1Event::ValidatorSlashed { validator, offence: 3, slot: 1, .. } if *validator == attester
    )));
    assert!(h.standing(attester).await.1, "slashed");
    h.expect_revert(
        RollupCall::SlashAttestationEquivocation(e),
        "AlreadyPunished",
    )
    .await;
}

// ------------------------------------------------ the embedded L1's own rules

fn embedded(cfg: EmbeddedConfig) -> EmbeddedL1 {
    let spec = spec_with(blobs_only);
    EmbeddedL1::new(&spec, GENESIS_HASH, &[Address::repeat_byte(7)], cfg).unwrap()
}

/// A checkpoint call for slot 0 that reverts (nobody may publish before
/// genesis), carrying `n` distinct valid blobs declared honestly: what
/// matters here is the transaction, not the call.
fn blob_tx(n: usize, tag: u8) -> RollupCall {
    let mut blobs: Vec<Blob> = Vec::with_capacity(n);
    for i in 0..n {
        let d = SlotData::encode(&block_txs(i as u64, 1, 1, 64, tag)).unwrap();
        blobs.extend_from_slice(&d.blobs[..1]);
    }
    let hashes = chunkseq_da::versioned_hashes(&blobs).unwrap();
    RollupCall::ProposeCheckpoint {
        slot: 0,
        headers: vec![BlockHeader::default()],
        bodies: vec![],
        blob_hashes: hashes,
        blobs: Arc::new(blobs),
        attestations: Bytes::new(),
        committee: vec![],
        signature: Bytes::new(),
    }
}

const SENDER: Address = Address::repeat_byte(7);

/// The L1 admits 1 to 6 blobs per transaction, each with a KZG commitment.
#[test]
fn blob_transactions_are_admitted_as_an_l1_node_admits_them() {
    let mut l1 = embedded(EmbeddedConfig::default());
    let refused = |r: Result<(), L1Error>| match r {
        Err(L1Error::BlobTxRefused(why)) => why,
        other => panic!("admitted: {other:?}"),
    };
    let why = refused(l1.check(SENDER, &blob_tx(7, 0)));
    assert!(why.contains("at most 6"), "{why}");
    // 0xff.. is no field element: no commitment exists.
    let mut bad = blob_tx(1, 0);
    if let RollupCall::ProposeCheckpoint { blobs, .. } = &mut bad {
        let mut bad = blobs.to_vec();
        bad[0].0.fill(0xff);
        *blobs = Arc::new(bad);
    }
    refused(l1.check(SENDER, &bad));
    assert!(l1.try_submit(SENDER, bad.clone(), None).is_err());
    // submit (without the check) drops what it does not admit.
    let id = l1.submit(SENDER, bad);
    let events = l1.mine_block().unwrap();
    assert!(L1Event::inclusion(&events, id).is_none());
    // Six are admitted; the call runs (and reverts) with the hashes the L1
    // computed from the blobs, whatever the call declares.
    let six = blob_tx(6, 0);
    assert!(matches!(
        l1.check(SENDER, &six),
        Err(L1Error::Reverted { .. })
    ));
    let (_, blobs) = blob_parts(&six);
    let hashes = chunkseq_da::versioned_hashes(&blobs).unwrap();
    assert_eq!(l1.admit_blobs(&six).unwrap(), hashes);
    let lying = with_blobs(&six, vec![B256::repeat_byte(1); 6], blobs.to_vec());
    assert_eq!(l1.admit_blobs(&lying).unwrap(), hashes);
    // A block holding fewer blobs than a transaction may carry bounds it too.
    let mut cfg = EmbeddedConfig::default();
    cfg.blob_params.max_blob_count = 3;
    cfg.blob_params.target_blob_count = 2;
    let why = refused(embedded(cfg).check(SENDER, &blob_tx(4, 0)));
    assert!(why.contains("at most 3"), "{why}");
}

/// Blocks hold at most `max_blob_count` blobs; the excess blob gas grows by
/// what a block uses over the target and the blob base fee follows it
/// (EIP-4844's fake exponential), charged to the sender.
#[test]
fn blocks_hold_at_most_the_max_blobs_and_the_blob_fee_follows_the_excess() {
    let mut cfg = EmbeddedConfig::default();
    assert_eq!(
        (
            cfg.blob_params.target_blob_count,
            cfg.blob_params.max_blob_count,
            cfg.blob_params.update_fraction,
            cfg.blob_params.max_blobs_per_tx,
        ),
        (6, 9, 5_007_716, 6),
        "Osaka mainnet by default"
    );
    // A fast-moving market, so a few blocks show it.
    cfg.blob_params.update_fraction = 400_000;
    let params = cfg.blob_params;
    let mut l1 = embedded(cfg);
    let block_of = |events: &[L1Event]| {
        events
            .iter()
            .find_map(|e| match e {
                L1Event::Block(b) => Some(*b),
                _ => None,
            })
            .unwrap()
    };
    // Three six-blob transactions: one per block fits (12 > 9).
    let ids: Vec<u64> = (0..3).map(|i| l1.submit(SENDER, blob_tx(6, i))).collect();
    let mut excess = 0u64;
    let mut used_before = 0u64;
    for (k, id) in ids.iter().enumerate() {
        let balance = l1.balance(SENDER);
        let events = l1.mine_block().unwrap();
        excess = params.next_block_excess_blob_gas_osaka(excess, used_before, 0);
        let block = block_of(&events);
        assert_eq!(
            block.blob_base_fee,
            params.calc_blob_fee(excess),
            "block {k}"
        );
        let included: Vec<u64> = events
            .iter()
            .filter_map(|e| match e {
                L1Event::Included {
                    submission,
                    blob_gas_used,
                    ..
                } => {
                    assert_eq!(*blob_gas_used, 6 * DATA_GAS_PER_BLOB);
                    Some(*submission)
                }
                _ => None,
            })
            .collect();
        assert_eq!(included, vec![*id], "block {k} holds one of them");
        used_before = 6 * DATA_GAS_PER_BLOB;
        assert_eq!(
            balance - l1.balance(SENDER),
            U256::from(6 * DATA_GAS_PER_BLOB) * U256::from(block.blob_base_fee),
            "the sender pays the blob gas at the block's blob base fee"
        );
    }
    // Six blobs at a target of six: the excess stays where it is.
    assert_eq!(excess, 0);
    // Nine (6 + 3) per block for a few blocks: 3 over target each time.
    for i in 0..4u8 {
        l1.submit(SENDER, blob_tx(6, 10 + i));
        l1.submit(SENDER, blob_tx(3, 20 + i));
    }
    let mut fees = Vec::new();
    for _ in 0..5 {
        let events = l1.mine_block().unwrap();
        let used: u64 = events
            .iter()
            .map(|e| match e {
                L1Event::Included { blob_gas_used, .. } => *blob_gas_used,
                _ => 0,
            })
            .sum();
        excess = params.next_block_excess_blob_gas_osaka(excess, used_before, 0);
        let block = block_of(&events);
        assert_eq!(block.blob_base_fee, params.calc_blob_fee(excess));
        assert!(used <= 9 * DATA_GAS_PER_BLOB);
        fees.push(block.blob_base_fee);
        used_before = used;
    }
    assert!(
        fees.windows(2).all(|w| w[0] <= w[1]) && fees[4] > fees[0],
        "the blob base fee rises while blocks are over target: {fees:?}"
    );
    // Empty blocks bring it back down to the minimum.
    for _ in 0..50 {
        l1.mine_block().unwrap();
    }
    assert_eq!(l1.head().blob_base_fee, 1);
}

/// The blobs of an included transaction are served for the retention
/// window, then pruned (and the checkpoints they carried lose their bodies
/// in the L1's history); a reorg takes a dropped block's blobs with it
/// until its transactions are included again.
#[tokio::test(flavor = "current_thread")]
async fn sidecars_are_kept_for_the_retention_window_and_follow_reorgs() {
    use chunkseq_l1::L1;
    let cfg = EmbeddedConfig {
        blob_retention_blocks: 3,
        ..EmbeddedConfig::default()
    };
    let mut h = Harness::embedded_with_config(blobs_only, cfg);
    h.enter_slot(1).await;
    let call = h.checkpoint(1, 2, (GENESIS_HASH, 0), B256::ZERO).await;
    let (hashes, blobs) = blob_parts(&call);
    let (outcome, events) = h.run(h.reporter, call).await;
    assert_eq!(outcome, Ok(()));
    let included_at = h.l1.with(|l1| l1.head().number);
    assert!(matches!(
        accepted(&events),
        L1Event::CheckpointAccepted {
            data: CheckpointData::Blobs {
                unavailable: None,
                ..
            },
            ..
        }
    ));
    h.mine().await;
    h.mine().await;
    assert_eq!(
        h.l1.blobs(included_at, &hashes).await.unwrap(),
        *blobs,
        "served for three blocks"
    );
    let before = h.l1.checkpoints_after(0, 0, 10).await.unwrap();
    assert!(matches!(&before[0], L1Event::CheckpointAccepted { bodies, .. } if !bodies.is_empty()));
    h.mine().await;
    assert!(h.l1.with(|l1| l1.head().number) == included_at + 3);
    assert!(matches!(
        h.l1.blobs(included_at, &hashes).await,
        Err(L1Error::BlobUnavailable { .. })
    ));
    let after = h.l1.checkpoints_after(0, 0, 10).await.unwrap();
    let L1Event::CheckpointAccepted {
        bodies,
        data: CheckpointData::Blobs {
            unavailable: Some(why),
            ..
        },
        headers,
        ..
    } = &after[0]
    else {
        panic!("{after:?}")
    };
    assert!(bodies.is_empty() && why.contains("pruned"), "{why}");
    assert_eq!(headers.len(), 2, "the log itself stays");

    // Reorgs: every block first replaces the one before it.
    let cfg = EmbeddedConfig {
        reorg_probability: 1.0,
        ..EmbeddedConfig::default()
    };
    let mut l1 = embedded(cfg);
    let tx = blob_tx(2, 0);
    let (_, blobs) = blob_parts(&tx);
    let hashes = chunkseq_da::versioned_hashes(&blobs).unwrap();
    let id = l1.submit(SENDER, tx);
    let first = l1.mine_block().unwrap();
    assert!(L1Event::inclusion(&first, id).is_some());
    let n = l1.head().number;
    assert_eq!(l1.blobs(&hashes).unwrap(), *blobs);
    let second = l1.mine_block().unwrap();
    assert_eq!(second[0], L1Event::Reorg { dropped_block: n });
    // The transaction went back to pending with its blobs and was included
    // again in the replacement block.
    assert!(matches!(
        second.iter().find(|e| matches!(e, L1Event::Included { .. })),
        Some(L1Event::Included { submission, l1_block, blob_gas_used, .. })
            if *submission == id && *l1_block == n && *blob_gas_used == 2 * DATA_GAS_PER_BLOB
    ));
    assert_eq!(l1.blobs(&hashes).unwrap(), *blobs);
}
