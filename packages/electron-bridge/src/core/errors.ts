/**
 * Errors of the bridge. Every error that crosses a process or a context boundary travels as a plain
 * `{ name, code, message }` record (contextBridge and structured clone keep only `message` of a
 * real Error) and is rebuilt on the other side with its `code`.
 */

/**
 * Every `code` the bridge itself defines. Bad arguments to local calls use Node's codes
 * (ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE, ERR_OUT_OF_RANGE); OS failures keep theirs (ENOSPC, …).
 */
export type BridgeErrorCode =
  /** A malformed message: not a plain object, unknown op or key, a field of the wrong type, size or syntax. */
  | 'ERR_SHM_BRIDGE_PROTOCOL'
  /** A message of a protocol version this side does not speak. */
  | 'ERR_SHM_BRIDGE_VERSION'
  /** No segment of that name exists. */
  | 'ERR_SHM_BRIDGE_NOT_FOUND'
  /** The segment exists but is neither owned by nor shared with the asking peer. */
  | 'ERR_SHM_BRIDGE_NOT_GRANTED'
  /** Read-write access asked for with a read-only grant. */
  | 'ERR_SHM_BRIDGE_READONLY'
  /** A segment of that name already exists. */
  | 'ERR_SHM_BRIDGE_EXISTS'
  /** A handle id this peer does not hold. */
  | 'ERR_SHM_BRIDGE_UNKNOWN_HANDLE'
  /** Only the owner may do this (release by a peer that does not own the segment). */
  | 'ERR_SHM_BRIDGE_NOT_OWNER'
  /** An owner or grantee that is not a live peer of the host's transport. */
  | 'ERR_SHM_BRIDGE_UNKNOWN_PEER'
  /** A per-peer quota (segments, attachments) or the size limit of peer-created segments. */
  | 'ERR_SHM_BRIDGE_LIMIT'
  /** A request got no reply in time. */
  | 'ERR_SHM_BRIDGE_TIMEOUT'
  /** The host or the client is closed, or the channel between them is gone. */
  | 'ERR_SHM_BRIDGE_CLOSED'
  /** connect() in a process that has no host (not started by a host's fork()/spawn(), or no host answers). */
  | 'ERR_SHM_BRIDGE_NO_HOST'
  /** A failure that is the bridge's own bug; the message says what. */
  | 'ERR_SHM_BRIDGE_INTERNAL'
  /** An IPC message from a webContents the Electron host does not know (main). */
  | 'ERR_SHM_BRIDGE_UNKNOWN_SENDER'
  /** An IPC message from a subframe (main). */
  | 'ERR_SHM_BRIDGE_NOT_MAIN_FRAME'
  /** An IPC message from an origin outside the host's allowlist (main). */
  | 'ERR_SHM_BRIDGE_ORIGIN'
  /** A second host on the same ipcMain (main). */
  | 'ERR_SHM_BRIDGE_HOST_EXISTS'
  /** The SharedArrayBuffer switch asked for after app ready (main). */
  | 'ERR_SHM_BRIDGE_TOO_LATE'
  /** exposeShm() of ./preload (zero-copy) in a sandboxed preload: use ./preload/sandboxed (preload). */
  | 'ERR_SHM_BRIDGE_SANDBOXED'
  /** exposeShm() outside a window's preload: the main process or plain Node (preload). */
  | 'ERR_SHM_BRIDGE_NOT_PRELOAD'
  /** createHost() or enableSharedArrayBuffer() outside Electron's main process (main). */
  | 'ERR_SHM_BRIDGE_NOT_MAIN'
  /** exposeShm() with context isolation off (preload). */
  | 'ERR_SHM_BRIDGE_NO_CONTEXT_ISOLATION'
  /** The page calls window.shm where no preload exposed it (renderer). */
  | 'ERR_SHM_BRIDGE_NOT_EXPOSED'
  /** shared() where the segment cannot be mapped over a shared WebAssembly.Memory, or on the copy path (preload). */
  | 'ERR_SHM_BRIDGE_SHARED_UNAVAILABLE'
  /** read/write/frame without a copy attachment, or over a transport that carries no binary data (the Node channel). */
  | 'ERR_SHM_BRIDGE_COPY_UNAVAILABLE'
  /** createFrameRing from a peer the host cannot watch as a ring's writer (a window: no process of its own). */
  | 'ERR_SHM_BRIDGE_RING_UNAVAILABLE'
  /** A main-process call naming a window that is gone (main). */
  | 'ERR_SHM_BRIDGE_NO_WINDOW';

