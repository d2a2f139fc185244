//! `chunkseq bench l1`: gas of the Rollup contract's calls on the embedded
//! L1 (the same bytecode an Ethereum node runs), and the embedded L1's own
//! processing time. Checkpoints are measured with their data in blobs and in
//! calldata, on the devnet preset (data mode auto: the attestations sign the
//! blobs' versioned hashes either way).

use std::{sync::Arc, time::Instant};

use alloy_eips::eip4844::BYTES_PER_BLOB;
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use anyhow::{Context as _, Result, bail};
use chunkseq_execution::dev_keys;
use chunkseq_l1::{
    EmbeddedConfig, EmbeddedL1, L1Event, RollupCall,
    checkpoint_call::{CheckpointParts, SlotData, attestations, chained_headers},
};
use chunkseq_primitives::{
    Attestation, BlockHeader, BlockProposal, ChainSpec, CheckpointHeader, CheckpointOmission,
    Eip712Domain, Evidence, LocalSigner, Preset, ProvisionalBlock, Signer, Slot, Timetable,
};
use clap::Args;
use serde::Serialize;

use super::{
    stats::median_ms,
    workload::{TxKindArg, generate},
};

/// Arguments of `chunkseq bench l1`.
#[derive(Debug, Args)]
pub(crate) struct L1Args {
    /// Registered validators (the committee is min(validators, committee_size)).
    #[arg(long, default_value_t = 48)]
    validators: usize,
    /// Transactions per block in the "including tx data" figures.
    #[arg(long, default_value_t = 100)]
    txs_per_block: usize,
    /// Print JSON instead of a table.
    #[arg(long)]
    json: bool,
    /// Also print where the gas of an 8-block checkpoint in blobs goes
    /// (intrinsic, calldata, opcodes, precompiles) and its costliest opcodes.
    #[arg(long)]
    profile: bool,
    /// Validators that register, exit and are released before the
    /// set-history figure (0 skips the set-history figures).
    #[arg(long, default_value_t = 5_000)]
    churn: usize,
    /// Genesis validators of the set-history figures.
    #[arg(long, default_value_t = 50)]
    set_validators: usize,
}

/// The first checkpoint of an epoch (which records the committee two epochs
/// ahead) after a history of validators coming and going.
#[derive(Debug, Serialize)]
struct SetHistoryRow {
    /// What the set has been through.
    history: String,
    /// Entries in the set when the checkpoint lands.
    set_size: u64,
    /// Gas of the epoch's first checkpoint (2 blocks, no tx data).
    gas_first_in_epoch: u64,
}

/// Where a checkpoint's transactions go on L1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Publish {
    Blobs,
    Calldata,
}

impl Publish {
    const fn name(self) -> &'static str {
        match self {
            Self::Blobs => "blobs",
            Self::Calldata => "calldata",
        }
    }
}

#[derive(Debug, Serialize)]
struct CheckpointRow {
    /// Where its transactions go: `blobs` or `calldata`.
    data_mode: Publish,
    blocks: u32,
    committee: usize,
    /// Attestations the checkpoint carries (the last block's threshold).
    attestations: usize,
    txs_per_block: usize,
    /// Blobs the checkpoint with `txs_per_block` transactions per block
    /// carries (0 in calldata).
    blobs: usize,
    /// L1 gas of the checkpoint with `txs_per_block` transactions per block.
    gas: u64,
    /// Its blob gas (131,072 per blob), priced by the blob base fee.
    blob_gas: u64,
    /// L1 data it pays for per L2 transaction: its transaction's calldata,
    /// or its blobs (131,072 bytes each), over its transactions.
    data_bytes_per_tx: f64,
    /// The first checkpoint of an epoch (no transactions) also computes and
    /// stores the committee.
    gas_first_in_epoch: u64,
    /// The checkpoint with empty blocks.
    gas_excluding_tx_data: u64,
    /// The same as `gas`.
    gas_including_tx_data: u64,
    /// The ABI-encoded body of one block.
    tx_data_bytes_per_block: usize,
}

/// What a checkpoint cost.
#[derive(Clone, Copy, Debug)]
struct Cost {
    gas: u64,
    blob_gas: u64,
    blobs: usize,
    calldata_bytes: usize,
    ms: f64,
}

