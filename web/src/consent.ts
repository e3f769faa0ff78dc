// The consent panel of a dataset (docs/consent.md): whether it declares a subject
// column, its withdrawal requests and what became of each (open, answered by a new
// version, moved to the row it became there), whether its sales are paused — by a
// request on it or on an ancestor, or because a new version superseded it — and, for
// its owner or the subject a row names, a request filed through the wallet (the
// subject's with the row and its path, checked here against the row root first). Facts come from Consent's views
// (`dataset`, `paused`, `request`) through /rpc, the requests' history from the event
// index; answering takes a new version and a finalised cleaning claim, which is
// `ape run consent answer`'s work, so the panel names that command.
import { hexToBytes, type Address, type Hex } from "viem";
import type { Chain, Dataset, IndexedEvent } from "./chain";
import { leafHash, verifyInclusion } from "./proofs";
import { esc, short } from "./util";

/** `/api/datasets/<id>/subjects?address=`: the rows naming one subject, with their proofs. */
interface SubjectRows {
  column: number | null;
  kind: number | null;
  rows: { index: number; row: Hex; path: Hex[] }[];
}

const KIND = ["", "Ethereum addresses", "keccak256 commitments"];
const VIA = ["", "its subject", "the owner", "forwarded from the dataset it came from"];

/** A request's state (Consent.request): 1 open, 2 answered, 3 moved to the new version. */
interface RequestView {
  state: number;
  via: number;
  moved_to: bigint;
}

/** Sends a transaction through the wallet and waits for it (main.ts `send`). */
export type Send = (contract: string, functionName: string, args: unknown[], status: HTMLElement) => Promise<unknown>;

/** Whether new sales of `d` are paused by Consent (false on a deployment without it). */
export async function salesPaused(chain: Chain, d: Dataset): Promise<boolean> {
  if (!chain.deployment.contracts.Consent) return false;
  return (await chain.read("Consent", "paused", [d.id])) as boolean;
}

/** The empty SubjectProof: an owner's request needs no proof (the contract ignores it). */
const NO_PROOF = { row: "0x", path: [], deadline: 0n, v: 0, r: `0x${"00".repeat(32)}`, s: `0x${"00".repeat(32)}`, secret: `0x${"00".repeat(32)}` };

