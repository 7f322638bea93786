/**
 * Cross-process wait/notify on a 32-bit word of a SharedMemory.
 *
 * `Atomics.wait` throws on memory that is not a SharedArrayBuffer, and a
 * segment's buffer never is one, so processes sharing a segment need another
 * way to wake each other. These functions use the Linux futex on the shared
 * mapping: any process that maps the segment can wake the others.
 *
 * The protocol is Atomics': change the word (Atomics.store/add on an
 * Int32Array view), then `notify()`. A waiter sleeps only while the word
 * still holds `expected`, so a change made before it went to sleep is never
 * missed.
 */
import { futex, type AsyncWaitResult, type WaitResult } from '../core/binding';
import { invalidArgType, outOfRange, shmError } from '../core/errors';
import { nativeMappingOf, type SharedMemory } from '../core/shared-memory';
import { validateInteger } from '../core/validate';

export type { WaitResult } from '../core/binding';

export interface WaitAsyncOptions {
  /** Aborting rejects the promise with an AbortError and ends the wait. */
  signal?: AbortSignal | undefined;
}

function checkOffset(shm: SharedMemory, byteOffset: unknown): number {
  const offset = validateInteger('byteOffset', byteOffset, 0, Math.max(0, shm.size - 4));
  if (offset % 4 !== 0) throw outOfRange('byteOffset', 'a multiple of 4', byteOffset);
  return offset;
}

function checkExpected(expected: unknown): number {
  if (typeof expected !== 'number') throw invalidArgType('expected', 'of type number', expected);
  return expected | 0; // ToInt32, as Atomics.wait does
}

function checkTimeout(timeoutMs: unknown): number {
  if (typeof timeoutMs !== 'number') throw invalidArgType('timeoutMs', 'of type number', timeoutMs);
  if (Number.isNaN(timeoutMs)) return Infinity; // as Atomics.wait
  return Math.max(0, timeoutMs);
}

function abortError(signal: AbortSignal): Error {
  const error = new Error('The operation was aborted', { cause: signal.reason }) as Error & { code: string };
  error.name = 'AbortError';
  error.code = 'ABORT_ERR';
  return error;
}

/**
 * Blocks this thread while the int32 at `byteOffset` holds `expected`, until
 * notified or `timeoutMs` passes. For workers; on the main thread it blocks
 * the event loop (use waitAsync there). Returns 'not-equal' at once if the
 * word differs.
 */
export function wait(shm: SharedMemory, byteOffset: number, expected: number, timeoutMs = Infinity): WaitResult {
  const mapping = nativeMappingOf(shm);
  return futex.wait(mapping, checkOffset(shm, byteOffset), checkExpected(expected), checkTimeout(timeoutMs));
}

/**
 * Waits without blocking the event loop. On Linux 6.7+ the wait is a futex
 * wait submitted through io_uring, and a notify from any process wakes the
 * event loop directly; elsewhere each pending wait sleeps on a thread of its
 * own (see {@link waitBackend}). Resolves 'ok' when notified (or when the word
 * changed while it waited: seen within 50 ms even without a notify),
 * 'not-equal' if the word did not hold `expected` when waitAsync was called,
 * 'timed-out'. Rejects with an AbortError when `options.signal` aborts and
 * with ERR_SHM_CLOSED when the segment is closed; either ends the wait at
 * once (with threads: Linux 5.16+; within one 50 ms slice on older kernels).
 * Rejects with ERR_SHM_WAIT_FAILED when the wait falls back to a thread and no
 * thread can be started (the process or its user is at its thread limit).
 * Bad arguments and a closed segment throw synchronously.
 * A pending wait keeps the process alive, as a pending timer does: pass a
 * signal (or a timeout) to let a process exit while a wait is pending.
 * Timeouts above 1e12 ms count as Infinity.
 */
export function waitAsync(
  shm: SharedMemory,
  byteOffset: number,
  expected: number,
  timeoutMs = Infinity,
  options: WaitAsyncOptions = {},
): Promise<WaitResult> {
  const mapping = nativeMappingOf(shm);
  const offset = checkOffset(shm, byteOffset);
  const value = checkExpected(expected);
  const timeout = checkTimeout(timeoutMs);
  if (options === null || typeof options !== 'object') throw invalidArgType('options', 'of type object', options);
  const { signal } = options;
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw invalidArgType('options.signal', 'an instance of AbortSignal', signal);
  }
  if (signal?.aborted) return Promise.reject(abortError(signal));
  let resolve!: (result: WaitResult) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<WaitResult>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  let onAbort: (() => void) | undefined;
  const onResult = (result: AsyncWaitResult): void => {
    if (onAbort) signal?.removeEventListener('abort', onAbort);
    switch (result) {
      case 'ok':
      case 'not-equal':
      case 'timed-out':
        resolve(result);
        break;
      case 'cancelled':
        reject(signal ? abortError(signal) : shmError('ERR_SHM_CLOSED', 'the wait was cancelled'));
        break;
      default:
        reject(shmError('ERR_SHM_CLOSED', `${shm} was closed while waiting`));
    }
  };
  // Outside the executor: a closed segment throws here, synchronously, like
  // every other argument error. No thread for the wait (the process or its
  // user is out of threads) is no fault of the arguments: that rejects.
  let id: number;
  try {
    id = futex.waitAsync(mapping, offset, value, timeout, onResult);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_SHM_WAIT_FAILED') return Promise.reject(error);
    throw error;
  }
  if (signal) {
    onAbort = () => futex.cancel(id);
    signal.addEventListener('abort', onAbort, { once: true });
  }
  return promise;
}

/** How `waitAsync` waits in this thread (see {@link waitBackend}). */
export interface WaitBackend {
  /**
   * 'io_uring': each wait is a futex wait submitted through io_uring, and the
   * event loop is woken directly by the kernel when a notify comes (Linux
   * 6.7+). 'thread': each wait sleeps on a thread of its own, which wakes the
   * event loop (older kernels, io_uring disabled by policy or a seccomp filter,
   * `SHMKIT_WAIT_BACKEND=thread`). 'win32-events' (Windows): a waiter table
   * next to the segment and a named event per waiting thread, one thread per
   * environment (docs/decisions/0014-windows.md).
   */
  readonly name: 'io_uring' | 'thread' | 'win32-events';
  /** Why io_uring is not used, when it is not. */
  readonly reason?: string;
}

/**
 * Which mechanism `waitAsync` uses in this thread (main thread, worker or
 * Electron context), and why not io_uring when it does not. Both behave the
 * same; io_uring wakes the event loop with one hop less. Set
 * `SHMKIT_WAIT_BACKEND=thread` in the environment to force the fallback.
 */
export function waitBackend(): WaitBackend {
  const { name, reason } = futex.backend();
  return reason === undefined ? { name } : { name, reason };
}

/**
 * Wakes up to `count` waiters (default: all) on the int32 at `byteOffset`, in
 * every process. Returns how many were woken.
 */
export function notify(shm: SharedMemory, byteOffset: number, count = Infinity): number {
  const mapping = nativeMappingOf(shm);
  const offset = checkOffset(shm, byteOffset);
  if (typeof count !== 'number') throw invalidArgType('count', 'of type number', count);
  if (count !== Infinity) validateInteger('count', count, 0, 2 ** 31 - 1);
  if (count === 0) return 0; // FUTEX_WAKE would wake one for 0; Atomics.notify wakes none
  return futex.notify(mapping, offset, count === Infinity ? 2 ** 31 - 1 : count);
}
