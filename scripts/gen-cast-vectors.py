#!/usr/bin/env python3
"""Regenerates crates/primitives/tests/fixtures/cast-vectors.json with foundry's
`cast`, an implementation independent of ours (k256 and alloy-dyn-abi where we
use libsecp256k1 and sol!-generated code).

For every struct of contracts/src/ChunkseqTypes.sol it records the ABI encoding
produced by `cast abi-encode` and its keccak256. For every signed statement it
records the EIP-712 type hash, domain separator, struct hash and digest,
assembled step by step from `cast keccak` and `cast abi-encode` as EIP-712
defines them, and the signature `cast wallet sign --data` makes over the typed
data JSON. The Rust test `cast_vectors.rs` recomputes all of it with our code.

It also writes bin/chunkseq/tests/fixtures/cast-keystore.json, a V3 keystore
made by `cast wallet import`, which `chunkseq keys` must read.

Usage: scripts/gen-cast-vectors.py [--cast PATH] [--check]
Without --cast, installs @foundry-rs/cast-linux-amd64 from npm into .tools/.
With --check, writes nothing and fails when the committed vectors differ from
what cast produces now (the keystore, which has a random salt, is skipped).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TYPES_SOL = os.path.join(ROOT, "contracts", "src", "ChunkseqTypes.sol")
OUT = os.path.join(ROOT, "crates", "primitives", "tests", "fixtures", "cast-vectors.json")
KEYSTORE_OUT = os.path.join(ROOT, "bin", "chunkseq", "tests", "fixtures", "cast-keystore.json")
# Password of the committed cast-made keystore (it holds KEYS[1], a public test key).
KEYSTORE_PASSWORD = "chunkseq-test"
CAST_PACKAGE = "@foundry-rs/cast-linux-amd64@1.7.1"

# Public test keys (the first two accounts of the well-known local-L1 test
# mnemonic). They guard nothing; they only make the vectors reproducible.
KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
]
DOMAINS = [
    {"name": "chunkseq", "version": "1", "chainId": 31337,
     "verifyingContract": "0x5FbDB2315678afecb367f032d93F642f64180aa3"},
    {"name": "chunkseq", "version": "1", "chainId": 1,
     "verifyingContract": "0x00000000000000000000000000000000C0ffee00"},
]
SIGNED = ["BlockProposal", "Attestation", "ProvisionalBlock", "Checkpoint"]


def install_cast():
    tools = os.path.join(ROOT, ".tools")
    path = os.path.join(tools, "node_modules", "@foundry-rs", "cast-linux-amd64", "bin", "cast")
    if not os.path.exists(path):
        os.makedirs(tools, exist_ok=True)
        print(f"installing {CAST_PACKAGE} into {tools}", file=sys.stderr)
        subprocess.run(["npm", "install", "--no-save", "--prefix", tools, CAST_PACKAGE], check=True,
                       stdout=subprocess.DEVNULL)
    return path


def parse_structs(path):
    """struct name -> [(field, type)] in declaration order."""
    text = re.sub(r"//[^\n]*", "", open(path).read())
    structs = {}
    for name, body in re.findall(r"struct\s+(\w+)\s*\{([^}]*)\}", text):
        fields = []
        for decl in body.split(";"):
            decl = decl.strip()
            if decl:
                ty, field = decl.split()
                fields.append((field, ty))
        structs[name] = fields
    return structs


def sample(structs, name, seed):
    """Deterministic, distinct values for every field of `name`."""
    out = {}
    for i, (field, ty) in enumerate(structs[name]):
        n = seed * 100 + i + 1
        if ty in structs:
            out[field] = sample(structs, ty, n)
        elif ty.startswith("uint"):
            # Spread over the whole width so high bits are exercised too.
            bits = int(ty[4:])
            out[field] = (n * 0x9E3779B97F4A7C15F39CC0605CEDC834) % (1 << bits)
        elif ty == "bool":
            out[field] = n % 2 == 1
        elif ty == "bytes32":
            out[field] = "0x" + (f"{n:02x}" * 32)[-64:]
        elif ty == "address":
            out[field] = "0x" + (f"{n:04x}" * 10)[-40:]
        elif ty == "bytes":
            # Signatures are 65 bytes; attestations are whole signatures.
            length = 65 if "ignature" in field else 65 * (n % 3 + 1) if field == "attestations" else (n % 7) * 13 + 1
            out[field] = "0x" + bytes((n + k) % 256 for k in range(length)).hex()
        elif ty == "bytes[]":
            out[field] = ["0x" + bytes((n * (j + 3) + k) % 256 for k in range(j * 37 + 5)).hex()
                          for j in range(n % 3 + 1)]
        else:
            raise SystemExit(f"unsupported type {ty} in {name}.{field}")
    if name.endswith("Equivocation") and out["first"]["blockHash"] >= out["second"]["blockHash"]:
        # Evidence is canonical: the lower block hash comes first.
        out["first"], out["second"] = out["second"], out["first"]
        out["firstSignature"], out["secondSignature"] = out["secondSignature"], out["firstSignature"]
    return out


def abi_type(structs, ty):
    if ty in structs:
        return "(" + ",".join(abi_type(structs, t) for _, t in structs[ty]) + ")"
    return ty


def literal(structs, ty, value):
    if ty in structs:
        return "(" + ",".join(literal(structs, t, value[f]) for f, t in structs[ty]) + ")"
    if isinstance(value, list):
        return "[" + ",".join(value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Cast:
    def __init__(self, path):
        self.path = path
        self.version = self.run("--version").splitlines()[0]

    def run(self, *args):
        return subprocess.run([self.path, *args], check=True, capture_output=True, text=True).stdout.strip()

    def keccak(self, data):
        return self.run("keccak", data)

    def abi_encode(self, types, *values):
        return self.run("abi-encode", f"f({','.join(types)})", *values)


def type_string(structs, name):
    # The signed statements are flat, so encodeType is just the struct itself.
    return f"{name}(" + ",".join(f"{t} {f}" for f, t in structs[name]) + ")"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cast", help="path to a cast binary (default: install from npm)")
    ap.add_argument("--check", action="store_true", help="compare with the committed vectors, write nothing")
    args = ap.parse_args()
    cast = Cast(args.cast or install_cast())
    structs = parse_structs(TYPES_SOL)

    encodings = []
    for seed, name in enumerate(sorted(structs), start=1):
        values = sample(structs, name, seed)
        encoded = cast.abi_encode([abi_type(structs, name)], literal(structs, name, values))
        encodings.append({"type": name, "values": values, "abi": encoded, "keccak": cast.keccak(encoded)})

    domain_type = "EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"
    signatures = []
    for d_i, domain in enumerate(DOMAINS):
        separator = cast.keccak(cast.abi_encode(
            ["bytes32", "bytes32", "bytes32", "uint256", "address"],
            cast.keccak(domain_type), cast.keccak(domain["name"]), cast.keccak(domain["version"]),
            str(domain["chainId"]), domain["verifyingContract"]))
        for k_i, key in enumerate(KEYS):
            for s_i, name in enumerate(SIGNED):
                message = sample(structs, name, 10 + 4 * d_i + 2 * k_i + s_i)
                ts = type_string(structs, name)
                type_hash = cast.keccak(ts)
                struct_hash = cast.keccak(cast.abi_encode(
                    ["bytes32"] + [t for _, t in structs[name]],
                    type_hash, *[literal(structs, t, message[f]) for f, t in structs[name]]))
                digest = cast.keccak("0x1901" + separator[2:] + struct_hash[2:])
                typed = {
                    "types": {
                        "EIP712Domain": [{"name": "name", "type": "string"}, {"name": "version", "type": "string"},
                                         {"name": "chainId", "type": "uint256"},
                                         {"name": "verifyingContract", "type": "address"}],
                        name: [{"name": f, "type": t} for f, t in structs[name]],
                    },
                    "primaryType": name,
                    "domain": domain,
                    "message": {f: str(v) if isinstance(v, int) else v for f, v in message.items()},
                }
                with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
                    json.dump(typed, f)
                try:
                    sig = cast.run("wallet", "sign", "--data", "--from-file", f.name, "--private-key", key)
                finally:
                    os.unlink(f.name)
                signatures.append({
                    "type": name, "private_key": key, "address": cast.run("wallet", "address", "--private-key", key),
                    "domain": domain, "message": message, "type_string": ts, "type_hash": type_hash,
                    "domain_separator": separator, "struct_hash": struct_hash, "digest": digest, "signature": sig,
                })

    doc = {
        "generator": f"scripts/gen-cast-vectors.py with {cast.version}",
        "encodings": encodings,
        "signatures": signatures,
    }
    text = json.dumps(doc, indent=1) + "\n"
    if args.check:
        with open(OUT) as f:
            if f.read() != text:
                raise SystemExit(f"{os.path.relpath(OUT, ROOT)} differs from what {cast.version} produces: "
                                 "run scripts/gen-cast-vectors.py and review the change")
        print(f"{len(encodings)} encodings and {len(signatures)} signatures agree with {cast.version}",
              file=sys.stderr)
        return
    with open(OUT, "w") as f:
        f.write(text)
    with tempfile.TemporaryDirectory() as d:
        cast.run("wallet", "import", "cast-keystore", "--private-key", KEYS[1],
                 "--unsafe-password", KEYSTORE_PASSWORD, "--keystore-dir", d)
        os.makedirs(os.path.dirname(KEYSTORE_OUT), exist_ok=True)
        with open(os.path.join(d, "cast-keystore")) as src, open(KEYSTORE_OUT, "w") as dst:
            dst.write(src.read())
    print(f"wrote {len(encodings)} encodings and {len(signatures)} signatures to {os.path.relpath(OUT, ROOT)}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
