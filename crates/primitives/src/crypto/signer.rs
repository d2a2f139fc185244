//! The `Signer` trait: the one door every protocol signature goes through.

use alloy_primitives::{Address, B256};
use alloy_sol_types::Eip712Domain;
use thiserror::Error;

use super::{
    eip712::{SignedStatement, StatementKind},
    keys::PrivateKey,
    signature::{SIGNATURE_LEN, SignatureError, recover_signer, sign_digest},
};
use crate::ids::{BlockIndex, Slot, UnixMillis};

/// A request to sign one statement: what slashing protection records before
/// the signature leaves the process. It can only be built from the statement
/// itself, so its key `(kind, slot, index)` always matches its digest.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SignRequest {
    kind: StatementKind,
    slot: Slot,
    index: Option<BlockIndex>,
    digest: B256,
}

impl SignRequest {
    /// Kind of statement.
    pub const fn kind(&self) -> StatementKind {
        self.kind
    }

    /// Slot the statement speaks about.
    pub const fn slot(&self) -> Slot {
        self.slot
    }

    /// Block index, for per-block statements.
    pub const fn index(&self) -> Option<BlockIndex> {
        self.index
    }

    /// The EIP-712 digest to sign.
    pub const fn digest(&self) -> B256 {
        self.digest
    }

    /// The request to sign `statement` under `domain`.
    pub fn new<T: SignedStatement>(domain: &Eip712Domain, statement: &T) -> Self {
        Self {
            kind: T::KIND,
            slot: statement.slot(),
            index: statement.index(),
            digest: statement.digest(domain),
        }
    }
}

/// Why a signature was not produced.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SignerError {
    /// Slashing protection holds a different payload for the same key.
    #[error(
        "refusing to sign a second {kind:?} for {slot} {index:?}: {recorded} was signed already, {requested} requested"
    )]
    Conflict {
        /// Kind of statement.
        kind: StatementKind,
        /// Slot.
        slot: Slot,
        /// Block index.
        index: Option<BlockIndex>,
        /// The digest signed before.
        recorded: B256,
        /// The digest asked for now.
        requested: B256,
    },
    /// The signing backend or its protection store failed; nothing was signed.
    #[error("signer unavailable: {0}")]
    Unavailable(String),
}

/// Which node of a validator pair builds a slot (docs/slashing-protection.md,
/// "A pair that divides the work").
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BuildLease {
    /// This node holds the lease: it builds the slot, or goes on building it.
    Held,
    /// The partner node named here holds a lease that has not expired.
    HeldBy(String),
}

/// Signs protocol statements. Implementations that guard against
/// equivocation wrap another `Signer` and check each request first.
pub trait Signer: Send + Sync {
    /// The address signatures recover to.
    fn address(&self) -> Address;

    /// Takes, renews or learns the lease on building `slot` for this key,
    /// from block `from` on: of two nodes sharing the key, the holder
    /// builds and the other stands by until the holder has not renewed for
    /// `lease_ms` (measured on `now`, the pair's synchronised slot clock).
    /// The lease only divides work; the protection records keep signatures
    /// safe whoever holds it. A signer no other node shares always holds it.
    fn lease_build(
        &self,
        slot: Slot,
        from: BlockIndex,
        now: UnixMillis,
        lease_ms: u64,
    ) -> Result<BuildLease, SignerError> {
        let _ = (slot, from, now, lease_ms);
        Ok(BuildLease::Held)
    }

    /// Whether another node may share this key's build leases (a validator
    /// pair): only then does a builder renew its lease. `false` unless the
    /// signer says otherwise.
    fn leases_shared(&self) -> bool {
        false
    }

    /// Signs the request's digest, returning `r || s || v`.
    fn sign(&self, request: &SignRequest) -> Result<[u8; SIGNATURE_LEN], SignerError>;

    /// Signs `statement` under `domain`.
    fn sign_statement<T: SignedStatement>(
        &self,
        domain: &Eip712Domain,
        statement: &T,
    ) -> Result<[u8; SIGNATURE_LEN], SignerError>
    where
        Self: Sized,
    {
        self.sign(&SignRequest::new(domain, statement))
    }
}

/// A signer holding its key in memory, with no protection of its own.
#[derive(Debug, Clone)]
pub struct LocalSigner {
    key: PrivateKey,
}

impl LocalSigner {
    /// A signer for `key`.
    pub const fn new(key: PrivateKey) -> Self {
        Self { key }
    }
}

impl Signer for LocalSigner {
    fn address(&self) -> Address {
        self.key.address()
    }

    fn sign(&self, request: &SignRequest) -> Result<[u8; SIGNATURE_LEN], SignerError> {
        Ok(sign_digest(&self.key, request.digest()))
    }
}

/// The address that signed `statement` under `domain`.
pub fn recover_statement<T: SignedStatement>(
    domain: &Eip712Domain,
    statement: &T,
    signature: &[u8],
) -> Result<Address, SignatureError> {
    recover_signer(signature, statement.digest(domain))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{crypto::eip712_domain, structs::Checkpoint};

    #[test]
    fn local_signer_signs_what_recovers_to_it() {
        let signer = LocalSigner::new(PrivateKey::from_bytes([4; 32]).unwrap());
        let domain = eip712_domain(31_337, Address::repeat_byte(0xaa));
        let cp = Checkpoint {
            slot: 9,
            checkpointHeaderHash: B256::repeat_byte(1),
            blockCount: 2,
            lastBlockHash: B256::repeat_byte(2),
        };
        let sig = signer.sign_statement(&domain, &cp).unwrap();
        assert_eq!(recover_statement(&domain, &cp, &sig), Ok(signer.address()));
        let req = SignRequest::new(&domain, &cp);
        assert_eq!(
            (req.kind(), req.slot(), req.index()),
            (StatementKind::Checkpoint, Slot(9), None)
        );
    }
}
