//! The load generator: signed transfers made ahead of time on a helper
//! thread, handed to the engine in a fixed order.
//!
//! Signing and recovering each load transaction costs more than a node
//! spends on it, and its result depends only on the sender's key and nonce.
//! A helper thread therefore makes them in advance while the engine runs
//! the nodes on the other core. The sequence is fixed (user `i mod n`, that
//! user's next nonce, to user `i + 1`), so the run stays deterministic
//! however the two threads interleave.

use std::{
    sync::mpsc::{Receiver, SyncSender, sync_channel},
    thread::JoinHandle,
};

use alloy_primitives::U256;
use chunkseq_execution::pool::{RecoveredTx, recover, signed_transfer};
use chunkseq_primitives::PrivateKey;

/// Transactions made ahead of the engine, at most.
const AHEAD: usize = 4_096;

/// Wei each load transfer moves.
const TRANSFER_WEI: u64 = 1_000;

/// Why the load generator gave no transaction.
#[derive(Debug, thiserror::Error)]
pub(crate) enum LoadError {
    /// The helper thread could not be started.
    #[error("the load thread could not be started")]
    NotStarted,
    /// The helper thread stopped.
    #[error("the load thread stopped")]
    Stopped,
    /// The run has no load accounts.
    #[error("no load accounts")]
    NoAccounts,
    /// A signed transfer did not recover (a bug in the generator).
    #[error("a load transaction did not recover: {0}")]
    Recover(String),
}

/// The load transactions of a run, in order, made on a helper thread.
pub(crate) struct LoadGenerator {
    next: Receiver<Result<RecoveredTx, LoadError>>,
    worker: Option<JoinHandle<()>>,
}

impl LoadGenerator {
    /// Starts making transfers that rotate through `users` on `chain_id`.
    pub(crate) fn start(users: Vec<PrivateKey>, chain_id: u64) -> Self {
        let (tx, rx) = sync_channel(AHEAD);
        let worker = std::thread::Builder::new()
            .name("sim-load".into())
            .spawn(move || make(&users, chain_id, &tx))
            .ok();
        Self { next: rx, worker }
    }

    /// A generator for a run without load: it makes nothing.
    pub(crate) fn idle() -> Self {
        let (_, next) = sync_channel(0);
        Self { next, worker: None }
    }

    /// The next transaction, or why it could not be made.
    pub(crate) fn next(&mut self) -> Result<RecoveredTx, LoadError> {
        if self.worker.is_none() {
            return Err(LoadError::NotStarted);
        }
        self.next.recv().map_err(|_| LoadError::Stopped)?
    }
}

impl Drop for LoadGenerator {
    fn drop(&mut self) {
        // Closing the channel stops the worker at its next send.
        let (_, closed) = sync_channel(0);
        drop(std::mem::replace(&mut self.next, closed));
        if let Some(w) = self.worker.take() {
            let _ = w.join();
        }
    }
}

/// Makes transfers until the engine hangs up.
fn make(users: &[PrivateKey], chain_id: u64, out: &SyncSender<Result<RecoveredTx, LoadError>>) {
    if users.is_empty() {
        let _ = out.send(Err(LoadError::NoAccounts));
        return;
    }
    let mut nonces = vec![0u64; users.len()];
    for i in (0..users.len()).cycle() {
        let (Some(key), Some(to), Some(nonce)) = (
            users.get(i),
            users.get((i + 1) % users.len()),
            nonces.get_mut(i),
        ) else {
            return;
        };
        let raw = signed_transfer(
            key,
            chain_id,
            *nonce,
            to.address(),
            U256::from(TRANSFER_WEI),
        );
        *nonce = nonce.saturating_add(1);
        let made = recover(&raw, chain_id).map_err(|e| LoadError::Recover(e.to_string()));
        if out.send(made).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

    use chunkseq_execution::dev_keys;

    use super::*;

    #[test]
    fn makes_the_same_sequence_each_time_rotating_users_and_nonces() {
        let users = dev_keys("load test", 3);
        let take = |n| {
            let mut g = LoadGenerator::start(users.clone(), 7);
            (0..n).map(|_| g.next().unwrap()).collect::<Vec<_>>()
        };
        let a = take(7);
        assert_eq!(a, take(7));
        let senders: Vec<_> = a.iter().map(RecoveredTx::sender).collect();
        let nonces: Vec<_> = a.iter().map(RecoveredTx::nonce).collect();
        let addr: Vec<_> = users.iter().map(PrivateKey::address).collect();
        assert_eq!(
            senders,
            [
                addr[0], addr[1], addr[2], addr[0], addr[1], addr[2], addr[0]
            ]
        );
        assert_eq!(nonces, [0, 0, 0, 1, 1, 1, 2]);
    }

    #[test]
    fn no_accounts_is_an_error_not_a_hang() {
        let mut g = LoadGenerator::start(Vec::new(), 7);
        assert!(g.next().is_err());
        assert!(g.next().is_err());
    }
}
