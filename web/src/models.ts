// Model pages: what a registered model was made of (datasets and rows used, receipts,
// parent models), how a licence sale is split (ModelRegistry.quote_sale, read now), its
// bill of materials, and the "was this row in the model?" checker — the bundle comes
// from the gateway (or a file `ape run model prove` wrote) and every proof in it is
// verified in this page against the roots the chain holds (proofs.ts), then confirmed by
// ModelRegistry's own verify_row / verify_row_absent views.
import { formatUnits, type Address, type Hex } from "viem";
import type { Chain } from "./chain";
import { explain } from "./errors";
import { ProofRefused, verifyBundle, type Bundle, type Roots } from "./proofs";
import { esc, short } from "./util";

export interface ModelJson {
  id: number;
  owner: Address;
  name: string | null;
  license: string;
  version_of: number;
  weights_cid: string;
  manifest_cid: string;
  manifest_root: Hex;
  manifest_size: number;
  config_cid: string | null;
  datasets: { dataset_id: number; row_root: Hex; rows_used: number; name: string | null; row_count: number; private: boolean; receipt: number | null; parents: number[] }[];
  parents: number[];
  data_bps: number;
  parents_bps: number;
  receipts: number[];
  composition: unknown;
  listing: null | { price: string; token: Address; duration: string };
  sales: number;
  block: number;
}