/** The same codes as a list, for tests and docs. */
export const BRIDGE_ERROR_CODES: readonly BridgeErrorCode[] = [
  'ERR_SHM_BRIDGE_PROTOCOL',
  'ERR_SHM_BRIDGE_VERSION',
  'ERR_SHM_BRIDGE_NOT_FOUND',
  'ERR_SHM_BRIDGE_NOT_GRANTED',
  'ERR_SHM_BRIDGE_READONLY',
  'ERR_SHM_BRIDGE_EXISTS',
  'ERR_SHM_BRIDGE_UNKNOWN_HANDLE',
  'ERR_SHM_BRIDGE_NOT_OWNER',
  'ERR_SHM_BRIDGE_UNKNOWN_PEER',
  'ERR_SHM_BRIDGE_LIMIT',
  'ERR_SHM_BRIDGE_TIMEOUT',
  'ERR_SHM_BRIDGE_CLOSED',
  'ERR_SHM_BRIDGE_NO_HOST',
  'ERR_SHM_BRIDGE_INTERNAL',
  'ERR_SHM_BRIDGE_UNKNOWN_SENDER',
  'ERR_SHM_BRIDGE_NOT_MAIN_FRAME',
  'ERR_SHM_BRIDGE_ORIGIN',
  'ERR_SHM_BRIDGE_HOST_EXISTS',
  'ERR_SHM_BRIDGE_TOO_LATE',
  'ERR_SHM_BRIDGE_SANDBOXED',
  'ERR_SHM_BRIDGE_NOT_PRELOAD',
  'ERR_SHM_BRIDGE_NOT_MAIN',
  'ERR_SHM_BRIDGE_NO_CONTEXT_ISOLATION',
  'ERR_SHM_BRIDGE_NOT_EXPOSED',
  'ERR_SHM_BRIDGE_SHARED_UNAVAILABLE',
  'ERR_SHM_BRIDGE_COPY_UNAVAILABLE',
  'ERR_SHM_BRIDGE_RING_UNAVAILABLE',
  'ERR_SHM_BRIDGE_NO_WINDOW',
];

/** The plain form of an error on the wire. */
export interface WireError {
  name: string;
  code: string;
  message: string;
}

/** An Error with a stable `code`, as every error of shmkit has. */
export interface CodedError extends Error {
  code: string;
}

/** Makes an Error with a stable `code` (and the given constructor's name: Error, TypeError, RangeError). */
export function codedError(
  code: string,
  message: string,
  Ctor: ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor = Error,
): CodedError {
  const error = new Ctor(message) as CodedError;
  error.code = code;
  return error;
}

/** The wire form of any thrown value; values without a string `code` get `fallbackCode`. */
export function toWireError(error: unknown, fallbackCode = 'ERR_SHM_BRIDGE_INTERNAL'): WireError {
  if (error instanceof Error) {
    const code = (error as Partial<CodedError>).code;
    return {
      name: typeof error.name === 'string' ? error.name : 'Error',
      code: typeof code === 'string' ? code : fallbackCode,
      message: String(error.message),
    };
  }
  return { name: 'Error', code: fallbackCode, message: String(error) };
}

const CONSTRUCTORS: Record<string, ErrorConstructor | TypeErrorConstructor | RangeErrorConstructor> = {
  TypeError,
  RangeError,
};

/** Rebuilds an Error from its wire form; anything malformed becomes ERR_SHM_BRIDGE_PROTOCOL. */
export function fromWireError(wire: unknown): CodedError {
  if (typeof wire !== 'object' || wire === null) {
    return codedError('ERR_SHM_BRIDGE_PROTOCOL', 'malformed error record from the other side');
  }
  const { name, code, message } = wire as Partial<Record<keyof WireError, unknown>>;
  if (typeof code !== 'string' || typeof message !== 'string') {
    return codedError('ERR_SHM_BRIDGE_PROTOCOL', 'malformed error record from the other side');
  }
  const Ctor = (typeof name === 'string' && CONSTRUCTORS[name]) || Error;
  return codedError(code, message, Ctor);
}
