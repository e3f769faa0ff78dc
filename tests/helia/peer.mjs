// A helia node for datasoil's tests, driven by JSON lines on stdin (one answer line each).
//
//   node peer.mjs peer            a libp2p peer: TCP on 127.0.0.1 only, noise, yamux,
//                                 identify, bitswap; no bootstrap, no discovery, no HTTP
//   node peer.mjs fetch GATEWAY   @helia/verified-fetch whose only block source is the
//                                 trustless gateway GATEWAY (no libp2p, no routers)
//
// Requests: {"op": "import", "car": PATH}          put every block of a CAR (peer)
//           {"op": "dial", "addr": MULTIADDR}        connect to another peer (peer)
//           {"op": "get", "cid": CID, "car": PATH}   fetch the DAG block by block over
//                                                    bitswap, write it as a CAR (peer)
//           {"op": "cat", "cid": CID, "path": P, "out": PATH}  @helia/unixfs cat (peer)
//           {"op": "fetch", "url": URL, "out": PATH, "accept": TYPE, "timeout": MS}
// Answers are {"ok": ...} or {"error": MESSAGE}.
import './node20.mjs'
import { createWriteStream } from 'node:fs'
import { open, writeFile } from 'node:fs/promises'
import { createInterface } from 'node:readline'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { withBitswap } from '@helia/bitswap'
import { fallbackRouter } from '@helia/fallback-router'
import { withHTTP } from '@helia/http'
import { withLibp2pLight } from '@helia/libp2p'
import { unixfs } from '@helia/unixfs'
import { createVerifiedFetch } from '@helia/verified-fetch'
import { CarBlockIterator, CarWriter } from '@ipld/car'
import * as dagPb from '@ipld/dag-pb'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createHeliaLight } from 'helia'
import { CID } from 'multiformats/cid'

const [role, gateway] = process.argv.slice(2)
const TIMEOUT = 20_000

async function startPeer () {
  const helia = withBitswap(withLibp2pLight(createHeliaLight(), {
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    services: { identify: identify() }
  }))
  await helia.start()
  return helia
}

async function startFetch () {
  const helia = withHTTP(createHeliaLight(), {
    delegatedRouters: [],
    recursiveGateways: [],
    allowInsecure: true,
    allowLocal: true
  })
  // The gateway as the one ordinary router (helia only asks fallback routers after the
  // others, and waits on an empty list of others).
  const only = fallbackRouter({ gateways: [gateway], shuffle: false })
  helia.addRouter({ name: 'datasoil-gateway', findProviders: (cid, opts) => only.findProviders(cid, opts) })
  await helia.start()
  return { helia, fetch: await createVerifiedFetch(helia) }
}

async function importCar (helia, path) {
  const fh = await open(path)
  const blocks = await CarBlockIterator.fromIterable(fh.createReadStream())
  let n = 0
  for await (const { cid, bytes } of blocks) {
    await helia.blockstore.put(cid, bytes)
    n++
  }
  await fh.close()
  return { roots: (await blocks.getRoots()).map(String), blocks: n }
}

// helia 7's blockstore.get answers a block as bytes or as a stream of chunks.
async function whole (got) {
  const value = await got
  if (value instanceof Uint8Array) return value
  const chunks = []
  for await (const chunk of value) chunks.push(chunk)
  return new Uint8Array(Buffer.concat(chunks))
}

async function getDag (helia, root, path) {
  const local = await helia.blockstore.has(root)
  const { writer, out } = CarWriter.create([root])
  const written = pipeline(Readable.from(out), createWriteStream(path))
  const stack = [root]
  const seen = new Set()
  let n = 0
  while (stack.length > 0) {
    const cid = stack.pop()
    if (seen.has(cid.toString())) continue
    seen.add(cid.toString())
    const bytes = await whole(helia.blockstore.get(cid, { signal: AbortSignal.timeout(TIMEOUT) }))
    await writer.put({ cid, bytes })
    n++
    if (cid.code === dagPb.code) {
      const links = dagPb.decode(bytes).Links.map(l => l.Hash)
      stack.push(...links.reverse())
    }
  }
  await writer.close()
  await written
  return { blocks: n, heldBefore: local }
}

async function cat (helia, cid, path, out) {
  const chunks = []
  for await (const chunk of unixfs(helia).cat(cid, { path, signal: AbortSignal.timeout(TIMEOUT) })) {
    chunks.push(chunk)
  }
  await writeFile(out, Buffer.concat(chunks))
  return { bytes: chunks.reduce((a, c) => a + c.length, 0) }
}

async function verifiedFetch (fetch, url, out, accept, timeout) {
  const headers = accept ? { accept } : {}
  const response = await fetch(url, { headers, signal: AbortSignal.timeout(timeout ?? TIMEOUT) })
  const body = Buffer.from(await response.arrayBuffer())
  if (response.status === 200) await writeFile(out, body)
  return { status: response.status, type: response.headers.get('content-type'), bytes: body.length }
}

const node = role === 'fetch' ? await startFetch() : { helia: await startPeer() }
const answer = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')
answer({
  ok: 'ready',
  peer: role === 'fetch' ? null : node.helia.libp2p.peerId.toString(),
  addrs: role === 'fetch' ? [] : node.helia.libp2p.getMultiaddrs().map(String)
})

for await (const line of createInterface({ input: process.stdin })) {
  if (!line.trim()) continue
  const req = JSON.parse(line)
  try {
    if (req.op === 'import') answer({ ok: await importCar(node.helia, req.car) })
    else if (req.op === 'dial') {
      await node.helia.libp2p.dial(multiaddr(req.addr), { signal: AbortSignal.timeout(TIMEOUT) })
      answer({ ok: 'connected' })
    } else if (req.op === 'get') answer({ ok: await getDag(node.helia, CID.parse(req.cid), req.car) })
    else if (req.op === 'cat') answer({ ok: await cat(node.helia, CID.parse(req.cid), req.path, req.out) })
    else if (req.op === 'fetch') answer({ ok: await verifiedFetch(node.fetch, req.url, req.out, req.accept, req.timeout) })
    else if (req.op === 'stop') { await node.helia.stop(); answer({ ok: 'stopped' }); break }
    else answer({ error: `unknown op ${req.op}` })
  } catch (err) {
    answer({ error: `${err.name}: ${err.message}` })
  }
}
process.exit(0)
