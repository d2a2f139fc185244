//! Blob data from a beacon node's API, for checkpoints published in blobs.
//!
//! A checkpoint's blobs are read with `GET /eth/v1/beacon/blobs/{block_id}
//! ?versioned_hashes=h0,h1,…` (the only blob endpoint anvil 1.7.1 still
//! serves: `/eth/v1/beacon/blob_sidecars/{block_id}` answers 410 Gone), on the
//! L1 block that included the checkpoint. The response is read bounded: at
//! most [`max_blobs_response_bytes`], the blobs one L1 block can hold, since
//! a blob asked for by hash comes back once for every transaction of the
//! block that carried it (a resent checkpoint carries the same blobs).
//! Nothing here trusts what it reads: every blob is checked against its
//! versioned hash before use ([`crate::blob_data::resolve_blobs`]).

use std::time::Duration;

use alloy::{
    eips::eip4844::{BYTES_PER_BLOB, Blob},
    transports::http::reqwest,
};
use alloy_primitives::{B256, hex};
use parking_lot::Mutex;
use tracing::debug;

use super::blob_tx::MAX_BLOBS_PER_TX;
use crate::error::L1Error;

/// How a block is named in the beacon API's `{block_id}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum BeaconBlockId {
    /// Decided on connecting: [`Self::BlockNumber`] when the L1 node is
    /// anvil (`web3_clientVersion`), [`Self::Slot`] with the beacon
    /// node's genesis time and slot length otherwise.
    #[default]
    Auto,
    /// The L1 (execution) block number, in decimal: what anvil's beacon
    /// endpoint takes (it also takes `latest` and the execution block
    /// hash). A real beacon node reads a number as a slot.
    BlockNumber,
    /// The beacon slot of the L1 block: `(timestamp - genesis_time) /
    /// seconds_per_slot`. `None` fields are read from the beacon node
    /// (`/eth/v1/beacon/genesis`, `/eth/v1/config/spec`) on first use.
    Slot {
        /// The beacon chain's genesis time (unix seconds).
        genesis_time: Option<u64>,
        /// Seconds per slot (12 on Ethereum).
        seconds_per_slot: Option<u64>,
    },
}

/// The most blobs an L1 block holds under the blob schedules Ethereum has
/// scheduled (BPO2: 21), and so the most one beacon response may carry.
pub const MAX_BLOBS_PER_BLOCK: usize = 21;

/// The largest blob response accepted: [`MAX_BLOBS_PER_BLOCK`] blobs of
/// 128 KiB, each sent as a JSON string of `0x` and 262,144 hex digits, plus
/// 4 KiB for the envelope. Not the blobs asked for: a node answers a hash
/// once for every transaction of the block that carried that blob.
pub const fn max_blobs_response_bytes() -> usize {
    MAX_BLOBS_PER_BLOCK * (2 * BYTES_PER_BLOB + 8) + 4096
}

/// The largest response accepted from the small JSON endpoints (genesis,
/// config) and for an error's body.
const SMALL_RESPONSE_BYTES: usize = 64 * 1024;

/// A beacon API endpoint.
#[derive(Debug)]
pub struct BeaconClient {
    base: String,
    client: reqwest::Client,
    block_id: Mutex<BeaconBlockId>,
}

fn beacon_error(reason: impl Into<String>) -> L1Error {
    L1Error::Rpc {
        what: "beacon API",
        reason: reason.into(),
    }
}

/// The beacon URL to use when none is configured: the L1 RPC URL's scheme,
/// host and port (anvil serves the beacon API on its RPC port).
pub fn default_beacon_url(rpc_url: &str) -> Result<String, L1Error> {
    let url = reqwest::Url::parse(rpc_url)
        .map_err(|e| beacon_error(format!("L1 RPC URL {rpc_url}: {e}")))?;
    let host = url
        .host_str()
        .ok_or_else(|| beacon_error(format!("L1 RPC URL {rpc_url} has no host")))?;
    Ok(match url.port() {
        Some(port) => format!("{}://{host}:{port}", url.scheme()),
        None => format!("{}://{host}", url.scheme()),
    })
}

