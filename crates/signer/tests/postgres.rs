//! The PostgreSQL slashing-protection store against a real server (a
//! throwaway cluster of Debian's binaries): two stores racing on the same
//! duties, the database going away and coming back, and interchange in and
//! out. Skipped, with a note, where PostgreSQL is not installed; with
//! `CI=true` a missing PostgreSQL fails instead.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::{
    collections::HashMap,
    sync::{Arc, Barrier},
    time::Duration,
};

use alloy_primitives::{Address, B256};
use chunkseq_primitives::{
    Attestation, BlockProposal, Checkpoint, LocalSigner, PrivateKey, SignRequest, Signer,
    SignerError, crypto::eip712_domain,
};
use chunkseq_signer::{
    Decision, PostgresProtectionStore, ProtectedSigner, ProtectionStore, SlashingProtectionError,
    SlashingProtectionStore, ThrowawayCluster, export_store, import_into,
};

fn cluster() -> Option<ThrowawayCluster> {
    match ThrowawayCluster::start_fast() {
        Ok(c) => Some(c),
        Err(e) => {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "CI=true but no PostgreSQL: {e}"
            );
            eprintln!("skipped: {e}");
            None
        }
    }
}

fn store(c: &ThrowawayCluster) -> PostgresProtectionStore {
    PostgresProtectionStore::connect(&c.url(), Duration::from_secs(2)).unwrap()
}

fn attestation(slot: u64, index: u32, variant: u8) -> SignRequest {
    SignRequest::new(
        &eip712_domain(31_337, Address::repeat_byte(0xaa)),
        &Attestation {
            slot,
            index,
            blockHash: B256::repeat_byte(variant),
            dataHash: B256::ZERO,
        },
    )
}

#[test]
fn two_stores_racing_on_ten_thousand_duties_sign_each_exactly_once() {
    let Some(c) = cluster() else { return };
    let key = PrivateKey::from_bytes([7; 32]).unwrap();
    const DUTIES: u64 = 10_000;
    let barrier = Arc::new(Barrier::new(2));
    let racers: Vec<_> = [1u8, 2u8]
        .into_iter()
        .map(|variant| {
            let store: Arc<dyn ProtectionStore> = Arc::new(store(&c));
            // Connected and the schema in place before the race starts.
            store
                .recorded(Address::ZERO, &attestation(0, 0, 0))
                .unwrap();
            let signer = ProtectedSigner::new(LocalSigner::new(key.clone()), store);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                let mut signed = HashMap::new();
                // One racer from each end: each takes its first duties
                // uncontested, and they fight over every duty where they
                // meet.
                let order: Vec<u64> = if variant == 1 {
                    (0..DUTIES).collect()
                } else {
                    (0..DUTIES).rev().collect()
                };
                for d in order {
                    let request = attestation(d / 8, (d % 8) as u32, variant);
                    match signer.sign(&request) {
                        Ok(_) => {
                            signed.insert(d, request.digest());
                        }
                        Err(SignerError::Conflict { .. }) => {}
                        Err(e) => panic!("duty {d}: {e}"),
                    }
                }
                signed
            })
        })
        .collect();
    let results: Vec<HashMap<u64, B256>> = racers.into_iter().map(|r| r.join().unwrap()).collect();
    let total: usize = results.iter().map(HashMap::len).sum();
    assert_eq!(total, DUTIES as usize, "exactly one signature per duty");
    for d in 0..DUTIES {
        let winners = results.iter().filter(|r| r.contains_key(&d)).count();
        assert_eq!(winners, 1, "duty {d} signed {winners} times");
    }
    // Each racer won its end.
    assert!(
        results.iter().all(|r| !r.is_empty()),
        "one racer won everything"
    );
    assert_eq!(store(&c).len().unwrap(), DUTIES);
}

