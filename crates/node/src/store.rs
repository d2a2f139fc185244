//! The node's own records in redb: blocks it accepted, the transaction index
//! the RPC answers from, the checkpoints it saw on L1 (served to peers that
//! catch up), and evidence.
//!
//! World state lives in the state store and signed digests in the
//! slashing-protection store, in their own tables of the same redb
//! database ([`NodeStore::open_in`]); this store only indexes. Writes of one core step go in one
//! transaction: durable when they record a block, a checkpoint or evidence,
//! lazily durable (flushed by the next durable commit) when they only forget
//! the records of transactions dropped from their blocks, which a restart
//! rebuilds from blocks anyway. The driver merges such writes of consecutive
//! steps into one transaction (flushed within `INDEX_FLUSH_MS`, when the
//! core thread has nothing else to do, and with the next durable write).
//! Statuses of the pool (`pending`, `proposed`, `dropped`) are not written:
//! the core answers for them.

use std::{path::Path, sync::Arc};

use alloy_primitives::{Address, B256, Bloom};

use crate::block_body::BlockBody;
use chunkseq_primitives::TxStatus;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};

use chunkseq_protocol::{BlockEntry, CheckpointRecord};

const BLOCKS: TableDefinition<u64, &[u8]> = TableDefinition::new("blocks");
const TXS: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("txs");
const CHECKPOINTS: TableDefinition<u64, &[u8]> = TableDefinition::new("checkpoints");
const EVIDENCE: TableDefinition<u64, &[u8]> = TableDefinition::new("evidence");
/// Block bodies with receipts by height ([`BlockBody`]).
const BODIES: TableDefinition<u64, &[u8]> = TableDefinition::new("bodies");
/// Block heights by hash.
const BLOCK_NUMBERS: TableDefinition<&[u8; 32], u64> = TableDefinition::new("block_numbers");

/// Why the node store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// redb failed.
    #[error("node store: {0}")]
    Db(String),
    /// A record did not decode (a corrupt or foreign file).
    #[error("node store record {what}: {reason}")]
    Corrupt {
        /// Which record.
        what: String,
        /// Why.
        reason: String,
    },
}

macro_rules! db_err {
    ($($t:ty),*) => {$(impl From<$t> for StoreError {
        fn from(e: $t) -> Self { Self::Db(e.to_string()) }
    })*};
}
db_err!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// A block as the RPC serves it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockRecord {
    /// Height.
    pub number: u64,
    /// Hash.
    pub hash: B256,
    /// Parent hash.
    pub parent_hash: B256,
    /// Slot.
    pub slot: u64,
    /// Index in the slot.
    pub index: u32,
    /// Unix milliseconds.
    pub timestamp: u64,
    /// Fee recipient (the proposer).
    pub coinbase: Address,
    /// State root after the block.
    pub state_root: B256,
    /// Root over its transactions.
    #[serde(default)]
    pub tx_root: B256,
    /// Root over its receipts.
    #[serde(default)]
    pub receipts_root: B256,
    /// The bloom of its logs: `eth_getLogs` skips a block it rules out.
    #[serde(default)]
    pub logs_bloom: Bloom,
    /// Gas used.
    pub gas_used: u64,
    /// Gas limit.
    #[serde(default)]
    pub gas_limit: u64,
    /// EIP-1559 base fee (wei per gas).
    #[serde(default)]
    pub base_fee: u64,
    /// Price of a byte of checkpoint data (wei).
    #[serde(default)]
    pub data_price: u64,
    /// Effective tips at percentiles 0, 5, ..., 100 (empty when no transactions).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tip_percentiles: Vec<u128>,
    /// Its transactions' hashes, in order.
    pub transactions: Vec<B256>,
    /// Committee signatures it carries (0 for blocks learned from L1).
    pub attestations: usize,
    /// Where it stands.
    pub status: BlockStatus,
    /// The L1 block that holds its checkpoint, once checkpointed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l1_block: Option<u64>,
    /// The L1 transaction that carried its checkpoint, once checkpointed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub l1_tx: Option<B256>,
}

/// Where a block stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BlockStatus {
    /// Attested by its committee, not on L1 yet.
    Provisional,
    /// In a checkpoint L1 accepted.
    Checkpointed,
}

