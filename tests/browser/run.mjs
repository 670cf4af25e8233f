// tests/browser/run.mjs: the pages in a real browser (Debian's chromium,
// driven by playwright-core; no browser download). Run by
// tests/system/test_26_browser.py against the test stack:
//
//   QC_API_URL        the processor (pages and API)
//   QC_ADMIN_TOKEN    the admin token (dashboard, checks)
//   QC_PROVIDERS_URL  the fake providers (the codes are read from the fake Twilio and Telegram)
//   QC_EVENT_FILE     an event document to push while the dashboard watches
//   QC_SHOTS          folder for screenshots (test artifacts)
//   QC_PHONE          the phone number to sign up with
//   QC_TELEGRAM_CHAT  the Telegram chat id to sign up with
//   QC_SCENARIO       "signup", "dashboard" or "all" (default)
//
// Prints one JSON line of results; exits non-zero on the first failure.
import assert from 'node:assert/strict';
import { readFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const API = process.env.QC_API_URL;
const ADMIN = process.env.QC_ADMIN_TOKEN;
const PROVIDERS = process.env.QC_PROVIDERS_URL;
const SHOTS = process.env.QC_SHOTS || 'browser-shots';
const PHONE = process.env.QC_PHONE || '+40721000001';
const CHAT = process.env.QC_TELEGRAM_CHAT || '731000001';
const SCENARIO = process.env.QC_SCENARIO || 'all';
mkdirSync(SHOTS, { recursive: true });

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
  '--disable-component-update', '--disable-sync'];
const results = {};

async function shot(page, name) {
  await page.screenshot({ path: join(SHOTS, name + '.png'), fullPage: true });
}

// The code the fake provider last received for @recipient; @text takes the
// message text out of the provider's request body.
async function codeFrom(provider, recipient, text, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    const r = await fetch(PROVIDERS + '/_sink/last?provider=' + provider);
    if (r.ok) {
      const last = await r.json();
      if (String(last.recipient) === String(recipient)) {
        const m = (text(last.body) || '').match(/\b(\d{6})\b/);
        if (m) return m[1];
      }
    }
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error('no ' + provider + ' code for ' + recipient);
}
const codeFromTwilio = (phone) => codeFrom('twilio', phone, (b) => new URLSearchParams(b).get('Body'));
const codeFromTelegram = (chat) => codeFrom('telegram', chat, (b) => JSON.parse(b).text);

// Every console error fails the page (a missing icon, a CSP refusal, a
// script error), except the browser's "Failed to load resource" for API
// calls under /v1/ answered 4xx/5xx: the pages make those on purpose
// (a refused number, a wrong code or token) and show the answer.
function watchConsole(page, errors) {
  page.on('console', (msg) => {
    if (msg.type() !== 'error') return;
    const where = (msg.location() && msg.location().url) || '';
    if (/^Failed to load resource/.test(msg.text()) && where.startsWith(API + '/v1/')) return;
    errors.push('console: ' + msg.text() + (where ? ' (' + where + ')' : ''));
  });
  page.on('pageerror', (e) => errors.push(String(e)));
}

async function api(method, path, token, body, ctype) {
  const headers = {};
  if (token) headers.Authorization = 'Bearer ' + token;
  if (body !== undefined) headers['Content-Type'] = ctype || 'application/json';
  const r = await fetch(API + path, { method, headers, body });
  const text = await r.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { json = text; }
  return { status: r.status, body: json };
}

// Every form control has a name a screen reader announces.
async function checkLabels(page) {
  const unlabelled = await page.evaluate(() => Array.from(document.querySelectorAll('input, select, button'))
    .filter((el) => el.offsetParent !== null)
    .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute('aria-label') && !el.textContent.trim())
    .map((el) => el.id || el.outerHTML.slice(0, 60)));
  assert.deepEqual(unlabelled, [], 'controls without a label');
}

