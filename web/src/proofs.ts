// "Was this row in the model?" answered in the browser: a datasoil.row-proof.v1 bundle
// (docs/models.md; `ape run model prove` writes one, the gateway's
// /api/models/<id>/rows/<dataset>/<row> builds one) is checked here, proof by proof,
// against roots and sizes read from the chain — never against the roots the bundle
// carries. Two RFC 9162 trees: the model's training manifest (entries [dataset, row] as
// DAG-CBOR, docs/formats/manifest.md) and the dataset's row root (docs/formats/merkle.md);
// for a row followed through a cleaning claim, its fate record (datasoil-fate-v1) opened
// against the claim's fate root and held to the fate rules (docs/proofs.md).
import { sha256 } from "@noble/hashes/sha256";
import { bytesToHex, hexToBytes, type Hex } from "viem";

const LEAF = 0x00;
const NODE = 0x01;

function hash(...parts: Uint8Array[]): Uint8Array {
  const h = sha256.create();
  for (const p of parts) h.update(p);
  return h.digest();
}

export function leafHash(data: Uint8Array): Uint8Array {
  return hash(Uint8Array.of(LEAF), data);
}

/** RFC 9162 §2.1.3.2: does `path` take leaf hash `leaf` at `index` of a `size`-leaf tree to `root`? */
export function verifyInclusion(index: bigint, size: bigint, leaf: Uint8Array, path: Uint8Array[], root: Uint8Array): boolean {
  if (index < 0n || index >= size) return false;
  let fn = index;
  let sn = size - 1n;
  let r = leaf;
  for (const p of path) {
    if (sn === 0n) return false;
    if (fn & 1n || fn === sn) {
      r = hash(Uint8Array.of(NODE), p, r);
      while (!(fn & 1n) && fn !== 0n) {
        fn >>= 1n;
        sn >>= 1n;
      }
    } else {
      r = hash(Uint8Array.of(NODE), r, p);
    }
    fn >>= 1n;
    sn >>= 1n;
  }
  return sn === 0n && bytesToHex(r) === bytesToHex(root);
}

