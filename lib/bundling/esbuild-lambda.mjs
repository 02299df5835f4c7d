// Bundles the Lambda entries with esbuild's JavaScript API, all in one build
// (parsed once: several times faster than one build per function), each into
// its own standalone `<outdir>/<name>/index.mjs`. Run by
// lib/bundling/lambda-code.ts as `node esbuild-lambda.mjs '<json options>'`:
// { entries: [{ entry, name }], outdir, tsconfig, metafile }.
//
// Why not NodejsFunction's own bundling: it drives the esbuild CLI, which
// cannot run plugins, and two plugins here are what keep bundles under 1 MB:
// - zod's namespace object drags its 50 locales (about 260 KB minified) into
//   every bundle; nothing reads them (English is registered by zod's schemas
//   themselves), so `zod/v4/locales/index.js` becomes English only;
// - the SDK's default credential chain loads its other sources (SSO, ini
//   files, web identity, container/instance metadata; about 110 KB) with
//   dynamic imports, after the environment variables Lambda always sets have
//   been tried. Those dynamic imports are left out of the bundle (external):
//   they never run on Lambda;
// - the X-Ray SDK's patcher for the AWS SDK v2 (`patchers/aws_p.js`:
//   `captureAWS`/`captureAWSClient`, which we never call: Powertools captures
//   our v3 clients with the v3 patcher) is required eagerly and brings semver
//   and its lru-cache (about 50 KB together). It becomes a stub whose two
//   functions throw if they are ever called.
// Everything else mirrors NodejsFunction: ESM, node22, minified, the AWS SDK
// bundled at our pinned versions, no Docker.
import { build } from 'esbuild';
import { dirname, join } from 'node:path';

const options = JSON.parse(process.argv[2] ?? '{}');
for (const key of ['outdir', 'tsconfig']) {
  if (typeof options[key] !== 'string') throw new TypeError(`esbuild-lambda: option ${key} is required`);
}
if (!Array.isArray(options.entries) || options.entries.some((e) => typeof e.entry !== 'string' || !/^[a-z0-9-]+$/.test(e.name))) {
  throw new TypeError('esbuild-lambda: entries must be [{ entry, name }] with kebab-case names');
}

/** zod/v4/locales/index.js → English only (see above). */
const zodEnglishOnly = {
  name: 'zod-english-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](core|classic)$/.test(args.resolveDir) ? { path: join(args.resolveDir, '..', 'locales', 'index.js'), namespace: 'zod-english-only' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'zod-english-only' }, (args) => ({
      contents: "export { default as en } from './en.js';",
      resolveDir: dirname(args.path),
      loader: 'js',
    }));
  },
};

/** Credential sources the SDK imports lazily and Lambda never reaches (see above). */
const LAZY_CREDENTIAL_SOURCES = /^@aws-sdk\/(credential-provider-(ini|sso|process|web-identity|login|http)|nested-clients|token-providers)$|^@smithy\/credential-provider-imds$/;
const lazyCredentialSources = {
  name: 'lazy-credential-sources',
  setup(b) {
    b.onResolve({ filter: /^@(aws-sdk|smithy)\// }, (args) =>
      args.kind === 'dynamic-import' && LAZY_CREDENTIAL_SOURCES.test(args.path) ? { path: args.path, external: true } : undefined);
  },
};

/** aws-xray-sdk-core's SDK v2 patcher → a stub (see above). */
const noSdkV2Patcher = {
  name: 'no-sdk-v2-patcher',
  setup(b) {
    b.onResolve({ filter: /^\.\/patchers\/aws_p$/ }, (args) =>
      /aws-xray-sdk-core[\\/]dist[\\/]lib$/.test(args.resolveDir) ? { path: 'aws_p', namespace: 'no-sdk-v2-patcher' } : undefined);
    b.onLoad({ filter: /.*/, namespace: 'no-sdk-v2-patcher' }, () => ({
      contents: [
        "const unbundled = () => { throw new Error('govledger bundles leave out the X-Ray patcher of the AWS SDK v2: capture v3 clients with tracer.captureAWSv3Client'); };",
        'module.exports = { captureAWS: unbundled, captureAWSClient: unbundled };',
      ].join('\n'),
      loader: 'js',
    }));
  },
};

const result = await build({
  entryPoints: options.entries.map(({ entry, name }) => ({ in: entry, out: join(name, 'index') })),
  outdir: options.outdir,
  outExtension: { '.js': '.mjs' },
  bundle: true,
  platform: 'node',
  target: 'node22',
  format: 'esm',
  minify: true,
  sourcemap: false,
  legalComments: 'none',
  mainFields: ['module', 'main'],
  tsconfig: options.tsconfig,
  // ESM output still needs `require` for the CommonJS dependencies esbuild inlines.
  banner: { js: "import { createRequire as __govledgerRequire } from 'node:module'; const require = __govledgerRequire(import.meta.url);" },
  // pg's optional native binding, behind a getter nothing of ours calls.
  external: ['pg-native'],
  metafile: options.metafile === true,
  plugins: [zodEnglishOnly, lazyCredentialSources, noSdkV2Patcher],
  logLevel: 'warning',
});
if (options.metafile === true) {
  // One metafile per bundle: its output and the inputs it holds.
  const { writeFile } = await import('node:fs/promises');
  for (const { name } of options.entries) {
    const [file, output] = Object.entries(result.metafile.outputs).find(([path]) => path.endsWith(`${name}/index.mjs`)) ?? [];
    if (output === undefined) throw new Error(`esbuild-lambda: no output for ${name}`);
    await writeFile(join(options.outdir, name, 'index.meta.json'), JSON.stringify({ inputs: result.metafile.inputs, outputs: { [file]: output } }));
  }
}
