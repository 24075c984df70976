// Load test: a constant arrival rate of the realistic mix (lib/mix.js).
//
//   RATE       iterations (= requests) per second, default 200
//   DURATION   default 30s
//   VUS, MAX_VUS   pre-allocated and maximum VUs (default 50 and 400)
//   P95_MS, P99_MS, MAX_ERROR_RATE   thresholds (default 200ms, 500ms, 1%)
//   USER_IDS, PRODUCT_IDS, ORDER_IDS, ORDER_PRODUCT_IDS: see lib/common.js, lib/mix.js
//
//   BASE_URL=http://127.0.0.1:5000 k6 run loadtest/load.js
//   # against the bench data set (loadtest/bench loads it):
//   USER_IDS=1-10000 PRODUCT_IDS=1-1000 ORDER_IDS=1-10000 RATE=500 k6 run loadtest/load.js

import { envFloat, envInt, envStr, thresholds } from './lib/common.js';
import { endpointThresholds, mixContext, runMix, setupOrderProducts } from './lib/mix.js';
import { makeHandleSummary, SUMMARY_TREND_STATS } from './lib/summary.js';

const RATE = envInt('RATE', 200);
const P95 = envFloat('P95_MS', 200);

export const options = {
  scenarios: {
    load: {
      executor: 'constant-arrival-rate',
      rate: RATE,
      timeUnit: '1s',
      duration: envStr('DURATION', '30s'),
      preAllocatedVUs: envInt('VUS', 50),
      maxVUs: envInt('MAX_VUS', 400),
      gracefulStop: '10s',
    },
  },
  thresholds: Object.assign(
    thresholds({ p95: 200, p99: 500, errorRate: 0.01 }),
    endpointThresholds(P95),
    // The arrival rate must be met: a dropped iteration means the server
    // (or this machine) could not keep up.
    { dropped_iterations: [`count<=${Math.ceil(RATE * 0.01)}`] },
  ),
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export function setup() {
  return setupOrderProducts();
}

let ctx;
export default function (data) {
  if (!ctx) ctx = mixContext(data);
  runMix(ctx);
}

export const handleSummary = makeHandleSummary('load', () => ({ fields: { rate: RATE } }));
