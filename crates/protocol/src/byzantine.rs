//! Byzantine behaviours, written once: each is a filter on what an honest
//! core outputs, so a faulty node runs the same protocol code as everyone
//! else and only what leaves it differs. The simulator applies them to its
//! faulty nodes' gossip and L1 calls; the node applies them for the
//! devnet's fault flags. Messages a behaviour adds are signed with the raw
//! key, past slashing protection, as a real byzantine node would.

use std::sync::Arc;

use alloy_eips::eip4844::Blob;
use alloy_primitives::{B256, Bytes, keccak256};
use chunkseq_da::CheckpointData;
use chunkseq_l1::RollupCall;
use chunkseq_primitives::{
    Checkpoint, CheckpointHeader, Eip712Domain, LocalSigner, SignedStatement, Signer, Slot,
    body::{decode_body, encode_body},
};
use serde::{Deserialize, Serialize};

use crate::io::Gossip;

/// A misbehaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Behaviour {
    /// Sends two different proposals for block 0 to disjoint halves of the network.
    EquivocatingProposer,
    /// Publishes a checkpoint holding only its first provisional block.
    SubsetCheckpoint,
    /// Proposes nothing at all.
    SilentProposer,
    /// Builds and gets attestations but never publishes its checkpoint.
    NeverPublishes,
    /// Attests a second, different block for each index it attests.
    DoubleAttester,
    /// Proposes blocks whose state root is wrong.
    BadStateRoot,
    /// Its attestations leave this much later.
    SlowAttester {
        /// Extra delay, ms.
        delay_ms: u64,
    },
    /// Receives and sends nothing.
    Offline,
    /// Stops for the fault's slots (receives and sends nothing), then starts
    /// again with no memory: its state store and slashing protection
    /// survive, and it catches up with L1 and its peers before it takes
    /// part. Needs an end slot.
    Restart,
    /// Receives only the first provisional block of the slot (it misses the
    /// rest) and rescues what it holds at once when the slot's proposer
    /// does not publish: an honest node with a prefix of the chain.
    MissesLastBlocks,
    /// Sends a rescue of the slot while its proposer's window is still
    /// open (L1 refuses it).
    EarlyRescuer,
    /// Its checkpoint reaches L1 only after its slot has ended, in the
    /// first block of the rescue window (L1 refuses it).
    LatePublisher,
}

impl Behaviour {
    /// Whether the node receives and sends nothing while the behaviour lasts.
    pub const fn is_down(self) -> bool {
        matches!(self, Self::Offline | Self::Restart)
    }

    /// Whether the behaviour is a slashable offence (the node must end slashed).
    pub const fn is_offence(self) -> bool {
        matches!(
            self,
            Self::EquivocatingProposer | Self::SubsetCheckpoint | Self::DoubleAttester
        )
    }
}

/// Who a faulty node sends a message to. The driver decides what the
/// halves are (the simulator splits the other nodes in two; a node on
/// gossipsub cannot choose, and sends to everyone).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Recipients {
    /// Every peer.
    All,
    /// The first half of the other nodes.
    FirstHalf,
    /// The second half.
    SecondHalf,
}

/// One message as a faulty node sends it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Send {
    /// Extra delay before it leaves, ms.
    pub delay_ms: u64,
    /// To whom.
    pub to: Recipients,
    /// What.
    pub gossip: Gossip,
}

impl Send {
    fn now(to: Recipients, gossip: Gossip) -> Self {
        Self {
            delay_ms: 0,
            to,
            gossip,
        }
    }
}

/// What `behaviour` sends instead of the honest `g`. `first_of_slot` says
/// whether this is the first proposal of its slot the node sends (an
/// equivocating proposer equivocates once per slot).
pub fn gossip(
    behaviour: Behaviour,
    key: &LocalSigner,
    domain: &Eip712Domain,
    g: Gossip,
    first_of_slot: bool,
) -> Vec<Send> {
    match (behaviour, g) {
        (Behaviour::SilentProposer, Gossip::Proposal(_) | Gossip::Provisional(_)) => vec![],
        (Behaviour::SlowAttester { delay_ms }, g @ Gossip::Attestation(_)) => vec![Send {
            delay_ms,
            to: Recipients::All,
            gossip: g,
        }],
        (Behaviour::BadStateRoot, Gossip::Proposal(mut m)) => {
            m.header.stateRoot = keccak256(m.header.stateRoot);
            if let Some(sig) = sign(key, domain, &m.header.proposal()) {
                m.signature = sig;
            }
            vec![Send::now(Recipients::All, Gossip::Proposal(m))]
        }
        (Behaviour::DoubleAttester, Gossip::Attestation(m)) => {
            let mut second = m.clone();
            second.attestation.blockHash = keccak256(m.attestation.blockHash);
            let mut out = vec![Send::now(Recipients::All, Gossip::Attestation(m))];
            if let Some(sig) = sign(key, domain, &second.attestation) {
                second.signature = sig;
                out.push(Send::now(Recipients::All, Gossip::Attestation(second)));
            }
            out
        }
        (Behaviour::EquivocatingProposer, Gossip::Proposal(m))
            if m.header.index == 0 && first_of_slot =>
        {
            let mut other = m.clone();
            other.header.receiptsRoot = keccak256(m.header.receiptsRoot);
            if let Some(sig) = sign(key, domain, &other.header.proposal()) {
                other.signature = sig;
            }
            // Each half gets its own version first; gossip forwards the
            // other one a little later.
            vec![
                Send::now(Recipients::FirstHalf, Gossip::Proposal(m.clone())),
                Send::now(Recipients::SecondHalf, Gossip::Proposal(other.clone())),
                Send {
                    delay_ms: 150,
                    to: Recipients::SecondHalf,
                    gossip: Gossip::Proposal(m),
                },
                Send {
                    delay_ms: 150,
                    to: Recipients::FirstHalf,
                    gossip: Gossip::Proposal(other),
                },
            ]
        }
        (_, g) => vec![Send::now(Recipients::All, g)],
    }
}

