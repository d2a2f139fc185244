//! What the RPC L1 needs to send blob transactions: the node's blob fee
//! parameters and sidecar version for each fork (from `eth_config`,
//! EIP-7910), and the sidecar of a call's blobs, computed off the async
//! runtime.

use std::sync::Arc;

use alloy::{
    eips::{
        eip4844::{Blob, BlobTransactionSidecar},
        eip7594::{
            BlobTransactionSidecarEip7594, BlobTransactionSidecarVariant, CELLS_PER_EXT_BLOB,
        },
        eip7840::BlobParams,
    },
    providers::{Provider, RootProvider},
};
use alloy_primitives::B256;
use chunkseq_da::SidecarVersion;
use tracing::{debug, warn};

use crate::error::L1Error;

/// Most blobs one transaction carries from Osaka on (EIP-7594's
/// `MAX_BLOBS_PER_TX`); the RPC L1 refuses a call with more.
pub const MAX_BLOBS_PER_TX: usize = 6;

/// The blob rules of one fork of the L1 node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobFork {
    /// When the fork activates (unix seconds).
    pub activation_time: u64,
    /// Its blob fee parameters.
    pub params: BlobParams,
    /// The sidecar its transaction pool takes: EIP-7594 cell proofs from
    /// Osaka on, EIP-4844 blob proofs before.
    pub sidecar: SidecarVersion,
}

/// The node's blob rules, fork by fork.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BlobSchedule {
    /// By activation time, ascending; never empty.
    forks: Vec<BlobFork>,
}

/// The precompile Osaka adds (EIP-7951), by which `eth_config` tells an
/// Osaka fork from an earlier one.
const OSAKA_PRECOMPILE: &str = "P256VERIFY";

impl BlobSchedule {
    /// What is assumed of a node that does not serve `eth_config`: one that
    /// predates Osaka, with Prague's blob parameters.
    pub fn pre_osaka() -> Self {
        Self {
            forks: vec![BlobFork {
                activation_time: 0,
                params: BlobParams::prague(),
                sidecar: SidecarVersion::Eip4844,
            }],
        }
    }

    /// The schedule an `eth_config` result describes (its `current`, `next`
    /// and `last` forks), or `None` when it names no fork with a blob
    /// schedule.
    pub fn from_eth_config(config: &serde_json::Value) -> Option<Self> {
        let mut forks: Vec<BlobFork> = ["current", "next", "last"]
            .iter()
            .filter_map(|k| config.get(*k))
            .filter_map(fork_of)
            .collect();
        forks.sort_by_key(|f| f.activation_time);
        forks.dedup_by_key(|f| f.activation_time);
        (!forks.is_empty()).then_some(Self { forks })
    }

    /// Reads the node's schedule with `eth_config`; a node without it is
    /// taken for a pre-Osaka one ([`Self::pre_osaka`]).
    pub async fn detect(provider: &RootProvider) -> Self {
        let config: Result<serde_json::Value, _> = provider
            .raw_request(std::borrow::Cow::Borrowed("eth_config"), ())
            .await;
        match config.ok().as_ref().and_then(Self::from_eth_config) {
            Some(schedule) => {
                debug!(target: "chunkseq::l1", ?schedule, "blob rules from eth_config");
                schedule
            }
            None => {
                warn!(target: "chunkseq::l1", "the L1 node does not serve eth_config: assuming pre-Osaka blob rules (EIP-4844 sidecars, Prague blob fees)");
                Self::pre_osaka()
            }
        }
    }

    /// The fork in force at `timestamp` (unix seconds).
    pub fn at(&self, timestamp: u64) -> BlobFork {
        let first = self.forks.first().copied().unwrap_or(BlobFork {
            activation_time: 0,
            params: BlobParams::prague(),
            sidecar: SidecarVersion::Eip4844,
        });
        self.forks
            .iter()
            .rev()
            .find(|f| f.activation_time <= timestamp)
            .copied()
            .unwrap_or(first)
    }
}

fn fork_of(fork: &serde_json::Value) -> Option<BlobFork> {
    let schedule = fork.get("blobSchedule")?;
    let number = |v: &serde_json::Value| -> Option<u64> {
        v.as_u64().or_else(|| v.as_str().and_then(parse_quantity))
    };
    let target = number(schedule.get("target")?)?;
    let max = number(schedule.get("max")?)?;
    let fraction = number(schedule.get("baseFeeUpdateFraction")?)?;
    let activation_time = fork.get("activationTime").and_then(number).unwrap_or(0);
    let osaka = fork
        .get("precompiles")
        .and_then(serde_json::Value::as_object)
        .is_some_and(|p| p.contains_key(OSAKA_PRECOMPILE));
    let base = if osaka {
        BlobParams::osaka()
    } else {
        BlobParams::prague()
    };
    Some(BlobFork {
        activation_time,
        params: BlobParams {
            target_blob_count: target,
            max_blob_count: max,
            update_fraction: u128::from(fraction),
            max_blobs_per_tx: if osaka { MAX_BLOBS_PER_TX as u64 } else { max },
            ..base
        },
        sidecar: if osaka {
            SidecarVersion::Eip7594
        } else {
            SidecarVersion::Eip4844
        },
    })
}

fn parse_quantity(s: &str) -> Option<u64> {
    match s.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => s.parse().ok(),
    }
}

/// Refuses more blobs than one transaction may carry.
pub(crate) fn check_blob_count(count: usize) -> Result<(), L1Error> {
    if count > MAX_BLOBS_PER_TX {
        return Err(L1Error::Blobs(format!(
            "{count} blobs, but one transaction carries at most {MAX_BLOBS_PER_TX}"
        )));
    }
    Ok(())
}

