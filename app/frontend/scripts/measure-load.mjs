// Cold loads of the web client in headless Chromium, measured by the browser itself.
//
//   node scripts/measure-load.mjs '<json options>'    -> one JSON object per line on stdout
//
// Options: {"url": "http://127.0.0.1:8000/projects", "token": "...", "repeats": 1,
//   "readySelector": "[data-testid=projects-list][data-ready]", "quietWindowMs": 5000,
//   "network": {"latencyMs": 40, "downloadKbps": 10240, "uploadKbps": 10240} | null,
//   "cpuSlowdown": 1, "timeoutMs": 60000, "captureText": false,
//   "login": {"email": "...", "password": "..."} | null}
//
// Every load starts a new Chromium with a new empty profile: nothing is cached. With
// `token`, it is put in localStorage before the page's own scripts run (the app's login
// state), so the load measured is the projects page itself; with `login`, the page is
// /login and the form is filled in and sent, as a user would (for tests, not measured).
//
// Time to interactive follows Lighthouse's definition, counted from navigation start, with
// first contentful paint replaced by the later moment the page's content is on screen
// (`readySelector` present): the end of the last long task (> 50 ms, from the browser's
// longtask observer) before the first window of `quietWindowMs` with no long task and at
// most two requests in flight. Bytes before interactive are the DevTools protocol's
// encodedDataLength (bytes on the wire, compressed, headers included) of every request
// finished by then; Resource Timing's transferSize is reported beside it as a check.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// The flags this machine's Chromium needs (no GPU, no network beyond loopback).
const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TOKEN_KEY = 'chrono.token';
const MAX_QUIET_REQUESTS = 2; // Lighthouse's "network quiet": at most two in flight
const POLL_MS = 50;
const DEFAULTS = {
  repeats: 1,
  readySelector: '[data-testid=projects-list][data-ready]',
  quietWindowMs: 5000,
  network: null,
  cpuSlowdown: 1,
  timeoutMs: 60000,
  captureText: false,
  token: null,
  login: null,
};

// Runs in the page before its own scripts: the login token and the observers whose
// entries the measurement reads (buffered, so nothing before the app's start is lost).
function instrument({ tokenKey, token }) {
  if (token) {
    try {
      localStorage.setItem(tokenKey, token);
    } catch {
      // about:blank has no storage; the real page sets it again
    }
  }
  const perf = { longTasks: [], lcp: null };
  window.__chronoPerf = perf;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) perf.longTasks.push([e.startTime, e.startTime + e.duration]);
  }).observe({ type: 'longtask', buffered: true });
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) perf.lcp = e.renderTime || e.loadTime || e.startTime;
  }).observe({ type: 'largest-contentful-paint', buffered: true });
}

function pageState(readySelector) {
  const paint = performance.getEntriesByName('first-contentful-paint')[0];
  const ready = document.querySelector(readySelector);
  const resources = [
    ...performance.getEntriesByType('navigation'),
    ...performance.getEntriesByType('resource'),
  ].map((e) => ({ url: e.name, transferSize: e.transferSize, responseEnd: e.responseEnd }));
  return {
    timeOrigin: performance.timeOrigin,
    now: performance.now(),
    fcp: paint ? paint.startTime : null,
    readyAt: window.__chronoReadyAt ?? null,
    ready: Boolean(ready),
    longTasks: window.__chronoPerf.longTasks,
    lcp: window.__chronoPerf.lcp,
    resources,
  };
}

/** Lighthouse's TTI search on page-relative times; null until the quiet window has passed. */
function timeToInteractive({ start, now, longTasks, requests, quietWindowMs }) {
  let windowStart = start;
  for (;;) {
    const end = windowStart + quietWindowMs;
    const task = longTasks.find(([s, e]) => e > windowStart && s < end);
    if (task) {
      windowStart = task[1];
      continue;
    }
    const busyUntil = crowdedUntil(requests, windowStart, end);
    if (busyUntil !== null) {
      if (!Number.isFinite(busyUntil)) return null;
      windowStart = busyUntil;
      continue;
    }
    if (now < end) return null;
    const before = longTasks.filter(([, e]) => e <= windowStart).map(([, e]) => e);
    return Math.max(start, ...before);
  }
}

