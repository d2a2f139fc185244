//! The L1 gas budget of a checkpoint: an 8-block devnet checkpoint with its
//! data in blobs, vouched for by 33 attestations (a committee of 48), costs
//! at most 300,000 gas in the steady state. Run with `--nocapture` for the
//! figures and the opcodes that dominate them.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::sync::Arc;

use alloy_eips::eip4844::DATA_GAS_PER_BLOB;
use alloy_primitives::{Address, B256, Bytes};
use chunkseq_l1::{
    EmbeddedConfig, EmbeddedL1, L1Event, RollupCall,
    checkpoint_call::{CheckpointParts, SlotData, attestations, chained_headers},
};
use chunkseq_primitives::{
    BlockHeader, ChainSpec, CheckpointHeader, LocalSigner, Preset, PrivateKey, Signer, Slot,
    Timetable, UnixMillis, body::body_hash,
};

/// The budget of an 8-block checkpoint in blobs, in L1 gas.
const BUDGET: u64 = 300_000;

struct Chain {
    spec: ChainSpec,
    l1: EmbeddedL1,
    signers: Vec<LocalSigner>,
    parent: (B256, u64),
    parent_checkpoint: B256,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Publish {
    Calldata,
    Blobs,
}

/// What a checkpoint cost.
#[derive(Debug)]
struct Cost {
    gas: u64,
    blob_gas: u64,
    calldata_bytes: usize,
}

impl Chain {
    fn new(validators: usize) -> Self {
        let spec = Preset::Devnet.spec();
        let signers: Vec<LocalSigner> = (0..validators)
            .map(|i| LocalSigner::new(PrivateKey::from_bytes([i as u8 + 1; 32]).unwrap()))
            .collect();
        let addrs: Vec<Address> = signers.iter().map(Signer::address).collect();
        let cfg = EmbeddedConfig {
            start: Some(UnixMillis((spec.genesis_time - 60) * 1000)),
            ..EmbeddedConfig::default()
        };
        let genesis = B256::repeat_byte(0x9e);
        let l1 = EmbeddedL1::new(&spec, genesis, &addrs, cfg).unwrap();
        Self {
            spec,
            l1,
            signers,
            parent: (genesis, 0),
            parent_checkpoint: B256::ZERO,
        }
    }

    fn signer(&self, who: Address) -> &LocalSigner {
        self.signers.iter().find(|s| s.address() == who).unwrap()
    }

    fn run(&mut self, from: Address, call: RollupCall) -> (u64, u64) {
        let id = self.l1.submit(from, call);
        let events = self.l1.mine_block().unwrap();
        events
            .iter()
            .find_map(|e| match e {
                L1Event::Included {
                    submission,
                    gas_used,
                    blob_gas_used,
                    outcome,
                    ..
                } if *submission == id => {
                    assert_eq!(outcome, &Ok(()));
                    Some((*gas_used, *blob_gas_used))
                }
                _ => None,
            })
            .expect("included")
    }

    fn enter_slot(&mut self, slot: u64) {
        let t = Timetable::new(&self.spec)
            .unwrap()
            .slot_start(Slot(slot))
            .unwrap();
        self.l1.advance_to(t).unwrap();
        if self.l1.duties(slot).is_err() {
            let from = self.signers[0].address();
            let epoch = slot / u64::from(self.spec.epoch_slots);
            self.run(from, RollupCall::RecordCommittee { epoch });
        }
    }