function cborUint(n: bigint): Uint8Array {
  if (n < 24n) return Uint8Array.of(Number(n));
  const [tag, width] = n < 1n << 8n ? [0x18, 1] : n < 1n << 16n ? [0x19, 2] : n < 1n << 32n ? [0x1a, 4] : [0x1b, 8];
  const out = new Uint8Array(1 + width);
  out[0] = tag;
  for (let i = 0; i < width; i++) out[width - i] = Number((n >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** The DAG-CBOR bytes of manifest entry [dataset, row]: `[3, 1000]` is 82 03 19 03 e8. */
export function entryBytes(dataset: bigint, row: bigint): Uint8Array {
  const a = cborUint(dataset);
  const b = cborUint(row);
  const out = new Uint8Array(1 + a.length + b.length);
  out[0] = 0x82;
  out.set(a, 1);
  out.set(b, 1 + a.length);
  return out;
}

interface OpeningJson {
  dataset_id: number | string;
  row_index: number | string;
  position: number | string;
  path: Hex[];
}

interface EntryJson {
  dataset_id: number | string;
  row_index: number | string;
  inclusion: OpeningJson | null;
  absence: { position: number | string; left: OpeningJson | null; right: OpeningJson | null } | null;
  row: { index: number | string; size: number | string; leaf: Hex; path: Hex[]; root: Hex } | null;
}

interface HopJson {
  claim_id: number | string;
  parent_id: number | string;
  child_id: number | string;
  row_index: number | string;
  rows_in: number | string;
  rows_out: number | string;
  fate: Hex;
  path: Hex[];
}

export interface Bundle {
  format: string;
  model_id: number | string;
  dataset_id: number | string;
  row_index: number | string;
  direct: EntryJson;
  hop: HopJson | null;
  via: EntryJson | null;
}

/** What the chain holds, read by the caller (never taken from the bundle). */
export interface Roots {
  manifest(model: bigint): Promise<{ root: Hex; size: bigint }>;
  rows(dataset: bigint): Promise<{ root: Hex; count: bigint }>;
  fateRoot(claim: bigint): Promise<{ root: Hex; parent: bigint; child: bigint; rowsIn: bigint; rowsOut: bigint }>;
}

export interface Verdict {
  used: boolean;
  /** One sentence: the answer and how the proofs give it. */
  sentence: string;
}

/** A bundle that proves nothing; its message says which proof failed. */
export class ProofRefused extends Error {}

const big = (v: number | string) => BigInt(v);
const cmp = (a: [bigint, bigint], b: [bigint, bigint]) => (a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1);

function opens(o: OpeningJson, root: Uint8Array, size: bigint): boolean {
  const leaf = leafHash(entryBytes(big(o.dataset_id), big(o.row_index)));
  return verifyInclusion(big(o.position), size, leaf, o.path.map((p) => hexToBytes(p)), root);
}

/** Check one entry's proofs; true when the entry is in the manifest (and its row in the
 * dataset's row root), false when the sorted-neighbour proof shows it is not. */
async function checkEntry(e: EntryJson, key: [bigint, bigint], manifestRoot: Uint8Array, size: bigint, roots: Roots): Promise<boolean> {
  const [d, i] = key;
  const name = `row ${i} of dataset #${d}`;
  if (big(e.dataset_id) !== d || big(e.row_index) !== i) throw new ProofRefused(`The bundle's proof is for another row than ${name}.`);
  if (e.inclusion) {
    const o = e.inclusion;
    if (cmp([big(o.dataset_id), big(o.row_index)], key) !== 0 || !opens(o, manifestRoot, size)) {
      throw new ProofRefused(`The manifest opening of ${name} does not verify against the model's root on chain.`);
    }
    const r = e.row;
    if (!r) throw new ProofRefused(`The bundle has no row-root proof for ${name}.`);
    const { root, count } = await roots.rows(d);
    if (big(r.index) !== i || big(r.size) !== count) {
      throw new ProofRefused(`The row proof of ${name} names another index or size than the registry's ${count} rows.`);
    }
    if (!verifyInclusion(i, count, hexToBytes(r.leaf), r.path.map((p) => hexToBytes(p)), hexToBytes(root))) {
      throw new ProofRefused(`The row proof of ${name} does not verify against the dataset's row root on chain.`);
    }
    return true;
  }
  const a = e.absence;
  if (!a) throw new ProofRefused(`The bundle has neither an inclusion nor an absence proof for ${name}.`);
  const p = big(a.position);
  const ok =
    p >= 0n &&
    p <= size &&
    (p === 0n || (!!a.left && big(a.left.position) === p - 1n && cmp([big(a.left.dataset_id), big(a.left.row_index)], key) < 0 && opens(a.left, manifestRoot, size))) &&
    (p === size || (!!a.right && big(a.right.position) === p && cmp(key, [big(a.right.dataset_id), big(a.right.row_index)]) < 0 && opens(a.right, manifestRoot, size)));
  if (!ok) throw new ProofRefused(`The absence proof of ${name} does not verify against the model's root on chain.`);
  return false;
}

const NONE = (1n << 64n) - 1n;
const STEP_NONE = 0xff;

/** The fate rules (formats/fate.py `fate_rules`): the output row of input row `index`, or
 * null when it was dropped; throws when the record breaks a rule. */
export function fateOutput(fate: Uint8Array, index: bigint, rowsIn: bigint, rowsOut: bigint): bigint | null {
  if (fate.length !== 34) throw new ProofRefused(`A fate record is 34 bytes, this one is ${fate.length}.`);
  const u64 = (at: number) => fate.slice(at, at + 8).reduce((n, b) => (n << 8n) | BigInt(b), 0n);
  const [input, kept, out, before, step, dup] = [u64(0), fate[8], u64(9), u64(17), fate[25], u64(26)];
  const broken =
    kept > 1 ||
    input !== index ||
    before > index ||
    before + BigInt(kept) > rowsOut ||
    (index + 1n === rowsIn && before + BigInt(kept) !== rowsOut) ||
    (kept === 1 && (out !== before || step !== STEP_NONE || dup !== NONE)) ||
    (kept === 0 && (out !== NONE || step === STEP_NONE)) ||
    (dup !== NONE && dup >= index);
  if (broken) throw new ProofRefused(`The fate record of input row ${index} breaks the fate rules.`);
  return kept === 1 ? out : null;
}

/** Verify `bundle` for row `row` of dataset `dataset` in model `model` against the chain. */
export async function verifyBundle(bundle: Bundle, model: bigint, dataset: bigint, row: bigint, roots: Roots): Promise<Verdict> {
  if (bundle.format !== "datasoil.row-proof.v1") throw new ProofRefused(`This is not a datasoil.row-proof.v1 bundle.`);
  if (big(bundle.model_id) !== model || big(bundle.dataset_id) !== dataset || big(bundle.row_index) !== row) {
    throw new ProofRefused(`The bundle is for row ${bundle.row_index} of #${bundle.dataset_id} in model #${bundle.model_id}, not the row asked about.`);
  }
  const m = await roots.manifest(model);
  const mroot = hexToBytes(m.root);
  const what = `row ${row} of dataset #${dataset}`;
  if (await checkEntry(bundle.direct, [dataset, row], mroot, m.size, roots)) {
    return { used: true, sentence: `Yes: ${what} is entry ${bundle.direct.inclusion!.position} of model #${model}'s training manifest, and the row is in the dataset's row root.` };
  }
  const hop = bundle.hop;
  if (!hop) return { used: false, sentence: `No: ${what} is not in model #${model}'s training manifest (its neighbours in the sorted manifest are proven).` };
  const claim = big(hop.claim_id);
  const c = await roots.fateRoot(claim);
  if (c.parent !== dataset || big(hop.parent_id) !== dataset || big(hop.child_id) !== c.child || big(hop.row_index) !== row) {
    throw new ProofRefused(`Claim #${claim} does not clean dataset #${dataset} into #${hop.child_id}.`);
  }
  const fate = hexToBytes(hop.fate);
  if (!verifyInclusion(row, c.rowsIn, leafHash(fate), hop.path.map((p) => hexToBytes(p)), hexToBytes(c.root))) {
    throw new ProofRefused(`The fate record of ${what} does not verify against claim #${claim}'s fate root on chain.`);
  }
  const out = fateOutput(fate, row, c.rowsIn, c.rowsOut);
  if (out === null) {
    if (bundle.via) throw new ProofRefused(`A dropped row has no row in the cleaned dataset, yet the bundle proves one.`);
    return { used: false, sentence: `No: ${what} is not in model #${model}'s manifest, and claim #${claim}'s fate record shows the cleaning dropped it.` };
  }
  if (!bundle.via) throw new ProofRefused(`Expected a proof for row ${out} of dataset #${c.child}.`);
  if (await checkEntry(bundle.via, [c.child, out], mroot, m.size, roots)) {
    return { used: true, sentence: `Yes: ${what} became row ${out} of #${c.child} (claim #${claim}'s fate record), entry ${bundle.via.inclusion!.position} of model #${model}'s manifest.` };
  }
  return { used: false, sentence: `No: ${what} became row ${out} of #${c.child}, which is not in model #${model}'s manifest either.` };
}