#[derive(Debug, Serialize)]
struct SlashRow {
    call: &'static str,
    gas: u64,
}

#[derive(Debug, Serialize)]
struct L1Report {
    preset: &'static str,
    checkpoints: Vec<CheckpointRow>,
    slashing: Vec<SlashRow>,
    set_history: Vec<SetHistoryRow>,
    /// Median wall time of the embedded L1 producing a block holding a
    /// 2-block checkpoint (execution and event decoding included).
    embedded_ms_per_checkpoint: f64,
}

struct Chain {
    spec: ChainSpec,
    domain: Eip712Domain,
    l1: EmbeddedL1,
    signers: Vec<LocalSigner>,
    parent: (B256, u64),
    parent_checkpoint: B256,
}

impl Chain {
    fn new(validators: usize) -> Result<Self> {
        let spec = Preset::Devnet.spec();
        let signers: Vec<LocalSigner> = dev_keys("chunkseq bench l1", validators)
            .into_iter()
            .map(LocalSigner::new)
            .collect();
        let addrs: Vec<Address> = signers.iter().map(Signer::address).collect();
        let genesis = B256::repeat_byte(0x9e);
        let l1 = EmbeddedL1::new(&spec, genesis, &addrs, EmbeddedConfig::default())?;
        Ok(Self {
            domain: spec.eip712_domain(),
            spec,
            l1,
            signers,
            parent: (genesis, 0),
            parent_checkpoint: B256::ZERO,
        })
    }

    fn signer(&self, who: Address) -> Result<&LocalSigner> {
        self.signers
            .iter()
            .find(|s| s.address() == who)
            .context("unknown validator")
    }

    fn enter_slot(&mut self, slot: u64) -> Result<()> {
        let t = Timetable::new(&self.spec)?.slot_start(Slot(slot))?;
        self.l1.advance_to(t)?;
        // The contract serves only recorded committees; checkpoints record
        // the epoch two ahead, so the first epochs are recorded by hand here
        // (as nodes do).
        if self.l1.duties(slot).is_err() {
            let epoch = slot / u64::from(self.spec.epoch_slots);
            let from = self
                .signers
                .first()
                .map(Signer::address)
                .context("no validators")?;
            self.run(from, RollupCall::RecordCommittee { epoch })?;
        }
        Ok(())
    }

    fn headers(&self, slot: u64, blocks: u32, body: &Bytes) -> Vec<BlockHeader> {
        let template = BlockHeader {
            timestamp: self.spec.genesis_time * 1000 + slot * self.spec.slot_duration_ms,
            txRoot: B256::repeat_byte(0x11),
            bodyHash: keccak256(body),
            receiptsRoot: B256::repeat_byte(0x22),
            gasUsed: 2_100_000,
            gasLimit: self.spec.block_gas_limit,
            txCount: 100,
            baseFee: 10_000_000,
            dataPrice: 100_000_000,
            ..Default::default()
        };
        chained_headers(slot, blocks, self.parent, &template)
    }

    /// Publishes an honest checkpoint in `slot` of `blocks` blocks of `txs`
    /// each, as `publish` says; returns what it cost and how long the L1
    /// took.
    fn checkpoint(
        &mut self,
        slot: u64,
        blocks: u32,
        txs: &[Bytes],
        publish: Publish,
    ) -> Result<Cost> {
        let (proposer, call, last, hashes) = self.checkpoint_call(slot, blocks, txs, publish)?;
        let calldata_bytes = call.calldata(self.l1.abi())?.len();
        let blobs = call.blobs().len();
        let (gas, blob_gas, ms) = self.run_timed(proposer, call)?;
        self.parent = last;
        self.parent_checkpoint =
            CheckpointHeader::covering(Slot(slot), self.parent_checkpoint, &hashes)
                .context("header")?
                .hash();
        Ok(Cost {
            gas,
            blob_gas,
            blobs,
            calldata_bytes,
            ms,
        })
    }

