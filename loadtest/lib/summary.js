// End-of-test summary: a short text report on stdout and the whole k6
// summary as JSON in SUMMARY_DIR (an existing directory; default: the
// results/ folder beside the scripts, loadtest/results, wherever k6 is run
// from). SUMMARY_DIR=- writes no file.

import { BASE_URL } from './common.js';

// Trend statistics kept for every trend metric (p99 is not in k6's default).
export const SUMMARY_TREND_STATS = ['avg', 'min', 'med', 'max', 'p(90)', 'p(95)', 'p(99)'];

// loadtest/results/, as an absolute path, found from this module's location.
function defaultResultsDir() {
  try {
    const url = import.meta.resolve('../results/');
    if (url.indexOf('file://') === 0) return decodeURIComponent(url.slice('file://'.length));
  } catch (e) {
    // fall through
  }
  return 'loadtest/results';
}

const RESULTS_DIR = (__ENV.SUMMARY_DIR || defaultResultsDir()).replace(/\/+$/, '');

function stamp() {
  return new Date().toISOString().replace(/[:]/g, '').replace(/\.\d+Z$/, 'Z');
}

function ms(v) {
  if (typeof v !== 'number') return '-';
  return v >= 1000 ? `${(v / 1000).toFixed(2)}s` : `${v.toFixed(2)}ms`;
}

function pct(v) {
  return typeof v === 'number' ? `${(v * 100).toFixed(2)}%` : '-';
}

function walkChecks(group, out) {
  for (const c of group.checks || []) out.push(c);
  for (const g of group.groups || []) walkChecks(g, out);
  return out;
}

// A compact text summary of the run (k6's own is not printed once a script
// defines handleSummary, and the k6-summary jslib would need the network).
export function textSummary(data, name, extraLines) {
  const m = data.metrics || {};
  const lines = [];
  const secs = ((data.state && data.state.testRunDurationMs) || 0) / 1000;
  lines.push('');
  lines.push(`== ${name} against ${BASE_URL}: ${secs.toFixed(1)}s`);

  const thr = [];
  for (const key of Object.keys(m).sort()) {
    const t = m[key].thresholds;
    if (!t) continue;
    for (const expr of Object.keys(t)) thr.push({ key, expr, ok: t[expr].ok });
  }
  const broken = thr.filter((t) => !t.ok);
  lines.push(`thresholds: ${thr.length - broken.length}/${thr.length} passed`);
  for (const t of broken) lines.push(`  FAILED ${t.key} ${t.expr}`);

  const checks = walkChecks(data.root_group || {}, []);
  const passes = checks.reduce((n, c) => n + c.passes, 0);
  const fails = checks.reduce((n, c) => n + c.fails, 0);
  lines.push(`checks: ${passes} passed, ${fails} failed`);
  for (const c of checks) {
    if (c.fails > 0) lines.push(`  FAILED ${c.name} (${c.fails} of ${c.passes + c.fails})`);
  }

  const reqs = m.http_reqs && m.http_reqs.values;
  if (reqs) lines.push(`http_reqs: ${reqs.count} (${reqs.rate.toFixed(1)}/s)`);
  const failed = m.http_req_failed && m.http_req_failed.values;
  if (failed) lines.push(`http_req_failed: ${pct(failed.rate)} (${failed.passes} of ${failed.passes + failed.fails})`);
  const dur = m.http_req_duration && m.http_req_duration.values;
  if (dur) {
    lines.push(`http_req_duration: avg=${ms(dur.avg)} med=${ms(dur.med)} p95=${ms(dur['p(95)'])} ` +
      `p99=${ms(dur['p(99)'])} max=${ms(dur.max)}`);
  }
  // Per-endpoint latency, where a threshold made k6 keep the sub-metric.
  for (const key of Object.keys(m).sort()) {
    if (!/^http_req_duration\{name:/.test(key)) continue;
    const v = m[key].values;
    if (!v || !v.max) continue;
    lines.push(`  ${key.slice('http_req_duration'.length)}: med=${ms(v.med)} p95=${ms(v['p(95)'])} p99=${ms(v['p(99)'])}`);
  }
  const iters = m.iterations && m.iterations.values;
  if (iters) lines.push(`iterations: ${iters.count} (${iters.rate.toFixed(1)}/s)`);
  const dropped = m.dropped_iterations && m.dropped_iterations.values;
  if (dropped) {
    lines.push(`dropped_iterations: ${dropped.count}` +
      (dropped.count > 0 ? ' (the arrival rate was not met: too few VUs, a slow server, or a busy load generator)' : ''));
  }
  for (const l of extraLines || []) lines.push(l);
  lines.push(`result: ${broken.length === 0 ? 'PASS' : 'FAIL'}`);
  lines.push('');
  return lines.join('\n');
}

// Returns a handleSummary for the script `name`. `extra(data)` may return
// { lines: [...], fields: {...} }: lines go to the text report, fields into
// the JSON file under "report".
export function makeHandleSummary(name, extra) {
  return function handleSummary(data) {
    const more = extra ? extra(data) || {} : {};
    const out = { stdout: textSummary(data, name, more.lines) };
    if (RESULTS_DIR !== '-') {
      const file = `${RESULTS_DIR}/${name}-${stamp()}.json`;
      const doc = {
        script: name,
        base_url: BASE_URL,
        finished_at: new Date().toISOString(),
        report: more.fields || {},
        summary: data,
      };
      out[file] = JSON.stringify(doc, null, 2);
      out.stdout += `summary written to ${file}\n`;
    }
    return out;
  };
}
