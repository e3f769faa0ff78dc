// The dataset list: names and one-line descriptions from the Croissant metadata, rows,
// licence, quality badge, price, access and owner; search by text, filters by licence,
// access and price, sorting, pages. Everything comes from one paged query to the
// gateway's event index (/api/catalog), so a chain with thousands of datasets costs the
// page one small answer per screen. The query lives in the URL (#/?q=…), so a search
// can be bookmarked and the back button works.
import { formatUnits, parseUnits } from "viem";
import type { Chain } from "./chain";
import { esc, percent, short } from "./util";

export interface CatalogItem {
  id: number;
  name: string | null;
  description: string | null;
  license: string;
  row_count: number;
  private: boolean;
  owner: string;
  parents: number[];
  version_of: number;
  price: string | null;
  quality: null | { score: number; count: number; trusted: boolean };
}

export interface Catalog {
  total: number;
  page: number;
  per_page: number;
  pages: number;
  licenses: string[];
  items: CatalogItem[];
}

/** What the URL may carry (`per_page` too: 20 unless asked, at most 100). */
const FILTERS = ["q", "license", "access", "sale", "max_price", "sort", "page", "per_page"] as const;
const SORTS: [string, string][] = [
  ["newest", "newest first"],
  ["name", "name"],
  ["rows", "most rows"],
  ["quality", "best quality"],
  ["price", "lowest price"],
];

/** The list's query from the hash (`#/?q=…&license=…`). */
export function listQuery(hash: string): URLSearchParams {
  const at = hash.indexOf("?");
  return new URLSearchParams(at < 0 ? "" : hash.slice(at + 1));
}

export function qualityBadge(q: CatalogItem["quality"]): string {
  if (!q) return '<span class="badge muted" title="no quality attestation yet">no score</span>';
  const level = q.score >= 8000 ? "good" : q.score >= 6000 ? "fair" : "poor";
  const who = q.trusted ? `mean of ${q.count} trusted attester${q.count === 1 ? "" : "s"}` : `mean of ${q.count} attester${q.count === 1 ? "" : "s"} you have not marked trusted`;
  return `<span class="badge quality ${level}${q.trusted ? "" : " untrusted"}" title="quality score, ${esc(who)}">quality ${percent(q.score)}${q.trusted ? "" : "*"}</span>`;
}

