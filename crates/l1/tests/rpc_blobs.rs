//! The RPC L1 and blobs: checkpoints published in blobs go to anvil as
//! type-3 transactions with sidecars, come back with their bodies read from
//! the beacon API, and every blob read is checked against its versioned
//! hash. The anvil cases skip when anvil is not installed (outside CI); the
//! beacon API test double (a loopback TCP server) needs nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::{sync::Arc, time::Duration};

use alloy::{
    consensus::Transaction as _,
    eips::eip4844::{BYTES_PER_BLOB, Blob},
    providers::Provider,
};
use alloy_primitives::{Address, B256, Bytes, U256};
use chunkseq_l1::{
    CheckpointData, ControlledL1, L1, L1Error, L1Event, RollupCall,
    blob_data::resolve_blobs,
    checkpoint_call::{CheckpointParts, attestations},
    rpc::{
        ANVIL_DEPLOYER_KEY, AnvilProcess, BeaconBlockId, BeaconClient, FeePolicy, RpcConfig, RpcL1,
        SidecarVersion, deploy_rollup, max_blobs_response_bytes,
    },
};
use chunkseq_primitives::{
    BlockHeader, LocalSigner, Preset, PrivateKey,
    body::{body_hash, encode_body},
    hashing::data_hash,
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
};

mod harness;
use harness::*;

// ------------------------------------------------------------ test double

/// How the test double answers a path.
#[derive(Clone)]
enum Reply {
    /// Status and body, with a Content-Length.
    Sized(u16, Vec<u8>),
    /// 200 and this body, chunked (no Content-Length).
    Chunked(Vec<u8>),
}

