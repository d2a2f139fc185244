//! The committed interchange fixture is a test vector: its digests are the
//! EIP-712 digests of known statements under a known domain, it imports into
//! an empty store, and exporting that store gives the same bytes back.

#![allow(clippy::unwrap_used, missing_docs)]

use std::{path::PathBuf, sync::Arc};

use alloy_primitives::{Address, B256};
use chunkseq_primitives::{
    Attestation, BlockProposal, Checkpoint, Eip712Domain, LocalSigner, PrivateKey,
    ProvisionalBlock, SignRequest, SignedStatement, Signer, SignerError, crypto::eip712_domain,
};
use chunkseq_signer::{
    ImportSummary, Interchange, InterchangeError, InterchangeMetadata, InterchangeRecord,
    InterchangeSigner, ProtectedSigner, SlashingProtectionError, SlashingProtectionStore,
};

fn fixture_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/interchange-v1.json")
}

/// The domain the fixture was written for: L1 chain 31337, rollup at 0xaa…aa.
fn domain() -> Eip712Domain {
    eip712_domain(31_337, Address::repeat_byte(0xaa))
}

fn key(byte: u8) -> PrivateKey {
    PrivateKey::from_bytes([byte; 32]).unwrap()
}

fn proposal(index: u32) -> BlockProposal {
    BlockProposal {
        slot: 12,
        index,
        blockHash: B256::repeat_byte(0x10 + index as u8),
    }
}

fn provisional(index: u32) -> ProvisionalBlock {
    ProvisionalBlock {
        slot: 12,
        index,
        blockHash: B256::repeat_byte(0x10 + index as u8),
        checkpointHeaderHash: B256::repeat_byte(0x20 + index as u8),
        attestationsHash: B256::repeat_byte(0x30 + index as u8),
    }
}

fn attestation(index: u32) -> Attestation {
    Attestation {
        slot: 12,
        index,
        blockHash: B256::repeat_byte(0x10 + index as u8),
        dataHash: B256::repeat_byte(0x40 + index as u8),
    }
}

fn checkpoint() -> Checkpoint {
    Checkpoint {
        slot: 12,
        checkpointHeaderHash: B256::repeat_byte(0x21),
        blockCount: 2,
        lastBlockHash: B256::repeat_byte(0x11),
    }
}

fn record<T: SignedStatement>(statement: &T) -> InterchangeRecord {
    let r = SignRequest::new(&domain(), statement);
    InterchangeRecord {
        kind: r.kind(),
        slot: r.slot(),
        index: r.index(),
        digest: r.digest(),
    }
}

/// What the fixture must hold: key 0x01…01 proposed slot 12 (two blocks and
/// its checkpoint), key 0x02…02 attested both blocks. Records are in the
/// store's order: by signer, slot, kind, then index.
fn expected() -> Interchange {
    let mut signers = vec![
        InterchangeSigner {
            address: key(1).address(),
            signed: vec![
                record(&proposal(0)),
                record(&proposal(1)),
                record(&provisional(0)),
                record(&provisional(1)),
                record(&checkpoint()),
            ],
        },
        InterchangeSigner {
            address: key(2).address(),
            signed: vec![record(&attestation(0)), record(&attestation(1))],
        },
    ];
    signers.sort_by_key(|s| s.address);
    Interchange {
        metadata: InterchangeMetadata {
            interchange_format: "chunkseq-slashing-protection".to_owned(),
            interchange_format_version: "1".to_owned(),
            domain_separator: domain().separator(),
        },
        data: signers,
    }
}

#[test]
fn fixture_holds_the_digests_of_its_statements() {
    let parsed = Interchange::from_file(&fixture_path()).unwrap();
    assert_eq!(parsed, expected());
    assert_eq!(parsed.record_count(), 7);
}

#[test]
fn fixture_imports_protects_and_exports_byte_for_byte() {
    let bytes = std::fs::read(fixture_path()).unwrap();
    let interchange = Interchange::from_json_bytes(&bytes).unwrap();
    let store = Arc::new(SlashingProtectionStore::in_memory().unwrap());
    assert_eq!(
        store.import(&domain(), &interchange).unwrap(),
        ImportSummary {
            imported: 7,
            already_present: 0
        }
    );
    // Importing the same file again changes nothing.
    assert_eq!(
        store.import(&domain(), &interchange).unwrap(),
        ImportSummary {
            imported: 0,
            already_present: 7
        }
    );
    assert_eq!(
        store.export(&domain()).unwrap().to_json_bytes().unwrap(),
        bytes
    );

    // The imported records protect the proposer: the same proposal is signed
    // again, a different block at the same (slot, index) is refused.
    let proposer = ProtectedSigner::new(LocalSigner::new(key(1)), store.clone());
    proposer.sign_statement(&domain(), &proposal(0)).unwrap();
    let other = BlockProposal {
        blockHash: B256::repeat_byte(0xee),
        ..proposal(0)
    };
    assert!(matches!(
        proposer.sign_statement(&domain(), &other),
        Err(SignerError::Conflict { .. })
    ));
    // The attester is bound by its records too.
    let attester = ProtectedSigner::new(LocalSigner::new(key(2)), store.clone());
    let other = Attestation {
        blockHash: B256::repeat_byte(0xee),
        ..attestation(1)
    };
    assert!(matches!(
        attester.sign_statement(&domain(), &other),
        Err(SignerError::Conflict { .. })
    ));
    assert_eq!(store.len().unwrap(), 7);
}

#[test]
fn fixture_is_refused_under_another_domain() {
    let interchange = Interchange::from_file(&fixture_path()).unwrap();
    let store = SlashingProtectionStore::in_memory().unwrap();
    let other_rollup = eip712_domain(31_337, Address::repeat_byte(0xbb));
    let err = store.import(&other_rollup, &interchange).unwrap_err();
    assert!(
        matches!(
            err,
            SlashingProtectionError::Interchange(InterchangeError::WrongDomain { .. })
        ),
        "{err}"
    );
    assert!(store.is_empty().unwrap());
}

/// Prints the expected fixture; run with `--ignored --nocapture` to
/// regenerate it after a deliberate format change.
#[test]
#[ignore = "prints the fixture for regeneration"]
fn print_fixture() {
    print!(
        "{}",
        String::from_utf8(expected().to_json_bytes().unwrap()).unwrap()
    );
}
