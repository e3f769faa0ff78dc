// Independent EIP-712 verification of datasoil attestation payloads.
// Reads a JSON array of relay payloads on stdin; prints, per payload, the signer that
// ethers v6 (verifyTypedData) and MetaMask's eth-sig-util (recoverTypedSignature, V4)
// recover, and eth-sig-util's TypedDataUtils.eip712Hash digest.
const { verifyTypedData } = require("ethers");
const { recoverTypedSignature, SignTypedDataVersion, TypedDataUtils } = require("@metamask/eth-sig-util");

let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const out = JSON.parse(input).map((p) => {
    // The payload as written: ethers takes `ethersTypes`, eth-sig-util the v4 fields.
    const types = p.ethersTypes;
    const typed = { types: p.types, primaryType: p.primaryType, domain: p.domain, message: p.message };
    let ethersSigner = null;
    try {
      ethersSigner = verifyTypedData(p.domain, types, p.message, p.signature);
    } catch (e) {
      ethersSigner = "error: " + e.message.slice(0, 80);
    }
    return {
      ethers: ethersSigner,
      metamask: recoverTypedSignature({ data: typed, signature: p.signature, version: SignTypedDataVersion.V4 }),
      digest: "0x" + Buffer.from(TypedDataUtils.eip712Hash(typed, SignTypedDataVersion.V4)).toString("hex"),
    };
  });
  process.stdout.write(JSON.stringify(out));
});
