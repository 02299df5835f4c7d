import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { signCheckpoint, openCheckpoint } from '../../lambdas/core/checkpoint.js';
import { UnverifiedNoteError } from '../../lambdas/core/note-errors.js';
import { Ed25519NoteVerifier, openNote, parseVerifierKey, signNote } from '../../lambdas/core/signed-note.js';
import { FileMasterKey } from '../../lambdas/adapters/local/file-master-key.js';
import { FileSigningKey } from '../../lambdas/adapters/local/file-signing-key.js';
import { KeyFileError } from '../../lambdas/ports/errors.js';

/** Runs before any exclusive create (`wx`): lets a test act as a concurrent process. */
const hooks = vi.hoisted(() => ({ beforeExclusiveCreate: undefined as ((path: string) => void) | undefined }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open = (async (path: string, flags?: string, mode?: number) => {
    if (flags?.includes('x')) hooks.beforeExclusiveCreate?.(path);
    return real.open(path, flags, mode);
  }) as typeof real.open;
  return { ...real, open, default: { ...real, open } };
});

let dataDir: string;
beforeEach(() => { dataDir = mkdtempSync(join(tmpdir(), 'govledger-keys-')); });
afterEach(() => {
  hooks.beforeExclusiveCreate = undefined;
  rmSync(dataDir, { recursive: true, force: true });
});

/** The two local key files: same rules, different contents; `same` compares two opens. */
const kinds = [
  {
    kind: 'FileMasterKey', file: 'master.key', prefix: 'govledger-master-key-v1:', otherPrefix: 'govledger-ed25519-v1:',
    open: (dir: string, create: boolean) => FileMasterKey.open(dir, { create }),
    same: async (a: FileMasterKey, b: FileMasterKey) => {
      const ctx = { tenant: 'acme', kekVersion: 1 };
      const { plaintext, wrapped } = await a.generateKek(ctx);
      return a.keyId === b.keyId && Buffer.from(await b.unwrapKek(wrapped, ctx)).equals(plaintext);
    },
  },
  {
    kind: 'FileSigningKey', file: 'checkpoint.key', prefix: 'govledger-ed25519-v1:', otherPrefix: 'govledger-master-key-v1:',
    open: (dir: string, create: boolean) => FileSigningKey.open(dir, { create }),
    same: async (a: FileSigningKey, b: FileSigningKey) => {
      const note = await signNote('hello\n', [a.signerFor('log.example/acme')]);
      return openNote(note, [new Ed25519NoteVerifier(b.verifierKeyFor('log.example/acme'))]).verified.length === 1;
    },
  },
] as const;