/// A beacon API test double on a loopback port: answers each request whose
/// path starts with a route's prefix, for at most 64 connections or a
/// minute, whichever comes first.
struct FakeBeacon {
    url: String,
    paths: Arc<parking_lot::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeBeacon {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn fake_beacon(routes: Vec<(&'static str, Reply)>) -> FakeBeacon {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let paths = Arc::new(parking_lot::Mutex::new(Vec::new()));
    let seen = Arc::clone(&paths);
    let task = tokio::spawn(async move {
        let serve = async {
            for _ in 0..64 {
                let Ok((mut conn, _)) = listener.accept().await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") && request.len() < 65_536 {
                    match conn.read(&mut buf).await {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&request);
                let path = text.split_whitespace().nth(1).unwrap_or("/").to_owned();
                seen.lock().push(path.clone());
                let reply = routes
                    .iter()
                    .find(|(prefix, _)| path.starts_with(prefix))
                    .map(|(_, r)| r.clone())
                    .unwrap_or(Reply::Sized(404, b"{\"code\":404}".to_vec()));
                let bytes = match reply {
                    Reply::Sized(status, body) => {
                        let mut out = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                            body.len()
                        )
                        .into_bytes();
                        out.extend_from_slice(&body);
                        out
                    }
                    Reply::Chunked(body) => {
                        let mut out = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_vec();
                        for piece in body.chunks(16_384) {
                            out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
                            out.extend_from_slice(piece);
                            out.extend_from_slice(b"\r\n");
                        }
                        out.extend_from_slice(b"0\r\n\r\n");
                        out
                    }
                };
                let _ = conn.write_all(&bytes).await;
                let _ = conn.shutdown().await;
            }
        };
        let _ = tokio::time::timeout(Duration::from_secs(60), serve).await;
    });
    FakeBeacon { url, paths, task }
}

/// A `/eth/v1/beacon/blobs` response carrying `blobs`.
fn blobs_json(blobs: &[Blob]) -> Vec<u8> {
    let data: Vec<String> = blobs
        .iter()
        .map(|b| format!("\"0x{}\"", alloy_primitives::hex::encode(b.as_slice())))
        .collect();
    format!(
        "{{\"execution_optimistic\":false,\"finalized\":false,\"data\":[{}]}}",
        data.join(",")
    )
    .into_bytes()
}

// ---------------------------------------------------------------- helpers

/// Each block's transactions, for a two-block slot.
fn slot_transactions(seed: u8) -> Vec<Vec<Bytes>> {
    vec![
        vec![
            Bytes::from(vec![seed; 120]),
            Bytes::from(format!("transfer {seed}").into_bytes()),
        ],
        (0..40u8)
            .map(|i| Bytes::from(vec![seed ^ i; 300 + usize::from(i)]))
            .collect(),
    ]
}

/// Each block's transactions for a two-block slot whose incompressible
/// data (about 250 KB) needs several blobs.
fn large_slot_transactions(seed: u8) -> Vec<Vec<Bytes>> {
    let mut state = alloy_primitives::keccak256([seed]);
    (0..2)
        .map(|_| {
            (0..20)
                .map(|_| {
                    let mut tx = Vec::with_capacity(6_400);
                    while tx.len() < 6_400 {
                        state = alloy_primitives::keccak256(state);
                        tx.extend_from_slice(state.as_slice());
                    }
                    Bytes::from(tx)
                })
                .collect()
        })
        .collect()
}

/// Headers of `slot` on `parent`, one per block of `txs`, each committing
/// to its body.
fn headers_for(
    h: &Harness<RpcL1>,
    slot: u64,
    parent: (B256, u64),
    txs: &[Vec<Bytes>],
) -> Vec<BlockHeader> {
    let (mut hash, mut number) = parent;
    txs.iter()
        .enumerate()
        .map(|(i, t)| {
            number += 1;
            let header = BlockHeader {
                number,
                slot,
                index: i as u32,
                parentHash: hash,
                stateRoot: B256::repeat_byte(i as u8 + 1),
                bodyHash: body_hash(t),
                timestamp: h.spec.genesis_time * 1000 + slot * h.spec.slot_duration_ms,
                gasLimit: h.spec.block_gas_limit,
                ..Default::default()
            };
            hash = header.hash();
            header
        })
        .collect()
}

/// An honest checkpoint of `slot` publishing `txs` in blobs, and who
/// proposes it.
async fn blob_checkpoint(
    h: &Harness<RpcL1>,
    slot: u64,
    parent: (B256, u64),
    txs: &[Vec<Bytes>],
) -> (RollupCall, Address) {
    let (committee, proposer) = h.duties(slot).await;
    let blobs = chunkseq_da::encode_checkpoint(txs).unwrap();
    let hashes = chunkseq_da::versioned_hashes(&blobs).unwrap();
    let headers = headers_for(h, slot, parent, txs);
    let threshold = 2 * committee.len() / 3 + 1;
    let signers: Vec<&LocalSigner> = committee
        .iter()
        .take(threshold)
        .map(|m| h.signer(*m))
        .collect();
    let attestations = attestations(
        &h.domain,
        headers.last().unwrap(),
        data_hash(&hashes),
        &signers,
    )
    .unwrap();
    let call = CheckpointParts {
        slot,
        parent_checkpoint: B256::ZERO,
        headers,
        bodies: Vec::new(),
        blob_hashes: hashes,
        blobs: Arc::new(blobs),
        attestations,
        committee,
    }
    .sign(&h.domain, h.signer(proposer))
    .unwrap();
    (call, proposer)
}

/// A fresh anvil (with `extra` arguments) with the contract deployed and the
/// validators registered, like [`Harness::anvil`], with `cfg` for the RPC
/// L1; also anvil's URL.
async fn anvil_with(mut cfg: RpcConfig, extra: &[&str]) -> Option<(Harness<RpcL1>, String)> {
    let Some(binary) = AnvilProcess::locate() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true but anvil is not installed"
        );
        eprintln!("skipped: anvil not found (set CHUNKSEQ_ANVIL or run .ci/run once)");
        return None;
    };
    let spec = Preset::Devnet.spec();
    let mut args = vec![
        "--timestamp".to_owned(),
        (spec.genesis_time - 60).to_string(),
    ];
    args.extend(extra.iter().map(|a| (*a).to_owned()));
    let anvil = AnvilProcess::spawn(&binary, &args).unwrap();
    let url = anvil.url();
    let keys = validator_keys(VALIDATORS);
    let deployer = PrivateKey::from_bytes(ANVIL_DEPLOYER_KEY).unwrap();
    let report = deploy_rollup(&url, &deployer, &spec, GENESIS_HASH, stake(), &keys)
        .await
        .unwrap();
    cfg.block_time_ms = spec.l1_block_time_ms;
    let all: Vec<PrivateKey> = keys.iter().cloned().chain(outsider_keys()).collect();
    let l1 = RpcL1::connect(&url, report.rollup, &all, cfg)
        .await
        .unwrap();
    for k in &all {
        l1.set_balance(k.address(), U256::from(OUTSIDER_FUNDS))
            .await
            .unwrap();
    }
    l1.set_automine(false).await.unwrap();
    for _ in 0..10 {
        l1.mine_block().await.unwrap();
    }
    Some((Harness::with_l1(spec, l1, keys, Some(anvil)), url))
}