#[test]
fn a_repeat_is_allowed_and_a_conflict_is_refused_across_stores() {
    let Some(c) = cluster() else { return };
    let (a, b) = (store(&c), store(&c));
    let me = Address::repeat_byte(1);
    let first = attestation(5, 0, 1);
    assert_eq!(a.check_and_record(me, &first).unwrap(), Decision::Fresh);
    assert_eq!(b.check_and_record(me, &first).unwrap(), Decision::Repeat);
    let other = attestation(5, 0, 2);
    let refused = b.check_and_record(me, &other).unwrap_err();
    assert!(
        matches!(refused, SlashingProtectionError::Conflict { recorded, requested, .. }
            if recorded == first.digest() && requested == other.digest()),
        "{refused}"
    );
    // Another signer, index, kind or slot is another key.
    assert_eq!(
        a.check_and_record(Address::repeat_byte(2), &other).unwrap(),
        Decision::Fresh
    );
    assert_eq!(
        a.check_and_record(me, &attestation(5, 1, 2)).unwrap(),
        Decision::Fresh
    );
    assert_eq!(a.recorded(me, &first).unwrap(), Some(first.digest()));
    assert!(a.location().contains("127.0.0.1"), "{}", a.location());
    assert!(!a.location().contains("chunkseq@"), "no user in logs");
}

#[test]
fn with_the_database_down_nothing_is_signed_and_signing_resumes_when_it_is_back() {
    let Some(c) = cluster() else { return };
    let store: Arc<dyn ProtectionStore> =
        Arc::new(PostgresProtectionStore::connect(&c.url(), Duration::from_millis(500)).unwrap());
    let key = PrivateKey::from_bytes([9; 32]).unwrap();
    let signer = ProtectedSigner::new(LocalSigner::new(key), Arc::clone(&store));
    signer.sign(&attestation(1, 0, 1)).unwrap();
    c.halt().unwrap();
    let started = std::time::Instant::now();
    for i in 1..4 {
        let e = signer.sign(&attestation(1, i, 1)).unwrap_err();
        assert!(matches!(e, SignerError::Unavailable(_)), "{e}");
    }
    // Bounded: each refusal within the timeout, not a hang.
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    c.resume().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        match signer.sign(&attestation(1, 1, 1)) {
            Ok(_) => break,
            Err(SignerError::Unavailable(_)) if std::time::Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(200));
            }
            Err(e) => panic!("{e}"),
        }
    }
    // What was recorded before the outage still binds.
    assert!(matches!(
        signer.sign(&attestation(1, 0, 2)),
        Err(SignerError::Conflict { .. })
    ));
}

#[test]
fn interchange_moves_a_validator_between_redb_and_postgres_without_a_gap() {
    let Some(c) = cluster() else { return };
    let domain = eip712_domain(31_337, Address::repeat_byte(0xaa));
    let me = Address::repeat_byte(3);
    let redb = SlashingProtectionStore::in_memory().unwrap();
    let requests = [
        attestation(10, 0, 1),
        attestation(10, 1, 1),
        SignRequest::new(
            &domain,
            &BlockProposal {
                slot: 11,
                index: 0,
                blockHash: B256::repeat_byte(4),
            },
        ),
        SignRequest::new(
            &domain,
            &Checkpoint {
                slot: 11,
                checkpointHeaderHash: B256::repeat_byte(5),
                blockCount: 1,
                lastBlockHash: B256::repeat_byte(4),
            },
        ),
    ];
    for r in &requests {
        redb.check_and_record(me, r).unwrap();
    }
    let pg = store(&c);
    let file = redb.export(&domain).unwrap();
    let summary = import_into(&pg, &domain, &file).unwrap();
    assert_eq!((summary.imported, summary.already_present), (4, 0));
    // The moved records bind in PostgreSQL.
    for r in &requests {
        assert_eq!(pg.check_and_record(me, r).unwrap(), Decision::Repeat);
    }
    assert!(pg.check_and_record(me, &attestation(10, 0, 9)).is_err());
    // And back: the same file, byte for byte.
    let back = export_store(&pg, &domain).unwrap();
    assert_eq!(back.to_json_bytes().unwrap(), file.to_json_bytes().unwrap());
    // A conflicting import changes nothing.
    let other = SlashingProtectionStore::in_memory().unwrap();
    other.check_and_record(me, &attestation(10, 0, 7)).unwrap();
    other.check_and_record(me, &attestation(12, 0, 7)).unwrap();
    let refused = import_into(&pg, &domain, &other.export(&domain).unwrap()).unwrap_err();
    assert!(
        matches!(refused, SlashingProtectionError::ImportConflicts(ref v) if v.len() == 1),
        "{refused}"
    );
    assert_eq!(pg.len().unwrap(), 4, "nothing of a refused import lands");
}

