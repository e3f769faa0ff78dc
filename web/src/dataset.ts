// The dataset page's panels, for a person judging the data: name and description, the
// schema as a table, a verified preview of the first rows (public data), the quality
// report as charts, the lineage drawn as a DAG with the royalty path, cleaning claims
// with their audits, disputes and verdicts, the models trained on it, and copy-paste
// snippets. Documents and rows are read block by block and checked against their CIDs
// in this page (blocks.ts); facts about the chain come from the event index (/api) and
// contract reads (/rpc).
import { concat, formatUnits, keccak256, pad, stringToHex, toHex, type Address, type Hex } from "viem";
import { cidOf, firstRows, readJson, VerifiedFile } from "./blocks";
import type { Chain, Dataset, IndexedEvent } from "./chain";
import { drawQuality, type QualityReport } from "./charts";
import { drawLineage, type LineageGraph } from "./lineage";
import { qualityBadge } from "./list";
import { esc, percent, short } from "./util";

export const QUALITY_SET = keccak256(stringToHex("datasoil.quality.v1"));
const CLAIM_STATUS = ["pending", "audited", "disputed", "finalised", "failed"];
const AUDIT_STATE = ["", "open", "passed", "failed", "void"];
const AUDIT_REASON = ["", "bad input row", "bad fate opening", "fate rule broken", "bad output row", "no response"];

/** The Croissant fields the page shows (formats/croissant.py writes them). */
export interface Croissant {
  name?: string;
  description?: string;
  license?: string;
  creator?: { name?: string } | string;
  "datasoil:cidProfile"?: string;
  distribution?: { name?: string; encodingFormat?: string; contentSize?: string; "datasoil:cid"?: string }[];
  recordSet?: { field?: { name: string; dataType?: string | string[]; "datasoil:type"?: string; "datasoil:nullable"?: boolean; description?: string }[] }[];
}

function section(id: string, title: string, body: string): string {
  return `<section id="${id}"><h2>${title}</h2>${body}</section>`;
}

/** Which skeleton the panels draw into: a panel started for an older one draws nothing. */
let drawn = 0;

/** The page's skeleton; each panel fills its section. */
export function skeleton(d: Dataset): string {
  drawn++;
  const loading = '<p class="status">Loading…</p>';
  return `<header class="dataset-head"><h1><span id="title">Dataset #${d.id}</span> <small class="muted">#${d.id}</small></h1>
      <p id="description" class="description"></p><p id="facts" class="facts"></p></header>
    ${section("market", "Access", loading)}
    ${section("snippets", "Use it", loading)}
    ${section("schema", "Schema", loading)}
    ${section("preview", "First rows", loading)}
    ${section("quality", "Quality", loading)}
    ${section("lineage", "Lineage", loading)}
    ${section("claims", "Cleaning claims", loading)}
    ${section("models", "Models trained on it", loading)}
    ${section("consent", "Consent", loading)}
    ${section("info", "Commitments", loading)}
    <section id="owner" hidden></section>`;
}

/** Fill section `id` if the skeleton it was started for (`since`) is still shown. */
function fill(since: number, id: string, title: string, body: string): void {
  const box = document.getElementById(id);
  if (box && since === drawn) box.innerHTML = `<h2>${title}</h2>${body}`;
}

