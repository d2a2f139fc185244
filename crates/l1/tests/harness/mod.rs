//! The harness of the Rollup contract suites: one [`Harness`] per L1
//! (embedded, or anvil through the RPC L1), deployed with the devnet chain
//! spec or a variant of it (a [`Setup`]: another data mode, another blob
//! budget), and [`on_both_l1s!`], which runs each case on both.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    dead_code,
    unreachable_pub
)]

use std::sync::Arc;

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use chunkseq_l1::{
    ControlledL1, EmbeddedConfig, EmbeddedL1, L1Error, L1Event, RollupCall, SharedEmbeddedL1,
    checkpoint_call::{CheckpointParts, SlotData, attestations, chained_headers},
    rpc::{ANVIL_DEPLOYER_KEY, AnvilProcess, RpcConfig, RpcL1, deploy_rollup},
};
use chunkseq_primitives::{
    BlockHeader, ChainSpec, DataMode, Eip712Domain, LocalSigner, Preset, PrivateKey, Signer, Slot,
    Timetable, body::body_hash,
};

pub const GENESIS_HASH: B256 = B256::repeat_byte(0x9e);
pub const VALIDATORS: usize = 4;

pub fn stake() -> U256 {
    EmbeddedConfig::default().stake
}

pub fn validator_keys(n: usize) -> Vec<PrivateKey> {
    (0..n)
        .map(|i| PrivateKey::from_bytes([i as u8 + 1; 32]).unwrap())
        .collect()
}

/// Keys that are not registered at deployment: attackers and newcomers,
/// funded with [`OUTSIDER_FUNDS`] wei.
pub const OUTSIDERS: usize = 3;
pub const OUTSIDER_FUNDS: u128 = 1_000_000_000_000_000_000_000;

pub fn outsider_keys() -> Vec<PrivateKey> {
    (0..OUTSIDERS)
        .map(|i| PrivateKey::from_bytes([0xa1 + i as u8; 32]).unwrap())
        .collect()
}

/// A change to the devnet chain spec a harness deploys with.
pub type Setup = fn(&mut ChainSpec);

/// The devnet preset as it is: data mode auto (attestations sign the blobs'
/// versioned hashes; checkpoints go in calldata or in blobs).
pub fn devnet(_: &mut ChainSpec) {}

/// Checkpoints in calldata only; attestations sign a zero data hash.
pub fn calldata_only(spec: &mut ChainSpec) {
    spec.data_mode = DataMode::Calldata;
}

/// Checkpoints in blobs only.
pub fn blobs_only(spec: &mut ChainSpec) {
    spec.data_mode = DataMode::Blobs;
}

/// Checkpoints in blobs only, at most two per checkpoint.
pub fn two_blobs_at_most(spec: &mut ChainSpec) {
    blobs_only(spec);
    spec.max_blobs_per_checkpoint = 2;
}

pub fn spec_with(setup: Setup) -> ChainSpec {
    let mut spec = Preset::Devnet.spec();
    setup(&mut spec);
    spec.validate().unwrap();
    spec
}

/// Where a checkpoint publishes its blocks' transactions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Publish {
    Calldata,
    Blobs,
}

/// Incompressible transaction bytes, the same for the same `seed`.
pub fn noise(seed: &[u8], len: usize) -> Bytes {
    let mut out = Vec::with_capacity(len + 32);
    let mut h = keccak256(seed);
    while out.len() < len {
        out.extend_from_slice(h.as_slice());
        h = keccak256(h);
    }
    out.truncate(len);
    out.into()
}

/// Transactions of `count` blocks of `slot`: `per_block` transactions of
/// `tx_bytes` incompressible bytes each; `tag` tells sets apart.
pub fn block_txs(
    slot: u64,
    count: u32,
    per_block: usize,
    tx_bytes: usize,
    tag: u8,
) -> Vec<Vec<Bytes>> {
    (0..count)
        .map(|index| {
            (0..per_block)
                .map(|k| {
                    let seed = [
                        &slot.to_be_bytes()[..],
                        &index.to_be_bytes(),
                        &(k as u64).to_be_bytes(),
                        &[tag],
                    ]
                    .concat();
                    noise(&seed, tx_bytes)
                })
                .collect()
        })
        .collect()
}

pub struct Harness<L> {
    pub spec: ChainSpec,
    pub domain: Eip712Domain,
    pub l1: L,
    /// The registered validators' signers, then the outsiders'.
    pub signers: Vec<LocalSigner>,
    pub reporter: Address,
    /// Funded accounts that are not validators.
    pub outsiders: Vec<Address>,
    /// Keeps anvil running while the harness lives.
    _anvil: Option<AnvilProcess>,
}

