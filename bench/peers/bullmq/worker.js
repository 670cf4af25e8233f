// worker.js: one BullMQ worker process (one per "dispatcher"). Each job is
// one subscriber: render the message, sign it as quakecast does (Standard
// Webhooks: webhook-id, webhook-timestamp, webhook-signature v1 =
// base64 HMAC-SHA256 of "id.ts.body" keyed by the whsec_ secret) and POST
// it over keep-alive connections (BENCH_CONNECTIONS, 64 like quakecast).
// A non-2xx answer fails the job, and BullMQ retries it.
// Env: BENCH_CONCURRENCY, BENCH_ALERT_ID, BENCH_EVENT (JSON: id, mag, lat,
// lon, depth_km, origin_ms), BENCH_INSTANCE.
'use strict';
const crypto = require('crypto');
const http = require('http');
const { Worker } = require('bullmq');
const { connection, say, QUEUE } = require('./common');

const ev = JSON.parse(process.env.BENCH_EVENT);
const alertId = process.env.BENCH_ALERT_ID;
const instance = process.env.BENCH_INSTANCE || 'bullmq-worker';
const agent = new http.Agent({
  keepAlive: true, maxSockets: Number(process.env.BENCH_CONNECTIONS || 64),
});
const keys = new Map(); // secret -> key bytes (every subscriber may differ)
let sent = 0; let failed = 0;

// The same equations as shared/src/ipe.c and geo.c (tools/qc_ipe.py):
// Allen, Wald & Worden (2012), haversine on a 6371.0088 km sphere.
function mmiAt(lat, lon) {
  const r = 6371.0088; const rad = Math.PI / 180;
  const dlat = (lat - ev.lat) * rad; const dlon = (lon - ev.lon) * rad;
  const a = Math.sin(dlat / 2) ** 2 +
    Math.cos(ev.lat * rad) * Math.cos(lat * rad) * Math.sin(dlon / 2) ** 2;
  const epi = 2 * r * Math.asin(Math.min(1, Math.sqrt(a)));
  const hypo = Math.sqrt(epi * epi + ev.depth_km * ev.depth_km);
  const rm = -0.209 + 2.042 * Math.exp(ev.mag - 5);
  let mmi = 2.085 + 1.428 * ev.mag - 1.402 * Math.log(Math.sqrt(hypo * hypo + rm * rm));
  if (hypo > 50) mmi += 0.078 * Math.log(hypo / 50);
  return { mmi: Math.max(1, Math.min(10, mmi)), hypo };
}

function post(url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', agent, headers, timeout: 5000 }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end(body);
  });
}

async function processJob(job) {
  const s = job.data;
  const hook = s.channels.webhook;
  const { mmi, hypo } = mmiAt(s.lat, s.lon);
  const secs = hypo / 3.5 - (Date.now() - ev.origin_ms) / 1000;
  const text = secs > 0
    ? `EARTHQUAKE M${ev.mag.toFixed(1)}. Strong shaking (intensity ${mmi.toFixed(0)}) in ~${Math.round(secs)} s. Drop, Cover, Hold On!`
    : `EARTHQUAKE M${ev.mag.toFixed(1)}: shaking now (intensity ${mmi.toFixed(0)}). Drop, Cover, Hold On!`;
  const body = JSON.stringify({
    subscriber_id: s.id, alert_id: alertId, event_id: ev.id, magnitude: ev.mag,
    mmi, seconds_to_shaking: secs > 0 ? secs : 0, message: text, lang: s.lang,
    latitude: ev.lat, longitude: ev.lon, depth_km: ev.depth_km,
    origin_ms: ev.origin_ms, kind: 'alert',
  });
  let key = keys.get(hook.secret);
  if (!key) {
    key = Buffer.from(hook.secret.replace(/^whsec_/, ''), 'base64');
    keys.set(hook.secret, key);
  }
  const id = `bq_${alertId}_${s.id}`; // stable across retries
  const ts = Math.floor(Date.now() / 1000);
  const sig = crypto.createHmac('sha256', key).update(`${id}.${ts}.${body}`).digest('base64');
  const status = await post(hook.url, {
    'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body),
    'webhook-id': id, 'webhook-timestamp': String(ts), 'webhook-signature': `v1,${sig}`,
  }, body);
  if (status < 200 || status >= 300) {
    throw new Error(`HTTP ${status}`);
  }
}

async function main() {
  const worker = new Worker(QUEUE, processJob, {
    connection: connection(),
    concurrency: Number(process.env.BENCH_CONCURRENCY || 100),
  });
  worker.on('completed', () => { sent++; });
  worker.on('failed', () => { failed++; });
  worker.on('error', (e) => process.stderr.write(`${instance}: ${e}\n`));
  await worker.waitUntilReady();
  say({ event: 'ready', instance });
  let stopping = false;
  const stop = async () => {
    if (stopping) return;
    stopping = true;
    await worker.close();
    say({ event: 'stopped', instance, sent, failed });
    agent.destroy();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((e) => {
  process.stderr.write(`${instance}: ${e && e.stack || e}\n`);
  process.exit(1);
});
