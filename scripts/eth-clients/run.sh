#!/usr/bin/env bash
# The Ethereum client suite: cast and viem against a devnet this script
# starts, every step checked. .ci/run runs it; by hand:
#
#   scripts/eth-clients/run.sh target/debug/chunkseq .tools
#
# where .tools holds node_modules with @foundry-rs/cast-linux-amd64, solc
# and viem (see .ci/run). ETH_CLIENTS_PORT picks the first RPC port
# (default 18545; the devnet's four nodes take it and the next three).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=$(realpath "$1")
tools=$(realpath "$2")
cast="$tools/node_modules/@foundry-rs/cast-linux-amd64/bin/cast"
port=${ETH_CLIENTS_PORT:-18545}
rpc="http://127.0.0.1:$port"
work=$(mktemp -d)
devnet_pid=

finish() {
  status=$?
  if [ -n "$devnet_pid" ]; then
    kill -INT "$devnet_pid" 2>/dev/null || true
    wait "$devnet_pid" 2>/dev/null || true
  fi
  if [ "$status" -ne 0 ]; then
    echo "--- devnet log (last 40 lines) ---" >&2
    tail -n 40 "$work/devnet.log" >&2 || true
  fi
  rm -rf "$work"
  exit "$status"
}
trap finish EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
check() { # check NAME GOT WANT
  if [ "$2" != "$3" ]; then fail "$1: got '$2', want '$3'"; fi
  echo "ok  $1: $2"
}

# anvil's first two developer accounts (the standard test mnemonic).
key0=0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80
addr0=0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266
addr1=0x70997970C51812dc3A010C7d01b50e0d17dc79C8

echo "compiling Counter.sol with solc"
node "$tools/node_modules/solc/solc.js" --bin --abi -o "$work" "$here/Counter.sol" >/dev/null
bytecode=0x$(cat "$work"/*Counter.bin)

echo "starting a devnet on $rpc"
"$bin" devnet --tps 2 --rpc-port "$port" >"$work/devnet.log" 2>&1 &
devnet_pid=$!
for _ in $(seq 1 180); do
  n=$("$cast" block-number --rpc-url "$rpc" 2>/dev/null || echo 0)
  if [ "$n" -gt 0 ]; then break; fi
  kill -0 "$devnet_pid" 2>/dev/null || fail "the devnet exited"
  sleep 1
done
[ "$n" -gt 0 ] || fail "no block within 180 s"
echo "ok  cast block-number: $n"

export ETH_RPC_URL="$rpc"
check "cast chain-id" "$("$cast" chain-id)" "$("$cast" rpc net_version | tr -d '"')"
check "cast balance (developer account 0)" "$("$cast" balance "$addr0" --ether)" "10000.000000000000000000"
nonce0=$("$cast" nonce "$addr0")
check "cast nonce" "$nonce0" "0"
gas_price=$("$cast" gas-price)
[ "$gas_price" -gt 0 ] || fail "cast gas-price: $gas_price"
echo "ok  cast gas-price: $gas_price"

# A value transfer, waited for.
receipt=$("$cast" send --private-key "$key0" "$addr1" --value 1ether --json)
check "cast send (transfer) status" "$(echo "$receipt" | jq -r .status)" "0x1"
tx=$(echo "$receipt" | jq -r .transactionHash)
fetched=$("$cast" receipt "$tx" --json)
check "cast receipt status" "$(echo "$fetched" | jq -r .status)" "0x1"
check "cast receipt gasUsed" "$(echo "$fetched" | jq -r .gasUsed)" "0x5208"
check "cast receipt tier" "$(echo "$fetched" | jq -r .tier)" "provisional"
check "cast tx from" "$("$cast" tx "$tx" from)" "$addr0"
check "cast nonce after the transfer" "$("$cast" nonce "$addr0")" "1"
check "cast balance of the receiver" "$("$cast" balance "$addr1" --ether)" "10001.000000000000000000"
block=$("$cast" block latest --json)
[ "$(echo "$block" | jq -r .hash)" != null ] || fail "cast block latest: $block"
echo "ok  cast block latest: $(echo "$block" | jq -r .number)"

# A contract: deployed, called, estimated, bumped, its event read back.
deployed=$("$cast" send --private-key "$key0" --create "$bytecode" --json)
check "cast send --create status" "$(echo "$deployed" | jq -r .status)" "0x1"
counter=$(echo "$deployed" | jq -r .contractAddress)
[ "$counter" != null ] || fail "no contract address: $deployed"
echo "ok  deployed Counter at $counter"
[ "$("$cast" code "$counter")" != 0x ] || fail "cast code: no code at $counter"
echo "ok  cast code"
check "cast call count()" "$("$cast" call "$counter" 'count()(uint256)')" "0"
estimate=$("$cast" estimate --from "$addr0" "$counter" 'bump()')
[ "$estimate" -gt 21000 ] && [ "$estimate" -lt 100000 ] || fail "cast estimate bump(): $estimate"
echo "ok  cast estimate bump(): $estimate"
bumped=$("$cast" send --private-key "$key0" "$counter" 'bump()' --json)
check "cast send bump() status" "$(echo "$bumped" | jq -r .status)" "0x1"
check "cast call count() after bump" "$("$cast" call "$counter" 'count()(uint256)')" "1"
check "cast storage slot 0" "$("$cast" storage "$counter" 0)" "0x0000000000000000000000000000000000000000000000000000000000000001"
logs=$("$cast" logs --address "$counter" --from-block 0 --to-block latest --json)
check "cast logs count" "$(echo "$logs" | jq length)" "1"
check "cast logs topic0" "$(echo "$logs" | jq -r '.[0].topics[0]')" "$("$cast" keccak 'Bumped(address,uint256)')"
check "cast logs transaction" "$(echo "$logs" | jq -r '.[0].transactionHash')" "$(echo "$bumped" | jq -r .transactionHash)"
# A reverting call comes back with its custom error.
if out=$("$cast" call "$counter" 'bumpBelow(uint256)' 1 2>&1); then
  fail "bumpBelow(1) should revert: $out"
fi
echo "$out" | grep -q "$("$cast" sig 'TooMany(uint256)')" || fail "revert data missing: $out"
echo "ok  cast call reverts with TooMany"

echo "viem"
abi=$(cat "$work"/*Counter.abi)
TOOLS="$tools" RPC_URL="$rpc" KEY="$key0" TO="$addr1" \
  BYTECODE="$bytecode" ABI="$abi" node "$here/viem.mjs"
echo "the client suite passed"
