/**
 * Command-line options of the app, for both versions: `--preset`, `--fps`, `--dataset-mib`, `--source`, and
 * for the terminal version `--seconds` and `--reason` (why it is not the Electron app, from
 * bin/start.js). The terminal version is strict: an unknown option is a usage error. Electron's
 * command line also carries Chromium's and Playwright's own switches, so there unknown ones are
 * skipped (`strict: false`).
 */
import { PRESETS } from '../shared/pattern';

export interface AppOptions {
  preset: keyof typeof PRESETS;
  fps: number;
  seconds: number;
  datasetMiB: number;
  /** Who renders the video: the host itself, or a Python process it starts as a bridge peer. */
  source: 'node' | 'python';
  reason: string;
}

export class UsageError extends Error {
  readonly code = 'ERR_INVALID_ARG_VALUE';
}

export const USAGE =
  'usage: npm start -- [--preset small|1080p|4k] [--fps 1-240] [--source node|python] [--seconds S (0: until Ctrl-C)] [--dataset-mib 1-4096]';

export function parseOptions(argv: readonly string[], { strict }: { strict: boolean }): AppOptions {
  const o: AppOptions = { preset: '1080p', fps: 60, seconds: 0, datasetMiB: 256, source: 'node', reason: '' };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const value = argv[i + 1];
    const number = (min: number, max: number): number => {
      const n = Number(value);
      if (value === undefined || !Number.isFinite(n) || n < min || n > max) throw new UsageError(`${flag} takes a number from ${min} to ${max}\n${USAGE}`);
      i++;
      return n;
    };
    if (flag === '--preset') {
      if (value !== 'small' && value !== '1080p' && value !== '4k') throw new UsageError(`--preset takes small, 1080p or 4k\n${USAGE}`);
      o.preset = value;
      i++;
    } else if (flag === '--source') {
      if (value !== 'node' && value !== 'python') throw new UsageError(`--source takes node or python\n${USAGE}`);
      o.source = value;
      i++;
    } else if (flag === '--fps') o.fps = number(1, 240);
    else if (flag === '--seconds') o.seconds = number(0, 86400);
    else if (flag === '--dataset-mib') o.datasetMiB = Math.floor(number(1, 4096));
    else if (flag === '--reason') {
      o.reason = value ?? '';
      i++;
    } else if (strict && (flag === '--help' || flag === '-h')) throw new UsageError(USAGE);
    else if (strict) throw new UsageError(`unknown option ${flag}\n${USAGE}`);
  }
  return o;
}
