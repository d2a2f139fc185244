//! Deterministic signed workloads: native transfers or ERC-20 transfers.

use alloy_consensus::TxEip1559;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, U256, keccak256};
use alloy_sol_types::SolCall;
use chunkseq_execution::{ILoadToken, LOAD_TOKEN_ADDRESS, dev_keys, pool::sign_transaction};
use chunkseq_primitives::PrivateKey;
use clap::ValueEnum;

/// What the transactions do.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum TxKindArg {
    /// Plain ether transfers (21,000 gas) to the next sending account.
    Transfer,
    /// Plain ether transfers, each to a fresh address (no recipient repeats).
    TransferFresh,
    /// `LoadToken.transfer` calls.
    Erc20,
}

impl TxKindArg {
    /// The name the command line and the reports use.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Self::Transfer => "transfer",
            Self::TransferFresh => "transfer-fresh",
            Self::Erc20 => "erc20",
        }
    }
}

/// Signed transactions, nonce-major: the first round has every sender's
/// nonce 0, the next every sender's nonce 1, and so on, so consecutive
/// chunks of the list form valid blocks.
pub(crate) struct Workload {
    pub(crate) keys: Vec<PrivateKey>,
    pub(crate) raw: Vec<Bytes>,
}

/// Makes `count` transactions from `senders` development accounts.
pub(crate) fn generate(
    kind: TxKindArg,
    count: usize,
    senders: usize,
    phrase: &str,
    chain_id: u64,
    mut progress: impl FnMut(),
) -> Workload {
    let keys = dev_keys(phrase, senders);
    let mut raw = Vec::with_capacity(count);
    'outer: for nonce in 0u64.. {
        for (i, key) in keys.iter().enumerate() {
            if raw.len() == count {
                break 'outer;
            }
            let to = keys
                .get((i + 1) % keys.len())
                .map_or(key.address(), PrivateKey::address);
            let (to, value, input, gas_limit) = match kind {
                TxKindArg::Transfer => (to, U256::from(1_000 + nonce), Bytes::new(), 21_000),
                TxKindArg::TransferFresh => {
                    let seed =
                        keccak256([&(i as u64).to_be_bytes()[..], &nonce.to_be_bytes()].concat());
                    (
                        Address::from_word(seed),
                        U256::from(1_000 + nonce),
                        Bytes::new(),
                        21_000,
                    )
                }
                TxKindArg::Erc20 => {
                    let call = ILoadToken::transferCall {
                        to,
                        value: U256::from(1 + nonce),
                    };
                    (
                        LOAD_TOKEN_ADDRESS,
                        U256::ZERO,
                        Bytes::from(call.abi_encode()),
                        60_000,
                    )
                }
            };
            let tx = TxEip1559 {
                chain_id,
                nonce,
                gas_limit,
                max_fee_per_gas: 2_000_000_000,
                max_priority_fee_per_gas: 1_000_000_000,
                to: TxKind::Call(to),
                value,
                access_list: Default::default(),
                input,
            };
            raw.push(Bytes::from(sign_transaction(key, tx).encoded_2718()));
            progress();
        }
    }
    Workload { keys, raw }
}

/// The addresses of the workload's senders.
pub(crate) fn addresses(keys: &[PrivateKey]) -> Vec<Address> {
    keys.iter().map(PrivateKey::address).collect()
}

/// The workload options `bench exec` and `bench da` share.
#[derive(Debug, clap::Args)]
pub(crate) struct WorkloadArgs {
    /// Transactions per block.
    #[arg(long, default_value_t = 1_000)]
    pub(crate) block_txs: usize,
    /// Distinct sending accounts (each sends txs / senders transactions).
    #[arg(long, default_value_t = 1_000)]
    pub(crate) senders: usize,
    /// Seed phrase the funded development accounts are derived from.
    #[arg(long, default_value = "chunkseq bench", value_name = "PHRASE")]
    pub(crate) dev_phrase: String,
}
