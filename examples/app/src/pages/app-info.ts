/** The app's own small API that its preloads expose as `window.appInfo` (status panel, metrics). */
export interface SegmentRow {
  name: string;
  size: number;
  kind: 'segment' | 'frame-ring';
  owner: string;
  shareAll: 'ro' | 'rw' | null;
  grants: { window: string; readonly: boolean }[];
  /** `path`: how that page reaches the bytes ('zero-copy': its preload maps them; 'copy': the main process copies them for it). */
  attachments: { window: string; readonly: boolean; path: 'zero-copy' | 'copy' }[];
  inDevShm: boolean | null;
}

export interface AppStatus {
  dataset: { done: number; total: number; checksum: number | null };
  video: { preset: string; width: number; height: number; fps: number; published: number };
  segments: SegmentRow[];
}

export interface Metrics {
  renderer: { cpuPercent: number; workingSetKiB: number; privateKiB: number | null } | null;
  main: { cpuPercent: number; workingSetKiB: number } | null;
}

export interface AppInfo {
  status(): Promise<AppStatus | null>;
  metrics(): Promise<Metrics | null>;
  openScratch?(): Promise<string | null>;
}

export function appInfo(): AppInfo | null {
  return ((window as unknown as { appInfo?: AppInfo }).appInfo) ?? null;
}

export const mib = (kib: number | null | undefined): string => (kib == null ? '–' : `${(kib / 1024).toFixed(0)} MiB`);