impl BeaconClient {
    /// A client of the beacon API at `base_url` (scheme, host, port and an
    /// optional path prefix), naming blocks as `block_id` says.
    pub fn new(base_url: &str, block_id: BeaconBlockId) -> Result<Self, L1Error> {
        reqwest::Url::parse(base_url)
            .map_err(|e| beacon_error(format!("beacon URL {base_url}: {e}")))?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .map_err(|e| beacon_error(e.to_string()))?;
        Ok(Self {
            base: base_url.trim_end_matches('/').to_owned(),
            client,
            block_id: Mutex::new(block_id),
        })
    }

    /// The base URL.
    pub fn base_url(&self) -> &str {
        &self.base
    }

    /// How blocks are named (after [`BeaconBlockId::Auto`] is decided).
    pub fn block_id(&self) -> BeaconBlockId {
        *self.block_id.lock()
    }

    /// Decides [`BeaconBlockId::Auto`]: the block number on anvil, the slot
    /// otherwise.
    pub(crate) fn settle_auto(&self, anvil: bool) {
        let mut id = self.block_id.lock();
        if *id == BeaconBlockId::Auto {
            *id = if anvil {
                BeaconBlockId::BlockNumber
            } else {
                BeaconBlockId::Slot {
                    genesis_time: None,
                    seconds_per_slot: None,
                }
            };
        }
    }

    /// Whether naming a block needs its timestamp.
    pub fn needs_timestamp(&self) -> bool {
        matches!(self.block_id(), BeaconBlockId::Slot { .. })
    }

    /// The `{block_id}` of L1 block `number` with `timestamp` (unix
    /// seconds; only the slot form reads it).
    pub async fn block_id_of(&self, number: u64, timestamp: u64) -> Result<String, L1Error> {
        match self.block_id() {
            BeaconBlockId::Auto | BeaconBlockId::BlockNumber => Ok(number.to_string()),
            BeaconBlockId::Slot {
                genesis_time,
                seconds_per_slot,
            } => {
                let genesis = match genesis_time {
                    Some(g) => g,
                    None => self.genesis_time().await?,
                };
                let per_slot = match seconds_per_slot {
                    Some(s) => s,
                    None => self.seconds_per_slot().await?,
                };
                *self.block_id.lock() = BeaconBlockId::Slot {
                    genesis_time: Some(genesis),
                    seconds_per_slot: Some(per_slot),
                };
                let since = timestamp.checked_sub(genesis).ok_or_else(|| {
                    beacon_error(format!(
                        "L1 block {number} (time {timestamp}) is before the beacon genesis ({genesis})"
                    ))
                })?;
                Ok((since / per_slot.max(1)).to_string())
            }
        }
    }

    async fn genesis_time(&self) -> Result<u64, L1Error> {
        let v = self.get_json("/eth/v1/beacon/genesis").await?;
        v.pointer("/data/genesis_time")
            .and_then(|t| {
                t.as_str()
                    .and_then(|s| s.parse().ok())
                    .or_else(|| t.as_u64())
            })
            .ok_or_else(|| beacon_error("/eth/v1/beacon/genesis has no data.genesis_time"))
    }

    async fn seconds_per_slot(&self) -> Result<u64, L1Error> {
        let v = self.get_json("/eth/v1/config/spec").await?;
        v.pointer("/data/SECONDS_PER_SLOT")
            .and_then(|t| {
                t.as_str()
                    .and_then(|s| s.parse().ok())
                    .or_else(|| t.as_u64())
            })
            .filter(|s| *s > 0)
            .ok_or_else(|| beacon_error("/eth/v1/config/spec has no data.SECONDS_PER_SLOT"))
    }

    async fn get_json(&self, path: &str) -> Result<serde_json::Value, L1Error> {
        let url = format!("{}{path}", self.base);
        let body = self.get_bounded(&url, SMALL_RESPONSE_BYTES).await?;
        serde_json::from_slice(&body).map_err(|e| beacon_error(format!("{path}: {e}")))
    }