/** Name, description, schema, commitments: the Croissant document, read verified. */
export async function metadataPanels(gateway: string, d: Dataset, listed: boolean): Promise<Croissant | null> {
  const since = drawn;
  let doc: Croissant | null = null;
  let problem = "";
  try {
    doc = await readJson<Croissant>(gateway, d.metadataCid);
  } catch (error) {
    problem = error instanceof Error ? error.message : String(error);
  }
  const name = doc?.name || `Dataset #${d.id}`;
  if (since !== drawn) return doc;
  document.getElementById("title")!.textContent = name;
  document.title = `${name} — datasoil`;
  document.getElementById("description")!.textContent = doc?.description ?? (problem ? `The metadata could not be read: ${problem}` : "");
  const creator = typeof doc?.creator === "string" ? doc.creator : doc?.creator?.name;
  document.getElementById("facts")!.innerHTML = `<span class="badge${d.private ? " private" : ""}">${d.private ? "private (encrypted)" : "public"}</span>
    <span class="badge">${d.rowCount.toLocaleString("en")} rows</span> <span class="badge license">${esc(d.license)}</span>
    <span class="owner mono" title="${esc(d.owner)}">owner ${short(d.owner)}</span>${creator && creator !== "unknown" ? ` · creator ${esc(creator)}` : ""}`;
  const fields = doc?.recordSet?.[0]?.field ?? [];
  fill(since, "schema",
    "Schema",
    fields.length
      ? `<div class="scroll"><table id="schema-table"><thead><tr><th>column</th><th>type</th><th>nullable</th></tr></thead><tbody>${fields
          .map(
            (f) =>
              `<tr><td><code>${esc(f.name)}</code></td><td>${esc(f["datasoil:type"] ?? ([] as string[]).concat(f.dataType ?? []).join(", "))}</td><td>${f["datasoil:nullable"] === false ? "no" : "yes"}</td></tr>`,
          )
          .join("")}</tbody></table></div>`
      : `<p class="bad">${esc(problem || "The metadata names no columns.")}</p>`,
  );
  const files = doc?.distribution ?? [];
  fill(since, "info",
    "Commitments",
    `<p>What the registry holds, and what every byte above was checked against.</p><div class="scroll"><table>
      <tr><th>content CID</th><td class="mono">${esc(d.contentCid)}</td></tr>
      <tr><th>metadata CID</th><td class="mono">${esc(d.metadataCid)}</td></tr>
      <tr><th>row root</th><td class="mono">${d.rowRoot}</td></tr>
      ${doc?.["datasoil:cidProfile"] ? `<tr><th>CID profile</th><td>${esc(doc["datasoil:cidProfile"])}</td></tr>` : ""}
      ${files.map((f) => `<tr><th>file</th><td>${esc(f.name ?? "")} (${esc(f.encodingFormat ?? "")}, ${esc(f.contentSize ?? "")})</td></tr>`).join("")}
    </table></div>`,
  );
  fill(since, "snippets",
    "Use it",
    `<p>Load it in Python (rows checked against the row root; a private dataset needs your purchase):</p>
    ${snippet(`import datasoil\ntable = datasoil.load(${d.id})`)}
    ${listed ? `<p>Buy access from a terminal:</p>${snippet(`ape run market buy ${d.id}`)}` : ""}`,
  );
  for (const b of Array.from(document.querySelectorAll<HTMLButtonElement>("#snippets button.copy"))) {
    b.onclick = () => {
      void navigator.clipboard?.writeText(b.previousElementSibling?.textContent ?? "").then(() => (b.textContent = "Copied"));
    };
  }
  return doc;
}

function snippet(code: string): string {
  return `<div class="snippet"><pre><code>${esc(code)}</code></pre><button type="button" class="copy">Copy</button></div>`;
}

/** The first rows of a public dataset, every block checked against the content CID:
 * CSV, TSV and JSON Lines from the file's first blocks, Parquet through hyparquet
 * reading the footer and the first row group by verified byte ranges. */
