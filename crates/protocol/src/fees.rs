//! The prices a node quotes: the next block's base fee (from the provisional
//! tip's state) and the data price (from its view of L1), kept in the pool
//! for admission and read by the RPC.

use alloy_primitives::B256;
use chunkseq_execution::{RecoveredTx, fees::base_fee_on};
use tracing::warn;

use crate::core::Core;

/// What a transaction pays now, as this node sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FeeQuote {
    /// Base fee of the next block (wei per gas).
    pub base_fee: u64,
    /// Price of a byte of checkpoint data (wei).
    pub data_price: u64,
}

impl Core {
    /// The data price this node's view of L1 gives: what its blocks use,
    /// and what it bounds other proposers' blocks by.
    pub fn data_price(&self) -> u64 {
        let fees = &self.spec.fees;
        self.l1_head.map_or(fees.min_data_price, |h| {
            fees.data_price(self.spec.data_mode, h.base_fee, h.blob_base_fee)
        })
    }

    /// The base fee of a block on the provisional tip.
    pub fn next_base_fee(&self) -> u64 {
        match self.chain.fork_at_tip() {
            Ok(fork) => base_fee_on(&fork, &self.spec.fees).unwrap_or_else(|e| {
                warn!(target: "chunkseq::protocol", error = %e, "cannot read the base fee at the tip");
                self.spec.fees.min_base_fee
            }),
            Err(e) => {
                warn!(target: "chunkseq::protocol", error = %e, "cannot fork the tip to read its base fee");
                self.spec.fees.min_base_fee
            }
        }
    }

    /// The current quote.
    pub fn fee_quote(&self) -> FeeQuote {
        self.fee_quote
    }

    /// Recomputes the quote when the tip or the L1 head moved, and gives it
    /// to the pool.
    pub(crate) fn refresh_fees(&mut self) {
        let key = (self.chain.tip().0, self.l1_head.map(|h| h.number));
        if self.fee_quote_at == Some(key) {
            return;
        }
        self.fee_quote_at = Some(key);
        self.fee_quote = FeeQuote {
            base_fee: self.next_base_fee(),
            data_price: self.data_price(),
        };
        self.pool
            .set_fees(self.fee_quote.base_fee, self.fee_quote.data_price);
    }
}

/// Percentiles 0, 5, ..., 100 that [`tip_percentiles`] reports.
pub const TIP_PERCENTILE_STEP: usize = 5;

/// The effective tips (`min(max priority fee, max fee - base fee)`) `txs`
/// pay at `base_fee`, at percentiles 0, 5, ..., 100 of the transactions
/// (by count); empty when there are none.
pub fn tip_percentiles(txs: &[RecoveredTx], base_fee: u64) -> Vec<u128> {
    let mut tips: Vec<u128> = txs
        .iter()
        .map(|t| {
            t.max_priority_fee_per_gas()
                .min(t.max_fee_per_gas().saturating_sub(u128::from(base_fee)))
        })
        .collect();
    if tips.is_empty() {
        return Vec::new();
    }
    tips.sort_unstable();
    let last = tips.len() - 1;
    (0..=100)
        .step_by(TIP_PERCENTILE_STEP)
        .filter_map(|p| tips.get(last.saturating_mul(p) / 100).copied())
        .collect()
}

/// What the quote was computed for: the tip's hash and the L1 head's number.
pub(crate) type QuoteKey = (B256, Option<u64>);
