// datasoil's page: browse datasets, quality, cleaning claims and lineage; buy access,
// see expiry and key delivery; list, reprice, delist and withdraw as an owner.
// Events come from the gateway's event index (/api/...), contract state through its
// read-only /rpc; writes and signatures go through the wallet (any EIP-1193 provider at
// window.ethereum). The page never calls eth_getLogs.
import {
  createWalletClient,
  custom,
  defineChain,
  formatUnits,
  getAddress,
  hexToString,
  keccak256,
  parseEventLogs,
  parseSignature,
  parseUnits,
  stringToHex,
  toHex,
  type Address,
  type EIP1193Provider,
  type Hex,
  type WalletClient,
} from "viem";
import {
  datasetDetail,
  datasets,
  layers,
  loadChain,
  type Chain,
  type Dataset,
  type DatasetDetail,
  type IndexedEvent,
  type Purchase,
} from "./chain";
import { explain } from "./errors";
import { deriveEncryptionKey, openEnvelope, type EncryptionKey } from "./keys";

declare global {
  interface Window {
    ethereum?: EIP1193Provider;
  }
}

const CLAIM_STATUS = ["pending", "audited", "disputed", "finalised", "failed"];
const AUDIT_STATE = ["", "open", "passed", "failed", "void"];
const AUDIT_REASON = ["", "bad input row", "bad fate opening", "fate rule broken", "bad output row", "no response"];
const PURCHASE_STATUS = ["", "pending", "delivered (objection window open)", "objected", "paid out", "refunded"];
const QUALITY_SET = keccak256(stringToHex("datasoil.quality.v1"));

interface Wallet {
  client: WalletClient;
  account: Address;
  chainId: number;
}

const state: {
  chain?: Chain;
  all: Map<bigint, Dataset>;
  wallet?: Wallet;
  keys: Map<string, EncryptionKey>;
  watching?: number;
  /** Counts route() calls: a view drawn for an older one must not overwrite a newer. */
  epoch: number;
} = { all: new Map(), keys: new Map(), epoch: 0 };

/** Whether the view started in `epoch` has been replaced (the index answers take time). */
const stale = (epoch: number) => epoch !== state.epoch;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const esc = (s: unknown) =>
  String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
const short = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;
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
    void route();
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

