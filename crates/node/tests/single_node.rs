//! One node against misbehaving clients and peers: malformed and oversized
//! JSON-RPC requests get errors and the node keeps serving; garbage and
//! oversized gossip is rejected and its sender scored down.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

use std::{net::SocketAddr, sync::Arc, time::Duration};

use alloy_primitives::U256;
use chunkseq_execution::{DEVNET_PHRASE, DEVNET_USERS, Genesis, dev_keys, pool::signed_transfer};
use chunkseq_l1::{EmbeddedConfig, EmbeddedL1, SharedEmbeddedL1};
use chunkseq_node::{
    Node, NodeConfig,
    clock::{Clock, SystemClock},
    network::{self, NetCommand, NetworkConfig},
    node::NodeFaults,
    rpc_limits::RpcLimits,
};
use chunkseq_primitives::{Preset, PrivateKey};
use chunkseq_protocol::CoreConfig;
use jsonrpsee::{core::client::ClientT, rpc_params};
use jsonrpsee_http_client::HttpClientBuilder;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

async fn one_node() -> (Node, Vec<PrivateKey>, u64) {
    one_node_with(RpcLimits::default()).await
}

async fn one_node_with(rpc_limits: RpcLimits) -> (Node, Vec<PrivateKey>, u64) {
    let now = SystemClock.now();
    let mut spec = Preset::Devnet.spec();
    spec.genesis_time = now.0.div_ceil(1000) + 1;
    let keys = dev_keys(DEVNET_PHRASE, 1 + DEVNET_USERS);
    let genesis = Genesis::devnet(DEVNET_PHRASE, 1, DEVNET_USERS).unwrap();
    let l1 = SharedEmbeddedL1::new(
        EmbeddedL1::new(
            &spec,
            genesis.hash(&spec).unwrap(),
            &[keys[0].address()],
            EmbeddedConfig {
                start: Some(now),
                ..EmbeddedConfig::default()
            },
        )
        .unwrap(),
    );
    chunkseq_node::clock::drive_embedded_l1(&l1);
    let chain_id = spec.chain_id;
    let node = Node::start(
        NodeConfig {
            spec,
            genesis,
            data_dir: None,
            db_cache_mib: chunkseq_node::DEFAULT_DB_CACHE_MIB,
            key: Some(keys[0].clone()),
            p2p_secret: None,
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            bootnodes: Vec::new(),
            rpc: SocketAddr::from(([127, 0, 0, 1], 0)),
            rpc_limits,
            metrics: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            core: CoreConfig::default(),
            faults: NodeFaults::default(),
            protection_db: None,
            ha_node_name: None,
        },
        Arc::new(l1.subscribe()),
    )
    .await
    .unwrap();
    (node, keys, chain_id)
}

/// Sends raw bytes as an HTTP POST and returns the whole response.
async fn raw_post(addr: SocketAddr, body: &[u8]) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    // A server may refuse before reading the whole body.
    let _ = s.write_all(body).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

