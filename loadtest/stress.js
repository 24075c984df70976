// Stress test: step the arrival rate of the realistic mix up until the
// thresholds break, then stop (abortOnFail), and report the highest rate
// that held.
//
// The rate climbs START_RATE, START_RATE+STEP, … up to MAX_RATE; each level
// is reached in RAMP seconds and held for HOLD seconds. Requests made while a
// level is held carry the tag level=<rate>, and each level has its own
// thresholds, so a level is judged on its own requests only:
//   p(95) of http_req_duration < P95_MS        (default 500)
//   rate of http_req_failed    < MAX_ERROR_RATE (default 0.01)
// A broken threshold aborts the run (k6 then exits with code 99: expected
// here). A level "held" when its thresholds passed and the achieved request
// rate was at least 90% of the target; handleSummary reports the highest
// level that held before the first one that did not.
//
//   START_RATE 100, STEP 100, MAX_RATE 3000, RAMP 5 (s), HOLD 20 (s),
//   VUS 100, MAX_VUS 1000, DROPPED_ABORT 1000 (abort once that many
//   iterations could not be started: the load generator is out of VUs/CPU)
//
//   BASE_URL=http://127.0.0.1:5000 k6 run loadtest/stress.js
//
// k6 shares the machine's cores with the service: on a 2-core machine the
// ceiling found is the pair's, not the service's alone (loadtest/bench's wrk
// figures are the better measure of raw throughput).

import exec from 'k6/execution';
import { envFloat, envInt } from './lib/common.js';
import { mixContext, runMix, setupOrderProducts } from './lib/mix.js';
import { makeHandleSummary, SUMMARY_TREND_STATS } from './lib/summary.js';

const START = envInt('START_RATE', 100);
const STEP = envInt('STEP', 100);
const MAX = envInt('MAX_RATE', 3000);
const RAMP = envInt('RAMP', 5);
const HOLD = envInt('HOLD', 20);
const P95 = envFloat('P95_MS', 500);
const ERR = envFloat('MAX_ERROR_RATE', 0.01);

if (STEP < 1 || START < 1 || MAX < START || HOLD < 1 || RAMP < 0) {
  throw new Error('need START_RATE >= 1, STEP >= 1, MAX_RATE >= START_RATE, HOLD >= 1, RAMP >= 0');
}

const LEVELS = [];
for (let r = START; r <= MAX && LEVELS.length < 200; r += STEP) LEVELS.push(r);

const stages = [];
for (const level of LEVELS) {
  if (RAMP > 0) stages.push({ duration: `${RAMP}s`, target: level });
  stages.push({ duration: `${HOLD}s`, target: level });
}

const levelThresholds = {};
for (const level of LEVELS) {
  levelThresholds[`http_req_duration{level:${level}}`] = [
    { threshold: `p(95)<${P95}`, abortOnFail: true, delayAbortEval: '5s' },
  ];
  levelThresholds[`http_req_failed{level:${level}}`] = [{ threshold: `rate<${ERR}`, abortOnFail: true }];
  // Not a limit: keeps each level's request count in the summary.
  levelThresholds[`http_reqs{level:${level}}`] = ['count>=0'];
}

export const options = {
  scenarios: {
    stress: {
      executor: 'ramping-arrival-rate',
      startRate: START,
      timeUnit: '1s',
      preAllocatedVUs: envInt('VUS', 100),
      maxVUs: envInt('MAX_VUS', 1000),
      stages,
      gracefulStop: '5s',
    },
  },
  thresholds: Object.assign(levelThresholds, {
    dropped_iterations: [{ threshold: `count<${envInt('DROPPED_ABORT', 1000)}`, abortOnFail: true }],
  }),
  summaryTrendStats: SUMMARY_TREND_STATS,
};

export function setup() {
  return setupOrderProducts();
}

// The level being held at `elapsedSec` into the scenario, or null during a ramp.
function levelAt(elapsedSec) {
  const span = RAMP + HOLD;
  const k = Math.floor(elapsedSec / span);
  if (k >= LEVELS.length) return LEVELS[LEVELS.length - 1];
  return elapsedSec - k * span < RAMP ? null : LEVELS[k];
}

let ctx;
export default function (data) {
  if (!ctx) ctx = mixContext(data);
  const level = levelAt((Date.now() - exec.scenario.startTime) / 1000);
  exec.vu.metrics.tags.level = level === null ? 'ramp' : String(level);
  runMix(ctx);
}

function report(data) {
  const m = data.metrics;
  const rows = [];
  let highest = null;
  let broke = null;
  const runSec = ((data.state && data.state.testRunDurationMs) || 0) / 1000;
  for (let k = 0; k < LEVELS.length; k++) {
    const level = LEVELS[k];
    const reqs = m[`http_reqs{level:${level}}`];
    const count = reqs ? reqs.values.count : 0;
    if (!count) break;
    const dur = m[`http_req_duration{level:${level}}`];
    const failed = m[`http_req_failed{level:${level}}`];
    const ok = (x) => !x || Object.values(x.thresholds || {}).every((t) => t.ok);
    // A run aborted during this level held it for less than HOLD seconds
    // (approximately: the run's duration also counts setup()).
    const heldSec = Math.max(1, Math.min(HOLD, runSec - (k * (RAMP + HOLD) + RAMP)));
    const achieved = count / heldSec;
    const why = [];
    if (!ok(dur)) why.push(`p95 >= ${P95}ms`);
    if (!ok(failed)) why.push(`errors >= ${(ERR * 100).toFixed(2)}%`);
    if (achieved < 0.9 * level) why.push('rate not reached');
    const held = why.length === 0;
    rows.push({
      level,
      achieved_rps: Math.round(achieved * 10) / 10,
      p95_ms: dur ? Math.round(dur.values['p(95)'] * 100) / 100 : null,
      p99_ms: dur ? Math.round(dur.values['p(99)'] * 100) / 100 : null,
      error_rate: failed ? failed.values.rate : null,
      held,
      broke_because: why,
    });
    if (held && broke === null) highest = level;
    if (!held && broke === null) broke = level;
  }
  const lines = ['levels (target rps: achieved rps, p95, p99, errors):'];
  for (const r of rows) {
    lines.push(`  ${String(r.level).padStart(5)}: ${String(r.achieved_rps).padStart(7)}/s  p95=${r.p95_ms}ms  ` +
      `p99=${r.p99_ms}ms  errors=${((r.error_rate || 0) * 100).toFixed(2)}%  ` +
      (r.held ? 'held' : `BROKE (${r.broke_because.join(', ')})`));
  }
  if (highest === null) lines.push(`highest rate that held: none (the first level, ${START}/s, already broke)`);
  else if (broke === null) lines.push(`highest rate that held: ${highest}/s (did not break up to the last level run)`);
  else lines.push(`highest rate that held: ${highest}/s (broke at ${broke}/s)`);
  lines.push(`limits: p95 < ${P95}ms, errors < ${(ERR * 100).toFixed(2)}%, achieved >= 90% of target`);
  return { lines, fields: { highest_held_rps: highest, broke_at_rps: broke, levels: rows, p95_ms_limit: P95, max_error_rate: ERR } };
}

export const handleSummary = makeHandleSummary('stress', report);