/// The `version` sidecar of `blobs` (commitments and proofs; EIP-7594 cell
/// proofs take about 210 ms a blob), computed on tokio's blocking pool.
pub(crate) async fn build_sidecar(
    blobs: Arc<Vec<Blob>>,
    version: SidecarVersion,
) -> Result<BlobTransactionSidecarVariant, L1Error> {
    check_blob_count(blobs.len())?;
    tokio::task::spawn_blocking(move || chunkseq_da::sidecar(blobs.to_vec(), version))
        .await
        .map_err(|e| L1Error::Blobs(format!("the sidecar task failed: {e}")))?
        .map_err(|e| L1Error::Blobs(format!("computing the sidecar: {e}")))
}

/// Checks that `sidecar` carries the blobs `expected` names, in order.
pub(crate) fn check_sidecar_hashes(
    sidecar: &BlobTransactionSidecarVariant,
    expected: &[B256],
) -> Result<(), L1Error> {
    let actual: Vec<B256> = sidecar.versioned_hashes().collect();
    if actual.len() != expected.len() {
        return Err(L1Error::Blobs(format!(
            "the call names {} blob hashes but carries {} blobs",
            expected.len(),
            actual.len()
        )));
    }
    for (index, (a, e)) in actual.iter().zip(expected).enumerate() {
        if a != e {
            return Err(L1Error::Blobs(format!(
                "blob {index} does not match its versioned hash: the call names {e}, the blob commits to {a}"
            )));
        }
    }
    Ok(())
}

/// The first blob of `sidecar` alone, with its commitment and proofs: what
/// the cancel of a blob transaction carries (a blob pool replaces a blob
/// transaction only with another one), without new KZG work.
pub(crate) fn first_blob_only(
    sidecar: &BlobTransactionSidecarVariant,
) -> BlobTransactionSidecarVariant {
    match sidecar {
        BlobTransactionSidecarVariant::Eip4844(s) => {
            BlobTransactionSidecarVariant::Eip4844(BlobTransactionSidecar {
                blobs: s.blobs.iter().take(1).copied().collect(),
                commitments: s.commitments.iter().take(1).copied().collect(),
                proofs: s.proofs.iter().take(1).copied().collect(),
            })
        }
        BlobTransactionSidecarVariant::Eip7594(s) => {
            BlobTransactionSidecarVariant::Eip7594(BlobTransactionSidecarEip7594 {
                blobs: s.blobs.iter().take(1).copied().collect(),
                commitments: s.commitments.iter().take(1).copied().collect(),
                cell_proofs: s
                    .cell_proofs
                    .iter()
                    .take(CELLS_PER_EXT_BLOB)
                    .copied()
                    .collect(),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eth_config_gives_each_fork_its_blob_rules() {
        // What anvil 1.7.1 answers (precompiles shortened), with a next fork.
        let config = serde_json::json!({
            "current": {
                "activationTime": 0,
                "blobSchedule": {"baseFeeUpdateFraction": 5007716, "max": 9, "target": 6},
                "precompiles": {"ECREC": "0x01", "P256VERIFY": "0x100"}
            },
            "next": {
                "activationTime": 1000,
                "blobSchedule": {"baseFeeUpdateFraction": 8346193, "max": 15, "target": 10},
                "precompiles": {"ECREC": "0x01", "P256VERIFY": "0x100"}
            },
            "last": null
        });
        let schedule = BlobSchedule::from_eth_config(&config).unwrap();
        let now = schedule.at(999);
        assert_eq!(now.sidecar, SidecarVersion::Eip7594);
        assert_eq!(
            (now.params.target_blob_count, now.params.max_blob_count),
            (6, 9)
        );
        assert_eq!(now.params.max_blobs_per_tx, 6);
        assert_eq!(
            now.params.blob_base_cost,
            BlobParams::osaka().blob_base_cost
        );
        let later = schedule.at(1000);
        assert_eq!(later.params.update_fraction, 8_346_193);
        assert_eq!(later.params, BlobParams::bpo1());

        let prague = serde_json::json!({"current": {
            "activationTime": "0x0",
            "blobSchedule": {"baseFeeUpdateFraction": 5007716, "max": 9, "target": 6},
            "precompiles": {"ECREC": "0x01"}
        }});
        let schedule = BlobSchedule::from_eth_config(&prague).unwrap();
        assert_eq!(schedule.at(5).sidecar, SidecarVersion::Eip4844);
        assert_eq!(schedule.at(5).params, BlobParams::prague());
        assert_eq!(BlobSchedule::from_eth_config(&serde_json::json!({})), None);
    }

    #[test]
    fn blob_fees_follow_the_fork_parameters() {
        // The same excess prices differently under Prague and BPO1.
        let excess = 10 * 131_072 * 6;
        let prague = BlobParams::prague().calc_blob_fee(excess);
        let bpo1 = BlobParams::bpo1().calc_blob_fee(excess);
        assert!(prague > bpo1, "{prague} vs {bpo1}");
        assert_eq!(BlobParams::prague().calc_blob_fee(0), 1);
    }

    #[test]
    fn more_than_six_blobs_are_refused() {
        assert!(check_blob_count(6).is_ok());
        let err = check_blob_count(7).unwrap_err().to_string();
        assert!(
            err.contains("7 blobs") && err.contains("at most 6"),
            "{err}"
        );
    }
}
