// common.js: what the BullMQ peer's enqueuer and workers share: the Redis
// connection options from the environment, and the queue's name.
'use strict';

function connection() {
  return {
    host: process.env.BENCH_REDIS_HOST || '127.0.0.1',
    port: Number(process.env.BENCH_REDIS_PORT || 6379),
    // BullMQ requires this for workers' blocking commands (docs: Connections).
    maxRetriesPerRequest: null,
  };
}

function say(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

module.exports = { connection, say, QUEUE: process.env.BENCH_QUEUE || 'qc-bench' };