function card(m: ModelJson): string {
  const rows = m.datasets.reduce((s, d) => s + d.rows_used, 0);
  return `<li class="card" data-model="${m.id}"><h2><a href="#/model/${m.id}">${esc(m.name ?? `model #${m.id}`)}</a> <small class="muted">#${m.id}</small></h2>
    <p class="facts"><span class="badge license">${esc(m.license)}</span> <span class="badge">${rows.toLocaleString("en")} rows from ${m.datasets.length} dataset${m.datasets.length === 1 ? "" : "s"}</span>
    ${m.listing ? `<span class="badge price">${formatUnits(BigInt(m.listing.price), 18)} SOIL a licence</span>` : '<span class="badge muted">not for sale</span>'}
    <span class="owner mono" title="${esc(m.owner)}">owner ${short(m.owner)}</span></p></li>`;
}

export async function modelsView(chain: Chain, view: HTMLElement): Promise<void> {
  const models = await chain.api<ModelJson[]>("models");
  view.innerHTML = `<h1>Models</h1><p id="count">${models.length} model${models.length === 1 ? "" : "s"} registered, each with the rows it was trained on.</p>
    <ol id="models" class="cards">${models.map(card).join("")}</ol>`;
}

/** The roots the chain holds, read through the gateway's read-only /rpc. */
export function chainRoots(chain: Chain): Roots {
  const rows = async (dataset: bigint) => ({
    root: (await chain.read("DatasetRegistry", "row_root", [dataset])) as Hex,
    count: BigInt(await chain.read("DatasetRegistry", "row_count", [dataset])),
  });
  return {
    manifest: async (model) => ({
      root: (await chain.read("ModelRegistry", "manifest_root", [model])) as Hex,
      size: BigInt(await chain.read("ModelRegistry", "manifest_size", [model])),
    }),
    rows,
    fateRoot: async (claim) => {
      const c = await chain.read("CleaningProofs", "claim", [claim]);
      const [parent, child] = [BigInt(c.parent_id), BigInt(c.child_id)];
      return { root: c.fate_root as Hex, parent, child, rowsIn: (await rows(parent)).count, rowsOut: (await rows(child)).count };
    },
  };
}

type Entry = Bundle["direct"];

/** ModelRegistry's own answer for one entry proof of the bundle (an eth_call). */
async function onChain(chain: Chain, model: bigint, e: Entry): Promise<boolean> {
  const path = (o: { path: Hex[] } | null) => (o ? o.path : []);
  if (e.inclusion) {
    return (await chain.read("ModelRegistry", "verify_row", [model, BigInt(e.dataset_id), BigInt(e.row_index), BigInt(e.inclusion.position), path(e.inclusion)])) as boolean;
  }
  const a = e.absence!;
  const nb = (o: { dataset_id: number | string; row_index: number | string; path: Hex[] } | null) => ({
    dataset_id: o ? BigInt(o.dataset_id) : 0n,
    row_index: o ? BigInt(o.row_index) : 0n,
    path: path(o),
  });
  return (await chain.read("ModelRegistry", "verify_row_absent", [model, BigInt(e.dataset_id), BigInt(e.row_index), BigInt(a.position), nb(a.left), nb(a.right)])) as boolean;
}

/** Check `bundle` in the page, then with ModelRegistry; show the verdict in #verdict. */
export async function check(chain: Chain, model: bigint, dataset: bigint, row: bigint, bundle: Bundle): Promise<void> {
  const out = document.getElementById("verdict")!;
  out.className = "status";
  out.textContent = "Checking the proofs…";
  try {
    const verdict = await verifyBundle(bundle, model, dataset, row, chainRoots(chain));
    const entries = [bundle.direct, ...(bundle.via ? [bundle.via] : [])];
    const confirmed = (await Promise.all(entries.map((e) => onChain(chain, model, e)))).every(Boolean);
    if (!confirmed) throw new ProofRefused("The proofs verify in this page, but ModelRegistry does not confirm them: do not trust this bundle.");
    out.className = verdict.used ? "verdict yes" : "verdict no";
    out.dataset.used = String(verdict.used);
    out.textContent = `${verdict.sentence} Checked in this page and by ModelRegistry on chain.`;
  } catch (error) {
    out.className = "verdict bad";
    out.dataset.used = "";
    out.textContent = error instanceof ProofRefused ? error.message : `The check failed: ${explain(error)}`;
  }
}

export async function modelView(chain: Chain, view: HTMLElement, id: bigint): Promise<void> {
  const m = await chain.api<ModelJson>(`models/${id}`);
  const listing = await chain.read("ModelRegistry", "listing", [id]);
  const price: bigint = listing.active ? listing.price : 10n ** 18n;
  const credits = (await chain.read("ModelRegistry", "quote_sale", [id, m.composition, price])) as { dataset_id: bigint; model_id: bigint; account: Address; amount: bigint }[];
  const name = m.name ?? `Model #${m.id}`;
  document.title = `${name} — datasoil`;
  const ingredients = m.datasets
    .map(
      (d) => `<tr data-id="${d.dataset_id}"><td><a href="#/dataset/${d.dataset_id}">${esc(d.name ?? `dataset #${d.dataset_id}`)}</a> <small class="muted">#${d.dataset_id}</small></td>
      <td>${d.rows_used.toLocaleString("en")} of ${d.row_count.toLocaleString("en")}</td><td>${d.private ? "private" : "public"}</td>
      <td>${d.receipt ? `purchase #${d.receipt}` : d.private ? "owner's own" : "not needed (public)"}</td></tr>`,
    )
    .join("");
  // One line per payee and role (a dataset reached through two ingredients is paid twice).
  const payees = new Map<string, { who: string; account: Address; amount: bigint }>();
  for (const c of credits) {
    const who = c.dataset_id ? `dataset #${c.dataset_id}` : c.model_id === id ? "the model's owner" : `parent model #${c.model_id}`;
    const key = `${who}|${c.account}`;
    const seen = payees.get(key) ?? { who, account: c.account, amount: 0n };
    seen.amount += c.amount;
    payees.set(key, seen);
  }
  const split = [...payees.values()]
    .map((p) => `<li>${p.who} (${short(p.account)}): <span title="${formatUnits(p.amount, 18)} SOIL">${Number(formatUnits(p.amount, 18)).toFixed(4)} SOIL</span></li>`)
    .join("");
  const checkable = [...new Set(m.datasets.flatMap((d) => [d.dataset_id, ...d.parents]))].sort((a, b) => a - b);
  const bom = (fmt: string, label: string) => `<a href="api/models/${id}/bom?format=${fmt}" download="model-${id}.${fmt}.json">${label}</a>`;
  view.innerHTML = `<header><h1>${esc(name)} <small class="muted">#${m.id}</small></h1>
      <p class="facts"><span class="badge license">${esc(m.license)}</span> <span class="owner mono" title="${esc(m.owner)}">owner ${short(m.owner)}</span>
      ${m.version_of ? `<span class="badge">new version of <a href="#/model/${m.version_of}">#${m.version_of}</a></span>` : ""}
      ${listing.active ? `<span class="badge price">${formatUnits(listing.price, 18)} SOIL for ${Number(listing.duration) / 86400} days</span>` : '<span class="badge muted">not for sale</span>'}</p></header>
    <section id="ingredients"><h2>Trained on</h2><div class="scroll"><table><thead><tr><th>dataset</th><th>rows used</th><th>access</th><th>receipt</th></tr></thead><tbody>${ingredients}</tbody></table></div>
      <p>${m.manifest_size.toLocaleString("en")} rows in the training manifest (root <code class="mono">${short(m.manifest_root)}</code>).
      ${m.parents.length ? `Parent models: ${m.parents.map((p) => `<a href="#/model/${p}">#${p}</a>`).join(", ")}.` : "No parent model."}</p></section>
    <section id="split"><h2>Who a licence pays</h2><p>${m.data_bps / 100}% to the data (pro rata to rows used, then up each dataset's lineage), ${m.parents_bps / 100}% to parent models, the rest to the owner. A sale of ${formatUnits(price, 18)} SOIL now credits:</p><ol id="sale-credits">${split}</ol></section>
    <section id="checker"><h2>Was this row in the model?</h2>
      <form id="check-form" class="inline">
        <label>dataset <select id="check-dataset">${checkable.map((d) => `<option value="${d}">#${d}</option>`).join("")}</select></label>
        <label>row <input id="check-row" inputmode="numeric" size="7" value="0" aria-describedby="row-help"></label>
        <button type="submit" id="check">Check</button>
      </form>
      <p id="row-help" class="muted">Rows count from 0, in the order the dataset's row root commits to. A row of a dataset cleaned into an ingredient is followed through its cleaning claim.</p>
      <p><label>…or check a bundle from <code>ape run model prove</code>: <input type="file" id="bundle-file" accept="application/json,.json"></label></p>
      <p id="verdict" class="status" aria-live="polite"></p></section>
    <section id="bom"><h2>Bill of materials</h2><p>Download: ${bom("cyclonedx", "CycloneDX 1.6")} · ${bom("spdx", "SPDX 3.0.1")} · ${bom("eu-summary", "EU training-data summary")}</p>
      <p class="muted">weights ${esc(m.weights_cid)} · manifest ${esc(m.manifest_cid)}${m.config_cid ? ` · config ${esc(m.config_cid)}` : ""}</p></section>`;
  const form = view.querySelector<HTMLFormElement>("#check-form")!;
  form.onsubmit = (e) => {
    e.preventDefault();
    void (async () => {
      const dataset = BigInt(view.querySelector<HTMLSelectElement>("#check-dataset")!.value);
      const text = view.querySelector<HTMLInputElement>("#check-row")!.value.trim();
      const out = document.getElementById("verdict")!;
      if (!/^\d+$/.test(text)) {
        out.className = "verdict bad";
        out.textContent = "The row must be a whole number from 0.";
        return;
      }
      out.className = "status";
      out.textContent = "Asking the gateway for the proofs…";
      try {
        const bundle = await chain.api<Bundle>(`models/${id}/rows/${dataset}/${text}`);
        await check(chain, id, dataset, BigInt(text), bundle);
      } catch (error) {
        out.className = "verdict bad";
        out.textContent = explain(error);
      }
    })();
  };
  view.querySelector<HTMLInputElement>("#bundle-file")!.onchange = (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    void file.text().then(async (text) => {
      const out = document.getElementById("verdict")!;
      let bundle: Bundle;
      try {
        bundle = JSON.parse(text) as Bundle;
      } catch {
        out.className = "verdict bad";
        out.textContent = `${file.name} is not JSON: expected a bundle from \`ape run model prove\`.`;
        return;
      }
      const whole = (v: unknown) => (typeof v === "number" || (typeof v === "string" && /^\d+$/.test(v)) ? BigInt(v) : -1n);
      await check(chain, id, whole(bundle.dataset_id), whole(bundle.row_index), bundle);
    });
  };
}
