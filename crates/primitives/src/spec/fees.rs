//! The fee parameters of a chain: an EIP-1559 base fee on L2 blocks and a
//! data fee that pays each transaction's share of the L1 checkpoint.

use serde::{Deserialize, Serialize};

use super::DataMode;

/// Blob gas of one blob (EIP-4844).
const GAS_PER_BLOB: u128 = 131_072;

/// Data bytes one blob carries with the checkpoint's packing (31 of every
/// 32 bytes of its 4,096 field elements).
const DATA_BYTES_PER_BLOB: u128 = 4_096 * 31;

/// L1 gas per byte of checkpoint data sent as calldata: the EIP-7623 floor
/// for a non-zero byte (compressed data has few zero bytes).
const CALLDATA_GAS_PER_BYTE: u128 = 40;

/// How far above its own view of L1 an attester lets a block's data price
/// go: the views of two honest nodes differ by the L1 blocks one has not
/// seen yet, and every block may raise the blob base fee by at most 12.5%.
pub const MAX_DATA_PRICE_FACTOR: u64 = 2;

/// What transactions pay, and to whom (docs/fees.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeeSpec {
    /// The lowest base fee (wei per gas), and the genesis block's.
    #[serde(default = "default_min_base_fee")]
    pub min_base_fee: u64,
    /// Gas target of a block is its gas limit divided by this (EIP-1559: 2).
    #[serde(default = "default_elasticity")]
    pub base_fee_elasticity: u32,
    /// The base fee moves by at most `1 / this` per block (EIP-1559: 8).
    #[serde(default = "default_change_denominator")]
    pub base_fee_change_denominator: u32,
    /// The lowest data price (wei per byte of checkpoint data), whatever L1
    /// charges: it keeps data from being free when L1 blob space is.
    #[serde(default = "default_min_data_price")]
    pub min_data_price: u64,
    /// Checkpoint bytes a transaction takes per million bytes of its EIP-2718
    /// encoding: the compression ratio of the checkpoint's codec, measured.
    #[serde(default = "default_data_compression_ppm")]
    pub data_compression_ppm: u32,
}

impl Default for FeeSpec {
    fn default() -> Self {
        Self {
            min_base_fee: default_min_base_fee(),
            base_fee_elasticity: default_elasticity(),
            base_fee_change_denominator: default_change_denominator(),
            min_data_price: default_min_data_price(),
            data_compression_ppm: default_data_compression_ppm(),
        }
    }
}

impl FeeSpec {
    /// The base fee of the block after one with `base_fee`, that used
    /// `gas_used` of `gas_limit` (EIP-1559), never below `min_base_fee`.
    pub fn next_base_fee(&self, base_fee: u64, gas_used: u64, gas_limit: u64) -> u64 {
        let params = alloy_eips::eip1559::BaseFeeParams::new(
            u128::from(self.base_fee_change_denominator),
            u128::from(self.base_fee_elasticity),
        );
        alloy_eips::eip1559::calc_next_block_base_fee(gas_used, gas_limit, base_fee, params)
            .max(self.min_base_fee)
    }

    /// Checkpoint bytes a transaction of `encoded_len` bytes is charged for:
    /// its length times the compression ratio, rounded up.
    pub fn data_bytes(&self, encoded_len: usize) -> u64 {
        let len = u128::try_from(encoded_len).unwrap_or(u128::MAX);
        let bytes = len
            .saturating_mul(u128::from(self.data_compression_ppm))
            .div_ceil(1_000_000);
        u64::try_from(bytes).unwrap_or(u64::MAX)
    }

    /// The data fee (wei) of a transaction of `encoded_len` bytes in a block
    /// whose data price is `data_price`.
    pub fn data_fee(&self, encoded_len: usize, data_price: u64) -> u128 {
        u128::from(self.data_bytes(encoded_len)).saturating_mul(u128::from(data_price))
    }