#[test]
fn a_bad_url_or_tls_without_tls_is_a_clear_error() {
    let e = PostgresProtectionStore::connect(
        "postgres://x@127.0.0.1:1/db?sslmode=require",
        Duration::from_secs(1),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("sslmode"), "{e}");
    let e = PostgresProtectionStore::connect("not a url at all ===", Duration::from_secs(1))
        .unwrap_err()
        .to_string();
    assert!(e.contains("bad database URL"), "{e}");
    // Nothing listens there: fail closed, quickly.
    let s =
        PostgresProtectionStore::connect("postgres://x@127.0.0.1:1/db", Duration::from_millis(300))
            .unwrap();
    let started = std::time::Instant::now();
    assert!(
        s.check_and_record(Address::ZERO, &attestation(1, 0, 1))
            .is_err()
    );
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_build_lease_has_one_holder_is_renewed_by_it_and_taken_over_once_it_lapses() {
    use chunkseq_primitives::{BlockIndex, BuildLease, Slot, UnixMillis};
    let Some(c) = cluster() else { return };
    let (a, b) = (store(&c), store(&c));
    let key = Address::repeat_byte(0x11);
    let lease = 1_500;
    let at = |ms: u64| UnixMillis(1_000_000 + ms);
    let ask = |s: &PostgresProtectionStore, node: &str, now| {
        s.lease_build(key, Slot(7), node, BlockIndex(0), now, lease)
            .unwrap()
    };
    assert!(a.shared() && b.shared());
    // First come, only holder; the partner learns who holds it.
    assert_eq!(ask(&a, "node-a", at(0)), BuildLease::Held);
    assert_eq!(
        ask(&b, "node-b", at(10)),
        BuildLease::HeldBy("node-a".into())
    );
    // Renewed by its holder, it does not lapse.
    assert_eq!(ask(&a, "node-a", at(1_000)), BuildLease::Held);
    assert_eq!(
        ask(&b, "node-b", at(2_400)),
        BuildLease::HeldBy("node-a".into())
    );
    // Unrenewed for longer than the lease, the partner takes it, and the
    // old holder finds it gone on its next renewal.
    assert_eq!(ask(&b, "node-b", at(2_501)), BuildLease::Held);
    assert_eq!(
        ask(&a, "node-a", at(2_600)),
        BuildLease::HeldBy("node-b".into())
    );
    // Another slot, another lease; the newest is what the devnet reads.
    assert_eq!(
        a.lease_build(key, Slot(9), "node-a", BlockIndex(0), at(3_000), lease)
            .unwrap(),
        BuildLease::Held
    );
    assert_eq!(
        a.latest_lease(key).unwrap(),
        Some((Slot(9), "node-a".into()))
    );
    assert_eq!(a.latest_lease(Address::repeat_byte(0x22)).unwrap(), None);
    // Leases go with the records they sit beside.
    a.prune_below(Slot(9)).unwrap();
    assert_eq!(ask(&b, "node-b", at(3_100)), BuildLease::Held);
}

#[test]
fn two_nodes_racing_for_a_thousand_slot_leases_get_one_holder_each() {
    use chunkseq_primitives::{BlockIndex, BuildLease, Slot, UnixMillis};
    let Some(c) = cluster() else { return };
    let key = Address::repeat_byte(0x33);
    let barrier = Arc::new(Barrier::new(2));
    let racers: Vec<_> = ["node-a", "node-b"]
        .into_iter()
        .map(|node| {
            let s = store(&c);
            let barrier = Arc::clone(&barrier);
            std::thread::spawn(move || {
                barrier.wait();
                (0..1_000u64)
                    .map(|slot| {
                        let got = s
                            .lease_build(
                                key,
                                Slot(slot),
                                node,
                                BlockIndex(0),
                                UnixMillis(5_000),
                                1_500,
                            )
                            .unwrap();
                        (slot, got == BuildLease::Held)
                    })
                    .collect::<Vec<_>>()
            })
        })
        .collect();
    let results: Vec<Vec<(u64, bool)>> = racers.into_iter().map(|t| t.join().unwrap()).collect();
    for slot in 0..1_000usize {
        let holders = results
            .iter()
            .filter(|r| r.get(slot).is_some_and(|x| x.1))
            .count();
        assert_eq!(holders, 1, "slot {slot}: {holders} holders");
    }
}
