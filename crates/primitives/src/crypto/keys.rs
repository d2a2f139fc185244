//! secp256k1 private keys and the Ethereum addresses they control.

use core::fmt;

use alloy_primitives::{Address, B256, keccak256};
use secp256k1::{PublicKey, SecretKey};
use thiserror::Error;

/// Why bytes are not a private key.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KeyError {
    /// Zero, or not below the curve order.
    #[error("not a valid secp256k1 private key (zero or not below the curve order)")]
    OutOfRange,
    /// Not 32 bytes of hex.
    #[error("a private key is 32 bytes of hex: {0}")]
    Malformed(String),
}

/// A secp256k1 private key. Its `Debug` shows only the address.
#[derive(Clone, PartialEq, Eq)]
pub struct PrivateKey {
    secret: SecretKey,
    address: Address,
}

impl PrivateKey {
    /// The key with these 32 bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Result<Self, KeyError> {
        let secret = SecretKey::from_byte_array(bytes).map_err(|_| KeyError::OutOfRange)?;
        let public = PublicKey::from_secret_key_global(&secret);
        Ok(Self {
            secret,
            address: public_key_address(&public),
        })
    }

    /// The key from a hex string, with or without `0x`.
    pub fn from_hex(text: &str) -> Result<Self, KeyError> {
        let b: B256 = text
            .trim()
            .parse()
            .map_err(|e| KeyError::Malformed(format!("{e}")))?;
        Self::from_bytes(b.0)
    }

    /// The Ethereum address of the key.
    pub const fn address(&self) -> Address {
        self.address
    }

    /// The raw 32 secret bytes; handle with care.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.secret.secret_bytes()
    }

    pub(crate) const fn secret(&self) -> &SecretKey {
        &self.secret
    }
}

impl fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PrivateKey")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// The Ethereum address of a public key: the last 20 bytes of the keccak256
/// of its uncompressed encoding without the `0x04` prefix.
pub(crate) fn public_key_address(public: &PublicKey) -> Address {
    let uncompressed = public.serialize_uncompressed();
    let (_, xy) = uncompressed.split_at(1);
    Address::from_word(keccak256(xy))
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::address;

    #[test]
    fn well_known_test_key_has_its_address() {
        // The first account of the public test mnemonic used by local L1s.
        let key = PrivateKey::from_hex(
            "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
        )
        .unwrap();
        assert_eq!(
            key.address(),
            address!("0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
        assert!(
            !format!("{key:?}").contains("ac0974"),
            "Debug must not print the secret"
        );
    }

    #[test]
    fn invalid_keys_are_errors() {
        assert_eq!(PrivateKey::from_bytes([0; 32]), Err(KeyError::OutOfRange));
        assert_eq!(
            PrivateKey::from_bytes([0xff; 32]),
            Err(KeyError::OutOfRange)
        );
        assert!(matches!(
            PrivateKey::from_hex("0x1234"),
            Err(KeyError::Malformed(_))
        ));
    }
}
