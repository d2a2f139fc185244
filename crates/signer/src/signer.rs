//! `ProtectedSigner`: a [`Signer`] that records every request in the
//! slashing-protection store before the inner signer sees it.

use std::sync::Arc;

use alloy_primitives::Address;
use chunkseq_primitives::{
    BlockIndex, BuildLease, SignRequest, Signer, SignerError, Slot, UnixMillis,
    crypto::SIGNATURE_LEN,
};
use tracing::{error, warn};

use super::{error::SlashingProtectionError, protection::ProtectionStore};

/// Wraps a [`Signer`] so that it never signs two different digests for one
/// `(kind, slot, index)` (docs/design.md section 8).
///
/// Each request is first recorded durably in the store; only a fresh or
/// repeated digest reaches the inner signer. A conflicting request becomes
/// [`SignerError::Conflict`] and a store failure [`SignerError::Unavailable`]:
/// in both cases the inner signer is not called.
#[derive(Debug, Clone)]
pub struct ProtectedSigner<S> {
    inner: S,
    store: Arc<dyn ProtectionStore>,
    health: Arc<SigningHealth>,
    /// This node's name in build leases (unique within a pair).
    node: Arc<str>,
}

/// Whether the store let the signer sign lately: the node shows it in its
/// status and metrics. Set by each request (a store failure marks it
/// unavailable with the reason; the next request that reaches the store
/// clears it).
#[derive(Debug, Default)]
pub struct SigningHealth {
    unavailable: parking_lot::Mutex<Option<String>>,
    refused: std::sync::atomic::AtomicU64,
}

impl SigningHealth {
    /// Why the last request could not be recorded, if it could not.
    pub fn unavailable(&self) -> Option<String> {
        self.unavailable.lock().clone()
    }

    /// Requests refused because the store failed, since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(std::sync::atomic::Ordering::Relaxed)
    }

    fn set(&self, outcome: Option<String>) {
        if outcome.is_some() {
            self.refused
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
        *self.unavailable.lock() = outcome;
    }
}

impl<S: Signer> ProtectedSigner<S> {
    /// Puts `inner` behind `store` (a redb file, or PostgreSQL for a
    /// validator pair).
    pub fn new(inner: S, store: Arc<dyn ProtectionStore>) -> Self {
        Self {
            inner,
            store,
            health: Arc::default(),
            node: Arc::from("local"),
        }
    }

    /// The same, naming this node `node` in build leases: the two nodes
    /// of a pair need different names.
    pub fn with_node(mut self, node: &str) -> Self {
        self.node = Arc::from(node);
        self
    }

    /// This node's name in build leases.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// The same, reporting to `health`.
    pub fn with_health(mut self, health: Arc<SigningHealth>) -> Self {
        self.health = health;
        self
    }

