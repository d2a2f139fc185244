//! Property tests of the wire codec: every value round-trips, and no input,
//! however malformed, makes a decoder panic.

#![allow(clippy::unwrap_used, missing_docs)]

use chunkseq_primitives::{
    Address, B256, Bytes, Evidence, WireCodec,
    codec::{DecodeError, MAX_SMALL_MESSAGE_BYTES, MAX_TX_BYTES},
    structs::*,
};
use proptest::prelude::*;

fn b256() -> impl Strategy<Value = B256> {
    any::<[u8; 32]>().prop_map(B256::from)
}

fn bytes(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 1..max).prop_map(Bytes::from)
}

fn signature() -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(any::<u8>(), 65).prop_map(Bytes::from)
}

fn signatures(max: usize) -> impl Strategy<Value = Bytes> {
    proptest::collection::vec(signature(), 0..max).prop_map(|v| v.concat().into())
}

prop_compose! {
    fn header()(
        number in any::<u64>(), slot in any::<u64>(), index in any::<u32>(), parent in b256(),
        timestamp in any::<u64>(), coinbase in any::<[u8; 20]>(), roots in (b256(), b256(), b256(), b256()),
        gas in (any::<u64>(), any::<u64>()), tx_count in any::<u32>(),
        prices in (any::<u64>(), any::<u64>()),
    ) -> BlockHeader {
        BlockHeader {
            number, slot, index, parentHash: parent, timestamp, coinbase: Address::from(coinbase),
            stateRoot: roots.0, txRoot: roots.1, bodyHash: roots.3, receiptsRoot: roots.2,
            gasUsed: gas.0, gasLimit: gas.1, txCount: tx_count, baseFee: prices.0,
            dataPrice: prices.1,
        }
    }
}

prop_compose! {
    fn checkpoint_header()(slot in any::<u64>(), parent in b256(), count in any::<u32>(), blocks in b256())
        -> CheckpointHeader {
        CheckpointHeader { slot, parentCheckpointHash: parent, blockCount: count, blocksHash: blocks }
    }
}

prop_compose! {
    fn proposal()(slot in any::<u64>(), index in any::<u32>(), hash in b256()) -> BlockProposal {
        BlockProposal { slot, index, blockHash: hash }
    }
}

prop_compose! {
    fn attestation()(slot in any::<u64>(), index in any::<u32>(), hash in b256(), data in b256()) -> Attestation {
        Attestation { slot, index, blockHash: hash, dataHash: data }
    }
}

prop_compose! {
    fn provisional()(slot in any::<u64>(), index in any::<u32>(), h in (b256(), b256(), b256()))
        -> ProvisionalBlock {
        ProvisionalBlock { slot, index, blockHash: h.0, checkpointHeaderHash: h.1, attestationsHash: h.2 }
    }
}

fn round_trips<T: WireCodec + PartialEq + std::fmt::Debug>(value: T) -> Result<(), TestCaseError> {
    let bytes = value.encode_wire();
    prop_assert_eq!(T::decode_wire(&bytes), Ok(value));
    Ok(())
}

