//! Keys, signatures and signers: secp256k1 through libsecp256k1, Ethereum
//! addresses, and the [`Signer`] trait that every protocol signature goes
//! through so slashing protection can sit in front of it.

mod eip712;
mod keys;
mod signature;
mod signer;

pub use eip712::{DOMAIN_NAME, DOMAIN_VERSION, SignedStatement, StatementKind, eip712_domain};
pub use keys::{KeyError, PrivateKey};
pub use signature::{SIGNATURE_LEN, SignatureError, recover_signer, sign_digest};
pub use signer::{BuildLease, LocalSigner, SignRequest, Signer, SignerError, recover_statement};