    /// The store this signer records in.
    pub const fn store(&self) -> &Arc<dyn ProtectionStore> {
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
            Ok(_) => {
                self.health.set(None);
                self.inner.sign(request)
            }
            Err(SlashingProtectionError::Conflict {
                kind,
                slot,
                index,
                recorded,
                requested,
                ..
            }) => {
                self.health.set(None);
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
                self.health.set(Some(e.to_string()));
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

    fn leases_shared(&self) -> bool {
        self.store.shared()
    }

    fn lease_build(
        &self,
        slot: Slot,
        from: BlockIndex,
        now: UnixMillis,
        lease_ms: u64,
    ) -> Result<BuildLease, SignerError> {
        let signer = self.inner.address();
        self.store
            .lease_build(signer, slot, &self.node, from, now, lease_ms)
            .map_err(|e| {
                self.health.set(Some(e.to_string()));
                warn!(
                    target: "chunkseq::slashing_protection",
                    %signer, slot = slot.0, error = %e,
                    "build lease unavailable"
                );
                SignerError::Unavailable(e.to_string())
            })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{
        Arc, Barrier,
        atomic::{AtomicUsize, Ordering},
    };

    use chunkseq_primitives::{
        BlockProposal, LocalSigner, PrivateKey, StatementKind, crypto::recover_signer,
    };

    use super::*;
    use crate::store::SlashingProtectionStore;
    use crate::test_support::{FailingBackend, domain, request};

    /// A `LocalSigner` that counts its signatures and checks, at the moment
    /// it signs, that the request is already in the store.
    struct Witness {
        local: LocalSigner,
        store: Arc<SlashingProtectionStore>,
        signed: AtomicUsize,
    }

    impl Signer for Witness {
        fn address(&self) -> Address {
            self.local.address()
        }

        fn sign(&self, request: &SignRequest) -> Result<[u8; SIGNATURE_LEN], SignerError> {
            let recorded = self
                .store
                .get(
                    self.address(),
                    request.kind(),
                    request.slot(),
                    request.index(),
                )
                .unwrap();
            assert_eq!(
                recorded,
                Some(request.digest()),
                "signing before the record is in the store"
            );
            self.signed.fetch_add(1, Ordering::SeqCst);
            self.local.sign(request)
        }
    }

    fn protected(key: u8, store: &Arc<SlashingProtectionStore>) -> ProtectedSigner<Witness> {
        ProtectedSigner::new(
            Witness {
                local: LocalSigner::new(PrivateKey::from_bytes([key; 32]).unwrap()),
                store: Arc::clone(store),
                signed: AtomicUsize::new(0),
            },
            store.clone(),
        )
    }

    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    enum Expect {
        Signed,
        Refused,
    }

    /// Who signs: `Me` is the signer under test, `Peer` another key sharing
    /// the same store.
    #[derive(Clone, Copy, Debug)]
    enum Who {
        Me,
        Peer,
    }

    use StatementKind::{Attestation as A, Checkpoint as C, Proposal as P, Provisional as V};

    /// Each row: the rule of docs/design.md section 8 it checks, what was signed
    /// before through the store (`(who, kind, slot, index, payload)`), and
    /// the request under test with its expected outcome.
    #[test]
    fn protected_signer_follows_the_rules_of_section_8() {
        type Req = (Who, StatementKind, u64, u32, u8);
        let rows: &[(&str, &[Req], Req, Expect)] = &[
            (
                "a first request for a key is recorded, then signed",
                &[],
                (Who::Me, P, 1, 0, 1),
                Expect::Signed,
            ),
            (
                "the same payload for a recorded key is signed again (idempotent)",
                &[(Who::Me, P, 1, 0, 1)],
                (Who::Me, P, 1, 0, 1),
                Expect::Signed,
            ),
            (
                "a different proposal for a recorded (slot, index) is refused",
                &[(Who::Me, P, 1, 0, 1)],
                (Who::Me, P, 1, 0, 2),
                Expect::Refused,
            ),
            (
                "a different attestation for a recorded (slot, index) is refused",
                &[(Who::Me, A, 1, 0, 1)],
                (Who::Me, A, 1, 0, 2),
                Expect::Refused,
            ),
            (
                "a different provisional block for a recorded (slot, index) is refused",
                &[(Who::Me, V, 1, 0, 1)],
                (Who::Me, V, 1, 0, 2),
                Expect::Refused,
            ),
            (
                "a different checkpoint for a recorded slot is refused",
                &[(Who::Me, C, 1, 0, 1)],
                (Who::Me, C, 1, 0, 2),
                Expect::Refused,
            ),
            (
                "a repeated checkpoint is signed again",
                &[(Who::Me, C, 1, 0, 1)],
                (Who::Me, C, 1, 0, 1),
                Expect::Signed,
            ),
            (
                "the key includes the kind: an attestation is not a proposal",
                &[(Who::Me, P, 1, 0, 1)],
                (Who::Me, A, 1, 0, 2),
                Expect::Signed,
            ),
            (
                "the key includes the index",
                &[(Who::Me, P, 1, 0, 1)],
                (Who::Me, P, 1, 1, 2),
                Expect::Signed,
            ),
            (
                "the key includes the slot",
                &[(Who::Me, P, 1, 0, 1)],
                (Who::Me, P, 2, 0, 2),
                Expect::Signed,
            ),
            (
                "the key includes the signer: another key's record does not block",
                &[(Who::Peer, P, 1, 0, 1)],
                (Who::Me, P, 1, 0, 2),
                Expect::Signed,
            ),
            (
                "a refusal records nothing: the first payload stays signable",
                &[(Who::Me, P, 1, 0, 1), (Who::Me, P, 1, 0, 2)],
                (Who::Me, P, 1, 0, 1),
                Expect::Signed,
            ),
            (
                "a refusal records nothing: the refused payload stays refused",
                &[(Who::Me, P, 1, 0, 1), (Who::Me, P, 1, 0, 2)],
                (Who::Me, P, 1, 0, 2),
                Expect::Refused,
            ),
        ];
        for (rule, history, (who, kind, slot, index, payload), expect) in rows {
            let store = Arc::new(SlashingProtectionStore::in_memory().unwrap());
            let me = protected(1, &store);
            let peer = protected(2, &store);
            let pick = |w: &Who| match w {
                Who::Me => &me,
                Who::Peer => &peer,
            };
            for (w, k, s, i, p) in history.iter() {
                // History may hold refusals of its own; only the outcome below is checked.
                let _ = pick(w).sign(&request(*k, *s, *i, *p));
            }
            let signer = pick(who);
            let before = signer.inner().signed.load(Ordering::SeqCst);
            let req = request(*kind, *slot, *index, *payload);
            let outcome = signer.sign(&req);
            let after = signer.inner().signed.load(Ordering::SeqCst);
            match expect {
                Expect::Signed => {
                    let sig = outcome.unwrap_or_else(|e| panic!("{rule}: refused: {e}"));
                    assert_eq!(
                        recover_signer(&sig, req.digest()).unwrap(),
                        signer.address(),
                        "{rule}"
                    );
                    assert_eq!(after, before + 1, "{rule}: inner signer not called once");
                }
                Expect::Refused => {
                    match outcome {
                        Err(SignerError::Conflict {
                            kind: k,
                            slot: s,
                            index: i,
                            requested,
                            recorded,
                        }) => {
                            assert_eq!((k, s, i), (req.kind(), req.slot(), req.index()), "{rule}");
                            assert_eq!(requested, req.digest(), "{rule}");
                            assert_ne!(recorded, req.digest(), "{rule}");
                        }
                        other => panic!("{rule}: expected a conflict, got {other:?}"),
                    }
                    assert_eq!(after, before, "{rule}: the inner signer was called");
                }
            }
        }
    }

    #[test]
    fn after_a_restart_the_signer_repeats_itself_and_refuses_anything_else() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sp.redb");
        let signed = request(P, 20, 0, 1);
        let recorded_only = request(A, 20, 1, 1);
        {
            let store = Arc::new(SlashingProtectionStore::open(&path).unwrap());
            let signer = protected(6, &store);
            signer.sign(&signed).unwrap();
            // A crash between recording and signing: the record is all that is left.
            store
                .check_and_record(signer.address(), &recorded_only)
                .unwrap();
        }
        let store = Arc::new(SlashingProtectionStore::open(&path).unwrap());
        let signer = protected(6, &store);
        for (before, other) in [
            (signed, request(P, 20, 0, 2)),
            (recorded_only, request(A, 20, 1, 2)),
        ] {
            signer.sign(&before).unwrap();
            assert!(
                matches!(signer.sign(&other), Err(SignerError::Conflict { recorded, .. }) if recorded == before.digest())
            );
        }
        assert_eq!(signer.inner().signed.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn sign_statement_goes_through_the_store() {
        let store = Arc::new(SlashingProtectionStore::in_memory().unwrap());
        let signer = protected(3, &store);
        let d = domain();
        let proposal = |byte| BlockProposal {
            slot: 8,
            index: 1,
            blockHash: alloy_primitives::B256::repeat_byte(byte),
        };
        signer.sign_statement(&d, &proposal(1)).unwrap();
        assert!(matches!(
            signer.sign_statement(&d, &proposal(2)),
            Err(SignerError::Conflict { .. })
        ));
        assert_eq!(store.len().unwrap(), 1);
    }

    #[test]
    fn a_store_failure_is_unavailable_and_signs_nothing() {
        let backend = FailingBackend::default();
        let fail = Arc::clone(&backend.fail);
        let store = Arc::new(SlashingProtectionStore::with_backend(backend).unwrap());
        let signer = protected(4, &store);
        fail.store(true, Ordering::SeqCst);
        let outcome = signer.sign(&request(P, 1, 0, 1));
        assert!(
            matches!(outcome, Err(SignerError::Unavailable(_))),
            "{outcome:?}"
        );
        assert_eq!(signer.inner().signed.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn racing_signers_sharing_a_store_sign_one_payload() {
        const N: usize = 8;
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(SlashingProtectionStore::open(&dir.path().join("sp.redb")).unwrap());
        // Two handles on one key (an HA pair inside one process), racing.
        let signers: Vec<Arc<ProtectedSigner<Witness>>> =
            (0..N).map(|_| Arc::new(protected(5, &store))).collect();
        let barrier = Arc::new(Barrier::new(N));
        let handles: Vec<_> = signers
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let s = Arc::clone(s);
                let barrier = Arc::clone(&barrier);
                std::thread::spawn(move || {
                    let r = request(A, 9, 0, i as u8 + 1);
                    barrier.wait();
                    s.sign(&r)
                })
            })
            .collect();
        let outcomes: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        let signed = outcomes.iter().filter(|o| o.is_ok()).count();
        let conflicts = outcomes
            .iter()
            .filter(|o| matches!(o, Err(SignerError::Conflict { .. })))
            .count();
        assert_eq!((signed, conflicts), (1, N - 1), "{outcomes:?}");
        let inner_calls: usize = signers
            .iter()
            .map(|s| s.inner().signed.load(Ordering::SeqCst))
            .sum();
        assert_eq!(inner_calls, 1);
    }
}
