#!/usr/bin/env node
// Compiles contracts/src/*.sol with the solc npm package (offline) into
// contracts/artifacts/<Name>.json: { abi, bytecode, deployedBytecode, compiler }.
// With --check, writes nothing and fails when a committed artifact differs.
//
// Usage: node scripts/compile-contracts.js [--solc PATH_TO_SOLC_PACKAGE] [--check]
'use strict';
const fs = require('fs');
const path = require('path');

const root = path.resolve(__dirname, '..');
const args = process.argv.slice(2);
const check = args.includes('--check');
const solcAt = args.includes('--solc') ? args[args.indexOf('--solc') + 1] : 'solc';
const solc = require(solcAt.startsWith('.') || solcAt.startsWith('/') ? path.resolve(solcAt) : solcAt);

const srcDir = path.join(root, 'contracts', 'src');
const outDir = path.join(root, 'contracts', 'artifacts');
const sources = {};
for (const f of fs.readdirSync(srcDir).filter((f) => f.endsWith('.sol')).sort()) {
  sources[f] = { content: fs.readFileSync(path.join(srcDir, f), 'utf8') };
}
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'cancun',
    viaIR: true,
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);

let stale = 0;
fs.mkdirSync(outDir, { recursive: true });
for (const [file, contracts] of Object.entries(output.contracts || {})) {
  for (const [name, c] of Object.entries(contracts)) {
    if (!c.evm.bytecode.object) continue; // structs-only files have no bytecode
    const artifact = {
      source: `contracts/src/${file}`,
      compiler: `solc ${solc.version()}`,
      abi: c.abi,
      bytecode: '0x' + c.evm.bytecode.object,
      deployedBytecode: '0x' + c.evm.deployedBytecode.object,
    };
    const text = JSON.stringify(artifact, null, 1) + '\n';
    const target = path.join(outDir, `${name}.json`);
    if (check) {
      const old = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
      if (old !== text) {
        console.error(`${path.relative(root, target)} does not match ${file}: run node scripts/compile-contracts.js`);
        stale++;
      }
    } else {
      fs.writeFileSync(target, text);
      console.error(`wrote ${path.relative(root, target)}`);
    }
  }
}
if (stale) process.exit(1);
if (check) console.error('contract artifacts match their sources');