async function signup(browser) {
  const context = await browser.newContext({
    viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true,
    geolocation: { latitude: 45.6427, longitude: 25.5887 }, permissions: ['geolocation'], locale: 'en-GB',
  });
  const page = await context.newPage();
  const external = [];
  page.on('request', (req) => { if (!req.url().startsWith(API)) external.push(req.url()); });
  const errors = [];
  watchConsole(page, errors);
  await page.goto(API + '/');
  await page.waitForSelector('#map circle.town');
  await checkLabels(page);

  // Romanian, then back to English.
  await page.getByRole('button', { name: 'Română' }).click();
  assert.equal(await page.locator('html').getAttribute('lang'), 'ro');
  assert.match(await page.locator('#h-signup').textContent(), /avertizare/i);
  await shot(page, '01-signup-ro');
  await page.getByRole('button', { name: 'English' }).click();
  assert.equal(await page.locator('html').getAttribute('lang'), 'en');

  // A refused number shows the error at the field.
  await page.getByLabel('Mobile number').fill('0721 000 000');
  await page.getByRole('button', { name: 'Use my location' }).click();
  await page.waitForFunction(() => document.getElementById('lat').value !== '');
  assert.ok(Math.abs(parseFloat(await page.inputValue('#lat')) - 45.6427) < 0.01, 'geolocation sets the place');
  await page.getByRole('button', { name: 'Send me a code' }).click();
  await page.waitForFunction(() => document.getElementById('phone-err').textContent !== '');
  assert.equal(await page.getAttribute('#phone', 'aria-invalid'), 'true');
  await shot(page, '02-signup-error');

  // A click on the map moves the place; the town list can, too (keyboard).
  const box = await page.locator('#map').boundingBox();
  await page.mouse.click(box.x + box.width * 0.6, box.y + box.height * 0.65);
  const latAfterClick = parseFloat(await page.inputValue('#lat'));
  assert.ok(latAfterClick > 43 && latAfterClick < 48.5, 'a map click sets a latitude in Romania');
  await page.getByLabel('Nearest town').selectOption({ label: 'Bucharest' });
  assert.ok(Math.abs(parseFloat(await page.inputValue('#lat')) - 44.43) < 0.01);

  await page.getByLabel('Mobile number').fill(PHONE);
  // Telegram too: a refused chat id is shown at its field, then a good one.
  await page.getByLabel('Telegram', { exact: true }).check();
  await page.getByLabel('Telegram chat id').fill('12 34!');
  await page.getByRole('button', { name: 'Send me a code' }).click();
  await page.waitForFunction(() => document.getElementById('telegram-err').textContent !== '');
  assert.equal(await page.getAttribute('#telegram', 'aria-invalid'), 'true');
  await page.getByLabel('Telegram chat id').fill(CHAT);
  await page.getByRole('group', { name: 'Your preferences' }).getByLabel('Warn me when the shaking will be at least').selectOption('4');
  await page.getByRole('button', { name: 'Send me a code' }).click();
  await page.waitForSelector('#step-verify:not(.hidden)');
  await shot(page, '03-verify');
  const code = await codeFromTwilio(PHONE);
  const wrong = String((Number(code) + 1) % 1000000).padStart(6, '0');
  await page.getByLabel(/Code sent by Telegram/).fill(await codeFromTelegram(CHAT));
  await page.getByLabel(/Code sent by SMS/).fill(wrong);
  await page.getByRole('button', { name: 'Confirm' }).click();
  await page.waitForFunction(() => /not right/.test(document.getElementById('status').textContent));
  await page.getByLabel(/Code sent by SMS/).fill(code);
  await page.keyboard.press('Enter');
  await page.waitForSelector('#step-manage:not(.hidden)');
  const id = (await page.locator('#m-id').textContent()).trim();
  const token = (await page.locator('#m-token').textContent()).trim();
  assert.match(token, /^qcs_/);
  await shot(page, '04-manage');
  let got = await api('GET', '/v1/subscribers/' + id, token);
  assert.equal(got.status, 200);
  assert.equal(got.body.channels.sms.phone, PHONE);
  assert.equal(String(got.body.channels.telegram.chat_id), CHAT);
  assert.ok(got.body.consent.sms.verified_at);
  assert.ok(got.body.consent.telegram.verified_at);

  // Change the threshold.
  await page.locator('#m-min_mmi').selectOption('6');
  await page.getByRole('button', { name: 'Save' }).click();
  await page.waitForFunction(() => /intensity 6/.test(document.getElementById('m-summary').textContent));
  got = await api('GET', '/v1/subscribers/' + id, token);
  assert.equal(got.body.min_mmi, 6);

  // Reload: the page remembers the subscription (manage later).
  await page.reload();
  await page.waitForSelector('#step-manage:not(.hidden)');
  assert.equal((await page.locator('#m-id').textContent()).trim(), id);

  // Leave.
  page.once('dialog', (d) => d.accept());
  await page.getByRole('button', { name: 'Leave and delete my data' }).click();
  await page.waitForSelector('#step-left:not(.hidden)');
  await shot(page, '05-left');
  got = await api('GET', '/v1/subscribers/' + id, ADMIN);
  assert.equal(got.status, 404, 'deleted for good');
  assert.deepEqual(errors, [], 'no console or script errors');
  assert.deepEqual(external, [], 'no request leaves the origin');
  results.signup = { id, phone: PHONE };
  await context.close();
}

