// enqueue.js: the BullMQ peer's producer. Reads the targeted subscribers
// (NDJSON, one per line) before saying ready, waits for a line on stdin,
// then adds one job per subscriber with Queue.addBulk, in batches of
// BENCH_BULK (1,000) with BENCH_BULK_PARALLEL (4) batches in flight.
// Prints {"event":"start","t_ms"} and {"event":"enqueued","t_ms"},
// then waits for stdin to close.
'use strict';
const fs = require('fs');
const readline = require('readline');
const { Queue } = require('bullmq');
const { connection, say, QUEUE } = require('./common');

async function main() {
  const file = process.argv[2];
  const bulk = Number(process.env.BENCH_BULK || 1000);
  const parallel = Number(process.env.BENCH_BULK_PARALLEL || 4);
  const subs = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l)
    .map((l) => JSON.parse(l));
  const queue = new Queue(QUEUE, {
    connection: connection(),
    // What a team keeps Redis bounded with; retries as quakecast does them
    // (8 attempts, exponential back-off from 200 ms).
    defaultJobOptions: {
      removeOnComplete: true, removeOnFail: 1000, attempts: 8,
      backoff: { type: 'exponential', delay: 200 },
    },
  });
  await queue.waitUntilReady();
  say({ event: 'ready', subscribers: subs.length });
  const rl = readline.createInterface({ input: process.stdin });
  const closed = new Promise((resolve) => rl.once('close', resolve));
  await new Promise((resolve) => rl.once('line', resolve));
  say({ event: 'start', t_ms: Date.now() });
  let next = 0;
  async function lane() {
    while (next < subs.length) {
      const part = subs.slice(next, next + bulk);
      next += bulk;
      await queue.addBulk(part.map((s) => ({ name: 'alert', data: s })));
    }
  }
  await Promise.all(Array.from({ length: parallel }, lane));
  say({ event: 'enqueued', jobs: subs.length, t_ms: Date.now() });
  // Stay until the harness has read our CPU time and peak RSS (stdin EOF).
  await closed;
  await queue.close();
}

main().catch((e) => {
  process.stderr.write('bullmq enqueue: ' + (e && e.stack || e) + '\n');
  process.exit(1);
});
