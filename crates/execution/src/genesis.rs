//! Genesis: deterministic development accounts and the initial state.

use alloy_primitives::{Address, B256, Bytes, U256, address, keccak256};
use alloy_sol_types::{SolValue, sol};
use chunkseq_primitives::{BlockHeader, ChainSpec, PrivateKey};
use chunkseq_state::{Account, Head, StateDb, StateDiff, StateError, code_hash};
use thiserror::Error;

use crate::roots::{receipts_root, transactions_root};

sol! {
    /// The calls the load generator makes on [`LOAD_TOKEN_ADDRESS`].
    interface ILoadToken {
        /// Moves `value` tokens from the caller to `to`.
        function transfer(address to, uint256 value) external returns (bool);
        /// Token balance of `owner`.
        function balanceOf(address owner) external view returns (uint256);
    }
}

/// Where genesis places the load-generation ERC-20 (`contracts/src/LoadToken.sol`).
pub const LOAD_TOKEN_ADDRESS: Address = address!("0x00000000000000000000000000000000000C1e20");

const LOAD_TOKEN_ARTIFACT: &str = include_str!("../../../contracts/artifacts/LoadToken.json");

/// Why genesis could not be built or written.
#[derive(Debug, Error)]
pub enum GenesisError {
    /// The embedded contract artifact is unreadable (a build defect).
    #[error("the LoadToken artifact is unreadable: {0}")]
    Artifact(String),
    /// The state store failed.
    #[error(transparent)]
    State(#[from] StateError),
    /// The developer accounts could not be derived from their mnemonic.
    #[error("deriving the developer accounts: {0}")]
    DevAccounts(String),
}

/// The runtime bytecode of the load-generation ERC-20.
pub fn load_token_code() -> Result<Bytes, GenesisError> {
    let artifact: serde_json::Value = serde_json::from_str(LOAD_TOKEN_ARTIFACT)
        .map_err(|e| GenesisError::Artifact(e.to_string()))?;
    let hex = artifact
        .get("deployedBytecode")
        .and_then(|v| v.as_str())
        .ok_or_else(|| GenesisError::Artifact("no deployedBytecode".into()))?;
    hex.parse()
        .map_err(|e| GenesisError::Artifact(format!("{e}")))
}

/// Storage slot of `balanceOf[owner]` (a mapping at slot 0).
pub fn token_balance_slot(owner: Address) -> U256 {
    U256::from_be_bytes(keccak256((owner, U256::ZERO).abi_encode()).0)
}

/// The phrase devnet keys are derived from unless the operator names another.
pub const DEVNET_PHRASE: &str = "chunkseq devnet";

/// The mnemonic of the developer accounts every Ethereum tool knows
/// (anvil's, hardhat's): key `i` is at `m/44'/60'/0'/0/i`.
pub const TEST_MNEMONIC: &str = "test test test test test test test test test test test junk";

/// Developer accounts of [`TEST_MNEMONIC`] funded at a devnet's genesis.
pub const DEV_ACCOUNTS: usize = 10;

/// Ether each developer account holds at genesis: 10,000, as anvil gives.
pub const DEV_ACCOUNT_ETHER: u64 = 10_000;

/// The first `count` keys of `mnemonic` (English, BIP-39) on Ethereum's
/// path `m/44'/60'/0'/0/i` (BIP-32), as wallets, anvil and hardhat derive
/// them.
pub fn mnemonic_keys(mnemonic: &str, count: usize) -> Result<Vec<PrivateKey>, GenesisError> {
    use alloy_signer_local::coins_bip39::{English, Mnemonic};
    use coins_bip32::{ecdsa::SigningKey, xkeys::Parent};
    let fail = |e: &dyn std::fmt::Display| GenesisError::DevAccounts(e.to_string());
    // The seed (2,048 rounds of PBKDF2) and the path's hardened part are
    // derived once; each account is one child step from there.
    let parent = Mnemonic::<English>::new_from_phrase(mnemonic)
        .map_err(|e| fail(&e))?
        .derive_key("m/44'/60'/0'/0", None)
        .map_err(|e| fail(&e))?;
    (0..count)
        .map(|i| {
            let index = u32::try_from(i).map_err(|e| fail(&e))?;
            let child = parent.derive_child(index).map_err(|e| fail(&e))?;
            let key: &SigningKey = child.as_ref();
            PrivateKey::from_bytes(key.to_bytes().into()).map_err(|e| fail(&e))
        })
        .collect()
}

/// Load-generator accounts funded at a devnet's L2 genesis.
pub const DEVNET_USERS: usize = 64;

/// Development keys derived from a seed phrase: key `i` is the first valid
/// secp256k1 key among `keccak256("chunkseq dev key" ‖ phrase ‖ i ‖ attempt)`.
/// The phrase comes from the command line; no key is ever committed.
pub fn dev_keys(phrase: &str, count: usize) -> Vec<PrivateKey> {
    (0..count as u64)
        .map(|i| {
            let mut attempt = 0u32;
            loop {
                let seed = keccak256(
                    [
                        b"chunkseq dev key".as_slice(),
                        phrase.as_bytes(),
                        &i.to_be_bytes(),
                        &attempt.to_be_bytes(),
                    ]
                    .concat(),
                );
                if let Ok(key) = PrivateKey::from_bytes(seed.0) {
                    return key;
                }
                attempt = attempt.wrapping_add(1);
            }
        })
        .collect()
}

/// The initial state: funded accounts and the load token with balances.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Genesis {
    /// Accounts and their ether balances.
    pub accounts: Vec<(Address, U256)>,
    /// Holders of the load token and their token balances.
    pub token_holders: Vec<(Address, U256)>,
}

