//! Account reads for the transaction pool, from a fork of the state.

use alloy_primitives::{Address, U256};
use chunkseq_execution::AccountReader;
use chunkseq_state::Fork;
use tracing::warn;

/// The accounts as of a fork's parent block plus its writes.
pub(crate) struct ForkAccounts<'a>(pub(crate) &'a Fork);

impl AccountReader for ForkAccounts<'_> {
    fn nonce(&self, address: Address) -> u64 {
        match self.0.account(&address) {
            Ok(a) => a.map_or(0, |a| a.nonce),
            Err(e) => {
                warn!(target: "chunkseq::protocol", %address, "state read failed: {e}");
                0
            }
        }
    }

    fn balance(&self, address: Address) -> U256 {
        match self.0.account(&address) {
            Ok(a) => a.map_or(U256::ZERO, |a| a.balance),
            Err(e) => {
                warn!(target: "chunkseq::protocol", %address, "state read failed: {e}");
                U256::ZERO
            }
        }
    }
}
