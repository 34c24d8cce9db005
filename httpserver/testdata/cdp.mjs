// Drives headless Chromium over the DevTools protocol for the e2e tests and
// for screenshots: load a page, wait until a JS condition holds (bounded),
// print the JSON value of an expression, optionally save a screenshot.
//
//   node [--experimental-websocket] cdp.mjs --url URL [--until EXPR] [--timeout MS]
//        [--eval EXPR] [--screenshot FILE.png] [--size 1280x900] [--chromium PATH]
//        [--every MS]
//
// With --every, the expression is evaluated every MS milliseconds until the
// timeout and the array of values is printed (exit 0).
//
// Exits 0 with the value on stdout, 2 if the condition did not hold in time
// (the value is still printed), 1 on other failures.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const opts = { timeout: '20000', size: '1280x900', chromium: 'chromium', eval: 'null', until: 'true' };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i += 2) opts[argv[i].replace(/^--/, '')] = argv[i + 1];
if (!opts.url) { console.error('--url is required'); process.exit(1); }
if (typeof WebSocket === 'undefined') { console.error('this node has no WebSocket: run with --experimental-websocket'); process.exit(1); }

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const freePort = () => new Promise((resolve, reject) => {
  const s = createServer();
  s.on('error', reject);
  s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
});

const deadline = Date.now() + Number(opts.timeout);
let chrome;
// Watchdog: whatever hangs, Chromium is killed and the script ends.
setTimeout(() => {
  console.error('cdp.mjs: watchdog expired');
  if (chrome) chrome.kill('SIGKILL');
  process.exit(3);
}, Number(opts.timeout) + 15000).unref();
const port = await freePort();
const profile = mkdtempSync(join(tmpdir(), 'cdp-'));
const [w, h] = opts.size.split('x');
chrome = spawn(opts.chromium, ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--mute-audio',
  '--autoplay-policy=no-user-gesture-required', `--window-size=${w},${h}`,
  `--user-data-dir=${profile}`, '--remote-debugging-address=127.0.0.1', `--remote-debugging-port=${port}`, 'about:blank'],
  { stdio: 'ignore' });
let code = 1;
try {
  let page;
  while (!page) {
    if (Date.now() > deadline) throw new Error('chromium did not start');
    try {
      const targets = await (await fetch(`http://127.0.0.1:${port}/json`)).json();
      page = targets.find((t) => t.type === 'page');
    } catch { await sleep(100); }
  }
  const ws = new WebSocket(page.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = reject; });
  let next = 0;
  const pending = new Map();
  ws.onmessage = (ev) => {
    const m = JSON.parse(ev.data);
    if (m.id && pending.has(m.id)) { pending.get(m.id)(m); pending.delete(m.id); }
    // Console output and browser log entries (CSP violations, failed
    // loads) go to stderr for whoever debugs a failure.
    if (m.method === 'Runtime.consoleAPICalled') {
      console.error(`console.${m.params.type}:`, m.params.args.map((a) => a.value ?? a.description).join(' '));
    } else if (m.method === 'Log.entryAdded') {
      console.error(`log.${m.params.entry.level}:`, m.params.entry.text, m.params.entry.url || '');
    } else if (m.method === 'Runtime.exceptionThrown') {
      console.error('exception:', m.params.exceptionDetails.exception?.description || m.params.exceptionDetails.text);
    }
  };
  // Each call is bounded: a page busy navigating may not answer.
  const send = (method, params = {}) => new Promise((resolve, reject) => {
    const id = ++next;
    const timer = setTimeout(() => { pending.delete(id); reject(new Error(`${method}: no answer`)); }, 15000);
    pending.set(id, (m) => { clearTimeout(timer); resolve(m); });
    ws.send(JSON.stringify({ id, method, params }));
  });
  const evaluate = async (expression) => {
    const r = await send('Runtime.evaluate', { expression, returnByValue: true });
    return r.result && r.result.result ? r.result.result.value : undefined;
  };
  await send('Page.enable');
  await send('Runtime.enable');
  await send('Log.enable');
  await send('Emulation.setDeviceMetricsOverride', { width: Number(w), height: Number(h), deviceScaleFactor: 1, mobile: false });
  await send('Page.navigate', { url: opts.url });
  if (opts.every) {
    // Sampling mode: evaluate the expression every N ms until the timeout
    // and print the array of values.
    const samples = [];
    while (Date.now() < deadline) {
      await sleep(Number(opts.every));
      try { samples.push(await evaluate(opts.eval)); } catch { /* page busy: skip this sample */ }
    }
    console.log(JSON.stringify(samples));
    code = 0;
    ws.close();
    throw null; // to finally
  }
  let ok = false;
  while (Date.now() < deadline) {
    try { ok = await evaluate(`(() => { try { return !!(${opts.until}); } catch (e) { return false; } })()`); } catch { ok = false; }
    if (ok) break;
    await sleep(250);
  }
  const value = await evaluate(opts.eval);
  if (opts.screenshot) {
    const shot = await send('Page.captureScreenshot', { format: 'png' });
    writeFileSync(opts.screenshot, Buffer.from(shot.result.data, 'base64'));
  }
  console.log(JSON.stringify(value === undefined ? null : value));
  code = ok ? 0 : 2;
  ws.close();
} catch (e) {
  if (e !== null) console.error(String(e && e.stack || e));
} finally {
  chrome.kill();
  await sleep(200);
  try { rmSync(profile, { recursive: true, force: true }); } catch { /* best effort */ }
}
process.exit(code);