impl Harness<SharedEmbeddedL1> {
    pub fn embedded() -> Self {
        Self::embedded_with(devnet)
    }

    pub fn embedded_with(setup: Setup) -> Self {
        Self::embedded_with_config(setup, EmbeddedConfig::default())
    }

    /// An embedded L1 configured by `cfg` (its start aside).
    pub fn embedded_with_config(setup: Setup, cfg: EmbeddedConfig) -> Self {
        let spec = spec_with(setup);
        let keys = validator_keys(VALIDATORS);
        let addrs: Vec<Address> = keys.iter().map(PrivateKey::address).collect();
        // A minute before genesis, like anvil below.
        let cfg = EmbeddedConfig {
            start: Some(chunkseq_primitives::UnixMillis(
                (spec.genesis_time - 60) * 1000,
            )),
            ..cfg
        };
        let l1 = EmbeddedL1::new(&spec, GENESIS_HASH, &addrs, cfg).unwrap();
        let l1 = SharedEmbeddedL1::new(l1);
        for k in outsider_keys() {
            l1.with(|l1| l1.set_balance(k.address(), U256::from(OUTSIDER_FUNDS)));
        }
        Self::with_l1(spec, l1, keys, None)
    }
}

impl Harness<RpcL1> {
    /// A fresh anvil with the contract deployed by its first account and the
    /// validators registered; `None` (and a note) when anvil is not installed
    /// outside CI.
    pub async fn anvil() -> Option<Self> {
        Self::anvil_with(devnet).await
    }

    pub async fn anvil_with(setup: Setup) -> Option<Self> {
        let Some(binary) = AnvilProcess::locate() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but anvil is not installed: .ci/run installs it into .tools/"
            );
            eprintln!("skipped: anvil not found (set CHUNKSEQ_ANVIL or run .ci/run once)");
            return None;
        };
        let spec = spec_with(setup);
        // Start a minute before genesis, like the embedded L1, mining each
        // deployment transaction at once; then hand block production to the test.
        let start = spec.genesis_time - 60;
        let anvil = AnvilProcess::spawn(
            &binary,
            &["--timestamp".into(), start.to_string(), "--silent".into()],
        )
        .unwrap();
        let keys = validator_keys(VALIDATORS);
        let deployer = PrivateKey::from_bytes(ANVIL_DEPLOYER_KEY).unwrap();
        let report = deploy_rollup(&anvil.url(), &deployer, &spec, GENESIS_HASH, stake(), &keys)
            .await
            .unwrap();
        assert_eq!(
            report.rollup, spec.rollup_address,
            "deployed where the preset expects"
        );
        let cfg = RpcConfig {
            block_time_ms: spec.l1_block_time_ms,
            // Log searches then span several requests.
            log_range: 2,
            ..RpcConfig::default()
        };
        let all: Vec<PrivateKey> = keys.iter().cloned().chain(outsider_keys()).collect();
        let l1 = RpcL1::connect(&anvil.url(), report.rollup, &all, cfg)
            .await
            .unwrap();
        // Every actor pays L1 fees here: fund them all alike.
        for k in &all {
            l1.set_balance(k.address(), U256::from(OUTSIDER_FUNDS))
                .await
                .unwrap();
        }
        l1.set_automine(false).await.unwrap();
        // The contract draws no seed within 8 blocks of the last
        // registration before genesis: let them pass (a long jump in time
        // later mines a single block).
        for _ in 0..10 {
            l1.mine_block().await.unwrap();
        }
        Some(Self::with_l1(spec, l1, keys, Some(anvil)))
    }
}

impl<L: ControlledL1> Harness<L> {
    pub fn with_l1(
        spec: ChainSpec,
        l1: L,
        keys: Vec<PrivateKey>,
        anvil: Option<AnvilProcess>,
    ) -> Self {
        let signers: Vec<LocalSigner> = keys
            .into_iter()
            .chain(outsider_keys())
            .map(LocalSigner::new)
            .collect();
        Self {
            domain: spec.eip712_domain(),
            spec,
            l1,
            reporter: signers[0].address(),
            outsiders: outsider_keys().iter().map(PrivateKey::address).collect(),
            signers,
            _anvil: anvil,
        }
    }

