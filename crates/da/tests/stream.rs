//! Blocks → stream → blocks, and every way back that must fail: unknown
//! versions and codecs, corrupt, truncated or oversized payloads. (Streams
//! in blobs: `checkpoint.rs`.)

#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use alloy_primitives::Bytes;
use chunkseq_da::{
    Codec, MAX_BLOCKS, MAX_DECOMPRESSED_BYTES, MAX_STREAM_BYTES, MAX_TX_BYTES, STREAM_VERSION,
    StreamError, decode_stream, encode_stream, encode_stream_with,
};
use common::{any_blocks, transfers};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn any_blocks_round_trip_through_a_stream(blocks in any_blocks(), codec in 0..2usize, level in 1..=9i32) {
        let codec = Codec::ALL[codec];
        let stream = encode_stream_with(&blocks, codec, level).unwrap();
        prop_assert_eq!(decode_stream(&stream).unwrap(), blocks);
    }

    #[test]
    fn corrupted_streams_are_errors_not_panics(
        blocks in any_blocks(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), 1..=255u8), 1..4),
    ) {
        let mut stream = encode_stream(&blocks).unwrap();
        for (at, xor) in flips {
            let at = at.index(stream.len());
            stream[at] ^= xor;
        }
        let _ = decode_stream(&stream);
    }

    #[test]
    fn any_bytes_as_a_stream_are_errors_not_panics(
        codec in 0..=3u8,
        body in proptest::collection::vec(any::<u8>(), 0..400),
    ) {
        let mut stream = vec![STREAM_VERSION, codec];
        stream.extend(body);
        let _ = decode_stream(&stream);
    }

    #[test]
    fn truncated_streams_are_errors(blocks in any_blocks(), cut in any::<prop::sample::Index>()) {
        let stream = encode_stream(&blocks).unwrap();
        let cut = cut.index(stream.len());
        prop_assert!(decode_stream(&stream[..cut]).is_err());
    }
}

#[test]
fn every_codec_round_trips_a_full_slot_of_transfers() {
    let blocks: Vec<Vec<Bytes>> = transfers(8_000).chunks(1_000).map(<[_]>::to_vec).collect();
    for codec in Codec::ALL {
        let stream = encode_stream_with(&blocks, codec, Codec::DEFAULT_LEVEL).unwrap();
        assert_eq!(stream[1], codec.byte());
        assert!(
            stream.len() <= MAX_STREAM_BYTES,
            "{codec}: {}",
            stream.len()
        );
        assert_eq!(decode_stream(&stream).unwrap(), blocks);
    }
}

#[test]
fn the_edges_of_the_bounds() {
    // Largest transaction, most blocks, empty blocks: accepted.
    let big = Bytes::from(vec![0xab; MAX_TX_BYTES]);
    let mut blocks = vec![Vec::new(); MAX_BLOCKS];
    blocks[0].push(big.clone());
    let stream = encode_stream(&blocks).unwrap();
    assert_eq!(decode_stream(&stream).unwrap(), blocks);

    // One block too many, one byte too many, an empty transaction: refused.
    blocks.push(Vec::new());
    assert!(matches!(
        encode_stream(&blocks),
        Err(StreamError::Bound { .. })
    ));
    let over = Bytes::from(vec![0xab; MAX_TX_BYTES + 1]);
    assert!(matches!(
        encode_stream(&[vec![over]]),
        Err(StreamError::Bound { .. })
    ));
    assert!(matches!(
        encode_stream(&[vec![Bytes::from_static(&[1])], vec![Bytes::new()]]),
        Err(StreamError::EmptyTransaction { block: 1, index: 0 })
    ));

    // Incompressible data beyond six blobs: refused by the encoder.
    let noise: Vec<Bytes> = (0..7u64)
        .map(|i| {
            let mut tx = Vec::with_capacity(MAX_TX_BYTES);
            let mut h = alloy_primitives::keccak256(i.to_be_bytes());
            while tx.len() < MAX_TX_BYTES {
                h = alloy_primitives::keccak256(h);
                tx.extend_from_slice(h.as_slice());
            }
            Bytes::from(tx)
        })
        .collect();
    assert!(matches!(
        encode_stream(&[noise]),
        Err(StreamError::StreamTooLarge {
            max: MAX_STREAM_BYTES,
            ..
        })
    ));
}