fn accepted(events: &[L1Event]) -> Option<&L1Event> {
    events
        .iter()
        .find(|e| matches!(e, L1Event::CheckpointAccepted { .. }))
}

// ------------------------------------------------------------------ cases

/// A blob checkpoint sent over RPC is accepted on anvil, and its event
/// (from polling and from the catch-up search) comes back with the bodies
/// read from anvil's beacon endpoint. The same checkpoint read through a
/// beacon API that serves another blob is marked unavailable, naming the
/// blob and both hashes. Calls whose blobs cannot go are refused before
/// anything is sent.
#[tokio::test(flavor = "current_thread")]
async fn a_blob_checkpoint_round_trips_through_anvil_and_its_beacon_api() {
    let Some((mut h, url)) = anvil_with(RpcConfig::default(), &[]).await else {
        return;
    };
    assert_eq!(
        h.l1.beacon().block_id(),
        BeaconBlockId::BlockNumber,
        "anvil is recognised and named by block number"
    );
    assert_eq!(h.l1.beacon().base_url(), url, "the RPC port by default");
    assert_eq!(
        h.l1.blob_schedule().at(h.spec.genesis_time).sidecar,
        SidecarVersion::Eip7594,
        "anvil's default hardfork is Osaka or later"
    );
    h.enter_slot(1).await;
    let txs = large_slot_transactions(3);
    let (call, proposer) = blob_checkpoint(&h, 1, (GENESIS_HASH, 0), &txs).await;
    let RollupCall::ProposeCheckpoint {
        blob_hashes, blobs, ..
    } = &call
    else {
        unreachable!()
    };
    let (blob_hashes, blobs) = (blob_hashes.clone(), Arc::clone(blobs));
    assert!(blobs.len() >= 2, "several blobs, in order");
    let bodies: Vec<Bytes> = txs.iter().map(|t| encode_body(t)).collect();

    // Refused at once: seven blobs, and blobs that are not the ones named.
    let mut seven = call.clone();
    if let RollupCall::ProposeCheckpoint { blobs, .. } = &mut seven {
        *blobs = Arc::new(blobs.iter().cycle().take(7).copied().collect());
    }
    match h.l1.submit(proposer, seven, None).await {
        Err(L1Error::Blobs(why)) => assert!(why.contains("at most 6"), "{why}"),
        other => panic!("7 blobs: {other:?}"),
    }
    let other_blobs = chunkseq_da::encode_checkpoint(&large_slot_transactions(9)).unwrap();
    let other_hash = chunkseq_da::versioned_hashes(&other_blobs).unwrap()[0];
    let mut swapped = call.clone();
    if let RollupCall::ProposeCheckpoint { blobs, .. } = &mut swapped {
        *blobs = Arc::new(other_blobs.clone());
    }
    // The transaction lists the hashes of the blobs it carries, so the
    // contract's own check refuses it (in the estimate: nothing is sent).
    match h.l1.submit(proposer, swapped, None).await {
        Err(L1Error::Reverted { reason }) => assert_eq!(reason, "WrongBlob"),
        other => panic!("swapped blobs: {other:?}"),
    }

    let id = h.l1.submit(proposer, call.clone(), None).await.unwrap();
    let events = h.mine().await;
    let (_, outcome) = L1Event::inclusion(&events, id).expect("included");
    assert_eq!(outcome, Ok(()));
    let event = accepted(&events).expect("CheckpointAccepted").clone();
    let L1Event::CheckpointAccepted {
        bodies: got,
        data,
        l1_block,
        l1_tx,
        ..
    } = &event
    else {
        unreachable!()
    };
    assert_eq!(
        data,
        &CheckpointData::Blobs {
            versioned_hashes: blob_hashes.clone(),
            unavailable: None
        }
    );
    assert_eq!(got, &bodies, "bodies decoded from the beacon API's blobs");
    let tx =
        h.l1.provider()
            .get_transaction_by_hash(*l1_tx)
            .await
            .unwrap()
            .unwrap();
    assert!(
        tx.max_fee_per_blob_gas().is_some(),
        "an EIP-4844 transaction"
    );
    assert_eq!(tx.blob_versioned_hashes(), Some(&blob_hashes[..]));

    // The catch-up search finds and resolves it the same way.
    let found = h.l1.checkpoints_after(0, 0, 10).await.unwrap();
    assert_eq!(found, vec![event.clone()]);

    // Through a beacon API that serves another blob for that block, the
    // checkpoint comes back unavailable, naming the blob and both hashes.
    let fake = fake_beacon(vec![(
        "/eth/v1/beacon/blobs/",
        Reply::Sized(200, blobs_json(&other_blobs[..blobs.len()])),
    )])
    .await;
    let tampered = RpcL1::connect(
        &url,
        h.spec.rollup_address,
        &[],
        RpcConfig {
            beacon_url: Some(fake.url.clone()),
            log_range: 2,
            ..RpcConfig::default()
        },
    )
    .await
    .unwrap();
    let found = tampered.checkpoints_after(0, 0, 10).await.unwrap();
    let [
        L1Event::CheckpointAccepted {
            bodies,
            data: CheckpointData::Blobs { unavailable, .. },
            ..
        },
    ] = &found[..]
    else {
        panic!("{found:?}")
    };
    assert!(bodies.is_empty());
    let why = unavailable.as_deref().expect("refused");
    assert!(
        why.contains("blob 0 does not match its versioned hash"),
        "{why}"
    );
    assert!(why.contains(&blob_hashes[0].to_string()), "{why}");
    assert!(why.contains(&other_hash.to_string()), "{why}");
    let paths = fake.paths.lock().clone();
    assert_eq!(
        paths,
        vec![format!(
            "/eth/v1/beacon/blobs/{l1_block}?versioned_hashes={}",
            blob_hashes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(",")
        )],
        "the block by number, the blobs by versioned hash"
    );
}

