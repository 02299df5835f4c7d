/**
 * The code of every govledger function: its entry under `lambdas/entry/`
 * bundled locally by esbuild (`esbuild-lambda.mjs`, no Docker) into one
 * minified ESM file, `index.mjs`, exporting `handler`. The asset hash is the
 * bundle's, so an unchanged bundle is never re-uploaded. With the context
 * `aws:cdk:bundling-stacks` set to `[]` (unit tests) nothing is bundled.
 *
 * CDK bundles each function's asset as the function is constructed; the
 * first request bundles every entry of `lambdas/entry/` (every top-level
 * `.ts` file there is an entry; helpers live in `shared/`) in one esbuild run
 * (shared parsing, several times faster), later ones copy their bundle.
 */
import { AssetHashType, DockerImage } from 'aws-cdk-lib';
import { Code } from 'aws-cdk-lib/aws-lambda';
import type { Construct } from 'constructs';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: entries, lock file and tsconfig are found from here. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** Where the Lambda entries live. */
export const ENTRY_DIR = join(PROJECT_ROOT, 'lambdas', 'entry');
/** Context key: also write esbuild's metafile (`index.meta.json`) next to each bundle, for bundle analysis and tests. */
export const METAFILE_CONTEXT = 'govledger:bundleMetafile';

const BUNDLER = join(PROJECT_ROOT, 'lib', 'bundling', 'esbuild-lambda.mjs');

/** Thrown when esbuild fails: synth stops rather than fall back to Docker. */
export class BundlingError extends Error {
  readonly code = 'BUNDLING_FAILED';
  constructor(entries: readonly string[], status: number | null) {
    super(`esbuild could not bundle ${entries.join(', ')} (exit ${status}); see its messages above`);
    this.name = 'BundlingError';
  }
}

/** Finished runs: the set of entries they bundled → the directory holding `<name>/index.mjs`. */
const runs = new Map<string, string>();

const nameOf = (entryFile: string): string => basename(entryFile, '.ts');

/** Bundles every entry of `lambdas/entry/` (once per process and setting) and returns the directory of the bundles. */
function bundleAll(metafile: boolean): string {
  const entries = readdirSync(ENTRY_DIR).filter((f) => f.endsWith('.ts')).sort();
  const key = `${metafile}:${entries.join(',')}`;
  const done = runs.get(key);
  if (done !== undefined) return done;
  const outdir = mkdtempSync(join(tmpdir(), 'govledger-bundles-'));
  process.once('exit', () => rmSync(outdir, { recursive: true, force: true }));
  const options = { entries: entries.map((e) => ({ entry: join(ENTRY_DIR, e), name: nameOf(e) })), outdir, tsconfig: join(PROJECT_ROOT, 'tsconfig.json'), metafile };
  const run = spawnSync(process.execPath, [BUNDLER, JSON.stringify(options)], { cwd: PROJECT_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (run.status !== 0) throw new BundlingError(entries, run.status);
  runs.set(key, outdir);
  return outdir;
}

/**
 * @example
 * new NodejsFunction(this, 'Fn', { code: lambdaCode(this, 'healthz.ts'), handler: 'index.handler', runtime: Runtime.NODEJS_22_X });
 */
export function lambdaCode(scope: Construct, entryFile: string): Code {
  const metafile = [true, 'true'].includes(scope.node.tryGetContext(METAFILE_CONTEXT));
  return Code.fromAsset(PROJECT_ROOT, {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      // Required by the type, never pulled: local bundling either succeeds or throws.
      image: DockerImage.fromRegistry('public.ecr.aws/docker/library/node:22-slim'),
      // Not run (local bundling wins), but part of CDK's bundling cache key: without the entry in it,
      // every function would share the first bundle CDK made.
      command: ['node', 'lib/bundling/esbuild-lambda.mjs', entryFile, ...(metafile ? ['--metafile'] : [])],
      local: {
        tryBundle(outdir: string): boolean {
          cpSync(join(bundleAll(metafile), nameOf(entryFile)), outdir, { recursive: true });
          return true;
        },
      },
    },
  });
}
