//! Ingress: raw bytes to a transaction with its sender, recovered once.
//!
//! The size is checked before a byte is decoded, the type byte before the
//! body (a blob transaction is never decoded), and the decoded transaction
//! must re-encode to exactly the input, so its hash identifies its bytes.
//! The sender is recovered with libsecp256k1 through
//! [`chunkseq_primitives::crypto::recover_signer`], which also rejects
//! high-`s` signatures (EIP-2).

use std::sync::Arc;

use alloy_consensus::{Transaction, TxEnvelope};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use chunkseq_primitives::{codec::MAX_TX_BYTES, crypto::recover_signer};

use super::PoolError;

/// EIP-2718 type bytes accepted besides the untagged legacy encoding.
const EIP2930: u8 = 0x01;
const EIP1559: u8 = 0x02;
/// Type bytes are below this; a legacy transaction starts with an RLP list
/// header, at or above [`RLP_LIST`].
const TYPE_LIMIT: u8 = 0x80;
const RLP_LIST: u8 = 0xc0;

/// A decoded, signature-checked transaction with its sender. Only
/// [`recover`] makes one, so the sender is always the signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoveredTx {
    hash: B256,
    sender: Address,
    nonce: u64,
    gas_limit: u64,
    max_fee_per_gas: u128,
    max_priority_fee_per_gas: u128,
    value: U256,
    encoded: Bytes,
    envelope: Arc<TxEnvelope>,
}

impl RecoveredTx {
    /// The transaction hash: keccak256 of [`Self::encoded`].
    pub const fn hash(&self) -> B256 {
        self.hash
    }

    /// The recovered signer.
    pub const fn sender(&self) -> Address {
        self.sender
    }

    /// The sender's nonce this transaction uses.
    pub const fn nonce(&self) -> u64 {
        self.nonce
    }

    /// The gas limit.
    pub const fn gas_limit(&self) -> u64 {
        self.gas_limit
    }

    /// The fee cap per gas (the gas price of a legacy or EIP-2930 transaction).
    pub const fn max_fee_per_gas(&self) -> u128 {
        self.max_fee_per_gas
    }

    /// The priority fee per gas (the gas price of a legacy or EIP-2930 transaction).
    pub const fn max_priority_fee_per_gas(&self) -> u128 {
        self.max_priority_fee_per_gas
    }

    /// The most the block producer can earn per gas, whatever the base fee:
    /// `min(max_priority_fee_per_gas, max_fee_per_gas)`. The pool orders and
    /// evicts by it.
    pub fn effective_tip(&self) -> u128 {
        self.max_priority_fee_per_gas.min(self.max_fee_per_gas)
    }

    /// The value transferred.
    pub const fn value(&self) -> U256 {
        self.value
    }

    /// The most the transaction can cost its sender: `gas_limit *
    /// max_fee_per_gas + value` (saturating).
    pub fn max_cost(&self) -> U256 {
        U256::from(self.gas_limit)
            .saturating_mul(U256::from(self.max_fee_per_gas))
            .saturating_add(self.value)
    }

    /// The EIP-2718 encoding, exactly as received.
    pub const fn encoded(&self) -> &Bytes {
        &self.encoded
    }

    /// The decoded transaction.
    pub const fn envelope(&self) -> &Arc<TxEnvelope> {
        &self.envelope
    }
}

/// Decodes an EIP-2718 transaction for chain `chain_id` and recovers its sender.
pub fn recover(raw: &[u8], chain_id: u64) -> Result<RecoveredTx, PoolError> {
    if raw.len() > MAX_TX_BYTES {
        return Err(PoolError::TooLarge {
            size: raw.len(),
            max: MAX_TX_BYTES,
        });
    }
    match raw.first() {
        None => return Err(PoolError::Malformed("empty input".into())),
        Some(&ty) if ty < TYPE_LIMIT && ty != EIP2930 && ty != EIP1559 => {
            return Err(PoolError::UnsupportedType(ty));
        }
        Some(&b) if (TYPE_LIMIT..RLP_LIST).contains(&b) => {
            return Err(PoolError::Malformed(
                "neither a type byte nor an RLP list".into(),
            ));
        }
        Some(_) => {}
    }
    let envelope =
        TxEnvelope::decode_2718_exact(raw).map_err(|e| PoolError::Malformed(e.to_string()))?;
    if !matches!(
        envelope,
        TxEnvelope::Legacy(_) | TxEnvelope::Eip2930(_) | TxEnvelope::Eip1559(_)
    ) {
        return Err(PoolError::UnsupportedType(envelope.tx_type() as u8));
    }
    if envelope.encoded_2718() != raw {
        return Err(PoolError::Malformed("non-canonical encoding".into()));
    }
    if envelope.chain_id() != Some(chain_id) {
        return Err(PoolError::WrongChainId {
            expected: chain_id,
            got: envelope.chain_id(),
        });
    }
    let sender = recover_signer(&envelope.signature().as_bytes(), envelope.signature_hash())?;
    Ok(RecoveredTx {
        // Equal to `envelope.tx_hash()`: the encoding is canonical.
        hash: keccak256(raw),
        sender,
        nonce: envelope.nonce(),
        gas_limit: envelope.gas_limit(),
        max_fee_per_gas: envelope.max_fee_per_gas(),
        max_priority_fee_per_gas: envelope.priority_fee_or_price(),
        value: envelope.value(),
        encoded: Bytes::copy_from_slice(raw),
        envelope: Arc::new(envelope),
    })
}

