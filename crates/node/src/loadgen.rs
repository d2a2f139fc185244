//! The devnet's load generator: signed ETH and ERC-20 transfers from the
//! genesis load accounts, sent through the nodes' JSON-RPC at a set rate.
//!
//! The schedule calls for `t × tps` transactions by time `t` after the load
//! started, whatever the nodes answered. Each account's
//! nonces are handed out in order, and each account always goes to the same
//! running node. Every node has one sender task that carries what is due to
//! the node in `chunkseq_sendRawTransactions` calls, one call in flight at a
//! time, so transactions of one account reach its node in order.
//!
//! A transaction the node refuses for a reason that can pass (a node that is
//! behind, a full pool or sender queue, a node catching up, a node that
//! could not be reached) is sent again, the same bytes, after [`RETRY_MS`]
//! the first time and twice as long each time after, up to
//! [`MAX_RETRY_MS`], as a wallet backs off.
//! Like a wallet, its account sends nothing more until the node takes it:
//! later nonces would only wait behind it in the pool. The schedule moves
//! on with the other accounts; what it calls for while every account waits
//! is counted as held back, not made. An account also has at most
//! [`MAX_UNANSWERED`] transactions the node has not answered yet, so what
//! waits in the client stays bounded and a slow node shows up as held-back
//! load rather than as a queue in the client. A refusal for any other
//! reason is final and retires the account. Each refused transaction counts
//! once in the report's `refused`, by reason.
//!
//! A transaction counts as submitted when a node takes it, and its latency
//! runs from then: the node's acknowledgement is where the node's work
//! starts, and the time before it is the client's.

use std::{
    collections::{HashSet, VecDeque},
    net::SocketAddr,
    time::{Duration, Instant},
};

use alloy_consensus::TxEip1559;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_sol_types::SolCall;
use chunkseq_execution::{
    ILoadToken, LOAD_TOKEN_ADDRESS,
    pool::{sign_transaction, signed_transfer},
};
use chunkseq_primitives::PrivateKey;
use chunkseq_report::Recorder;
use jsonrpsee::{core::client::ClientT, rpc_params};
use jsonrpsee_http_client::HttpClientBuilder;
use tokio::sync::mpsc;
use tracing::{debug, warn};

use crate::rpc::MAX_TX_BATCH;

/// How long a transaction refused for a passing reason waits before it is
/// sent again the first time; each further refusal doubles the wait, up to
/// [`MAX_RETRY_MS`].
pub const RETRY_MS: u64 = 250;

/// The longest wait before a refused transaction is sent again.
pub const MAX_RETRY_MS: u64 = 2_000;

/// The wait before a transaction refused `refusals` times before (and once
/// more now) is sent again.
pub fn retry_wait(refusals: u32) -> Duration {
    let ms = RETRY_MS
        .checked_shl(refusals.min(8))
        .unwrap_or(MAX_RETRY_MS)
        .min(MAX_RETRY_MS);
    Duration::from_millis(ms)
}

/// Most transactions made in one tick (a tick that comes late makes up for
/// the time it missed, up to this).
const MAX_PER_TICK: u64 = 20_000;

/// Transactions of one account a node has not answered yet, at most.
pub const MAX_UNANSWERED: u32 = 8;

/// Load accounts the devnet uses at `tps` transactions per second: 64, or
/// one per 4 tx/s above that, so each account sends about 4 per second and
/// stays far below the pool's per-sender bound of 64 pooled transactions.
pub fn default_accounts(tps: f64) -> usize {
    let per_four = (tps / 4.0).ceil();
    if per_four.is_finite() && per_four > 64.0 {
        // At most a million accounts: far above any rate the devnet carries.
        per_four.min(1e6) as usize
    } else {
        64
    }
}

/// Whether a refusal named `reason` ([`chunkseq_report::refusal_reason`],
/// or `unreachable` for a node that did not answer) can pass, so the same
/// transaction is worth sending again.
pub fn is_retryable(reason: &str) -> bool {
    matches!(
        reason,
        "backlog"
            | "pool_full"
            | "sender_full"
            | "catching_up"
            | "state_unavailable"
            | "unreachable"
    )
}

