//! Scenarios: what a run simulates (preset, nodes, load, network, faults),
//! from TOML files or the built-in list.

use std::path::Path;

use chunkseq_protocol::byzantine::Behaviour;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Largest scenario file read.
const MAX_SCENARIO_BYTES: u64 = 1024 * 1024;

/// The network between nodes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NetworkModel {
    /// Median one-way latency of a link, ms.
    pub latency_median_ms: f64,
    /// Sigma of the log-normal jitter around the median.
    pub latency_sigma: f64,
    /// Upload bandwidth of each node, megabits per second.
    pub bandwidth_mbps: f64,
    /// Probability that a message to one peer is lost.
    pub loss: f64,
    /// Scheduled partitions.
    pub partitions: Vec<Partition>,
    /// Gossip transactions a node receives are checked in batches: at most
    /// this long after they arrive, and always before the node's next other
    /// input, so a proposer seals with every transaction that reached it.
    /// 0 checks each one on arrival.
    pub tx_batch_ms: u64,
}

impl Default for NetworkModel {
    fn default() -> Self {
        Self {
            latency_median_ms: 50.0,
            latency_sigma: 0.25,
            bandwidth_mbps: 1_000.0,
            loss: 0.0,
            partitions: Vec::new(),
            tx_batch_ms: 200,
        }
    }
}

/// Nodes split into groups that cannot reach each other during some slots.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Partition {
    /// First slot of the partition.
    pub from_slot: u64,
    /// Last slot of the partition (inclusive).
    pub to_slot: u64,
    /// The groups; nodes in no group can reach everyone.
    pub groups: Vec<Vec<usize>>,
}

/// CPU cost of protocol work, which delays a busy node.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CpuModel {
    /// Nanoseconds per unit of gas executed.
    pub ns_per_gas: f64,
    /// Nanoseconds per signature recovered or produced.
    pub ns_per_signature: f64,
    /// Nanoseconds per KZG commitment, whatever the blob holds.
    pub ns_per_blob_commitment: f64,
    /// Nanoseconds more per data byte in the committed blob (zero field
    /// elements cost little in the multi-scalar multiplication).
    pub ns_per_blob_byte: f64,
}

impl Default for CpuModel {
    /// Measured on the reference machine (see `docs/simulator.md`):
    /// about 77,000 transfers of 21,000 gas per second, and about 23,000
    /// signature recoveries per second.
    fn default() -> Self {
        Self {
            ns_per_gas: 0.62,
            ns_per_signature: 43_000.0,
            // Measured here: about 9 ms for a blob of zeros, 49 ms for a
            // full one (126,976 data bytes).
            ns_per_blob_commitment: 9_000_000.0,
            ns_per_blob_byte: 315.0,
        }
    }
}

/// The embedded L1's congestion and reorgs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct L1Model {
    /// Probability that a submitted call is never included.
    pub drop_probability: f64,
    /// Probability that it is included late.
    pub delay_probability: f64,
    /// Probability that a block replaces the previous one.
    pub reorg_probability: f64,
}

/// A misbehaviour of some nodes during some slots. (Flattened with its
/// kind, so serde cannot refuse unknown keys inside `[[faults]]`.)
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fault {
    /// What they do.
    #[serde(flatten)]
    pub kind: Behaviour,
    /// Which nodes; empty means "the proposer of the first slot in range"
    /// (for an attester's fault: the first validator that is not).
    #[serde(default)]
    pub nodes: Vec<usize>,
    /// First slot it applies to.
    #[serde(default)]
    pub from_slot: u64,
    /// Last slot it applies to (inclusive); none means to the end.
    #[serde(default)]
    pub to_slot: Option<u64>,
}

impl Fault {
    /// Whether the fault is active in `slot`.
    pub fn active(&self, slot: u64) -> bool {
        slot >= self.from_slot && self.to_slot.is_none_or(|t| slot <= t)
    }
}

/// Work the simulator shares between its nodes, for speed only. Each is a
/// pure function of its inputs, or (the store) holds exactly what every
/// honest node would hold on its own, so a run gives the same digest with
/// every shortcut off; a test checks it. Faulty nodes never share
/// re-executions or the store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Shortcuts {
    /// Honest nodes share one state store (one commit per checkpoint).
    pub shared_store: bool,
    /// Honest nodes share re-executions of the same block on the same parent.
    pub shared_executions: bool,
    /// Every node shares signature recoveries.
    pub shared_recoveries: bool,
}

impl Default for Shortcuts {
    fn default() -> Self {
        Self {
            shared_store: true,
            shared_executions: true,
            shared_recoveries: true,
        }
    }
}