export async function previewPanel(gateway: string, d: Dataset, doc: Croissant | null): Promise<void> {
  const since = drawn;
  if (d.private) {
    fill(since, "preview", "First rows", "<p>This dataset is private: its blocks are ciphertext. Buy access to read it (the rows are checked against the row root when you load them).</p>");
    return;
  }
  const files = doc?.distribution ?? [];
  const file = files[0];
  const cid = file?.["datasoil:cid"] ?? d.contentCid;
  const format = file?.encodingFormat ?? "text/csv";
  const box = document.getElementById("preview")!;
  box.dataset.state = "loading";
  const max = 20;
  try {
    const source = await VerifiedFile.open(gateway, cid);
    let header: string[];
    let rows: string[][];
    if (/parquet/.test(format)) {
      const { parquetMetadataAsync, parquetReadObjects } = await import("hyparquet");
      const { compressors } = await import("hyparquet-compressors");
      const metadata = await parquetMetadataAsync(source);
      const objects = await parquetReadObjects({ file: source, metadata, compressors, rowEnd: Math.min(max, Number(metadata.num_rows)) });
      header = metadata.schema.slice(1).map((s) => s.name);
      rows = objects.map((o) => header.map((h) => (o[h] === null || o[h] === undefined ? "" : String(o[h]))));
    } else {
      const head = Math.min(source.byteLength, 64 * 1024);
      const bytes = await source.bytes(0, head);
      ({ header, rows } = firstRows(new TextDecoder().decode(bytes), format, head === source.byteLength, max));
    }
    fill(
      since,
      "preview",
      "First rows",
      `<p class="ok" id="preview-verified">Every block read was checked against ${esc(cid)} in this page.</p>
      <div class="scroll"><table id="preview-table"><thead><tr>${header.map((h) => `<th>${esc(h)}</th>`).join("")}</tr></thead>
      <tbody>${rows.map((r) => `<tr>${r.map((c) => `<td>${esc(c)}</td>`).join("")}</tr>`).join("")}</tbody></table></div>
      <p class="muted">${rows.length} of ${d.rowCount.toLocaleString("en")} rows from ${esc(file?.name ?? "the file")} (${esc(format)}).</p>`,
    );
    if (since === drawn) box.dataset.state = "verified";
  } catch (error) {
    fill(since, "preview", "First rows", `<p class="bad" id="preview-refused">${esc(error instanceof Error ? error.message : String(error))}</p>`);
    if (since === drawn) box.dataset.state = "refused";
  }
}

interface Attested extends IndexedEvent {
  revoked: boolean;
}

/** The quality summary (on-chain aggregate and the trusted attesters' mean) and the
 * latest report as charts. */
export async function qualityPanel(chain: Chain, gateway: string, d: Dataset, trusted: Address[]): Promise<void> {
  const since = drawn;
  const logs = await chain.api<Attested[]>(`datasets/${d.id}/attestations`);
  const now = BigInt(Math.floor(Date.now() / 1000));
  const latest = new Map<string, Attested>();
  for (const l of logs) if (l.args.metric_set === QUALITY_SET) latest.set(l.args.attester.toLowerCase(), l);
  const live = [...latest.values()].filter((l) => !l.revoked && (BigInt(l.args.expiry) === 0n || BigInt(l.args.expiry) > now));
  const trust = new Set(trusted.map((a) => a.toLowerCase()));
  const mine = live.filter((l) => trust.has(l.args.attester.toLowerCase()));
  const agg = await chain.read("Attestations", "aggregate", [d.id, QUALITY_SET]);
  const mean = (xs: Attested[]) => Math.floor(xs.reduce((s, l) => s + Number(l.args.score), 0) / xs.length);
  const badge = mine.length ? { score: mean(mine), count: mine.length, trusted: true } : live.length ? { score: mean(live), count: live.length, trusted: false } : null;
  const chosen = (mine.length ? mine : live).at(-1);
  const summary = `<p id="quality-badge">${qualityBadge(badge)} — ${
    agg.count ? `on chain, ${agg.count} attester${agg.count === 1n ? "" : "s"} average ${percent(Number(agg.sum) / Number(agg.count))}` : "no attester has scored this dataset"
  }; ${trusted.length ? `${mine.length} of your ${trusted.length} trusted attesters did` : "mark attesters you trust under Settings"}.</p>`;
  if (!chosen) {
    fill(since, "quality", "Quality", summary);
    return;
  }
  const r = chosen.args.report as { version: string; codec: string; digest: Hex };
  const cid = cidOf(Number(r.version), Number(r.codec), r.digest);
  fill(since, "quality",
    "Quality",
    `${summary}<p>The report by <span class="mono" title="${esc(chosen.args.attester)}">${short(chosen.args.attester)}</span>
      (score ${percent(Number(chosen.args.score))}, block ${chosen.block}), read from ${esc(cid)} and checked against it:</p>
      <div id="charts" class="charts"><p class="status">Drawing…</p></div>`,
  );
  if (since !== drawn) return;
  const charts = document.getElementById("charts")!;
  try {
    const report = await readJson<QualityReport>(gateway, cid);
    if (since !== drawn) return;
    drawQuality(charts, report);
  } catch (error) {
    charts.innerHTML = `<p class="bad">${esc(error instanceof Error ? error.message : String(error))}</p>`;
  }
}