/// An ERC-20 transfer of one unit of the genesis load token.
pub fn erc20_transfer(key: &PrivateKey, chain_id: u64, nonce: u64, to: Address) -> Bytes {
    let input = ILoadToken::transferCall {
        to,
        value: U256::from(1u64),
    }
    .abi_encode();
    let tx = TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 80_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(LOAD_TOKEN_ADDRESS),
        value: U256::ZERO,
        access_list: Default::default(),
        input: input.into(),
    };
    sign_transaction(key, tx).encoded_2718().into()
}

/// One transaction on its way to a node.
#[derive(Debug, Clone)]
pub struct Job {
    hash: B256,
    raw: Bytes,
    account: usize,
    /// Times it was refused so far.
    refusals: u32,
}

/// What a node said about a transaction.
#[derive(Debug)]
pub enum Outcome {
    /// The pool took it (or already held it).
    Accepted {
        /// The transaction.
        hash: B256,
        /// Its account.
        account: usize,
    },
    /// The node refused it, for the reason named.
    Refused {
        /// The transaction.
        job: Job,
        /// [`chunkseq_report::refusal_reason`]'s name, `invalid` for a
        /// transaction the RPC could not decode, or `unreachable`.
        reason: String,
        /// The node's message.
        message: String,
    },
}

/// A load account.
struct Account {
    key: PrivateKey,
    nonce: u64,
    /// Its transactions sent or waiting to be sent again, not yet taken.
    unanswered: u32,
}

/// The sender task of one node.
struct NodeSender {
    addr: SocketAddr,
    jobs: mpsc::UnboundedSender<Job>,
}

/// A window of the load at a higher rate (the devnet's `--flood-tps`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FloodWindow {
    /// When it starts, after the load started.
    pub start: Duration,
    /// How long it lasts.
    pub length: Duration,
    /// The rate within it.
    pub tps: f64,
}

/// The load generator's state; the devnet's loop drives it.
pub struct LoadGen {
    chain_id: u64,
    tps: f64,
    flood: Option<FloodWindow>,
    erc20_share: f64,
    erc20_debt: f64,
    accounts: Vec<Account>,
    /// Transactions made so far.
    made: u64,
    senders: Vec<Option<NodeSender>>,
    outcomes: mpsc::UnboundedSender<Outcome>,
    /// Refused transactions waiting to go again, in the order they are due.
    retries: VecDeque<(Instant, Job)>,
    /// Transactions refused at least once.
    refused: HashSet<B256>,
    /// Transactions refused for good.
    given_up: u64,
    /// Accounts whose transaction waits to be sent again, by that
    /// transaction: like a wallet, an account sends no later nonce until
    /// its refused one is taken.
    waiting: std::collections::HashMap<B256, usize>,
    /// Whether each account waits.
    blocked: Vec<bool>,
    /// Transactions the schedule called for while every account waited.
    held_back: u64,
}

impl LoadGen {
    /// A generator for `nodes` nodes; outcomes arrive on the returned
    /// receiver and go back through [`Self::outcome`].
    pub fn new(
        chain_id: u64,
        tps: f64,
        erc20_share: f64,
        keys: &[PrivateKey],
        nodes: usize,
    ) -> (Self, mpsc::UnboundedReceiver<Outcome>) {
        let (outcomes, rx) = mpsc::unbounded_channel();
        let load = Self {
            chain_id,
            tps,
            flood: None,
            erc20_share,
            erc20_debt: 0.0,
            accounts: keys
                .iter()
                .map(|k| Account {
                    key: k.clone(),
                    nonce: 0,
                    unanswered: 0,
                })
                .collect(),
            made: 0,
            senders: (0..nodes).map(|_| None).collect(),
            outcomes,
            retries: VecDeque::new(),
            refused: HashSet::new(),
            given_up: 0,
            waiting: std::collections::HashMap::new(),
            blocked: vec![false; keys.len()],
            held_back: 0,
        };
        (load, rx)
    }