/// A blob transaction priced out of the next block is resent with every
/// fee cap doubled (the blob pool's replacement rule) and its sidecar
/// again, and lands within the slot.
#[tokio::test(flavor = "current_thread")]
async fn a_priced_out_blob_transaction_is_resent_with_doubled_fees() {
    let cfg = RpcConfig {
        fees: FeePolicy {
            bump_after_blocks: 1,
            ..FeePolicy::default()
        },
        ..RpcConfig::default()
    };
    let Some((mut h, _url)) = anvil_with(cfg, &[]).await else {
        return;
    };
    h.enter_slot(1).await;
    let txs = slot_transactions(5);
    let (call, proposer) = blob_checkpoint(&h, 1, (GENESIS_HASH, 0), &txs).await;
    let id = h.l1.submit(proposer, call, None).await.unwrap();
    // What the first send offered: the node's estimate at this head, and
    // twice the blob base fee (anvil keeps it at 1 wei).
    let first = h.l1.provider().estimate_eip1559_fees().await.unwrap();
    let first_blob_fee = 2u128;
    // The next block's base fee is above the first offer, and the one
    // after it (an empty block lowers it by 1/8) below the doubled one.
    let base = first.max_fee_per_gas * 3 / 2;
    let _: serde_json::Value =
        h.l1.provider()
            .raw_request(
                "anvil_setNextBlockBaseFeePerGas".into(),
                (U256::from(base),),
            )
            .await
            .unwrap();
    let events = h.mine().await;
    assert!(
        L1Event::inclusion(&events, id).is_none(),
        "priced out: {events:?}"
    );
    // That poll resent it; the next block includes the replacement.
    let events = h.mine().await;
    let (_, outcome) = L1Event::inclusion(&events, id).expect("the resend landed");
    assert_eq!(outcome, Ok(()));
    let Some(L1Event::CheckpointAccepted { l1_tx, data, .. }) = accepted(&events) else {
        panic!("{events:?}")
    };
    assert!(matches!(
        data,
        CheckpointData::Blobs {
            unavailable: None,
            ..
        }
    ));
    let tx =
        h.l1.provider()
            .get_transaction_by_hash(*l1_tx)
            .await
            .unwrap()
            .unwrap();
    assert_eq!(tx.max_fee_per_blob_gas(), Some(2 * first_blob_fee));
    assert!(tx.max_fee_per_gas() >= 2 * first.max_fee_per_gas);
    assert!(
        tx.max_priority_fee_per_gas().unwrap_or_default() >= 2 * first.max_priority_fee_per_gas
    );
}