function card(d: CatalogItem): string {
  const name = d.name ?? `dataset #${d.id}`;
  const price = d.price === null ? '<span class="badge muted">not for sale</span>' : `<span class="badge price">${esc(formatUnits(BigInt(d.price), 18))} SOIL</span>`;
  return `<li class="card" data-id="${d.id}">
    <h2><a href="#/dataset/${d.id}">${esc(name)}</a> <small class="muted">#${d.id}</small></h2>
    <p class="description">${esc(d.description || "No description in its metadata.")}</p>
    <p class="facts">${qualityBadge(d.quality)} ${price}
      <span class="badge${d.private ? " private" : ""}">${d.private ? "private" : "public"}</span>
      <span class="badge">${d.row_count.toLocaleString("en")} rows</span>
      <span class="badge license">${esc(d.license)}</span>
      ${d.parents.length ? `<span class="badge">derived from ${d.parents.map((p) => `#${p}`).join(", ")}</span>` : ""}
      ${d.version_of ? `<span class="badge">new version of #${d.version_of}</span>` : ""}
      <span class="owner mono" title="${esc(d.owner)}">owner ${short(d.owner)}</span></p></li>`;
}

function options(values: [string, string][], selected: string | null): string {
  return values.map(([v, label]) => `<option value="${esc(v)}"${v === (selected ?? "") ? " selected" : ""}>${esc(label)}</option>`).join("");
}

/** Draw the list into `view` for `query`, and keep it in step with the form. */
export async function listView(chain: Chain, view: HTMLElement, query: URLSearchParams, trusted: string[]): Promise<void> {
  view.innerHTML = `<h1>Datasets</h1>
    <form id="search" class="search" role="search">
      <label class="grow">Search <input id="q" type="search" name="q" placeholder="name, description, licence, owner or #id" value="${esc(query.get("q") ?? "")}" autocomplete="off"></label>
      <label>Licence <select id="f-license" name="license"><option value="">any</option></select></label>
      <label>Access <select id="f-access" name="access">${options([["", "any"], ["public", "public"], ["private", "private"]], query.get("access"))}</select></label>
      <label>Price <select id="f-sale" name="sale">${options([["", "any"], ["listed", "for sale"], ["unlisted", "not for sale"]], query.get("sale"))}</select></label>
      <label>at most <input id="f-max" name="max_price" inputmode="decimal" size="6" placeholder="SOIL" value="${esc(query.get("max_price") ?? "")}"></label>
      <label>Sort <select id="f-sort" name="sort">${options(SORTS, query.get("sort") ?? "newest")}</select></label>
    </form>
    <p id="count" class="status" aria-live="polite">Loading…</p>
    <ol id="datasets" class="cards"></ol>
    <nav id="pages" class="pages" aria-label="pages"></nav>`;
  const form = view.querySelector<HTMLFormElement>("#search")!;
  const state = new URLSearchParams(query);
  const load = async () => {
    const asked = state.toString();
    const ask: Record<string, string> = { per_page: "20" };
    for (const k of FILTERS) {
      const v = state.get(k);
      if (v) ask[k] = k === "max_price" ? parseUnits(v, 18).toString() : v;
    }
    if (trusted.length) ask.trusted = trusted.join(",");
    const found = await chain.api<Catalog>("catalog", ask);
    if (!form.isConnected) return;
    const licence = view.querySelector<HTMLSelectElement>("#f-license")!;
    licence.innerHTML = `<option value="">any</option>${options(found.licenses.map((l) => [l, l]), state.get("license"))}`;
    view.querySelector("#count")!.textContent =
      found.total === 0 ? "No dataset matches." : `${found.total} dataset${found.total === 1 ? "" : "s"}${found.pages > 1 ? `, page ${found.page} of ${found.pages}` : ""}.`;
    const list = view.querySelector<HTMLElement>("#datasets")!;
    list.innerHTML = found.items.map(card).join("");
    list.dataset.query = asked;
    const link = (page: number, label: string) => {
      const q = new URLSearchParams(state);
      q.set("page", String(page));
      return `<a href="#/?${esc(q.toString())}" data-page="${page}">${label}</a>`;
    };
    view.querySelector("#pages")!.innerHTML =
      found.pages > 1
        ? `${found.page > 1 ? link(found.page - 1, "← previous") : ""} <span>page ${found.page} of ${found.pages}</span> ${found.page < found.pages ? link(found.page + 1, "next →") : ""}`
        : "";
  };
  let timer: number | undefined;
  // The address this list was drawn for, or last wrote: a focused field removed when the
  // page navigates away fires "change", and must not write this list's query over the new
  // address.
  let ours = location.hash;
  const changed = () => {
    if (!form.isConnected || location.hash !== ours) return;
    for (const el of Array.from(form.elements) as HTMLInputElement[]) {
      if (!el.name) continue;
      if (el.value.trim()) state.set(el.name, el.value.trim());
      else state.delete(el.name);
    }
    state.delete("page");
    if (state.get("max_price") && !/^\d+(\.\d{1,18})?$/.test(state.get("max_price")!)) {
      view.querySelector("#count")!.textContent = "The highest price must be a number of SOIL, such as 12.5.";
      return;
    }
    history.replaceState(null, "", `#/?${state.toString()}`);
    ours = location.hash;
    window.clearTimeout(timer);
    timer = window.setTimeout(() => void load().catch(report), 200);
  };
  const report = (error: unknown) => {
    view.querySelector("#count")!.textContent = error instanceof Error ? error.message : String(error);
  };
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  form.addEventListener("submit", (e) => (e.preventDefault(), changed()));
  await load();
}