    /// An honest checkpoint call for `slot`, by its proposer: `blocks`
    /// blocks of `txs` each, published as `publish` says, attested over the
    /// versioned hashes of the blobs that encode them (the devnet's data
    /// mode is auto).
    #[allow(clippy::type_complexity)]
    fn checkpoint_call(
        &mut self,
        slot: u64,
        blocks: u32,
        txs: &[Bytes],
        publish: Publish,
    ) -> Result<(Address, RollupCall, (B256, u64), Vec<B256>)> {
        self.enter_slot(slot)?;
        let (committee, proposer) = self.l1.duties(slot)?;
        let data = SlotData::encode(&vec![txs.to_vec(); blocks as usize])?;
        let body = data.bodies.first().context("no blocks")?;
        let headers = self.headers(slot, blocks, body);
        let threshold = 2 * committee.len() / 3 + 1;
        let attesters: Vec<&LocalSigner> = committee
            .iter()
            .take(threshold)
            .map(|m| self.signer(*m))
            .collect::<Result<_>>()?;
        let data_hash = if self.spec.data_mode.signs_blobs() {
            data.data_hash()
        } else {
            B256::ZERO
        };
        // The last block's attestations vouch for the checkpoint.
        let atts = attestations(
            &self.domain,
            headers.last().context("no blocks")?,
            data_hash,
            &attesters,
        )?;
        let last = headers
            .last()
            .map(|h| (h.hash(), h.number))
            .context("no blocks")?;
        let hashes: Vec<B256> = headers.iter().map(BlockHeader::hash).collect();
        let blob_hashes = if self.spec.data_mode.signs_blobs() {
            data.blob_hashes
        } else {
            Vec::new()
        };
        let (bodies, blobs) = match publish {
            Publish::Calldata => (data.bodies, Arc::default()),
            Publish::Blobs => (Vec::new(), data.blobs),
        };
        let parts = CheckpointParts {
            slot,
            parent_checkpoint: self.parent_checkpoint,
            bodies,
            blob_hashes,
            blobs,
            headers,
            attestations: atts,
            committee,
        };
        let call = parts.sign(&self.domain, self.signer(proposer)?)?;
        Ok((proposer, call, last, hashes))
    }

    fn run(&mut self, from: Address, call: RollupCall) -> Result<u64> {
        Ok(self.run_timed(from, call)?.0)
    }

    /// Runs a call in its own block; returns its gas, its blob gas and how
    /// long the L1 took to produce that block (a checkpoint in blobs
    /// included: decoding its blobs, each checked against its versioned
    /// hash).
    fn run_timed(&mut self, from: Address, call: RollupCall) -> Result<(u64, u64, f64)> {
        let name = call.name();
        let id = self.l1.submit(from, call);
        let started = Instant::now();
        let events = self.l1.mine_block()?;
        let ms = started.elapsed().as_secs_f64() * 1000.0;
        let inclusion = events.iter().find_map(|e| match e {
            L1Event::Included {
                submission,
                gas_used,
                blob_gas_used,
                outcome,
                ..
            } if *submission == id => Some((*gas_used, *blob_gas_used, outcome.clone())),
            _ => None,
        });
        match inclusion {
            Some((gas, blob_gas, Ok(()))) => Ok((gas, blob_gas, ms)),
            Some((_, _, Err(reason))) => bail!("{name} reverted: {reason}"),
            None => bail!("{name} was not included"),
        }
    }
}

