//! Statements, requests and a failing storage backend for the tests.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use alloy_primitives::{Address, B256};
use alloy_sol_types::Eip712Domain;
use chunkseq_primitives::{
    Attestation, BlockProposal, Checkpoint, ProvisionalBlock, SignRequest, StatementKind,
    crypto::eip712_domain,
};
use redb::{StorageBackend, backends::InMemoryBackend};

/// The domain of the tests.
pub(crate) fn domain() -> Eip712Domain {
    eip712_domain(31_337, Address::repeat_byte(0xaa))
}

/// A request of `kind` for `(slot, index)` whose payload is picked by
/// `variant`: equal variants give equal digests, different ones different
/// digests. `index` is ignored for checkpoints.
pub(crate) fn request(kind: StatementKind, slot: u64, index: u32, variant: u8) -> SignRequest {
    let d = domain();
    let hash = B256::repeat_byte(variant);
    match kind {
        StatementKind::Proposal => SignRequest::new(
            &d,
            &BlockProposal {
                slot,
                index,
                blockHash: hash,
            },
        ),
        StatementKind::Attestation => SignRequest::new(
            &d,
            &Attestation {
                slot,
                index,
                blockHash: hash,
                dataHash: B256::ZERO,
            },
        ),
        StatementKind::Provisional => SignRequest::new(
            &d,
            &ProvisionalBlock {
                slot,
                index,
                blockHash: hash,
                checkpointHeaderHash: B256::repeat_byte(0x11),
                attestationsHash: B256::repeat_byte(0x22),
            },
        ),
        StatementKind::Checkpoint => SignRequest::new(
            &d,
            &Checkpoint {
                slot,
                checkpointHeaderHash: B256::repeat_byte(0x33),
                blockCount: 2,
                lastBlockHash: hash,
            },
        ),
    }
}

/// An in-memory backend whose writes and syncs fail once `fail` is set.
#[derive(Debug, Default)]
pub(crate) struct FailingBackend {
    inner: InMemoryBackend,
    pub(crate) fail: Arc<AtomicBool>,
}

impl FailingBackend {
    fn check(&self) -> std::io::Result<()> {
        if self.fail.load(Ordering::SeqCst) {
            Err(std::io::Error::other("injected disk failure"))
        } else {
            Ok(())
        }
    }
}

impl StorageBackend for FailingBackend {
    fn len(&self) -> std::io::Result<u64> {
        self.inner.len()
    }

    fn read(&self, offset: u64, out: &mut [u8]) -> std::io::Result<()> {
        self.inner.read(offset, out)
    }

    fn set_len(&self, len: u64) -> std::io::Result<()> {
        self.check()?;
        self.inner.set_len(len)
    }

    fn sync_data(&self) -> std::io::Result<()> {
        self.check()?;
        self.inner.sync_data()
    }

    fn write(&self, offset: u64, data: &[u8]) -> std::io::Result<()> {
        self.check()?;
        self.inner.write(offset, data)
    }
}
