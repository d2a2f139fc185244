//! The Rollup contract's view functions: their calldata and the decoding of
//! what they return, shared by both L1 implementations.

use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::SolValue;

use crate::{abi::ContractAbi, error::L1Error};

/// The Rollup contract's tip.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RollupTip {
    /// Slot of the last checkpoint.
    pub slot: u64,
    /// Number of the last checkpointed L2 block.
    pub last_block_number: u64,
    /// Whether any checkpoint was accepted.
    pub has_checkpoint: bool,
    /// Hash of the last checkpoint's final header.
    pub header_hash: B256,
    /// Hash of the last checkpointed L2 block.
    pub last_block_hash: B256,
}

/// A validator's standing in the registry (all zero when it is not in the set).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ValidatorStanding {
    /// Who may exit it and receives its stake at release.
    pub withdrawal: Address,
    /// First epoch it may sit on a committee.
    pub activation_epoch: u64,
    /// First epoch it no longer may (the contract's `NEVER`, 2^48 - 1, while it has not exited).
    pub exit_epoch: u64,
    /// Remaining stake in wei.
    pub stake: U256,
    /// Whether it was slashed.
    pub slashed: bool,
}

/// A view call and how to decode its answer.
pub trait View {
    /// What it returns.
    type Output;
    /// The calldata.
    fn calldata(&self, abi: &ContractAbi) -> Result<Bytes, L1Error>;
    /// Decodes the returned data.
    fn decode(&self, out: &[u8]) -> Result<Self::Output, L1Error>;
}

fn decode_error(what: &'static str) -> impl Fn(alloy_sol_types::Error) -> L1Error {
    move |e| L1Error::Decode {
        what,
        reason: e.to_string(),
    }
}

/// `duties(slot)`: the slot's committee (sorted) and proposer.
#[derive(Clone, Copy, Debug)]
pub struct Duties(pub u64);

impl View for Duties {
    type Output = (Vec<Address>, Address);
    fn calldata(&self, abi: &ContractAbi) -> Result<Bytes, L1Error> {
        abi.calldata("duties", &(self.0,).abi_encode_params())
    }
    fn decode(&self, out: &[u8]) -> Result<Self::Output, L1Error> {
        <(Vec<Address>, Address)>::abi_decode_params(out).map_err(decode_error("duties"))
    }
}

/// `tip()`: the last accepted checkpoint.
#[derive(Clone, Copy, Debug)]
pub struct Tip;

impl View for Tip {
    type Output = RollupTip;
    fn calldata(&self, abi: &ContractAbi) -> Result<Bytes, L1Error> {
        abi.calldata("tip", &[])
    }
    fn decode(&self, out: &[u8]) -> Result<Self::Output, L1Error> {
        let (slot, last_block_number, has_checkpoint, header_hash, last_block_hash) =
            <(u64, u64, bool, B256, B256)>::abi_decode_params(out).map_err(decode_error("tip"))?;
        Ok(RollupTip {
            slot,
            last_block_number,
            has_checkpoint,
            header_hash,
            last_block_hash,
        })
    }
}

/// `domainSeparator()`: the EIP-712 domain separator the contract checks
/// signatures against (it follows the L1's chain id).
#[derive(Clone, Copy, Debug)]
pub struct DomainSeparator;

impl View for DomainSeparator {
    type Output = B256;
    fn calldata(&self, abi: &ContractAbi) -> Result<Bytes, L1Error> {
        abi.calldata("domainSeparator", &[])
    }
    fn decode(&self, out: &[u8]) -> Result<Self::Output, L1Error> {
        B256::abi_decode(out).map_err(decode_error("domainSeparator"))
    }
}

/// `validatorCount()`: entries in the validator set (registered, not released).
#[derive(Clone, Copy, Debug)]
pub struct ValidatorCount;

impl View for ValidatorCount {
    type Output = u64;
    fn calldata(&self, abi: &ContractAbi) -> Result<Bytes, L1Error> {
        abi.calldata("validatorCount", &[])
    }
    fn decode(&self, out: &[u8]) -> Result<Self::Output, L1Error> {
        let n = U256::abi_decode(out).map_err(decode_error("validatorCount"))?;
        Ok(n.saturating_to())
    }
}

/// `chainSpecHash()`: the chain spec the contract was deployed with.
#[derive(Clone, Copy, Debug)]
pub struct ChainSpecHash;

impl View for ChainSpecHash {
    type Output = B256;
    fn calldata(&self, abi: &ContractAbi) -> Result<Bytes, L1Error> {
        abi.calldata("chainSpecHash", &[])
    }
    fn decode(&self, out: &[u8]) -> Result<Self::Output, L1Error> {
        B256::abi_decode(out).map_err(decode_error("chainSpecHash"))
    }
}

/// `standing(address)`: a validator's stake and whether it was slashed.
#[derive(Clone, Copy, Debug)]
pub struct Validator(pub Address);

impl View for Validator {
    type Output = ValidatorStanding;
    fn calldata(&self, abi: &ContractAbi) -> Result<Bytes, L1Error> {
        abi.calldata("standing", &(self.0,).abi_encode_params())
    }
    fn decode(&self, out: &[u8]) -> Result<Self::Output, L1Error> {
        let (withdrawal, activation_epoch, exit_epoch, stake, slashed) =
            <(Address, u64, u64, u128, bool)>::abi_decode_params(out)
                .map_err(decode_error("standing"))?;
        Ok(ValidatorStanding {
            withdrawal,
            activation_epoch,
            exit_epoch,
            stake: U256::from(stake),
            slashed,
        })
    }
}