async function dashboard(browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'ro-RO' });
  const page = await context.newPage();
  const errors = [];
  watchConsole(page, errors);
  await page.goto(API + '/dashboard');
  assert.equal(await page.locator('html').getAttribute('lang'), 'ro', 'Romanian for a Romanian browser');
  await page.getByRole('button', { name: 'English' }).click();
  await page.getByLabel('Admin token').fill('wrong');
  await page.getByRole('button', { name: 'Open the dashboard' }).click();
  await page.waitForFunction(() => document.getElementById('token-err').textContent !== '');
  await page.getByLabel('Admin token').fill(ADMIN);
  await page.getByRole('button', { name: 'Open the dashboard' }).click();
  await page.waitForSelector('#alerts:not(.hidden)');
  await checkLabels(page);

  // Push the event now; the page must pick the alert up and count up without reload.
  const ev = await api('POST', '/v1/events?replay=now', ADMIN, readFileSync(process.env.QC_EVENT_FILE), 'application/geo+json');
  assert.equal(ev.status, 200, JSON.stringify(ev.body));
  const alert = ev.body.events.find((e) => e.alert_id).alert_id;
  await page.waitForFunction((a) => document.getElementById('p-alert').textContent === a, alert, { timeout: 15000 });
  const seen = [];
  const t0 = Date.now();
  let state = '';
  let midShot = false;
  while (Date.now() - t0 < 90000) {
    const n = Number((await page.locator('#p-notified').textContent()).replace(/[^0-9]/g, '') || 0);
    if (!seen.length || seen[seen.length - 1] !== n) seen.push(n);
    state = (await page.locator('#p-state').textContent()).trim();
    if (!midShot && n > 0 && state !== 'complete') { await shot(page, '06-dashboard-running'); midShot = true; }
    // The page may still show the previous alert's 'complete' for a poll
    // after it switched to this one (seen under ASan): trust it once the
    // API agrees.
    if (state === 'complete') {
      const s = await api('GET', '/v1/alerts/' + alert);
      if (s.status === 200 && s.body.state === 'complete') break;
    }
    await page.waitForTimeout(250);
  }
  let status = await api('GET', '/v1/alerts/' + alert);
  // 503 while Redis is slow to answer; the API may also be a moment behind
  // the page's last poll.
  for (let i = 0; i < 40 && (status.status !== 200 || status.body.state !== 'complete'); i++) {
    await page.waitForTimeout(250);
    status = await api('GET', '/v1/alerts/' + alert);
  }
  assert.equal(status.status, 200, JSON.stringify(status.body));
  assert.equal(status.body.state, 'complete', JSON.stringify(status.body));
  assert.equal(state, 'complete');
  assert.equal(await page.locator('#p-alert').textContent(), alert, 'still following the alert');
  // The page polls once a second: give it until a few polls later to show
  // the final numbers (a slow, sanitised server answers late).
  const want = status.body.segments_total + '/' + status.body.segments_total;
  await page.waitForFunction(([n, segs]) =>
    Number(document.getElementById('p-notified').textContent.replace(/[^0-9]/g, '')) === n &&
    document.getElementById('p-segments').textContent.replace(/[^0-9/]/g, '') === segs,
    [status.body.notified, want], { timeout: 10000 }).catch(() => {});
  await shot(page, '07-dashboard-complete');
  const shown = Number((await page.locator('#p-notified').textContent()).replace(/[^0-9]/g, ''));
  assert.equal(shown, status.body.notified, 'the page shows the final count: ' + JSON.stringify(status.body));
  const segs = (await page.locator('#p-segments').textContent()).replace(/\s/g, '');
  assert.equal(segs.replace(/[^0-9/]/g, ''), want);
  assert.ok(seen.filter((n) => n > 0 && n < status.body.notified).length >= 2,
    'notified counted up while the alert ran: ' + JSON.stringify(seen));
  assert.deepEqual(errors, [], 'no console or script errors');
  results.dashboard = { alert, seen, notified: status.body.notified, rate: await page.locator('#p-rate').textContent() };
  await context.close();
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: FLAGS });
try {
  if (SCENARIO === 'all' || SCENARIO === 'signup') await signup(browser);
  if (SCENARIO === 'all' || SCENARIO === 'dashboard') await dashboard(browser);
  console.log(JSON.stringify({ ok: true, ...results }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e && e.stack || e), ...results }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
