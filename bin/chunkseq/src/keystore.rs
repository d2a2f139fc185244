//! Encrypted validator keys in the Ethereum V3 keystore format (scrypt +
//! AES-128-CTR, as geth and foundry write them), through `eth-keystore`.
//!
//! Files are read under a size limit and their KDF parameters are checked
//! before any decryption, so a malformed or hostile file gets an error rather
//! than a panic or an unbounded scrypt.

use std::{
    fs,
    io::Write,
    path::{Path, PathBuf},
};

use chunkseq_primitives::{Address, PrivateKey};
use eth_keystore::{EthKeystore, KdfparamsType};
use thiserror::Error;

/// Largest keystore file accepted; a real one is about 500 bytes.
const MAX_KEYSTORE_BYTES: u64 = 64 * 1024;
/// Largest scrypt memory cost accepted, `128 * n * r` bytes: 256 MiB, geth's
/// standard setting (n = 2^18, r = 8).
const MAX_SCRYPT_MEMORY: u64 = 256 * 1024 * 1024;
/// Largest scrypt work accepted, `n * r * p`: twice geth's standard setting.
const MAX_SCRYPT_WORK: u64 = 1 << 22;
/// Largest PBKDF2 iteration count accepted.
const MAX_PBKDF2_ROUNDS: u32 = 10_000_000;

/// Why a keystore could not be written or read.
#[derive(Debug, Error)]
pub(crate) enum KeystoreError {
    #[error("{path}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}: the directory {dir} does not exist")]
    NoDirectory { path: PathBuf, dir: PathBuf },
    #[error("{path} already exists; refusing to overwrite a key")]
    Exists { path: PathBuf },
    #[error("{path} is larger than a keystore can be ({MAX_KEYSTORE_BYTES} bytes)")]
    TooLarge { path: PathBuf },
    #[error("{path} is not a V3 keystore: {reason}")]
    Malformed { path: PathBuf, reason: String },
    #[error("{path}: wrong password (MAC mismatch)")]
    WrongPassword { path: PathBuf },
    #[error("{path}: {reason}")]
    Crypto { path: PathBuf, reason: String },
    #[error("{path}: the decrypted key controls {actual}, but the file says {recorded}")]
    AddressMismatch {
        path: PathBuf,
        recorded: Address,
        actual: Address,
    },
}

/// What a keystore file says about itself without its password.
#[derive(Debug)]
pub(crate) struct KeystoreInfo {
    /// The `address` field, when the file has one.
    pub(crate) address: Option<Address>,
}

/// Encrypts `key` with `password` into a new file at `path` (mode 0600),
/// with an `address` field as geth writes it, then reads it back to prove it
/// decrypts to the same key.
pub(crate) fn write(path: &Path, key: &PrivateKey, password: &[u8]) -> Result<(), KeystoreError> {
    let io = |source| KeystoreError::Io {
        path: path.to_owned(),
        source,
    };
    if path.exists() {
        return Err(KeystoreError::Exists {
            path: path.to_owned(),
        });
    }
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    };
    if !dir.is_dir() {
        return Err(KeystoreError::NoDirectory {
            path: path.to_owned(),
            dir,
        });
    }
    let staging = tempfile::tempdir_in(&dir).map_err(io)?;
    eth_keystore::encrypt_key(
        staging.path(),
        &mut rand::rngs::OsRng,
        key.to_bytes(),
        password,
        Some("key.json"),
    )
    .map_err(|e| KeystoreError::Crypto {
        path: path.to_owned(),
        reason: e.to_string(),
    })?;
    let staged = staging.path().join("key.json");
    let mut json: serde_json::Value =
        serde_json::from_slice(&fs::read(&staged).map_err(io)?).map_err(|e| malformed(path, e))?;
    if let Some(obj) = json.as_object_mut() {
        obj.insert("address".into(), hex::encode(key.address()).into());
    }
    let mut file = new_private_file(path).map_err(io)?;
    file.write_all(json.to_string().as_bytes()).map_err(io)?;
    file.sync_all().map_err(io)?;
    drop(file);
    let back = read(path, password)?;
    if back.address() != key.address() {
        return Err(KeystoreError::AddressMismatch {
            path: path.to_owned(),
            recorded: key.address(),
            actual: back.address(),
        });
    }
    Ok(())
}

