// datasoil's page: find datasets by name (list.ts), judge one — schema, verified first
// rows, quality charts, drawn lineage with the royalty path, cleaning claims, models
// trained on it (dataset.ts) — buy access and see the key delivered, list, reprice,
// delist and withdraw as an owner (here), see and file withdrawal requests (consent.ts),
// and see what a model was made of and whether a row was in it (models.ts).
// Events come from the gateway's event index (/api/...), contract state through its
// read-only /rpc, documents and rows block by block from /ipfs/, each block checked
// against its CID in the page; writes and signatures go through the person's wallet,
// found through EIP-6963 (wallet.ts). The page never calls eth_getLogs.
import {
  createWalletClient,
  custom,
  defineChain,
  formatUnits,
  getAddress,
  hexToString,
  parseEventLogs,
  parseSignature,
  parseUnits,
  toHex,
  type Address,
  type EIP1193Provider,
  type WalletClient,
} from "viem";
import { dataset, loadChain, type Chain, type Dataset, type IndexedEvent, type Purchase } from "./chain";
import { consentPanel, salesPaused } from "./consent";
import { claimsPanel, lineagePanel, metadataPanels, modelsPanel, previewPanel, qualityPanel, skeleton } from "./dataset";
import { explain } from "./errors";
import { deriveEncryptionKey, openEnvelope, type EncryptionKey } from "./keys";
import { listQuery, listView } from "./list";
import { modelsView, modelView } from "./models";
import { $, short } from "./util";
import { discoverWallets, NO_WALLET, walletSentence, wrongNetwork, type FoundWallet } from "./wallet";

const PURCHASE_STATUS = ["", "pending", "delivered (objection window open)", "objected", "paid out", "refunded"];

interface Wallet {
  client: WalletClient;
  provider: EIP1193Provider;
  account: Address;
  chainId: number;
}

const state: {
  chain?: Chain;
  wallet?: Wallet;
  wallets: FoundWallet[];
  listening: Set<EIP1193Provider>;
  keys: Map<string, EncryptionKey>;
  watching?: number;
  /** Counts route() calls: a view drawn for an older one must not overwrite a newer. */
  epoch: number;
} = { wallets: [], listening: new Set(), keys: new Map(), epoch: 0 };

/** Whether the view started in `epoch` has been replaced (the index answers take time). */
const stale = (epoch: number) => epoch !== state.epoch;
const when = (t: bigint) => (t === 0n ? "never" : new Date(Number(t) * 1000).toISOString().replace(".000Z", "Z"));

// --- settings ------------------------------------------------------------------------

function gatewayUrl(): string {
  const url = localStorage.getItem("datasoil.app.gateway") || `${location.origin}/ipfs/`;
  return url.endsWith("/") ? url : `${url}/`;
}

function trustedAttesters(): Address[] {
  const text = localStorage.getItem("datasoil.attesters") ?? "";
  return text
    .split(/\s+/)
    .filter((a) => /^0x[0-9a-fA-F]{40}$/.test(a))
    .map((a) => getAddress(a));
}

function initSettings(): void {
  $<HTMLInputElement>("gateway").value = gatewayUrl();
  $<HTMLTextAreaElement>("attesters").value = trustedAttesters().join("\n");
  $("save-settings").onclick = () => {
    localStorage.setItem("datasoil.app.gateway", $<HTMLInputElement>("gateway").value.trim());
    const bad = $<HTMLTextAreaElement>("attesters")
      .value.split(/\s+/)
      .filter((a) => a && !/^0x[0-9a-fA-F]{40}$/.test(a));
    if (bad.length) return showError(`"${bad[0]}" is not an address (0x and 40 hex digits).`);
    localStorage.setItem("datasoil.attesters", $<HTMLTextAreaElement>("attesters").value);
    void guarded(route);
  };
}

// --- messages ------------------------------------------------------------------------

function showError(message: string): void {
  const box = $("error");
  box.textContent = message;
  box.hidden = false;
}

function clearError(): void {
  $("error").hidden = true;
}

/** One sentence for anything that went wrong: the wallet's EIP-1193 codes, revert
 * reasons, and every other error's own sentence. */