/// On a pre-Osaka fork (anvil `--hardfork prague`, whose `eth_config` has no
/// P256VERIFY precompile) blob transactions carry EIP-4844 sidecars, and a
/// blob checkpoint lands and reads back the same way.
#[tokio::test(flavor = "current_thread")]
async fn on_prague_a_blob_checkpoint_goes_with_an_eip4844_sidecar() {
    let Some((mut h, _url)) = anvil_with(RpcConfig::default(), &["--hardfork", "prague"]).await
    else {
        return;
    };
    assert_eq!(
        h.l1.blob_schedule().at(h.spec.genesis_time).sidecar,
        SidecarVersion::Eip4844
    );
    h.enter_slot(1).await;
    let txs = slot_transactions(6);
    let (call, proposer) = blob_checkpoint(&h, 1, (GENESIS_HASH, 0), &txs).await;
    let id = h.l1.submit(proposer, call, None).await.unwrap();
    let events = h.mine().await;
    assert_eq!(L1Event::inclusion(&events, id).map(|i| i.1), Some(Ok(())));
    let Some(L1Event::CheckpointAccepted { bodies, data, .. }) = accepted(&events) else {
        panic!("{events:?}")
    };
    assert!(matches!(
        data,
        CheckpointData::Blobs {
            unavailable: None,
            ..
        }
    ));
    assert_eq!(
        bodies,
        &txs.iter().map(|t| encode_body(t)).collect::<Vec<_>>()
    );
}

