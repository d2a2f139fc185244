//! Blob packing: data bytes in EIP-4844 blobs, 31 per field element.
//!
//! A blob is 4096 field elements of 32 bytes. Each element carries 31 data
//! bytes in its bytes 1 to 31; its byte 0 is always 0, so the element is
//! below 2^248 and therefore below the BLS12-381 modulus (canonical). The
//! data bytes of a blob set are the elements' data bytes in blob and
//! element order. What those bytes mean is the checkpoint layout's business
//! (`checkpoint.rs`); this module only moves bytes in and out of blobs.

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

/// Data bytes a checkpoint's blobs carry: 761,856.
pub const MAX_DATA_BYTES: usize = MAX_BLOBS_PER_CHECKPOINT * DATA_BYTES_PER_BLOB;

/// Blobs needed for `len` data bytes: zero for none.
pub const fn blobs_for(len: usize) -> usize {
    len.div_ceil(DATA_BYTES_PER_BLOB)
}

/// The blob and field element that hold data byte `offset`.
pub(crate) const fn locate(offset: usize) -> (usize, usize) {
    (
        offset / DATA_BYTES_PER_BLOB,
        offset % DATA_BYTES_PER_BLOB / DATA_BYTES_PER_FIELD_ELEMENT,
    )
}

/// One blob carrying `data` (at most [`DATA_BYTES_PER_BLOB`] bytes; any
/// more are ignored), zeros after it.
pub fn pack_blob(data: &[u8]) -> Blob {
    let mut blob = Blob::ZERO;
    for (element, chunk) in blob
        .0
        .chunks_exact_mut(BYTES_PER_FIELD_ELEMENT)
        .zip(data.chunks(DATA_BYTES_PER_FIELD_ELEMENT))
    {
        // Byte 0 stays 0; bytes 1 to 31 take the chunk.
        for (byte, &value) in element.iter_mut().skip(1).zip(chunk) {
            *byte = value;
        }
    }
    blob
}

/// `data` in as few blobs as it needs ([`blobs_for`]), zeros after it.
pub fn data_to_blobs(data: &[u8]) -> Vec<Blob> {
    data.chunks(DATA_BYTES_PER_BLOB).map(pack_blob).collect()
}

/// The data bytes of `blobs`: one to [`MAX_BLOBS_PER_CHECKPOINT`] blobs,
/// every field element's byte 0 zero.
pub fn blobs_to_data(blobs: &[Blob]) -> Result<Vec<u8>, BlobError> {
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
    Ok(data)
}

const _: () = assert!(BYTES_PER_BLOB == FIELD_ELEMENTS_PER_BLOB * BYTES_PER_FIELD_ELEMENT);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capacities() {
        assert_eq!(DATA_BYTES_PER_BLOB, 126_976);
        assert_eq!(MAX_DATA_BYTES, 761_856);
        assert_eq!(blobs_for(0), 0);
        assert_eq!(blobs_for(1), 1);
        assert_eq!(blobs_for(DATA_BYTES_PER_BLOB), 1);
        assert_eq!(blobs_for(DATA_BYTES_PER_BLOB + 1), 2);
        assert_eq!(blobs_for(MAX_DATA_BYTES), MAX_BLOBS_PER_CHECKPOINT);
        assert_eq!(locate(0), (0, 0));
        assert_eq!(locate(31), (0, 1));
        assert_eq!(locate(DATA_BYTES_PER_BLOB + 62), (1, 2));
    }

    #[test]
    fn data_round_trips_across_blob_boundaries() {
        for len in [
            1,
            30,
            31,
            32,
            DATA_BYTES_PER_BLOB - 1,
            DATA_BYTES_PER_BLOB,
            DATA_BYTES_PER_BLOB + 1,
            MAX_DATA_BYTES,
        ] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8 + 1).collect();
            let blobs = data_to_blobs(&data);
            assert_eq!(blobs.len(), blobs_for(len));
            for blob in &blobs {
                assert!(blob.0.chunks(32).all(|fe| fe[0] == 0));
            }
            let back = blobs_to_data(&blobs).unwrap();
            assert_eq!(back.len(), blobs.len() * DATA_BYTES_PER_BLOB);
            assert_eq!(back[..len], data[..], "len {len}");
            assert!(back[len..].iter().all(|&b| b == 0));
        }
    }

    #[test]
    fn bad_blob_sets_are_refused() {
        let blobs = data_to_blobs(&[7u8; 1000]);
        assert_eq!(blobs_to_data(&[]), Err(BlobError::NoBlobs));
        assert_eq!(
            blobs_to_data(&vec![blobs[0]; 7]),
            Err(BlobError::TooManyBlobs { count: 7, max: 6 })
        );
        let mut high = blobs;
        high[0].0[32 * 5] = 1;
        assert_eq!(
            blobs_to_data(&high),
            Err(BlobError::NonZeroHighByte {
                blob: 0,
                element: 5,
                byte: 1
            })
        );
    }
}