impl BlockRecord {
    /// The record of a block the core reported.
    pub fn new(block: &BlockEntry, status: BlockStatus) -> Self {
        let h = &block.header;
        Self {
            number: h.number,
            hash: block.hash,
            parent_hash: h.parentHash,
            slot: h.slot,
            index: h.index,
            timestamp: h.timestamp,
            coinbase: h.coinbase,
            state_root: h.stateRoot,
            tx_root: h.txRoot,
            receipts_root: h.receiptsRoot,
            logs_bloom: block
                .receipts
                .iter()
                .fold(Bloom::ZERO, |acc, r| acc | *r.logs_bloom()),
            gas_used: h.gasUsed,
            gas_limit: h.gasLimit,
            base_fee: h.baseFee,
            data_price: h.dataPrice,
            tip_percentiles: block.tip_percentiles.clone(),
            transactions: block.txs.clone(),
            attestations: block.attestations,
            status,
            l1_block: None,
            l1_tx: None,
        }
    }

    /// The record of a block of a checkpoint L1 accepted in `l1_block`,
    /// carried by `l1_tx`.
    pub fn checkpointed(block: &BlockEntry, l1_block: u64, l1_tx: B256) -> Self {
        Self {
            l1_block: Some(l1_block),
            l1_tx: Some(l1_tx),
            ..Self::new(block, BlockStatus::Checkpointed)
        }
    }
}

/// Where a transaction stands, as the RPC reports it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TxRecord {
    /// `pending`, `proposed`, `provisional`, `checkpointed` or `dropped`.
    pub status: TxStatus,
    /// Its block's height, once in a provisional block.
    pub block_number: Option<u64>,
    /// Its block's hash.
    pub block_hash: Option<B256>,
    /// Its block's slot.
    pub slot: Option<u64>,
    /// Its position in the block.
    pub index: Option<u32>,
    /// Attestations its block collected.
    pub attestations: Option<usize>,
    /// Attestations a block needs.
    pub threshold: Option<usize>,
    /// The L1 block holding its checkpoint.
    pub l1_block: Option<u64>,
    /// The L1 transaction that carried its checkpoint.
    #[serde(default)]
    pub l1_tx: Option<B256>,
}

/// Writes of one core step, applied in one transaction.
#[derive(Debug, Default)]
pub struct Batch {
    blocks: Vec<BlockRecord>,
    /// Records to write, or (`None`) to delete, in order.
    txs: Vec<(B256, Option<TxRecord>)>,
    checkpoints: Vec<CheckpointRecord>,
    evidence: Vec<Vec<u8>>,
    /// Bodies to write, by height (stored form).
    bodies: Vec<(u64, Vec<u8>)>,
    /// Blocks above this height are deleted (a reorg) before this batch's
    /// blocks are written; with the hashes of the dropped blocks.
    truncate: Option<(u64, Vec<B256>)>,
    durable: bool,
}

impl Batch {
    /// Whether there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.blocks.is_empty()
            && self.bodies.is_empty()
            && self.truncate.is_none()
            && self.txs.is_empty()
            && self.checkpoints.is_empty()
            && self.evidence.is_empty()
    }

    /// Records a block.
    pub fn block(&mut self, b: BlockRecord) {
        self.durable = true;
        self.blocks.push(b);
    }

    /// Records a block's transactions and receipts.
    pub fn body(&mut self, number: u64, body: &BlockBody) {
        self.bodies.push((number, body.encode()));
    }

    /// Deletes the blocks above `number` (their records, bodies and the
    /// hashes in `dropped`): a reorg dropped them.
    pub fn truncate_above(&mut self, number: u64, dropped: Vec<B256>) {
        self.durable = true;
        self.blocks.retain(|b| b.number <= number);
        self.bodies.retain(|(n, _)| *n <= number);
        let (at, mut hashes) = self.truncate.take().unwrap_or((number, Vec::new()));
        hashes.extend(dropped);
        self.truncate = Some((at.min(number), hashes));
    }

    /// Records a transaction's status.
    pub fn tx(&mut self, hash: B256, r: TxRecord) {
        self.txs.push((hash, Some(r)));
    }

    /// Deletes a transaction's record: the core answers for it again.
    pub fn forget_tx(&mut self, hash: B256) {
        self.txs.push((hash, None));
    }

    /// Records a checkpoint seen on L1.
    pub fn checkpoint(&mut self, c: CheckpointRecord) {
        self.durable = true;
        self.checkpoints.push(c);
    }

    /// The blocks the batch records.
    #[cfg(test)]
    pub(crate) fn blocks(&self) -> &[BlockRecord] {
        &self.blocks
    }

    /// The transaction records the batch holds.
    #[cfg(test)]
    pub(crate) fn txs(&self) -> &[(B256, Option<TxRecord>)] {
        &self.txs
    }

    /// The checkpoints the batch records.
    #[cfg(test)]
    pub(crate) fn checkpoints(&self) -> &[CheckpointRecord] {
        &self.checkpoints
    }

    /// Records evidence (wire encoding).
    pub fn evidence(&mut self, e: Vec<u8>) {
        self.durable = true;
        self.evidence.push(e);
    }

    /// Whether writing the batch needs a durable commit (it records a
    /// block, a checkpoint or evidence).
    pub const fn is_durable(&self) -> bool {
        self.durable
    }

    /// Appends `later`'s writes after this batch's, so a record of `later`
    /// wins over one of the same key here; durable if either is.
    pub fn append(&mut self, later: Self) {
        if let Some((number, dropped)) = later.truncate {
            self.truncate_above(number, dropped);
        }
        self.bodies.extend(later.bodies);
        self.blocks.extend(later.blocks);
        self.txs.extend(later.txs);
        self.checkpoints.extend(later.checkpoints);
        self.evidence.extend(later.evidence);
        self.durable |= later.durable;
    }
}

