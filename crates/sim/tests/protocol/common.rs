//! Shorthands the protocol tests share over a `ScriptedRun`.

use alloy_primitives::{Address, B256};
use chunkseq_primitives::{ChainSpec, PrivateKey, UnixMillis};
use chunkseq_protocol::Core;
use chunkseq_sim::{Recorded, ScriptedRun};

/// `validators` validators on `spec`, starting at genesis with the first
/// committees recorded.
pub fn scripted(spec: ChainSpec, validators: usize) -> ScriptedRun {
    ScriptedRun::new(spec, validators).unwrap()
}

/// What the tests ask of a run, unwrapped.
pub trait Run {
    /// Runs until `until`, calling `script` every second, and checks that
    /// no node rejected a message on the way (no honest node misbehaves in
    /// these runs, and injected messages are valid).
    fn run(&mut self, until: UnixMillis, script: impl FnMut(&mut ScriptedRun));
    /// Node `i`'s core.
    fn node(&self, i: usize) -> &Core;
    /// Validator `i`'s address.
    fn addr(&self, i: usize) -> Address;
    /// Validator `i`'s key.
    fn key_of(&self, i: usize) -> PrivateKey;
    /// The validator that proposes `slot`.
    fn proposer(&mut self, slot: u64) -> usize;
    /// A transfer from user `u`, handed to every node now.
    fn transfer(&mut self, u: usize) -> B256;
}

impl Run for ScriptedRun {
    fn run(&mut self, until: UnixMillis, script: impl FnMut(&mut ScriptedRun)) {
        self.run_until(until, script);
        let rejected: Vec<_> = self
            .log()
            .iter()
            .filter(|r| matches!(r.what, Recorded::Rejected { .. }))
            .collect();
        assert!(
            rejected.is_empty(),
            "a node rejected a message: {rejected:?}"
        );
    }

    fn node(&self, i: usize) -> &Core {
        self.core(i).unwrap()
    }

    fn addr(&self, i: usize) -> Address {
        self.address(i).unwrap()
    }

    fn key_of(&self, i: usize) -> PrivateKey {
        self.key(i).unwrap().clone()
    }

    fn proposer(&mut self, slot: u64) -> usize {
        self.proposer_of(slot).unwrap()
    }

    fn transfer(&mut self, u: usize) -> B256 {
        self.send_transfer(u).unwrap()
    }
}
