import { hashLeafHex } from '../../lambdas/core/rfc9162-hasher.js';
import type { ChangeCopy, LedgerChange } from '../../lambdas/ports/change-stream.js';
import { ChangeConflictError } from '../../lambdas/ports/errors.js';

/**
 * A downstream copy held in memory, honouring the `ChangeCopy` contract
 * (idempotent by tenant+position, conflicts refused, hashes recomputed from
 * the bytes held). `stored` is exposed so tests can tamper with the copy.
 */
export class MemoryCopy implements ChangeCopy {
  readonly stored = new Map<string, Map<number, Uint8Array>>();
  applied = 0;
  failNext = false;

  constructor(readonly name: string) {}

  async apply(changes: readonly LedgerChange[]): Promise<void> {
    if (this.failNext) {
      this.failNext = false;
      throw new Error(`${this.name} is down`);
    }
    for (const c of changes) {
      const tenant = this.#tenant(c.tenant);
      const held = tenant.get(c.position);
      if (held !== undefined && Buffer.compare(held, c.entry) !== 0) throw new ChangeConflictError(this.name, c.tenant, c.position);
      tenant.set(c.position, new Uint8Array(c.entry));
      this.applied++;
    }
  }

  async leafHashes(tenant: string, from: number, to: number): Promise<ReadonlyMap<number, string>> {
    const out = new Map<number, string>();
    for (const [p, bytes] of [...this.#tenant(tenant)].sort((a, b) => a[0] - b[0])) if (p >= from && p < to) out.set(p, hashLeafHex(bytes));
    return out;
  }

  #tenant(tenant: string): Map<number, Uint8Array> {
    let m = this.stored.get(tenant);
    if (m === undefined) this.stored.set(tenant, (m = new Map()));
    return m;
  }
}
