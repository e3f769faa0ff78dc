// Small helpers every view shares: element lookup, HTML escaping, short addresses.

export const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

export const esc = (s: unknown) =>
  String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

export const short = (a: string) => `${a.slice(0, 6)}…${a.slice(-4)}`;

/** A score in basis points (0..10,000) as a percentage with one decimal. */
export const percent = (bps: number) => `${(bps / 100).toFixed(1)}%`;

/** A short-lived element-local message, for the places a view says what it is doing. */
export function say(el: HTMLElement | null, text: string, cls = "status"): void {
  if (!el) return;
  el.className = cls;
  el.textContent = text;
}