    /// The data price (wei per checkpoint byte) an L1 head with `base_fee`
    /// and `blob_base_fee` implies for a chain publishing in `mode`: the
    /// cost of a byte on the path the checkpoint would take (the cheaper one
    /// in auto mode), never below `min_data_price`.
    pub fn data_price(&self, mode: DataMode, base_fee: u128, blob_base_fee: u128) -> u64 {
        let blob = blob_base_fee
            .saturating_mul(GAS_PER_BLOB)
            .div_ceil(DATA_BYTES_PER_BLOB);
        let calldata = base_fee.saturating_mul(CALLDATA_GAS_PER_BYTE);
        let price = match mode {
            DataMode::Calldata => calldata,
            DataMode::Blobs => blob,
            DataMode::Auto => blob.min(calldata),
        };
        u64::try_from(price)
            .unwrap_or(u64::MAX)
            .max(self.min_data_price)
    }

    /// Whether an attester whose own view of L1 gives `own_price` accepts a
    /// block with `data_price`: at least the floor, at most
    /// [`MAX_DATA_PRICE_FACTOR`] times its own price.
    pub fn data_price_acceptable(&self, data_price: u64, own_price: u64) -> bool {
        data_price >= self.min_data_price
            && data_price <= own_price.saturating_mul(MAX_DATA_PRICE_FACTOR)
    }
}

/// 0.01 gwei.
const fn default_min_base_fee() -> u64 {
    10_000_000
}

const fn default_elasticity() -> u32 {
    2
}

const fn default_change_denominator() -> u32 {
    8
}

/// 0.1 gwei per byte.
const fn default_min_data_price() -> u64 {
    100_000_000
}

/// 75%: a transfer of about 113 bytes takes about 84 bytes of a columnar,
/// zstd-compressed checkpoint (docs/da.md).
const fn default_data_compression_ppm() -> u32 {
    750_000
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_fee_follows_eip_1559() {
        let f = FeeSpec::default();
        let limit = 30_000_000;
        let cases = [
            // (base fee, gas used, next)
            (1_000_000_000, 15_000_000, 1_000_000_000),
            (1_000_000_000, 30_000_000, 1_125_000_000),
            (1_000_000_000, 0, 875_000_000),
            (1_000_000_000, 22_500_000, 1_062_500_000),
            // Never below the floor.
            (10_000_000, 0, 10_000_000),
            (10_000_001, 0, 10_000_000),
        ];
        for (base, used, next) in cases {
            assert_eq!(f.next_base_fee(base, used, limit), next, "{base} {used}");
        }
    }

    #[test]
    fn data_fee_is_compressed_bytes_times_price() {
        let f = FeeSpec::default();
        assert_eq!(f.data_bytes(0), 0);
        assert_eq!(f.data_bytes(100), 75);
        assert_eq!(f.data_bytes(101), 76, "rounded up");
        assert_eq!(f.data_fee(100, 3), 225);
        assert!(
            f.data_fee(usize::MAX, u64::MAX) > u128::from(u64::MAX),
            "no overflow"
        );
    }

    #[test]
    fn data_price_takes_the_checkpoint_path_and_the_floor() {
        let f = FeeSpec {
            min_data_price: 10,
            ..FeeSpec::default()
        };
        // 1 gwei L1 base fee: 40 gwei a calldata byte; 1,000 wei blob fee:
        // ceil(1,000 * 131,072 / 126,976) = 1,033 wei a blob byte.
        let (base, blob) = (1_000_000_000, 1_000);
        assert_eq!(f.data_price(DataMode::Calldata, base, blob), 40_000_000_000);
        assert_eq!(f.data_price(DataMode::Blobs, base, blob), 1_033);
        assert_eq!(f.data_price(DataMode::Auto, base, blob), 1_033);
        assert_eq!(
            f.data_price(DataMode::Auto, 1, blob),
            40,
            "calldata cheaper"
        );
        assert_eq!(f.data_price(DataMode::Blobs, base, 1), 10, "the floor");
        assert_eq!(f.data_price(DataMode::Calldata, u128::MAX, 0), u64::MAX);
    }

    #[test]
    fn attesters_bound_the_data_price() {
        let f = FeeSpec {
            min_data_price: 10,
            ..FeeSpec::default()
        };
        assert!(f.data_price_acceptable(10, 10));
        assert!(f.data_price_acceptable(20, 10));
        assert!(!f.data_price_acceptable(21, 10), "above twice its own view");
        assert!(!f.data_price_acceptable(9, 100), "below the floor");
        assert!(f.data_price_acceptable(u64::MAX, u64::MAX));
    }
}