/** The lineage DAG (ancestors, descendants, versions) with the royalty path of a sale. */
export async function lineagePanel(chain: Chain, d: Dataset): Promise<void> {
  const since = drawn;
  const graph = await chain.api<LineageGraph>(`datasets/${d.id}/graph`);
  const listing = await chain.read("AccessMarket", "listing", [d.id]);
  const price: bigint = listing.active ? listing.price : 10n ** 18n;
  const credits = (await chain.read("AccessMarket", "quote_release", [d.id, price])) as { dataset_id: bigint; account: Address; amount: bigint }[];
  const paid = new Map<number, bigint>();
  for (const c of credits) paid.set(Number(c.dataset_id), (paid.get(Number(c.dataset_id)) ?? 0n) + c.amount);
  const list = credits
    .map((c) => `<li data-id="${c.dataset_id}">#${c.dataset_id} (${short(c.account)}): ${formatUnits(c.amount, 18)} SOIL${c.dataset_id === d.id ? " — the seller" : ""}</li>`)
    .join("");
  fill(since, "lineage",
    "Lineage",
    `<p>Where it came from and what was made of it: arrows point from a dataset to what was derived from it (dashed: a new version).
      The highlighted datasets share a sale of ${formatUnits(price, 18)} SOIL${listing.active ? " (its price)" : ""}.</p>
    <div class="graph-box">${drawLineage(graph, Number(d.id), paid)}</div>
    <h3>Royalty path</h3><ol id="royalties">${list}</ol>
    <p class="muted">Breadth-first over at most 8 distinct ancestors, as AccessMarket.quote_release computes it now.</p>`,
  );
}

