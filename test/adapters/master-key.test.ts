import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DecryptCommand, GenerateDataKeyCommand, IncorrectKeyException, InvalidCiphertextException, KMSClient } from '@aws-sdk/client-kms';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll } from 'vitest';
import { KmsMasterKey } from '../../lambdas/adapters/aws/kms-master-key.js';
import { FileMasterKey } from '../../lambdas/adapters/local/file-master-key.js';
import { masterKeyContract } from './master-key.contract.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

masterKeyContract('FileMasterKey', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'govledger-master-'));
  dirs.push(dir);
  return FileMasterKey.open(dir, { create: true });
});

/**
 * A small honest KMS: GenerateDataKey returns a random key and an AES-256-GCM
 * blob binding the key id and the encryption context; Decrypt checks both, as
 * KMS does (IncorrectKeyException for another key id, else InvalidCiphertextException).
 */
function honestKms(keyId: string): KMSClient {
  const client = new KMSClient({ region: 'eu-west-1' });
  const secret = randomBytes(32);
  const aad = (context: Record<string, string> = {}) =>
    Buffer.from(JSON.stringify(Object.entries(context).sort(([a], [b]) => (a < b ? -1 : 1))));
  const invalid = () => new InvalidCiphertextException({ message: 'fake KMS: invalid ciphertext', $metadata: {} });
  const mock = mockClient(client);
  mock.on(GenerateDataKeyCommand).callsFake((input: { KeyId: string; EncryptionContext?: Record<string, string> }) => {
    const plaintext = randomBytes(32);
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', secret, iv).setAAD(aad(input.EncryptionContext));
    const blob = Buffer.concat([Buffer.from(input.KeyId), Buffer.of(0), iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
    return { KeyId: input.KeyId, Plaintext: new Uint8Array(plaintext), CiphertextBlob: new Uint8Array(blob) };
  });
  mock.on(DecryptCommand).callsFake((input: { KeyId: string; CiphertextBlob: Uint8Array; EncryptionContext?: Record<string, string> }) => {
    const blob = Buffer.from(input.CiphertextBlob);
    const end = blob.indexOf(0);
    if (end < 0 || blob.length < end + 1 + 12 + 16) throw invalid();
    if (blob.subarray(0, end).toString() !== input.KeyId) {
      throw new IncorrectKeyException({ message: 'fake KMS: blob of another key', $metadata: {} });
    }
    const iv = blob.subarray(end + 1, end + 13);
    const decipher = createDecipheriv('aes-256-gcm', secret, iv).setAAD(aad(input.EncryptionContext));
    decipher.setAuthTag(blob.subarray(blob.length - 16));
    try {
      const plaintext = Buffer.concat([decipher.update(blob.subarray(end + 13, blob.length - 16)), decipher.final()]);
      return { KeyId: input.KeyId, Plaintext: new Uint8Array(plaintext) };
    } catch {
      throw invalid();
    }
  });
  return client;
}

let fakes = 0;
masterKeyContract('KmsMasterKey over an honest fake KMS', async () => {
  const keyId = `arn:aws:kms:eu-west-1:111122223333:key/fake-${++fakes}`;
  return new KmsMasterKey(honestKms(keyId), keyId);
});
