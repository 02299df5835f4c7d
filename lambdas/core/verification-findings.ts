/**
 * What a verification can find: one typed finding per tamper class a user
 * cares about. Findings are data, not exceptions, so a run reports all of them.
 */
export type Finding =
  /** Entry `position`'s bytes differ from what entry position+1 committed to. */
  | { kind: 'MODIFIED_ENTRY'; position: number; message: string }
  /** Entry `position` does not link to entry position−1 (its own prevHash was altered or forged). */
  | { kind: 'BROKEN_PREV_HASH'; position: number; message: string }
  /** Positions [from, to) are missing from the log. */
  | { kind: 'DELETED_ENTRIES'; from: number; to: number; message: string }
  /** An entry claiming `position` that is not part of the chain (stream index given for locating it). */
  | { kind: 'INSERTED_ENTRY'; position: number; streamIndex: number; message: string }
  /** Entry `position` is stored after entry `after` although after > position. */
  | { kind: 'REORDERED_ENTRIES'; position: number; after: number; message: string }
  /** The log ends at `size` but a signed checkpoint covers `checkpointSize`. */
  | { kind: 'TRUNCATED_LOG'; size: number; checkpointSize: number; message: string }
  /** The root recomputed from the entries at `size` is not the signed one. */
  | { kind: 'ROOT_MISMATCH'; size: number; expected: string; computed: string; message: string }
  /** Two signed checkpoints that cannot both describe this log (not consistent). */
  | { kind: 'FORK'; size1: number; size2: number; message: string }
  /** A signature from the log's key does not verify. */
  | { kind: 'BAD_SIGNATURE'; message: string }
  /** The checkpoint carries no signature from the log's key. */
  | { kind: 'UNKNOWN_KEY'; message: string }
  /** A checkpoint or note for another log. */
  | { kind: 'WRONG_ORIGIN'; expected: string; found: string; message: string }
  /** An entry of another tenant in this tenant's log. */
  | { kind: 'WRONG_TENANT'; position: number; expected: string; found: string; message: string }
  /** Entry `position`'s timestamp is not after its predecessor's. */
  | { kind: 'TIMESTAMP_REGRESSION'; position: number; previous: string; found: string; message: string }
  /** A `recovery` SYSTEM entry that does not hold: bad signature, wrong range or generation, a proof or retained root that does not match the log. */
  | { kind: 'INVALID_RECOVERY'; position: number; message: string }
  /** Entry `position`, after a recovery that started generation `expected`, carries the lower `generation`. */
  | { kind: 'GENERATION_REGRESSION'; position: number; generation: number; expected: number; message: string }
  /** Bytes that are not a valid entry (or a checkpoint that is not a checkpoint). */
  | { kind: 'MALFORMED'; position: number | undefined; streamIndex: number | undefined; message: string };

export type FindingKind = Finding['kind'];
