//! The tree holds one version of each consensus-critical dependency: two
//! versions of alloy, revm, secp256k1 or k256 could disagree on an encoding,
//! a hash or a signature.

#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::collections::BTreeMap;

#[test]
fn one_version_of_each_consensus_dependency() {
    let lock =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../Cargo.lock")).unwrap();
    let lock: toml::Table = lock.parse().unwrap();
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for package in lock["package"].as_array().unwrap() {
        let name = package["name"].as_str().unwrap();
        let version = package["version"].as_str().unwrap();
        let watched = name == "secp256k1"
            || name == "secp256k1-sys"
            || name == "k256"
            || name == "revm"
            || name.starts_with("revm-")
            || name.starts_with("alloy-");
        if watched {
            versions
                .entry(name.to_owned())
                .or_default()
                .push(version.to_owned());
        }
    }
    assert!(
        versions.contains_key("secp256k1"),
        "the lock file was not read: {versions:?}"
    );
    let duplicated: Vec<_> = versions.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(
        duplicated.is_empty(),
        "several versions in Cargo.lock: {duplicated:?}"
    );
}
