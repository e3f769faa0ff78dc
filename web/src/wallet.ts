// Finding the person's wallets: EIP-6963 (every installed wallet announces itself on
// `eip6963:announceProvider` when the page dispatches `eip6963:requestProvider`, so
// several wallets coexist), with the legacy `window.ethereum` (EIP-1193) as a fallback
// for wallets that predate it. Errors the wallet raises become one sentence each.
import type { EIP1193Provider } from "viem";

export interface WalletInfo {
  uuid: string;
  name: string;
  icon: string;
  rdns: string;
}

export interface FoundWallet {
  info: WalletInfo;
  provider: EIP1193Provider;
}

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
  interface WindowEventMap {
    "eip6963:announceProvider": CustomEvent<FoundWallet>;
  }
}

const found = new Map<string, FoundWallet>();
let listening = false;

function listen(): void {
  if (listening) return;
  listening = true;
  window.addEventListener("eip6963:announceProvider", (event) => {
    const { info, provider } = event.detail ?? {};
    if (info?.uuid && typeof provider?.request === "function") found.set(info.uuid, { info, provider });
  });
}

/** Every wallet that answers within `waitMs`, EIP-6963 announcements first; the legacy
 * `window.ethereum` is added only when no wallet announced itself. */
export async function discoverWallets(waitMs = 300): Promise<FoundWallet[]> {
  listen();
  window.dispatchEvent(new Event("eip6963:requestProvider"));
  await new Promise((r) => setTimeout(r, waitMs));
  const out = [...found.values()];
  if (!out.length && window.ethereum) {
    out.push({ info: { uuid: "window.ethereum", name: "Browser wallet", icon: "", rdns: "" }, provider: window.ethereum });
  }
  return out;
}

/** The sentence for a wallet that is missing. */
export const NO_WALLET =
  "No wallet found: install a browser wallet such as MetaMask or Rabby (any EIP-6963 or EIP-1193 wallet works) and reload.";

/** EIP-1193 error codes a wallet answers with, as sentences a person can act on. */
export function walletSentence(error: unknown): string | null {
  const code = (error as { code?: number } | null)?.code;
  if (code === 4001) return "You declined the request in your wallet.";
  if (code === 4100) return "The wallet has not authorised this page: connect it again and approve the request.";
  if (code === 4200) return "Your wallet does not support this request.";
  if (code === 4900) return "Your wallet is disconnected from every network: reconnect it.";
  if (code === 4901) return "Your wallet is not connected to the requested network.";
  if (code === 4902) return "Your wallet does not know this network: add it in the wallet, then switch.";
  if (code === -32002) return "Your wallet already has a request waiting: open it and answer.";
  return null;
}

/** The sentence for a wallet on another chain than the deployment's. */
export function wrongNetwork(walletChain: number, expected: number): string {
  return `Your wallet is on chain ${walletChain}, but datasoil is deployed on chain ${expected}: switch networks to buy or list.`;
}