    pub fn signer(&self, who: Address) -> &LocalSigner {
        self.signers
            .iter()
            .find(|s| s.address() == who)
            .expect("a known validator")
    }

    /// Moves L1 to the start of `slot`; the next mined block lies inside it.
    pub async fn enter_slot(&mut self, slot: u64) {
        self.advance_to_slot(slot).await;
        let epoch = slot / u64::from(self.spec.epoch_slots);
        if self.l1.duties(slot).await.is_err() {
            let (outcome, _) = self
                .run(self.reporter, RollupCall::RecordCommittee { epoch })
                .await;
            assert_eq!(outcome, Ok(()), "recording the committee of epoch {epoch}");
        }
    }

    /// Moves L1 into `slot` without recording anything.
    pub async fn advance_to_slot(&mut self, slot: u64) {
        let t = Timetable::new(&self.spec)
            .unwrap()
            .slot_start(Slot(slot))
            .unwrap();
        self.l1.advance_to(t).await.unwrap();
        self.l1.poll_events().await.unwrap();
    }

    /// `who`'s two signed proposals for `(slot, 0)`, naming blocks
    /// `repeat(a)` and `repeat(b)`.
    pub fn proposal_equivocation(
        &self,
        who: Address,
        slot: u64,
        (a, b): (u8, u8),
    ) -> chunkseq_primitives::ProposalEquivocation {
        let p = |hash: u8| chunkseq_primitives::BlockProposal {
            slot,
            index: 0,
            blockHash: B256::repeat_byte(hash),
        };
        match chunkseq_primitives::Evidence::proposal_equivocation(
            (p(a), self.sign(who, &p(a))),
            (p(b), self.sign(who, &p(b))),
        ) {
            chunkseq_primitives::Evidence::ProposalEquivocation(e) => e,
            other => panic!("{other:?}"),
        }
    }

    /// `who`'s two signed attestations for `(slot, 0)`, naming blocks
    /// `repeat(a)` and `repeat(b)` with a zero data hash.
    pub fn attestation_equivocation(
        &self,
        who: Address,
        slot: u64,
        (a, b): (u8, u8),
    ) -> chunkseq_primitives::AttestationEquivocation {
        self.attestation_equivocation_of(
            who,
            slot,
            (B256::repeat_byte(a), B256::ZERO),
            (B256::repeat_byte(b), B256::ZERO),
        )
    }

    /// `who`'s two signed attestations for `(slot, 0)`, of (block hash,
    /// data hash) `a` and `b`.
    pub fn attestation_equivocation_of(
        &self,
        who: Address,
        slot: u64,
        a: (B256, B256),
        b: (B256, B256),
    ) -> chunkseq_primitives::AttestationEquivocation {
        let at = |(block, data): (B256, B256)| chunkseq_primitives::Attestation {
            slot,
            index: 0,
            blockHash: block,
            dataHash: data,
        };
        match chunkseq_primitives::Evidence::attestation_equivocation(
            (at(a), self.sign(who, &at(a))),
            (at(b), self.sign(who, &at(b))),
        ) {
            chunkseq_primitives::Evidence::AttestationEquivocation(e) => e,
            other => panic!("{other:?}"),
        }
    }

    pub async fn duties(&self, slot: u64) -> (Vec<Address>, Address) {
        self.l1.duties(slot).await.unwrap()
    }

    pub fn sign<T: chunkseq_primitives::SignedStatement>(
        &self,
        who: Address,
        statement: &T,
    ) -> Bytes {
        Bytes::from(
            self.signer(who)
                .sign_statement(&self.domain, statement)
                .unwrap()
                .to_vec(),
        )
    }

    /// The transactions of the first `count` blocks of `slot` in the
    /// harness's honest checkpoints: two small ones per block.
    pub fn txs(&self, slot: u64, count: u32) -> Vec<Vec<Bytes>> {
        block_txs(slot, count, 2, 100, 0)
    }

    /// `count` honest blocks for `slot` on top of `parent` (hash, number),
    /// with the transactions of [`Harness::txs`].
    pub fn blocks(&self, slot: u64, count: u32, parent: (B256, u64)) -> Vec<BlockHeader> {
        self.blocks_with(slot, &self.txs(slot, count), parent)
    }