/// Reads the public part of a keystore, checking that it is well-formed.
pub(crate) fn inspect(path: &Path) -> Result<KeystoreInfo, KeystoreError> {
    Ok(load(path)?.0)
}

/// Reads and checks a keystore once; returns what it says and its bytes.
fn load(path: &Path) -> Result<(KeystoreInfo, Vec<u8>), KeystoreError> {
    let bytes = read_bounded(path)?;
    let keystore: EthKeystore = serde_json::from_slice(&bytes).map_err(|e| malformed(path, e))?;
    check_params(path, &keystore)?;
    let json: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| malformed(path, e))?;
    let address = match json.get("address") {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => {
            let s = if s.starts_with("0x") {
                s.clone()
            } else {
                format!("0x{s}")
            };
            Some(
                s.parse()
                    .map_err(|e| malformed(path, format!("bad address field: {e}")))?,
            )
        }
        Some(_) => return Err(malformed(path, "the address field is not a string")),
    };
    Ok((KeystoreInfo { address }, bytes))
}

/// Decrypts a keystore; checks the recorded address when there is one.
///
/// The bytes that were checked are the bytes that get decrypted: they are
/// handed to `eth-keystore` through a private copy, so the file cannot change
/// in between.
pub(crate) fn read(path: &Path, password: &[u8]) -> Result<PrivateKey, KeystoreError> {
    let (info, bytes) = load(path)?;
    let io = |source| KeystoreError::Io {
        path: path.to_owned(),
        source,
    };
    let copy = tempfile::NamedTempFile::new().map_err(io)?;
    fs::write(copy.path(), &bytes).map_err(io)?;
    let secret = eth_keystore::decrypt_key(copy.path(), password).map_err(|e| match e {
        eth_keystore::KeystoreError::MacMismatch => KeystoreError::WrongPassword {
            path: path.to_owned(),
        },
        other => KeystoreError::Crypto {
            path: path.to_owned(),
            reason: other.to_string(),
        },
    })?;
    let bytes: [u8; 32] = secret
        .as_slice()
        .try_into()
        .map_err(|_| malformed(path, format!("the key is {} bytes, not 32", secret.len())))?;
    let key = PrivateKey::from_bytes(bytes).map_err(|e| malformed(path, e))?;
    if let Some(recorded) = info.address
        && recorded != key.address()
    {
        return Err(KeystoreError::AddressMismatch {
            path: path.to_owned(),
            recorded,
            actual: key.address(),
        });
    }
    Ok(key)
}

fn read_bounded(path: &Path) -> Result<Vec<u8>, KeystoreError> {
    chunkseq_primitives::fs::read_bounded(path, MAX_KEYSTORE_BYTES).map_err(|source| {
        if source.kind() == std::io::ErrorKind::FileTooLarge {
            KeystoreError::TooLarge {
                path: path.to_owned(),
            }
        } else {
            KeystoreError::Io {
                path: path.to_owned(),
                source,
            }
        }
    })
}

/// The checks `eth-keystore` leaves to its caller: lengths it slices without
/// checking, and KDF costs that could exhaust the machine.
fn check_params(path: &Path, k: &EthKeystore) -> Result<(), KeystoreError> {
    let bad = |reason: String| Err(malformed(path, reason));
    if k.version != 3 {
        return bad(format!("version {} (expected 3)", k.version));
    }
    if k.crypto.cipher != "aes-128-ctr" {
        return bad(format!("cipher {} (expected aes-128-ctr)", k.crypto.cipher));
    }
    if k.crypto.cipherparams.iv.len() != 16 {
        return bad(format!(
            "iv of {} bytes (expected 16)",
            k.crypto.cipherparams.iv.len()
        ));
    }
    if k.crypto.ciphertext.len() != 32 || k.crypto.mac.len() != 32 {
        return bad("ciphertext and mac must be 32 bytes each".into());
    }
    match &k.crypto.kdfparams {
        KdfparamsType::Scrypt {
            dklen,
            n,
            p,
            r,
            salt,
        } => {
            let (n64, r64, p64) = (u64::from(*n), u64::from(*r), u64::from(*p));
            let memory = n64.saturating_mul(r64).saturating_mul(128);
            let work = n64.saturating_mul(r64).saturating_mul(p64);
            if *dklen != 32
                || !n.is_power_of_two()
                || *n < 2
                || r64 == 0
                || p64 == 0
                || memory > MAX_SCRYPT_MEMORY
                || work > MAX_SCRYPT_WORK
                || salt.len() > 1024
            {
                return bad(format!(
                    "unsupported scrypt parameters n={n} r={r} p={p} dklen={dklen}"
                ));
            }
        }
        KdfparamsType::Pbkdf2 {
            c,
            dklen,
            prf,
            salt,
        } => {
            if *dklen != 32
                || *c == 0
                || *c > MAX_PBKDF2_ROUNDS
                || prf != "hmac-sha256"
                || salt.len() > 1024
            {
                return bad(format!(
                    "unsupported pbkdf2 parameters c={c} prf={prf} dklen={dklen}"
                ));
            }
        }
    }
    Ok(())
}