pub(crate) fn run(args: &L1Args) -> Result<()> {
    let txs = generate(
        TxKindArg::Transfer,
        args.txs_per_block,
        args.txs_per_block.max(1),
        "chunkseq bench l1",
        8_001,
        || {},
    )
    .raw;
    let body_bytes = chunkseq_primitives::body::encode_body(&txs).len();
    let mut rows = Vec::new();
    let mut times = Vec::new();
    for blocks in [1u32, 2, 4, 8] {
        for publish in [Publish::Blobs, Publish::Calldata] {
            let mut chain = Chain::new(args.validators)?;
            let first = chain.checkpoint(1, blocks, &[], publish)?;
            let excluding = chain.checkpoint(2, blocks, &[], publish)?;
            let including = chain.checkpoint(3, blocks, &txs, publish)?;
            if blocks == 2 && publish == Publish::Blobs {
                times.push(std::time::Duration::from_secs_f64(excluding.ms / 1000.0));
                for slot in 4..9 {
                    let c = chain.checkpoint(slot, 2, &[], publish)?;
                    times.push(std::time::Duration::from_secs_f64(c.ms / 1000.0));
                }
            }
            let committee = chain.l1.duties(2)?.0.len();
            let total_txs = (blocks as usize * args.txs_per_block).max(1);
            let paid_bytes = match publish {
                Publish::Blobs => including.blobs * BYTES_PER_BLOB,
                Publish::Calldata => including.calldata_bytes,
            };
            rows.push(CheckpointRow {
                data_mode: publish,
                blocks,
                committee,
                attestations: 2 * committee / 3 + 1,
                txs_per_block: args.txs_per_block,
                blobs: including.blobs,
                gas: including.gas,
                blob_gas: including.blob_gas,
                data_bytes_per_tx: (paid_bytes as f64 / total_txs as f64 * 10.0).round() / 10.0,
                gas_first_in_epoch: first.gas,
                gas_excluding_tx_data: excluding.gas,
                gas_including_tx_data: including.gas,
                tx_data_bytes_per_block: body_bytes,
            });
        }
    }
    let slashing = slashing_rows(args.validators)?;
    let set_history = if args.churn == 0 {
        Vec::new()
    } else {
        set_history_rows(args.set_validators, args.churn)?
    };
    if args.profile {
        profile(args.validators, &txs)?;
    }
    let report = L1Report {
        preset: "devnet",
        checkpoints: rows,
        slashing,
        set_history,
        embedded_ms_per_checkpoint: median_ms(&times),
    };
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        println!(
            "chunkseq bench l1: Rollup contract gas on the embedded L1 ({} preset)",
            report.preset
        );
        println!(
            "  data      blocks  committee  attestations  first-in-epoch  excl. tx data  incl. tx data  blobs   blob gas  bytes/tx ({} txs/block)",
            args.txs_per_block
        );
        for r in &report.checkpoints {
            println!(
                "  {:<8}  {:>6}  {:>9}  {:>12}  {:>14}  {:>13}  {:>13}  {:>5}  {:>9}  {:>8.1}",
                r.data_mode.name(),
                r.blocks,
                r.committee,
                r.attestations,
                r.gas_first_in_epoch,
                r.gas_excluding_tx_data,
                r.gas,
                r.blobs,
                r.blob_gas,
                r.data_bytes_per_tx
            );
        }
        for s in &report.slashing {
            println!("  {:<30} {:>10} gas", s.call, s.gas);
        }
        for r in &report.set_history {
            println!(
                "  first checkpoint of an epoch, set of {:>5}: {:>10} gas  ({})",
                r.set_size, r.gas_first_in_epoch, r.history
            );
        }
        println!(
            "  embedded L1, block with a 2-block checkpoint in blobs: {:.2} ms (median)",
            report.embedded_ms_per_checkpoint
        );
    }
    Ok(())
}

