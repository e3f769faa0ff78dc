// Content-addressed reads checked in the browser: every block is fetched raw through the
// gateway's trustless /ipfs/ (?format=raw) and hashed here with SHA-256 against the
// digest in its CID before a byte of it is used, so a gateway that lies is caught, not
// believed. UnixFS files (raw leaves under dag-pb nodes, docs/formats/unixfs.md) are
// walked with @ipld/dag-pb and ipfs-unixfs, leaf by leaf, only as far as asked.
import * as dagPb from "@ipld/dag-pb";
import { sha256 } from "@noble/hashes/sha256";
import { UnixFS } from "ipfs-unixfs";
import { CID } from "multiformats/cid";
import { create as createDigest } from "multiformats/hashes/digest";
import { hexToBytes, type Hex } from "viem";

const SHA2_256 = 0x12;
const RAW = 0x55;

/** A block whose bytes do not hash to its CID, or that is not what its codec says. */
export class BlockRefused extends Error {}

/** The CID text of a `(version, codec, digest)` triple (a SHA-256 digest, as the contracts
 * store CIDs: the registry's prefix and the attestations' SignedCid). */
export function cidOf(version: number, codec: number, digest: Hex): string {
  const mh = createDigest(SHA2_256, hexToBytes(digest));
  return (version === 0 ? CID.createV0(mh as never) : CID.createV1(codec, mh)).toString();
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

/** One block, fetched raw from `gateway` (ending in /ipfs/) and checked against `cid`. */
export async function fetchBlock(gateway: string, cid: CID | string): Promise<Uint8Array> {
  const id = typeof cid === "string" ? CID.parse(cid) : cid;
  if (id.multihash.code !== SHA2_256) {
    throw new BlockRefused(`Block ${id} is not hashed with SHA-256, so this page cannot check it.`);
  }
  let answer: Response;
  try {
    answer = await fetch(`${gateway}${id}?format=raw`, { headers: { accept: "application/vnd.ipld.raw" } });
  } catch {
    throw new Error(`The IPFS gateway at ${gateway} did not answer for block ${id}`);
  }
  if (!answer.ok) {
    const said = (await answer.text()).trim().replace(/\s+/g, " ").replace(/\.$/, "");
    throw new Error(`The IPFS gateway answered ${answer.status} for block ${id}: ${said}`);
  }
  const bytes = new Uint8Array(await answer.arrayBuffer());
  if (!equal(sha256(bytes), id.multihash.digest)) {
    throw new BlockRefused(`The gateway sent block ${id} with bytes that do not match its CID: refused.`);
  }
  return bytes;
}

/** A UnixFS file read by byte ranges, every block fetched raw and checked against its
 * CID as it is needed (hyparquet reads a Parquet footer and its first row group this
 * way, without the rest of the file). */
export class VerifiedFile {
  private blocks = new Map<string, Promise<Uint8Array>>();
  /** The file's size, as its root block says. */
  byteLength = 0;

  private constructor(
    readonly gateway: string,
    readonly root: CID,
  ) {}

  static async open(gateway: string, cid: string): Promise<VerifiedFile> {
    const file = new VerifiedFile(gateway, CID.parse(cid));
    file.byteLength = (await file.node(file.root)).size;
    return file;
  }

  private block(id: CID): Promise<Uint8Array> {
    const key = id.toString();
    let found = this.blocks.get(key);
    if (!found) {
      found = fetchBlock(this.gateway, id);
      this.blocks.set(key, found);
    }
    return found;
  }

  private async node(id: CID): Promise<{ data: Uint8Array; links: { cid: CID; size: number }[]; size: number }> {
    const block = await this.block(id);
    if (id.code === RAW) return { data: block, links: [], size: block.length };
    if (id.code !== dagPb.code) throw new BlockRefused(`Block ${id} is neither raw nor dag-pb.`);
    let node, fs;
    try {
      node = dagPb.decode(block);
      fs = UnixFS.unmarshal(node.Data ?? new Uint8Array());
    } catch {
      throw new BlockRefused(`Block ${id} is not well-formed UnixFS.`);
    }
    if (fs.type !== "file" && fs.type !== "raw") throw new BlockRefused(`${this.root} is a ${fs.type}, not a file.`);
    const sizes = fs.blockSizes.map(Number);
    if (sizes.length !== node.Links.length) throw new BlockRefused(`Block ${id} lists ${node.Links.length} links but ${sizes.length} sizes.`);
    const data = fs.data ?? new Uint8Array();
    return { data, links: node.Links.map((l, i) => ({ cid: l.Hash as CID, size: sizes[i] })), size: Number(fs.fileSize()) };
  }

  /** Bytes [start, end) of the file. */
  async bytes(start: number, end = this.byteLength): Promise<Uint8Array> {
    const lo = Math.max(0, start);
    const hi = Math.min(end, this.byteLength);
    const out = new Uint8Array(Math.max(0, hi - lo));
    const walk = async (id: CID, offset: number): Promise<void> => {
      const n = await this.node(id);
      const put = (chunk: Uint8Array, at: number) => {
        const from = Math.max(lo, at);
        const to = Math.min(hi, at + chunk.length);
        if (from < to) out.set(chunk.subarray(from - at, to - at), from - lo);
      };
      put(n.data, offset);
      let at = offset + n.data.length;
      const wanted: Promise<void>[] = [];
      for (const link of n.links) {
        if (at < hi && at + link.size > lo) wanted.push(walk(link.cid, at));
        at += link.size;
      }
      await Promise.all(wanted);
    };
    if (out.length) await walk(this.root, 0);
    return out;
  }

  /** hyparquet's AsyncBuffer. */
  async slice(start: number, end?: number): Promise<ArrayBuffer> {
    const b = await this.bytes(start, end);
    return b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;
  }
}

/** Up to `limit` bytes from the start of the UnixFS file `cid`, every block checked;
 * `total` is the file's size as its root says. */
export async function readFile(gateway: string, cid: string, limit = Number.POSITIVE_INFINITY): Promise<{ bytes: Uint8Array; total: number }> {
  const file = await VerifiedFile.open(gateway, cid);
  return { bytes: await file.bytes(0, Math.min(limit, file.byteLength)), total: file.byteLength };
}

/** A small JSON document (metadata, a quality report, a manifest) read verified. */
export async function readJson<T>(gateway: string, cid: string): Promise<T> {
  const { bytes } = await readFile(gateway, cid);
  try {
    return JSON.parse(new TextDecoder().decode(bytes)) as T;
  } catch {
    throw new Error(`${cid} is not a JSON document.`);
  }
}

/** The first rows of a CSV, TSV or JSON Lines text (`head` bytes of a file): the header
 * and up to `max` complete rows; the last line is dropped when the bytes end inside it. */
export function firstRows(text: string, format: string, complete: boolean, max = 20): { header: string[]; rows: string[][] } {
  const lines = text.split(/\r?\n/);
  if (!complete) lines.pop();
  if (/json/.test(format)) {
    const objects = lines.filter((l) => l.trim()).slice(0, max).map((l) => JSON.parse(l) as Record<string, unknown>);
    const header = [...new Set(objects.flatMap((o) => Object.keys(o)))];
    return { header, rows: objects.map((o) => header.map((h) => (o[h] === undefined || o[h] === null ? "" : String(o[h])))) };
  }
  const sep = /tab-separated|tsv/.test(format) ? "\t" : ",";
  const records = parseDelimited(lines.join("\n"), sep, max + 1);
  return { header: records[0] ?? [], rows: records.slice(1, max + 1) };
}

/** RFC 4180 records (quotes, doubled quotes, separators and newlines inside quotes). */
export function parseDelimited(text: string, sep: string, max: number): string[][] {
  const out: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length && out.length < max; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === "") quoted = true;
    else if (c === sep) row.push(field), (field = "");
    else if (c === "\n") row.push(field), out.push(row), (row = []), (field = "");
    else if (c !== "\r") field += c;
  }
  if ((field || row.length) && out.length < max) row.push(field), out.push(row);
  return out;
}
