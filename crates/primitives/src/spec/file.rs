//! Loading a `ChainSpec` from TOML.
//!
//! A file either lists every parameter, or names a `preset` and overrides some
//! of its parameters:
//!
//! ```toml
//! preset = "devnet"
//! chain_id = 8_123
//! genesis_time = 1_790_000_000
//! ```
//!
//! Unknown keys are errors, so a typo never silently falls back to a default.

use std::path::Path;

use thiserror::Error;

use super::{ChainSpec, Preset, SpecError};

/// Largest spec file accepted; a real one is well under a kilobyte.
pub const MAX_SPEC_FILE_BYTES: u64 = 64 * 1024;

/// Why a spec file could not be loaded.
#[derive(Debug, Error)]
pub enum SpecFileError {
    /// The file could not be read.
    #[error("cannot read chain spec {path}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The text exceeds [`MAX_SPEC_FILE_BYTES`].
    #[error("chain spec {path} is larger than the limit of {MAX_SPEC_FILE_BYTES} bytes")]
    TooLarge {
        /// The file.
        path: String,
    },
    /// The TOML is malformed or has an unknown, missing or mistyped key.
    #[error("invalid chain spec TOML: {0}")]
    Toml(String),
    /// The parameters parse but are inconsistent.
    #[error("inconsistent chain spec: {0}")]
    Invalid(#[from] SpecError),
}

impl ChainSpec {
    /// Parses and validates a spec from TOML text.
    pub fn from_toml_str(text: &str) -> Result<Self, SpecFileError> {
        if text.len() as u64 > MAX_SPEC_FILE_BYTES {
            return Err(SpecFileError::TooLarge {
                path: "<text>".into(),
            });
        }
        let mut table: toml::Table = text
            .parse()
            .map_err(|e: toml::de::Error| SpecFileError::Toml(e.to_string()))?;
        let spec = match table.remove("preset") {
            None => table
                .try_into()
                .map_err(|e: toml::de::Error| SpecFileError::Toml(e.to_string()))?,
            Some(toml::Value::String(name)) => {
                let preset: Preset = name.parse()?;
                let mut merged = toml::Table::try_from(preset.spec())
                    .map_err(|e| SpecFileError::Toml(e.to_string()))?;
                for (key, value) in table {
                    if !merged.contains_key(&key) {
                        return Err(SpecFileError::Toml(format!("unknown parameter `{key}`")));
                    }
                    merged.insert(key, value);
                }
                merged
                    .try_into()
                    .map_err(|e: toml::de::Error| SpecFileError::Toml(e.to_string()))?
            }
            Some(other) => {
                return Err(SpecFileError::Toml(format!(
                    "`preset` must be a string, found {}",
                    other.type_str()
                )));
            }
        };
        let spec: ChainSpec = spec;
        spec.validate()?;
        Ok(spec)
    }

    /// Reads, parses and validates a spec file.
    pub fn from_toml_file(path: &Path) -> Result<Self, SpecFileError> {
        let shown = path.display().to_string();
        let bytes = crate::fs::read_bounded(path, MAX_SPEC_FILE_BYTES).map_err(|source| {
            if source.kind() == std::io::ErrorKind::FileTooLarge {
                SpecFileError::TooLarge {
                    path: shown.clone(),
                }
            } else {
                SpecFileError::Io {
                    path: shown.clone(),
                    source,
                }
            }
        })?;
        let text = String::from_utf8(bytes)
            .map_err(|_| SpecFileError::Toml(format!("{shown} is not UTF-8 text")))?;
        Self::from_toml_str(&text)
    }

    /// The spec as a complete TOML document (every parameter, no preset).
    pub fn to_toml_string(&self) -> Result<String, SpecFileError> {
        toml::to_string(self).map_err(|e| SpecFileError::Toml(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preset_with_overrides() {
        let spec =
            ChainSpec::from_toml_str("preset = \"devnet\"\nchain_id = 9\nchunks_per_slot = 4\n")
                .unwrap();
        let mut expected = Preset::Devnet.spec();
        expected.chain_id = 9;
        expected.chunks_per_slot = 4;
        assert_eq!(spec, expected);
    }

    #[test]
    fn full_document_round_trips() {
        for p in Preset::ALL {
            let text = p.spec().to_toml_string().unwrap();
            assert_eq!(ChainSpec::from_toml_str(&text).unwrap(), p.spec(), "{p}");
        }
    }

    #[test]
    fn rejections_are_specific() {
        let cases = [
            (
                "preset = \"devnet\"\nchunk_per_slot = 4\n",
                "unknown parameter `chunk_per_slot`",
            ),
            ("preset = \"mainnet\"\n", "unknown preset `mainnet`"),
            ("preset = 3\n", "`preset` must be a string"),
            ("chain_id = 1\n", "missing field"),
            (
                "preset = \"devnet\"\nchunks_per_slot = \"many\"\n",
                "invalid type",
            ),
            (
                "preset = \"devnet\"\nslot_duration_ms = 4000\nchunks_per_slot = 64\n",
                "cannot hold 64 chunks",
            ),
            (
                "preset = \"devnet\"\nchunks_per_slot = -1\n",
                "invalid value",
            ),
            ("not toml at all", "invalid chain spec TOML"),
        ];
        for (text, needle) in cases {
            let err = ChainSpec::from_toml_str(text).unwrap_err().to_string();
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }

    #[test]
    fn oversized_text_is_refused_before_parsing() {
        let text = format!("# {}\n", "x".repeat(MAX_SPEC_FILE_BYTES as usize));
        assert!(matches!(
            ChainSpec::from_toml_str(&text),
            Err(SpecFileError::TooLarge { .. })
        ));
    }

    #[test]
    fn missing_file_names_the_path() {
        let err = ChainSpec::from_toml_file(Path::new("/nonexistent/spec.toml")).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/spec.toml"), "{err}");
    }
}
