// Independent reference for tests/offchain/test_crypto.py.
// Reads a JSON array of requests on stdin and writes a JSON array of answers:
//   {op: "encrypt", publicKey, data}          eth-sig-util encrypt (x25519-xsalsa20-poly1305)
//   {op: "decrypt", envelope, privateKey}     eth-sig-util decrypt -> {ok, data | error}
//   {op: "publicKey", privateKey}             eth-sig-util getEncryptionPublicKey
//   {op: "derive", accountKey, chainId}       the web page's steps (docs/formats/encryption.md):
//       viem signMessage, HKDF-SHA256 (@noble/hashes), tweetnacl key pair
'use strict';
const sigUtil = require('@metamask/eth-sig-util');
const { hkdf } = require('@noble/hashes/hkdf');
const { sha256 } = require('@noble/hashes/sha256');
const { utf8ToBytes, bytesToHex } = require('@noble/hashes/utils');
const nacl = require('tweetnacl');
const { privateKeyToAccount } = require('viem/accounts');
const { getAddress, hexToBytes } = require('viem');

async function derive({ accountKey, chainId }) {
  const account = privateKeyToAccount(accountKey);
  const address = getAddress(account.address);
  const message = `datasoil encryption key v1\nchain: ${chainId}\naddress: ${address}`;
  const signature = hexToBytes(await account.signMessage({ message }));
  // viem's local accounts already give low s and v in {27, 28} (steps 3-4 of the doc).
  const secret = hkdf(sha256, signature, utf8ToBytes('datasoil encryption key v1'),
    utf8ToBytes('x25519 secret key'), 32);
  const pair = nacl.box.keyPair.fromSecretKey(secret);
  return {
    address, message, signature: bytesToHex(signature), secret: bytesToHex(secret),
    publicKey: Buffer.from(pair.publicKey).toString('base64'),
  };
}

async function answer(req) {
  switch (req.op) {
    case 'encrypt':
      return sigUtil.encrypt({ publicKey: req.publicKey, data: req.data, version: 'x25519-xsalsa20-poly1305' });
    case 'decrypt':
      try {
        return { ok: true, data: sigUtil.decrypt({ encryptedData: req.envelope, privateKey: req.privateKey }) };
      } catch (err) {
        return { ok: false, error: String(err.message) };
      }
    case 'publicKey':
      return sigUtil.getEncryptionPublicKey(req.privateKey);
    case 'derive':
      return derive(req);
    default:
      throw new Error(`unknown op ${req.op}`);
  }
}

let input = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (chunk) => { input += chunk; });
process.stdin.on('end', async () => {
  const out = [];
  for (const req of JSON.parse(input)) out.push(await answer(req));
  process.stdout.write(JSON.stringify(out));
});
