//! The build holds one version of each consensus-critical dependency: two
//! versions of alloy, revm, secp256k1 or k256 could disagree on an encoding,
//! a hash or a signature.
//!
//! Cargo.lock also lists optional dependencies that nothing enables, so the
//! check asks `cargo tree` for what the workspace really builds.

#![allow(clippy::unwrap_used, clippy::panic, missing_docs)]

use std::{collections::BTreeMap, process::Command};

#[test]
fn one_version_of_each_consensus_dependency() {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "tree",
            "--workspace",
            "--offline",
            "--edges",
            "normal,build,dev",
            "--prefix",
            "none",
        ])
        .args(["--format", "{p}"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "cargo tree failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut versions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in String::from_utf8(out.stdout).unwrap().lines() {
        let mut parts = line.split_whitespace();
        let (Some(name), Some(version)) = (parts.next(), parts.next()) else {
            continue;
        };
        let watched = name == "secp256k1"
            || name == "secp256k1-sys"
            || name == "k256"
            || name == "revm"
            || name.starts_with("revm-")
            || name.starts_with("alloy-");
        if watched {
            let v = versions.entry(name.to_owned()).or_default();
            if !v.iter().any(|x| x == version) {
                v.push(version.to_owned());
            }
        }
    }
    for expected in [
        "secp256k1",
        "revm",
        "alloy-primitives",
        "alloy-sol-types",
        "alloy-consensus",
    ] {
        assert!(
            versions.contains_key(expected),
            "{expected} not in the tree: {versions:?}"
        );
    }
    let duplicated: Vec<_> = versions.iter().filter(|(_, v)| v.len() > 1).collect();
    assert!(
        duplicated.is_empty(),
        "several versions built: {duplicated:?}"
    );
}