/** Cleaning claims naming the dataset, each with its audits, disputes and outcome. */
export async function claimsPanel(chain: Chain, d: Dataset): Promise<void> {
  const since = drawn;
  const logs = await chain.api<(IndexedEvent & { history: string[] })[]>(`datasets/${d.id}/claims`);
  if (!logs.length) {
    fill(since, "claims", "Cleaning claims", "<p>No cleaning claim names this dataset.</p>");
    return;
  }
  const items = await Promise.all(
    logs.map(async (l) => {
      const a = l.args;
      const c = await chain.read("CleaningProofs", "claim", [BigInt(a.claim_id)]);
      const events = await chain.api<IndexedEvent[]>("events", { contract: "CleaningProofs", claim_id: a.claim_id });
      const audits = (c.audits as { auditor: Address; state: number; reason: number }[])
        .map((x, i) => `<li>audit ${Number(c.first_audit) + i} by ${short(x.auditor)}: <b>${AUDIT_STATE[x.state]}</b>${x.reason ? ` (${AUDIT_REASON[x.reason]})` : ""}</li>`)
        .join("");
      const disputes = events.filter((e) => e.name === "ClaimDisputed" || e.name === "DisputeSettled");
      const dispute = disputes.map((e) =>
        e.name === "ClaimDisputed"
          ? `<li>disputed by ${short(e.args.disputer)} (bond ${formatUnits(BigInt(e.args.bond), 18)} SOIL) in block ${e.block}</li>`
          : `<li>dispute settled: ${formatUnits(BigInt(e.args.refunded), 18)} SOIL back to the disputer, ${formatUnits(BigInt(e.args.forfeited), 18)} to the claimant</li>`,
      );
      const verdicts = await reproductions(chain, BigInt(a.claim_id), BigInt(a.child_id));
      const status = CLAIM_STATUS[c.status];
      const role = a.child_id === String(d.id) ? `made this dataset from <a href="#/dataset/${a.parent_id}">#${a.parent_id}</a>` : `cleaned this dataset into <a href="#/dataset/${a.child_id}">#${a.child_id}</a>`;
      return `<li class="claim" data-claim="${a.claim_id}" data-status="${status}"><p><b>Claim #${a.claim_id}</b> ${role}: ${a.rows_in} rows in, ${a.rows_out} out.
        Status <span class="badge claim-${status}">${status}</span>; challenge window ends at block ${c.window_end}; claimant ${short(c.claimant)}.
        Re-execute it: <code>ape run verify ${a.claim_id}</code></p>
        <ul class="audits">${audits || "<li>no audits yet</li>"}${dispute.join("")}${verdicts}</ul></li>`;
    }),
  );
  fill(since, "claims", "Cleaning claims", `<p>A claim says a recipe turned one dataset into another; auditors sample rows and check the Merkle openings on chain.</p><ul class="claims">${items.join("")}</ul>`);
}

/** The metric set of claim `id`'s partial reproductions (protocol/metric_sets.py). */
function partialSet(id: bigint): Hex {
  return keccak256(concat([stringToHex("datasoil.reproduction.partial.v1"), pad(toHex(id), { size: 32 })]));
}

/** Re-execution verdicts of a claim: the attesters' latest reproduction attestations on
 * its child, full (`CleaningProofs.reproduction_metric_set`) or partial, as list items. */
async function reproductions(chain: Chain, claim: bigint, child: bigint): Promise<string> {
  const full = ((await chain.read("CleaningProofs", "reproduction_metric_set", [claim])) as Hex).toLowerCase();
  const partial = partialSet(claim).toLowerCase();
  const logs = await chain.api<Attested[]>(`datasets/${child}/attestations`);
  const latest = new Map<string, Attested>();
  for (const l of logs) {
    const set = String(l.args.metric_set).toLowerCase();
    if (set === full || set === partial) latest.set(`${l.args.attester.toLowerCase()}|${set}`, l);
  }
  return [...latest.values()]
    .filter((l) => !l.revoked)
    .map((l) => {
      const kind = String(l.args.metric_set).toLowerCase() === full ? "a full re-execution" : "a partial check";
      const said = Number(l.args.score) === 10000 ? '<b class="ok">reproduced</b>' : '<b class="bad">not reproduced</b>';
      return `<li class="verdict-line">verdict by ${short(l.args.attester)}, ${kind}: ${said} (block ${l.block})</li>`;
    })
    .join("");
}

interface ModelSummary {
  id: number;
  owner: string;
  license: string;
  name: string | null;
  datasets: { dataset_id: number; rows_used: number }[];
}

/** Models whose composition names this dataset. */
export async function modelsPanel(chain: Chain, d: Dataset): Promise<void> {
  const since = drawn;
  const models = await chain.api<ModelSummary[]>("models", { dataset: d.id });
  fill(since, "models",
    "Models trained on it",
    models.length
      ? `<ul id="trained">${models
          .map((m) => {
            const used = m.datasets.find((x) => x.dataset_id === Number(d.id))?.rows_used ?? 0;
            return `<li data-model="${m.id}"><a href="#/model/${m.id}">${esc(m.name ?? `model #${m.id}`)}</a> (#${m.id}, ${esc(m.license)}): ${used} of its rows used</li>`;
          })
          .join("")}</ul>`
      : "<p>No registered model names this dataset.</p>",
  );
}
