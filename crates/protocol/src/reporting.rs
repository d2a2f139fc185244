//! Turning detected offences into gossip and L1 slashing calls. Each piece
//! of evidence is gossiped once and its slashing call is submitted, then
//! submitted again every few L1 blocks until L1 reports the slash (another
//! node's call may land first), the evidence expires, or the retries run out.
//! A call that needs the offence slot's committee waits for its duties.

use alloy_primitives::{Address, B256, keccak256};
use alloy_sol_types::SolValue;
use chunkseq_primitives::{Evidence, UnixMillis};
use tracing::{debug, info, warn};

use crate::{
    core::Core,
    evidence::{Offence, OmissionCandidate, equivocation_call},
    io::{Event, Gossip, Output},
};

/// L1 blocks between two submissions of the same report.
const REPORT_RETRY_L1_BLOCKS: u64 = 3;
/// Submissions of one report before the node gives up on it.
const MAX_REPORT_SUBMISSIONS: u32 = 10;
/// Epochs after its own that L1 accepts evidence (the contract's
/// `WITHDRAWAL_DELAY_EPOCHS`).
const EVIDENCE_EPOCHS: u64 = 4;
/// Epochs ahead of the current one whose committees L1 can know: evidence
/// of later slots is ignored.
const EPOCHS_AHEAD: u64 = 2;
/// Most reports waiting at once; evidence beyond it is ignored (anyone can
/// sign conflicting statements with a throwaway key).
const MAX_PENDING_REPORTS: usize = 256;

/// What a report proves.
#[derive(Clone, Debug)]
pub(crate) enum ReportKind {
    /// Two conflicting signed statements.
    Equivocation(Evidence),
    /// A provisional block its slot's checkpoint lacks.
    Omission(OmissionCandidate),
}

/// A slashing report waiting to be (re)submitted.
#[derive(Clone, Debug)]
pub(crate) struct PendingReport {
    kind: ReportKind,
    offender: Address,
    offence: Offence,
    slot: u64,
    /// When to submit again (`None`: as soon as the slot's duties are known).
    next_try: Option<UnixMillis>,
    submissions: u32,
}

impl Core {
    /// Gossips `evidence` (when found here) and queues its slashing call,
    /// once per piece of evidence.
    pub(crate) fn report_evidence(
        &mut self,
        evidence: Evidence,
        found_here: bool,
        out: &mut Vec<Output>,
    ) {
        let key = keccak256(evidence.encode_wire());
        if self.reported.contains(&key) {
            return;
        }
        let slot = evidence_slot(&evidence);
        if !self.reportable(slot) {
            debug!(target: "chunkseq::evidence", slot, "evidence outside the slots L1 can judge, or too many reports pending: ignored");
            return;
        }
        let Ok(offender) = evidence.offender(&self.domain) else {
            return;
        };
        self.reported.insert(key);
        info!(target: "chunkseq::evidence", %offender, slot, offence = evidence.offence().name(), found_here, "evidence");
        if found_here {
            out.push(Output::Event(Event::EvidenceFound {
                offence: evidence.offence(),
                offender,
                slot,
            }));
            out.push(Output::Publish(Gossip::Evidence(evidence.clone())));
        }
        let offence = match evidence {
            Evidence::ProposalEquivocation(_) => Offence::ProposalEquivocation,
            Evidence::AttestationEquivocation(_) => Offence::AttestationEquivocation,
            // Omissions are proven against L1's checkpoint: the detector
            // finds them itself and reports them with `report_omission`.
            Evidence::CheckpointOmission(_) => return,
        };
        self.queue_report(
            key,
            ReportKind::Equivocation(evidence),
            offender,
            offence,
            slot,
        );
    }

    /// Reports a checkpoint omission: gossip plus the L1 call that proves it
    /// against the checkpoint recorded on L1.
    ///
    /// One omission is reported per proposer and slot, the lowest omitted
    /// index: every honest node then submits the same evidence, and L1
    /// slashes a proposer once per slot.
    pub(crate) fn report_omission(&mut self, candidate: &OmissionCandidate, out: &mut Vec<Output>) {
        let evidence = candidate.evidence();
        let key =
            keccak256((candidate.offender, candidate.slot(), "checkpoint omission").abi_encode());
        let slot = candidate.slot();
        if self.reported.contains(&key) || !self.reportable(slot) {
            return;
        }
        self.reported.insert(key);
        info!(target: "chunkseq::evidence", offender = %candidate.offender, slot, index = candidate.index(), "checkpoint omission");
        out.push(Output::Event(Event::EvidenceFound {
            offence: evidence.offence(),
            offender: candidate.offender,
            slot,
        }));
        out.push(Output::Publish(Gossip::Evidence(evidence)));
        self.queue_report(
            key,
            ReportKind::Omission(candidate.clone()),
            candidate.offender,
            Offence::CheckpointOmission,
            slot,
        );
    }

