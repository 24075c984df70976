// A steady load for the deploy rehearsal (container/testing/deploy.sh): RATE
// requests a second (default 300) for DURATION (default 60s) against
// BASE_URL, through the server's proxy, while a deploy replaces the API
// container behind it. Every request must succeed: the thresholds fail the
// run on a single refused connection, error or non-200 answer. Reads only
// (/health, and USER_PATH: a row the rehearsal wrote, through the database).
//
//   BASE_URL=http://198.19.1.2:5000 USER_PATH=/api/users/4 k6 run container/testing/steady-load.js
import { check } from 'k6';
import http from 'k6/http';

const BASE_URL = __ENV.BASE_URL;
const PATHS = ['/health', __ENV.USER_PATH || '/health'];

export const options = {
  discardResponseBodies: true,
  scenarios: {
    steady: {
      executor: 'constant-arrival-rate',
      rate: Number(__ENV.RATE || 300),
      timeUnit: '1s',
      duration: __ENV.DURATION || '60s',
      preAllocatedVUs: 50,
      maxVUs: 300,
    },
  },
  thresholds: {
    http_req_failed: ['rate==0'],
    checks: ['rate==1'],
  },
};

let reported = 0;

export default function () {
  const path = PATHS[__ITER % PATHS.length];
  const response = http.get(`${BASE_URL}${path}`, { timeout: '10s', tags: { name: path } });
  const ok = check(response, { 'status 200': (r) => r.status === 200 });
  // What failed, and when (a few per VU): the deploy's log says what happened then.
  if (!ok && reported < 5) {
    reported += 1;
    console.warn(`${new Date().toISOString()} GET ${path}: ${response.status} ${response.error || ''} ${String(response.body || '').slice(0, 200)}`);
  }
}
