/**
 * Lambda entry of the drill's database check (issue 8), in the VPC: connects
 * to the restored scratch cluster's writer (IAM authentication as the
 * read-only role, TLS verified against the RDS certificate authorities that
 * `NODE_EXTRA_CA_CERTS` loads), reads the projection's rows with their
 * served leaf hashes (payloads decrypted with the tenant's keys) and compares
 * them with the live ledger.
 */
import { PostgresProjectionWriter } from '../adapters/postgres/postgres-projection-store.js';
import { drillStepHandlers, type DrillTargetState } from '../handlers/drill-steps.js';
import { KeyService } from '../services/key-service.js';
import { Projector } from '../services/projector.js';
import { keyStore, ledgerStore } from './shared/dynamo-adapters.js';
import { readEnv } from './shared/env.js';
import { kmsMasterKey } from './shared/kms-adapters.js';
import { projectionDb } from './shared/postgres.js';
import { instrumented, powertools } from './shared/powertools.js';
import { drillStepDeps, onlyTarget } from './shared/verification-deps.js';

const config = readEnv(['drill', 'ledgerTable', 'keyTable', 'masterKey']);
const tools = powertools();
const keys = new KeyService(keyStore(config, tools), kmsMasterKey(config, tools));
const { check } = drillStepHandlers(drillStepDeps({
  restored: async (target, _runId, located) => {
    onlyTarget('database', target);
    if (typeof located?.host !== 'string' || typeof located.port !== 'number') throw new RangeError(`the drill state names no scratch cluster endpoint: ${JSON.stringify(located)}`);
    const db = projectionDb({ dbHost: located.host, dbPort: located.port, dbName: config.drillDbName, dbUser: config.drillDbUser }, tools);
    const copy = new Projector(new PostgresProjectionWriter(db), keys);
    return { open: async (restoredTo) => ({ kind: 'copy', copy, restoredTo }), close: () => db.destroy() };
  },
  drill: { live: ledgerStore(config, tools) },
}));

/** The Lambda handler. */
export const handler = instrumented((state: DrillTargetState) => check(state), tools);
