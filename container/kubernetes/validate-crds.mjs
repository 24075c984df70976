// Validates the custom resources of rendered manifests (HTTPRoute, Knative
// Service, PodMonitor, PrometheusRule) against the schemas that the @kubernetes-models
// packages generate from the projects' own definitions, which is as close
// to the published CRD schemas as this machine can get (no GitHub, no
// cluster). kubernetes-validate covers the core kinds and skips these.
//
//   node validate-crds.mjs MODELS_DIR FILE...
//
// MODELS_DIR is the node_modules directory check.sh installs the packages
// into. A document of a kind not listed below is an error, so a new custom
// resource cannot slip through unchecked.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const [modelsDir, ...files] = process.argv.slice(2);
if (!modelsDir || files.length === 0) {
  console.error('usage: node validate-crds.mjs MODELS_DIR FILE...');
  process.exit(2);
}

const load = (path) => import(pathToFileURL(join(modelsDir, path)).href);
const yaml = (await load('js-yaml/index.js')).default;

// apiVersion/kind -> module and export of its model class.
const MODELS = {
  'gateway.networking.k8s.io/v1/HTTPRoute': ['@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1/HTTPRoute.js', 'HTTPRoute'],
  'serving.knative.dev/v1/Service': ['@kubernetes-models/knative/serving.knative.dev/v1/Service.js', 'Service'],
  'monitoring.coreos.com/v1/PodMonitor': ['@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PodMonitor.js', 'PodMonitor'],
  'monitoring.coreos.com/v1/PrometheusRule': ['@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule.js', 'PrometheusRule'],
};
// Checked by kubernetes-validate instead.
const CORE_GROUPS = new Set(['v1', 'apps/v1', 'autoscaling/v2', 'policy/v1', 'networking.k8s.io/v1']);

let failed = 0;
let checked = 0;
for (const file of files) {
  for (const doc of yaml.loadAll(readFileSync(file, 'utf8'))) {
    if (!doc) continue;
    const name = `${doc.kind}/${doc.metadata && doc.metadata.name}`;
    if (CORE_GROUPS.has(doc.apiVersion)) continue;
    const entry = MODELS[`${doc.apiVersion}/${doc.kind}`];
    if (!entry) {
      console.error(`FAIL ${file}: ${name}: no schema known for ${doc.apiVersion} ${doc.kind}`);
      failed += 1;
      continue;
    }
    const Model = (await load(entry[0]))[entry[1]];
    try {
      new Model(doc).validate();
      checked += 1;
      console.log(`ok   ${file}: ${name} (${doc.apiVersion})`);
    } catch (error) {
      failed += 1;
      console.error(`FAIL ${file}: ${name}: ${error.message}`);
    }
  }
}
console.log(`custom resources: ${checked} valid, ${failed} invalid`);
process.exit(failed ? 1 : 0);
