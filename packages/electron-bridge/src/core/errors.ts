/**
 * Errors of the bridge. Every error that crosses a process or a context boundary travels as a plain
 * `{ name, code, message }` record (contextBridge and structured clone keep only `message` of a
 * real Error) and is rebuilt on the other side with its `code`.
 */

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
