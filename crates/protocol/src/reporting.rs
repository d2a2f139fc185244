//! Turning detected offences into gossip and L1 slashing calls, each once
//! (DESIGN.md section 7: any node that sees evidence gossips and submits it).

use alloy_primitives::keccak256;
use alloy_sol_types::SolValue;
use chunkseq_primitives::Evidence;
use tracing::info;

use crate::{
    core::Core,
    evidence::{OmissionCandidate, equivocation_call},
    io::{Event, Gossip, Output},
};

impl Core {
    /// Gossips `evidence` (when found here) and submits its slashing call,
    /// once per piece of evidence.
    pub(crate) fn report_evidence(
        &mut self,
        evidence: Evidence,
        found_here: bool,
        out: &mut Vec<Output>,
    ) {
        let key = keccak256(evidence.encode_wire());
        if !self.reported.insert(key) {
            return;
        }
        let Ok(offender) = evidence.offender(&self.domain) else {
            return;
        };
        let slot = evidence_slot(&evidence);
        let committee = self
            .duties
            .get(&slot)
            .map(|d| d.committee.clone())
            .unwrap_or_default();
        info!(target: "chunkseq::evidence", %offender, slot, offence = evidence.offence(), found_here, "evidence");
        if found_here {
            out.push(Output::Event(Event::EvidenceFound {
                offence: evidence.offence(),
                offender,
                slot,
            }));
            out.push(Output::Publish(Gossip::Evidence(evidence.clone())));
        }
        if let Some(call) = equivocation_call(evidence, committee) {
            out.push(Output::SubmitL1 {
                call,
                deadline: None,
            });
        }
    }

    /// Reports a checkpoint omission: gossip plus the L1 call that proves it
    /// against the checkpoints on L1.
    ///
    /// One omission is reported per proposer and slot, the lowest omitted
    /// index: every honest node then submits the same evidence, so the
    /// proposer is slashed once for the slot, not once per left-out block.
    pub(crate) fn report_omission(&mut self, candidate: &OmissionCandidate, out: &mut Vec<Output>) {
        let evidence = candidate.evidence();
        let key =
            keccak256((candidate.offender, candidate.slot(), "checkpoint omission").abi_encode());
        if !self.reported.insert(key) {
            return;
        }
        let slot = candidate.slot();
        let committee = self
            .duties
            .get(&slot)
            .map(|d| d.committee.clone())
            .unwrap_or_default();
        info!(target: "chunkseq::evidence", offender = %candidate.offender, slot, index = candidate.index(), "checkpoint omission");
        out.push(Output::Event(Event::EvidenceFound {
            offence: evidence.offence(),
            offender: candidate.offender,
            slot,
        }));
        out.push(Output::Publish(Gossip::Evidence(evidence)));
        if let Some(call) = self.evidence.omission_call(candidate, committee) {
            out.push(Output::SubmitL1 {
                call,
                deadline: None,
            });
        }
    }
}

/// The slot an offence is about.
fn evidence_slot(evidence: &Evidence) -> u64 {
    match evidence {
        Evidence::ProposalEquivocation(e) => e.first.slot,
        Evidence::AttestationEquivocation(e) => e.first.slot,
        Evidence::CheckpointOmission(e) => e.provisional.slot,
    }
}
