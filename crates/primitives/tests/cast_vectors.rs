//! Cross-checks our ABI encodings, EIP-712 digests and signatures against
//! vectors made by foundry's `cast`, an independent implementation.
//! Regenerate with `scripts/gen-cast-vectors.py`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use alloy_primitives::keccak256;
use alloy_sol_types::SolStruct;
use chunkseq_primitives::{
    Address, B256, Bytes, WireCodec,
    crypto::{PrivateKey, SignedStatement, eip712_domain, recover_signer, sign_digest},
    structs::*,
};
use serde_json::Value;

const VECTORS: &str = include_str!("fixtures/cast-vectors.json");

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

struct Fields<'a>(&'a Value);

impl Fields<'_> {
    fn get(&self, name: &str) -> &Value {
        self.0
            .get(name)
            .unwrap_or_else(|| panic!("missing field {name} in {}", self.0))
    }
    fn u64(&self, name: &str) -> u64 {
        let v = self.get(name);
        v.as_u64()
            .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            .unwrap()
    }
    fn u32(&self, name: &str) -> u32 {
        u32::try_from(self.u64(name)).unwrap()
    }
    fn b256(&self, name: &str) -> B256 {
        self.get(name).as_str().unwrap().parse().unwrap()
    }
    fn address(&self, name: &str) -> Address {
        self.get(name).as_str().unwrap().parse().unwrap()
    }
    fn bytes(&self, name: &str) -> Bytes {
        self.get(name).as_str().unwrap().parse().unwrap()
    }
    fn bytes_list(&self, name: &str) -> Vec<Bytes> {
        self.get(name)
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b.as_str().unwrap().parse().unwrap())
            .collect()
    }
    fn nested(&self, name: &str) -> Fields<'_> {
        Fields(self.get(name))
    }
}

fn block_header(f: &Fields<'_>) -> BlockHeader {
    BlockHeader {
        number: f.u64("number"),
        slot: f.u64("slot"),
        index: f.u32("index"),
        parentHash: f.b256("parentHash"),
        timestamp: f.u64("timestamp"),
        coinbase: f.address("coinbase"),
        stateRoot: f.b256("stateRoot"),
        txRoot: f.b256("txRoot"),
        bodyHash: f.b256("bodyHash"),
        receiptsRoot: f.b256("receiptsRoot"),
        gasUsed: f.u64("gasUsed"),
        gasLimit: f.u64("gasLimit"),
        txCount: f.u32("txCount"),
        baseFee: f.u64("baseFee"),
        dataPrice: f.u64("dataPrice"),
    }
}

fn checkpoint_header(f: &Fields<'_>) -> CheckpointHeader {
    CheckpointHeader {
        slot: f.u64("slot"),
        parentCheckpointHash: f.b256("parentCheckpointHash"),
        blockCount: f.u32("blockCount"),
        blocksHash: f.b256("blocksHash"),
    }
}

fn proposal(f: &Fields<'_>) -> BlockProposal {
    BlockProposal {
        slot: f.u64("slot"),
        index: f.u32("index"),
        blockHash: f.b256("blockHash"),
    }
}

fn attestation(f: &Fields<'_>) -> Attestation {
    Attestation {
        slot: f.u64("slot"),
        index: f.u32("index"),
        blockHash: f.b256("blockHash"),
        dataHash: f.b256("dataHash"),
    }
}

fn provisional(f: &Fields<'_>) -> ProvisionalBlock {
    ProvisionalBlock {
        slot: f.u64("slot"),
        index: f.u32("index"),
        blockHash: f.b256("blockHash"),
        checkpointHeaderHash: f.b256("checkpointHeaderHash"),
        attestationsHash: f.b256("attestationsHash"),
    }
}

fn checkpoint(f: &Fields<'_>) -> Checkpoint {
    Checkpoint {
        slot: f.u64("slot"),
        checkpointHeaderHash: f.b256("checkpointHeaderHash"),
        blockCount: f.u32("blockCount"),
        lastBlockHash: f.b256("lastBlockHash"),
    }
}

fn chain_spec_params(f: &Fields<'_>) -> ChainSpecParams {
    ChainSpecParams {
        chainId: f.u64("chainId"),
        l1ChainId: f.u64("l1ChainId"),
        genesisTime: f.u64("genesisTime"),
        slotDurationMs: f.u64("slotDurationMs"),
        l1BlockTimeMs: f.u64("l1BlockTimeMs"),
        chunksPerSlot: f.u32("chunksPerSlot"),
        epochSlots: f.u32("epochSlots"),
        committeeSize: f.u32("committeeSize"),
        blockGasLimit: f.u64("blockGasLimit"),
        blockMaxTxs: f.u32("blockMaxTxs"),
        staggered: f.get("staggered").as_bool().unwrap(),
        attestationTimeoutMs: f.u64("attestationTimeoutMs"),
        syncAllowanceMs: f.u64("syncAllowanceMs"),
        publishAllowanceMs: f.u64("publishAllowanceMs"),
        attestationMarginMs: f.u64("attestationMarginMs"),
        dataMode: u8::try_from(f.u64("dataMode")).unwrap(),
        maxBlobsPerCheckpoint: f.u32("maxBlobsPerCheckpoint"),
        maxCalldataBytes: f.u64("maxCalldataBytes"),
        minBaseFee: f.u64("minBaseFee"),
        baseFeeElasticity: f.u32("baseFeeElasticity"),
        baseFeeChangeDenominator: f.u32("baseFeeChangeDenominator"),
        minDataPrice: f.u64("minDataPrice"),
        dataCompressionPpm: f.u32("dataCompressionPpm"),
    }
}

