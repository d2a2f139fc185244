//! Commitments, versioned hashes, proofs and sidecars, checked with c-kzg's
//! own verifiers, and the versioned-hash check that refuses a wrong blob.

#![allow(clippy::unwrap_used, clippy::indexing_slicing, missing_docs)]

mod common;

use alloy_primitives::B256;
use chunkseq_da::{
    DaError, KzgError, SidecarVersion, blob_commitment, blob_proof, cell_proofs, decode_checkpoint,
    encode_checkpoint, kzg_settings, sidecar, verify_blob, verify_blobs, versioned_hash,
    versioned_hashes,
};
use common::transfers;

#[test]
fn commitments_and_proofs_verify_and_the_hash_is_versioned() {
    let blocks = vec![transfers(500), transfers(20)];
    let blobs = encode_checkpoint(&blocks).unwrap();
    assert_eq!(blobs.len(), 1);
    let blob = &blobs[0];
    let commitment = blob_commitment(blob).unwrap();
    let hash = versioned_hash(&commitment);
    assert_eq!(hash[0], 0x01);
    let sha = <sha2::Sha256 as sha2::Digest>::digest(commitment.as_slice());
    assert_eq!(hash[1..], sha[1..]);

    let ckzg_blob = c_kzg::Blob::from_bytes(blob.as_slice()).unwrap();
    let ckzg_commitment = c_kzg::Bytes48::new(commitment.0);
    let proof = blob_proof(blob, &commitment).unwrap();
    assert!(
        kzg_settings()
            .verify_blob_kzg_proof(&ckzg_blob, &ckzg_commitment, &c_kzg::Bytes48::new(proof.0))
            .unwrap()
    );

    let cells = kzg_settings().compute_cells(&ckzg_blob).unwrap();
    let proofs = cell_proofs(blob).unwrap();
    assert_eq!(proofs.len(), 128);
    let proofs: Vec<c_kzg::Bytes48> = proofs.iter().map(|p| c_kzg::Bytes48::new(p.0)).collect();
    assert!(
        kzg_settings()
            .verify_cell_kzg_proof_batch(
                &vec![ckzg_commitment; 128],
                &(0..128).collect::<Vec<u64>>(),
                &cells[..],
                &proofs,
            )
            .unwrap()
    );

    assert_eq!(
        decode_checkpoint(&blobs, &versioned_hashes(&blobs).unwrap()).unwrap(),
        blocks
    );
}

#[test]
fn sidecars_match_alloy_expectations() {
    let blobs = encode_checkpoint(&[transfers(3_000)]).unwrap();
    assert_eq!(blobs.len(), 2);
    let hashes = versioned_hashes(&blobs).unwrap();

    let v0 = sidecar(blobs.clone(), SidecarVersion::Eip4844).unwrap();
    let v0 = v0.as_eip4844().unwrap();
    assert_eq!(v0.blobs, blobs);
    assert_eq!(v0.proofs.len(), 2);
    assert_eq!(v0.versioned_hashes().collect::<Vec<B256>>(), hashes);

    let v1 = sidecar(blobs.clone(), SidecarVersion::Eip7594).unwrap();
    let v1 = v1.as_eip7594().unwrap();
    assert_eq!(v1.cell_proofs.len(), 2 * 128);
    assert_eq!(v1.cell_proofs[128..], cell_proofs(&blobs[1]).unwrap()[..]);
    assert_eq!(v1.versioned_hashes().collect::<Vec<B256>>(), hashes);
}

#[test]
fn a_blob_that_does_not_match_its_versioned_hash_is_refused() {
    let blobs = encode_checkpoint(&[transfers(100)]).unwrap();
    let good = versioned_hashes(&blobs).unwrap();
    verify_blob(0, &blobs[0], &good[0]).unwrap();

    let mut wrong = blobs[0];
    wrong.0[100] ^= 1;
    let err = verify_blob(0, &wrong, &good[0]).unwrap_err();
    let KzgError::VersionedHashMismatch {
        index: 0,
        expected,
        actual,
    } = err.clone()
    else {
        panic!("{err:?}");
    };
    assert_eq!(expected, good[0]);
    assert_ne!(actual, good[0]);
    assert!(
        err.to_string()
            .contains("does not match its versioned hash")
    );

    assert!(matches!(
        decode_checkpoint(&[wrong], &good),
        Err(DaError::Kzg(KzgError::VersionedHashMismatch { .. }))
    ));
    assert!(matches!(
        verify_blobs(&blobs, &[]),
        Err(KzgError::CountMismatch {
            blobs: 1,
            hashes: 0
        })
    ));

    // A blob with a non-canonical field element: c-kzg refuses it.
    let mut bad = blobs[0];
    bad.0[0] = 0xff;
    assert!(matches!(blob_commitment(&bad), Err(KzgError::Kzg(_))));
}
