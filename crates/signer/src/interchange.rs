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
    protection::ProtectionStore,
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

/// Why an interchange number did not parse.
#[derive(Debug, thiserror::Error)]
enum DecimalError {
    /// Not ASCII digits only.
    #[error("{0:?} is not a decimal number")]
    NotDecimal(String),
    /// Too large for its type.
    #[error("{0:?} is out of range")]
    OutOfRange(String),
}

/// Parses a decimal string of ASCII digits only (no sign, no spaces).
fn parse_decimal<T: std::str::FromStr>(s: &str) -> Result<T, DecimalError> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(DecimalError::NotDecimal(s.to_owned()));
    }
    s.parse()
        .map_err(|_| DecimalError::OutOfRange(s.to_owned()))
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

/// Every record of `store`, as an interchange file for `domain` (the domain
/// the records were signed under).
pub fn export_store(
    store: &dyn ProtectionStore,
    domain: &Eip712Domain,
) -> Result<Interchange, SlashingProtectionError> {
    let mut out = Interchange::new(domain);
    for (address, record) in store.all_records()? {
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

/// Adds the records of `interchange` to `store`, all or nothing.
///
/// Refused (the store unchanged) when the file is for another domain
/// separator, another format or version, holds an invalid record, or holds
/// any record whose key the store has with a different digest; every such
/// conflict is listed in [`SlashingProtectionError::ImportConflicts`].
/// Records the store already has with the same digest are counted, not
/// rewritten.
pub fn import_into(
    store: &dyn ProtectionStore,
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
    let records: Vec<(Address, SignedRecord)> = records
        .into_iter()
        .map(|(key, digest)| {
            (
                key.address,
                SignedRecord {
                    kind: key.kind,
                    slot: key.slot,
                    index: key.index,
                    digest,
                },
            )
        })
        .collect();
    let summary = store.import_records(&records)?;
    info!(
        target: "chunkseq::slashing_protection",
        store = %store.location(),
        imported = summary.imported,
        already_present = summary.already_present,
        "imported slashing protection records"
    );
    Ok(summary)
}

impl SlashingProtectionStore {
    /// Every record of the store, as an interchange file for `domain` (the
    /// domain the records were signed under).
    pub fn export(&self, domain: &Eip712Domain) -> Result<Interchange, SlashingProtectionError> {
        export_store(self, domain)
    }

    /// Adds the records of `interchange` to the store, all or nothing, in one
    /// committed transaction ([`import_into`]).
    pub fn import(
        &self,
        domain: &Eip712Domain,
        interchange: &Interchange,
    ) -> Result<ImportSummary, SlashingProtectionError> {
        import_into(self, domain, interchange)
    }

    /// [`ProtectionStore::import_records`] in one redb write transaction.
    pub(crate) fn import_redb(
        &self,
        records: &[(Address, SignedRecord)],
    ) -> Result<ImportSummary, SlashingProtectionError> {
        let mut summary = ImportSummary::default();
        let mut conflicts = Vec::new();
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(RECORDS)?;
            for (address, r) in records {
                let key = RecordKey {
                    address: *address,
                    slot: r.slot,
                    kind: r.kind,
                    index: r.index,
                };
                let encoded = key.encode();
                let recorded = table.get(&encoded)?.map(|g| B256::from(*g.value()));
                match recorded {
                    None => {
                        table.insert(&encoded, &r.digest.0)?;
                        summary.imported = summary.imported.saturating_add(1);
                    }
                    Some(d) if d == r.digest => {
                        summary.already_present = summary.already_present.saturating_add(1);
                    }
                    Some(d) => conflicts.push(ImportConflict {
                        address: key.address,
                        kind: key.kind,
                        slot: key.slot,
                        index: key.index,
                        recorded: d,
                        imported: r.digest,
                    }),
                }
            }
        }
        if !conflicts.is_empty() {
            txn.abort()?;
            return Err(SlashingProtectionError::ImportConflicts(conflicts));
        }
        txn.commit()?;
        Ok(summary)
    }
}

#[cfg(test)]
mod tests {
    use alloy_primitives::Address;
    use chunkseq_primitives::crypto::eip712_domain;

    use super::*;
    use crate::test_support::{domain, request};

    const ALICE: Address = Address::repeat_byte(0x01);
    const BOB: Address = Address::repeat_byte(0x02);

    /// A store with a few records of two signers, every kind.
    fn populated() -> SlashingProtectionStore {
        let store = SlashingProtectionStore::in_memory().unwrap();
        for signer in [ALICE, BOB] {
            for slot in [3u64, 4] {
                for kind in StatementKind::ALL {
                    store
                        .check_and_record(signer, &request(kind, slot, 1, slot as u8))
                        .unwrap();
                }
            }
        }
        store
    }

    fn json(interchange: &Interchange) -> String {
        String::from_utf8(interchange.to_json_bytes().unwrap()).unwrap()
    }

    /// Runs `import` of `text` (as a file would be) into `store` and returns
    /// the error, checking that the store did not change.
    fn refused(store: &SlashingProtectionStore, text: &str) -> SlashingProtectionError {
        let before = store.all_records().unwrap();
        let err = match Interchange::from_json_bytes(text.as_bytes()) {
            Err(e) => SlashingProtectionError::Interchange(e),
            Ok(i) => store.import(&domain(), &i).unwrap_err(),
        };
        assert_eq!(store.all_records().unwrap(), before, "store changed: {err}");
        err
    }

    #[test]
    fn export_then_import_into_an_empty_store_roundtrips() {
        let source = populated();
        let exported = source.export(&domain()).unwrap();
        assert_eq!(exported.record_count(), 16);
        assert_eq!(
            exported.data.iter().map(|s| s.address).collect::<Vec<_>>(),
            vec![ALICE, BOB]
        );
        let text = json(&exported);
        // Numbers are decimal strings and checkpoints carry no index.
        assert!(text.contains(r#""slot": "3""#), "{text}");
        assert!(text.contains(r#""index": "1""#), "{text}");
        assert!(!text.contains(r#""index": null"#), "{text}");
        let parsed = Interchange::from_json_bytes(text.as_bytes()).unwrap();
        assert_eq!(parsed, exported);
        let target = SlashingProtectionStore::in_memory().unwrap();
        assert_eq!(
            target.import(&domain(), &parsed).unwrap(),
            ImportSummary {
                imported: 16,
                already_present: 0
            }
        );
        assert_eq!(target.all_records().unwrap(), source.all_records().unwrap());
        // The target now refuses what the source would refuse.
        let conflicting = request(StatementKind::Checkpoint, 3, 0, 0x99);
        assert!(matches!(
            target.check_and_record(ALICE, &conflicting),
            Err(SlashingProtectionError::Conflict { .. })
        ));
    }

    #[test]
    fn an_empty_store_exports_an_empty_file() {
        let store = SlashingProtectionStore::in_memory().unwrap();
        let exported = store.export(&domain()).unwrap();
        assert_eq!(exported, Interchange::new(&domain()));
        assert!(json(&exported).contains(r#""data": []"#));
    }

    #[test]
    fn import_merges_records_already_present() {
        let store = populated();
        let mut file = store.export(&domain()).unwrap();
        let extra = request(StatementKind::Proposal, 9, 0, 9);
        file.data[0].signed.push(InterchangeRecord {
            kind: extra.kind(),
            slot: extra.slot(),
            index: extra.index(),
            digest: extra.digest(),
        });
        assert_eq!(
            store.import(&domain(), &file).unwrap(),
            ImportSummary {
                imported: 1,
                already_present: 16
            }
        );
        assert_eq!(
            store.check_and_record(ALICE, &extra).unwrap(),
            crate::Decision::Repeat
        );
    }

    #[test]
    fn import_of_a_conflicting_record_changes_nothing_and_names_it() {
        let store = populated();
        let mut file = Interchange::new(&domain());
        let new = request(StatementKind::Proposal, 10, 0, 1);
        let clash = request(StatementKind::Attestation, 4, 1, 0x77);
        file.data.push(InterchangeSigner {
            address: BOB,
            signed: vec![new, clash]
                .into_iter()
                .map(|r| InterchangeRecord {
                    kind: r.kind(),
                    slot: r.slot(),
                    index: r.index(),
                    digest: r.digest(),
                })
                .collect(),
        });
        let err = refused(&store, &json(&file));
        match &err {
            SlashingProtectionError::ImportConflicts(conflicts) => {
                assert_eq!(
                    conflicts.as_slice(),
                    &[ImportConflict {
                        address: BOB,
                        kind: StatementKind::Attestation,
                        slot: Slot(4),
                        index: Some(BlockIndex(1)),
                        recorded: request(StatementKind::Attestation, 4, 1, 4).digest(),
                        imported: clash.digest(),
                    }]
                );
            }
            other => panic!("expected import conflicts, got {other}"),
        }
        let message = err.to_string();
        assert!(message.contains("nothing was imported"), "{message}");
        assert!(message.contains("attestation"), "{message}");
        // The good record of the refused file was not imported either.
        assert_eq!(
            store
                .get(BOB, StatementKind::Proposal, Slot(10), Some(BlockIndex(0)))
                .unwrap(),
            None
        );
    }

    #[test]
    fn import_refuses_another_domain() {
        let store = populated();
        for other in [
            eip712_domain(1, Address::repeat_byte(0xaa)),
            eip712_domain(31_337, Address::repeat_byte(0xab)),
        ] {
            let file = json(
                &SlashingProtectionStore::in_memory()
                    .unwrap()
                    .export(&other)
                    .unwrap(),
            );
            let err = refused(&store, &file);
            match err {
                SlashingProtectionError::Interchange(InterchangeError::WrongDomain {
                    expected,
                    found,
                }) => {
                    assert_eq!(expected, domain().separator());
                    assert_eq!(found, other.separator());
                }
                other => panic!("expected a wrong domain, got {other}"),
            }
        }
    }

    fn with_metadata(format: &str, version: &str) -> String {
        format!(
            r#"{{"metadata": {{"interchange_format": "{format}", "interchange_format_version": "{version}", "domain_separator": "{}"}}, "data": []}}"#,
            domain().separator()
        )
    }

    #[test]
    fn import_refuses_unknown_format_or_version() {
        let store = populated();
        assert!(
            Interchange::from_json_bytes(with_metadata(INTERCHANGE_FORMAT, "1").as_bytes()).is_ok()
        );
        for (format, version) in [
            (INTERCHANGE_FORMAT, "2"),
            (INTERCHANGE_FORMAT, "1.0"),
            (INTERCHANGE_FORMAT, ""),
        ] {
            let err = refused(&store, &with_metadata(format, version));
            assert!(
                matches!(
                    err,
                    SlashingProtectionError::Interchange(
                        InterchangeError::UnsupportedVersion { .. }
                    )
                ),
                "{version}: {err}"
            );
        }
        // EIP-3076's own files are not ours.
        for format in ["complete", "minimal", ""] {
            let err = refused(&store, &with_metadata(format, "1"));
            assert!(
                matches!(
                    err,
                    SlashingProtectionError::Interchange(InterchangeError::UnknownFormat { .. })
                ),
                "{format}: {err}"
            );
        }
    }

    #[test]
    fn oversize_input_is_refused_before_parsing() {
        let limit = usize::try_from(MAX_INTERCHANGE_BYTES).unwrap();
        // Valid JSON followed by padding: only the size can refuse it.
        let mut bytes = with_metadata(INTERCHANGE_FORMAT, "1").into_bytes();
        bytes.resize(limit, b' ');
        assert!(Interchange::from_json_bytes(&bytes).is_ok());
        bytes.push(b' ');
        assert_eq!(
            Interchange::from_json_bytes(&bytes),
            Err(InterchangeError::TooLarge {
                max: MAX_INTERCHANGE_BYTES
            })
        );
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.json");
        std::fs::write(&path, &bytes).unwrap();
        assert_eq!(
            Interchange::from_file(&path),
            Err(InterchangeError::TooLarge {
                max: MAX_INTERCHANGE_BYTES
            })
        );
        assert!(matches!(
            Interchange::from_file(&dir.path().join("missing.json")),
            Err(InterchangeError::Io(_))
        ));
    }

    /// A file with one signer and one record whose fields are `record`.
    fn with_record(record: &str) -> String {
        format!(
            r#"{{"metadata": {{"interchange_format": "{INTERCHANGE_FORMAT}", "interchange_format_version": "1", "domain_separator": "{}"}}, "data": [{{"address": "{ALICE}", "signed": [{record}]}}]}}"#,
            domain().separator()
        )
    }

    #[test]
    fn malformed_files_are_refused_and_change_nothing() {
        let store = populated();
        let d = B256::repeat_byte(5);
        let good =
            format!(r#"{{"kind": "proposal", "slot": "12", "index": "0", "digest": "{d}"}}"#);
        assert!(Interchange::from_json_bytes(with_record(&good).as_bytes()).is_ok());
        let malformed = [
            ("not JSON", "slashing protection".to_owned()),
            ("truncated", with_record(&good).chars().take(80).collect()),
            (
                "a number, not a string",
                with_record(&format!(
                    r#"{{"kind": "proposal", "slot": 12, "index": "0", "digest": "{d}"}}"#
                )),
            ),
            (
                "a negative slot",
                with_record(&format!(
                    r#"{{"kind": "proposal", "slot": "-1", "index": "0", "digest": "{d}"}}"#
                )),
            ),
            (
                "a signed slot",
                with_record(&format!(
                    r#"{{"kind": "proposal", "slot": "+1", "index": "0", "digest": "{d}"}}"#
                )),
            ),
            (
                "an empty slot",
                with_record(&format!(
                    r#"{{"kind": "proposal", "slot": "", "index": "0", "digest": "{d}"}}"#
                )),
            ),
            (
                "a slot beyond u64",
                with_record(&format!(
                    r#"{{"kind": "proposal", "slot": "18446744073709551616", "index": "0", "digest": "{d}"}}"#
                )),
            ),
            (
                "an index beyond u32",
                with_record(&format!(
                    r#"{{"kind": "proposal", "slot": "1", "index": "4294967296", "digest": "{d}"}}"#
                )),
            ),
            (
                "an unknown kind",
                with_record(&format!(
                    r#"{{"kind": "vote", "slot": "1", "index": "0", "digest": "{d}"}}"#
                )),
            ),
            (
                "a short digest",
                with_record(
                    r#"{"kind": "proposal", "slot": "1", "index": "0", "digest": "0x1234"}"#,
                ),
            ),
            (
                "a missing digest",
                with_record(r#"{"kind": "proposal", "slot": "1", "index": "0"}"#),
            ),
            (
                "an unknown field",
                with_record(&format!(
                    r#"{{"kind": "proposal", "slot": "1", "idx": "0", "digest": "{d}"}}"#
                )),
            ),
            (
                "a bad address",
                with_record(&good).replace(&ALICE.to_string(), "0xnot-an-address"),
            ),
            ("no metadata", r#"{"data": []}"#.to_owned()),
        ];
        for (what, text) in &malformed {
            let err = refused(&store, text);
            assert!(
                matches!(
                    err,
                    SlashingProtectionError::Interchange(InterchangeError::Malformed(_))
                ),
                "{what}: {err}"
            );
        }
        let invalid = [
            (
                "a checkpoint with an index",
                format!(r#"{{"kind": "checkpoint", "slot": "1", "index": "0", "digest": "{d}"}}"#),
            ),
            (
                "a proposal without an index",
                format!(r#"{{"kind": "proposal", "slot": "1", "digest": "{d}"}}"#),
            ),
            (
                "an attestation with a null index",
                format!(
                    r#"{{"kind": "attestation", "slot": "1", "index": null, "digest": "{d}"}}"#
                ),
            ),
        ];
        for (what, record) in &invalid {
            let err = refused(&store, &with_record(record));
            assert!(
                matches!(
                    err,
                    SlashingProtectionError::Interchange(InterchangeError::InvalidRecord { .. })
                ),
                "{what}: {err}"
            );
        }
        let other = B256::repeat_byte(6);
        let twice = format!(
            r#"{good}, {{"kind": "proposal", "slot": "12", "index": "0", "digest": "{other}"}}"#
        );
        let err = refused(&store, &with_record(&twice));
        assert!(
            matches!(
                err,
                SlashingProtectionError::Interchange(InterchangeError::SelfConflict { .. })
            ),
            "{err}"
        );
        // The same record twice is not a contradiction.
        let same_twice = format!("{good}, {good}");
        assert!(Interchange::from_json_bytes(with_record(&same_twice).as_bytes()).is_ok());
    }

    #[test]
    fn messages_tell_the_operator_what_to_check() {
        let err = SlashingProtectionError::from(InterchangeError::WrongDomain {
            expected: B256::repeat_byte(1),
            found: B256::repeat_byte(2),
        });
        let m = err.to_string();
        assert!(
            m.contains("nothing was imported") && m.contains("rollup contract"),
            "{m}"
        );
        let conflict = SlashingProtectionError::Conflict {
            address: ALICE,
            kind: StatementKind::Proposal,
            slot: Slot(7),
            index: Some(BlockIndex(1)),
            recorded: B256::repeat_byte(1),
            requested: B256::repeat_byte(2),
        };
        let m = conflict.to_string();
        assert!(
            m.contains("proposal by 0x0101") && m.contains("slot 7 index 1"),
            "{m}"
        );
    }
}
