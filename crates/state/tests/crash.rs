//! A process killed while committing reopens at a consistent committed block.
//!
//! The test re-runs its own binary as a child that commits blocks in a loop,
//! kills it with SIGKILL at varying moments, and reopens the database.

#![cfg(feature = "redb")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::{
    io::{BufRead, BufReader},
    process::{Command, Stdio},
    time::Duration,
};

use alloy_primitives::{Address, B256, U256, keccak256};
use chunkseq_state::{Account, StateDb, StateDiff};

const CHILD_ENV: &str = "CHUNKSEQ_STATE_CRASH_CHILD";

/// Not a test on its own: the body of the child process. Without the
/// environment variable it returns at once.
#[test]
fn crash_child_writer() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let db = StateDb::open(std::path::Path::new(&path)).unwrap();
    loop {
        let mut fork = db.fork();
        let n = fork.number().0;
        let mut diff = StateDiff::default();
        for i in 0..2_000u64 {
            let a = Address::from_word(keccak256((n % 7 * 10_000 + i).to_be_bytes()));
            diff.set_account(
                a,
                Some(Account::with_balance(U256::from(n * 1_000 + i + 1))),
            );
            diff.set_storage(a, U256::from(i % 3), U256::from(n));
        }
        fork.apply(diff);
        let sealed = fork.seal();
        db.commit(&sealed, B256::from(U256::from(n))).unwrap();
        println!("committed {n}");
    }
}

#[test]
fn killed_during_commit_reopens_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.redb");
    let exe = std::env::current_exe().unwrap();
    let mut last_seen = None;
    for round in 0..6u64 {
        let mut child = Command::new(&exe)
            .args([
                "crash_child_writer",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait for a few commits, then kill at a moment that varies by round.
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut reported = None;
        let mut commits = 0;
        while commits < 2 + round {
            let Some(Ok(line)) = lines.next() else { break };
            // The harness may print its own text before ours on the same line.
            if let Some((_, n)) = line.split_once("committed ") {
                reported = n.trim().parse::<u64>().ok();
                commits += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(3 * round));
        child.kill().unwrap();
        child.wait().unwrap();

        // Reopening verifies the rebuilt tree against the head's recorded root.
        let db = StateDb::open(&path).expect("the state reopens after a kill");
        let head = db.head().expect("at least one block was committed");
        let reported = reported.expect("the child reported commits");
        assert!(
            head.number.0 >= reported,
            "a reported commit survived: {} < {reported}",
            head.number.0
        );
        if let Some(prev) = last_seen {
            assert!(head.number.0 >= prev);
        }
        last_seen = Some(head.number.0);
        // The history is intact: the last block unwinds to its recorded root.
        if head.number.0 > 0 {
            let below = db.unwind(1).unwrap();
            assert_eq!(below.number.0, head.number.0 - 1);
        }
    }
}
