import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../lambdas/adapters/fake/memory-object-store.js';
import { verificationStepHandlers, type RunNotice } from '../../lambdas/handlers/verification-steps.js';
import { verificationDir, verificationWorld } from '../support/verification-world.js';

let dir: string;
let cleanup: () => Promise<void>;
beforeAll(async () => ({ dir, cleanup } = await verificationDir()));
afterAll(() => cleanup());

async function setup(size: number) {
  const world = await verificationWorld(dir, size);
  const parts = new MemoryObjectStore();
  const notices: RunNotice[] = [];
  const steps = verificationStepHandlers({
    ...world.deps, parts, segmentSize: 200,
    tenants: async function* () { yield 'acme'; },
    notify: async (n) => void notices.push(n),
  });
  return { world, parts, notices, steps };
}

/** What Step Functions does: JSON in and out of every task, the map's results collected in order. */
const viaJson = <T>(value: T): T => JSON.parse(JSON.stringify(value)) as T;

describe('the verification state machine tasks', () => {
  it('run as Step Functions runs them (JSON between tasks, a map over segments) and report what the in-process run reports', async () => {
    // Prepare
    const { world, notices, steps } = await setup(700);
    world.copies[1]!.stored.get('acme')!.delete(650);
    // Act
    const { tenants } = viaJson(await steps.listTenants());
    const plan = viaJson(await steps.plan({ tenant: tenants[0]! }));
    const refs = await Promise.all(plan.segments.map(async (task) => viaJson(await steps.segment(viaJson(task)))));
    const notice = viaJson(await steps.finish({ plan, segments: refs.reverse() }));
    // Assess
    expect(tenants).toEqual(['acme']);
    expect(notices).toHaveLength(1); // no key store configured: no CloudHSM notice
    expect(plan.segments.map((s) => [s.from, s.to, s.last])).toEqual([[0, 200, false], [200, 400, false], [400, 600, false], [600, 700, true]]);
    expect(notice).toEqual({ tenant: 'acme', runId: plan.runId, ok: true, findings: 0, reportLocation: expect.stringMatching(/\.json$/) });
    expect(notices).toEqual([notice]);
    const report = JSON.parse(await readFile(notice.reportLocation!, 'utf8'));
    expect(report.repairs).toEqual([{ copy: 'projection', from: 650, to: 651 }]);
    expect(world.copies[1]!.stored.get('acme')!.has(650)).toBe(true);
  });

  it('raises a degraded CloudHSM cluster behind the master key as a finding of the run, and goes on verifying', async () => {
    // Prepare
    const { world, notices } = await setup(10);
    const steps = verificationStepHandlers({
      ...world.deps, parts: new MemoryObjectStore(), tenants: async function* () { yield 'acme'; }, notify: async (n) => void notices.push(n),
      keyStoreHealth: async () => ({ ok: false, message: 'cluster-abc has 1 active HSM, fewer than 2' }),
    });
    // Act
    const listed = await steps.listTenants();
    // Assess
    expect(listed).toEqual({ tenants: ['acme'], keyStore: { ok: false, message: 'cluster-abc has 1 active HSM, fewer than 2' } });
    expect(notices).toEqual([{ tenant: null, runId: null, ok: false, findings: 1, reportLocation: null, error: 'CloudHSM: cluster-abc has 1 active HSM, fewer than 2' }]);
  });

  it('finish refuses to report a run whose segment outcomes did not all arrive', async () => {
    const { steps } = await setup(300);
    const plan = await steps.plan({ tenant: 'acme' });
    const first = await steps.segment(plan.segments[0]!);
    await expect(steps.finish({ plan, segments: [first] })).rejects.toThrow('1 of 2 segment outcomes arrived');
  });

  it('reportFailure writes a failure report and raises it, whatever failed', async () => {
    // Prepare
    const { notices, steps } = await setup(10);
    const plan = await steps.plan({ tenant: 'acme' });
    // Act
    const notice = await steps.reportFailure({ plan, error: { Error: 'States.Timeout', Cause: 'segment 3 timed out' } });
    const early = await steps.reportFailure({ error: { Error: 'Lambda.ServiceException' } });
    // Assess
    expect(notice).toMatchObject({ tenant: 'acme', runId: plan.runId, ok: false, error: 'States.Timeout: segment 3 timed out' });
    expect(await readFile(notice.reportLocation!.replace(/\.json$/, '.txt'), 'utf8')).toContain('RUN FAILED');
    expect(early).toEqual({ tenant: null, runId: null, ok: false, findings: 0, reportLocation: null, error: 'Lambda.ServiceException: no cause given' });
    expect(notices).toHaveLength(2);
  });
});