#[test]
fn unknown_versions_and_codecs_are_refused() {
    let stream = encode_stream(&[transfers(3)]).unwrap();
    let mut v = stream.clone();
    v[0] = 0x02;
    assert_eq!(decode_stream(&v), Err(StreamError::UnknownVersion(0x02)));
    v[0] = 0x00;
    assert_eq!(decode_stream(&v), Err(StreamError::UnknownVersion(0x00)));
    let mut c = stream.clone();
    c[1] = 0x03;
    assert_eq!(decode_stream(&c), Err(StreamError::UnknownCodec(0x03)));
    c[1] = 0x00;
    assert_eq!(decode_stream(&c), Err(StreamError::UnknownCodec(0x00)));
    assert!(matches!(
        decode_stream(&[]),
        Err(StreamError::TooShort { .. })
    ));
    assert!(matches!(
        decode_stream(&stream[..5]),
        Err(StreamError::TooShort { .. })
    ));
}

/// A stream of `codec` whose header declares `declared` bytes and whose
/// payload is `payload` compressed.
fn forged(codec: Codec, declared: u32, payload: &[u8]) -> Vec<u8> {
    let compressed = zstd::bulk::compress(payload, 3).unwrap();
    let mut stream = vec![STREAM_VERSION, codec.byte()];
    stream.extend_from_slice(&declared.to_be_bytes());
    stream.extend_from_slice(&compressed);
    stream
}

#[test]
fn the_decompression_bound_is_enforced() {
    // A declared length past the bound is refused before decompressing.
    let too_big = u32::try_from(MAX_DECOMPRESSED_BYTES + 1).unwrap();
    let stream = forged(Codec::PlainZstd, too_big, &[0]);
    assert!(matches!(
        decode_stream(&stream),
        Err(StreamError::PayloadTooLarge { .. })
    ));
    assert!(matches!(
        decode_stream(&forged(Codec::PlainZstd, u32::MAX, &[0])),
        Err(StreamError::PayloadTooLarge { .. })
    ));

    // A zip bomb: 64 MiB of zeros in a few KiB. Declared at the bound, the
    // decompressor stops at the bound and the stream is refused.
    let bomb = vec![0u8; 64 * 1024 * 1024];
    for codec in Codec::ALL {
        let declared = u32::try_from(MAX_DECOMPRESSED_BYTES).unwrap();
        let stream = forged(codec, declared, &bomb);
        assert!(stream.len() < MAX_STREAM_BYTES, "{codec}: {}", stream.len());
        assert!(
            matches!(decode_stream(&stream), Err(StreamError::Decompress { .. })),
            "{codec}"
        );
        // Declared shorter than the content: refused too.
        let stream = forged(codec, 10, &[1u8; 11]);
        assert!(
            matches!(decode_stream(&stream), Err(StreamError::Decompress { .. })),
            "{codec}"
        );
        // Declared longer than the content: refused.
        let stream = forged(codec, 12, &[1u8; 11]);
        assert!(
            matches!(decode_stream(&stream), Err(StreamError::Decompress { .. })),
            "{codec}"
        );
    }

    // A frame whose header claims less than its content: still bounded.
    let mut lying = zstd::bulk::Compressor::new(3).unwrap();
    lying.include_contentsize(false).unwrap();
    let mut stream = vec![STREAM_VERSION, Codec::PlainZstd.byte()];
    stream.extend_from_slice(&100u32.to_be_bytes());
    stream.extend_from_slice(&lying.compress(&[0u8; 5_000]).unwrap());
    assert!(matches!(
        decode_stream(&stream),
        Err(StreamError::Decompress { .. })
    ));

    // A payload past the bound is refused by the payload decoder too.
    assert!(matches!(
        chunkseq_da::decode_payload(
            Bytes::from(vec![0u8; MAX_DECOMPRESSED_BYTES + 1]),
            chunkseq_da::Layout::Plain
        ),
        Err(StreamError::PayloadTooLarge { .. })
    ));

    // A well-formed payload that decompresses fine but does not parse.
    let stream = forged(Codec::ColumnarZstd, 3, &[1, 5, 0]);
    assert!(matches!(
        decode_stream(&stream),
        Err(StreamError::Malformed { .. })
    ));
}
