// Soak test: a modest constant rate of the realistic mix for a long time,
// to find leaks (memory, file descriptors, database connections) and slow
// drifts in latency.
//
//   RATE 50/s, DURATION 30m, VUS 20, MAX_VUS 200
//   SAMPLE_EVERY 30 (s): how often the monitor reads METRICS_URL
//   METRICS_URL default BASE_URL/metrics (the runtime's Prometheus exposition)
//   MAX_RSS_GROWTH_MB 64, MAX_FD_GROWTH 64: thresholds on the growth of the
//   resident memory and open descriptors from the first sample to the last
//   P95_MS 200, P99_MS 500, MAX_ERROR_RATE 0.01
//
// The monitor records soak_rss_bytes, soak_open_fds, soak_db_connections and
// soak_threads (Gauges: last, min, max) and their growth since its first
// sample. Growth that keeps climbing over a long run is a leak; a rise in the
// first minutes that then stays flat is warm-up (pools, caches, allocator).
//
//   BASE_URL=http://127.0.0.1:5000 k6 run loadtest/soak.js
//   DURATION=2h RATE=100 k6 run loadtest/soak.js

import { sleep } from 'k6';
import http from 'k6/http';
import { Gauge } from 'k6/metrics';
import { BASE_URL, envFloat, envInt, envStr, thresholds } from './lib/common.js';
import { endpointThresholds, mixContext, runMix, setupOrderProducts } from './lib/mix.js';
import { makeHandleSummary, SUMMARY_TREND_STATS } from './lib/summary.js';

const RATE = envInt('RATE', 50);
const DURATION = envStr('DURATION', '30m');
const SAMPLE_EVERY = envInt('SAMPLE_EVERY', 30);
const METRICS_URL = envStr('METRICS_URL', `${BASE_URL}/metrics`);
const MiB = 1024 * 1024;

const gauges = {
  rss: new Gauge('soak_rss_bytes'),
  fds: new Gauge('soak_open_fds'),
  db: new Gauge('soak_db_connections'),
  threads: new Gauge('soak_threads'),
};
const growth = {
  rss: new Gauge('soak_rss_growth_bytes'),
  fds: new Gauge('soak_open_fds_growth'),
  db: new Gauge('soak_db_connections_growth'),
  threads: new Gauge('soak_threads_growth'),
};

export const options = {
  scenarios: {
    soak: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: DURATION,
      preAllocatedVUs: envInt('VUS', 20),
      maxVUs: envInt('MAX_VUS', 200),
      exec: 'traffic',
      gracefulStop: '10s',
    },
    monitor: {
      executor: 'constant-vus',
      vus: 1,
      duration: DURATION,
      exec: 'monitor',
      gracefulStop: '5s',
    },
  },
  thresholds: Object.assign(
    thresholds({ p95: 200, p99: 500, errorRate: 0.01 }),
    endpointThresholds(envFloat('P95_MS', 200)),
    {
      soak_rss_growth_bytes: [`value<${envFloat('MAX_RSS_GROWTH_MB', 64) * MiB}`],
      soak_open_fds_growth: [`value<${envInt('MAX_FD_GROWTH', 64)}`],
      dropped_iterations: [`count<=${Math.ceil(RATE * 0.01) + 10}`],
    },
  ),
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export function setup() {
  return setupOrderProducts();
}

let ctx;
export function traffic(data) {
  if (!ctx) ctx = mixContext(data);
  runMix(ctx);
}

// Reads a sample (one number, or the sum over all label sets) from the
// Prometheus text exposition.
function sample(text, name) {
  const re = new RegExp(`^${name}(?:\\{[^}]*\\})?\\s+([-+0-9.eE]+|NaN)\\s*$`, 'gm');
  let sum = null;
  let m;
  while ((m = re.exec(text)) !== null) sum = (sum || 0) + parseFloat(m[1]);
  return sum;
}

let first = null;
export function monitor() {
  const res = http.get(METRICS_URL, { tags: { name: 'GET /metrics (monitor)' }, headers: { Accept: 'text/plain' } });
  if (res.status === 200) {
    const now = {
      rss: sample(res.body, 'process_resident_memory_bytes'),
      fds: sample(res.body, 'process_open_fds'),
      db: sample(res.body, 'db_pool_connections'),
      threads: sample(res.body, 'process_threads'),
    };
    if (first === null) first = now;
    for (const k of Object.keys(now)) {
      if (now[k] === null) continue;
      gauges[k].add(now[k]);
      if (first[k] !== null) growth[k].add(now[k] - first[k]);
    }
  }
  sleep(SAMPLE_EVERY);
}

function report(data) {
  const m = data.metrics;
  const v = (name, key) => (m[name] ? m[name].values[key] : null);
  const fields = {
    rss_bytes: { last: v('soak_rss_bytes', 'value'), min: v('soak_rss_bytes', 'min'), max: v('soak_rss_bytes', 'max') },
    rss_growth_bytes: v('soak_rss_growth_bytes', 'value'),
    open_fds: { last: v('soak_open_fds', 'value'), max: v('soak_open_fds', 'max') },
    open_fds_growth: v('soak_open_fds_growth', 'value'),
    db_connections: { last: v('soak_db_connections', 'value'), max: v('soak_db_connections', 'max') },
    threads: { last: v('soak_threads', 'value'), max: v('soak_threads', 'max') },
  };
  const mb = (x) => (x === null ? '-' : `${(x / MiB).toFixed(1)} MiB`);
  const lines = fields.rss_bytes.last === null
    ? [`monitor: no samples from ${METRICS_URL}`]
    : [
      `memory (RSS): last ${mb(fields.rss_bytes.last)}, min ${mb(fields.rss_bytes.min)}, max ${mb(fields.rss_bytes.max)}, ` +
        `growth since first sample ${mb(fields.rss_growth_bytes)}`,
      `open fds: last ${fields.open_fds.last}, max ${fields.open_fds.max}, growth ${fields.open_fds_growth}`,
      `db connections: last ${fields.db_connections.last}, max ${fields.db_connections.max}; ` +
        `threads: last ${fields.threads.last}, max ${fields.threads.max}`,
    ];
  return { lines, fields };
}

export const handleSummary = makeHandleSummary('soak', report);
