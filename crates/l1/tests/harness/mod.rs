//! The harness of the Rollup contract suites: one [`Harness`] per L1
//! (embedded, or anvil through the RPC L1), and [`on_both_l1s!`], which runs
//! each case on both.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs,
    dead_code,
    unreachable_pub
)]

use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use chunkseq_l1::{
    ControlledL1, EmbeddedConfig, EmbeddedL1, L1Error, L1Event, RollupCall, SharedEmbeddedL1,
    checkpoint_call::{CheckpointParts, attestations, chained_headers},
    rpc::{ANVIL_DEPLOYER_KEY, AnvilProcess, RpcConfig, RpcL1, deploy_rollup},
};
use chunkseq_primitives::{
    BlockHeader, ChainSpec, Eip712Domain, LocalSigner, Preset, PrivateKey, Signer, Slot, Timetable,
};

pub const GENESIS_HASH: B256 = B256::repeat_byte(0x9e);

/// The data hash attestations sign for a checkpoint that names no blob
/// hashes on a chain that signs blobs (the devnet's auto mode): the
/// contract takes `keccak256(abi.encodePacked(blobHashes))` of the empty
/// list. (`chunkseq_primitives::hashing::data_hash(&[])` is zero instead.)
pub fn empty_data_hash() -> B256 {
    keccak256([])
}
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
        let spec = Preset::Devnet.spec();
        let keys = validator_keys(VALIDATORS);
        let addrs: Vec<Address> = keys.iter().map(PrivateKey::address).collect();
        // A minute before genesis, like anvil below.
        let cfg = EmbeddedConfig {
            start: Some(chunkseq_primitives::UnixMillis(
                (spec.genesis_time - 60) * 1000,
            )),
            ..EmbeddedConfig::default()
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
        let Some(binary) = AnvilProcess::locate() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but anvil is not installed: .ci/run installs it into .tools/"
            );
            eprintln!("skipped: anvil not found (set CHUNKSEQ_ANVIL or run .ci/run once)");
            return None;
        };
        let spec = Preset::Devnet.spec();
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

    /// `who`'s two signed attestations for `(slot, 0)`.
    pub fn attestation_equivocation(
        &self,
        who: Address,
        slot: u64,
        (a, b): (u8, u8),
    ) -> chunkseq_primitives::AttestationEquivocation {
        let at = |hash: u8| chunkseq_primitives::Attestation {
            slot,
            index: 0,
            blockHash: B256::repeat_byte(hash),
            dataHash: B256::ZERO,
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

    /// `count` honest blocks for `slot` on top of `parent` (hash, number).
    pub fn blocks(&self, slot: u64, count: u32, parent: (B256, u64)) -> Vec<BlockHeader> {
        let template = BlockHeader {
            timestamp: self.spec.genesis_time * 1000 + slot * 8000,
            gasLimit: self.spec.block_gas_limit,
            bodyHash: keccak256([]),
            ..Default::default()
        };
        chained_headers(slot, count, parent, &template)
    }

    /// Attestations by the first `how_many` members of the committee.
    pub fn attest(&self, header: &BlockHeader, committee: &[Address], how_many: usize) -> Bytes {
        let signers: Vec<&LocalSigner> = committee
            .iter()
            .take(how_many)
            .map(|m| self.signer(*m))
            .collect();
        attestations(&self.domain, header, empty_data_hash(), &signers).unwrap()
    }

    /// A complete honest checkpoint call for `slot` with `count` blocks.
    pub async fn checkpoint(
        &self,
        slot: u64,
        count: u32,
        parent: (B256, u64),
        parent_checkpoint: B256,
    ) -> RollupCall {
        let (committee, proposer) = self.duties(slot).await;
        let headers = self.blocks(slot, count, parent);
        let threshold = 2 * committee.len() / 3 + 1;
        // The last block's attestations vouch for the checkpoint.
        let attestations = self.attest(
            headers.last().expect("at least one block"),
            &committee,
            threshold,
        );
        let parts = CheckpointParts {
            slot,
            parent_checkpoint,
            bodies: vec![Bytes::new(); headers.len()],
            headers,
            blob_hashes: Vec::new(),
            blobs: std::sync::Arc::default(),
            attestations,
            committee,
        };
        parts.sign(&self.domain, self.signer(proposer)).unwrap()
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

/// Runs each listed case on the embedded L1 and on anvil.
#[macro_export]
macro_rules! on_both_l1s {
    ($($case:ident),* $(,)?) => {
        mod embedded {
            $(
                #[tokio::test(flavor = "current_thread")]
                async fn $case() {
                    super::$case(super::Harness::embedded()).await;
                }
            )*
        }
        mod anvil {
            $(
                #[tokio::test(flavor = "current_thread")]
                async fn $case() {
                    if let Some(h) = super::Harness::anvil().await {
                        super::$case(h).await;
                    }
                }
            )*
        }
    };
}