    /// Honest blocks for `slot` on top of `parent` (hash, number), one per
    /// entry of `txs`, each committing to its transactions.
    pub fn blocks_with(
        &self,
        slot: u64,
        txs: &[Vec<Bytes>],
        parent: (B256, u64),
    ) -> Vec<BlockHeader> {
        let template = BlockHeader {
            timestamp: self.spec.genesis_time * 1000 + slot * 8000,
            gasLimit: self.spec.block_gas_limit,
            ..Default::default()
        };
        let mut headers = chained_headers(slot, txs.len() as u32, parent, &template);
        // Re-chain with each block's body hash.
        let (mut hash, _) = parent;
        for (h, t) in headers.iter_mut().zip(txs) {
            h.parentHash = hash;
            h.bodyHash = body_hash(t);
            hash = h.hash();
        }
        headers
    }

    /// The data hash attestations of a block sign, on this chain, when
    /// blocks 0 to it carry `txs`: their blobs' (see `SlotData`), or zero on
    /// a calldata-only chain.
    pub fn data_hash_of(&self, txs: &[Vec<Bytes>]) -> B256 {
        if self.spec.data_mode.signs_blobs() {
            SlotData::encode(txs).unwrap().data_hash()
        } else {
            B256::ZERO
        }
    }

    /// Attestations of `header` by the first `how_many` members of the
    /// committee, over the data of the honest blocks 0 to it
    /// ([`Harness::txs`]).
    pub fn attest(&self, header: &BlockHeader, committee: &[Address], how_many: usize) -> Bytes {
        let txs = self.txs(header.slot, header.index + 1);
        self.attest_over(header, self.data_hash_of(&txs), committee, how_many)
    }

    /// Attestations of `header` over `data_hash` by the first `how_many`
    /// members of the committee.
    pub fn attest_over(
        &self,
        header: &BlockHeader,
        data_hash: B256,
        committee: &[Address],
        how_many: usize,
    ) -> Bytes {
        let signers: Vec<&LocalSigner> = committee
            .iter()
            .take(how_many)
            .map(|m| self.signer(*m))
            .collect();
        attestations(&self.domain, header, data_hash, &signers).unwrap()
    }

    /// A complete honest checkpoint call for `slot` with `count` blocks of
    /// [`Harness::txs`]: in blobs on a blobs-only chain, in calldata
    /// otherwise.
    pub async fn checkpoint(
        &self,
        slot: u64,
        count: u32,
        parent: (B256, u64),
        parent_checkpoint: B256,
    ) -> RollupCall {
        let publish = if self.spec.data_mode == DataMode::Blobs {
            Publish::Blobs
        } else {
            Publish::Calldata
        };
        let txs = self.txs(slot, count);
        self.checkpoint_as(slot, &txs, parent, parent_checkpoint, publish)
            .await
    }

    /// A complete checkpoint call for `slot` with blocks carrying `txs`,
    /// published as `publish` says, attested over the data hash the chain's
    /// data mode asks for; honest when the chain allows `publish`.
    pub async fn checkpoint_as(
        &self,
        slot: u64,
        txs: &[Vec<Bytes>],
        parent: (B256, u64),
        parent_checkpoint: B256,
        publish: Publish,
    ) -> RollupCall {
        let (parts, proposer) = self
            .parts_as(slot, txs, parent, parent_checkpoint, publish)
            .await;
        parts.sign(&self.domain, self.signer(proposer)).unwrap()
    }

    /// The parts of the checkpoint [`Harness::checkpoint_as`] signs, and
    /// the slot's proposer.
    pub async fn parts_as(
        &self,
        slot: u64,
        txs: &[Vec<Bytes>],
        parent: (B256, u64),
        parent_checkpoint: B256,
        publish: Publish,
    ) -> (CheckpointParts, Address) {
        let (committee, proposer) = self.duties(slot).await;
        let headers = self.blocks_with(slot, txs, parent);
        let threshold = 2 * committee.len() / 3 + 1;
        let data = SlotData::encode(txs).unwrap();
        let signs_blobs = self.spec.data_mode.signs_blobs();
        // The last block's attestations vouch for the checkpoint.
        let attestations = self.attest_over(
            headers.last().expect("at least one block"),
            if signs_blobs {
                data.data_hash()
            } else {
                B256::ZERO
            },
            &committee,
            threshold,
        );
        let (bodies, blob_hashes, blobs) = match publish {
            Publish::Calldata if signs_blobs => (data.bodies, data.blob_hashes, Arc::default()),
            Publish::Calldata => (data.bodies, Vec::new(), Arc::default()),
            Publish::Blobs => (Vec::new(), data.blob_hashes, data.blobs),
        };
        let parts = CheckpointParts {
            slot,
            parent_checkpoint,
            headers,
            bodies,
            blob_hashes,
            blobs,
            attestations,
            committee,
        };
        (parts, proposer)
    }

