/**
 * Byte helpers shared by the core: hex (lowercase, as the API prints hashes),
 * standard base64 (as C2SP notes and checkpoints print them) and comparison.
 */
import { timingSafeEqual } from 'node:crypto';
import { CoreError } from './errors.js';

const HEX = /^(?:[0-9a-f]{2})*$/;

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** Bytes of a lowercase hex string; anything else is an `INVALID_HASH` error. */
export function fromHex(hex: string, expectedLength?: number): Uint8Array {
  if (!HEX.test(hex)) throw new CoreError('INVALID_HASH', 'expected lowercase hex');
  const bytes = new Uint8Array(Buffer.from(hex, 'hex'));
  if (expectedLength !== undefined && bytes.length !== expectedLength) {
    throw new CoreError('INVALID_HASH', `expected ${expectedLength} bytes of hex, got ${bytes.length}`);
  }
  return bytes;
}

const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Standard, padded base64 (RFC 4648 §4). */
export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Strict standard base64: padded, no whitespace, canonical (re-encodes to itself),
 * so two different strings never decode to the same bytes. Returns undefined when
 * the text is not strict base64.
 */
export function fromBase64(text: string): Uint8Array | undefined {
  if (!B64.test(text)) return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.toString('base64') !== text) return undefined;
  return new Uint8Array(bytes);
}

/** Byte equality; constant time where lengths match. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Concatenation of byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}
