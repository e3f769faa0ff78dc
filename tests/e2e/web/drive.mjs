// Drives the page in Debian's chromium with the test wallet of wallet.mjs as
// window.ethereum, recording the methods it was asked. Last, once the test stopped the gateway, the page navigates
// and shows the sentence it has for an event index that does not answer.
// Usage: node drive.mjs <config.json>; prints one JSON line with what the page showed.
import { chromium } from "playwright-core";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { installWallet } from "./wallet.mjs";

const cfg = JSON.parse(readFileSync(process.argv[2], "utf8"));
const userDir = mkdtempSync(join(tmpdir(), "datasoil-chromium-"));
const browser = await chromium.launchPersistentContext(userDir, {
  executablePath: cfg.chromium,
  headless: true,
  viewport: { width: 1200, height: 1000 },
  args: [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
  ],
});
const page = browser.pages()[0] ?? (await browser.newPage());
const log = [];
page.on("console", (m) => log.push(`${m.type()}: ${m.text()}`));
page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));

const walletMethods = new Set();
await installWallet(page, { kind: "legacy", account: cfg.account }, cfg.node, (m) => walletMethods.add(m));

const out = { log, walletMethods: [] };
const waitForFile = async (path) => {
  for (let i = 0; i < 600 && !existsSync(path); i++) await new Promise((r) => setTimeout(r, 100));
  if (!existsSync(path)) throw new Error(`timed out waiting for ${path}`);
};
const shot = (name) => page.screenshot({ path: join(cfg.shots, `web-${name}.png`), fullPage: true });
try {
  await page.goto(cfg.url);
  await page.waitForSelector("body[data-ready='1']", { timeout: 30000 });
  await page.click("#connect");
  await page.waitForFunction((a) => document.getElementById("account").textContent === a, cfg.account);
  out.network = await page.textContent("#network");
  await page.waitForSelector("#datasets li.card");
  const byId = (xs) => xs.sort((a, b) => Number(a) - Number(b));
  out.listed = byId(await page.$$eval("#datasets li.card", (rows) => rows.map((r) => r.dataset.id)));
  await shot("datasets");

  // The cleaned private child: lineage, claims, quality, metadata.
  await page.click(`#datasets li[data-id='${cfg.child}'] h2 a`);
  await page.waitForSelector("#lineage #graph");
  await page.waitForSelector("#schema #schema-table");
  await page.waitForSelector("#buy");
  out.title = await page.textContent("#title");
  out.lineage = byId(await page.$$eval("#graph .node", (ns) => ns.map((n) => n.dataset.id)));
  out.royalties = await page.$$eval("#royalties li", (ls) => ls.map((l) => l.textContent.trim()));
  out.claims = await page.$$eval("#claims [data-claim]", (ls) => ls.map((l) => l.textContent.replace(/\s+/g, " ").trim()));
  out.quality = (await page.textContent("#quality")).replace(/\s+/g, " ");
  out.before = {
    expiry: await page.getAttribute("#expiry", "data-expiry"),
    access: await page.textContent("#has-access"),
  };
  await shot("dataset");

  // The owner reprices while the page shows the old price (the test does it when it
  // sees the "loaded" marker): buying reverts and the page says so in a sentence.
  writeFileSync(join(cfg.work, "loaded"), "1");
  await waitForFile(join(cfg.work, "repriced"));
  await page.selectOption("#buy-method", "approve");
  await page.click("#buy");
  await page.waitForSelector("#error:not([hidden])", { timeout: 60000 });
  out.stale_error = await page.textContent("#error");

  // Reload: the new price; buy for real and wait for the keeper's delivery.
  await page.reload();
  await page.waitForSelector("body[data-ready='1']");
  await page.click("#connect");
  await page.waitForSelector("#buy");
  out.price = await page.textContent("#price");
  await page.selectOption("#buy-method", cfg.method);
  await page.click("#buy");
  await page.waitForSelector("#delivery .ok", { timeout: cfg.timeout_ms });
  out.delivery = (await page.textContent("#delivery")).replace(/\s+/g, " ").trim();
  out.after = {
    expiry: await page.getAttribute("#expiry", "data-expiry"),
    access: await page.textContent("#has-access"),
    shown: await page.textContent("#expiry"),
  };
  out.error = (await page.isVisible("#error")) ? await page.textContent("#error") : null;
  await shot("bought");

  // The gateway goes away: the next view says so in one sentence.
  writeFileSync(join(cfg.work, "done"), "1");
  await waitForFile(join(cfg.work, "gateway-down"));
  await page.evaluate(() => { location.hash = "#/"; });
  await page.waitForSelector("#error:not([hidden])", { timeout: 30000 });
  out.down_error = await page.textContent("#error");
} catch (error) {
  out.failure = String(error && error.stack || error);
  await shot("failure").catch(() => {});
} finally {
  out.walletMethods = [...walletMethods].sort();
  await browser.close();
}
console.log(JSON.stringify(out));