    /// Runs at `flood.tps` within the window, at the base rate outside it.
    #[must_use]
    pub const fn with_flood(mut self, flood: FloodWindow) -> Self {
        self.flood = Some(flood);
        self
    }

    /// Transactions due `elapsed` after the load started: the base rate's,
    /// plus the flood's extra over the part of its window that has passed.
    pub fn due(&self, elapsed: Duration) -> u64 {
        let t = elapsed.as_secs_f64();
        let extra = self.flood.map_or(0.0, |f| {
            let start = f.start.as_secs_f64();
            let passed = (t - start).clamp(0.0, f.length.as_secs_f64());
            passed * (f.tps - self.tps)
        });
        let due = (t * self.tps + extra).floor();
        if due.is_finite() && due > 0.0 {
            due as u64
        } else {
            0
        }
    }

    /// Transactions made so far.
    pub const fn made(&self) -> u64 {
        self.made
    }

    /// Transactions refused at least once.
    pub fn refused(&self) -> usize {
        self.refused.len()
    }

    /// Makes and sends what is due `elapsed` after the load started, and
    /// sends again the refused transactions whose wait is over. `rpc(i)` is
    /// node i's RPC address, `None` while it is down; `now` is the moment.
    pub fn tick(
        &mut self,
        elapsed: Duration,
        now: Instant,
        rpc: &dyn Fn(usize) -> Option<SocketAddr>,
    ) {
        let running: Vec<(usize, SocketAddr)> = (0..self.senders.len())
            .filter_map(|i| rpc(i).map(|a| (i, a)))
            .collect();
        if running.is_empty() || self.accounts.is_empty() {
            return;
        }
        while self.retries.front().is_some_and(|(due, _)| *due <= now) {
            if let Some((_, job)) = self.retries.pop_front() {
                self.dispatch(job, &running);
            }
        }
        let count = self
            .due(elapsed)
            .saturating_sub(self.made)
            .min(MAX_PER_TICK);
        for _ in 0..count {
            let Some(job) = self.make() else {
                self.made = self.made.saturating_add(1);
                self.held_back = self.held_back.saturating_add(1);
                continue;
            };
            self.dispatch(job, &running);
        }
    }

    /// Transactions not made because every account waited for a refused
    /// one to be taken or had [`MAX_UNANSWERED`] unanswered.
    pub const fn held_back(&self) -> u64 {
        self.held_back
    }

    /// The next transaction: the next account in turn that is not waiting
    /// for a refused transaction, its next nonce; `None` when all wait.
    fn make(&mut self) -> Option<Job> {
        let n = self.accounts.len();
        let start = usize::try_from(self.made).unwrap_or(0) % n.max(1);
        let account = (0..n).map(|i| (start + i) % n).find(|&a| {
            !self.blocked.get(a).copied().unwrap_or(true)
                && self
                    .accounts
                    .get(a)
                    .is_some_and(|acc| acc.unanswered < MAX_UNANSWERED)
        })?;
        self.made = self.made.saturating_add(1);
        let to = self
            .accounts
            .get((account + 1) % n.max(1))
            .map_or(Address::ZERO, |a| a.key.address());
        self.erc20_debt += self.erc20_share;
        let erc20 = self.erc20_debt >= 1.0;
        if erc20 {
            self.erc20_debt -= 1.0;
        }
        let chain_id = self.chain_id;
        let raw = match self.accounts.get_mut(account) {
            Some(a) => {
                let nonce = a.nonce;
                a.nonce = a.nonce.saturating_add(1);
                a.unanswered = a.unanswered.saturating_add(1);
                if erc20 {
                    erc20_transfer(&a.key, chain_id, nonce, to)
                } else {
                    signed_transfer(&a.key, chain_id, nonce, to, U256::from(1u64))
                }
            }
            None => Bytes::new(),
        };
        Some(Job {
            hash: keccak256(&raw),
            raw,
            account,
            refusals: 0,
        })
    }

