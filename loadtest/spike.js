// Spike test: a steady baseline, a sudden spike, then back to the baseline.
// Checks that the service sheds or absorbs the spike without falling over
// and that it recovers: latency and errors after the spike must be back to
// the baseline's limits.
//
//   BASE_RATE 50/s for BASELINE (30s) -> up to SPIKE_RATE 1000/s in SPIKE_RAMP
//   (5s), held SPIKE_HOLD (30s) -> down to BASE_RATE in 5s -> RECOVERY (60s)
//   VUS 100, MAX_VUS 1000
//
// Requests carry the tag phase=baseline|spike|recovery. During the spike a
// 429 or 503 with Retry-After (the runtime's load shedding, as the contract
// allows) is expected and counted in shed_responses, not as a failure.
// Thresholds:
//   baseline and recovery: p95 < P95_MS (200), errors < MAX_ERROR_RATE (1%)
//   spike: errors (other than shedding) < SPIKE_MAX_ERROR_RATE (5%), p99 < SPIKE_P99_MS (3000)
//
//   BASE_URL=http://127.0.0.1:5000 k6 run loadtest/spike.js

import exec from 'k6/execution';
import http from 'k6/http';
import { envFloat, envInt } from './lib/common.js';
import { mixContext, runMix, setupOrderProducts, sheddingCallback } from './lib/mix.js';
import { makeHandleSummary, SUMMARY_TREND_STATS } from './lib/summary.js';

const BASE_RATE = envInt('BASE_RATE', 50);
const SPIKE_RATE = envInt('SPIKE_RATE', 1000);
const BASELINE = envInt('BASELINE', 30);
const SPIKE_RAMP = envInt('SPIKE_RAMP', 5);
const SPIKE_HOLD = envInt('SPIKE_HOLD', 30);
const RAMP_DOWN = 5;
const RECOVERY = envInt('RECOVERY', 60);
const P95 = envFloat('P95_MS', 200);
const ERR = envFloat('MAX_ERROR_RATE', 0.01);

const SPIKE_START = BASELINE;
const SPIKE_END = BASELINE + SPIKE_RAMP + SPIKE_HOLD + RAMP_DOWN;

export const options = {
  scenarios: {
    spike: {
      executor: 'ramping-arrival-rate',
      startRate: BASE_RATE,
      timeUnit: '1s',
      preAllocatedVUs: envInt('VUS', 100),
      maxVUs: envInt('MAX_VUS', 1000),
      stages: [
        { duration: `${BASELINE}s`, target: BASE_RATE },
        { duration: `${SPIKE_RAMP}s`, target: SPIKE_RATE },
        { duration: `${SPIKE_HOLD}s`, target: SPIKE_RATE },
        { duration: `${RAMP_DOWN}s`, target: BASE_RATE },
        { duration: `${RECOVERY}s`, target: BASE_RATE },
      ],
      gracefulStop: '10s',
    },
  },
  thresholds: {
    'http_req_duration{phase:baseline}': [`p(95)<${P95}`],
    'http_req_failed{phase:baseline}': [`rate<${ERR}`],
    'http_req_duration{phase:spike}': [`p(99)<${envFloat('SPIKE_P99_MS', 3000)}`],
    'http_req_failed{phase:spike}': [`rate<${envFloat('SPIKE_MAX_ERROR_RATE', 0.05)}`],
    'http_req_duration{phase:recovery}': [`p(95)<${P95}`],
    'http_req_failed{phase:recovery}': [`rate<${ERR}`],
    'shed_responses{phase:spike}': ['rate>=0'],
    'shed_responses{phase:recovery}': [`rate<${ERR}`],
    checks: [`rate>=${1 - envFloat('SPIKE_MAX_ERROR_RATE', 0.05)}`],
  },
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export function setup() {
  return setupOrderProducts();
}

// 429 and 503 (load shedding, with Retry-After) are not failures here.
http.setResponseCallback(sheddingCallback());

let ctx;
export default function (data) {
  if (!ctx) ctx = mixContext(data);
  const t = (Date.now() - exec.scenario.startTime) / 1000;
  exec.vu.metrics.tags.phase = t < SPIKE_START ? 'baseline' : t < SPIKE_END ? 'spike' : 'recovery';
  runMix(ctx, { allowShed: true });
}

function report(data) {
  const m = data.metrics;
  const lines = ['phases (p95, p99, errors, shed):'];
  const fields = {};
  for (const phase of ['baseline', 'spike', 'recovery']) {
    const d = m[`http_req_duration{phase:${phase}}`];
    const f = m[`http_req_failed{phase:${phase}}`];
    const s = m[`shed_responses{phase:${phase}}`];
    if (!d) continue;
    const row = {
      p95_ms: d.values['p(95)'], p99_ms: d.values['p(99)'],
      error_rate: f ? f.values.rate : null, shed_rate: s ? s.values.rate : null,
    };
    fields[phase] = row;
    lines.push(`  ${phase.padEnd(9)} p95=${row.p95_ms.toFixed(2)}ms p99=${row.p99_ms.toFixed(2)}ms ` +
      `errors=${((row.error_rate || 0) * 100).toFixed(2)}% shed=${((row.shed_rate || 0) * 100).toFixed(2)}%`);
  }
  return { lines, fields };
}

export const handleSummary = makeHandleSummary('spike', report);