fn slashing_rows(validators: usize) -> Result<Vec<SlashRow>> {
    let mut chain = Chain::new(validators)?;
    // A checkpoint first, so the epoch's committee is recorded (the steady state).
    chain.checkpoint(1, 1, &[], Publish::Calldata)?;
    let (committee, proposer) = chain.l1.duties(1)?;
    let reporter = committee.first().copied().context("empty committee")?;
    let sign = |c: &Chain,
                who: Address,
                s: &dyn Fn(&LocalSigner) -> Result<[u8; 65], chunkseq_primitives::SignerError>|
     -> Result<Bytes> { Ok(Bytes::from(s(c.signer(who)?)?.to_vec())) };
    let mut rows = Vec::new();
    let p = |h: u8| BlockProposal {
        slot: 1,
        index: 0,
        blockHash: B256::repeat_byte(h),
    };
    let d = chain.domain.clone();
    let e = Evidence::proposal_equivocation(
        (
            p(1),
            sign(&chain, proposer, &|s| s.sign_statement(&d, &p(1)))?,
        ),
        (
            p(2),
            sign(&chain, proposer, &|s| s.sign_statement(&d, &p(2)))?,
        ),
    );
    if let Evidence::ProposalEquivocation(e) = e {
        rows.push(SlashRow {
            call: "slashProposalEquivocation",
            gas: chain.run(
                reporter,
                RollupCall::SlashProposalEquivocation {
                    evidence: e,
                    committee: committee.clone(),
                },
            )?,
        });
    }
    let attester = committee.get(1).copied().context("committee of one")?;
    let a = |h: u8| Attestation {
        slot: 1,
        index: 0,
        blockHash: B256::repeat_byte(h),
        dataHash: B256::ZERO,
    };
    let e = Evidence::attestation_equivocation(
        (
            a(3),
            sign(&chain, attester, &|s| s.sign_statement(&d, &a(3)))?,
        ),
        (
            a(4),
            sign(&chain, attester, &|s| s.sign_statement(&d, &a(4)))?,
        ),
    );
    if let Evidence::AttestationEquivocation(e) = e {
        rows.push(SlashRow {
            call: "slashAttestationEquivocation",
            gas: chain.run(reporter, RollupCall::SlashAttestationEquivocation(e))?,
        });
    }
    // Omission: slot 2's proposer checkpoints block 0 only, after signing block 1 provisional.
    let mut chain = Chain::new(validators)?;
    chain.checkpoint(2, 1, &[], Publish::Calldata)?;
    let (_, proposer) = chain.l1.duties(2)?;
    let published = chain.parent.0;
    let missing = BlockHeader {
        number: 2,
        slot: 2,
        index: 1,
        parentHash: published,
        ..Default::default()
    };
    let ch = CheckpointHeader::covering(Slot(2), B256::ZERO, &[published, missing.hash()])
        .context("header")?;
    let provisional = ProvisionalBlock::new(&missing, &ch, &[]);
    let signature = sign(&chain, proposer, &|s| s.sign_statement(&d, &provisional))?;
    let call = RollupCall::SlashCheckpointOmission {
        evidence: CheckpointOmission {
            provisional,
            signature,
        },
        checkpoint_blocks: vec![published],
        parent_checkpoint: B256::ZERO,
        committee: chain.l1.duties(2)?.0,
    };
    rows.push(SlashRow {
        call: "slashCheckpointOmission",
        gas: chain.run(reporter, call)?,
    });
    Ok(rows)
}

/// Slots per epoch of the devnet preset.
fn epoch_slots(chain: &Chain) -> u64 {
    u64::from(chain.spec.epoch_slots)
}

/// Most entries the Rollup contract's validator set holds (`MAX_VALIDATORS`).
const MAX_VALIDATORS: usize = 1_024;
/// Epochs from an exit request to its release: the set-change delay (4)
/// plus the withdrawal delay (4).
const EXIT_TO_RELEASE_EPOCHS: u64 = 8;

/// The first checkpoint of an epoch with `validators` in the set; again after
/// `churn` more registered, exited and were released (in batches that fit
/// the set); and at the cap, with exited validators still in the set.
fn set_history_rows(validators: usize, churn: usize) -> Result<Vec<SetHistoryRow>> {
    let mut chain = Chain::new(validators)?;
    let per_epoch = epoch_slots(&chain);
    let mut epoch = 1u64;
    let mut rows = Vec::new();
    let first_in_epoch = |chain: &mut Chain, epoch: u64| -> Result<u64> {
        chain.parent_checkpoint = chain.l1.tip()?.header_hash;
        let tip = chain.l1.tip()?;
        chain.parent = (tip.last_block_hash, tip.last_block_number);
        Ok(chain
            .checkpoint(epoch * per_epoch, 2, &[], Publish::Calldata)?
            .gas)
    };
    rows.push(SetHistoryRow {
        history: format!("{validators} validators registered at genesis"),
        set_size: chain.l1.validator_count()?,
        gas_first_in_epoch: first_in_epoch(&mut chain, epoch)?,
    });
    let batch = MAX_VALIDATORS - validators;
    let mut done = 0usize;
    let progress = indicatif::ProgressBar::new(churn as u64).with_message("validators churned");
    while done < churn {
        let n = batch.min(churn - done);
        let who: Vec<Address> = (done..done + n).map(churn_address).collect();
        chain.register_and_exit(&who)?;
        epoch += EXIT_TO_RELEASE_EPOCHS;
        chain.enter_slot(epoch * per_epoch)?;
        chain.churn(&who, |_, w| RollupCall::Release { validator: *w })?;
        done += n;
        progress.set_position(done as u64);
    }
    progress.finish_and_clear();
    epoch += 1;
    rows.push(SetHistoryRow {
        history: format!(
            "{validators} validators, after {churn} more registered, exited and were released"
        ),
        set_size: chain.l1.validator_count()?,
        gas_first_in_epoch: first_in_epoch(&mut chain, epoch)?,
    });
    // Fill the set with validators that exited but were not released yet.
    let who: Vec<Address> = (churn..churn + batch).map(churn_address).collect();
    chain.register_and_exit(&who)?;
    epoch += 1;
    rows.push(SetHistoryRow {
        history: format!(
            "{validators} validators and {batch} exited but not yet released: the set is full"
        ),
        set_size: chain.l1.validator_count()?,
        gas_first_in_epoch: first_in_epoch(&mut chain, epoch)?,
    });
    Ok(rows)
}