/// Our encoding of the named struct built from `values`.
fn encode(ty: &str, f: &Fields<'_>) -> Vec<u8> {
    fn both<T: WireCodec + PartialEq + std::fmt::Debug>(value: T) -> Vec<u8> {
        let bytes = value.encode_wire();
        assert_eq!(
            T::decode_wire(&bytes).unwrap(),
            value,
            "{} round trip",
            T::NAME
        );
        bytes
    }
    match ty {
        "BlockHeader" => both(block_header(f)),
        "CheckpointHeader" => both(checkpoint_header(f)),
        "BlockProposal" => both(proposal(f)),
        "Attestation" => both(attestation(f)),
        "ProvisionalBlock" => both(provisional(f)),
        "Checkpoint" => both(checkpoint(f)),
        "ProposalMessage" => both(ProposalMessage {
            header: block_header(&f.nested("header")),
            transactions: f.bytes_list("transactions"),
            signature: f.bytes("signature"),
        }),
        "AttestationMessage" => both(AttestationMessage {
            attestation: attestation(&f.nested("attestation")),
            signature: f.bytes("signature"),
        }),
        "ProvisionalBlockMessage" => both(ProvisionalBlockMessage {
            header: block_header(&f.nested("header")),
            checkpointHeader: checkpoint_header(&f.nested("checkpointHeader")),
            dataHash: f.b256("dataHash"),
            attestations: f.bytes("attestations"),
            proposerSignature: f.bytes("proposerSignature"),
        }),
        "ProposalEquivocation" => both(ProposalEquivocation {
            first: proposal(&f.nested("first")),
            firstSignature: f.bytes("firstSignature"),
            second: proposal(&f.nested("second")),
            secondSignature: f.bytes("secondSignature"),
        }),
        "AttestationEquivocation" => both(AttestationEquivocation {
            first: attestation(&f.nested("first")),
            firstSignature: f.bytes("firstSignature"),
            second: attestation(&f.nested("second")),
            secondSignature: f.bytes("secondSignature"),
        }),
        "CheckpointOmission" => both(CheckpointOmission {
            provisional: provisional(&f.nested("provisional")),
            signature: f.bytes("signature"),
        }),
        "ChainSpecParams" => {
            use alloy_sol_types::SolValue;
            chain_spec_params(f).abi_encode()
        }
        other => panic!("no builder for {other}: add one when adding a struct"),
    }
}

#[test]
fn abi_encodings_match_cast() {
    let v = vectors();
    let cases = v["encodings"].as_array().unwrap();
    assert_eq!(
        cases.len(),
        13,
        "every struct of ChunkseqTypes.sol has a vector"
    );
    for case in cases {
        let ty = case["type"].as_str().unwrap();
        let ours = encode(ty, &Fields(&case["values"]));
        let theirs: Bytes = case["abi"].as_str().unwrap().parse().unwrap();
        assert_eq!(
            Bytes::from(ours.clone()),
            theirs,
            "{ty}: encoding differs from cast"
        );
        let pinned: B256 = case["keccak"].as_str().unwrap().parse().unwrap();
        assert_eq!(keccak256(&ours), pinned, "{ty}: encoding hash changed");
    }
}

fn check_statement<T: SignedStatement + SolStruct>(case: &Value, statement: T) {
    let d = &case["domain"];
    let domain = eip712_domain(
        d["chainId"].as_u64().unwrap(),
        d["verifyingContract"].as_str().unwrap().parse().unwrap(),
    );
    let ty = case["type"].as_str().unwrap();
    let hex = |k: &str| -> B256 { case[k].as_str().unwrap().parse().unwrap() };
    assert_eq!(
        T::eip712_encode_type(),
        case["type_string"].as_str().unwrap(),
        "{ty}"
    );
    assert_eq!(
        statement.eip712_type_hash(),
        hex("type_hash"),
        "{ty} type hash"
    );
    assert_eq!(
        domain.separator(),
        hex("domain_separator"),
        "{ty} domain separator"
    );
    assert_eq!(
        statement.eip712_hash_struct(),
        hex("struct_hash"),
        "{ty} struct hash"
    );
    let digest = statement.digest(&domain);
    assert_eq!(digest, hex("digest"), "{ty} digest");

    let key = PrivateKey::from_hex(case["private_key"].as_str().unwrap()).unwrap();
    let address: Address = case["address"].as_str().unwrap().parse().unwrap();
    assert_eq!(key.address(), address);
    let theirs: Bytes = case["signature"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        recover_signer(&theirs, digest),
        Ok(address),
        "{ty}: cast's signature recovers"
    );
    // Both sides use RFC 6979 nonces, so the signatures are byte-identical.
    assert_eq!(
        Bytes::from(sign_digest(&key, digest).to_vec()),
        theirs,
        "{ty}: signature bytes"
    );
}

#[test]
fn eip712_digests_and_signatures_match_cast() {
    let v = vectors();
    let cases = v["signatures"].as_array().unwrap();
    assert_eq!(cases.len(), 16);
    for case in cases {
        let f = Fields(&case["message"]);
        match case["type"].as_str().unwrap() {
            "BlockProposal" => check_statement(case, proposal(&f)),
            "Attestation" => check_statement(case, attestation(&f)),
            "ProvisionalBlock" => check_statement(case, provisional(&f)),
            "Checkpoint" => check_statement(case, checkpoint(&f)),
            other => panic!("unexpected signed type {other}"),
        }
    }
}
