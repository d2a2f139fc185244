//! Blob packing: a stream split over EIP-4844 blobs.
//!
//! A blob is 4096 field elements of 32 bytes. Each element carries 31 data
//! bytes in its bytes 1 to 31; its byte 0 is always 0, so the element is
//! below 2^248 and therefore below the BLS12-381 modulus (canonical). The
//! data bytes of the blobs, in order, are a 4-byte big-endian length `L`,
//! the `L` stream bytes, then zeros to the end of the last blob. A blob set
//! has exactly as many blobs as `4 + L` bytes need, and unpacking refuses
//! any other count, a non-zero byte 0, a length past the end, or a non-zero
//! byte after the stream.

use alloy_eips::eip4844::{BYTES_PER_BLOB, Blob};

use crate::{MAX_BLOBS_PER_CHECKPOINT, error::BlobError};

/// Field elements in a blob.
pub const FIELD_ELEMENTS_PER_BLOB: usize = 4096;

/// Bytes of a field element.
pub const BYTES_PER_FIELD_ELEMENT: usize = 32;

/// Data bytes a field element carries (its first byte is 0).
pub const DATA_BYTES_PER_FIELD_ELEMENT: usize = 31;

/// Data bytes a blob carries: 126,976.
pub const DATA_BYTES_PER_BLOB: usize = FIELD_ELEMENTS_PER_BLOB * DATA_BYTES_PER_FIELD_ELEMENT;

/// Bytes of the stream-length prefix at the start of the first blob.
pub const LENGTH_PREFIX_BYTES: usize = 4;

/// The longest stream a checkpoint's blobs carry: 761,852 bytes.
pub const MAX_STREAM_BYTES: usize =
    MAX_BLOBS_PER_CHECKPOINT * DATA_BYTES_PER_BLOB - LENGTH_PREFIX_BYTES;

/// Blobs needed for a stream of `len` bytes (at least one).
pub const fn blobs_needed(len: usize) -> usize {
    let data = len.saturating_add(LENGTH_PREFIX_BYTES);
    let n = data.div_ceil(DATA_BYTES_PER_BLOB);
    if n == 0 { 1 } else { n }
}

/// Packs `stream` into as few blobs as it needs.
pub fn stream_to_blobs(stream: &[u8]) -> Result<Vec<Blob>, BlobError> {
    let count = blobs_needed(stream.len());
    let len = u32::try_from(stream.len())
        .ok()
        .filter(|_| stream.len() <= MAX_STREAM_BYTES)
        .ok_or(BlobError::TooManyBlobs {
            count,
            max: MAX_BLOBS_PER_CHECKPOINT,
        })?;
    let prefix = len.to_be_bytes();
    let mut data = prefix.iter().chain(stream).copied();
    let mut blobs = vec![Blob::ZERO; count];
    for blob in &mut blobs {
        for element in blob.0.chunks_exact_mut(BYTES_PER_FIELD_ELEMENT) {
            // Byte 0 stays 0; bytes 1 to 31 take the next data bytes.
            for (byte, value) in element.iter_mut().skip(1).zip(data.by_ref()) {
                *byte = value;
            }
        }
    }
    Ok(blobs)
}

/// Unpacks the stream that [`stream_to_blobs`] packed, checking the layout
/// strictly.
pub fn blobs_to_stream(blobs: &[Blob]) -> Result<Vec<u8>, BlobError> {
    if blobs.is_empty() {
        return Err(BlobError::NoBlobs);
    }
    if blobs.len() > MAX_BLOBS_PER_CHECKPOINT {
        return Err(BlobError::TooManyBlobs {
            count: blobs.len(),
            max: MAX_BLOBS_PER_CHECKPOINT,
        });
    }
    let mut data = Vec::with_capacity(blobs.len().saturating_mul(DATA_BYTES_PER_BLOB));
    for (b, blob) in blobs.iter().enumerate() {
        for (e, element) in blob.0.chunks_exact(BYTES_PER_FIELD_ELEMENT).enumerate() {
            let Some((&high, rest)) = element.split_first() else {
                continue;
            };
            if high != 0 {
                return Err(BlobError::NonZeroHighByte {
                    blob: b,
                    element: e,
                    byte: high,
                });
            }
            data.extend_from_slice(rest);
        }
    }
    let Some((prefix, rest)) = data.split_first_chunk::<LENGTH_PREFIX_BYTES>() else {
        return Err(BlobError::NoBlobs);
    };
    let len = u32::from_be_bytes(*prefix);
    let capacity = rest.len();
    let Some(stream) = usize::try_from(len).ok().and_then(|len| rest.get(..len)) else {
        return Err(BlobError::Truncated {
            len: len.into(),
            count: blobs.len(),
            capacity,
        });
    };
    let needed = blobs_needed(stream.len());
    if blobs.len() != needed {
        return Err(BlobError::ExtraBlobs {
            count: blobs.len(),
            len: len.into(),
            needed,
        });
    }
    if let Some(pos) = rest
        .get(stream.len()..)
        .and_then(|tail| tail.iter().position(|&b| b != 0))
    {
        // Data offset of the byte: prefix, stream, then `pos` into the tail.
        let at = pos
            .saturating_add(stream.len())
            .saturating_add(LENGTH_PREFIX_BYTES);
        return Err(BlobError::NonZeroPadding {
            blob: at / DATA_BYTES_PER_BLOB,
            element: at % DATA_BYTES_PER_BLOB / DATA_BYTES_PER_FIELD_ELEMENT,
        });
    }
    Ok(stream.to_vec())
}

