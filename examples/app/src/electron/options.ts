/** Command-line options of the Electron version of the app (the terminal version has its own). */
import { PRESETS } from '../shared/pattern';

export interface AppOptions {
  preset: keyof typeof PRESETS;
  fps: number;
  datasetMiB: number;
}

/** Parses `--preset`, `--fps`, `--dataset-mib`; ignores Chromium's own switches (they start with `--` too, but are not ours). */
export function parseOptions(argv: readonly string[]): AppOptions {
  const o: AppOptions = { preset: '1080p', fps: 60, datasetMiB: 256 };
  for (let i = 0; i < argv.length; i++) {
    const value = argv[i + 1];
    switch (argv[i]) {
      case '--preset':
        if (value === 'small' || value === '1080p' || value === '4k') o.preset = value;
        else throw Object.assign(new Error('--preset takes small, 1080p or 4k'), { code: 'ERR_INVALID_ARG_VALUE' });
        i++;
        break;
      case '--fps':
      case '--dataset-mib': {
        const n = Number(value);
        const [min, max] = argv[i] === '--fps' ? [1, 240] : [1, 4096];
        if (!Number.isFinite(n) || n < min! || n > max!) throw Object.assign(new Error(`${argv[i]} takes a number from ${min} to ${max}`), { code: 'ERR_INVALID_ARG_VALUE' });
        if (argv[i] === '--fps') o.fps = n;
        else o.datasetMiB = Math.floor(n);
        i++;
        break;
      }
      default:
        break;
    }
  }
  return o;
}