/// [`recover`] for each of a batch of raw transactions, in order.
pub fn recover_batch<T: AsRef<[u8]>>(
    raw: &[T],
    chain_id: u64,
) -> Vec<Result<RecoveredTx, PoolError>> {
    raw.iter().map(|r| recover(r.as_ref(), chain_id)).collect()
}

#[cfg(test)]
mod tests {
    use alloy_consensus::{Signed, TxEip2930, TxEip4844, TxEip7702, TxLegacy};
    use alloy_primitives::{Signature, TxKind, uint};
    use chunkseq_primitives::crypto::SignatureError;
    use proptest::prelude::*;

    use super::*;
    use crate::pool::{sign_transaction, test_utils::*};

    /// The secp256k1 curve order.
    const ORDER: U256 =
        uint!(0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141_U256);

    fn encode(envelope: impl Into<TxEnvelope>) -> Vec<u8> {
        envelope.into().encoded_2718()
    }

    /// A valid EIP-1559 transaction with its signature replaced.
    fn resigned(f: impl FnOnce(&Signature) -> Signature) -> Vec<u8> {
        let tx = eip1559(0, 1);
        let signed = sign_transaction(&key(0), tx.clone());
        encode(Signed::new_unhashed(tx, f(signed.signature())))
    }

    #[test]
    fn supported_types_recover_their_sender() {
        let cases = [
            (
                "legacy EIP-155",
                sign_transaction(&key(0), legacy(Some(CHAIN_ID))),
            ),
            ("EIP-2930", sign_transaction(&key(1), eip2930())),
            ("EIP-1559", sign_transaction(&key(2), eip1559(3, 9))),
        ];
        for (signer, (name, envelope)) in (0..).zip(cases) {
            let raw = envelope.encoded_2718();
            let tx = recover(&raw, CHAIN_ID).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert_eq!(tx.sender(), addr(signer), "{name}");
            assert_eq!(tx.hash(), *envelope.tx_hash(), "{name}");
            assert_eq!(tx.encoded().as_ref(), raw.as_slice(), "{name}");
            assert_eq!(tx.nonce(), envelope.nonce(), "{name}");
            assert_eq!(tx.gas_limit(), envelope.gas_limit(), "{name}");
            assert_eq!(tx.value(), envelope.value(), "{name}");
            assert_eq!(**tx.envelope(), envelope, "{name}");
        }
        let legacy = recover(
            &encode(sign_transaction(&key(0), legacy(Some(CHAIN_ID)))),
            CHAIN_ID,
        );
        let legacy = legacy.unwrap();
        assert_eq!(
            (legacy.max_fee_per_gas(), legacy.max_priority_fee_per_gas()),
            (5, 5),
            "a gas price is both fees"
        );
        let tx = tx(0, 0, 9);
        assert_eq!(tx.max_cost(), U256::from(21_000 * 9 + 1));
    }

