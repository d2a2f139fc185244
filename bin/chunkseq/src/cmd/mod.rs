//! One module per subcommand.

pub(crate) mod bench;
pub(crate) mod client;
pub(crate) mod devnet;
pub(crate) mod keys;
pub(crate) mod l1;
pub(crate) mod node;
pub(crate) mod sim;
pub(crate) mod spec;
