// The buyer's X25519 key, derived from a wallet signature exactly as
// docs/formats/encryption.md §4 and datasoil.formats.crypto.derive_encryption_key do.
// The signature is the secret: it never leaves this page.
import { getAddress, hexToBytes, type Address, type WalletClient } from "viem";
import { hkdf } from "@noble/hashes/hkdf";
import { sha256 } from "@noble/hashes/sha256";
import { utf8ToBytes } from "@noble/hashes/utils";
import nacl from "tweetnacl";

const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

export interface EncryptionKey {
  secret: Uint8Array;
  publicKey: Uint8Array;
}

/** The three-line message the wallet signs (no trailing newline). */
export function encryptionMessage(chainId: number, account: string): string {
  return `datasoil encryption key v1\nchain: ${chainId}\naddress: ${getAddress(account)}`;
}

/** r ‖ s ‖ v with v in {27, 28} and low s (step 4). */
export function normaliseSignature(signature: Uint8Array): Uint8Array {
  if (signature.length !== 65) {
    throw new Error(`expected a 65-byte signature, found ${signature.length} bytes`);
  }
  const out = Uint8Array.from(signature);
  let v = out[64];
  if (v === 0 || v === 1) v += 27;
  let s = BigInt("0x" + Array.from(out.slice(32, 64), (b) => b.toString(16).padStart(2, "0")).join(""));
  if (s > SECP256K1_N / 2n) {
    s = SECP256K1_N - s;
    v = v === 27 ? 28 : 27;
    out.set(hexToBytes(`0x${s.toString(16).padStart(64, "0")}`), 32);
  }
  out[64] = v;
  return out;
}

/** Derive (secret, public) from the wallet's EIP-191 signature of the key message. */
export async function deriveEncryptionKey(
  wallet: WalletClient,
  account: Address,
  chainId: number,
): Promise<EncryptionKey> {
  const address = getAddress(account);
  const message = encryptionMessage(chainId, address);
  const signature = normaliseSignature(hexToBytes(await wallet.signMessage({ account: address, message })));
  return fromSignature(signature);
}

/** Steps 5 and 6: HKDF-SHA256 of the signature, then X25519 of the secret. */
export function fromSignature(signature: Uint8Array): EncryptionKey {
  const secret = hkdf(
    sha256,
    signature,
    utf8ToBytes("datasoil encryption key v1"),
    utf8ToBytes("x25519 secret key"),
    32,
  );
  return { secret, publicKey: nacl.box.keyPair.fromSecretKey(secret).publicKey };
}

/** Open an x25519-xsalsa20-poly1305 envelope; the content key as 64 hex chars, or null. */
export function openEnvelope(envelopeJson: string, secret: Uint8Array): string | null {
  try {
    const env = JSON.parse(envelopeJson);
    if (env.version !== "x25519-xsalsa20-poly1305") return null;
    const b64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
    const plain = nacl.box.open(b64(env.ciphertext), b64(env.nonce), b64(env.ephemPublicKey), secret);
    if (plain === null) return null;
    const text = new TextDecoder().decode(plain);
    return /^[0-9a-f]{64}$/.test(text) ? text : null;
  } catch {
    return null;
  }
}