async fn get(addr: SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    s.write_all(
        format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .unwrap();
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_and_oversized_rpc_requests_get_errors_and_the_node_keeps_serving() {
    let (node, keys, chain_id) = one_node().await;
    let addr = node.rpc_addr();
    let r = raw_post(addr, b"{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":").await;
    assert!(r.contains("-32700"), "parse error: {r}");
    let big = format!(
        "{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"chunkseq_sendRawTransaction\",\"params\":[\"0x{}\"]}}",
        "ab".repeat(600 * 1024)
    );
    let r = raw_post(addr, big.as_bytes()).await;
    assert!(
        r.starts_with("HTTP/1.1 413"),
        "oversized: {}",
        r.lines().next().unwrap_or("")
    );

    let c = HttpClientBuilder::default()
        .build(format!("http://{addr}"))
        .unwrap();
    let cases: Vec<(&str, Vec<serde_json::Value>)> = vec![
        (
            "chunkseq_sendRawTransaction",
            vec![serde_json::json!("0xzz")],
        ),
        (
            "chunkseq_sendRawTransaction",
            vec![serde_json::json!("0x02f8")],
        ),
        ("chunkseq_sendRawTransaction", vec![]),
        ("chunkseq_getBlock", vec![serde_json::json!("tip")]),
        ("chunkseq_getBalance", vec![serde_json::json!("0x1234")]),
        ("chunkseq_getTransactionStatus", vec![serde_json::json!(12)]),
        ("chunkseq_noSuchMethod", vec![]),
    ];
    for (method, params) in cases {
        let mut p = jsonrpsee::core::params::ArrayParams::new();
        for v in params.clone() {
            p.insert(v).unwrap();
        }
        let r: Result<serde_json::Value, _> = c.request(method, p).await;
        assert!(r.is_err(), "{method} {params:?} should fail, got {r:?}");
    }
    // A transaction with the wrong chain id is refused with a reason.
    let wrong = signed_transfer(
        &keys[1],
        chain_id + 1,
        0,
        keys[2].address(),
        U256::from(1u64),
    );
    let err = c
        .request::<serde_json::Value, _>("eth_sendRawTransaction", rpc_params![wrong])
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("chain"), "{err}");

    // Still serving: a good transaction goes in, status and metrics answer.
    let good = signed_transfer(&keys[1], chain_id, 0, keys[2].address(), U256::from(1u64));
    let hash: alloy_primitives::B256 = c
        .request("chunkseq_sendRawTransaction", rpc_params![good])
        .await
        .unwrap();
    let st: serde_json::Value = c
        .request("chunkseq_getTransactionStatus", rpc_params![hash])
        .await
        .unwrap();
    assert!(st["status"].is_string(), "{st}");
    let status: chunkseq_node::rpc::NodeStatus =
        c.request("chunkseq_status", rpc_params![]).await.unwrap();
    assert_eq!(status.validator, Some(keys[0].address()));
    let nonce: u64 = c
        .request(
            "chunkseq_getNonce",
            rpc_params![keys[1].address(), "checkpointed"],
        )
        .await
        .unwrap();
    assert_eq!(nonce, 0);
    let metrics = get(node.metrics_addr().unwrap(), "/metrics").await;
    assert!(metrics.contains("chunkseq_rpc_requests_total"), "{metrics}");
    let health = get(addr, "/health").await;
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_and_oversized_gossip_is_rejected_and_its_sender_scored_down() {
    let (node, _, chain_id) = one_node().await;
    let (events, mut rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move { while rx.recv().await.is_some() {} });
    let attacker = network::start(
        NetworkConfig {
            keypair: libp2p::identity::Keypair::generate_ed25519(),
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            bootnodes: node.listen_addrs(),
            chain_id,
        },
        events,
    )
    .await
    .unwrap();
    // Wait for the connection and the meshes.
    for _ in 0..50 {
        if node.network().status.peers() > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(node.network().status.peers(), 1);
    tokio::time::sleep(Duration::from_secs(2)).await;
    for i in 0..5u8 {
        attacker.send(NetCommand::PublishRaw {
            kind: "proposal",
            data: vec![i; 200],
        });
        attacker.send(NetCommand::PublishRaw {
            kind: "attestation",
            data: vec![i; 5_000],
        });
    }
    let mut score = 0.0;
    for _ in 0..40 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        score = node
            .network()
            .status
            .scores()
            .into_iter()
            .find(|(p, _)| *p == attacker.peer_id)
            .map_or(0.0, |(_, s)| s);
        if score < -100.0 {
            break;
        }
    }
    assert!(score < -100.0, "the attacker's score is {score}");
    // The node is unaffected.
    let c = HttpClientBuilder::default()
        .build(format!("http://{}", node.rpc_addr()))
        .unwrap();
    let _: chunkseq_node::rpc::NodeStatus =
        c.request("chunkseq_status", rpc_params![]).await.unwrap();
    node.stop().await;
}

/// Opens an HTTP/1.1 keep-alive connection from `from` and makes one call
/// on it; returns the connection (still open) and the response.
async fn call_from(
    from: std::net::IpAddr,
    addr: SocketAddr,
    method: &str,
) -> (tokio::net::TcpStream, String) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let mut s = socket.connect(addr).await.unwrap();
    let body = format!("{{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"{method}\",\"params\":[]}}");
    let head = format!(
        "POST / HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let _ = s.write_all(head.as_bytes()).await;
    let mut buf = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf))
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(0);
    (s, String::from_utf8_lossy(&buf[..n]).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_client_holding_all_its_connections_cannot_stop_another_clients_requests() {
    let limits = RpcLimits {
        max_connections_per_client: 4,
        requests_per_second: 20,
        ..RpcLimits::default()
    };
    let (node, _keys, _) = one_node_with(limits).await;
    let addr = node.rpc_addr();
    let (greedy, other): (std::net::IpAddr, std::net::IpAddr) =
        ([127, 0, 0, 1].into(), [127, 0, 0, 2].into());
    // The greedy client holds its four connections open.
    let mut held = Vec::new();
    for _ in 0..4 {
        let (s, r) = call_from(greedy, addr, "eth_chainId").await;
        assert!(r.starts_with("HTTP/1.1 200"), "{r}");
        held.push(s);
    }
    // Its fifth is refused, in plain words and a JSON-RPC error.
    let (_, r) = call_from(greedy, addr, "eth_chainId").await;
    assert!(r.starts_with("HTTP/1.1 429"), "{r}");
    assert!(
        r.contains("-32005") && r.contains("at most 4 per client"),
        "{r}"
    );
    // Another client is served.
    let (_, r) = call_from(other, addr, "eth_chainId").await;
    assert!(
        r.starts_with("HTTP/1.1 200") && r.contains("\"result\""),
        "{r}"
    );
    // Calls beyond a client's rate get -32005 with a plain message.
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = HttpClientBuilder::default()
        .build(format!("http://{addr}"))
        .unwrap();
    let mut limited = Vec::new();
    for _ in 0..40 {
        if let Err(e) = client
            .request::<String, _>("eth_chainId", rpc_params![])
            .await
        {
            limited.push(e.to_string());
        }
    }
    assert!(
        !limited.is_empty(),
        "40 calls at once pass a rate of 20 a second"
    );
    assert!(
        limited
            .iter()
            .all(|e| e.contains("-32005") || e.contains("too many requests")),
        "{limited:?}"
    );
    // The other client's rate is its own.
    let (_, r) = call_from(other, addr, "eth_chainId").await;
    assert!(r.contains("\"result\""), "{r}");
    // A subscription over plain HTTP says what it needs.
    let (_, r) = call_from(other, addr, "chunkseq_subscribe").await;
    assert!(
        r.contains("-32004") && r.contains("needs a websocket connection"),
        "{r}"
    );
    node.stop().await;
}

/// A transfer from `key` with explicit fees.
fn transfer_with_fees(
    key: &PrivateKey,
    chain_id: u64,
    nonce: u64,
    to: alloy_primitives::Address,
    value: U256,
    max_fee: u128,
    tip: u128,
) -> alloy_primitives::Bytes {
    use alloy_eips::eip2718::Encodable2718;
    let tx = alloy_consensus::TxEip1559 {
        chain_id,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: tip,
        to: alloy_primitives::TxKind::Call(to),
        value,
        ..Default::default()
    };
    chunkseq_execution::pool::sign_transaction(key, tx)
        .encoded_2718()
        .into()
}

/// Sends `raw` and waits until a block holds it; returns that block's record.
async fn send_and_wait(
    c: &jsonrpsee_http_client::HttpClient,
    raw: alloy_primitives::Bytes,
) -> serde_json::Value {
    let hash: alloy_primitives::B256 = c
        .request("eth_sendRawTransaction", rpc_params![raw])
        .await
        .unwrap();
    let mut st = serde_json::Value::Null;
    for _ in 0..600 {
        st = c
            .request("chunkseq_getTransactionStatus", rpc_params![hash])
            .await
            .unwrap();
        if let Some(n) = st["blockNumber"].as_u64() {
            return c
                .request("chunkseq_getBlock", rpc_params![n])
                .await
                .unwrap();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let status: serde_json::Value = c.request("chunkseq_status", rpc_params![]).await.unwrap();
    panic!("transaction {hash} was not included within 60 s: {st}; node {status}");
}

/// Params given as raw JSON, as a client that gets them wrong sends them.
struct RawParams(Option<Box<serde_json::value::RawValue>>);

impl jsonrpsee::core::traits::ToRpcParams for RawParams {
    fn to_rpc_params(self) -> Result<Option<Box<serde_json::value::RawValue>>, serde_json::Error> {
        Ok(self.0)
    }
}

async fn balance(c: &jsonrpsee_http_client::HttpClient, who: alloy_primitives::Address) -> U256 {
    c.request("eth_getBalance", rpc_params![who, "latest"])
        .await
        .unwrap()
}

/// The error object of a refused call.
fn refusal(e: jsonrpsee::core::client::Error) -> (i32, serde_json::Value) {
    match e {
        jsonrpsee::core::client::Error::Call(obj) => (
            obj.code(),
            obj.data()
                .map(|d| serde_json::from_str(d.get()).unwrap())
                .unwrap_or_default(),
        ),
        other => panic!("expected a JSON-RPC error, got {other}"),
    }
}

fn hex_u256(v: &serde_json::Value) -> U256 {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn who_cannot_pay_is_refused_with_the_amounts_and_the_proposer_earns_what_a_sender_pays() {
    let (node, keys, chain_id) = one_node().await;
    let c = HttpClientBuilder::default()
        .build(format!("http://{}", node.rpc_addr()))
        .unwrap();
    let (proposer, rich) = (keys[0].address(), &keys[1]);
    let poor = dev_keys("an unfunded key", 1).remove(0);
    let gwei = 1_000_000_000u128;
    let min_base_fee = Preset::Devnet.spec().fees.min_base_fee;

    // A zero-fee transaction from an unfunded key: refused, with the base fee.
    let zero = transfer_with_fees(&poor, chain_id, 0, rich.address(), U256::ZERO, 0, 0);
    let (code, data) = refusal(
        c.request::<serde_json::Value, _>("eth_sendRawTransaction", rpc_params![zero])
            .await
            .unwrap_err(),
    );
    assert_eq!(code, -32003, "{data}");
    assert_eq!(data["reason"], "fee_cap_below_base_fee", "{data}");
    assert_eq!(
        hex_u256(&data["baseFee"]),
        U256::from(min_base_fee),
        "{data}"
    );

    // Funds for gas at the fee cap, not for the data fee: refused, with both.
    let gas_cost = U256::from(21_000 * 2 * gwei);
    send_and_wait(
        &c,
        transfer_with_fees(rich, chain_id, 0, poor.address(), gas_cost, 2 * gwei, gwei),
    )
    .await;
    let tx = transfer_with_fees(
        &poor,
        chain_id,
        0,
        rich.address(),
        U256::ZERO,
        2 * gwei,
        gwei,
    );
    let quote: serde_json::Value = c
        .request("chunkseq_dataFee", rpc_params![tx.clone()])
        .await
        .unwrap();
    let data_fee = hex_u256(&quote["dataFee"]);
    assert!(data_fee > U256::ZERO, "{quote}");
    let (code, data) = refusal(
        c.request::<serde_json::Value, _>("eth_sendRawTransaction", rpc_params![tx.clone()])
            .await
            .unwrap_err(),
    );
    assert_eq!(code, -32003, "{data}");
    assert_eq!(data["reason"], "insufficient_funds", "{data}");
    assert_eq!(hex_u256(&data["cost"]), gas_cost, "{data}");
    assert_eq!(hex_u256(&data["dataFee"]), data_fee, "{data}");
    assert_eq!(hex_u256(&data["required"]), gas_cost + data_fee, "{data}");

    // With the data fee on top it is included; the proposer earns the tip
    // and the data fee, the base fee is burned.
    send_and_wait(
        &c,
        transfer_with_fees(rich, chain_id, 1, poor.address(), data_fee, 2 * gwei, gwei),
    )
    .await;
    let (proposer_before, sender_before) = (
        balance(&c, proposer).await,
        balance(&c, poor.address()).await,
    );
    let block = send_and_wait(&c, tx).await;
    let base_fee = U256::from(block["baseFee"].as_u64().unwrap());
    assert!(base_fee >= U256::from(min_base_fee), "{block}");
    let tip = U256::from(gwei);
    let gas = U256::from(21_000u64);
    assert_eq!(
        balance(&c, proposer).await - proposer_before,
        gas * tip + data_fee,
        "the proposer earns the tip and the data fee"
    );
    assert_eq!(
        sender_before - balance(&c, poor.address()).await,
        gas * (base_fee + tip) + data_fee,
        "the sender pays base fee, tip and data fee"
    );

    // The fee methods report the model.
    let price: String = c.request("eth_gasPrice", rpc_params![]).await.unwrap();
    let tip_now: String = c
        .request("eth_maxPriorityFeePerGas", rpc_params![])
        .await
        .unwrap();
    let (price, tip_now): (U256, U256) = (price.parse().unwrap(), tip_now.parse().unwrap());
    assert_eq!(tip_now, tip, "the recent blocks' median tip");
    assert!(price >= tip + U256::from(min_base_fee), "{price}");
    let history: serde_json::Value = c
        .request("eth_feeHistory", rpc_params!["0x4", "latest", [10.0, 50.0]])
        .await
        .unwrap();
    assert_eq!(
        history["baseFeePerGas"].as_array().unwrap().len(),
        5,
        "{history}"
    );
    assert_eq!(
        history["gasUsedRatio"].as_array().unwrap().len(),
        4,
        "{history}"
    );
    assert_eq!(history["reward"].as_array().unwrap().len(), 4, "{history}");
    let e = c
        .request::<serde_json::Value, _>("eth_feeHistory", rpc_params!["0x0", "latest"])
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains("block count must be 1 to 1024"), "{e}");
    node.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standard_methods_answer_in_ethereums_shapes_for_the_developer_accounts() {
    let (node, _keys, chain_id) = one_node().await;
    let c = HttpClientBuilder::default()
        .build(format!("http://{}", node.rpc_addr()))
        .unwrap();
    let dev = chunkseq_execution::mnemonic_keys(chunkseq_execution::TEST_MNEMONIC, 2).unwrap();
    let ether = U256::from(10u64).pow(U256::from(18u64));
    // anvil's account 0 holds 10,000 ether, as tools expect.
    assert_eq!(
        balance(&c, dev[0].address()).await,
        U256::from(10_000u64) * ether
    );

    let version: String = c
        .request("web3_clientVersion", rpc_params![])
        .await
        .unwrap();
    assert!(version.starts_with("chunkseq/v"), "{version}");
    let net: String = c.request("net_version", rpc_params![]).await.unwrap();
    assert_eq!(net, chain_id.to_string());
    let accounts: Vec<String> = c.request("eth_accounts", rpc_params![]).await.unwrap();
    assert!(accounts.is_empty());
    let syncing: serde_json::Value = c.request("eth_syncing", rpc_params![]).await.unwrap();
    assert!(syncing == serde_json::Value::Bool(false) || syncing["currentBlock"].is_string());

    // Quantities are hex strings; the nonce of `pending` counts the pool.
    let count = |tag: &'static str| {
        let c = c.clone();
        let who = dev[0].address();
        async move {
            let n: String = c
                .request("eth_getTransactionCount", rpc_params![who, tag])
                .await
                .unwrap();
            u64::from_str_radix(n.trim_start_matches("0x"), 16).unwrap()
        }
    };
    assert_eq!((count("latest").await, count("pending").await), (0, 0));
    let gwei = 1_000_000_000u128;
    let to = dev[1].address();
    let tx = |nonce| {
        transfer_with_fees(
            &dev[0],
            chain_id,
            nonce,
            to,
            U256::from(1u64),
            2 * gwei,
            gwei,
        )
    };
    let block_filter: String = c
        .request("eth_newBlockFilter", rpc_params![])
        .await
        .unwrap();
    let pending_filter: String = c
        .request("eth_newPendingTransactionFilter", rpc_params![])
        .await
        .unwrap();
    let block = send_and_wait(&c, tx(0)).await;
    assert_eq!(count("latest").await, 1, "included in block {block}");
    // Filters saw the block and the transaction entering the pool.
    let new_blocks: Vec<serde_json::Value> = c
        .request("eth_getFilterChanges", rpc_params![block_filter.clone()])
        .await
        .unwrap();
    assert!(
        new_blocks.contains(&block["hash"]),
        "{new_blocks:?} {block}"
    );
    let pooled: Vec<serde_json::Value> = c
        .request("eth_getFilterChanges", rpc_params![pending_filter.clone()])
        .await
        .unwrap();
    assert!(pooled.contains(&block["transactions"][0]), "{pooled:?}");
    let again: Vec<serde_json::Value> = c
        .request("eth_getFilterChanges", rpc_params![pending_filter])
        .await
        .unwrap();
    assert!(again.is_empty(), "a poll takes what it returns: {again:?}");
    let removed: bool = c
        .request("eth_uninstallFilter", rpc_params![block_filter.clone()])
        .await
        .unwrap();
    assert!(removed);
    let gone = c
        .request::<serde_json::Value, _>("eth_getFilterChanges", rpc_params![block_filter])
        .await
        .unwrap_err();
    assert_eq!(refusal(gone).0, -32602);

    // The transaction, its receipt and its block, as Ethereum shows them.
    let hash = block["transactions"][0].as_str().unwrap().to_owned();
    let number = block["number"].as_u64().unwrap();
    let q = |v: &serde_json::Value| {
        u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    };
    let t: serde_json::Value = c
        .request("eth_getTransactionByHash", rpc_params![hash.clone()])
        .await
        .unwrap();
    assert_eq!(t["hash"], hash.as_str(), "{t}");
    assert_eq!(t["from"], format!("{:#x}", dev[0].address()), "{t}");
    assert_eq!(t["to"], format!("{to:#x}"), "{t}");
    assert_eq!(q(&t["blockNumber"]), number, "{t}");
    assert_eq!(t["type"], "0x2", "{t}");
    let r: serde_json::Value = c
        .request("eth_getTransactionReceipt", rpc_params![hash.clone()])
        .await
        .unwrap();
    assert_eq!(r["status"], "0x1", "{r}");
    assert_eq!(q(&r["gasUsed"]), 21_000, "{r}");
    assert_eq!(q(&r["cumulativeGasUsed"]), 21_000, "{r}");
    assert_eq!(r["transactionIndex"], "0x0", "{r}");
    assert_eq!(r["contractAddress"], serde_json::Value::Null, "{r}");
    assert!(r["logsBloom"].as_str().unwrap().len() == 2 + 512, "{r}");
    assert!(
        ["provisional", "checkpointed", "finalized"].contains(&r["tier"].as_str().unwrap()),
        "{r}"
    );
    assert_eq!(r["attestations"], block["attestations"], "{r}");
    // The effective price is the base fee plus the tip, within the cap.
    let base = q(&c
        .request::<serde_json::Value, _>("eth_getBlockByNumber", rpc_params![number, false])
        .await
        .unwrap()["baseFeePerGas"]);
    assert_eq!(
        u128::from(q(&r["effectiveGasPrice"])),
        (u128::from(base) + gwei).min(2 * gwei)
    );
    for (method, param) in [
        (
            "eth_getBlockByNumber",
            serde_json::json!(format!("{number:#x}")),
        ),
        ("eth_getBlockByHash", block["hash"].clone()),
    ] {
        let b: serde_json::Value = c.request(method, rpc_params![param, true]).await.unwrap();
        assert_eq!(b["hash"], block["hash"], "{method}: {b}");
        assert_eq!(q(&b["number"]), number, "{method}: {b}");
        assert_eq!(b["parentHash"], block["parentHash"], "{method}: {b}");
        assert_eq!(b["transactions"][0]["hash"], hash.as_str(), "{method}: {b}");
        assert_eq!(
            q(&b["timestamp"]),
            block["timestamp"].as_u64().unwrap() / 1000
        );
    }
    let receipts: Vec<serde_json::Value> = c
        .request("eth_getBlockReceipts", rpc_params![block["hash"].clone()])
        .await
        .unwrap();
    assert_eq!(
        receipts.len(),
        block["transactions"].as_array().unwrap().len()
    );
    assert_eq!(receipts[0]["transactionHash"], hash.as_str());
    // Unknown hashes and heights are null, not errors.
    let none: serde_json::Value = c
        .request(
            "eth_getTransactionReceipt",
            rpc_params![alloy_primitives::B256::repeat_byte(9)],
        )
        .await
        .unwrap();
    assert!(none.is_null());
    let none: serde_json::Value = c
        .request("eth_getBlockByNumber", rpc_params!["0xffffff", false])
        .await
        .unwrap();
    assert!(none.is_null());
    let bad = c
        .request::<serde_json::Value, _>("eth_getBlockByNumber", rpc_params!["latest", "yes"])
        .await
        .unwrap_err();
    assert_eq!(refusal(bad).0, -32602);
    let height: String = c.request("eth_blockNumber", rpc_params![]).await.unwrap();
    assert!(
        u64::from_str_radix(height.trim_start_matches("0x"), 16).unwrap()
            >= block["number"].as_u64().unwrap()
    );
    // A transaction behind a nonce gap does not move `pending`; the next
    // nonce does.
    let _: alloy_primitives::B256 = c
        .request("eth_sendRawTransaction", rpc_params![tx(3)])
        .await
        .unwrap();
    assert_eq!(count("pending").await, 1);
    let _: alloy_primitives::B256 = c
        .request("eth_sendRawTransaction", rpc_params![tx(1)])
        .await
        .unwrap();
    // Pooled or already in a block: either way 2 is next (3 waits for it).
    assert_eq!(count("pending").await, 2);
    let bad = c
        .request::<String, _>("eth_getTransactionCount", rpc_params![to, "tomorrow"])
        .await
        .unwrap_err();
    assert_eq!(refusal(bad).0, -32602);

    // Calls: code put in place by a state override runs; a revert answers
    // code 3 with its data; a transfer is estimated at 21,000 gas.
    let answer = alloy_primitives::Address::repeat_byte(0x42);
    let returns_42 = "0x602a60005260206000f3";
    let out: String = c
        .request(
            "eth_call",
            rpc_params![
                serde_json::json!({"to": answer}),
                "latest",
                serde_json::json!({ format!("{answer:#x}"): {"code": returns_42} })
            ],
        )
        .await
        .unwrap();
    assert_eq!(out, format!("0x{:064x}", 42));
    let reverts = "0x60aa60005260206000fd";
    let reverted = c
        .request::<String, _>(
            "eth_call",
            rpc_params![
                serde_json::json!({"to": answer}),
                "latest",
                serde_json::json!({ format!("{answer:#x}"): {"code": reverts} })
            ],
        )
        .await
        .unwrap_err();
    let jsonrpsee::core::client::Error::Call(obj) = reverted else {
        panic!("{reverted:?}")
    };
    assert_eq!(obj.code(), 3);
    assert_eq!(obj.data().unwrap().get(), format!("\"0x{:064x}\"", 0xaa));
    let gas: String = c
        .request(
            "eth_estimateGas",
            rpc_params![serde_json::json!({"from": dev[0].address(), "to": to, "value": "0x1"})],
        )
        .await
        .unwrap();
    assert_eq!(gas, "0x5208");
    let too_much = c
        .request::<String, _>(
            "eth_call",
            rpc_params![serde_json::json!({"to": answer, "gas": "0xffffffff"})],
        )
        .await
        .unwrap_err();
    assert!(too_much.to_string().contains("above the cap"), "{too_much}");
    // As wallets estimate: with a fee cap and the pending nonce, from an
    // account holding little (0.001 ether), and from a contract.
    let fresh = alloy_primitives::Address::repeat_byte(0x77);
    let little = serde_json::json!({ format!("{fresh:#x}"): {"balance": "0x38d7ea4c68000"} });
    let gas: String = c
        .request(
            "eth_estimateGas",
            rpc_params![
                serde_json::json!({"from": fresh, "to": to, "value": "0x1",
                    "maxFeePerGas": "0x3b9aca00", "maxPriorityFeePerGas": "0x1", "nonce": "0x5"}),
                "pending",
                little
            ],
        )
        .await
        .unwrap();
    assert_eq!(gas, "0x5208");
    let from_contract: String = c
        .request(
            "eth_call",
            rpc_params![
                serde_json::json!({"from": answer, "to": answer}),
                "latest",
                serde_json::json!({ format!("{answer:#x}"): {"code": returns_42} })
            ],
        )
        .await
        .unwrap();
    assert_eq!(from_contract, format!("0x{:064x}", 42));
    let bad_code = c
        .request::<String, _>(
            "eth_call",
            rpc_params![
                serde_json::json!({"to": answer}),
                "latest",
                serde_json::json!({ format!("{answer:#x}"): {"code": "0xef01"} })
            ],
        )
        .await
        .unwrap_err();
    assert!(bad_code.to_string().contains("0xef"), "{bad_code}");
    // Bad input: clear -32602 errors, and the node keeps serving.
    for (method, params) in [
        ("eth_call", serde_json::json!(["not an object"])),
        ("eth_call", serde_json::json!([{"to": answer}, "tomorrow"])),
        ("eth_estimateGas", serde_json::json!([])),
        (
            "eth_getLogs",
            serde_json::json!([{"fromBlock": "0x10", "toBlock": "0x1"}]),
        ),
        ("eth_getLogs", serde_json::json!([{"address": "0x12"}])),
        ("eth_getBlockByHash", serde_json::json!(["0x1234", false])),
        ("eth_getTransactionReceipt", serde_json::json!([42])),
        (
            "eth_newFilter",
            serde_json::json!([{"blockHash": format!("{:#x}", alloy_primitives::B256::ZERO)}]),
        ),
        (
            "eth_getStorageAt",
            serde_json::json!([answer, "not a slot", "latest"]),
        ),
        (
            "eth_sendRawTransactionSync",
            serde_json::json!(["0x02", 1000]),
        ),
    ] {
        let raw = serde_json::value::to_raw_value(&params).unwrap();
        let e = c
            .request::<serde_json::Value, _>(method, RawParams(Some(raw)))
            .await
            .unwrap_err();
        assert_eq!(refusal(e).0, -32602, "{method} {params}");
    }
    // A log range past every block is clamped, not an overflow.
    let logs: Vec<serde_json::Value> = c
        .request(
            "eth_getLogs",
            rpc_params![serde_json::json!({"fromBlock": "0x0", "toBlock": "0xffffffffffffffff"})],
        )
        .await
        .unwrap();
    assert!(logs.is_empty(), "transfers log nothing: {logs:?}");

    // A preconfirmation: the receipt as soon as the block is provisional.
    let receipt: serde_json::Value = c
        .request("eth_sendRawTransactionSync", rpc_params![tx(2), 30_000])
        .await
        .unwrap();
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    assert_eq!(receipt["tier"], "provisional", "{receipt}");
    assert_eq!(receipt["from"], format!("{:#x}", dev[0].address()));
    // Behind a nonce gap it waits in the pool: code 4 with its hash.
    let gapped = tx(10);
    let late = c
        .request::<serde_json::Value, _>(
            "eth_sendRawTransactionSync",
            rpc_params![gapped.clone(), "0x12c"],
        )
        .await
        .unwrap_err();
    let (code, data) = refusal(late);
    assert_eq!(code, 4);
    assert_eq!(
        data,
        serde_json::json!(alloy_primitives::keccak256(&gapped))
    );
    let bad = c
        .request::<serde_json::Value, _>("eth_sendRawTransactionSync", rpc_params![tx(11), 0])
        .await
        .unwrap_err();
    assert_eq!(refusal(bad).0, -32602);
}