impl Genesis {
    /// Every address gets `balance` wei and `tokens` load tokens.
    pub fn funded(addresses: &[Address], balance: U256, tokens: U256) -> Self {
        Self {
            accounts: addresses.iter().map(|a| (*a, balance)).collect(),
            token_holders: addresses.iter().map(|a| (*a, tokens)).collect(),
        }
    }

    /// The genesis writes.
    pub fn diff(&self) -> Result<StateDiff, GenesisError> {
        let mut diff = StateDiff::default();
        for (a, balance) in &self.accounts {
            diff.set_account(*a, Some(Account::with_balance(*balance)));
        }
        let code = load_token_code()?;
        let hash = code_hash(&code);
        diff.set_account(
            LOAD_TOKEN_ADDRESS,
            Some(Account {
                nonce: 1,
                balance: U256::ZERO,
                code_hash: hash,
            }),
        );
        diff.add_code(hash, code);
        let mut supply = U256::ZERO;
        for (holder, amount) in &self.token_holders {
            diff.set_storage(LOAD_TOKEN_ADDRESS, token_balance_slot(*holder), *amount);
            supply = supply.saturating_add(*amount);
        }
        diff.set_storage(LOAD_TOKEN_ADDRESS, U256::from(2), supply);
        Ok(diff)
    }

    /// The genesis header for `spec` over `state_root`: block 0 of slot 0,
    /// no transactions.
    pub fn header(spec: &ChainSpec, state_root: B256) -> BlockHeader {
        BlockHeader {
            number: 0,
            slot: 0,
            index: 0,
            parentHash: B256::ZERO,
            timestamp: spec.genesis_time.saturating_mul(1000),
            coinbase: Address::ZERO,
            stateRoot: state_root,
            txRoot: transactions_root(&[]),
            bodyHash: chunkseq_primitives::body::body_hash(&[]),
            receiptsRoot: receipts_root(&[]),
            gasUsed: 0,
            gasLimit: spec.block_gas_limit,
            txCount: 0,
            baseFee: spec.fees.min_base_fee,
            dataPrice: spec.fees.min_data_price,
        }
    }

