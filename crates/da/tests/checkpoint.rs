//! Checkpoint data: blocks → segments → blobs → blocks, the append-only
//! property an attester relies on, every refusal of the decoder, and the
//! versioned-hash cache.

#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::panic,
    missing_docs
)]

mod common;

use alloy_eips::eip4844::Blob;
use alloy_primitives::{Bytes, keccak256};
use chunkseq_da::{
    BlobError, CheckpointData, Codec, DATA_BYTES_PER_BLOB, DaError, KzgError, MAX_BLOCKS,
    MAX_DECOMPRESSED_BYTES, MAX_TX_BYTES, STREAM_VERSION, Segment, StreamError, VersionedHashCache,
    data_to_blobs, decode_checkpoint, decode_checkpoint_data, encode_checkpoint, encode_stream,
    encode_stream_with, prefix_versioned_hashes, versioned_hashes,
};
use common::{any_tx, transfers};
use proptest::prelude::*;

/// `len` bytes that zstd cannot shrink, different for each `seed`.
fn noise(seed: u64, len: usize) -> Bytes {
    let mut out = Vec::with_capacity(len + 32);
    let mut h = keccak256(seed.to_be_bytes());
    while out.len() < len {
        out.extend_from_slice(h.as_slice());
        h = keccak256(h);
    }
    out.truncate(len);
    Bytes::from(out)
}

/// Blocks of incompressible transactions of the given sizes.
fn noise_blocks(sizes: &[Vec<usize>]) -> Vec<Vec<Bytes>> {
    sizes
        .iter()
        .enumerate()
        .map(|(b, txs)| {
            txs.iter()
                .enumerate()
                .map(|(i, &len)| noise((b * 1_000 + i) as u64, len))
                .collect()
        })
        .collect()
}

/// Up to 10 blocks of up to 3 incompressible transactions of up to 20,000
/// bytes: enough to cross blob boundaries, never more than six blobs.
fn any_large_blocks() -> impl Strategy<Value = Vec<Vec<Bytes>>> {
    proptest::collection::vec(proptest::collection::vec(1..20_000usize, 0..4), 1..10)
        .prop_map(|sizes| noise_blocks(&sizes))
}

/// One to eight blocks of up to 24 small transactions of any kind.
fn any_small_blocks() -> impl Strategy<Value = Vec<Vec<Bytes>>> {
    proptest::collection::vec(proptest::collection::vec(any_tx(), 0..24), 1..8)
}

fn any_checkpoint_blocks() -> impl Strategy<Value = Vec<Vec<Bytes>>> {
    prop_oneof![any_small_blocks(), any_large_blocks()]
}

fn build(blocks: &[Vec<Bytes>], codec: Codec, level: i32) -> CheckpointData {
    let mut data = CheckpointData::new(codec, level);
    for block in blocks {
        data.push_block(block).unwrap();
    }
    data
}

/// Data bytes from raw segments (length prefix and stream), packed.
fn blobs_of_segments(streams: &[&[u8]]) -> Vec<Blob> {
    let mut data = Vec::new();
    for stream in streams {
        data.extend_from_slice(&u32::try_from(stream.len()).unwrap().to_be_bytes());
        data.extend_from_slice(stream);
    }
    data_to_blobs(&data)
}