    /// GETs `url`, refusing a body longer than `max` bytes (announced or
    /// read) and any status but 200.
    async fn get_bounded(&self, url: &str, max: usize) -> Result<Vec<u8>, L1Error> {
        let mut response = self
            .client
            .get(url)
            .header("accept", "application/json")
            .send()
            .await
            .map_err(|e| beacon_error(format!("GET {url}: {e}")))?;
        let status = response.status();
        let limit = if status.is_success() {
            max
        } else {
            SMALL_RESPONSE_BYTES
        };
        let too_long = |len: u64| {
            beacon_error(format!(
                "GET {url}: the response is {len} bytes or more, above the {limit} accepted"
            ))
        };
        if let Some(len) = response.content_length()
            && len > limit as u64
        {
            return Err(too_long(len));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| beacon_error(format!("GET {url}: {e}")))?
        {
            if body.len().saturating_add(chunk.len()) > limit {
                return Err(too_long(body.len().saturating_add(chunk.len()) as u64));
            }
            body.extend_from_slice(&chunk);
        }
        if !status.is_success() {
            let text = String::from_utf8_lossy(&body);
            let text: String = text.chars().take(300).collect();
            return Err(beacon_error(format!("GET {url}: {status}: {text}")));
        }
        Ok(body)
    }

    /// The blobs of L1 block `number` (with `timestamp`, unix seconds) that
    /// `versioned_hashes` name, in that order. They are not checked against
    /// the hashes here: [`crate::blob_data::resolve_blobs`] does.
    pub async fn blobs(
        &self,
        number: u64,
        timestamp: u64,
        versioned_hashes: &[B256],
    ) -> Result<Vec<Blob>, L1Error> {
        if versioned_hashes.is_empty() {
            return Ok(Vec::new());
        }
        if versioned_hashes.len() > MAX_BLOBS_PER_TX {
            return Err(beacon_error(format!(
                "{} blobs asked for, at most {MAX_BLOBS_PER_TX} are fetched",
                versioned_hashes.len()
            )));
        }
        let id = self.block_id_of(number, timestamp).await?;
        let hashes: Vec<String> = versioned_hashes.iter().map(ToString::to_string).collect();
        let url = format!(
            "{}/eth/v1/beacon/blobs/{id}?versioned_hashes={}",
            self.base,
            hashes.join(",")
        );
        let body = self.get_bounded(&url, max_blobs_response_bytes()).await?;
        let blobs = parse_blobs(&body).map_err(|e| beacon_error(format!("GET {url}: {e}")))?;
        debug!(target: "chunkseq::l1", number, %id, blobs = blobs.len(), "blobs from the beacon API");
        order_blobs(blobs, versioned_hashes)
    }
}

/// The blobs of a `/eth/v1/beacon/blobs` response (`{"data": ["0x…"]}`).
pub fn parse_blobs(body: &[u8]) -> Result<Vec<Blob>, String> {
    let v: serde_json::Value =
        serde_json::from_slice(body).map_err(|e| format!("not JSON: {e}"))?;
    let data = v
        .get("data")
        .and_then(serde_json::Value::as_array)
        .ok_or("no data array")?;
    if data.len() > MAX_BLOBS_PER_BLOCK {
        return Err(format!(
            "{} blobs, more than the {MAX_BLOBS_PER_BLOCK} an L1 block holds",
            data.len()
        ));
    }
    let mut blobs = Vec::with_capacity(data.len());
    for (i, item) in data.iter().enumerate() {
        let text = item
            .as_str()
            .ok_or_else(|| format!("blob {i} is not a string"))?;
        let digits = text.strip_prefix("0x").unwrap_or(text);
        if digits.len() != 2 * BYTES_PER_BLOB {
            return Err(format!(
                "blob {i} has {} hex digits, a blob has {}",
                digits.len(),
                2 * BYTES_PER_BLOB
            ));
        }
        // Decoded in place: a blob is 128 KiB, too much to move through the
        // stack of a task.
        blobs.push(Blob::ZERO);
        let blob = blobs.last_mut().ok_or("no blob")?;
        hex::decode_to_slice(digits, blob.as_mut_slice())
            .map_err(|e| format!("blob {i} is not hex: {e}"))?;
    }
    Ok(blobs)
}