const _: () = assert!(BYTES_PER_BLOB == FIELD_ELEMENTS_PER_BLOB * BYTES_PER_FIELD_ELEMENT);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities() {
        assert_eq!(DATA_BYTES_PER_BLOB, 126_976);
        assert_eq!(MAX_STREAM_BYTES, 761_852);
        assert_eq!(blobs_needed(0), 1);
        assert_eq!(blobs_needed(DATA_BYTES_PER_BLOB - 4), 1);
        assert_eq!(blobs_needed(DATA_BYTES_PER_BLOB - 3), 2);
        assert_eq!(blobs_needed(MAX_STREAM_BYTES), MAX_BLOBS_PER_CHECKPOINT);
    }

    #[test]
    fn streams_round_trip_across_blob_boundaries() {
        for len in [
            0,
            1,
            26,
            27,
            DATA_BYTES_PER_BLOB - 4,
            DATA_BYTES_PER_BLOB - 3,
            MAX_STREAM_BYTES,
        ] {
            let stream: Vec<u8> = (0..len).map(|i| (i % 251) as u8 + 1).collect();
            let blobs = stream_to_blobs(&stream).unwrap();
            assert_eq!(blobs.len(), blobs_needed(len));
            for blob in &blobs {
                assert!(blob.0.chunks(32).all(|fe| fe[0] == 0));
            }
            assert_eq!(blobs_to_stream(&blobs).unwrap(), stream, "len {len}");
        }
        assert!(matches!(
            stream_to_blobs(&vec![1; MAX_STREAM_BYTES + 1]),
            Err(BlobError::TooManyBlobs { count: 7, max: 6 })
        ));
    }

    #[test]
    fn bad_blob_sets_are_refused() {
        let stream = vec![7u8; 1000];
        let blobs = stream_to_blobs(&stream).unwrap();
        assert_eq!(blobs_to_stream(&[]), Err(BlobError::NoBlobs));
        assert!(matches!(
            blobs_to_stream(&vec![blobs[0]; 7]),
            Err(BlobError::TooManyBlobs { .. })
        ));

        let mut high = blobs.clone();
        high[0].0[32 * 5] = 1;
        assert!(matches!(
            blobs_to_stream(&high),
            Err(BlobError::NonZeroHighByte {
                blob: 0,
                element: 5,
                byte: 1
            })
        ));

        let mut long = blobs.clone();
        long[0].0[1] = 0xff; // length prefix now far past the end
        assert!(matches!(
            blobs_to_stream(&long),
            Err(BlobError::Truncated { .. })
        ));

        let mut padded = blobs.clone();
        padded[0].0[32 * 4000 + 9] = 1;
        assert!(matches!(
            blobs_to_stream(&padded),
            Err(BlobError::NonZeroPadding {
                blob: 0,
                element: 4000
            })
        ));

        let mut extra = blobs.clone();
        extra.push(Blob::ZERO);
        assert!(matches!(
            blobs_to_stream(&extra),
            Err(BlobError::ExtraBlobs {
                count: 2,
                needed: 1,
                ..
            })
        ));

        // A two-blob stream with its second blob dropped.
        let two = stream_to_blobs(&vec![3u8; DATA_BYTES_PER_BLOB]).unwrap();
        assert_eq!(two.len(), 2);
        assert!(matches!(
            blobs_to_stream(&two[..1]),
            Err(BlobError::Truncated { .. })
        ));
    }
}