fn malformed(path: &Path, reason: impl std::fmt::Display) -> KeystoreError {
    KeystoreError::Malformed {
        path: path.to_owned(),
        reason: reason.to_string(),
    }
}

fn new_private_file(path: &Path) -> std::io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> PrivateKey {
        PrivateKey::from_bytes([0x11; 32]).unwrap()
    }

    #[test]
    fn write_then_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.json");
        write(&path, &key(), b"pw").unwrap();
        assert_eq!(inspect(&path).unwrap().address, Some(key().address()));
        assert_eq!(read(&path, b"pw").unwrap().address(), key().address());
        assert!(matches!(
            read(&path, b"wrong"),
            Err(KeystoreError::WrongPassword { .. })
        ));
        assert!(matches!(
            write(&path, &key(), b"pw"),
            Err(KeystoreError::Exists { .. })
        ));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        let leftovers: Vec<_> = fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(leftovers.len(), 1, "no staging files left behind");
    }

    #[test]
    fn hostile_files_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.json");
        write(&good, &key(), b"pw").unwrap();
        let json: serde_json::Value = serde_json::from_slice(&fs::read(&good).unwrap()).unwrap();
        type Change = Box<dyn Fn(&mut serde_json::Value)>;
        let cases: Vec<(&str, Change)> = vec![
            (
                "short iv",
                Box::new(|j| j["crypto"]["cipherparams"]["iv"] = "00".into()),
            ),
            (
                "short dklen",
                Box::new(|j| j["crypto"]["kdfparams"]["dklen"] = 8.into()),
            ),
            (
                "huge n",
                Box::new(|j| j["crypto"]["kdfparams"]["n"] = (1u64 << 31).into()),
            ),
            (
                "4 GiB scrypt",
                Box::new(|j| {
                    j["crypto"]["kdfparams"]["n"] = (1u64 << 20).into();
                    j["crypto"]["kdfparams"]["r"] = 32.into();
                }),
            ),
            (
                "too much scrypt work",
                Box::new(|j| j["crypto"]["kdfparams"]["p"] = 1024.into()),
            ),
            (
                "n not a power of two",
                Box::new(|j| j["crypto"]["kdfparams"]["n"] = 1000.into()),
            ),
            ("version 1", Box::new(|j| j["version"] = 1.into())),
            ("bad address", Box::new(|j| j["address"] = "zz".into())),
            (
                "other address",
                Box::new(|j| j["address"] = "00000000000000000000000000000000000000aa".into()),
            ),
        ];
        for (name, change) in cases {
            let mut j = json.clone();
            change(&mut j);
            let path = dir.path().join(format!("{name}.json"));
            fs::write(&path, j.to_string()).unwrap();
            let err = read(&path, b"pw").expect_err(name);
            assert!(
                matches!(
                    err,
                    KeystoreError::Malformed { .. } | KeystoreError::AddressMismatch { .. }
                ),
                "{name}: {err}"
            );
        }
        assert!(matches!(
            inspect(Path::new("/dev/zero")),
            Err(KeystoreError::TooLarge { .. })
        ));
        assert!(matches!(
            inspect(Path::new("/dev/zero")),
            Err(KeystoreError::TooLarge { .. })
        ));
        let big = dir.path().join("big.json");
        fs::write(&big, vec![b' '; 70_000]).unwrap();
        assert!(matches!(inspect(&big), Err(KeystoreError::TooLarge { .. })));
        let garbage = dir.path().join("garbage.json");
        fs::write(&garbage, b"{not json").unwrap();
        assert!(matches!(
            inspect(&garbage),
            Err(KeystoreError::Malformed { .. })
        ));
    }
}