impl Shortcuts {
    /// Every node on its own, as real nodes are.
    pub const NONE: Self = Self {
        shared_store: false,
        shared_executions: false,
        shared_recoveries: false,
    };
}

/// A complete scenario.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// One line saying what it shows.
    pub description: String,
    /// Chain preset.
    pub preset: String,
    /// Chain parameters that differ from the preset's (the keys of
    /// `chunkseq spec --toml`), e.g. `chunks_per_slot = 4`.
    pub spec: toml::Table,
    /// Validators.
    pub validators: usize,
    /// Full nodes that follow without signing (at least one observes).
    pub followers: usize,
    /// Slots to run.
    pub slots: u64,
    /// Load, transactions per second.
    pub tps: f64,
    /// Seed of the run's one random number generator.
    pub seed: u64,
    /// Network model.
    pub network: NetworkModel,
    /// CPU model.
    pub cpu: CpuModel,
    /// L1 model.
    pub l1: L1Model,
    /// Misbehaviours.
    pub faults: Vec<Fault>,
    /// Work shared between nodes for speed (all on by default).
    pub shortcuts: Shortcuts,
    /// Whether validators rescue slots whose proposer did not publish
    /// (docs/rescue.md); `--no-rescue` turns it off to compare.
    pub rescue: bool,
    /// The window over which each validator's rescue delay is spread, ms
    /// (default: the node's own, all of the rescue window but its last L1
    /// block); 0 makes every rescuer send at once.
    pub rescue_spread_ms: Option<u64>,
}

impl Default for Scenario {
    fn default() -> Self {
        Self {
            name: "custom".into(),
            description: String::new(),
            preset: "devnet".into(),
            spec: toml::Table::new(),
            validators: 4,
            followers: 1,
            slots: 6,
            tps: 20.0,
            seed: 1,
            network: NetworkModel::default(),
            cpu: CpuModel::default(),
            l1: L1Model::default(),
            faults: Vec::new(),
            shortcuts: Shortcuts::default(),
            rescue: true,
            rescue_spread_ms: None,
        }
    }
}

/// A scenario that could not be read.
#[derive(Debug, Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("scenario file {path}: {reason}")]
    File {
        /// The path.
        path: String,
        /// Why.
        reason: String,
    },
    /// The TOML is invalid.
    #[error("scenario: {0}")]
    Toml(String),
    /// No built-in scenario has this name and no such file exists.
    #[error(
        "no scenario named {0:?}: `chunkseq sim --list` names the built-in ones, or pass a TOML file"
    )]
    Unknown(String),
    /// A value is out of range.
    #[error("scenario: {0}")]
    Invalid(String),
}

impl Scenario {
    /// Parses a TOML scenario.
    pub fn from_toml(text: &str) -> Result<Self, ScenarioError> {
        let s: Self = toml::from_str(text).map_err(|e| ScenarioError::Toml(e.to_string()))?;
        s.validate()?;
        Ok(s)
    }

    /// Reads a TOML scenario file (at most 1 MiB).
    pub fn from_file(path: &Path) -> Result<Self, ScenarioError> {
        let bytes =
            chunkseq_primitives::fs::read_bounded(path, MAX_SCENARIO_BYTES).map_err(|e| {
                ScenarioError::File {
                    path: path.display().to_string(),
                    reason: e.to_string(),
                }
            })?;
        let text = String::from_utf8(bytes).map_err(|_| ScenarioError::File {
            path: path.display().to_string(),
            reason: "not UTF-8".into(),
        })?;
        Self::from_toml(&text)
    }

    /// A built-in scenario by name, or a TOML file by path.
    pub fn named_or_file(name: &str) -> Result<Self, ScenarioError> {
        if let Some(s) = builtin(name) {
            return Ok(s);
        }
        let path = Path::new(name);
        if path.is_file() {
            return Self::from_file(path);
        }
        Err(ScenarioError::Unknown(name.into()))
    }

    /// The chain spec: the preset with the scenario's overrides.
    pub fn chain_spec(&self) -> Result<chunkseq_primitives::ChainSpec, ScenarioError> {
        let mut table = self.spec.clone();
        table.insert("preset".into(), toml::Value::String(self.preset.clone()));
        let text = toml::to_string(&table).map_err(|e| ScenarioError::Toml(e.to_string()))?;
        chunkseq_primitives::ChainSpec::from_toml_str(&text)
            .map_err(|e| ScenarioError::Invalid(format!("chain spec: {e}")))
    }

