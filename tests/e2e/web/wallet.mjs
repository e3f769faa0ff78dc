// The test wallet both drivers inject: an EIP-1193 provider forwarding every request to
// anvil's JSON-RPC (anvil signs for its unlocked dev accounts: eth_sendTransaction,
// personal_sign, eth_signTypedData_v4), announced through EIP-6963 ("eip6963"; "two":
// after another wallet that declines everything) or set as window.ethereum ("legacy"). With `chainId` it reports that chain until the page asks
// it to switch (wallet_switchEthereumChain), as a wallet on another network would;
// methods in `reject` are declined (code 4001); `onMethod` sees every method asked.

let rpcId = 0;

export async function installWallet(page, wallet, node, onMethod = () => {}) {
  let chainId = wallet.chainId ?? null;
  await page.exposeFunction("__anvil", async (method, params) => {
    onMethod(method);
    if (method === "eth_requestAccounts" || method === "eth_accounts") return [wallet.account];
    if (method === "eth_chainId" && chainId !== null) return chainId;
    if (method === "wallet_switchEthereumChain") {
      chainId = params[0].chainId;
      return { __event: ["chainChanged", chainId] };
    }
    if (wallet.reject && wallet.reject.includes(method)) return { __error: { code: 4001, message: "User rejected the request." } };
    const answer = await fetch(node, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: ++rpcId, method, params: params ?? [] }),
    });
    const body = await answer.json();
    if (body.error) return { __error: body.error };
    return body.result;
  });
  await page.addInitScript((kind) => {
    const listeners = {};
    const provider = {
      async request({ method, params }) {
        const result = await window.__anvil(method, params);
        if (result && result.__error) {
          const err = new Error(result.__error.message);
          err.code = result.__error.code;
          err.data = result.__error.data;
          throw err;
        }
        if (result && result.__event) {
          const [name, value] = result.__event;
          setTimeout(() => (listeners[name] ?? []).forEach((f) => f(value)), 0);
          return null;
        }
        return result;
      },
      on(event, fn) { (listeners[event] ??= []).push(fn); },
      removeListener(event, fn) { listeners[event] = (listeners[event] ?? []).filter((f) => f !== fn); },
    };
    if (kind === "legacy") {
      window.ethereum = provider;
      return;
    }
    const info = Object.freeze({
      uuid: "0b4e1c52-5d3a-4d7e-9c55-datasoil-test",
      name: "datasoil test wallet",
      icon: "data:image/svg+xml,%3Csvg xmlns='http://www.w3.org/2000/svg' width='8' height='8'/%3E",
      rdns: "org.datasoil.test",
    });
    // "two": another wallet announces itself first, and declines everything (code 4001),
    // so only picking the test wallet in the page connects.
    const decoy = {
      async request() {
        const err = new Error("User rejected the request.");
        err.code = 4001;
        throw err;
      },
      on() {},
      removeListener() {},
    };
    const other = Object.freeze({ ...info, uuid: "7f1d2c3b-0000-4000-8000-another-wallet", name: "Another wallet", rdns: "org.example.another" });
    const announce = () => {
      if (kind === "two") window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info: other, provider: decoy }) }));
      window.dispatchEvent(new CustomEvent("eip6963:announceProvider", { detail: Object.freeze({ info, provider }) }));
    };
    window.addEventListener("eip6963:requestProvider", announce);
    announce();
  }, wallet.kind ?? "eip6963");
}