    /// An honest checkpoint call for `slot` of `blocks` blocks of 100
    /// transfer-sized transactions, by its proposer.
    fn call(&mut self, slot: u64, blocks: u32, publish: Publish) -> (Address, RollupCall) {
        self.enter_slot(slot);
        let (committee, proposer) = self.l1.duties(slot).unwrap();
        let txs: Vec<Vec<Bytes>> = (0..blocks)
            .map(|b| {
                (0..100u32)
                    .map(|t| {
                        let seed = alloy_primitives::keccak256(
                            [slot.to_be_bytes(), u64::from(b << 16 | t).to_be_bytes()].concat(),
                        );
                        Bytes::from([seed.as_slice(); 4].concat())
                    })
                    .collect()
            })
            .collect();
        let data = SlotData::encode(&txs).unwrap();
        let template = BlockHeader {
            timestamp: self.spec.genesis_time * 1000 + slot * self.spec.slot_duration_ms,
            gasLimit: self.spec.block_gas_limit,
            gasUsed: 2_100_000,
            txCount: 100,
            baseFee: 10_000_000,
            dataPrice: 100_000_000,
            txRoot: B256::repeat_byte(0x11),
            receiptsRoot: B256::repeat_byte(0x22),
            ..Default::default()
        };
        let mut headers = chained_headers(slot, blocks, self.parent, &template);
        let mut hash = self.parent.0;
        for (h, t) in headers.iter_mut().zip(&txs) {
            h.parentHash = hash;
            h.bodyHash = body_hash(t);
            hash = h.hash();
        }
        let threshold = 2 * committee.len() / 3 + 1;
        let attesters: Vec<&LocalSigner> = committee
            .iter()
            .take(threshold)
            .map(|m| self.signer(*m))
            .collect();
        let domain = self.spec.eip712_domain();
        let atts = attestations(
            &domain,
            headers.last().unwrap(),
            data.data_hash(),
            &attesters,
        )
        .unwrap();
        let hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
        self.parent = (hash, headers.last().unwrap().number);
        let parts = CheckpointParts {
            slot,
            parent_checkpoint: self.parent_checkpoint,
            headers,
            bodies: match publish {
                Publish::Calldata => data.bodies.clone(),
                Publish::Blobs => Vec::new(),
            },
            blob_hashes: data.blob_hashes.clone(),
            blobs: match publish {
                Publish::Calldata => Arc::default(),
                Publish::Blobs => data.blobs,
            },
            attestations: atts,
            committee,
        };
        self.parent_checkpoint =
            CheckpointHeader::covering(Slot(slot), self.parent_checkpoint, &hashes)
                .unwrap()
                .hash();
        let call = parts.sign(&domain, self.signer(proposer)).expect("signed");
        (proposer, call)
    }

    fn checkpoint(&mut self, slot: u64, blocks: u32, publish: Publish) -> Cost {
        let (from, call) = self.call(slot, blocks, publish);
        let calldata_bytes = call.calldata(self.l1.abi()).unwrap().len();
        let (gas, blob_gas) = self.run(from, call);
        Cost {
            gas,
            blob_gas,
            calldata_bytes,
        }
    }
}

#[test]
fn an_eight_block_blob_checkpoint_fits_the_gas_budget() {
    let mut chain = Chain::new(48);
    // The first checkpoint of the epoch also records a committee: not the
    // steady state.
    chain.checkpoint(1, 8, Publish::Blobs);
    let blobs = chain.checkpoint(2, 8, Publish::Blobs);
    let calldata = chain.checkpoint(3, 8, Publish::Calldata);
    for (mode, c) in [("blobs", &blobs), ("calldata", &calldata)] {
        eprintln!(
            "8 blocks, 33 attestations, {mode}: {} gas, {} blob gas, {} bytes of calldata",
            c.gas, c.blob_gas, c.calldata_bytes
        );
    }
    let (from, call) = chain.call(4, 8, Publish::Blobs);
    let data = call.calldata(chain.l1.abi()).unwrap();
    let zeros = data.iter().filter(|b| **b == 0).count() as u64;
    let calldata_gas = 4 * zeros + 16 * (data.len() as u64 - zeros);
    eprintln!(
        "calldata: {} bytes, {zeros} zero: {calldata_gas} gas (EIP-7623 floor {})",
        data.len(),
        21_000 + 10 * (zeros + 4 * (data.len() as u64 - zeros))
    );
    let mut costs = chain.l1.profile(from, &call).unwrap();
    let opcode_gas: u64 = costs.iter().map(|c| c.gas).sum();
    eprintln!("opcodes (CALL-family forwarded gas excluded): {opcode_gas} gas");
    costs.sort_by_key(|c| std::cmp::Reverse(c.gas));
    for c in costs.iter().take(12) {
        eprintln!("  0x{:02x} {:>6} runs {:>7} gas", c.opcode, c.count, c.gas);
    }
    assert!(blobs.blob_gas >= DATA_GAS_PER_BLOB);
    assert_eq!(calldata.blob_gas, 0);
    assert!(
        blobs.gas <= BUDGET,
        "an 8-block checkpoint in blobs costs {} gas, over the budget of {BUDGET}",
        blobs.gas
    );
}