/// The `i`-th churning validator: an address nobody holds a key for (the
/// embedded L1 takes calls from any address).
fn churn_address(i: usize) -> Address {
    Address::left_padding_from(&(0x00c0_ffee_0000_0000u64 + i as u64).to_be_bytes())
}

impl Chain {
    /// Registers each of `who` (as its own withdrawal address, with the
    /// minimum stake) and has it exit at once.
    fn register_and_exit(&mut self, who: &[Address]) -> Result<()> {
        self.churn(who, |l1, w| RollupCall::Register {
            withdrawal: *w,
            stake: l1.min_stake(),
        })?;
        self.churn(who, |_, w| RollupCall::Exit { validator: *w })
    }

    /// Sends `call(w)` from each of `who` (funded first) and mines them in
    /// one block; every call must succeed.
    fn churn(
        &mut self,
        who: &[Address],
        call: impl Fn(&mut EmbeddedL1, &Address) -> RollupCall,
    ) -> Result<()> {
        let mut ids = Vec::with_capacity(who.len());
        for w in who {
            let c = call(&mut self.l1, w);
            self.l1.set_balance(
                *w,
                c.value().saturating_mul(U256::from(2u64)) + U256::from(1u64),
            );
            ids.push((self.l1.submit(*w, c), *w));
        }
        let events = self.l1.mine_block()?;
        for (id, w) in ids {
            match L1Event::inclusion(&events, id) {
                Some((_, Ok(()))) => {}
                Some((_, Err(reason))) => bail!("a churn call from {w} reverted: {reason}"),
                None => bail!("a churn call from {w} was not included"),
            }
        }
        Ok(())
    }
}

/// The target of an 8-block devnet checkpoint in blobs, in L1 gas.
const BLOB_CHECKPOINT_TARGET: u64 = 300_000;

/// Where the gas of an 8-block checkpoint in blobs goes, on stderr: the
/// intrinsic gas, its calldata, the opcodes (CALL-family opcodes without the
/// gas they forward) and the precompile calls (the rest), then the costliest
/// opcodes.
fn profile(validators: usize, txs: &[Bytes]) -> Result<()> {
    let mut chain = Chain::new(validators)?;
    chain.checkpoint(1, 8, txs, Publish::Blobs)?;
    let (proposer, call, _, _) = chain.checkpoint_call(2, 8, txs, Publish::Blobs)?;
    let data = call.calldata(chain.l1.abi())?;
    let mut costs = chain.l1.profile(proposer, &call)?;
    let gas = chain.run_timed(proposer, call)?.0;
    let zeros = data.iter().filter(|b| **b == 0).count() as u64;
    let calldata_gas = 4 * zeros + 16 * (data.len() as u64 - zeros);
    let opcode_gas: u64 = costs.iter().map(|c| c.gas).sum();
    let rest = gas.saturating_sub(21_000 + calldata_gas + opcode_gas);
    eprintln!(
        "an 8-block checkpoint in blobs: {gas} gas (target {BLOB_CHECKPOINT_TARGET}): \
         21000 intrinsic, {calldata_gas} calldata ({} bytes, {zeros} zero), \
         {opcode_gas} opcodes, {rest} precompile calls (ecrecover 3000 each)",
        data.len()
    );
    costs.sort_by_key(|c| std::cmp::Reverse(c.gas));
    eprintln!("its opcodes by gas (CALL-family costs exclude forwarded gas):");
    for c in costs.iter().take(15) {
        eprintln!("  0x{:02x} {:>8} runs {:>9} gas", c.opcode, c.count, c.gas);
    }
    Ok(())
}