    /// Checks ranges.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        self.chain_spec()?;
        let bad = |m: String| Err(ScenarioError::Invalid(m));
        if self.validators == 0 || self.validators > 1_000 {
            return bad(format!(
                "validators must be 1..=1000, not {}",
                self.validators
            ));
        }
        if self.followers > 100 {
            return bad(format!(
                "followers must be at most 100, not {}",
                self.followers
            ));
        }
        if self.slots == 0 || self.slots > 100_000 {
            return bad(format!("slots must be 1..=100000, not {}", self.slots));
        }
        if !(0.0..=100_000.0).contains(&self.tps) {
            return bad(format!("tps must be 0..=100000, not {}", self.tps));
        }
        let p = |x: f64| (0.0..=1.0).contains(&x);
        if !p(self.network.loss)
            || !p(self.l1.drop_probability)
            || !p(self.l1.delay_probability)
            || !p(self.l1.reorg_probability)
        {
            return bad("probabilities must lie in [0, 1]".into());
        }
        if self.network.latency_median_ms < 0.0 || self.network.bandwidth_mbps <= 0.0 {
            return bad("latency must be >= 0 and bandwidth > 0".into());
        }
        let total = self.validators + self.followers.max(1);
        for f in &self.faults {
            if f.kind == Behaviour::Restart && f.to_slot.is_none() {
                return bad(
                    "a restart fault needs to_slot: the slot after it the node starts again".into(),
                );
            }
            if let Some(n) = f.nodes.iter().find(|n| **n >= self.validators) {
                return bad(format!(
                    "fault names node {n}, but only validators 0..{} can misbehave",
                    self.validators
                ));
            }
        }
        for part in &self.network.partitions {
            if let Some(n) = part.groups.iter().flatten().find(|n| **n >= total) {
                return bad(format!(
                    "partition names node {n}, but there are {total} nodes"
                ));
            }
        }
        Ok(())
    }
}

/// The built-in scenarios: name and one line each.
pub const BUILTIN: [(&str, &str); 17] = [
    ("happy", "honest validators under steady load"),
    (
        "equivocation",
        "a proposer sends two block 0s to disjoint halves; it is slashed",
    ),
    (
        "subset-checkpoint",
        "a proposer publishes fewer blocks than went provisional; slashed for omission",
    ),
    (
        "silent-proposer",
        "a proposer proposes nothing in its slots; the chain skips them",
    ),
    (
        "missed-publish",
        "a proposer never publishes its checkpoint; the others rescue it (with --no-rescue its slot, and staggered the next, reorg)",
    ),
    (
        "rescue-prefix",
        "a missed publish whose first rescuer holds only the slot's first block; the full chain replaces it in the window",
    ),
    (
        "rescue-early",
        "a validator tries to rescue a slot while its proposer's window is open; L1 refuses, nothing changes",
    ),
    (
        "rescue-race",
        "a missed publish rescued by every validator at once; one checkpoint, nobody stuck or slashed",
    ),
    (
        "rescue-late-proposer",
        "a proposer's checkpoint reaches L1 only in the rescue window; L1 refuses it, a rescue lands",
    ),
    (
        "double-attest",
        "a validator attests two blocks for one index; it is slashed",
    ),
    (
        "bad-state-root",
        "a proposer's blocks have a wrong state root; nobody attests them",
    ),
    (
        "slow-attesters",
        "a third of the committee attests 700 ms late",
    ),
    (
        "offline-attesters",
        "a quarter of the validators are offline",
    ),
    (
        "l1-congestion",
        "L1 drops 30% and delays 30% of submissions",
    ),
    ("l1-reorg", "L1 replaces a block now and then"),
    ("partition", "the network splits in two for two slots"),
    (
        "restart",
        "a validator stops for two slots, restarts with an empty memory and catches up",
    ),
];