/** Draw the panel into #consent; `guarded` shows a failed request as one sentence. */
export async function consentPanel(
  chain: Chain,
  d: Dataset,
  account: Address | undefined,
  send: Send,
  guarded: (action: () => Promise<void>) => Promise<void>,
  redraw: () => Promise<void>,
): Promise<void> {
  const box = document.getElementById("consent");
  if (!box) return;
  if (!chain.deployment.contracts.Consent) {
    box.innerHTML = "<h2>Consent</h2><p>This deployment has no Consent contract: rows cannot be withdrawn on chain.</p>";
    return;
  }
  const facts = await chain.read("Consent", "dataset", [d.id]);
  const paused = (await chain.read("Consent", "paused", [d.id])) as boolean;
  const events = await chain.api<IndexedEvent[]>("events", { contract: "Consent", dataset_id: d.id });
  const requested = events.filter((e) => e.name === "WithdrawalRequested");
  const views = await Promise.all(requested.map((e) => chain.read("Consent", "request", [d.id, BigInt(e.args.row_index)]) as Promise<RequestView>));
  const answeredBy = BigInt(facts.answered_by);
  const kind = Number(facts.kind);
  const subjects = kind
    ? `<p id="subjects">Column ${facts.column} names whom each row is about (${KIND[kind]}): that subject can ask for the row to leave (<code>ape run consent request ${d.id} ROW</code>), and so can the owner.</p>`
    : `<p id="subjects">No subject column is declared on chain: only the owner can file a withdrawal request for a row.</p>`;
  const sales = answeredBy
    ? `<p id="sales" class="bad" data-paused="true">Superseded: its withdrawal requests were answered by the new version <a href="#/dataset/${answeredBy}">#${answeredBy}</a> (claim #${facts.answer_claim}), which dropped the rows. New sales of this dataset stay paused; buy the new version.</p>`
    : paused
      ? `<p id="sales" class="bad" data-paused="true">Sales paused: a withdrawal request is open on this dataset or on a dataset it was made from, and no new sale goes through until its owner answers with a version that drops the row.</p>`
      : `<p id="sales" class="ok" data-paused="false">Sales open: no withdrawal request is open on this dataset or on what it was made from.</p>`;
  const rows = requested
    .map((e, i) => {
      const v = views[i];
      const state =
        v.state === 1
          ? '<span class="badge claim-disputed">open</span>'
          : v.state === 2
            ? `<span class="badge">answered</span>${answeredBy ? ` by <a href="#/dataset/${answeredBy}">#${answeredBy}</a>` : ""}`
            : `<span class="badge">moved</span> to row ${v.moved_to} of <a href="#/dataset/${answeredBy}">#${answeredBy}</a>`;
      return `<tr data-row="${esc(e.args.row_index)}" data-state="${v.state}"><td>${esc(e.args.row_index)}</td><td>${VIA[Number(e.args.via)] ?? "?"} (<span class="mono" title="${esc(e.args.requester)}">${short(e.args.requester)}</span>)</td><td>${e.block}</td><td>${state}</td></tr>`;
    })
    .join("");
  const table = requested.length
    ? `<div class="scroll"><table id="withdrawals"><thead><tr><th>row</th><th>requested by</th><th>block</th><th>state</th></tr></thead><tbody>${rows}</tbody></table></div>`
    : '<p id="withdrawals-none">No withdrawal request names this dataset.</p>';
  const owner = account !== undefined && account.toLowerCase() === d.owner.toLowerCase();
  // A subject of an address column files its own request with the row and its path.
  let mine: SubjectRows["rows"] = [];
  if (account && !owner && kind === 1 && !d.private && !answeredBy) {
    mine = (await chain.api<SubjectRows>(`datasets/${d.id}/subjects`, { address: account })).rows;
  }
  const filed = new Set(requested.map((e) => String(e.args.row_index)));
  const subjectForm = account && !owner && kind === 1 && !d.private && !answeredBy
    ? mine.length
      ? `<p id="your-rows">Rows naming you (${short(account)}): ${mine
          .map((r) => (filed.has(String(r.index)) ? `<span class="badge" data-row="${r.index}">row ${r.index}: requested</span>` : `<button type="button" class="subject-request" data-row="${r.index}">Withdraw row ${r.index}</button>`))
          .join(" ")}</p><p class="muted">Each row and its path under the row root are checked in this page before your wallet sends the request; the contract checks them again and that the row names you.</p><p id="consent-status" class="status" aria-live="polite"></p>`
      : `<p id="your-rows">No row of this dataset names you (${short(account)}).</p>`
    : "";
  const open = Number(facts.open_requests);
  const form =
    owner && !answeredBy
      ? `<form class="inline" id="withdraw-form"><label>row <input id="withdraw-row" inputmode="numeric" size="7" placeholder="0"></label>
          <button type="submit" id="request-withdrawal">Request its withdrawal</button></form>
        <p class="muted">As the owner you may file a request for any row, for a subject who asked you off chain; it pauses new sales of this dataset and of everything made from it until you answer.</p>
        ${open ? `<p>Answer the ${open} open request${open === 1 ? "" : "s"} with a new version that drops ${open === 1 ? "the row" : "the rows"}: <code>ape run consent answer ${d.id}</code></p>` : ""}
        <p id="consent-status" class="status" aria-live="polite"></p>`
      : "";
  box.innerHTML = `<h2>Consent</h2>${subjects}${sales}${table}${subjectForm}${form}`;
  for (const button of Array.from(box.querySelectorAll<HTMLButtonElement>("button.subject-request"))) {
    const found = mine.find((r) => String(r.index) === button.dataset.row)!;
    button.onclick = () =>
      void guarded(async () => {
        const status = box.querySelector<HTMLElement>("#consent-status")!;
        const root = (await chain.read("DatasetRegistry", "row_root", [d.id])) as Hex;
        const count = BigInt(await chain.read("DatasetRegistry", "row_count", [d.id]));
        const path = found.path.map((p) => hexToBytes(p));
        if (!verifyInclusion(BigInt(found.index), count, leafHash(hexToBytes(found.row)), path, hexToBytes(root))) {
          throw new Error(`The gateway's proof of row ${found.index} does not verify against the dataset's row root on chain: nothing was sent`);
        }
        const zero = `0x${"00".repeat(32)}`;
        const proof = { row: found.row, path: found.path, deadline: 0n, v: 0, r: zero, s: zero, secret: zero };
        await send("Consent", "request_withdrawal", [d.id, BigInt(found.index), proof], status);
        await redraw();
      });
  }
  const withdraw = box.querySelector<HTMLFormElement>("#withdraw-form");
  if (!withdraw) return;
  withdraw.onsubmit = (e) => {
    e.preventDefault();
    const status = box.querySelector<HTMLElement>("#consent-status")!;
    const text = box.querySelector<HTMLInputElement>("#withdraw-row")!.value.trim();
    void guarded(async () => {
      if (!/^\d+$/.test(text)) throw new Error("The row must be a whole number from 0");
      if (BigInt(text) >= d.rowCount) throw new Error(`The dataset has ${d.rowCount.toLocaleString("en")} rows: row ${text} is not one of them`);
      await send("Consent", "request_withdrawal", [d.id, BigInt(text), NO_PROOF], status);
      await redraw();
    });
  };
}
