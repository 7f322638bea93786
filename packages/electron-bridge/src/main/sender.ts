/**
 * Who may talk to the host: Electron's security checklist asks to validate the sender of every IPC
 * message. A request is served only if it comes from a webContents the host knows (a window's or a
 * view's, not destroyed), from that webContents' main frame (never a subframe, never a frame that has
 * navigated away since sending), and from an origin on the host's allowlist.
 */
import type { IpcMainInvokeEvent, WebContents, WebFrameMain } from 'electron';
import { codedError } from '../core/errors';

export type { OriginAllowlist } from '../shapes';

/** The parts of an invoke event the checks read. */
export type SenderEvent = Pick<IpcMainInvokeEvent, 'sender' | 'senderFrame'>;

/** Turns the allowlist option into a predicate; refuses a missing, empty or malformed list. */
export function originPredicate(allow: unknown): (origin: string) => boolean {
  if (typeof allow === 'function') {
    const fn = allow as (origin: string) => unknown;
    return (origin) => fn(origin) === true;
  }
  if (!Array.isArray(allow)) {
    throw codedError(
      'ERR_INVALID_ARG_TYPE',
      'options.allowedOrigins must be an array of origins (such as ["file://"] or ["app://bundle"]) or a function',
      TypeError,
    );
  }
  if (allow.length === 0) {
    throw codedError('ERR_INVALID_ARG_VALUE', 'options.allowedOrigins is empty: no page could use the host', TypeError);
  }
  for (const entry of allow) {
    if (typeof entry !== 'string' || entry === '' || entry === 'null' || entry === '*') {
      throw codedError(
        'ERR_INVALID_ARG_VALUE',
        `options.allowedOrigins has ${JSON.stringify(entry)}: each entry is one origin such as "file://" or ` +
          '"app://bundle" (opaque "null" origins and wildcards are never allowed)',
        TypeError,
      );
    }
  }
  const set = new Set<string>(allow as string[]);
  return (origin) => set.has(origin);
}

/**
 * Checks the sender of one request. `known` says whether a webContents belongs to the host.
 * Returns the webContents; throws a coded error (which becomes the reply) otherwise.
 *
 * A frame that is detached (the old document of a navigation, pending deletion: Electron hands it
 * out non-null, with the same frameTreeNodeId and origin) or destroyed is refused, unless
 * `detachedMay` (the request only gives resources up: detach, release).
 */
export function checkSender(
  event: SenderEvent,
  known: (webContents: WebContents) => boolean,
  allowed: (origin: string) => boolean,
  options: { detachedMay?: boolean } = {},
): { sender: WebContents; detached: boolean } {
  const sender = event?.sender;
  if (sender == null || typeof sender.isDestroyed !== 'function' || sender.isDestroyed() || !known(sender)) {
    throw codedError(
      'ERR_SHM_BRIDGE_UNKNOWN_SENDER',
      "request refused: it does not come from a live window's or view's webContents this host serves (not a <webview>, an offscreen or a background page)",
    );
  }
  const frame: WebFrameMain | null = event.senderFrame;
  if (frame == null) {
    throw codedError(
      'ERR_SHM_BRIDGE_NOT_MAIN_FRAME',
      'request refused: the frame that sent it has navigated away or is gone',
    );
  }
  const gone = frame.detached === true || (typeof frame.isDestroyed === 'function' && frame.isDestroyed());
  if (gone && options.detachedMay !== true) {
    throw codedError(
      'ERR_SHM_BRIDGE_NOT_MAIN_FRAME',
      'request refused: the document that sent it is being replaced (its frame is detached or destroyed)',
    );
  }
  const main = sender.mainFrame;
  if (frame.parent !== null || main == null || frame.frameTreeNodeId !== main.frameTreeNodeId) {
    throw codedError('ERR_SHM_BRIDGE_NOT_MAIN_FRAME', 'request refused: only the main frame of a window may use the host');
  }
  const origin = frame.origin;
  if (typeof origin !== 'string' || !allowed(origin)) {
    throw codedError(
      'ERR_SHM_BRIDGE_ORIGIN',
      `request refused: origin ${JSON.stringify(origin)} is not in the host's allowedOrigins`,
    );
  }
  return { sender, detached: gone };
}
