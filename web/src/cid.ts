// The registry's Cid struct (prefix = version << 64 | codec, sha2-256 digest) as text:
// base58btc for CIDv0, base32 for CIDv1, as Kubo prints them (datasoil.formats.cid).
import { CID } from "multiformats/cid";
import { create as createDigest } from "multiformats/hashes/digest";
import { hexToBytes, type Hex } from "viem";

const SHA2_256 = 0x12;

export function cidString(prefix: bigint, digest: Hex): string {
  const version = Number(prefix >> 64n);
  const codec = Number(prefix & ((1n << 64n) - 1n));
  const mh = createDigest(SHA2_256, hexToBytes(digest));
  const cid = version === 0 ? CID.createV0(mh as never) : CID.createV1(codec, mh);
  return cid.toString();
}
