//! Criterion benchmarks of the execution hot paths:
//! `cargo bench -p chunkseq-execution --bench hot_paths`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    missing_docs
)]

use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{B256, Bytes, TxKind, U256, keccak256};
use chunkseq_execution::{
    dev_keys,
    pool::{recover, sign_transaction},
};
use chunkseq_primitives::crypto::{recover_signer, sign_digest};
use chunkseq_state::SparseMerkleTree;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};

fn sender_recovery(c: &mut Criterion) {
    let key = &dev_keys("bench", 1)[0];
    let tx = TxEip1559 {
        chain_id: 8_001,
        nonce: 7,
        gas_limit: 21_000,
        max_fee_per_gas: 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(key.address()),
        value: U256::from(1_000),
        access_list: Default::default(),
        input: Bytes::new(),
    };
    let digest = tx.signature_hash();
    let raw = sign_transaction(key, tx).encoded_2718();
    let sig = sign_digest(key, digest);
    let mut g = c.benchmark_group("sender_recovery");
    g.throughput(Throughput::Elements(1));
    g.bench_function("libsecp256k1_recover", |b| {
        b.iter(|| recover_signer(&sig, digest).unwrap())
    });
    g.bench_function("pool_ingress_decode_and_recover", |b| {
        b.iter(|| recover(&raw, 8_001).unwrap())
    });
    g.finish();
}

fn state_root(c: &mut Criterion) {
    let leaf = |i: u64| (keccak256(i.to_be_bytes()), keccak256((i + 1).to_be_bytes()));
    let base = SparseMerkleTree::from_leaves((0..100_000).map(leaf).collect());
    let mut g = c.benchmark_group("state_root");
    g.throughput(Throughput::Elements(2_000));
    g.bench_function("update_2000_of_100k_leaves", |b| {
        b.iter_batched(
            || {
                (0..2_000u64)
                    .map(|i| {
                        (
                            keccak256((i * 37).to_be_bytes()),
                            Some(B256::repeat_byte(i as u8)),
                        )
                    })
                    .collect()
            },
            |updates| base.update(updates).root(),
            BatchSize::SmallInput,
        )
    });
    g.finish();
}

criterion_group!(benches, sender_recovery, state_root);
criterion_main!(benches);