fn blob_err(result: Result<Vec<Vec<Bytes>>, DaError>) -> BlobError {
    match result {
        Err(DaError::Blob(e)) => e,
        other => panic!("expected a blob error, got {other:?}"),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    #[test]
    fn any_blocks_round_trip_through_blobs(
        blocks in any_checkpoint_blocks(),
        codec in 0..2usize,
        level in 1..=9i32,
    ) {
        let data = build(&blocks, Codec::ALL[codec], level);
        let blobs = data.blobs();
        prop_assert_eq!(data.block_count(), blocks.len());
        prop_assert_eq!(blobs.len(), data.blob_count());
        prop_assert_eq!(blobs.len(), data.data_len().div_ceil(DATA_BYTES_PER_BLOB));
        for (j, blob) in blobs.iter().enumerate() {
            prop_assert_eq!(data.blob(j), Some(*blob));
        }
        prop_assert_eq!(data.blob(blobs.len()), None);
        prop_assert_eq!(decode_checkpoint_data(&blobs).unwrap(), blocks);
    }

    /// Appending block i + 1 leaves every blob of blocks 0..=i but the last
    /// byte-identical, and the blobs of every prefix decode to that prefix.
    #[test]
    fn appending_a_block_changes_only_the_last_blob(blocks in any_checkpoint_blocks()) {
        let mut data = CheckpointData::default();
        let mut before: Vec<Blob> = Vec::new();
        let mut before_data: Vec<u8> = Vec::new();
        for (i, block) in blocks.iter().enumerate() {
            let segment = data.segment(block).unwrap();
            let predicted = data.blob_count_with(&segment);
            data.push_segment(segment).unwrap();
            prop_assert_eq!(data.blob_count(), predicted);
            let after = data.blobs();
            prop_assert!(data.data().starts_with(&before_data));
            prop_assert!(after.len() >= before.len());
            let kept = before.len().saturating_sub(1);
            prop_assert_eq!(&after[..kept], &before[..kept]);
            prop_assert_eq!(decode_checkpoint_data(&after).unwrap(), &blocks[..=i]);
            before = after;
            before_data = data.data().to_vec();
        }
    }

    /// Flipped bytes, zeroed blobs and dropped or repeated blobs give
    /// errors (or, rarely, other valid data), never a panic.
    #[test]
    fn corrupted_blob_sets_are_errors_not_panics(
        blocks in any_checkpoint_blocks(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 1..6),
        cut in 0..4usize,
    ) {
        let data = build(&blocks, Codec::DEFAULT, Codec::DEFAULT_LEVEL);
        let mut blobs = data.blobs();
        let used = 32 * (data.data_len() + 64).div_ceil(31);
        for (at, xor) in flips {
            // Mostly within the data's own bytes, where a flip matters.
            let at = at.index(used.min(blobs.len() * 131_072));
            blobs[at / 131_072].0[at % 131_072] ^= xor;
        }
        let _ = decode_checkpoint_data(&blobs);
        match cut {
            0 => { blobs.pop(); }
            1 => blobs.push(Blob::ZERO),
            2 => { let first = blobs[0]; blobs.push(first); }
            _ => blobs[0] = Blob::ZERO,
        }
        let _ = decode_checkpoint_data(&blobs);
    }

    /// Segments of any length holding any bytes: errors, never panics.
    #[test]
    fn arbitrary_segments_are_errors_not_panics(
        segments in proptest::collection::vec(
            (any::<u32>(), 0..=3u8, proptest::collection::vec(any::<u8>(), 0..300)),
            1..8,
        ),
        honest in any::<bool>(),
    ) {
        let mut data = Vec::new();
        for (len, codec, body) in segments {
            let stream: Vec<u8> = if honest {
                // A real header in front of junk: reaches the decompressor.
                [&[STREAM_VERSION, codec][..], &body].concat()
            } else {
                body
            };
            let len = if len % 4 == 0 { len } else { stream.len() as u32 };
            data.extend_from_slice(&len.to_be_bytes());
            data.extend_from_slice(&stream);
        }
        let _ = decode_checkpoint_data(&data_to_blobs(&data));
    }
}

#[test]
fn a_full_slot_of_transfers_fits_and_round_trips() {
    let blocks: Vec<Vec<Bytes>> = transfers(8_000).chunks(1_000).map(<[_]>::to_vec).collect();
    for codec in Codec::ALL {
        let blobs = build(&blocks, codec, Codec::DEFAULT_LEVEL).blobs();
        assert!(blobs.len() <= 6, "{codec}: {} blobs", blobs.len());
        assert_eq!(decode_checkpoint_data(&blobs).unwrap(), blocks);
    }
    assert_eq!(
        decode_checkpoint_data(&encode_checkpoint(&blocks).unwrap()).unwrap(),
        blocks
    );
}

#[test]
fn the_append_only_property_across_many_blobs() {
    // 2 × 20 kB per block: about three blocks per blob, 14 blocks over 5 blobs.
    let sizes = vec![vec![20_000, 20_000]; 14];
    let blocks = noise_blocks(&sizes);
    let mut data = CheckpointData::default();
    let mut previous: Vec<Blob> = Vec::new();
    let mut changed_blobs = 0;
    for block in &blocks {
        data.push_block(block).unwrap();
        let blobs = data.blobs();
        let same = previous
            .iter()
            .zip(&blobs)
            .take_while(|(a, b)| a == b)
            .count();
        // Everything but the previous last blob is kept.
        assert!(same + 1 >= previous.len());
        changed_blobs += blobs.len() - same;
        previous = blobs;
    }
    assert_eq!(previous.len(), 5);
    // One changed or new blob per block, plus one per blob boundary crossed.
    assert!(
        changed_blobs <= blocks.len() + previous.len(),
        "{changed_blobs}"
    );
}

#[test]
fn an_empty_checkpoint_has_no_data() {
    let data = CheckpointData::default();
    assert_eq!(data.blob_count(), 0);
    assert!(data.blobs().is_empty());
    assert_eq!(data.blob(0), None);
    assert_eq!(
        encode_checkpoint(&[]),
        Err(DaError::Blob(BlobError::NoBlocks))
    );
    assert_eq!(blob_err(decode_checkpoint_data(&[])), BlobError::NoBlobs);
    // A blob whose first length is zero: no blocks, refused.
    assert_eq!(
        blob_err(decode_checkpoint_data(&[Blob::ZERO])),
        BlobError::NoBlocks
    );
    // An empty block is a block: one segment.
    let blobs = encode_checkpoint(&[vec![]]).unwrap();
    assert_eq!(blobs.len(), 1);
    assert_eq!(
        decode_checkpoint_data(&blobs).unwrap(),
        vec![Vec::<Bytes>::new()]
    );
}

#[test]
fn blob_count_refusals() {
    let blobs = encode_checkpoint(&[transfers(10)]).unwrap();
    assert_eq!(
        blob_err(decode_checkpoint_data(&[blobs[0]; 7])),
        BlobError::TooManyBlobs { count: 7, max: 6 }
    );
    // A seventh blob's worth of data is refused by the encoder, and the
    // builder is left as it was.
    let mut data = CheckpointData::default();
    let big = vec![noise(1, MAX_TX_BYTES), noise(2, MAX_TX_BYTES)];
    for _ in 0..2 {
        data.push_block(&big).unwrap();
    }
    let len = data.data_len();
    let segment = data.segment(&big).unwrap();
    assert_eq!(data.blob_count_with(&segment), 7);
    assert_eq!(
        data.push_segment(segment),
        Err(DaError::Blob(BlobError::TooManyBlobs { count: 7, max: 6 }))
    );
    assert_eq!(data.data_len(), len);
    assert_eq!(data.block_count(), 2);
    // Extra padding blob.
    let mut extra = blobs.clone();
    extra.push(Blob::ZERO);
    let BlobError::ExtraBlobs { count, needed, .. } = blob_err(decode_checkpoint_data(&extra))
    else {
        panic!()
    };
    assert_eq!((count, needed), (2, 1));
}

#[test]
fn a_non_zero_high_byte_is_refused() {
    let mut blobs = encode_checkpoint(&[transfers(10)]).unwrap();
    blobs[0].0[32 * 3] = 0x12;
    assert_eq!(
        blob_err(decode_checkpoint_data(&blobs)),
        BlobError::NonZeroHighByte {
            blob: 0,
            element: 3,
            byte: 0x12
        }
    );
}

#[test]
fn a_segment_past_the_end_is_refused() {
    let stream = encode_stream(&[transfers(10)]).unwrap();
    // The prefix claims one byte more than the whole data holds.
    let mut data = u32::try_from(DATA_BYTES_PER_BLOB - 3)
        .unwrap()
        .to_be_bytes()
        .to_vec();
    data.extend_from_slice(&stream);
    let err = blob_err(decode_checkpoint_data(&data_to_blobs(&data)));
    assert_eq!(
        err,
        BlobError::SegmentPastEnd {
            segment: 0,
            offset: 0,
            len: (DATA_BYTES_PER_BLOB - 3) as u64,
            available: DATA_BYTES_PER_BLOB - 4,
        }
    );
    // A set whose last segment crosses into a dropped blob.
    let blocks = noise_blocks(&[vec![100_000], vec![100_000]]);
    let blobs = encode_checkpoint(&blocks).unwrap();
    assert_eq!(blobs.len(), 2);
    assert!(matches!(
        blob_err(decode_checkpoint_data(&blobs[..1])),
        BlobError::SegmentPastEnd { segment: 1, .. }
    ));
    // The checked decoder refuses any set the hashes do not list.
    let hashes = versioned_hashes(&blobs).unwrap();
    assert_eq!(
        decode_checkpoint(&blobs[..1], &hashes),
        Err(DaError::Kzg(KzgError::CountMismatch {
            blobs: 1,
            hashes: 2
        }))
    );
}

#[test]
fn a_segment_must_hold_exactly_one_block() {
    let one = encode_stream(&[transfers(2)]).unwrap();
    let none = encode_stream(&[]).unwrap();
    let two = encode_stream(&[transfers(1), transfers(1)]).unwrap();
    assert_eq!(
        blob_err(decode_checkpoint_data(&blobs_of_segments(&[&one, &none]))),
        BlobError::SegmentBlocks {
            segment: 1,
            blocks: 0
        }
    );
    assert_eq!(
        blob_err(decode_checkpoint_data(&blobs_of_segments(&[&two]))),
        BlobError::SegmentBlocks {
            segment: 0,
            blocks: 2
        }
    );
}

#[test]
fn a_segment_whose_stream_does_not_decode_names_its_position() {
    let one = encode_stream(&[transfers(2)]).unwrap();
    let mut bad = one.clone();
    bad[0] = 0x7f;
    assert_eq!(
        decode_checkpoint_data(&blobs_of_segments(&[&one, &one, &bad])),
        Err(DaError::Segment {
            segment: 2,
            error: StreamError::UnknownVersion(0x7f)
        })
    );
    assert!(
        DaError::Segment {
            segment: 2,
            error: StreamError::UnknownVersion(0x7f)
        }
        .to_string()
        .starts_with("segment 2: ")
    );
}

#[test]
fn more_than_max_blocks_segments_are_refused() {
    let mut data = CheckpointData::default();
    for _ in 0..MAX_BLOCKS {
        data.push_block(&transfers(1)).unwrap();
    }
    assert_eq!(
        data.push_block(&transfers(1)),
        Err(DaError::Blob(BlobError::TooManySegments {
            max: MAX_BLOCKS
        }))
    );
    assert_eq!(
        decode_checkpoint_data(&data.blobs()).unwrap().len(),
        MAX_BLOCKS
    );
    let one = encode_stream(&[transfers(1)]).unwrap();
    let streams = vec![&one[..]; MAX_BLOCKS + 1];
    assert_eq!(
        blob_err(decode_checkpoint_data(&blobs_of_segments(&streams))),
        BlobError::TooManySegments { max: MAX_BLOCKS }
    );
}

#[test]
fn non_zero_bytes_after_the_end_are_refused() {
    let data = build(&[transfers(10)], Codec::DEFAULT, Codec::DEFAULT_LEVEL);
    let end = data.data_len();
    // After a terminator (a zero length), and in the three bytes at the
    // very end where no length fits.
    for at in [end + 4, end + 100, DATA_BYTES_PER_BLOB - 1] {
        let mut bytes = data.data().to_vec();
        bytes.resize(DATA_BYTES_PER_BLOB, 0);
        bytes[at] = 1;
        assert_eq!(
            blob_err(decode_checkpoint_data(&data_to_blobs(&bytes))),
            BlobError::NonZeroPadding {
                blob: 0,
                element: at / 31
            },
            "{at}"
        );
    }
    // A segment that ends exactly at the end of the blob, or one to four
    // bytes before it: the data ends there, and the blob is valid.
    for short in [0, 1, 3, 4] {
        let stream = filler_stream(DATA_BYTES_PER_BLOB - 4 - short);
        let blobs = blobs_of_segments(&[&stream]);
        assert_eq!(blobs.len(), 1);
        assert_eq!(decode_checkpoint_data(&blobs).unwrap().len(), 1, "{short}");
    }
}

/// A one-block stream of exactly `len` bytes (plain layout, zstd level 1, one
/// incompressible transaction whose size is adjusted until it fits).
fn filler_stream(len: usize) -> Vec<u8> {
    for tx in (1..len).rev() {
        // Incompressible, so the stream grows one byte per transaction byte.
        let stream = encode_stream_with(&[vec![noise(9, tx)]], Codec::PlainZstd, 1).unwrap();
        if stream.len() == len {
            return stream;
        }
        if stream.len() < len {
            break;
        }
    }
    panic!("no stream of {len} bytes");
}

#[test]
fn the_decompressed_bound_is_shared_by_all_segments() {
    // 24 transactions of 128 KiB of one byte: 3 MiB of payload each, a few
    // hundred bytes compressed. Two fit the 8 MiB bound, three do not.
    let block = vec![Bytes::from(vec![0xab; MAX_TX_BYTES]); 24];
    let mut data = CheckpointData::new(Codec::PlainZstd, 3);
    data.push_block(&block).unwrap();
    data.push_block(&block).unwrap();
    assert!(matches!(
        data.push_block(&block),
        Err(DaError::Stream(StreamError::PayloadTooLarge {
            max: MAX_DECOMPRESSED_BYTES,
            ..
        }))
    ));
    assert_eq!(data.block_count(), 2);
    let stream = encode_stream_with(std::slice::from_ref(&block), Codec::PlainZstd, 3).unwrap();
    let err = decode_checkpoint_data(&blobs_of_segments(&[&stream, &stream, &stream]));
    assert!(
        matches!(
            err,
            Err(DaError::Segment {
                segment: 2,
                error: StreamError::PayloadTooLarge { .. }
            })
        ),
        "{err:?}"
    );
}

#[test]
fn a_segment_can_be_checked_against_a_budget_before_it_is_appended() {
    let blocks: Vec<Vec<Bytes>> = noise_blocks(&vec![vec![60_000]; 4]);
    let mut data = CheckpointData::default();
    let mut taken = 0;
    for block in &blocks {
        let segment = Segment::encode(block, Codec::DEFAULT, Codec::DEFAULT_LEVEL).unwrap();
        assert_eq!(segment.data_len(), 4 + segment.stream().len());
        if data.blob_count_with(&segment) <= 1 {
            data.push_segment(segment).unwrap();
            taken += 1;
        }
    }
    assert_eq!(taken, 2);
    assert_eq!(data.blob_count(), 1);
}

#[test]
fn the_checked_decoder_refuses_blobs_that_do_not_match() {
    let blocks = vec![transfers(300), transfers(300)];
    let blobs = encode_checkpoint(&blocks).unwrap();
    let hashes = versioned_hashes(&blobs).unwrap();
    assert_eq!(decode_checkpoint(&blobs, &hashes).unwrap(), blocks);

    let mut wrong = blobs.clone();
    wrong[0].0[40] ^= 1;
    let Err(DaError::Kzg(KzgError::VersionedHashMismatch {
        index: 0,
        expected,
        actual,
    })) = decode_checkpoint(&wrong, &hashes)
    else {
        panic!("expected a versioned-hash mismatch");
    };
    assert_eq!(expected, hashes[0]);
    assert_ne!(actual, hashes[0]);
    assert_eq!(
        decode_checkpoint(&blobs, &[]),
        Err(DaError::Kzg(KzgError::CountMismatch {
            blobs: 1,
            hashes: 0
        }))
    );
    // Seven blobs are refused before any commitment is computed.
    assert_eq!(
        decode_checkpoint(&[blobs[0]; 7], &[hashes[0]; 7]),
        Err(DaError::Blob(BlobError::TooManyBlobs { count: 7, max: 6 }))
    );
    assert_eq!(
        decode_checkpoint(&[], &[]),
        Err(DaError::Blob(BlobError::NoBlobs))
    );
}

#[test]
fn the_cache_commits_only_changed_and_new_blobs() {
    // Three 45 kB blocks per blob, roughly: 8 blocks over 3 blobs.
    let blocks = noise_blocks(&vec![vec![45_000]; 8]);
    let mut data = CheckpointData::default();
    let mut cache = VersionedHashCache::default();
    let mut previous = 0;
    let mut expected_misses = 0;
    let mut prefixes = Vec::new();
    for block in &blocks {
        let first_changed = data.data_len() / DATA_BYTES_PER_BLOB;
        data.push_block(block).unwrap();
        let blobs = data.blobs();
        let before = cache.misses();
        let hashes = cache.versioned_hashes(&blobs).unwrap();
        // Blobs before the one the new segment starts in are not recommitted.
        expected_misses += blobs.len() - first_changed;
        assert_eq!(
            cache.misses() - before,
            (blobs.len() - first_changed) as u64
        );
        assert!(blobs.len() >= previous);
        previous = blobs.len();
        prefixes.push(hashes);
    }
    assert_eq!(cache.misses(), expected_misses as u64);
    assert_eq!(previous, 3);
    assert!(cache.misses() <= 8 + 3, "{}", cache.misses());
    assert!(cache.hits() > 0);
    // The memo gives exactly what committing every blob gives.
    assert_eq!(
        prefixes.last().unwrap(),
        &versioned_hashes(&data.blobs()).unwrap()
    );
    assert_eq!(prefix_versioned_hashes(&blocks).unwrap(), prefixes);
}

#[test]
fn the_cache_is_bounded() {
    let blobs: Vec<Blob> = (0..3u64)
        .map(|i| data_to_blobs(&noise(i, 100))[0])
        .collect();
    let mut cache = VersionedHashCache::new(2);
    cache.versioned_hashes(&blobs).unwrap();
    assert_eq!((cache.len(), cache.misses(), cache.hits()), (2, 3, 0));
    // blobs[0] was evicted (least recently used); blobs[2] is held.
    cache.versioned_hash(&blobs[2]).unwrap();
    assert_eq!(cache.hits(), 1);
    cache.versioned_hash(&blobs[0]).unwrap();
    assert_eq!(cache.misses(), 4);
    assert_eq!(VersionedHashCache::new(0).capacity(), 1);
}

#[test]
fn commit_threads_change_nothing_but_the_wait() {
    let blobs: Vec<Blob> = (0..5u64)
        .map(|i| data_to_blobs(&noise(i, 1_000))[0])
        .collect();
    let mut one = VersionedHashCache::default();
    let mut two = VersionedHashCache::default().with_commit_threads(2);
    let expected = versioned_hashes(&blobs).unwrap();
    assert_eq!(one.versioned_hashes(&blobs).unwrap(), expected);
    assert_eq!(two.versioned_hashes(&blobs).unwrap(), expected);
    assert_eq!((two.misses(), two.hits()), (5, 0));
    // A second call finds all five in the memo, in order.
    assert_eq!(two.versioned_hashes(&blobs).unwrap(), expected);
    assert_eq!((two.misses(), two.hits()), (5, 5));
}
