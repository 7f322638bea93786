/** A window that owns a segment of its own: closing it unlinks the segment (watch the status panel). */
import { getShm } from '/bridge/renderer/index.js';

const name = new URLSearchParams(location.search).get('name') ?? 'scratch';
const text = document.querySelector<HTMLElement>('#text')!;

async function main(): Promise<void> {
  const handle = await getShm().create(name, 1 << 20);
  await handle.write(0, new TextEncoder().encode(`made by ${document.title}`));
  text.textContent = `This window owns '${name}' (${handle.size} bytes). Close it: the segment is unlinked, and the status panel shows it gone from /dev/shm.`;
}

main().catch((error: { code?: string; message?: string }) => {
  text.textContent = `${error.code ?? 'Error'}: ${error.message ?? String(error)}`;
});
