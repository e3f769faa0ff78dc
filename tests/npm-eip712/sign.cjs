// Signs datasoil attestations with ethers v6 (Wallet.signTypedData) as a relayer's or a
// dApp's ethers code would, and writes the payload the ethers way: `types` without
// EIP712Domain. Reads [{privateKey, domain, types, message}] on stdin.
const { Wallet } = require("ethers");

let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", async () => {
  const out = [];
  for (const p of JSON.parse(input)) {
    const signature = await new Wallet(p.privateKey).signTypedData(p.domain, p.types, p.message);
    out.push({ domain: p.domain, types: p.types, primaryType: "Attestation", message: p.message, signature });
  }
  process.stdout.write(JSON.stringify(out));
});