describe.each(kinds)('$kind key file', ({ file, prefix, otherPrefix, open, same }) => {
  const keyPath = () => join(dataDir, 'keys', file);
  const writeKey = (content: string | Buffer) => {
    mkdirSync(join(dataDir, 'keys'), { recursive: true, mode: 0o700 });
    writeFileSync(keyPath(), content, { mode: 0o600 });
  };
  const same2 = same as (a: unknown, b: unknown) => Promise<boolean>;

  it('creates a one-line key file that reopens to the same key', async () => {
    // Act
    const created = await open(dataDir, true);
    const reopened = await open(dataDir, false);
    // Assess
    expect(readFileSync(keyPath(), 'utf8')).toMatch(new RegExp(`^${prefix}[A-Za-z0-9+/]{43}=\\n$`));
    expect(await same2(created, reopened)).toBe(true);
  });

  it('creates the file 0600 and the keys directory 0700, leaving no temp file', async () => {
    // Act
    await open(dataDir, true);
    // Assess
    expect(statSync(keyPath()).mode & 0o777).toBe(0o600);
    expect(statSync(join(dataDir, 'keys')).mode & 0o777).toBe(0o700);
    expect(readdirSync(join(dataDir, 'keys'))).toEqual([file]);
  });

  it('never overwrites an existing key, even with create set', async () => {
    // Prepare
    const first = await open(dataDir, true);
    const content = readFileSync(keyPath(), 'utf8');
    // Act
    const second = await open(dataDir, true);
    // Assess
    expect(readFileSync(keyPath(), 'utf8')).toBe(content);
    expect(await same2(first, second)).toBe(true);
  });

  it('keeps the key of a process that published first while it was creating its own', async () => {
    // Prepare
    const theirs = `${prefix}${Buffer.alloc(32, 7).toString('base64')}\n`;
    hooks.beforeExclusiveCreate = () => {
      hooks.beforeExclusiveCreate = undefined;
      writeFileSync(keyPath(), theirs, { mode: 0o600 });
    };
    // Act
    const mine = await open(dataDir, true);
    // Assess
    expect(readFileSync(keyPath(), 'utf8')).toBe(theirs);
    expect(await same2(mine, await open(dataDir, false))).toBe(true);
    expect(readdirSync(join(dataDir, 'keys'))).toEqual([file]);
  });

  it('lets concurrent creators agree on one key', async () => {
    // Act
    const keys = await Promise.all(Array.from({ length: 8 }, () => open(dataDir, true)));
    // Assess
    for (const key of keys.slice(1)) expect(await same2(keys[0], key)).toBe(true);
    expect(readdirSync(join(dataDir, 'keys'))).toEqual([file]);
  });

  it('refuses a missing file without create, naming the path, and creates nothing', async () => {
    // Act
    const result = open(dataDir, false);
    // Assess
    await expect(result).rejects.toThrow(KeyFileError);
    await expect(result).rejects.toMatchObject({ path: keyPath(), message: expect.stringContaining(`${keyPath()}: no `) });
    expect(existsSync(join(dataDir, 'keys'))).toBe(false);
  });

  it.each([0o644, 0o640, 0o604, 0o660])('refuses mode %o with the chmod hint', async (mode) => {
    // Prepare
    await open(dataDir, true);
    chmodSync(keyPath(), mode);
    // Act
    const result = open(dataDir, false);
    // Assess
    await expect(result).rejects.toThrow(KeyFileError);
    await expect(result).rejects.toThrow(`run chmod 600 ${keyPath()}`);
  });

  it.runIf(process.getuid?.() === 0)('refuses a file owned by another user', async () => {
    // Prepare
    await open(dataDir, true);
    chownSync(keyPath(), 4242, 4242);
    // Act
    const result = open(dataDir, false);
    // Assess
    await expect(result).rejects.toThrow(/owned by uid 4242, not by the current user \(uid 0\)/);
  });

  it.each([
    ['an empty file', () => ''],
    ['another key kind\'s prefix', () => `${otherPrefix}${Buffer.alloc(32, 1).toString('base64')}\n`],
    ['no prefix', () => `${Buffer.alloc(32, 1).toString('base64')}\n`],
    ['bad base64', () => `${prefix}${'!'.repeat(44)}\n`],
    ['unpadded base64', () => `${prefix}${Buffer.alloc(32, 1).toString('base64').slice(0, -1)}\n`],
    ['31 bytes', () => `${prefix}${Buffer.alloc(31, 1).toString('base64')}\n`],
    ['33 bytes', () => `${prefix}${Buffer.alloc(33, 1).toString('base64')}\n`],
    ['a second line', () => `${prefix}${Buffer.alloc(32, 1).toString('base64')}\nextra\n`],
    ['invalid UTF-8', () => Buffer.concat([Buffer.from(prefix), Buffer.of(0xff), Buffer.from('\n')])],
    ['a huge file', () => `${prefix}${'A'.repeat(5000)}\n`],
  ])('refuses a corrupt file (%s) without echoing its content', async (_, content) => {
    // Prepare
    writeKey(content());
    // Act
    const result = open(dataDir, true);
    // Assess
    await expect(result).rejects.toThrow(KeyFileError);
    await expect(result).rejects.toThrow(`${keyPath()}: corrupt`);
    await expect(result).rejects.not.toThrow(Buffer.alloc(32, 1).toString('base64'));
  });

  it('refuses a directory where the file should be', async () => {
    // Prepare
    mkdirSync(keyPath(), { recursive: true });
    // Act
    const result = open(dataDir, true);
    // Assess
    await expect(result).rejects.toThrow(`${keyPath()}: not a regular file`);
  });

  it('accepts a hand-written file without the final newline', async () => {
    // Prepare
    writeKey(`${prefix}${Buffer.alloc(32, 1).toString('base64')}`);
    // Act
    const result = open(dataDir, false);
    // Assess
    await expect(result).resolves.toBeDefined();
  });
});

describe('FileMasterKey', () => {
  it('derives keyId from the key: local: and 16 hex digits, different per key', async () => {
    // Prepare
    const otherDir = mkdtempSync(join(tmpdir(), 'govledger-keys-'));
    // Act
    const [a, b] = [await FileMasterKey.open(dataDir, { create: true }), await FileMasterKey.open(otherDir, { create: true })];
    rmSync(otherDir, { recursive: true, force: true });
    // Assess
    expect(a.keyId).toMatch(/^local:[0-9a-f]{16}$/);
    expect(a.keyId).not.toBe(b.keyId);
    expect(a.path).toBe(join(dataDir, 'keys', 'master.key'));
  });
});

describe('FileSigningKey', () => {
  it('signs checkpoints per tenant origin that the core verifier accepts', async () => {
    // Prepare
    const key = await FileSigningKey.open(dataDir, { create: true });
    const origin = 'ledger.example.com/acme';
    const rootHash = new Uint8Array(32).fill(3);
    // Act
    const note = await signCheckpoint({ origin, size: 5, rootHash }, key.signerFor(origin));
    const opened = openCheckpoint(note, new Ed25519NoteVerifier(key.verifierKeyFor(origin)), { origin });
    // Assess
    expect(opened).toMatchObject({ origin, size: 5 });
    expect(opened.rootHash).toEqual(rootHash);
  });

  it('gives each origin its own verifier key over one public key, so a note of one tenant does not verify as another', async () => {
    // Prepare
    const key = await FileSigningKey.open(dataDir, { create: true });
    const [acme, globex] = ['ledger.example.com/acme', 'ledger.example.com/globex'];
    const note = await signNote('hello\n', [key.signerFor(acme)]);
    // Act
    const result = () => openNote(note, [new Ed25519NoteVerifier(key.verifierKeyFor(globex))]);
    // Assess
    const [a, g] = [parseVerifierKey(key.verifierKeyFor(acme)), parseVerifierKey(key.verifierKeyFor(globex))];
    expect(a.publicKey).toEqual(g.publicKey);
    expect(a.keyId).not.toBe(g.keyId);
    expect(key.signerFor(acme).keyId).toBe(a.keyId);
    expect(result).toThrow(UnverifiedNoteError);
  });
});
