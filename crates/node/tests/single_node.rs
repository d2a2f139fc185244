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
    let genesis = Genesis::devnet(DEVNET_PHRASE, 1, DEVNET_USERS);
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
            key: Some(keys[0].clone()),
            p2p_secret: None,
            listen: "/ip4/127.0.0.1/tcp/0".parse().unwrap(),
            bootnodes: Vec::new(),
            rpc: SocketAddr::from(([127, 0, 0, 1], 0)),
            rpc_limits,
            metrics: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            core: CoreConfig::default(),
            faults: NodeFaults::default(),
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