proptest! {
    #[test]
    fn fixed_structs_round_trip(h in header(), c in checkpoint_header(), p in proposal(), a in attestation(), v in provisional(),
                                cp in (any::<u64>(), b256(), any::<u32>(), b256())) {
        round_trips(h)?;
        round_trips(c)?;
        round_trips(p)?;
        round_trips(a)?;
        round_trips(v)?;
        round_trips(Checkpoint { slot: cp.0, checkpointHeaderHash: cp.1, blockCount: cp.2, lastBlockHash: cp.3 })?;
    }

    #[test]
    fn messages_round_trip(
        h in header(), txs in proptest::collection::vec(bytes(300), 0..20), sig in signature(),
        a in attestation(), c in checkpoint_header(), atts in signatures(40),
    ) {
        round_trips(ProposalMessage { header: h.clone(), transactions: txs, signature: sig.clone() })?;
        round_trips(AttestationMessage { attestation: a, signature: sig.clone() })?;
        round_trips(ProvisionalBlockMessage { dataHash: h.txRoot, header: h, checkpointHeader: c, attestations: atts, proposerSignature: sig })?;
    }

    #[test]
    fn evidence_round_trips(p1 in proposal(), p2 in proposal(), a1 in attestation(), a2 in attestation(),
                            v in provisional(), s in (signature(), signature())) {
        prop_assume!(p1.blockHash != p2.blockHash && a1.blockHash != a2.blockHash);
        for e in [
            Evidence::proposal_equivocation((p1.clone(), s.0.clone()), (p2.clone(), s.1.clone())),
            Evidence::attestation_equivocation((a1.clone(), s.0.clone()), (a2.clone(), s.1.clone())),
            Evidence::CheckpointOmission(CheckpointOmission { provisional: v.clone(), signature: s.0.clone() }),
        ] {
            prop_assert_eq!(Evidence::decode_wire(&e.encode_wire()), Ok(e));
        }
    }

    /// Arbitrary bytes: each decoder returns a value or an error, never panics,
    /// and anything it accepts re-encodes to exactly the input (one encoding per value).
    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..1500)) {
        fn canonical<T: WireCodec>(data: &[u8]) -> Result<(), TestCaseError> {
            if let Ok(v) = T::decode_wire(data) {
                prop_assert_eq!(v.encode_wire(), data.to_vec());
            }
            Ok(())
        }
        canonical::<BlockHeader>(&data)?;
        canonical::<CheckpointHeader>(&data)?;
        canonical::<BlockProposal>(&data)?;
        canonical::<Attestation>(&data)?;
        canonical::<ProvisionalBlock>(&data)?;
        canonical::<Checkpoint>(&data)?;
        canonical::<ProposalMessage>(&data)?;
        canonical::<AttestationMessage>(&data)?;
        canonical::<ProvisionalBlockMessage>(&data)?;
        canonical::<ProposalEquivocation>(&data)?;
        canonical::<AttestationEquivocation>(&data)?;
        canonical::<CheckpointOmission>(&data)?;
        if let Ok(e) = Evidence::decode_wire(&data) {
            prop_assert_eq!(e.encode_wire(), data);
        }
    }

    /// Valid encodings with random corruption: still never a panic.
    #[test]
    fn corrupted_messages_never_panic(
        h in header(), txs in proptest::collection::vec(bytes(100), 0..6), sig in signature(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut data = ProposalMessage { header: h, transactions: txs, signature: sig }.encode_wire();
        for (at, byte) in flips {
            let i = at.index(data.len());
            data[i] = byte;
        }
        for input in [&data[..], &data[..cut.index(data.len())]] {
            if let Ok(v) = ProposalMessage::decode_wire(input) {
                prop_assert_eq!(v.encode_wire(), input.to_vec(), "accepted bytes have one encoding");
            }
        }
    }
}

#[test]
fn huge_length_prefix_is_an_error_not_an_allocation() {
    // An array claiming 2^60 transactions inside a small message.
    let mut data = ProposalMessage {
        header: BlockHeader::default(),
        transactions: vec![],
        signature: Bytes::new(),
    }
    .encode_wire();
    let len_word = 32 + 32 * 16; // the transactions array's length word
    data[len_word + 24..len_word + 32].copy_from_slice(&(1u64 << 60).to_be_bytes());
    assert!(matches!(
        ProposalMessage::decode_wire(&data),
        Err(DecodeError::Malformed { .. })
    ));
    assert!(data.len() < MAX_SMALL_MESSAGE_BYTES);
}

#[test]
fn proposal_limits_beyond_the_abi() {
    let ok = ProposalMessage {
        header: BlockHeader::default(),
        transactions: vec![Bytes::from(vec![1u8; 10])],
        signature: Bytes::from(vec![0u8; 65]),
    };
    assert!(ProposalMessage::decode_wire(&ok.encode_wire()).is_ok());
    let mut big_tx = ok.clone();
    big_tx.transactions = vec![Bytes::from(vec![1u8; MAX_TX_BYTES + 1])];
    let mut empty_tx = ok.clone();
    empty_tx.transactions = vec![Bytes::new()];
    let mut short_sig = ok.clone();
    short_sig.signature = Bytes::from(vec![0u8; 64]);
    for bad in [big_tx, empty_tx, short_sig] {
        assert!(matches!(
            ProposalMessage::decode_wire(&bad.encode_wire()),
            Err(DecodeError::Invalid { .. })
        ));
    }
    let partial = ProvisionalBlockMessage {
        header: BlockHeader::default(),
        checkpointHeader: CheckpointHeader::default(),
        dataHash: B256::ZERO,
        attestations: Bytes::from(vec![0u8; 100]),
        proposerSignature: Bytes::from(vec![0u8; 65]),
    };
    assert!(matches!(
        ProvisionalBlockMessage::decode_wire(&partial.encode_wire()),
        Err(DecodeError::Invalid { .. })
    ));
}
