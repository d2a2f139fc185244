//! Signing a digest and recovering its signer, with libsecp256k1.
//!
//! Signatures travel as 65 bytes `r || s || v` with `v` in {27, 28}, the form
//! Solidity's `ecrecover` takes. Only low-`s` signatures are accepted, so each
//! statement has exactly one valid signature per key and its encoding (and
//! anything hashed over it) is unique.

use alloy_primitives::{Address, B256, U256, uint};
use secp256k1::{
    Message, SECP256K1,
    ecdsa::{RecoverableSignature, RecoveryId},
};
use thiserror::Error;

use super::keys::{PrivateKey, public_key_address};

/// Length of an encoded signature.
pub const SIGNATURE_LEN: usize = 65;

/// Half the secp256k1 curve order: the largest accepted `s`.
const HALF_ORDER: U256 =
    uint!(0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0_U256);

/// Why a signature does not recover to a signer.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignatureError {
    /// Not 65 bytes.
    #[error("a signature is {SIGNATURE_LEN} bytes, got {0}")]
    Length(usize),
    /// `v` is not 27 or 28.
    #[error("signature v must be 27 or 28, got {0}")]
    RecoveryByte(u8),
    /// `s` is above half the curve order (a malleated signature).
    #[error("signature s is not in the lower half of the curve order")]
    HighS,
    /// `r` or `s` is zero or out of range, or no key recovers.
    #[error("signature does not recover to a public key")]
    Invalid,
}

/// Signs a 32-byte digest (RFC 6979 deterministic nonce, low `s`).
pub fn sign_digest(key: &PrivateKey, digest: B256) -> [u8; SIGNATURE_LEN] {
    let sig = SECP256K1.sign_ecdsa_recoverable(Message::from_digest(digest.0), key.secret());
    let (recid, compact) = sig.serialize_compact();
    let mut out = [0u8; SIGNATURE_LEN];
    let (rs, v) = out.split_at_mut(64);
    rs.copy_from_slice(&compact);
    // The recovery id of a signature made by libsecp256k1 is 0 or 1.
    let parity: i32 = recid.into();
    if let Some(v) = v.first_mut() {
        *v = if parity == 0 { 27 } else { 28 };
    }
    out
}

/// Recovers the address that signed `digest`; rejects malformed, malleated
/// and invalid signatures.
pub fn recover_signer(signature: &[u8], digest: B256) -> Result<Address, SignatureError> {
    let bytes: &[u8; SIGNATURE_LEN] = signature
        .try_into()
        .map_err(|_| SignatureError::Length(signature.len()))?;
    let (rs, v) = bytes.split_at(64);
    let recid = match v.first() {
        Some(27) => RecoveryId::Zero,
        Some(28) => RecoveryId::One,
        other => {
            return Err(SignatureError::RecoveryByte(
                other.copied().unwrap_or_default(),
            ));
        }
    };
    let (_, s) = rs.split_at(32);
    if U256::from_be_slice(s) > HALF_ORDER {
        return Err(SignatureError::HighS);
    }
    let sig = RecoverableSignature::from_compact(rs, recid).map_err(|_| SignatureError::Invalid)?;
    let public = SECP256K1
        .recover_ecdsa(Message::from_digest(digest.0), &sig)
        .map_err(|_| SignatureError::Invalid)?;
    Ok(public_key_address(&public))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> PrivateKey {
        PrivateKey::from_bytes([byte; 32]).unwrap()
    }

    #[test]
    fn sign_then_recover() {
        let k = key(7);
        let d = B256::repeat_byte(0x42);
        let sig = sign_digest(&k, d);
        assert_eq!(recover_signer(&sig, d), Ok(k.address()));
        assert_ne!(
            recover_signer(&sig, B256::repeat_byte(0x43)),
            Ok(k.address())
        );
        assert_eq!(sign_digest(&k, d), sig, "deterministic nonce");
    }

    #[test]
    fn malformed_signatures_are_rejected() {
        let k = key(9);
        let d = B256::repeat_byte(1);
        let sig = sign_digest(&k, d);
        assert_eq!(
            recover_signer(&sig[..64], d),
            Err(SignatureError::Length(64))
        );
        let mut bad_v = sig;
        bad_v[64] = 1;
        assert_eq!(
            recover_signer(&bad_v, d),
            Err(SignatureError::RecoveryByte(1))
        );
        assert_eq!(
            recover_signer(&[0u8; 65][..], d),
            Err(SignatureError::RecoveryByte(0))
        );
        let mut zero = [0u8; 65];
        zero[64] = 27;
        assert_eq!(recover_signer(&zero, d), Err(SignatureError::Invalid));
    }

    #[test]
    fn malleated_high_s_is_rejected() {
        // n - s with the other parity is the same signature, malleated.
        const ORDER: U256 =
            uint!(0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141_U256);
        let k = key(3);
        let d = B256::repeat_byte(5);
        let sig = sign_digest(&k, d);
        let s = U256::from_be_slice(&sig[32..64]);
        let mut malleated = sig;
        malleated[32..64].copy_from_slice(&(ORDER - s).to_be_bytes::<32>());
        malleated[64] = if sig[64] == 27 { 28 } else { 27 };
        assert_eq!(recover_signer(&malleated, d), Err(SignatureError::HighS));
    }
}