/// `statement` signed with the raw key, past slashing protection.
fn sign<T: SignedStatement>(
    key: &LocalSigner,
    domain: &Eip712Domain,
    statement: &T,
) -> Option<Bytes> {
    key.sign_statement(domain, statement)
        .ok()
        .map(|s| Bytes::from(s.to_vec()))
}

/// What `behaviour` submits to L1 instead of the honest `call` (`None`:
/// nothing). `tip_header` is the header hash of L1's last checkpoint, which
/// a shortened checkpoint must extend; `attestations_of` gives the
/// attestations a provisional block collected (a shortened checkpoint
/// carries its last block's).
pub fn l1_call(
    behaviour: Behaviour,
    key: &LocalSigner,
    domain: &Eip712Domain,
    call: RollupCall,
    tip_header: B256,
    attestations_of: impl Fn(B256) -> Option<Bytes>,
) -> Option<RollupCall> {
    // A proposer that never publishes does not rescue its own slot either.
    if behaviour == Behaviour::NeverPublishes && call.checkpoint_slot().is_some() {
        return None;
    }
    let RollupCall::ProposeCheckpoint {
        slot,
        headers,
        bodies,
        blob_hashes,
        blobs,
        attestations,
        committee,
        signature,
    } = call
    else {
        return Some(call);
    };
    match behaviour {
        Behaviour::NeverPublishes => None,
        Behaviour::SubsetCheckpoint if headers.len() >= 2 => {
            let first = headers.first()?.hash();
            let header = CheckpointHeader::covering(Slot(slot), tip_header, &[first])?;
            let signature = sign(key, domain, &Checkpoint::new(&header, first))?;
            let attestations = attestations_of(first)?;
            let (bodies, blob_hashes, blobs) = first_block_data(bodies, &blob_hashes, &blobs)?;
            Some(RollupCall::ProposeCheckpoint {
                slot,
                headers: headers.into_iter().take(1).collect(),
                bodies,
                blob_hashes,
                blobs,
                attestations,
                committee,
                signature,
            })
        }
        _ => Some(RollupCall::ProposeCheckpoint {
            slot,
            headers,
            bodies,
            blob_hashes,
            blobs,
            attestations,
            committee,
            signature,
        }),
    }
}

/// A checkpoint's bodies, blob hashes and blobs.
type CheckpointDataParts = (Vec<Bytes>, Vec<B256>, Arc<Vec<Blob>>);

/// The data of a checkpoint's first block alone, in the form the whole
/// checkpoint used (calldata or blobs): what its attestations sign.
fn first_block_data(
    bodies: Vec<Bytes>,
    blob_hashes: &[B256],
    blobs: &[Blob],
) -> Option<CheckpointDataParts> {
    let first: Vec<Bytes> = match bodies.first() {
        Some(body) => decode_body(body).ok()?,
        None => chunkseq_da::decode_checkpoint_data(blobs)
            .ok()?
            .into_iter()
            .next()?,
    };
    let (hashes, first_blobs) = if blob_hashes.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        let mut data = CheckpointData::default();
        data.push_block(&first).ok()?;
        let first_blobs = data.blobs();
        (
            chunkseq_da::versioned_hashes(&first_blobs).ok()?,
            first_blobs,
        )
    };
    if bodies.is_empty() {
        Some((Vec::new(), hashes, Arc::new(first_blobs)))
    } else {
        Some((vec![encode_body(&first)], hashes, Arc::new(Vec::new())))
    }
}

/// A behaviour during a range of slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Misbehaviour {
    /// What.
    pub behaviour: Behaviour,
    /// From this slot.
    pub from_slot: u64,
    /// Up to this slot, inclusive (`None`: to the end).
    pub to_slot: Option<u64>,
}

