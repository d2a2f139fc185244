//! `chunkseq keys`: create and inspect encrypted validator keystores.

use std::{io::IsTerminal, path::PathBuf};

use anyhow::{Context, Result, bail};
use chunkseq_primitives::PrivateKey;
use clap::{Args, Subcommand};
use rand::RngCore;

use crate::keystore;

/// Keystore subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum KeysCommand {
    /// Generate a new key and write it as an encrypted V3 keystore.
    New {
        /// Where to write the keystore; an existing file is never overwritten.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
        #[command(flatten)]
        password: PasswordArgs,
    },
    /// Print the address of a keystore; with a password, also decrypt it to verify.
    Show {
        /// The keystore file.
        file: PathBuf,
        #[command(flatten)]
        password: PasswordArgs,
    },
}

/// Where the keystore password comes from.
#[derive(Debug, Args)]
pub(crate) struct PasswordArgs {
    /// File whose first line is the password (otherwise asked on the terminal,
    /// for `keys new` only).
    #[arg(long, value_name = "FILE", env = "CHUNKSEQ_PASSWORD_FILE")]
    password_file: Option<PathBuf>,
}

pub(crate) fn run(command: KeysCommand) -> Result<()> {
    match command {
        KeysCommand::New { out, password } => {
            let password = match password.password_file {
                Some(path) => read_password_file(&path)?,
                None => prompt_new_password()?,
            };
            let key = generate_key();
            keystore::write(&out, &key, password.as_bytes())?;
            eprintln!("wrote encrypted keystore {}", out.display());
            println!("{}", key.address());
        }
        KeysCommand::Show { file, password } => match password.password_file {
            Some(path) => {
                let password = read_password_file(&path)?;
                let key = keystore::read(&file, password.as_bytes())?;
                eprintln!("decrypted {} with the given password", file.display());
                println!("{}", key.address());
            }
            None => match keystore::inspect(&file)?.address {
                Some(address) => {
                    eprintln!(
                        "address as recorded in {}; pass --password-file to verify it",
                        file.display()
                    );
                    println!("{address}");
                }
                None => bail!(
                    "{} records no address; pass --password-file to decrypt it and derive the address",
                    file.display()
                ),
            },
        },
    }
    Ok(())
}

/// A fresh key from the operating system's random source.
fn generate_key() -> PrivateKey {
    loop {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        // Fails only for zero or values above the curve order: odds of 2^-128.
        if let Ok(key) = PrivateKey::from_bytes(bytes) {
            return key;
        }
    }
}

const MAX_PASSWORD_FILE_BYTES: u64 = 4096;

pub(crate) fn read_password_file(path: &std::path::Path) -> Result<String> {
    let bytes = chunkseq_primitives::fs::read_bounded(path, MAX_PASSWORD_FILE_BYTES)
        .with_context(|| format!("password file {}", path.display()))?;
    let text = String::from_utf8(bytes)
        .with_context(|| format!("password file {} is not UTF-8", path.display()))?;
    let password = text.lines().next().unwrap_or_default().to_owned();
    if password.is_empty() {
        bail!("password file {} is empty", path.display());
    }
    Ok(password)
}

fn prompt_new_password() -> Result<String> {
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for a password: pass --password-file FILE");
    }
    let first = rpassword::prompt_password("new keystore password: ")?;
    if first.is_empty() {
        bail!("the password must not be empty");
    }
    let second = rpassword::prompt_password("repeat the password: ")?;
    if first != second {
        bail!("the passwords differ");
    }
    Ok(first)
}
