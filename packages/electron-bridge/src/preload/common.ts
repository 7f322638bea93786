/** What both paths' handles share: tracking an attachment, range checks, the page's window. */
import { revokedWhileAttaching } from '../core/client';
import { codedError, type CodedError } from '../core/errors';
import type { AttachResult } from '../core/protocol';
import type { BaseContext } from './api';

/**
 * Registers how to close a new attachment. Events and invoke replies travel separately, so a revoked
 * event may overtake the reply of its attach: then the client has closed it already and the attach fails.
 */
export function track(ctx: BaseContext, result: AttachResult, close: () => void): void {
  const reason = ctx.client.track(result.handle, close);
  if (reason !== null) throw revokedWhileAttaching(result.name, reason);
}

function rangeError(message: string): CodedError {
  return codedError('ERR_OUT_OF_RANGE', message, RangeError);
}

export function checkRange(size: number, offset: unknown, length: unknown): void {
  if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0 || offset > size) {
    throw rangeError(`offset must be an integer from 0 to ${size}, got ${String(offset)}`);
  }
  if (typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0 || length > size - offset) {
    throw rangeError(`length must be an integer from 0 to ${size - offset} (size - offset), got ${String(length)}`);
  }
}

export function needWindow(ctx: BaseContext): Window {
  if (ctx.window === undefined) {
    throw codedError('ERR_SHM_BRIDGE_NO_WINDOW', 'this needs the page: call it from a preload that runs in a window');
  }
  return ctx.window;
}

