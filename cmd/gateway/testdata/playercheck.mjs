// Drives the gateway's player page in headless Chromium and prints what the
// player did as one JSON object. Used by the end-to-end tests.
//
//   node playercheck.mjs NODE_MODULES_DIR URL SECONDS
import { createRequire } from 'node:module';

const [modules, url, seconds] = process.argv.slice(2);
const require = createRequire(modules.replace(/\/?$/, '/'));
const { chromium } = require('playwright-core');

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    '--autoplay-policy=no-user-gesture-required'],
});
const out = { samples: [], console: [], pageErrors: [] };
try {
  const page = await browser.newPage();
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warning') out.console.push(m.text()); });
  page.on('pageerror', (e) => out.pageErrors.push(String(e)));
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  const end = Date.now() + Number(seconds) * 1000;
  while (Date.now() < end) {
    await page.waitForTimeout(500);
    out.samples.push(await page.evaluate(() => {
      const p = window.__player || {};
      const v = p.video || document.querySelector('video');
      const h = p.hls;
      const date = h && h.playingDate ? h.playingDate.getTime() : 0;
      return {
        wall: Date.now(),
        state: p.state || '',
        currentTime: v ? v.currentTime : -1,
        paused: v ? v.paused : true,
        hlsLatency: h && typeof h.latency === 'number' ? h.latency : -1,
        pdtLatency: date ? (Date.now() - date) / 1000 : -1,
        lowLatencyMode: h ? !!h.config.lowLatencyMode : false,
        hasHls: !!h,
        fatalErrors: (p.errors || []).filter((e) => e && e.fatal).map((e) => e.details || String(e)),
        errors: (p.errors || []).map((e) => (e && (e.details || e.type)) || String(e)),
      };
    }));
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(out));