/// A blob submission past its deadline is cancelled by a blob transaction
/// to self (a blob pool lets only a blob transaction replace one) carrying
/// its first blob, at doubled fees: the nonce is used, the checkpoint never
/// lands.
#[tokio::test(flavor = "current_thread")]
async fn an_expired_blob_submission_is_cancelled_by_a_blob_transaction() {
    let Some((mut h, _url)) = anvil_with(RpcConfig::default(), &[]).await else {
        return;
    };
    h.enter_slot(1).await;
    let txs = large_slot_transactions(7);
    let (call, proposer) = blob_checkpoint(&h, 1, (GENESIS_HASH, 0), &txs).await;
    let RollupCall::ProposeCheckpoint { blob_hashes, .. } = &call else {
        unreachable!()
    };
    assert!(blob_hashes.len() >= 2);
    let first_hash = blob_hashes[0];
    let provider = h.l1.provider().clone();
    let nonce = provider.get_transaction_count(proposer).await.unwrap();
    let now = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .await
        .unwrap()
        .unwrap()
        .header
        .timestamp
        * 1000;
    let deadline = chunkseq_primitives::UnixMillis(now + 1);
    let id = h.l1.submit(proposer, call, Some(deadline)).await.unwrap();
    let first = provider.estimate_eip1559_fees().await.unwrap();
    let _: serde_json::Value = provider
        .raw_request(
            "anvil_setNextBlockBaseFeePerGas".into(),
            (U256::from(first.max_fee_per_gas * 3 / 2),),
        )
        .await
        .unwrap();
    let events = h.mine().await;
    assert!(L1Event::inclusion(&events, id).is_none(), "priced out");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, L1Event::Expired { submission, .. } if *submission == id)),
        "{events:?}"
    );
    let events = h.mine().await;
    assert!(accepted(&events).is_none(), "{events:?}");
    assert_eq!(
        provider.get_transaction_count(proposer).await.unwrap(),
        nonce + 1,
        "the cancel used the nonce"
    );
    let block = provider
        .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
        .full()
        .await
        .unwrap()
        .unwrap();
    let cancel = block
        .transactions
        .txns()
        .find(|t| t.inner.signer() == proposer)
        .expect("the cancel is in the block");
    assert_eq!(cancel.to(), Some(proposer), "to self");
    assert_eq!(cancel.blob_versioned_hashes(), Some(&[first_hash][..]));
    assert_eq!(
        cancel.max_fee_per_blob_gas(),
        Some(4),
        "twice the first 2 wei"
    );
    assert!(cancel.max_fee_per_gas() >= 2 * first.max_fee_per_gas);
}

/// Blobs read from a beacon API are checked against their versioned hashes
/// before use: a tampered blob leaves the checkpoint without bodies, with a
/// reason that names the blob and both hashes.
#[test]
fn a_tampered_blob_is_refused_with_both_hashes() {
    let txs = slot_transactions(1);
    let blobs = chunkseq_da::encode_checkpoint(&txs).unwrap();
    let hashes = chunkseq_da::versioned_hashes(&blobs).unwrap();
    let event = L1Event::CheckpointAccepted {
        slot: 1,
        header_hash: B256::ZERO,
        headers: vec![BlockHeader::default(); txs.len()],
        bodies: Vec::new(),
        data: CheckpointData::Blobs {
            versioned_hashes: hashes.clone(),
            unavailable: Some("blobs not fetched yet".into()),
        },
        proposer: Address::ZERO,
        rescuer: None,
        l1_block: 7,
        l1_tx: B256::ZERO,
    };
    let mut tampered = blobs.clone();
    tampered[0][100] ^= 1;
    let tampered_hash = chunkseq_da::versioned_hashes(&tampered).unwrap()[0];
    let mut e = event.clone();
    resolve_blobs(&mut e, |_| Ok(tampered));
    let L1Event::CheckpointAccepted {
        bodies,
        data: CheckpointData::Blobs { unavailable, .. },
        ..
    } = &e
    else {
        unreachable!()
    };
    assert!(bodies.is_empty());
    let why = unavailable.as_deref().unwrap();
    assert!(why.contains("blob 0"), "{why}");
    assert!(why.contains(&hashes[0].to_string()), "{why}");
    assert!(why.contains(&tampered_hash.to_string()), "{why}");

    // The genuine blobs resolve.
    let mut e = event;
    resolve_blobs(&mut e, |_| Ok(blobs));
    let L1Event::CheckpointAccepted { bodies, data, .. } = &e else {
        unreachable!()
    };
    assert_eq!(
        bodies,
        &txs.iter().map(|t| encode_body(t)).collect::<Vec<_>>()
    );
    assert!(matches!(
        data,
        CheckpointData::Blobs {
            unavailable: None,
            ..
        }
    ));
}