async function guarded(action: () => Promise<void>): Promise<void> {
  clearError();
  try {
    await action();
  } catch (error) {
    console.error(error);
    showError(explain(error));
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

async function connect(): Promise<void> {
  const provider = window.ethereum;
  if (!provider) throw new Error("No wallet found: install MetaMask, Rabby or another EIP-1193 wallet");
  const client = createWalletClient({ chain: deploymentChain(), transport: custom(provider) });
  const [account] = await client.requestAddresses();
  const chainId = await client.getChainId();
  state.wallet = { client, account: getAddress(account), chainId };
  provider.on?.("accountsChanged", () => void guarded(connect));
  provider.on?.("chainChanged", () => void guarded(connect));
  showWallet();
  await route();
}

function showWallet(): void {
  const w = state.wallet;
  const expected = state.chain?.deployment.chainId;
  $("account").textContent = w ? w.account : "";
  $("connect").textContent = w ? "Reconnect" : "Connect wallet";
  $("network").textContent = w ? `chain ${w.chainId}` : "no wallet";
  const warning = $("warning");
  warning.hidden = !w || w.chainId === expected;
  if (!warning.hidden) {
    warning.innerHTML = `Your wallet is on chain ${w!.chainId}, but datasoil is deployed on chain ${expected}.
      Switch networks to buy or list. <button id="switch">Switch to chain ${expected}</button>`;
    $("switch").onclick = () =>
      void guarded(async () => {
        await w!.client.switchChain({ id: expected! });
        await connect();
      });
  }
}

function requireWallet(): Wallet {
  const w = state.wallet;
  if (!w) throw new Error("Connect a wallet first");
  if (w.chainId !== state.chain!.deployment.chainId) {
    throw new Error(`Switch your wallet to chain ${state.chain!.deployment.chainId} first`);
  }
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
  if (receipt.status !== "success") throw new Error(`The ${functionName} transaction failed on chain`);
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
  const all = new Map((await datasets(chain)).map((d) => [d.id, d]));
  if (stale(epoch)) return;
  state.all = all;
  const match = /^#\/dataset\/(\d+)/.exec(location.hash);
  if (match) await datasetView(BigInt(match[1]));
  else await listView();
}

async function listView(): Promise<void> {
  const chain = state.chain!;
  const epoch = state.epoch;
  const listed = new Map(
    (await chain.api<IndexedEvent[]>("listings")).map((e) => [BigInt(e.args.dataset_id), e]),
  );
  if (stale(epoch)) return;
  const rows = [...state.all.values()].map((d) => {
    const listing = listed.get(d.id);
    const price = listing ? formatUnits(BigInt(listing.args.price), 18) : "not for sale";
    return `<tr data-id="${d.id}">
      <td><a href="#/dataset/${d.id}">#${d.id}</a></td>
      <td class="mono" title="${esc(d.owner)}">${short(d.owner)}</td>
      <td>${d.rowCount}</td><td>${esc(d.license)}</td>
      <td>${d.private ? '<span class="badge private">private</span>' : '<span class="badge">public</span>'}</td>
      <td>${d.parents.map((p) => `<a href="#/dataset/${p}">#${p}</a>`).join(" ") || "—"}</td>
      <td class="mono">${esc(d.contentCid)}</td><td>${price}</td></tr>`;
  });
  $("view").innerHTML = `<h1>Datasets</h1>
    <p>${state.all.size} datasets registered on chain ${chain.deployment.chainId}.</p>
    <table id="datasets"><thead><tr><th>id</th><th>owner</th><th>rows</th><th>license</th>
    <th>access</th><th>parents</th><th>content CID</th><th>price (SOIL)</th></tr></thead>
    <tbody>${rows.join("")}</tbody></table>`;
}

async function datasetView(id: bigint): Promise<void> {
  const d = state.all.get(id);
  if (!d) {
    $("view").innerHTML = `<p>There is no dataset #${id} on this chain.</p>`;
    return;
  }
  $("view").innerHTML = `<h1>Dataset #${d.id} <span id="title"></span></h1>
    <section id="info"><h2>Commitments</h2><table>
      <tr><th>owner</th><td class="mono">${esc(d.owner)}</td></tr>
      <tr><th>content CID</th><td class="mono"><a href="${esc(gatewayUrl() + d.contentCid)}">${esc(d.contentCid)}</a></td></tr>
      <tr><th>metadata CID</th><td class="mono">${esc(d.metadataCid)}</td></tr>
      <tr><th>row root</th><td class="mono">${d.rowRoot}</td></tr>
      <tr><th>rows</th><td>${d.rowCount}</td></tr>
      <tr><th>license</th><td>${esc(d.license)}</td></tr>
      <tr><th>access</th><td>${d.private ? "private (encrypted; keyed row hashes)" : "public"}</td></tr>
      ${d.versionOf ? `<tr><th>new version of</th><td><a href="#/dataset/${d.versionOf}">#${d.versionOf}</a></td></tr>` : ""}
    </table></section>
    <section id="metadata"><h2>Metadata (Croissant)</h2><p class="status">Fetching…</p></section>
    <section id="market"><h2>Access</h2><p class="status">Loading…</p></section>
    <section id="lineage"><h2>Lineage</h2></section>
    <section id="quality"><h2>Quality</h2><p class="status">Loading…</p></section>
    <section id="claims"><h2>Cleaning claims</h2><p class="status">Loading…</p></section>
    <section id="owner" hidden></section>`;
  const epoch = state.epoch;
  const detail = await datasetDetail(state.chain!, d.id);
  if (stale(epoch)) return;
  const parts = [metadataPanel(d), marketPanel(d), lineagePanel(d, detail), qualityPanel(d), claimsPanel(d)];
  for (const result of await Promise.allSettled(parts)) {
    if (result.status === "rejected") showError(explain(result.reason));
  }
}

async function metadataPanel(d: Dataset): Promise<void> {
  const box = $("metadata");
  const url = gatewayUrl() + d.metadataCid;
  const epoch = state.epoch;
  try {
    const answer = await fetch(url);
    if (!answer.ok) throw new Error(`The gateway answered ${answer.status}: ${(await answer.text()).trim()}`);
    const doc = await answer.json();
    if (stale(epoch)) return;
    $("title").textContent = doc.name ?? "";
    const fields = (doc.recordSet?.[0]?.field ?? []) as { name: string; dataType?: string | string[] }[];
    box.innerHTML = `<h2>Metadata (Croissant)</h2>
      <p><b>${esc(doc.name ?? "")}</b> — ${esc(doc.description ?? "")}</p>
      <p>creator: ${esc(doc.creator?.name ?? doc.creator ?? "unknown")}; CID profile: ${esc(doc["datasoil:cidProfile"] ?? "?")}</p>
      <p>schema: ${fields.map((f) => `<code>${esc(f.name)}: ${esc(([] as string[]).concat(f.dataType ?? []).join(","))}</code>`).join(" ") || "—"}</p>
      <p><a href="${esc(url)}">the document</a> through ${esc(gatewayUrl())}</p>`;
  } catch (error) {
    if (stale(epoch)) return;
    box.innerHTML = `<h2>Metadata (Croissant)</h2><p class="bad">Could not fetch ${esc(d.metadataCid)} through ${esc(gatewayUrl())}: ${esc(explain(error))}</p>`;
  }
}

function nodeBox(id: bigint, self: boolean, inRoyalty: boolean): string {
  const d = state.all.get(id);
  if (!d) return `<div class="node">#${id}</div>`;
  return `<div class="node${self ? " self" : ""}" data-id="${id}"><a href="#/dataset/${id}">#${id}</a>
    ${d.private ? '<span class="badge private">private</span>' : ""}<br>
    <small>${d.rowCount} rows · ${esc(d.license)} · ${short(d.owner)}</small>
    ${inRoyalty ? "<br><small>receives royalties</small>" : ""}</div>`;
}

async function lineagePanel(d: Dataset, detail: DatasetDetail): Promise<void> {
  const chain = state.chain!;
  const epoch = state.epoch;
  const up = layers(state.all, d.id, true).reverse();
  const down = layers(state.all, d.id, false);
  const royalty = new Set(detail.ancestors.slice(0, 8));
  const column = (ids: bigint[]) =>
    `<div class="column">${ids.map((i) => nodeBox(i, i === d.id, royalty.has(i))).join("")}</div>`;
  const graph = [...up.map(column), column([d.id]), ...down.map(column)].join('<span class="arrow">→</span>');
  const listing = await chain.read("AccessMarket", "listing", [d.id]);
  const price = listing.price > 0n ? listing.price : 10n ** 18n;
  const credits = (await chain.read("AccessMarket", "quote_release", [d.id, price])) as {
    dataset_id: bigint;
    account: Address;
    amount: bigint;
  }[];
  const path = credits
    .map((c) => `<li>#${c.dataset_id} (${short(c.account)}): ${formatUnits(c.amount, 18)} SOIL${c.dataset_id === d.id ? " — the seller" : ""}</li>`)
    .join("");
  if (stale(epoch)) return;
  $("lineage").innerHTML = `<h2>Lineage</h2>
    <p>Ancestors on the left, descendants on the right; arrows point from parent to child.</p>
    <div class="lineage" id="graph">${graph}</div>
    ${detail.versions.length > 1 ? `<p id="versions">Versions: ${detail.versions.map((v) => `<a href="#/dataset/${v}">#${v}</a>`).join(" → ")}</p>` : ""}
    <h3>Royalty path</h3>
    <p>A sale of ${formatUnits(price, 18)} SOIL releases (breadth-first over at most 8 distinct ancestors,
    as AccessMarket.quote_release computes it now):</p><ol id="royalties">${path}</ol>`;
}

async function qualityPanel(d: Dataset): Promise<void> {
  const chain = state.chain!;
  const epoch = state.epoch;
  const logs = await chain.api<IndexedEvent[]>(`datasets/${d.id}/attestations`);
  const sets = [...new Set(logs.map((l) => l.args.metric_set as Hex))];
  if (!sets.includes(QUALITY_SET)) sets.unshift(QUALITY_SET);
  const trusted = trustedAttesters();
  const now = BigInt(Math.floor(Date.now() / 1000));
  const rows = await Promise.all(
    sets.map(async (set) => {
      const agg = await chain.read("Attestations", "aggregate", [d.id, set]);
      const scores: bigint[] = [];
      for (const a of trusted) {
        const r = await chain.read("Attestations", "record", [a, d.id, set]);
        if (r.active && !r.revoked && (r.expiry === 0n || r.expiry > now)) scores.push(BigInt(r.score));
      }
      const mean = (sum: bigint, n: bigint) => (n ? `${(Number(sum) / Number(n) / 100).toFixed(2)}%` : "—");
      const name = set === QUALITY_SET ? "datasoil.quality.v1" : `<code>${short(set)}</code>`;
      return `<tr><td>${name}</td><td>${mean(agg.sum, agg.count)} over ${agg.count}</td>
        <td>${mean(scores.reduce((x, y) => x + y, 0n), BigInt(scores.length))} over ${scores.length}</td></tr>`;
    }),
  );
  const attesters = [...new Set(logs.map((l) => l.args.attester as Address))];
  if (stale(epoch)) return;
  $("quality").innerHTML = `<h2>Quality</h2>
    <table><tr><th>metric set</th><th>all attesters (on chain)</th><th>trusted attesters (${trusted.length})</th></tr>${rows.join("")}</table>
    <p>Attesters seen: ${attesters.map((a) => `<code>${a}</code>`).join(", ") || "none"}. Edit the trusted list under Settings.</p>`;
}

async function claimsPanel(d: Dataset): Promise<void> {
  const chain = state.chain!;
  const epoch = state.epoch;
  const logs = await chain.api<IndexedEvent[]>(`datasets/${d.id}/claims`);
  if (stale(epoch)) return;
  if (!logs.length) {
    $("claims").innerHTML = "<h2>Cleaning claims</h2><p>No cleaning claim names this dataset.</p>";
    return;
  }
  const items = await Promise.all(
    logs.map(async (l) => {
      const a = l.args;
      const c = await chain.read("CleaningProofs", "claim", [BigInt(a.claim_id)]);
      const audits = (c.audits as any[])
        .map((x, i) => `<li>audit ${i} by ${short(x.auditor)}: ${AUDIT_STATE[x.state]}${x.reason ? ` (${AUDIT_REASON[x.reason]})` : ""}</li>`)
        .join("");
      return `<li data-claim="${a.claim_id}">claim #${a.claim_id}: #${a.parent_id} → #${a.child_id}, ${a.rows_in} rows in, ${a.rows_out} out;
        status <b>${CLAIM_STATUS[c.status]}</b>; challenge window ends at block ${c.window_end};
        claimant ${short(c.claimant)}; bond ${formatUnits(BigInt(a.bond), 18)} SOIL
        <ul>${audits || "<li>no audits yet</li>"}</ul></li>`;
    }),
  );
  if (stale(epoch)) return;
  $("claims").innerHTML = `<h2>Cleaning claims</h2><ul>${items.join("")}</ul>`;
}

async function marketPanel(d: Dataset): Promise<void> {
  const chain = state.chain!;
  const epoch = state.epoch;
  const w = state.wallet;
  const listing = await chain.read("AccessMarket", "listing", [d.id]);
  const token = chain.contract("DemoToken").address;
  const terms = listing.active
    ? `Listed at <b id="price">${formatUnits(listing.price, 18)}</b> SOIL for ${Number(listing.duration) / 86400} days of access
       (${Number(listing.upstream_bps) / 100}% to ancestors).`
    : "Not for sale.";
  let mine = "<p>Connect a wallet to see your access.</p>";
  if (w) {
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
  const buy = listing.active
    ? `<form class="inline" id="buy-form"><label>pay with
        <select id="buy-method"><option value="approve">approve + buy</option><option value="permit">permit signature + buy</option></select></label>
        <button id="buy" type="submit">Buy access</button></form><p id="buy-status" class="status"></p>`
    : "";
  if (stale(epoch)) return;
  $("market").innerHTML = `<h2>Access</h2><p>${terms}</p>${mine}${buy}`;
  const form = document.getElementById("buy-form");
  if (form) form.onsubmit = (e) => (e.preventDefault(), void guarded(() => buyAccess(d, listing, token)));
  await ownerPanel(d, listing);
}

async function refreshMarket(d: Dataset): Promise<void> {
  if (state.watching) window.clearInterval(state.watching);
  state.watching = undefined;
  await guarded(() => marketPanel(d));
}

async function buyAccess(d: Dataset, listing: any, token: Address): Promise<void> {
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
  void token;
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
  box.innerHTML = `<h2>Owner</h2>
    <form class="inline" id="list-form">
      <label>price (SOIL)<input id="list-price" value="${listing.price ? formatUnits(listing.price, 18) : "10"}" size="8"></label>
      <label>access (days)<input id="list-days" value="${listing.duration ? Number(listing.duration) / 86400 : 30}" size="5"></label>
      <label>to ancestors (bps)<input id="list-bps" value="${listing.lister !== "0x0000000000000000000000000000000000000000" ? listing.upstream_bps : 1000}" size="6"></label>
      <label title="keccak256 of the content key: ape run market listing ID prints it after a CLI listing">key commitment<input id="list-commitment" value="${sameOwner(listing, w.account) ? listing.key_commitment : ""}" size="20" placeholder="0x…"></label>
      <button type="submit" id="list">${listing.active ? "Reprice" : "List"}</button>
      ${listing.active ? '<button type="button" id="delist">Delist</button>' : ""}
    </form>
    <p>Withdrawable: <span id="credit">${formatUnits(credit, 18)}</span> SOIL <button id="withdraw">Withdraw</button></p>
    <p id="owner-status" class="status"></p>`;
  const status = $("owner-status");
  $("list-form").onsubmit = (e) => {
    e.preventDefault();
    void guarded(async () => {
      const price = parseUnits($<HTMLInputElement>("list-price").value.trim() || "0", 18);
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
  try {
    state.chain = await loadChain();
  } catch (error) {
    $("view").textContent = `Cannot load the deployment: ${explain(error)}`;
    return;
  }
  window.addEventListener("hashchange", () => void guarded(route));
  await guarded(route);
  document.body.dataset.ready = "1";
}

void start();
