// Independent CAR reader for datasoil's tests: parse a CAR with @ipld/car (the JS
// IPLD team's implementation, shipped in js-ipfs's dependency tree), re-hash each
// block with multiformats' sha256, decode dag-pb blocks with @ipld/dag-pb, and print
// {"roots": [...], "blocks": [{"cid", "size", "hash_ok", "links"}]} as JSON.
import fs from 'node:fs'
import { CarReader } from '@ipld/car'
import * as dagPB from '@ipld/dag-pb'
import { sha256 } from 'multiformats/hashes/sha2'
import { base32 } from 'multiformats/bases/base32'

const bytes = fs.readFileSync(process.argv[2])
const reader = await CarReader.fromBytes(bytes)
const roots = (await reader.getRoots()).map((c) => c.toV1().toString(base32))
const blocks = []
for await (const { cid, bytes: data } of reader.blocks()) {
  const digest = await sha256.digest(data)
  const hashOk = Buffer.compare(Buffer.from(digest.bytes), Buffer.from(cid.multihash.bytes)) === 0
  let links = []
  if (cid.code === dagPB.code) {
    links = dagPB.decode(data).Links.map((l) => l.Hash.toV1().toString(base32))
  }
  blocks.push({ cid: cid.toV1().toString(base32), size: data.length, hash_ok: hashOk, links })
}
process.stdout.write(JSON.stringify({ roots, blocks }))
