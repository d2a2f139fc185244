//! `ProtectedSigner`: a [`Signer`] that records every request in the
//! slashing-protection store before the inner signer sees it.

use std::sync::Arc;

use alloy_primitives::Address;
use chunkseq_primitives::{SignRequest, Signer, SignerError, crypto::SIGNATURE_LEN};
use tracing::{error, warn};

use super::{error::SlashingProtectionError, store::SlashingProtectionStore};

/// Wraps a [`Signer`] so that it never signs two different digests for one
/// `(kind, slot, index)` (DESIGN.md section 8).
///
/// Each request is first recorded durably in the store; only a fresh or
/// repeated digest reaches the inner signer. A conflicting request becomes
/// [`SignerError::Conflict`] and a store failure [`SignerError::Unavailable`]:
/// in both cases the inner signer is not called.
#[derive(Debug, Clone)]
pub struct ProtectedSigner<S> {
    inner: S,
    store: Arc<SlashingProtectionStore>,
}

impl<S: Signer> ProtectedSigner<S> {
    /// Puts `inner` behind `store`.
    pub const fn new(inner: S, store: Arc<SlashingProtectionStore>) -> Self {
        Self { inner, store }
    }

    /// The store this signer records in.
    pub const fn store(&self) -> &Arc<SlashingProtectionStore> {
        &self.store
    }

    /// The unprotected signer inside.
    pub const fn inner(&self) -> &S {
        &self.inner
    }
}

impl<S: Signer> Signer for ProtectedSigner<S> {
    fn address(&self) -> Address {
        self.inner.address()
    }

    fn sign(&self, request: &SignRequest) -> Result<[u8; SIGNATURE_LEN], SignerError> {
        let signer = self.inner.address();
        match self.store.check_and_record(signer, request) {
            Ok(_) => self.inner.sign(request),
            Err(SlashingProtectionError::Conflict {
                kind,
                slot,
                index,
                recorded,
                requested,
                ..
            }) => {
                warn!(
                    target: "chunkseq::slashing_protection",
                    %signer, kind = kind.name(), slot = slot.0,
                    index = ?index.map(|i| i.0), %recorded, %requested,
                    "refused to sign a conflicting statement"
                );
                Err(SignerError::Conflict {
                    kind,
                    slot,
                    index,
                    recorded,
                    requested,
                })
            }
            Err(e) => {
                error!(
                    target: "chunkseq::slashing_protection",
                    %signer, kind = request.kind().name(), slot = request.slot().0,
                    error = %e,
                    "slashing protection failed; refused to sign"
                );
                Err(SignerError::Unavailable(e.to_string()))
            }
        }
    }
}