/// The built-in scenario called `name`.
pub fn builtin(name: &str) -> Option<Scenario> {
    let (_, description) = BUILTIN.iter().find(|(n, _)| *n == name)?;
    let base = Scenario {
        name: name.into(),
        description: (*description).into(),
        ..Scenario::default()
    };
    let fault = |kind: Behaviour, from_slot: u64, to_slot: Option<u64>| Fault {
        kind,
        nodes: Vec::new(),
        from_slot,
        to_slot,
    };
    let s = match name {
        "happy" => base,
        "equivocation" => Scenario {
            faults: vec![fault(Behaviour::EquivocatingProposer, 2, Some(2))],
            ..base
        },
        "subset-checkpoint" => Scenario {
            faults: vec![fault(Behaviour::SubsetCheckpoint, 2, Some(2))],
            ..base
        },
        "silent-proposer" => Scenario {
            faults: vec![fault(Behaviour::SilentProposer, 2, Some(2))],
            ..base
        },
        "missed-publish" => Scenario {
            faults: vec![fault(Behaviour::NeverPublishes, 2, Some(2))],
            ..base
        },
        "rescue-prefix" => Scenario {
            faults: vec![
                fault(Behaviour::NeverPublishes, 2, Some(2)),
                fault(Behaviour::MissesLastBlocks, 2, Some(2)),
            ],
            ..base
        },
        "rescue-early" => Scenario {
            faults: vec![fault(Behaviour::EarlyRescuer, 2, Some(2))],
            ..base
        },
        "rescue-race" => Scenario {
            faults: vec![fault(Behaviour::NeverPublishes, 2, Some(2))],
            rescue_spread_ms: Some(0),
            ..base
        },
        "rescue-late-proposer" => Scenario {
            faults: vec![fault(Behaviour::LatePublisher, 2, Some(2))],
            ..base
        },
        "double-attest" => Scenario {
            faults: vec![Fault {
                kind: Behaviour::DoubleAttester,
                // A validator that attests in slot 2 (not its proposer).
                nodes: vec![],
                from_slot: 2,
                to_slot: Some(2),
            }],
            ..base
        },
        "bad-state-root" => Scenario {
            faults: vec![fault(Behaviour::BadStateRoot, 2, Some(2))],
            ..base
        },
        "slow-attesters" => Scenario {
            validators: 6,
            faults: vec![Fault {
                kind: Behaviour::SlowAttester { delay_ms: 700 },
                nodes: vec![4, 5],
                from_slot: 0,
                to_slot: None,
            }],
            ..base
        },
        "offline-attesters" => Scenario {
            validators: 8,
            faults: vec![Fault {
                kind: Behaviour::Offline,
                nodes: vec![6, 7],
                from_slot: 0,
                to_slot: None,
            }],
            ..base
        },
        "l1-congestion" => Scenario {
            l1: L1Model {
                drop_probability: 0.3,
                delay_probability: 0.3,
                reorg_probability: 0.0,
            },
            ..base
        },
        "l1-reorg" => Scenario {
            l1: L1Model {
                reorg_probability: 0.1,
                ..L1Model::default()
            },
            ..base
        },
        "partition" => Scenario {
            network: NetworkModel {
                partitions: vec![Partition {
                    from_slot: 2,
                    to_slot: 3,
                    groups: vec![vec![0, 1], vec![2, 3]],
                }],
                ..NetworkModel::default()
            },
            ..base
        },
        "restart" => Scenario {
            faults: vec![Fault {
                kind: Behaviour::Restart,
                nodes: vec![2],
                from_slot: 2,
                to_slot: Some(3),
            }],
            ..base
        },
        _ => return None,
    };
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_is_valid_and_round_trips_through_toml() {
        for (name, _) in BUILTIN {
            let s = builtin(name).unwrap();
            s.validate().unwrap();
            let text = toml::to_string(&s).unwrap();
            assert_eq!(Scenario::from_toml(&text).unwrap(), s, "{name}");
        }
    }

    #[test]
    fn bad_scenarios_say_what_is_wrong() {
        let e = Scenario::from_toml("validators = 0")
            .unwrap_err()
            .to_string();
        assert!(e.contains("validators"), "{e}");
        let e = Scenario::from_toml("colour = 1").unwrap_err().to_string();
        assert!(e.contains("colour"), "{e}");
        let e = Scenario::from_toml("[[faults]]\nkind = \"offline\"\nnodes = [9]")
            .unwrap_err()
            .to_string();
        assert!(e.contains("node 9"), "{e}");
        assert!(Scenario::named_or_file("no-such").is_err());
    }

    #[test]
    fn a_file_scenario_overrides_defaults() {
        let s = Scenario::from_toml(
            "name = \"mine\"\nvalidators = 7\ntps = 5\n[network]\nlatency_median_ms = 80\n[[faults]]\nkind = \"slow-attester\"\ndelay_ms = 300\nnodes = [1]\n",
        )
        .unwrap();
        assert_eq!(
            (s.validators, s.tps, s.network.latency_median_ms),
            (7, 5.0, 80.0)
        );
        assert_eq!(s.faults[0].kind, Behaviour::SlowAttester { delay_ms: 300 });
        assert_eq!(s.preset, "devnet");
        let s = Scenario::from_toml("preset = \"seed\"\n[spec]\nchunks_per_slot = 4\n").unwrap();
        assert_eq!(s.chain_spec().unwrap().chunks_per_slot, 4);
        let e = Scenario::from_toml("[spec]\nchunks = 4\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("chunks"), "{e}");
    }
}
