/**
 * The status panel: the live segments with their owners, grants and attachments, next to whether
 * the OS still has each one in /dev/shm; a button opens a window that creates its own segment, and
 * closing that window visibly unlinks it.
 */
import { appInfo, type SegmentRow } from './app-info.js';

const table = document.querySelector<HTMLTableSectionElement>('#segments tbody')!;
const summary = document.querySelector<HTMLElement>('#summary')!;
const info = appInfo();

function cell(row: HTMLTableRowElement, text: string): void {
  row.insertCell().textContent = text;
}

function render(rows: SegmentRow[]): void {
  table.replaceChildren();
  for (const s of rows) {
    const row = table.insertRow();
    row.dataset.name = s.name;
    cell(row, s.name);
    cell(row, s.kind);
    cell(row, `${(s.size / 1048576).toFixed(1)} MiB`);
    cell(row, s.owner);
    cell(row, [s.shareAll ? `all windows (${s.shareAll})` : '', ...s.grants.map((g) => `${g.window} (${g.readonly ? 'ro' : 'rw'})`)].filter(Boolean).join(', ') || '–');
    cell(row, s.attachments.map((a) => `${a.window} (${a.path})`).join(', ') || '–');
    cell(row, s.inDevShm === null ? 'n/a' : s.inDevShm ? 'yes' : 'NO');
  }
}

document.querySelector<HTMLButtonElement>('#scratch')!.addEventListener('click', () => {
  void info?.openScratch?.();
});

async function poll(): Promise<void> {
  const status = await info?.status();
  if (!status) return;
  render(status.segments);
  const d = status.dataset;
  summary.textContent =
    `video ${status.video.preset} @ ${status.video.fps} fps: ${status.video.published} frames published   ` +
    `dataset ${d.checksum === null ? `filling ${((d.done / d.total) * 100).toFixed(0)}%` : `ready, checksum 0x${d.checksum.toString(16).padStart(8, '0')}`}`;
}

setInterval(() => void poll(), 500);
void poll();
