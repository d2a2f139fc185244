//! The JSON interchange format, in the spirit of EIP-3076, and the store's
//! all-or-nothing export and import (`docs/slashing-protection.md`).
//!
//! ```json
//! {
//!   "metadata": {
//!     "interchange_format": "chunkseq-slashing-protection",
//!     "interchange_format_version": "1",
//!     "domain_separator": "0x…"
//!   },
//!   "data": [
//!     {
//!       "address": "0x…",
//!       "signed": [
//!         { "kind": "proposal", "slot": "12", "index": "0", "digest": "0x…" },
//!         { "kind": "checkpoint", "slot": "12", "digest": "0x…" }
//!       ]
//!     }
//!   ]
//! }
//! ```

use std::{collections::BTreeMap, path::Path};

use alloy_primitives::{Address, B256};
use alloy_sol_types::Eip712Domain;
use chunkseq_primitives::{BlockIndex, Slot, StatementKind};
use redb::ReadableTable;
use serde::{Deserialize, Serialize};
use tracing::info;

use super::{
    error::{ImportConflict, InterchangeError, SlashingProtectionError},
    key::RecordKey,
    store::{RECORDS, SignedRecord, SlashingProtectionStore},
};

/// `metadata.interchange_format` of our files.
pub const INTERCHANGE_FORMAT: &str = "chunkseq-slashing-protection";
/// `metadata.interchange_format_version` this version writes and reads.
pub const INTERCHANGE_FORMAT_VERSION: &str = "1";
/// Largest interchange file accepted, in bytes (64 MiB): about 300,000
/// records, far more than a store pruned to recent slots holds. Larger input
/// is refused before it is parsed.
pub const MAX_INTERCHANGE_BYTES: u64 = 64 * 1024 * 1024;

/// A whole interchange file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Interchange {
    /// What the file is and which chain it belongs to.
    pub metadata: InterchangeMetadata,
    /// Records, grouped by signer.
    pub data: Vec<InterchangeSigner>,
}

/// The `metadata` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterchangeMetadata {
    /// Always [`INTERCHANGE_FORMAT`].
    pub interchange_format: String,
    /// Always [`INTERCHANGE_FORMAT_VERSION`].
    pub interchange_format_version: String,
    /// The EIP-712 domain separator the digests were signed under: binds the
    /// file to one L1 chain and one rollup contract.
    pub domain_separator: B256,
}

/// The records of one signer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterchangeSigner {
    /// The signer's address.
    pub address: Address,
    /// What it signed.
    pub signed: Vec<InterchangeRecord>,
}

/// One signed statement. Numbers are decimal strings; `index` is absent for
/// checkpoints and present for every other kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InterchangeRecord {
    /// Kind of statement (`proposal`, `attestation`, `provisional`, `checkpoint`).
    pub kind: StatementKind,
    /// Slot.
    #[serde(with = "decimal_slot")]
    pub slot: Slot,
    /// Block index.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "decimal_index"
    )]
    pub index: Option<BlockIndex>,
    /// The EIP-712 digest that was signed.
    pub digest: B256,
}

impl From<SignedRecord> for InterchangeRecord {
    fn from(r: SignedRecord) -> Self {
        Self {
            kind: r.kind,
            slot: r.slot,
            index: r.index,
            digest: r.digest,
        }
    }
}

/// What an import did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ImportSummary {
    /// Records added to the store.
    pub imported: u64,
    /// Records the store already held with the same digest.
    pub already_present: u64,
}

/// Parses a decimal string of ASCII digits only (no sign, no spaces).
fn parse_decimal<T: std::str::FromStr>(s: &str) -> Result<T, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{s:?} is not a decimal number"));
    }
    s.parse().map_err(|_| format!("{s:?} is out of range"))
}

mod decimal_slot {
    use chunkseq_primitives::Slot;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(slot: &Slot, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&slot.0)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Slot, D::Error> {
        let s = String::deserialize(d)?;
        super::parse_decimal(&s).map(Slot).map_err(D::Error::custom)
    }
}

mod decimal_index {
    use chunkseq_primitives::BlockIndex;
    use serde::{Deserialize, Deserializer, Serializer, de::Error};

    pub(super) fn serialize<S: Serializer>(
        index: &Option<BlockIndex>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match index {
            Some(i) => s.collect_str(&i.0),
            None => s.serialize_none(),
        }
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<BlockIndex>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => super::parse_decimal(&s)
                .map(|i| Some(BlockIndex(i)))
                .map_err(D::Error::custom),
        }
    }
}

impl Interchange {
    /// An empty file for `domain`.
    pub fn new(domain: &Eip712Domain) -> Self {
        Self {
            metadata: InterchangeMetadata {
                interchange_format: INTERCHANGE_FORMAT.to_owned(),
                interchange_format_version: INTERCHANGE_FORMAT_VERSION.to_owned(),
                domain_separator: domain.separator(),
            },
            data: Vec::new(),
        }
    }

    /// Parses and checks a file's bytes. Input longer than
    /// [`MAX_INTERCHANGE_BYTES`] is refused before parsing.
    pub fn from_json_bytes(bytes: &[u8]) -> Result<Self, InterchangeError> {
        if bytes.len() as u64 > MAX_INTERCHANGE_BYTES {
            return Err(InterchangeError::TooLarge {
                max: MAX_INTERCHANGE_BYTES,
            });
        }
        let interchange: Self = serde_json::from_slice(bytes)
            .map_err(|e| InterchangeError::Malformed(e.to_string()))?;
        interchange.validated_records()?;
        Ok(interchange)
    }