    /// Whether evidence of `slot` can still be judged by L1 and there is
    /// room for another report.
    fn reportable(&self, slot: u64) -> bool {
        let current = self.last_now.map_or(0, |t| self.epoch_at(t));
        let epoch = slot / self.epoch_slots();
        self.pending_reports.len() < MAX_PENDING_REPORTS
            && epoch.saturating_add(EVIDENCE_EPOCHS) >= current
            && epoch <= current.saturating_add(EPOCHS_AHEAD)
    }

    fn queue_report(
        &mut self,
        key: B256,
        kind: ReportKind,
        offender: Address,
        offence: Offence,
        slot: u64,
    ) {
        if needs_committee(&kind) {
            self.wanted_duties.insert(slot);
        }
        self.pending_reports.insert(
            key,
            PendingReport {
                kind,
                offender,
                offence,
                slot,
                next_try: None,
                submissions: 0,
            },
        );
    }

    /// Submits every report that is due and whose slot's duties are known;
    /// drops those L1 has slashed or that can no longer be proven.
    pub(crate) fn submit_reports(&mut self, now: UnixMillis, out: &mut Vec<Output>) {
        if self.pending_reports.is_empty() {
            return;
        }
        let retry = self
            .spec
            .l1_block_time_ms
            .saturating_mul(REPORT_RETRY_L1_BLOCKS);
        let epoch_slots = self.epoch_slots();
        let current_epoch = self.epoch_at(now);
        let keys: Vec<B256> = self.pending_reports.keys().copied().collect();
        for key in keys {
            let Some(report) = self.pending_reports.get(&key).cloned() else {
                continue;
            };
            let expired =
                (report.slot / epoch_slots).saturating_add(EVIDENCE_EPOCHS) < current_epoch;
            if expired
                || self
                    .evidence
                    .is_slashed(report.offender, report.offence, report.slot)
            {
                self.pending_reports.remove(&key);
                self.wanted_duties.remove(&report.slot);
                continue;
            }
            if report.next_try.is_some_and(|t| t > now) {
                continue;
            }
            let committee = match self.duties.get(&report.slot) {
                Some(d) => d.committee.clone(),
                None if needs_committee(&report.kind) => {
                    self.wanted_duties.insert(report.slot);
                    continue;
                }
                None => Vec::new(),
            };
            if report.submissions >= MAX_REPORT_SUBMISSIONS {
                warn!(target: "chunkseq::evidence", offender = %report.offender, slot = report.slot, "gave up reporting: L1 never showed the slash");
                self.pending_reports.remove(&key);
                self.wanted_duties.remove(&report.slot);
                continue;
            }
            let call = match &report.kind {
                ReportKind::Equivocation(e) => equivocation_call(e.clone(), committee),
                ReportKind::Omission(c) => self.evidence.omission_call(c, committee),
            };
            let Some(call) = call else {
                self.pending_reports.remove(&key);
                self.wanted_duties.remove(&report.slot);
                continue;
            };
            out.push(Output::SubmitL1 {
                call,
                deadline: None,
            });
            if let Some(r) = self.pending_reports.get_mut(&key) {
                r.submissions = r.submissions.saturating_add(1);
                r.next_try = Some(now.checked_add_ms(retry).unwrap_or(now));
            }
        }
    }

    /// The earliest time a pending report is due again.
    pub(crate) fn next_report_retry(&self) -> Option<UnixMillis> {
        self.pending_reports
            .values()
            .filter_map(|r| r.next_try)
            .min()
    }
}

/// Whether the report's L1 call names the slot's committee (to find the
/// proposer); an attestation equivocation's does not.
fn needs_committee(kind: &ReportKind) -> bool {
    !matches!(
        kind,
        ReportKind::Equivocation(Evidence::AttestationEquivocation(_))
    )
}

/// The slot an offence is about.
fn evidence_slot(evidence: &Evidence) -> u64 {
    match evidence {
        Evidence::ProposalEquivocation(e) => e.first.slot,
        Evidence::AttestationEquivocation(e) => e.first.slot,
        Evidence::CheckpointOmission(e) => e.provisional.slot,
    }
}