    /// Hands `job` to the sender of its account's node.
    fn dispatch(&mut self, job: Job, running: &[(usize, SocketAddr)]) {
        let Some(&(node, addr)) = running.get(job.account % running.len().max(1)) else {
            return;
        };
        let Some(slot) = self.senders.get_mut(node) else {
            return;
        };
        if slot
            .as_ref()
            .is_none_or(|s| s.addr != addr || s.jobs.is_closed())
        {
            let (jobs, rx) = mpsc::unbounded_channel();
            tokio::spawn(send_to(addr, rx, self.outcomes.clone()));
            *slot = Some(NodeSender { addr, jobs });
        }
        if let Some(s) = slot.as_ref()
            && let Err(mpsc::error::SendError(job)) = s.jobs.send(job)
        {
            // The task ended (its client could not be built): try again.
            let _ = self.outcomes.send(Outcome::Refused {
                job,
                reason: "unreachable".into(),
                message: "the sender task stopped".into(),
            });
        }
    }

    /// Takes in a node's answer, which came at `now` (`ms` as the recorder
    /// counts). A transaction the node took counts as submitted from then
    /// (`ms`): latency is the node's, from its acknowledgement.
    pub fn outcome(&mut self, o: Outcome, now: Instant, ms: u64, recorder: &mut Recorder) {
        let (job, reason, message) = match o {
            Outcome::Accepted { hash, account } => {
                if let Some(a) = self.accounts.get_mut(account) {
                    a.unanswered = a.unanswered.saturating_sub(1);
                }
                if self.waiting.remove(&hash).is_some()
                    && let Some(b) = self.blocked.get_mut(account)
                {
                    *b = false;
                }
                recorder.submitted(hash, ms);
                return;
            }
            Outcome::Refused {
                job,
                reason,
                message,
            } => (job, reason, message),
        };
        let retryable = is_retryable(&reason);
        if self.refused.insert(job.hash) {
            recorder.refused(&reason);
            // Passing refusals are expected under load (the per-slot lines
            // and the report count them); the others are worth a warning.
            if retryable {
                debug!(target: "chunkseq::devnet", %reason, %message, "transaction refused, will retry");
            } else {
                warn!(target: "chunkseq::devnet", %reason, %message, "transaction refused");
            }
        }
        if retryable {
            if let Some(b) = self.blocked.get_mut(job.account) {
                *b = true;
            }
            self.waiting.insert(job.hash, job.account);
            let mut job = job;
            let wait = retry_wait(job.refusals);
            job.refusals = job.refusals.saturating_add(1);
            // Waits double from one refusal to the next, so the retries
            // must be kept in order of when they are due.
            let due = now + wait;
            let at = self.retries.partition_point(|(d, _)| *d <= due);
            self.retries.insert(at, (due, job));
        } else {
            // Refused for good: its nonce stays unused, so the account's
            // later transactions cannot execute; it is not used again.
            if let Some(b) = self.blocked.get_mut(job.account) {
                *b = true;
            }
            if let Some(a) = self.accounts.get_mut(job.account) {
                a.unanswered = a.unanswered.saturating_sub(1);
            }
            self.given_up = self.given_up.saturating_add(1);
        }
    }

    /// At the end of the run: refused transactions still waiting to go
    /// again count as given up.
    pub fn finish(&mut self) {
        for _ in self.retries.drain(..) {
            self.given_up = self.given_up.saturating_add(1);
        }
    }

    /// Refused transactions that never made it into a pool.
    pub const fn given_up(&self) -> u64 {
        self.given_up
    }
}

