// The one way tests expect a failure: a StyleTransferError with the right code and message.
import assert from 'node:assert/strict';
import { isStyleTransferError, type ErrorCode } from '../../src/protocol/errors';

/** Asserts that `p` rejects with a StyleTransferError of this code whose message matches `pattern`. */
export async function rejectsWith(p: Promise<unknown>, code: ErrorCode, pattern: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isStyleTransferError(e), `expected a StyleTransferError, got ${(e as Error)?.stack ?? String(e)}`);
    assert.equal(e.code, code, `code for: ${e.message}`);
    assert.match(e.message, pattern);
    return true;
  });
}