    #[test]
    fn rejections() {
        let valid = encode(sign_transaction(&key(0), eip1559(0, 1)));
        let with = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut raw = valid.clone();
            f(&mut raw);
            raw
        };
        assert_eq!(valid.get(4), Some(&0x80), "nonce 0 is the fifth byte");
        let malformed = || PoolError::Malformed(String::new());
        let high_s = resigned(|s| Signature::new(s.r(), ORDER - s.s(), !s.v()));
        let zero_r = resigned(|s| Signature::new(U256::ZERO, s.s(), s.v()));
        let blob = TxEip4844 {
            chain_id: CHAIN_ID,
            gas_limit: 21_000,
            ..Default::default()
        };
        let set_code = TxEip7702 {
            chain_id: CHAIN_ID,
            gas_limit: 21_000,
            ..Default::default()
        };
        let mut other_chain = eip1559(0, 1);
        other_chain.chain_id = CHAIN_ID + 1;
        let cases: Vec<(&str, Vec<u8>, PoolError)> = vec![
            (
                "too large",
                vec![0xc0; MAX_TX_BYTES + 1],
                PoolError::TooLarge {
                    size: MAX_TX_BYTES + 1,
                    max: MAX_TX_BYTES,
                },
            ),
            ("empty", vec![], malformed()),
            ("type 0", vec![0x00, 0xc0], PoolError::UnsupportedType(0)),
            (
                "blob",
                encode(sign_transaction(&key(0), blob)),
                PoolError::UnsupportedType(3),
            ),
            (
                "set code",
                encode(sign_transaction(&key(0), set_code)),
                PoolError::UnsupportedType(4),
            ),
            (
                "type 0x7f",
                vec![0x7f, 0xc0],
                PoolError::UnsupportedType(0x7f),
            ),
            ("RLP string", vec![0x81, 0xff], malformed()),
            ("trailing byte", with(&|r| r.push(0)), malformed()),
            (
                "truncated",
                with(&|r| {
                    r.pop();
                }),
                malformed(),
            ),
            ("non-canonical nonce", with(&|r| r[4] = 0x00), malformed()),
            ("bad RLP", with(&|r| r[1] ^= 0x01), malformed()),
            (
                "other chain",
                encode(sign_transaction(&key(0), other_chain)),
                PoolError::WrongChainId {
                    expected: CHAIN_ID,
                    got: Some(CHAIN_ID + 1),
                },
            ),
            (
                "legacy without chain id",
                encode(sign_transaction(&key(0), legacy(None))),
                PoolError::WrongChainId {
                    expected: CHAIN_ID,
                    got: None,
                },
            ),
            (
                "high s",
                high_s,
                PoolError::BadSignature(SignatureError::HighS),
            ),
            (
                "zero r",
                zero_r,
                PoolError::BadSignature(SignatureError::Invalid),
            ),
        ];
        for (name, raw, expected) in cases {
            let got = recover(&raw, CHAIN_ID).map(|t| t.hash());
            match (&got, &expected) {
                (Err(PoolError::Malformed(_)), PoolError::Malformed(_)) => {}
                _ => assert_eq!(got, Err(expected), "{name}"),
            }
        }
    }

    #[test]
    fn a_signature_over_other_fields_recovers_someone_else() {
        let tx = eip1559(0, 1);
        let signed = sign_transaction(&key(0), tx.clone());
        let mut changed = tx;
        changed.value = U256::from(1_000_000);
        changed.to = TxKind::Call(Address::repeat_byte(0x01));
        let forged = encode(Signed::new_unhashed(changed, *signed.signature()));
        let recovered = recover(&forged, CHAIN_ID).map(|t| t.sender());
        assert_ne!(recovered, Ok(addr(0)));
    }

    #[test]
    fn batch_recovers_each_in_order() {
        let raw = vec![
            raw_1559(eip1559(0, 1), 0),
            Bytes::from_static(&[0x03]),
            raw_1559(eip1559(4, 2), 1),
        ];
        let got: Vec<_> = recover_batch(&raw, CHAIN_ID)
            .into_iter()
            .map(|r| r.map(|t| (t.sender(), t.nonce())))
            .collect();
        assert_eq!(
            got,
            vec![
                Ok((addr(0), 0)),
                Err(PoolError::UnsupportedType(3)),
                Ok((addr(1), 4)),
            ]
        );
    }

    fn valid_raw() -> impl Strategy<Value = Vec<u8>> {
        (0..3u8, any::<u64>(), any::<u64>()).prop_map(|(kind, nonce, fee)| {
            let fee = u128::from(fee);
            match kind {
                0 => encode(sign_transaction(
                    &key(1),
                    TxLegacy {
                        nonce,
                        gas_price: fee,
                        ..legacy(Some(CHAIN_ID))
                    },
                )),
                1 => encode(sign_transaction(&key(1), TxEip2930 { nonce, ..eip2930() })),
                _ => raw_1559(eip1559(nonce, fee), 1).to_vec(),
            }
        })
    }

    fn mutated() -> impl Strategy<Value = Vec<u8>> {
        (
            valid_raw(),
            proptest::collection::vec((any::<usize>(), any::<u8>()), 0..4),
            any::<usize>(),
        )
            .prop_map(|(mut raw, flips, cut)| {
                for (at, byte) in flips {
                    let len = raw.len();
                    if let Some(b) = raw.get_mut(at % len) {
                        *b = byte;
                    }
                }
                if cut % 4 == 0 {
                    raw.truncate(cut % (raw.len() + 1));
                }
                raw
            })
    }

    fn arbitrary_bytes() -> impl Strategy<Value = Vec<u8>> {
        let prefix = prop_oneof![
            Just(vec![]),
            Just(vec![0x01]),
            Just(vec![0x02]),
            Just(vec![0xf8])
        ];
        (prefix, proptest::collection::vec(any::<u8>(), 0..400)).prop_map(|(mut p, rest)| {
            p.extend(rest);
            p
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn decoding_arbitrary_bytes_never_panics(raw in prop_oneof![arbitrary_bytes(), mutated()]) {
            if let Ok(tx) = recover(&raw, CHAIN_ID) {
                prop_assert_eq!(tx.encoded().as_ref(), raw.as_slice());
                prop_assert_eq!(tx.hash(), *tx.envelope().tx_hash());
            }
        }

        #[test]
        fn valid_transactions_recover(raw in valid_raw()) {
            let tx = recover(&raw, CHAIN_ID);
            prop_assert_eq!(tx.map(|t| t.sender()), Ok(addr(1)));
        }
    }
}
