//! The Rollup contract's interface, read from its committed artifact so that
//! selectors and error names can never drift from the compiled contract.

use std::collections::HashMap;

use alloy_primitives::{B256, Bytes, keccak256};
use serde_json::Value;

use crate::error::L1Error;

/// The compiled Rollup contract (`contracts/artifacts/Rollup.json`).
pub const ROLLUP_ARTIFACT: &str = include_str!("../../../contracts/artifacts/Rollup.json");

/// Selectors and error names of a contract.
#[derive(Debug, Clone)]
pub struct ContractAbi {
    functions: HashMap<String, [u8; 4]>,
    errors: HashMap<[u8; 4], String>,
    events: HashMap<String, B256>,
    bytecode: Bytes,
}

impl ContractAbi {
    /// Reads an artifact `{ abi, bytecode, ... }`.
    pub fn from_artifact(json: &str) -> Result<Self, L1Error> {
        let bad = |what: &str| L1Error::Artifact(what.to_owned());
        let artifact: Value =
            serde_json::from_str(json).map_err(|e| L1Error::Artifact(e.to_string()))?;
        let abi = artifact
            .get("abi")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("no abi"))?;
        let mut functions = HashMap::new();
        let mut errors = HashMap::new();
        let mut events = HashMap::new();
        for item in abi {
            let kind = item.get("type").and_then(Value::as_str).unwrap_or_default();
            let Some(name) = item.get("name").and_then(Value::as_str) else {
                continue;
            };
            let inputs = item
                .get("inputs")
                .and_then(Value::as_array)
                .ok_or_else(|| bad("no inputs"))?;
            let types: Vec<String> = inputs
                .iter()
                .map(canonical_type)
                .collect::<Result<_, _>>()?;
            let signature = format!("{name}({})", types.join(","));
            let hash = keccak256(signature.as_bytes());
            let mut selector = [0u8; 4];
            selector.copy_from_slice(hash.get(..4).ok_or_else(|| bad("hash"))?);
            match kind {
                "function" => {
                    functions.insert(name.to_owned(), selector);
                }
                "error" => {
                    errors.insert(selector, name.to_owned());
                }
                "event" => {
                    events.insert(name.to_owned(), hash);
                }
                _ => {}
            }
        }
        let bytecode = artifact
            .get("bytecode")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no bytecode"))?
            .parse()
            .map_err(|e| L1Error::Artifact(format!("bytecode: {e}")))?;
        Ok(Self {
            functions,
            errors,
            events,
            bytecode,
        })
    }

    /// The Rollup contract.
    pub fn rollup() -> Result<Self, L1Error> {
        Self::from_artifact(ROLLUP_ARTIFACT)
    }

    /// Calldata: the selector of `function` followed by `params` (already
    /// ABI-encoded as a parameter sequence).
    pub fn calldata(&self, function: &str, params: &[u8]) -> Result<Bytes, L1Error> {
        let selector = self
            .functions
            .get(function)
            .ok_or_else(|| L1Error::UnknownFunction(function.to_owned()))?;
        let mut data = Vec::with_capacity(params.len().saturating_add(4));
        data.extend_from_slice(selector);
        data.extend_from_slice(params);
        Ok(data.into())
    }

    /// The selector of function `name`.
    pub fn selector(&self, name: &str) -> Option<[u8; 4]> {
        self.functions.get(name).copied()
    }

    /// The topic of event `name`.
    pub fn event_topic(&self, name: &str) -> Option<B256> {
        self.events.get(name).copied()
    }

    /// The creation bytecode.
    pub const fn bytecode(&self) -> &Bytes {
        &self.bytecode
    }

    /// The name of the custom error revert data starts with, if it is one of ours.
    pub fn error_name(&self, revert: &[u8]) -> Option<&str> {
        let selector: [u8; 4] = revert.get(..4)?.try_into().ok()?;
        self.errors.get(&selector).map(String::as_str)
    }
}

/// The canonical ABI type of an input, expanding tuples.
fn canonical_type(input: &Value) -> Result<String, L1Error> {
    let ty = input
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| L1Error::Artifact("input type".into()))?;
    match ty.strip_prefix("tuple") {
        Some(suffix) => {
            let components = input
                .get("components")
                .and_then(Value::as_array)
                .ok_or_else(|| L1Error::Artifact("tuple components".into()))?;
            let inner: Vec<String> = components
                .iter()
                .map(canonical_type)
                .collect::<Result<_, _>>()?;
            Ok(format!("({}){suffix}", inner.join(",")))
        }
        None => Ok(ty.to_owned()),
    }
}
