// A headless Chromium (Debian's, through playwright-core) driven by JSON lines on stdin,
// one answer line per request on stdout: {"id", "ok", "value"} or {"id", "ok": false,
// "error"}. tests/e2e/web/browser.py is its Python side. Each `open` starts a fresh
// browser context with the test wallet of wallet.mjs injected (or none, "none").
import { chromium } from "playwright-core";
import { createInterface } from "node:readline";
import { installWallet } from "./wallet.mjs";

const [executablePath] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath,
  headless: true,
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let context = null;
let page = null;
let log = [];

async function open({ viewport, wallet, node }) {
  if (context) await context.close();
  log = [];
  context = await browser.newContext({ viewport: viewport ?? { width: 1200, height: 900 } });
  page = await context.newPage();
  page.on("console", (m) => log.push(`${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => log.push(`pageerror: ${e.message}`));
  if (!wallet || wallet.kind === "none") return null;
  await installWallet(page, wallet, node);
  return null;
}

async function tamper(pattern) {
  // Serve the real answer with one byte flipped for every URL containing `pattern`.
  await page.route((url) => url.href.includes(pattern), async (route) => {
    const response = await route.fetch();
    const body = Buffer.from(await response.body());
    if (body.length) body[body.length >> 1] ^= 0x01;
    await route.fulfill({ response, body });
  });
  return null;
}

async function tabUntil(selector, max) {
  for (let i = 1; i <= max; i++) {
    await page.keyboard.press("Tab");
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return i;
  }
  throw new Error(`Tab did not reach ${selector} in ${max} presses (last: ${await page.evaluate(() => document.activeElement?.outerHTML.slice(0, 120))})`);
}

const ops = {
  open,
  goto: ({ url }) => page.goto(url).then(() => null),
  wait: ({ selector, timeout, state }) => page.waitForSelector(selector, { timeout: timeout ?? 30000, state: state ?? "visible" }).then(() => null),
  eval: ({ js }) => page.evaluate(js),
  wait_fn: ({ js, timeout }) => page.waitForFunction(js, null, { timeout: timeout ?? 30000 }).then(() => null),
  click: ({ selector }) => page.click(selector).then(() => null),
  fill: ({ selector, value }) => page.fill(selector, value).then(() => null),
  select: ({ selector, value }) => page.selectOption(selector, value).then(() => null),
  press: ({ key }) => page.keyboard.press(key).then(() => null),
  tab_until: ({ selector, max }) => tabUntil(selector, max ?? 40),
  upload: ({ selector, path }) => page.setInputFiles(selector, path).then(() => null),
  tamper: ({ pattern }) => tamper(pattern),
  screenshot: ({ path, full }) => page.screenshot({ path, fullPage: full ?? true }).then(() => null),
  log: () => log,
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  if (!line.trim()) continue;
  const request = JSON.parse(line);
  let answer;
  try {
    const op = ops[request.op];
    if (!op) throw new Error(`unknown op ${request.op}`);
    answer = { id: request.id, ok: true, value: (await op(request)) ?? null };
  } catch (error) {
    answer = { id: request.id, ok: false, error: String(error?.message ?? error), log };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
await browser.close();