    /// A checkpoint call of `headers` (a slot's first blocks, carrying
    /// `txs`), with the given attestations and proposer signature,
    /// published as the harness's honest checkpoints are.
    pub fn checkpoint_of(
        &self,
        headers: &[BlockHeader],
        txs: &[Vec<Bytes>],
        attestations: Bytes,
        committee: &[Address],
        signature: Bytes,
    ) -> RollupCall {
        let data = SlotData::encode(txs).unwrap();
        let (bodies, blob_hashes, blobs) = match self.spec.data_mode {
            DataMode::Calldata => (data.bodies, Vec::new(), Arc::default()),
            DataMode::Auto => (data.bodies, data.blob_hashes, Arc::default()),
            DataMode::Blobs => (Vec::new(), data.blob_hashes, data.blobs),
        };
        RollupCall::ProposeCheckpoint {
            slot: headers[0].slot,
            headers: headers.to_vec(),
            bodies,
            blob_hashes,
            blobs,
            attestations,
            committee: committee.to_vec(),
            signature,
        }
    }

    /// Submits `call`: a call the L1 refuses at once (it would revert) has
    /// that as its outcome; otherwise it is mined in the next block.
    pub async fn submit(&self, from: Address, call: RollupCall) -> Result<u64, String> {
        match self.l1.submit(from, call, None).await {
            Ok(id) => Ok(id),
            Err(L1Error::Reverted { reason }) => Err(reason),
            Err(e) => panic!("submitting failed: {e}"),
        }
    }

    /// Mines one block and returns everything L1 reported.
    pub async fn mine(&self) -> Vec<L1Event> {
        self.l1.mine_block().await.unwrap();
        self.l1.poll_events().await.unwrap()
    }

    /// Submits, mines one block, and returns the call's outcome and the events.
    pub async fn run(
        &mut self,
        from: Address,
        call: RollupCall,
    ) -> (Result<(), String>, Vec<L1Event>) {
        let submitted = self.submit(from, call).await;
        let events = self.mine().await;
        let outcome = match submitted {
            Ok(id) => L1Event::inclusion(&events, id)
                .expect("the call was included")
                .1
                .map_err(|r| r.0),
            Err(reason) => Err(reason),
        };
        (outcome, events)
    }

    pub async fn expect_revert(&mut self, call: RollupCall, error: &str) {
        let (outcome, _) = self.run(self.reporter, call).await;
        assert_eq!(outcome, Err(error.to_owned()));
    }

    /// Submits every call, mines one block, and checks each outcome.
    pub async fn expect_in_one_block(&mut self, cases: Vec<(RollupCall, Result<(), &str>)>) {
        let mut submitted = Vec::new();
        for (c, _) in &cases {
            submitted.push(self.submit(self.reporter, c.clone()).await);
        }
        let events = self.mine().await;
        for (sub, (call, expected)) in submitted.into_iter().zip(cases) {
            let outcome = match sub {
                Ok(id) => L1Event::inclusion(&events, id)
                    .expect("included")
                    .1
                    .map_err(|r| r.0),
                Err(reason) => Err(reason),
            };
            assert_eq!(outcome, expected.map_err(str::to_owned), "{}", call.name());
        }
    }

    pub async fn standing(&self, who: Address) -> (U256, bool) {
        let s = self.l1.validator(who).await.unwrap();
        (s.stake, s.slashed)
    }
}

/// Runs each listed case on the embedded L1 and on anvil, deployed with the
/// devnet chain spec, or changed by a [`Setup`]: `case @ blobs_only`.
#[macro_export]
macro_rules! on_both_l1s {
    ($($case:ident $(@ $setup:ident)?),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "current_thread")]
                async fn $case() {
                    #[allow(unused_variables)]
                    let setup: super::Setup = super::devnet;
                    $(let setup: super::Setup = super::$setup;)?
                    super::$case(super::Harness::embedded_with(setup)).await;
                }
            )*
        }
        mod anvil {
            $(
                #[tokio::test(flavor = "current_thread")]
                async fn $case() {
                    #[allow(unused_variables)]
                    let setup: super::Setup = super::devnet;
                    $(let setup: super::Setup = super::$setup;)?
                    if let Some(h) = super::Harness::anvil_with(setup).await {
                        super::$case(h).await;
                    }
                }
            )*
        }
    };
}