/// A beacon response larger than a full L1 block's blobs is refused, whether
/// its length is announced or only found while reading; a blob that comes
/// back twice (two transactions of the block carried it) resolves once; an
/// error status is reported with its body.
#[tokio::test(flavor = "current_thread")]
async fn oversized_and_failed_beacon_responses_are_refused() {
    // Blobs stay on the heap: a test's future lives on its thread's stack.
    let one = chunkseq_da::encode_checkpoint(&slot_transactions(2)).unwrap();
    let one = one[..1].to_vec();
    let hash = chunkseq_da::versioned_hashes(&one).unwrap()[0];
    // More blobs than a block holds.
    let too_many = blobs_json(&vec![one[0]; 22]);
    assert!(too_many.len() > max_blobs_response_bytes());
    let mut padded = blobs_json(&one);
    padded.extend(std::iter::repeat_n(b' ', max_blobs_response_bytes()));
    let fake = fake_beacon(vec![
        ("/eth/v1/beacon/blobs/1?", Reply::Sized(200, too_many)),
        (
            "/eth/v1/beacon/blobs/5?",
            Reply::Sized(200, blobs_json(&[one.clone(), one.clone()].concat())),
        ),
        ("/eth/v1/beacon/blobs/2?", Reply::Chunked(padded)),
        (
            "/eth/v1/beacon/blobs/3?",
            Reply::Sized(200, blobs_json(&one)),
        ),
        (
            "/eth/v1/beacon/blobs/4?",
            Reply::Sized(
                404,
                b"{\"code\":404,\"message\":\"Block not found\"}".to_vec(),
            ),
        ),
    ])
    .await;
    let c = BeaconClient::new(&fake.url, BeaconBlockId::BlockNumber).unwrap();
    let announced = c.blobs(1, 0, &[hash]).await.unwrap_err().to_string();
    assert!(announced.contains("above the"), "{announced}");
    let streamed = c.blobs(2, 0, &[hash]).await.unwrap_err().to_string();
    assert!(streamed.contains("above the"), "{streamed}");
    assert_eq!(c.blobs(3, 0, &[hash]).await.unwrap(), one);
    assert_eq!(c.blobs(5, 0, &[hash]).await.unwrap(), one);
    let missing = c.blobs(4, 0, &[hash]).await.unwrap_err().to_string();
    assert!(
        missing.contains("404") && missing.contains("Block not found"),
        "{missing}"
    );
    // More than a transaction's blobs are never asked for.
    let seven = c.blobs(3, 0, &[hash; 7]).await.unwrap_err().to_string();
    assert!(seven.contains("at most 6"), "{seven}");
    assert_eq!(BYTES_PER_BLOB, 131_072);
}

/// Against a real beacon node, a block is named by its slot, from the
/// beacon genesis time and slot length the node reports.
#[tokio::test(flavor = "current_thread")]
async fn a_real_beacon_node_is_asked_by_slot() {
    let one = chunkseq_da::encode_checkpoint(&slot_transactions(4)).unwrap();
    let one = one[..1].to_vec();
    let hash = chunkseq_da::versioned_hashes(&one).unwrap()[0];
    let fake = fake_beacon(vec![
        (
            "/eth/v1/beacon/genesis",
            Reply::Sized(
                200,
                br#"{"data":{"genesis_time":"1000","genesis_validators_root":"0x00","genesis_fork_version":"0x00000000"}}"#.to_vec(),
            ),
        ),
        (
            "/eth/v1/config/spec",
            Reply::Sized(200, br#"{"data":{"SECONDS_PER_SLOT":"12","SLOTS_PER_EPOCH":"32"}}"#.to_vec()),
        ),
        ("/eth/v1/beacon/blobs/42?", Reply::Sized(200, blobs_json(&one))),
    ])
    .await;
    let c = BeaconClient::new(
        &fake.url,
        BeaconBlockId::Slot {
            genesis_time: None,
            seconds_per_slot: None,
        },
    )
    .unwrap();
    assert_eq!(
        c.blobs(9_999, 1_000 + 42 * 12 + 5, &[hash]).await.unwrap(),
        one
    );
    assert_eq!(
        c.block_id(),
        BeaconBlockId::Slot {
            genesis_time: Some(1_000),
            seconds_per_slot: Some(12)
        },
        "read once"
    );
    let paths = fake.paths.lock().clone();
    assert_eq!(paths.len(), 3, "{paths:?}");
    assert!(paths[2].starts_with("/eth/v1/beacon/blobs/42?versioned_hashes="));
}