/// `blobs` in `versioned_hashes` order. A node returns the filtered blobs in
/// block order, which is the transaction's (and so the hashes') order; only
/// when it returns another number (another transaction in the block carried
/// one of the blobs too) are the blobs hashed to pick one per hash.
fn order_blobs(blobs: Vec<Blob>, versioned_hashes: &[B256]) -> Result<Vec<Blob>, L1Error> {
    if blobs.len() == versioned_hashes.len() {
        return Ok(blobs);
    }
    let hashes = chunkseq_da::versioned_hashes(&blobs)
        .map_err(|e| beacon_error(format!("hashing the returned blobs: {e}")))?;
    let mut ordered = Vec::with_capacity(versioned_hashes.len());
    for (i, want) in versioned_hashes.iter().enumerate() {
        let blob = hashes
            .iter()
            .position(|h| h == want)
            .and_then(|at| blobs.get(at))
            .ok_or_else(|| {
                beacon_error(format!(
                    "the beacon node has no blob {i} (versioned hash {want}) in the block"
                ))
            })?;
        ordered.push(*blob);
    }
    Ok(ordered)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_beacon_url_is_the_rpc_host_and_port() {
        assert_eq!(
            default_beacon_url("http://127.0.0.1:8545").unwrap(),
            "http://127.0.0.1:8545"
        );
        assert_eq!(
            default_beacon_url("https://node.example/rpc/key?x=1").unwrap(),
            "https://node.example"
        );
        assert!(default_beacon_url("not a url").is_err());
    }

    #[test]
    fn the_response_bound_is_a_full_blocks_blobs() {
        assert_eq!(max_blobs_response_bytes(), 21 * 262_152 + 4096);
        // anvil's answer for one blob asked for, carried by two transactions
        // of the block (a resent checkpoint), is 524,355 bytes.
        assert!(max_blobs_response_bytes() > 524_355);
    }

    #[test]
    fn responses_are_parsed_strictly() {
        let blob = format!("\"0x{}\"", "00".repeat(BYTES_PER_BLOB));
        let ok = format!("{{\"execution_optimistic\":false,\"data\":[{blob},{blob}]}}");
        assert_eq!(parse_blobs(ok.as_bytes()).unwrap().len(), 2);
        let short = r#"{"data":["0x0011"]}"#;
        assert!(
            parse_blobs(short.as_bytes())
                .unwrap_err()
                .contains("hex digits")
        );
        let too_many = format!("{{\"data\":[{}]}}", [blob.as_str(); 22].join(","));
        let err = parse_blobs(too_many.as_bytes()).map(|b| b.len());
        assert!(
            err.as_ref().is_err_and(|e| e.contains("22 blobs")),
            "{err:?}"
        );
        assert!(parse_blobs(b"{}").is_err());
        let odd = format!("{{\"data\":[\"0x{}\"]}}", "zz".repeat(BYTES_PER_BLOB));
        assert!(parse_blobs(odd.as_bytes()).unwrap_err().contains("not hex"));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_slot_is_named_from_the_timestamp() {
        let c = BeaconClient::new(
            "http://127.0.0.1:9",
            BeaconBlockId::Slot {
                genesis_time: Some(1_000),
                seconds_per_slot: Some(12),
            },
        )
        .unwrap();
        assert!(c.needs_timestamp());
        assert_eq!(c.block_id_of(7, 1_000 + 12 * 5 + 3).await.unwrap(), "5");
        assert!(c.block_id_of(7, 999).await.is_err());
        let n = BeaconClient::new("http://127.0.0.1:9/", BeaconBlockId::Auto).unwrap();
        n.settle_auto(true);
        assert_eq!(n.block_id(), BeaconBlockId::BlockNumber);
        assert_eq!(n.base_url(), "http://127.0.0.1:9");
        assert_eq!(n.block_id_of(7, 0).await.unwrap(), "7");
    }
}