/// The node's index database.
#[derive(Debug)]
pub struct NodeStore {
    db: Arc<Database>,
}

fn decode<T: for<'de> Deserialize<'de>>(what: String, bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt {
        what,
        reason: e.to_string(),
    })
}

fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    // Serialising these plain records cannot fail.
    serde_json::to_vec(v).unwrap_or_default()
}

impl NodeStore {
    /// Opens (or creates) the store at `path`.
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        Self::init(Arc::new(Database::create(path)?))
    }

    /// A store in memory (tests).
    pub fn in_memory() -> Result<Self, StoreError> {
        Self::init(Arc::new(
            Database::builder().create_with_backend(redb::backends::InMemoryBackend::new())?,
        ))
    }

    /// Opens (or creates) the store's tables in `db`, which the node's state
    /// and slashing-protection stores share.
    pub fn open_in(db: Arc<Database>) -> Result<Self, StoreError> {
        Self::init(db)
    }

    fn init(db: Arc<Database>) -> Result<Self, StoreError> {
        let txn = db.begin_write()?;
        txn.open_table(BLOCKS)?;
        txn.open_table(TXS)?;
        txn.open_table(CHECKPOINTS)?;
        txn.open_table(EVIDENCE)?;
        txn.open_table(BODIES)?;
        txn.open_table(BLOCK_NUMBERS)?;
        txn.commit()?;
        Ok(Self { db })
    }

    /// Applies a batch in one transaction.
    pub fn write(&self, batch: Batch) -> Result<(), StoreError> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut txn = self.db.begin_write()?;
        if !batch.durable {
            txn.set_durability(Durability::None)?;
        }
        {
            let mut blocks = txn.open_table(BLOCKS)?;
            let mut bodies = txn.open_table(BODIES)?;
            let mut numbers = txn.open_table(BLOCK_NUMBERS)?;
            if let Some((above, dropped)) = &batch.truncate {
                let from = above.saturating_add(1);
                blocks.retain_in(from.., |_, _| false)?;
                bodies.retain_in(from.., |_, _| false)?;
                for h in dropped {
                    numbers.remove(&h.0)?;
                }
            }
            for b in &batch.blocks {
                blocks.insert(b.number, encode(b).as_slice())?;
                numbers.insert(&b.hash.0, b.number)?;
            }
            for (n, body) in &batch.bodies {
                bodies.insert(*n, body.as_slice())?;
            }
            let mut txs = txn.open_table(TXS)?;
            for (h, r) in &batch.txs {
                match r {
                    Some(r) => {
                        txs.insert(&h.0, encode(r).as_slice())?;
                    }
                    None => {
                        txs.remove(&h.0)?;
                    }
                }
            }
            let mut cps = txn.open_table(CHECKPOINTS)?;
            for c in &batch.checkpoints {
                cps.insert(c.slot, encode(c).as_slice())?;
            }
            let mut ev = txn.open_table(EVIDENCE)?;
            let mut next = ev.last()?.map_or(0, |(k, _)| k.value().saturating_add(1));
            for e in &batch.evidence {
                ev.insert(next, e.as_slice())?;
                next = next.saturating_add(1);
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// The block at `number`.
    pub fn block(&self, number: u64) -> Result<Option<BlockRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(BLOCKS)?;
        t.get(number)?
            .map(|v| decode(format!("block {number}"), v.value()))
            .transpose()
    }

    /// Deletes what the index holds above block `number` (blocks, bodies,
    /// their transactions' records): at start, provisional blocks of the
    /// last run that are on no chain now. How many blocks went.
    pub fn forget_above(&self, number: u64) -> Result<usize, StoreError> {
        let (hashes, txs) = {
            let txn = self.db.begin_read()?;
            let blocks = txn.open_table(BLOCKS)?;
            let mut hashes = Vec::new();
            let mut txs = Vec::new();
            for item in blocks.range(number.saturating_add(1)..)? {
                let (k, v) = item?;
                let b: BlockRecord = decode(format!("block {}", k.value()), v.value())?;
                hashes.push(b.hash);
                txs.extend(b.transactions);
            }
            (hashes, txs)
        };
        let gone = hashes.len();
        if gone == 0 {
            return Ok(0);
        }
        let mut batch = Batch::default();
        batch.truncate_above(number, hashes);
        for tx in txs {
            batch.forget_tx(tx);
        }
        self.write(batch)?;
        Ok(gone)
    }

    /// The block with hash `hash`.
    pub fn block_by_hash(&self, hash: &B256) -> Result<Option<BlockRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let numbers = txn.open_table(BLOCK_NUMBERS)?;
        let Some(number) = numbers.get(&hash.0)?.map(|v| v.value()) else {
            return Ok(None);
        };
        let t = txn.open_table(BLOCKS)?;
        let block: Option<BlockRecord> = t
            .get(number)?
            .map(|v| decode(format!("block {number}"), v.value()))
            .transpose()?;
        Ok(block.filter(|b| b.hash == *hash))
    }

    /// The block at `number` and its body, read together (one read
    /// transaction, so a reorg cannot come between them); the body only
    /// when it is that block's.
    pub fn block_with_body(
        &self,
        number: u64,
    ) -> Result<Option<(BlockRecord, Option<BlockBody>)>, StoreError> {
        let txn = self.db.begin_read()?;
        Self::with_body(&txn, number, None)
    }

    /// The block with hash `hash` and its body, read together.
    pub fn block_by_hash_with_body(
        &self,
        hash: &B256,
    ) -> Result<Option<(BlockRecord, Option<BlockBody>)>, StoreError> {
        let txn = self.db.begin_read()?;
        let numbers = txn.open_table(BLOCK_NUMBERS)?;
        let Some(number) = numbers.get(&hash.0)?.map(|v| v.value()) else {
            return Ok(None);
        };
        Self::with_body(&txn, number, Some(hash))
    }

    fn with_body(
        txn: &redb::ReadTransaction,
        number: u64,
        hash: Option<&B256>,
    ) -> Result<Option<(BlockRecord, Option<BlockBody>)>, StoreError> {
        let blocks = txn.open_table(BLOCKS)?;
        let Some(block) = blocks
            .get(number)?
            .map(|v| decode::<BlockRecord>(format!("block {number}"), v.value()))
            .transpose()?
        else {
            return Ok(None);
        };
        if hash.is_some_and(|h| *h != block.hash) {
            return Ok(None);
        }
        let bodies = txn.open_table(BODIES)?;
        let body = bodies
            .get(number)?
            .map(|v| {
                BlockBody::decode(v.value()).map_err(|e| StoreError::Corrupt {
                    what: format!("body {number}"),
                    reason: e.to_string(),
                })
            })
            .transpose()?
            .filter(|b| b.block_hash == block.hash);
        Ok(Some((block, body)))
    }

    /// The transactions and receipts of the block at `number`.
    pub fn body(&self, number: u64) -> Result<Option<BlockBody>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(BODIES)?;
        t.get(number)?
            .map(|v| {
                BlockBody::decode(v.value()).map_err(|e| StoreError::Corrupt {
                    what: format!("body {number}"),
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    /// A transaction's record.
    ///
    /// A transaction indexed as provisional whose block was checkpointed
    /// since is reported checkpointed, with its block's L1 block and
    /// transaction: a checkpoint rewrites the records of its blocks, not
    /// of each of their transactions (see [`crate::index`]).
    pub fn tx(&self, hash: &B256) -> Result<Option<TxRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(TXS)?;
        let Some(mut record) = t
            .get(&hash.0)?
            .map(|v| decode::<TxRecord>(format!("tx {hash}"), v.value()))
            .transpose()?
        else {
            return Ok(None);
        };
        if record.status == TxStatus::Provisional
            && let Some(number) = record.block_number
        {
            let blocks = txn.open_table(BLOCKS)?;
            if let Some(block) = blocks
                .get(number)?
                .map(|v| decode::<BlockRecord>(format!("block {number}"), v.value()))
                .transpose()?
                && Some(block.hash) == record.block_hash
                && block.status == BlockStatus::Checkpointed
            {
                record.status = TxStatus::Checkpointed;
                record.l1_block = block.l1_block;
                record.l1_tx = block.l1_tx;
            }
        }
        Ok(Some(record))
    }

    /// Checkpoints of slots after `after_slot`, oldest first, at most `max`.
    pub fn checkpoints_after(
        &self,
        after_slot: u64,
        max: usize,
    ) -> Result<Vec<CheckpointRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(CHECKPOINTS)?;
        let mut out = Vec::new();
        for item in t.range(after_slot.saturating_add(1)..)?.take(max) {
            let (k, v) = item?;
            out.push(decode(format!("checkpoint {}", k.value()), v.value())?);
        }
        Ok(out)
    }

    /// The latest checkpoint recorded.
    pub fn last_checkpoint(&self) -> Result<Option<CheckpointRecord>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(CHECKPOINTS)?;
        t.last()?
            .map(|(k, v)| decode(format!("checkpoint {}", k.value()), v.value()))
            .transpose()
    }

    /// Evidence recorded, wire-encoded, oldest first.
    pub fn evidence(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        let txn = self.db.begin_read()?;
        let t = txn.open_table(EVIDENCE)?;
        let mut out = Vec::new();
        for item in t.iter()? {
            out.push(item?.1.value().to_vec());
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_survive_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("node.redb");
        let block = BlockRecord {
            number: 3,
            hash: B256::repeat_byte(3),
            parent_hash: B256::repeat_byte(2),
            slot: 1,
            index: 2,
            timestamp: 9,
            coinbase: Address::repeat_byte(1),
            state_root: B256::ZERO,
            tx_root: B256::ZERO,
            receipts_root: B256::ZERO,
            logs_bloom: Bloom::ZERO,
            gas_used: 21_000,
            gas_limit: 30_000_000,
            base_fee: 7,
            data_price: 9,
            tip_percentiles: vec![1; 21],
            transactions: vec![B256::repeat_byte(7)],
            attestations: 3,
            status: BlockStatus::Provisional,
            l1_block: None,
            l1_tx: None,
        };
        {
            let s = NodeStore::open(&path).unwrap();
            let mut b = Batch::default();
            b.block(block.clone());
            b.tx(
                B256::repeat_byte(7),
                TxRecord {
                    status: TxStatus::Provisional,
                    block_number: Some(3),
                    ..TxRecord::default()
                },
            );
            b.evidence(vec![1, 2]);
            b.evidence(vec![3]);
            s.write(b).unwrap();
        }
        let s = NodeStore::open(&path).unwrap();
        assert_eq!(s.block(3).unwrap(), Some(block));
        assert_eq!(s.block(4).unwrap(), None);
        assert_eq!(
            s.tx(&B256::repeat_byte(7)).unwrap().unwrap().block_number,
            Some(3)
        );
        assert_eq!(s.evidence().unwrap(), vec![vec![1, 2], vec![3]]);
    }

    #[test]
    fn a_provisional_transaction_is_reported_checkpointed_with_its_block() {
        let dir = tempfile::tempdir().unwrap();
        let s = NodeStore::open(&dir.path().join("node.redb")).unwrap();
        let (tx, hash) = (B256::repeat_byte(7), B256::repeat_byte(3));
        let entry = BlockEntry {
            header: chunkseq_primitives::BlockHeader {
                number: 3,
                ..Default::default()
            },
            hash,
            txs: vec![tx],
            transactions: Vec::new(),
            senders: Vec::new(),
            receipts: Default::default(),
            attestations: 3,
            threshold: 3,
            tip_percentiles: Vec::new(),
        };
        let mut b = Batch::default();
        b.block(BlockRecord::new(&entry, BlockStatus::Provisional));
        b.tx(
            tx,
            TxRecord {
                status: TxStatus::Provisional,
                block_number: Some(3),
                block_hash: Some(hash),
                ..TxRecord::default()
            },
        );
        s.write(b).unwrap();
        assert_eq!(s.tx(&tx).unwrap().unwrap().status, TxStatus::Provisional);
        let l1_tx = B256::repeat_byte(0xaa);
        let mut b = Batch::default();
        b.block(BlockRecord::checkpointed(&entry, 40, l1_tx));
        s.write(b).unwrap();
        let r = s.tx(&tx).unwrap().unwrap();
        assert_eq!(
            (r.status, r.l1_block, r.l1_tx, r.block_number),
            (TxStatus::Checkpointed, Some(40), Some(l1_tx), Some(3))
        );
        // Another block at that height (after a reorg) says nothing of it.
        let mut b = Batch::default();
        b.block(BlockRecord::checkpointed(
            &BlockEntry {
                hash: B256::repeat_byte(4),
                ..entry
            },
            41,
            l1_tx,
        ));
        s.write(b).unwrap();
        assert_eq!(s.tx(&tx).unwrap().unwrap().status, TxStatus::Provisional);
    }

    #[test]
    fn a_reorg_deletes_the_dropped_blocks_bodies_and_hashes_even_in_a_merged_batch() {
        let s = NodeStore::in_memory().unwrap();
        let block = |number: u64, tag: u8| {
            BlockRecord::new(
                &BlockEntry {
                    header: chunkseq_primitives::BlockHeader {
                        number,
                        ..Default::default()
                    },
                    hash: B256::repeat_byte(tag),
                    txs: Vec::new(),
                    transactions: Vec::new(),
                    senders: Vec::new(),
                    receipts: Default::default(),
                    attestations: 3,
                    threshold: 3,
                    tip_percentiles: Vec::new(),
                },
                BlockStatus::Provisional,
            )
        };
        let mut b = Batch::default();
        for (n, tag) in [(1, 1), (2, 2), (3, 3)] {
            b.block(block(n, tag));
            b.body(n, &BlockBody::default());
        }
        s.write(b).unwrap();
        // Blocks 2 and 3 are dropped, then another block 2 comes, all in
        // one merged batch; block 4 of the first batch never lands.
        let mut merged = Batch::default();
        merged.block(block(4, 4));
        let mut reorg = Batch::default();
        reorg.truncate_above(1, vec![B256::repeat_byte(2), B256::repeat_byte(3)]);
        merged.append(reorg);
        let mut after = Batch::default();
        after.block(block(2, 22));
        after.body(2, &BlockBody::default());
        merged.append(after);
        s.write(merged).unwrap();
        assert_eq!(s.block(2).unwrap().unwrap().hash, B256::repeat_byte(22));
        assert!(s.block(3).unwrap().is_none() && s.block(4).unwrap().is_none());
        assert!(s.body(2).unwrap().is_some() && s.body(3).unwrap().is_none());
        assert!(s.block_by_hash(&B256::repeat_byte(2)).unwrap().is_none());
        assert!(s.block_by_hash(&B256::repeat_byte(3)).unwrap().is_none());
        assert!(s.block_by_hash(&B256::repeat_byte(4)).unwrap().is_none());
        assert_eq!(
            s.block_by_hash(&B256::repeat_byte(22))
                .unwrap()
                .unwrap()
                .number,
            2
        );
        assert_eq!(
            s.block_by_hash(&B256::repeat_byte(1))
                .unwrap()
                .unwrap()
                .number,
            1
        );
    }

    #[test]
    fn merged_batches_write_and_forget_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let s = NodeStore::open(&dir.path().join("node.redb")).unwrap();
        let record = |n| TxRecord {
            status: TxStatus::Provisional,
            block_number: Some(n),
            ..TxRecord::default()
        };
        let (kept, gone) = (B256::repeat_byte(1), B256::repeat_byte(2));
        let mut first = Batch::default();
        first.tx(kept, record(3));
        first.tx(gone, record(3));
        assert!(!first.is_durable());
        let mut second = Batch::default();
        // Dropped from block 3, then provisional again in block 5.
        second.forget_tx(kept);
        second.tx(kept, record(5));
        second.forget_tx(gone);
        first.append(second);
        s.write(first).unwrap();
        assert_eq!(s.tx(&kept).unwrap().unwrap().block_number, Some(5));
        assert_eq!(s.tx(&gone).unwrap(), None);
    }
}