export function sentence(error: unknown): string {
  return walletSentence(error) ?? explain(error);
}

async function guarded(action: () => Promise<void>): Promise<void> {
  clearError();
  try {
    await action();
  } catch (error) {
    console.error(error);
    showError(sentence(error));
  }
}

// --- wallet --------------------------------------------------------------------------

function deploymentChain() {
  const d = state.chain!.deployment;
  return defineChain({
    id: d.chainId,
    name: `datasoil chain ${d.chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [new URL("/rpc", location.href).href] } },
  });
}

/** The wallet the person picked (the only one, or the one chosen in #wallets). */
async function pickWallet(): Promise<FoundWallet> {
  if (!state.wallets.length) state.wallets = await discoverWallets();
  if (!state.wallets.length) throw new Error(NO_WALLET);
  const select = $<HTMLSelectElement>("wallets");
  if (state.wallets.length > 1 && select.hidden) {
    select.innerHTML = state.wallets.map((w) => `<option value="${w.info.uuid}">${w.info.name}</option>`).join("");
    select.hidden = false;
  }
  return state.wallets.find((w) => w.info.uuid === select.value) ?? state.wallets[0];
}

async function connect(): Promise<void> {
  const { provider } = await pickWallet();
  const client = createWalletClient({ chain: deploymentChain(), transport: custom(provider) });
  const [account] = await client.requestAddresses();
  const chainId = await client.getChainId();
  state.wallet = { client, provider, account: getAddress(account), chainId };
  if (!state.listening.has(provider)) {
    state.listening.add(provider);
    provider.on?.("accountsChanged", () => void guarded(connect));
    provider.on?.("chainChanged", () => void guarded(connect));
  }
  showWallet();
  await route();
}

function showWallet(): void {
  const w = state.wallet;
  const expected = state.chain!.deployment.chainId;
  $("account").textContent = w ? w.account : "";
  $("account").title = w ? w.account : "";
  $("connect").textContent = w ? "Reconnect" : "Connect wallet";
  $("network").textContent = w ? `chain ${w.chainId}` : "no wallet";
  const warning = $("warning");
  warning.hidden = !w || w.chainId === expected;
  if (!warning.hidden) {
    warning.innerHTML = `<span id="wrong-network">${wrongNetwork(w!.chainId, expected)}</span> <button id="switch" type="button">Switch to chain ${expected}</button>`;
    $("switch").onclick = () =>
      void guarded(async () => {
        await w!.client.switchChain({ id: expected });
        await connect();
      });
  }
}

function requireWallet(): Wallet {
  const w = state.wallet;
  if (!w) throw new Error("Connect a wallet first: the button is at the top right");
  const expected = state.chain!.deployment.chainId;
  if (w.chainId !== expected) throw new Error(wrongNetwork(w.chainId, expected));
  return w;
}

async function send(name: string, functionName: string, args: unknown[], status: HTMLElement) {
  const w = requireWallet();
  const chain = state.chain!;
  status.textContent = `Simulating ${functionName}…`;
  const { request } = await chain.client.simulateContract({
    ...chain.contract(name),
    functionName,
    args,
    account: w.account,
  } as never);
  status.textContent = `Confirm ${functionName} in your wallet…`;
  const hash = await w.client.writeContract(request as never);
  status.textContent = `Waiting for ${functionName} to be mined…`;
  const receipt = await chain.client.waitForTransactionReceipt({ hash });
  if (receipt.status !== "success") throw new Error(`The ${functionName} transaction was mined but reverted in block ${receipt.blockNumber}`);
  status.textContent = `${functionName} mined in block ${receipt.blockNumber}.`;
  return receipt;
}

async function encryptionKey(w: Wallet): Promise<EncryptionKey> {
  const cached = state.keys.get(w.account);
  if (cached) return cached;
  const key = await deriveEncryptionKey(w.client, w.account, w.chainId);
  state.keys.set(w.account, key);
  return key;
}

// --- views ---------------------------------------------------------------------------

async function route(): Promise<void> {
  if (state.watching) window.clearInterval(state.watching);
  state.watching = undefined;
  const epoch = ++state.epoch;
  const chain = state.chain!;
  const view = $("view");
  // Each view draws into its own box: one left behind by a newer route draws nowhere.
  const box = document.createElement("div");
  view.replaceChildren(box);
  delete document.body.dataset.view;
  const hash = location.hash;
  let name = "list";
  let match: RegExpExecArray | null;
  if ((match = /^#\/dataset\/(\d+)/.exec(hash))) {
    name = `dataset:${match[1]}`;
    await datasetView(box, BigInt(match[1]), epoch);
  } else if ((match = /^#\/model\/(\d+)/.exec(hash))) {
    name = `model:${match[1]}`;
    await modelView(chain, box, BigInt(match[1]));
  } else if (/^#\/models/.test(hash)) {
    name = "models";
    await modelsView(chain, box);
  } else {
    document.title = "datasoil — datasets";
    await listView(chain, box, listQuery(hash), trustedAttesters());
  }
  if (!stale(epoch)) document.body.dataset.view = name;
}

async function datasetView(box: HTMLElement, id: bigint, epoch: number): Promise<void> {
  const chain = state.chain!;
  let d: Dataset;
  try {
    d = await dataset(chain, id);
  } catch (error) {
    box.innerHTML = `<h1>Dataset #${id}</h1><p class="bad">${sentence(error)}</p>`;
    return;
  }
  if (stale(epoch)) return;
  box.innerHTML = skeleton(d);
  const gateway = gatewayUrl();
  const listing = await chain.read("AccessMarket", "listing", [d.id]);
  const buyable = listing.active && !(await salesPaused(chain, d));
  const parts = [
    metadataPanels(gateway, d, buyable).then((doc) => previewPanel(gateway, d, doc)),
    marketPanel(d),
    lineagePanel(chain, d),
    qualityPanel(chain, gateway, d, trustedAttesters()),
    claimsPanel(chain, d),
    modelsPanel(chain, d),
    consentPanel(chain, d, state.wallet?.account, send, guarded, () => redrawDataset(d, epoch)),
  ];
  for (const result of await Promise.allSettled(parts)) {
    if (result.status === "rejected" && !stale(epoch)) showError(sentence(result.reason));
  }
}

/** After a consent request: the consent and access panels again (sales may be paused). */
async function redrawDataset(d: Dataset, epoch: number): Promise<void> {
  if (stale(epoch)) return;
  await consentPanel(state.chain!, d, state.wallet?.account, send, guarded, () => redrawDataset(d, epoch));
  await marketPanel(d);
}

async function marketPanel(d: Dataset): Promise<void> {
  const chain = state.chain!;
  const epoch = state.epoch;
  const w = state.wallet;
  const listing = await chain.read("AccessMarket", "listing", [d.id]);
  const paused = await salesPaused(chain, d);
  const terms = listing.active
    ? `Listed at <b id="price">${formatUnits(listing.price, 18)}</b> SOIL for ${Number(listing.duration) / 86400} days of access
       (${Number(listing.upstream_bps) / 100}% to its ancestors).`
    : d.private
      ? "Not for sale now."
      : "Public: free to read and load, no purchase needed.";
  let mine = d.private ? '<p>Connect a wallet to see your access.</p>' : "";
  if (w && (d.private || listing.active)) {
    // The index first, then the chain state: the state read is never older than the
    // events shown, so a delivered key comes with the access it opened.
    const bought = await chain.api<Purchase[]>("purchases", { dataset: d.id, buyer: w.account });
    const last = bought.at(-1);
    const pid = last ? BigInt(last.args.purchase_id) : undefined;
    const [event] = pid
      ? await chain.api<IndexedEvent[]>("events", { contract: "AccessMarket", name: "KeyDelivered", purchase_id: pid })
      : [];
    const expiry = (await chain.read("AccessMarket", "access_expiry", [d.id, w.account])) as bigint;
    const has = (await chain.read("AccessMarket", "has_access", [d.id, w.account])) as boolean;
    let delivery = "No purchase yet.";
    if (pid) {
      const p = await chain.read("AccessMarket", "purchase", [pid]);
      if (event) {
        const key = state.keys.get(w.account);
        const opened = key ? openEnvelope(hexToString(event.args.envelope), key.secret) : null;
        delivery = `<span class="ok">Key delivered</span> for purchase #${pid} in block ${event.block}
          ${key ? (opened ? "— the envelope opens with your key." : '— <span class="bad">the envelope does not open with your key.</span>') : ""}`;
      } else {
        delivery = `Purchase #${pid}: <b>${PURCHASE_STATUS[p.status]}</b>${p.status === 1 ? " — waiting for the owner's keeper to deliver the key…" : ""}`;
        // Pending, or delivered on chain in a block the index has not read yet: look again.
        const waiting = p.status === 1 || p.status === 2;
        if (waiting && !state.watching && !stale(epoch)) state.watching = window.setInterval(() => void refreshMarket(d), 1500);
      }
    }
    mine = `<p>Your access: <span id="has-access" class="${has ? "ok" : "bad"}">${has ? "active" : "none"}</span>,
      expires <span id="expiry" data-expiry="${expiry}">${when(expiry)}</span>.</p>
      <p id="delivery" data-purchases="${bought.length}">${delivery}</p>`;
  }
  const pause = paused && listing.active
    ? '<p id="buy-paused" class="bad">New sales are paused by a withdrawal request (see Consent below): buying is not possible until the owner answers it.</p>'
    : "";
  const buy = listing.active && !paused
    ? `<form class="inline" id="buy-form"><label>pay with
        <select id="buy-method"><option value="approve">approve + buy</option><option value="permit">permit signature + buy</option></select></label>
        <button id="buy" type="submit">Buy access for ${formatUnits(listing.price, 18)} SOIL</button></form><p id="buy-status" class="status" aria-live="polite"></p>`
    : "";
  if (stale(epoch)) return;
  $("market").innerHTML = `<h2>Access</h2><p>${terms}</p>${pause}${mine}${buy}`;
  const form = document.getElementById("buy-form");
  if (form) form.onsubmit = (e) => (e.preventDefault(), void guarded(() => buyAccess(d, listing)));
  await ownerPanel(d, listing);
}

async function refreshMarket(d: Dataset): Promise<void> {
  if (state.watching) window.clearInterval(state.watching);
  state.watching = undefined;
  await guarded(() => marketPanel(d));
}

async function buyAccess(d: Dataset, listing: any): Promise<void> {
  const w = requireWallet();
  const chain = state.chain!;
  const status = $("buy-status");
  const market = chain.contract("AccessMarket").address;
  status.textContent = "Sign the key message in your wallet (it derives your encryption key)…";
  const key = await encryptionKey(w);
  const method = $<HTMLSelectElement>("buy-method").value;
  const args = [d.id, listing.token, listing.price, listing.duration, toHex(key.publicKey)];
  let receipt;
  if (method === "permit") {
    const [, name, version, chainId, verifyingContract] = await chain.read("DemoToken", "eip712Domain");
    const nonce = await chain.read("DemoToken", "nonces", [w.account]);
    const deadline = BigInt(Math.floor(Date.now() / 1000) + 3600);
    status.textContent = "Sign the permit in your wallet…";
    const signature = await w.client.signTypedData({
      account: w.account,
      domain: { name, version, chainId, verifyingContract },
      types: {
        Permit: [
          { name: "owner", type: "address" },
          { name: "spender", type: "address" },
          { name: "value", type: "uint256" },
          { name: "nonce", type: "uint256" },
          { name: "deadline", type: "uint256" },
        ],
      },
      primaryType: "Permit",
      message: { owner: w.account, spender: market, value: listing.price, nonce, deadline },
    });
    const { r, s, v, yParity } = parseSignature(signature);
    receipt = await send("AccessMarket", "buy_with_permit", [...args, deadline, Number(v ?? BigInt(yParity + 27)), r, s], status);
  } else {
    const allowance = await chain.read("DemoToken", "allowance", [w.account, market]);
    if (allowance < listing.price) await send("DemoToken", "approve", [market, listing.price], status);
    receipt = await send("AccessMarket", "buy", args, status);
  }
  const [event] = parseEventLogs({ abi: chain.contract("AccessMarket").abi, logs: receipt.logs, eventName: "Purchased" }) as any[];
  status.textContent = `Bought: purchase #${event.args.purchase_id}. The owner's keeper delivers the key.`;
  await marketPanel(d);
}

/** Whether the stored listing was made by `account` (its commitment can be reused on a reprice). */
function sameOwner(listing: any, account: string): boolean {
  return listing.lister.toLowerCase() === account.toLowerCase() && !/^0x0{64}$/.test(listing.key_commitment);
}

async function ownerPanel(d: Dataset, listing: any): Promise<void> {
  const w = state.wallet;
  const box = $("owner");
  if (!w || w.account !== getAddress(d.owner)) {
    box.hidden = true;
    return;
  }
  const chain = state.chain!;
  const epoch = state.epoch;
  const token = chain.contract("DemoToken").address;
  const credit = (await chain.read("AccessMarket", "credit", [token, w.account])) as bigint;
  if (stale(epoch)) return;
  box.hidden = false;
  box.innerHTML = `<h2>Owner</h2><p>You own this dataset (${short(w.account)}).</p>
    <form class="inline" id="list-form">
      <label>price (SOIL)<input id="list-price" value="${listing.price ? formatUnits(listing.price, 18) : "10"}" size="8" inputmode="decimal"></label>
      <label>access (days)<input id="list-days" value="${listing.duration ? Number(listing.duration) / 86400 : 30}" size="5" inputmode="decimal"></label>
      <label>to ancestors (bps)<input id="list-bps" value="${listing.lister !== "0x0000000000000000000000000000000000000000" ? listing.upstream_bps : 1000}" size="6" inputmode="numeric"></label>
      <label title="keccak256 of the content key: ape run market listing ID prints it after a CLI listing">key commitment<input id="list-commitment" value="${sameOwner(listing, w.account) ? listing.key_commitment : ""}" size="20" placeholder="0x…"></label>
      <button type="submit" id="list">${listing.active ? "Reprice" : "List"}</button>
      ${listing.active ? '<button type="button" id="delist">Delist</button>' : ""}
    </form>
    <p>Withdrawable: <span id="credit">${formatUnits(credit, 18)}</span> SOIL <button id="withdraw" type="button">Withdraw</button></p>
    <p id="owner-status" class="status" aria-live="polite"></p>`;
  const status = $("owner-status");
  $("list-form").onsubmit = (e) => {
    e.preventDefault();
    void guarded(async () => {
      const text = $<HTMLInputElement>("list-price").value.trim();
      if (!/^\d+(\.\d{1,18})?$/.test(text)) throw new Error("The price must be a number of SOIL, such as 12.5");
      const price = parseUnits(text, 18);
      const days = Number($<HTMLInputElement>("list-days").value);
      if (!(days > 0)) throw new Error("The access duration must be a positive number of days");
      const bps = BigInt($<HTMLInputElement>("list-bps").value.trim() || "0");
      const commitment = $<HTMLInputElement>("list-commitment").value.trim();
      if (!/^0x[0-9a-fA-F]{64}$/.test(commitment) || /^0x0{64}$/.test(commitment))
        throw new Error("The key commitment must be keccak256 of the content key (0x and 64 hex digits); `ape run market list` computes it from the key the publish saved");
      await send("AccessMarket", "list_dataset", [d.id, token, price, BigInt(Math.round(days * 86400)), bps, commitment as `0x${string}`], status);
      await marketPanel(d);
    });
  };
  document.getElementById("delist")?.addEventListener("click", () =>
    void guarded(async () => {
      await send("AccessMarket", "delist", [d.id], status);
      await marketPanel(d);
    }),
  );
  $("withdraw").onclick = () =>
    void guarded(async () => {
      await send("AccessMarket", "withdraw", [token], status);
      await marketPanel(d);
    });
}

// --- start ---------------------------------------------------------------------------

async function start(): Promise<void> {
  initSettings();
  $("connect").onclick = () => void guarded(connect);
  $("wallets").onchange = () => void guarded(connect);
  void discoverWallets().then((found) => (state.wallets = found));
  try {
    state.chain = await loadChain();
  } catch (error) {
    $("view").textContent = `Cannot load the deployment: ${sentence(error)}`;
    return;
  }
  window.addEventListener("hashchange", () => void guarded(route));
  await guarded(route);
  document.body.dataset.ready = "1";
}

void start();
