/**
 * Lambda entry of GET /healthz (public): probes the ledger table, the key
 * table, the log bucket and, when the master key lives in a CloudHSM custom
 * key store, the cluster (DESIGN §4). Probe results are reused for a few
 * seconds, so a public route cannot turn into a load generator.
 */
import { healthzHandler, type HealthProbe } from '../handlers/healthz.js';
import { apiEntry } from './shared/api-entry.js';
import { cloudHsmProbe } from './shared/cloudhsm-probe.js';
import { keyStore, ledgerStore } from './shared/dynamo-adapters.js';
import { readEnv } from './shared/env.js';
import { powertools } from './shared/powertools.js';
import { logObjects } from './shared/s3-adapters.js';

const config = readEnv(['ledgerTable', 'keyTable', 'logBucket', 'cloudHsm']);
const tools = powertools();
const ledger = ledgerStore(config, tools);
const keys = keyStore(config, tools);
const objects = logObjects(config, tools);

/** The probe's last outcome is shared by calls within `ttlMs`. */
function reused(probe: HealthProbe, ttlMs = 5000): HealthProbe {
  let last: { at: number; outcome: Promise<unknown> } | undefined;
  return () => {
    if (last === undefined || Date.now() - last.at > ttlMs) last = { at: Date.now(), outcome: probe() };
    return last.outcome;
  };
}

const probes: Record<string, HealthProbe> = {
  ledger: reused(() => ledger.readTail('healthz')),
  keys: reused(() => keys.shredded('healthz')),
  objects: reused(() => objects.get('healthz/probe')),
};
if (config.cloudHsmClusterId !== undefined) probes.hsm = reused(cloudHsmProbe(config.cloudHsmClusterId, tools));

/** The Lambda handler. */
export const handler = apiEntry('healthz', healthzHandler({ probes, logger: tools.httpLogger }), tools);