/// The sender task of the node at `addr`: carries jobs in batches, one call
/// in flight, and reports each transaction's outcome.
async fn send_to(
    addr: SocketAddr,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    outcomes: mpsc::UnboundedSender<Outcome>,
) {
    let client = match HttpClientBuilder::default()
        .request_timeout(Duration::from_secs(30))
        .build(format!("http://{addr}"))
    {
        Ok(c) => c,
        Err(e) => {
            warn!(target: "chunkseq::devnet", error = %e, "RPC client");
            return;
        }
    };
    while let Some(first) = jobs.recv().await {
        let mut batch = vec![first];
        while batch.len() < MAX_TX_BATCH {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        let raws: Vec<&Bytes> = batch.iter().map(|j| &j.raw).collect();
        let answer = client
            .request::<Vec<serde_json::Value>, _>("chunkseq_sendRawTransactions", rpc_params![raws])
            .await;
        let mut answers = match answer {
            Ok(a) => a.into_iter(),
            Err(e) => {
                let message = e.to_string();
                for job in batch {
                    let _ = outcomes.send(Outcome::Refused {
                        job,
                        reason: "unreachable".into(),
                        message: message.clone(),
                    });
                }
                // A node that is down is not asked again at once.
                tokio::time::sleep(Duration::from_millis(RETRY_MS)).await;
                continue;
            }
        };
        for job in batch {
            let outcome = match answers.next() {
                Some(serde_json::Value::String(_)) => Outcome::Accepted {
                    hash: job.hash,
                    account: job.account,
                },
                Some(e) => {
                    let reason = e
                        .pointer("/data/reason")
                        .and_then(serde_json::Value::as_str)
                        .unwrap_or("invalid")
                        .to_owned();
                    if reason == "already_known" {
                        Outcome::Accepted {
                            hash: job.hash,
                            account: job.account,
                        }
                    } else {
                        let message = e
                            .get("message")
                            .and_then(serde_json::Value::as_str)
                            .unwrap_or_default()
                            .to_owned();
                        Outcome::Refused {
                            job,
                            reason,
                            message,
                        }
                    }
                }
                None => Outcome::Refused {
                    job,
                    reason: "unreachable".into(),
                    message: "no answer for this transaction".into(),
                },
            };
            if outcomes.send(outcome).is_err() {
                return;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flood_raises_the_rate_within_its_window_only() {
        let keys = chunkseq_execution::dev_keys("flood", 1);
        let (load, _rx) = LoadGen::new(1, 100.0, 0.0, &keys, 1);
        let load = load.with_flood(FloodWindow {
            start: Duration::from_secs(10),
            length: Duration::from_secs(5),
            tps: 1_000.0,
        });
        let s = Duration::from_secs;
        assert_eq!(load.due(s(10)), 1_000, "the base rate before");
        assert_eq!(load.due(s(12)), 1_000 + 2_000, "the flood's rate within");
        assert_eq!(load.due(s(15)), 1_000 + 5_000);
        assert_eq!(load.due(s(20)), 1_000 + 5_000 + 500, "the base rate after");
    }

    #[test]
    fn accounts_scale_with_the_rate() {
        assert_eq!(default_accounts(100.0), 64);
        assert_eq!(default_accounts(256.0), 64);
        assert_eq!(default_accounts(1_000.0), 250);
        assert_eq!(default_accounts(f64::INFINITY), 64);
    }

    #[test]
    fn retries_back_off_up_to_the_cap() {
        let waits: Vec<u64> = (0..6).map(|n| retry_wait(n).as_millis() as u64).collect();
        assert_eq!(waits, [250, 500, 1_000, 2_000, 2_000, 2_000]);
        assert_eq!(retry_wait(u32::MAX).as_millis(), 2_000);
    }

    #[test]
    fn only_passing_refusals_are_retried() {
        for r in [
            "backlog",
            "pool_full",
            "sender_full",
            "catching_up",
            "unreachable",
        ] {
            assert!(is_retryable(r), "{r}");
        }
        for r in ["nonce_too_low", "insufficient_funds", "invalid"] {
            assert!(!is_retryable(r), "{r}");
        }
    }
}