impl Misbehaviour {
    /// Whether it applies at `slot`.
    pub fn at(&self, slot: u64) -> bool {
        slot >= self.from_slot && self.to_slot.is_none_or(|t| slot <= t)
    }
}

/// The behaviour of `faults` at `slot` that `want` selects, if any.
pub fn active(
    faults: &[Misbehaviour],
    slot: u64,
    want: impl Fn(Behaviour) -> bool,
) -> Option<Behaviour> {
    faults
        .iter()
        .find(|f| want(f.behaviour) && f.at(slot))
        .map(|f| f.behaviour)
}

/// The slots whose first proposal a faulty node already sent: an
/// equivocating proposer equivocates once per slot.
#[derive(Clone, Debug, Default)]
pub struct FirstProposals(std::collections::BTreeSet<u64>);

impl FirstProposals {
    /// Whether `g` is the first proposal of its slot this node sends (block
    /// 0, not seen before); remembers it.
    pub fn first_of_slot(&mut self, g: &Gossip) -> bool {
        match g {
            Gossip::Proposal(m) if m.header.index == 0 => self.0.insert(m.header.slot),
            _ => false,
        }
    }
}

/// The slot of a checkpoint call, published or rescued (`None` for other
/// calls): the calls a withholding or shortening proposer changes.
pub const fn checkpoint_slot(call: &RollupCall) -> Option<u64> {
    call.checkpoint_slot()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use chunkseq_primitives::{
        AttestationMessage, BlockHeader, Preset, PrivateKey, ProposalMessage,
    };

    use super::*;

    fn key() -> LocalSigner {
        LocalSigner::new(PrivateKey::from_bytes([7; 32]).unwrap())
    }

    fn proposal(index: u32) -> Gossip {
        Gossip::Proposal(ProposalMessage {
            header: BlockHeader {
                slot: 3,
                index,
                ..Default::default()
            },
            transactions: vec![],
            signature: Bytes::from(vec![1u8; 65]),
        })
    }

    #[test]
    fn each_behaviour_changes_only_what_it_names() {
        let domain = Preset::Devnet.spec().eip712_domain();
        let k = key();
        // An honest message passes untouched under an unrelated behaviour.
        let sends = gossip(Behaviour::NeverPublishes, &k, &domain, proposal(0), true);
        assert_eq!(sends, vec![Send::now(Recipients::All, proposal(0))]);
        assert!(gossip(Behaviour::SilentProposer, &k, &domain, proposal(0), true).is_empty());
        // Equivocation: two versions of block 0, once per slot.
        let sends = gossip(
            Behaviour::EquivocatingProposer,
            &k,
            &domain,
            proposal(0),
            true,
        );
        assert_eq!(sends.len(), 4);
        assert_ne!(sends[0].gossip, sends[1].gossip);
        assert_eq!(
            gossip(
                Behaviour::EquivocatingProposer,
                &k,
                &domain,
                proposal(0),
                false
            )
            .len(),
            1
        );
        assert_eq!(
            gossip(
                Behaviour::EquivocatingProposer,
                &k,
                &domain,
                proposal(1),
                true
            )
            .len(),
            1
        );
        // A double attester sends a second, different, signed attestation.
        let a = Gossip::Attestation(AttestationMessage {
            attestation: BlockHeader::default().attestation(B256::ZERO),
            signature: Bytes::from(vec![1u8; 65]),
        });
        let sends = gossip(Behaviour::DoubleAttester, &k, &domain, a, true);
        assert_eq!(sends.len(), 2);
        assert_ne!(sends[0].gossip, sends[1].gossip);
        // L1: a withheld checkpoint is not sent; other calls pass.
        let call = RollupCall::ProposeCheckpoint {
            slot: 3,
            headers: vec![BlockHeader::default()],
            bodies: vec![Bytes::new()],
            blob_hashes: vec![],
            blobs: Arc::default(),
            attestations: Bytes::new(),
            committee: vec![],
            signature: Bytes::new(),
        };
        assert_eq!(
            l1_call(
                Behaviour::NeverPublishes,
                &k,
                &domain,
                call.clone(),
                B256::ZERO,
                |_| None
            ),
            None
        );
        assert_eq!(
            l1_call(
                Behaviour::BadStateRoot,
                &k,
                &domain,
                call.clone(),
                B256::ZERO,
                |_| None
            ),
            Some(call)
        );
        let faults = [Misbehaviour {
            behaviour: Behaviour::NeverPublishes,
            from_slot: 3,
            to_slot: Some(3),
        }];
        assert_eq!(
            active(&faults, 3, |_| true),
            Some(Behaviour::NeverPublishes)
        );
        assert_eq!(active(&faults, 4, |_| true), None);
    }
}
