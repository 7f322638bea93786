/**
 * The app's own messages between the terminal host and its consumer processes (beside the bridge's
 * protocol on the same IPC channel). Children send reports; the host treats them as untrusted input:
 * anything that is not a well-formed report is counted and dropped.
 */

export const APP_KEY = '$shmkitApp';

export interface VideoReport {
  kind: 'video';
  received: number;
  dropped: number;
  torn: number;
  verified: number;
  failed: number;
  lastFrame: number;
  /** publish → reader holding the frame, milliseconds, over the last report interval */
  latencyP50: number | null;
  latencyP95: number | null;
  firstFailure: string | null;
}

export interface DatasetReport {
  kind: 'dataset';
  role: 'histogram' | 'mean';
  attachMs: number;
  checksum: number;
  computeMs: number;
  /** a short rendering of what the page would plot */
  summary: string;
}

export interface ScratchReport {
  kind: 'scratch';
  name: string;
  size: number;
}

export type Report = VideoReport | DatasetReport | ScratchReport;

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const count = (v: unknown): v is number => finite(v) && Number.isInteger(v) && v >= 0;
const optionalNumber = (v: unknown): v is number | null => v === null || finite(v);
const shortString = (v: unknown, max = 512): v is string => typeof v === 'string' && v.length <= max;

/**
 * The report carried by an IPC message: undefined when the message is not one of the app's (the
 * bridge's protocol shares the channel), null when it is one but malformed.
 */
export function parseReport(message: unknown): Report | null | undefined {
  if (typeof message !== 'object' || message === null || !Object.prototype.hasOwnProperty.call(message, APP_KEY)) return undefined;
  const r = (message as Record<string, unknown>)[APP_KEY];
  if (typeof r !== 'object' || r === null) return null;
  const o = r as Record<string, unknown>;
  if (o.kind === 'video') {
    const ok =
      count(o.received) && count(o.dropped) && count(o.torn) && count(o.verified) && count(o.failed) && count(o.lastFrame) &&
      optionalNumber(o.latencyP50) && optionalNumber(o.latencyP95) && (o.firstFailure === null || shortString(o.firstFailure));
    return ok ? (o as unknown as VideoReport) : null;
  }
  if (o.kind === 'dataset') {
    const ok = (o.role === 'histogram' || o.role === 'mean') && finite(o.attachMs) && count(o.checksum) && finite(o.computeMs) && shortString(o.summary);
    return ok ? (o as unknown as DatasetReport) : null;
  }
  if (o.kind === 'scratch') {
    return shortString(o.name, 128) && count(o.size) ? (o as unknown as ScratchReport) : null;
  }
  return null;
}

/** Sends a report to the host (a child's side). */
export function report(r: Report): void {
  if (process.send && process.connected) process.send({ [APP_KEY]: r });
}