// The first moment in [from, to) with more than MAX_QUIET_REQUESTS requests in flight,
// answered as the moment that crowd thins out again (Infinity while it has not); else null.
function crowdedUntil(requests, from, to) {
  const edges = [];
  for (const r of requests) {
    if (r.start >= to || r.end <= from) continue;
    edges.push([Math.max(r.start, from), 1], [r.end, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let inFlight = 0;
  let crowdedAt = null;
  for (const [time, step] of edges) {
    inFlight += step;
    if (inFlight > MAX_QUIET_REQUESTS && crowdedAt === null && time < to) crowdedAt = time;
    if (crowdedAt !== null && inFlight <= MAX_QUIET_REQUESTS) return time;
  }
  return crowdedAt === null ? null : Infinity;
}

async function networkLog(cdp) {
  const requests = new Map();
  let clock = null; // CDP monotonic seconds -> epoch milliseconds
  cdp.on('Network.requestWillBeSent', (e) => {
    if (clock === null && e.type === 'Document') clock = e.wallTime * 1000 - e.timestamp * 1000;
    if (!requests.has(e.requestId)) requests.set(e.requestId, { url: e.request.url, start: e.timestamp });
  });
  cdp.on('Network.responseReceived', (e) => {
    const r = requests.get(e.requestId);
    if (r) r.encoding = e.response.headers['content-encoding'] ?? e.response.headers['Content-Encoding'] ?? null;
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = requests.get(e.requestId);
    if (r) Object.assign(r, { end: e.timestamp, bytes: e.encodedDataLength });
  });
  cdp.on('Network.loadingFailed', (e) => {
    const r = requests.get(e.requestId);
    if (r) Object.assign(r, { end: e.timestamp, bytes: 0, failed: true });
  });
  await cdp.send('Network.enable');
  // Page-relative milliseconds, the clock of the page's own performance entries.
  return (timeOrigin) =>
    [...requests.values()].map((r) => ({
      url: r.url,
      start: r.start * 1000 + clock - timeOrigin,
      end: r.end === undefined ? Infinity : r.end * 1000 + clock - timeOrigin,
      bytes: r.bytes ?? 0,
      encoding: r.encoding ?? null,
      failed: Boolean(r.failed),
    }));
}

async function emulate(cdp, { network, cpuSlowdown }) {
  if (network) {
    const bytesPerSecond = (kbps) => (kbps * 1024) / 8;
    await cdp.send('Network.emulateNetworkConditions', {
      offline: false,
      latency: network.latencyMs,
      downloadThroughput: bytesPerSecond(network.downloadKbps),
      uploadThroughput: bytesPerSecond(network.uploadKbps),
    });
  }
  if (cpuSlowdown > 1) await cdp.send('Emulation.setCPUThrottlingRate', { rate: cpuSlowdown });
}

async function logIn(page, { email, password }) {
  await page.fill('#email', email);
  await page.fill('#password', password);
  await page.click('button[type=submit]');
}

async function measureOnce(options) {
  const profile = mkdtempSync(join(tmpdir(), 'chrono-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_FLAGS,
    viewport: { width: 1280, height: 800 },
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await context.addInitScript(instrument, { tokenKey: TOKEN_KEY, token: options.token });
    // The moment the ready element appears, from a MutationObserver in the page.
    await context.addInitScript((selector) => {
      const seen = () => {
        if (window.__chronoReadyAt === undefined && document.querySelector(selector)) {
          window.__chronoReadyAt = performance.now();
        }
      };
      new MutationObserver(seen).observe(document, { childList: true, subtree: true, attributes: true });
    }, options.readySelector);
    const cdp = await context.newCDPSession(page);
    const requestsAt = await networkLog(cdp);
    await emulate(cdp, options);

    const deadline = Date.now() + options.timeoutMs;
    await page.goto(options.url, { waitUntil: 'commit', timeout: options.timeoutMs });
    if (options.login) await logIn(page, options.login);
    await page.waitForSelector(options.readySelector, { timeout: options.timeoutMs });

    for (;;) {
      const state = await page.evaluate(pageState, options.readySelector);
      const requests = requestsAt(state.timeOrigin);
      const start = Math.max(state.fcp ?? 0, state.readyAt ?? state.now);
      const tti = timeToInteractive({
        start,
        now: state.now,
        longTasks: state.longTasks,
        requests,
        quietWindowMs: options.quietWindowMs,
      });
      if (tti !== null) {
        const before = requests.filter((r) => r.end <= tti);
        return {
          url: page.url(),
          tti_ms: tti,
          fcp_ms: state.fcp,
          ready_ms: state.readyAt,
          lcp_ms: state.lcp,
          long_tasks: state.longTasks.map(([s, e]) => [Math.round(s), Math.round(e)]),
          bytes_before_tti: before.reduce((sum, r) => sum + r.bytes, 0),
          bytes_before_tti_resource_timing: state.resources
            .filter((r) => r.responseEnd <= tti)
            .reduce((sum, r) => sum + r.transferSize, 0),
          bytes_total: requests.reduce((sum, r) => sum + r.bytes, 0),
          requests_before_tti: before.length,
          requests: requests.map(({ url, bytes, encoding, end }) => ({
            url,
            bytes,
            encoding,
            end_ms: Number.isFinite(end) ? end : null,
          })),
          text: options.captureText
            ? await page.locator(options.readySelector).innerText()
            : undefined,
        };
      }
      if (Date.now() > deadline) throw new Error(`no quiet window within ${options.timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
  } finally {
    await context.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

async function main() {
  const options = { ...DEFAULTS, ...JSON.parse(process.argv[2] ?? '{}') };
  if (!options.url) throw new Error('options need a "url"');
  for (let i = 0; i < options.repeats; i++) {
    process.stdout.write(`${JSON.stringify({ repeat: i, ...(await measureOnce(options)) })}\n`);
  }
}

main().catch((error) => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