    /// The genesis of a development network: the validators' and the load
    /// generator's accounts (keys `dev_keys(phrase, validators + users)`, the
    /// validators first) each hold 1,000,000 ether and 10^27 load-token units;
    /// the [`DEV_ACCOUNTS`] developer accounts of [`TEST_MNEMONIC`] hold
    /// [`DEV_ACCOUNT_ETHER`] ether each, so wallets and tools work with the
    /// keys they already know. `chunkseq l1 deploy` and the devnet both start
    /// from it, so they agree on the genesis hash the Rollup contract is
    /// deployed with.
    pub fn devnet(phrase: &str, validators: usize, users: usize) -> Result<Self, GenesisError> {
        let keys = dev_keys(phrase, validators.saturating_add(users));
        let addresses: Vec<Address> = keys.iter().map(PrivateKey::address).collect();
        let ether = U256::from(10u64).pow(U256::from(24u64));
        let tokens = U256::from(10u64).pow(U256::from(27u64));
        let mut genesis = Self::funded(&addresses, ether, tokens);
        let dev_ether = U256::from(DEV_ACCOUNT_ETHER) * U256::from(10u64).pow(U256::from(18u64));
        for key in mnemonic_keys(TEST_MNEMONIC, DEV_ACCOUNTS)? {
            genesis.accounts.push((key.address(), dev_ether));
        }
        Ok(genesis)
    }

    /// The hash of the genesis header for `spec`: what the Rollup contract is
    /// deployed with as its L2 genesis. Computed on a throwaway in-memory state.
    pub fn hash(&self, spec: &ChainSpec) -> Result<B256, GenesisError> {
        let db = StateDb::in_memory()?;
        let (header, _) = self.commit(&db, spec)?;
        Ok(header.hash())
    }

    /// Writes genesis into an empty state; returns the genesis header.
    pub fn commit(
        &self,
        db: &StateDb,
        spec: &ChainSpec,
    ) -> Result<(BlockHeader, Head), GenesisError> {
        if db.head().is_some() {
            return Err(StateError::AlreadyInitialized.into());
        }
        let mut fork = db.fork();
        fork.apply(self.diff()?);
        let sealed = fork.seal();
        let header = Self::header(spec, sealed.state_root());
        let head = db.commit(&sealed, header.hash())?;
        Ok((header, head))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_test_mnemonic_gives_the_accounts_every_tool_knows() {
        let keys = mnemonic_keys(TEST_MNEMONIC, 2).unwrap();
        // anvil's and hardhat's accounts 0 and 1.
        assert_eq!(
            keys[0].address(),
            alloy_primitives::address!("f39Fd6e51aad88F6F4ce6aB8827279cffFb92266")
        );
        assert_eq!(
            keys[0].to_bytes(),
            alloy_primitives::b256!(
                "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80"
            )
            .0
        );
        assert_eq!(
            keys[1].address(),
            alloy_primitives::address!("70997970C51812dc3A010C7d01b50e0d17dc79C8")
        );
        assert!(matches!(
            mnemonic_keys("not a mnemonic", 1),
            Err(GenesisError::DevAccounts(_))
        ));
    }

    #[test]
    fn the_devnet_funds_the_developer_accounts() {
        let genesis = Genesis::devnet("p", 1, 2).unwrap();
        let dev = mnemonic_keys(TEST_MNEMONIC, DEV_ACCOUNTS).unwrap();
        let ether = U256::from(DEV_ACCOUNT_ETHER) * U256::from(10u64).pow(U256::from(18u64));
        for key in &dev {
            assert!(genesis.accounts.contains(&(key.address(), ether)));
        }
        assert_eq!(genesis.accounts.len(), 3 + DEV_ACCOUNTS);
    }

    #[test]
    fn dev_keys_are_deterministic_and_distinct() {
        let a = dev_keys("test phrase", 5);
        let b = dev_keys("test phrase", 5);
        assert_eq!(
            a.iter().map(PrivateKey::address).collect::<Vec<_>>(),
            b.iter().map(PrivateKey::address).collect::<Vec<_>>()
        );
        let c = dev_keys("other phrase", 1);
        assert_ne!(a[0].address(), c[0].address());
        let mut addrs: Vec<_> = a.iter().map(PrivateKey::address).collect();
        addrs.dedup();
        assert_eq!(addrs.len(), 5);
    }

    #[test]
    fn the_artifact_carries_runtime_code() {
        let code = load_token_code().unwrap();
        assert!(code.len() > 100);
        // Runtime code carries the transfer selector.
        let selector = <ILoadToken::transferCall as alloy_sol_types::SolCall>::SELECTOR;
        assert!(code.windows(4).any(|w| w == selector));
    }
}