    /// Reads and parses the file at `path`, reading at most
    /// [`MAX_INTERCHANGE_BYTES`].
    pub fn from_file(path: &Path) -> Result<Self, InterchangeError> {
        let bytes = chunkseq_primitives::fs::read_bounded(path, MAX_INTERCHANGE_BYTES).map_err(
            |e| match e.kind() {
                std::io::ErrorKind::FileTooLarge => InterchangeError::TooLarge {
                    max: MAX_INTERCHANGE_BYTES,
                },
                _ => InterchangeError::Io(format!("{}: {e}", path.display())),
            },
        )?;
        Self::from_json_bytes(&bytes)
    }

    /// The file as pretty-printed JSON, ending in a newline.
    pub fn to_json_bytes(&self) -> Result<Vec<u8>, InterchangeError> {
        let mut bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| InterchangeError::Malformed(format!("cannot encode: {e}")))?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// Number of records in the file.
    pub fn record_count(&self) -> usize {
        self.data.iter().map(|s| s.signed.len()).sum()
    }

    /// Checks format, version and every record, and returns the records by
    /// key; a key listed twice must carry the same digest.
    pub(crate) fn validated_records(&self) -> Result<BTreeMap<RecordKey, B256>, InterchangeError> {
        let m = &self.metadata;
        if m.interchange_format != INTERCHANGE_FORMAT {
            return Err(InterchangeError::UnknownFormat {
                found: m.interchange_format.clone(),
                expected: INTERCHANGE_FORMAT,
            });
        }
        if m.interchange_format_version != INTERCHANGE_FORMAT_VERSION {
            return Err(InterchangeError::UnsupportedVersion {
                found: m.interchange_format_version.clone(),
                expected: INTERCHANGE_FORMAT_VERSION,
            });
        }
        let mut records = BTreeMap::new();
        for signer in &self.data {
            for (position, r) in signer.signed.iter().enumerate() {
                let checkpoint = r.kind == StatementKind::Checkpoint;
                if checkpoint != r.index.is_none() {
                    return Err(InterchangeError::InvalidRecord {
                        address: signer.address,
                        position,
                        reason: if checkpoint {
                            "a checkpoint record has no index".to_owned()
                        } else {
                            format!("a {} record needs an index", r.kind.name())
                        },
                    });
                }
                let key = RecordKey {
                    address: signer.address,
                    slot: r.slot,
                    kind: r.kind,
                    index: r.index,
                };
                if let Some(first) = records.insert(key, r.digest)
                    && first != r.digest
                {
                    return Err(InterchangeError::SelfConflict {
                        address: key.address,
                        kind: key.kind,
                        slot: key.slot,
                        index: key.index,
                        first,
                        second: r.digest,
                    });
                }
            }
        }
        Ok(records)
    }
}

impl SlashingProtectionStore {
    /// Every record of the store, as an interchange file for `domain` (the
    /// domain the records were signed under).
    pub fn export(&self, domain: &Eip712Domain) -> Result<Interchange, SlashingProtectionError> {
        let mut out = Interchange::new(domain);
        for (address, record) in self.all_records()? {
            match out.data.last_mut() {
                Some(signer) if signer.address == address => signer.signed.push(record.into()),
                _ => out.data.push(InterchangeSigner {
                    address,
                    signed: vec![record.into()],
                }),
            }
        }
        Ok(out)
    }

    /// Adds the records of `interchange` to the store, all or nothing, in one
    /// committed transaction.
    ///
    /// Refused (the store unchanged) when the file is for another domain
    /// separator, another format or version, holds an invalid record, or
    /// holds any record whose key the store has with a different digest; every
    /// such conflict is listed in [`SlashingProtectionError::ImportConflicts`].
    /// Records the store already has with the same digest are counted, not
    /// rewritten.
    pub fn import(
        &self,
        domain: &Eip712Domain,
        interchange: &Interchange,
    ) -> Result<ImportSummary, SlashingProtectionError> {
        let records = interchange.validated_records()?;
        let expected = domain.separator();
        if interchange.metadata.domain_separator != expected {
            return Err(InterchangeError::WrongDomain {
                expected,
                found: interchange.metadata.domain_separator,
            }
            .into());
        }
        let mut summary = ImportSummary::default();
        let mut conflicts = Vec::new();
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(RECORDS)?;
            for (key, digest) in &records {
                let encoded = key.encode();
                let recorded = table.get(&encoded)?.map(|g| B256::from(*g.value()));
                match recorded {
                    None => {
                        table.insert(&encoded, &digest.0)?;
                        summary.imported = summary.imported.saturating_add(1);
                    }
                    Some(r) if r == *digest => {
                        summary.already_present = summary.already_present.saturating_add(1);
                    }
                    Some(r) => conflicts.push(ImportConflict {
                        address: key.address,
                        kind: key.kind,
                        slot: key.slot,
                        index: key.index,
                        recorded: r,
                        imported: *digest,
                    }),
                }
            }
        }
        if !conflicts.is_empty() {
            txn.abort()?;
            return Err(SlashingProtectionError::ImportConflicts(conflicts));
        }
        txn.commit()?;
        info!(
            target: "chunkseq::slashing_protection",
            imported = summary.imported,
            already_present = summary.already_present,
            "imported slashing protection records"
        );
        Ok(summary)
    }
}
