// The viem half of the client suite (run.sh starts the devnet and passes
// RPC_URL, KEY, TO, BYTECODE, ABI and TOOLS, the directory whose
// node_modules holds viem). Every step checks what it got.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.TOOLS, 'node_modules', 'viem-suite.cjs'));
const { createPublicClient, createWalletClient, defineChain, http, parseEther } = require('viem');
const { privateKeyToAccount } = require('viem/accounts');

const url = process.env.RPC_URL;
const abi = JSON.parse(process.env.ABI);

function check(name, ok, got) {
  if (!ok) {
    console.error(`FAIL viem ${name}: ${got}`);
    process.exit(1);
  }
  console.log(`ok  viem ${name}: ${got}`);
}

const id = await (await fetch(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
})).json();
const chain = defineChain({
  id: Number(id.result),
  name: 'chunkseq devnet',
  nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
  rpcUrls: { default: { http: [url] } },
});
const client = createPublicClient({ chain, transport: http(url), pollingInterval: 250 });
const account = privateKeyToAccount(process.env.KEY);
const wallet = createWalletClient({ account, chain, transport: http(url) });

const number = await client.getBlockNumber();
check('getBlockNumber', number > 0n, number);
const balance = await client.getBalance({ address: account.address });
check('getBalance', balance > parseEther('1'), balance);

const sent = await wallet.sendTransaction({ to: process.env.TO, value: parseEther('0.5') });
const receipt = await client.waitForTransactionReceipt({ hash: sent, timeout: 30_000 });
check('sendTransaction + waitForTransactionReceipt', receipt.status === 'success', `${receipt.status} in block ${receipt.blockNumber}`);

const deploy = await wallet.deployContract({ abi, bytecode: process.env.BYTECODE });
const deployed = await client.waitForTransactionReceipt({ hash: deploy, timeout: 30_000 });
const address = deployed.contractAddress;
check('deployContract', deployed.status === 'success' && address, address);
const before = await client.readContract({ address, abi, functionName: 'count' });
check('readContract', before === 0n, before);

const blocks = await new Promise((resolve, reject) => {
  const got = [];
  const timer = setTimeout(() => {
    unwatch();
    reject(new Error('watchBlocks: fewer than two blocks in 30 s'));
  }, 30_000);
  const unwatch = client.watchBlocks({
    onBlock: (b) => {
      got.push(b.number);
      if (got.length >= 2) {
        clearTimeout(timer);
        unwatch();
        resolve(got);
      }
    },
    onError: (e) => {
      clearTimeout(timer);
      unwatch();
      reject(e);
    },
  });
});
check('watchBlocks', blocks[1] > blocks[0], blocks.join(', '));

const bump = await wallet.writeContract({ address, abi, functionName: 'bump' });
await client.waitForTransactionReceipt({ hash: bump, timeout: 30_000 });
const after = await client.readContract({ address, abi, functionName: 'count' });
check('writeContract + readContract', after === 1n, after);
const logs = await client.getLogs({
  address,
  event: abi.find((e) => e.type === 'event' && e.name === 'Bumped'),
  fromBlock: deployed.blockNumber,
});
check(
  'getLogs',
  logs.length === 1 && logs[0].args.count === 1n && logs[0].args.by === account.address,
  `${logs.length} log(s), count ${logs[0]?.args.count}`,
);
