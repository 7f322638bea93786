// Compiled by 00-package.test.js with `tsc --noEmit`: the published types must
// describe the documented API (this file is never run).
import {
  SharedMemory,
  FrameRing,
  waitAsync,
  wait,
  notify,
  type SharedMemoryOptions,
  type SharedMemoryAttachOptions,
  type SharedMemoryCreateOptions,
  type ShmSystemError,
  type SpaceReport,
  type BufferStrategy,
  type SharedWasmMemory,
  type Frame,
  type WaitResult,
} from '@shmkit/shm';

const options: SharedMemoryOptions = { create: true, size: 1 << 20, mode: 0o600, populate: true };
const a = new SharedMemory(options);
const b = SharedMemory.attach(a.name, { readonly: true, strategy: 'auto' });
const c = SharedMemory.create(64, { name: 'x', track: false });
const bytes: Uint8Array = a.buf;
const ints: Int32Array = a.view(Int32Array, 0, 4);
const dv: DataView = b.view(DataView);
const strategy: BufferStrategy = c.strategy;
const n: number = a.read(new Uint8Array(4), 0) + a.write(bytes.subarray(0, 4), 8);
Atomics.add(ints, 0, n);
const name: string = a.name;
const size: number = a.size;
void SharedMemory.createUnmapped({ size: 4096, name: 'x', mode: 0o600, track: false }).then(async (made: { name: string; size: number; allocated: number }) => {
  await SharedMemory.unlinkAsync(made.name);
});
// @ts-expect-error createUnmapped needs a size
void SharedMemory.createUnmapped({ name: 'x' });
try {
  SharedMemory.unlink(name);
} catch (error) {
  const e = error as ShmSystemError;
  const code: string = e.code;
  void code;
  // ENOSPC/ENOMEM from a populate: the filesystem's facts.
  const space: SpaceReport | undefined = e.space;
  const room: number | null | undefined = space?.memoryAvailable;
  const free: number | undefined = space?.available;
  void room, free;
}
{
  using scoped = SharedMemory.create(8);
  void scoped.buf;
}
// @ts-expect-error name and size are read-only
a.name = 'other';
// @ts-expect-error sizes are numbers
new SharedMemory({ create: true, size: '10' });
// @ts-expect-error creating needs a size
new SharedMemory({ create: true });
// @ts-expect-error creating needs a size, with a name too
new SharedMemory({ name: 'x', create: true });
// @ts-expect-error attaching needs a name
new SharedMemory({});
// @ts-expect-error attaching needs a name
new SharedMemory();
// @ts-expect-error a misspelt option is refused (ERR_INVALID_ARG_VALUE at run time too)
new SharedMemory({ nmae: 'x', create: true, size: 8 });
// @ts-expect-error Python's positional form: use SharedMemory.attach(name)
new SharedMemory('x');
// @ts-expect-error readonly cannot be combined with create
new SharedMemory({ create: true, size: 8, readonly: true });
// @ts-expect-error SharedMemory.create sets size itself
SharedMemory.create(8, { size: 16 });
// A boolean `create` decided at run time still type-checks when both shapes fit.
declare const fresh: boolean;
const either = new SharedMemory({ name: 'x', create: fresh, size: 8 });
const attachOnly: SharedMemoryAttachOptions = { name: 'x', readonly: true };
const createOnly: SharedMemoryCreateOptions = { create: true, size: 8 };
void [either, attachOnly, createOnly];
void [dv, strategy, size];
// The shared strategy: a SharedArrayBuffer-backed buf and its WebAssembly.Memory.
const shared = SharedMemory.attach(a.name, { strategy: 'shared' });
const memory: SharedWasmMemory | null = shared.memory;
const sab: SharedArrayBuffer | undefined = memory?.buffer;
const sharedStrategy: BufferStrategy = 'shared';
// @ts-expect-error memory is read-only
shared.memory = null;
void [sab, sharedStrategy];

async function stream(signal: AbortSignal): Promise<void> {
  const ring = FrameRing.create({ slots: 3, slotBytes: 1024 });
  const slot = ring.acquire();
  slot.data.fill(1);
  const n: number = ring.publish(slot, { width: 16, height: 16, pixelFormat: 'rgba8' });
  const reader = FrameRing.attach(ring.name);
  for await (const frame of reader.frames({ signal })) {
    const f: Frame = frame;
    const ok: boolean = f.valid();
    void [ok, n];
  }
  const r: WaitResult = await waitAsync(a, 0, 0, 100, { signal });
  const s: WaitResult = wait(a, 0, 0, 0);
  const woken: number = notify(a, 0);
  // @ts-expect-error unknown pixel formats are refused by the types
  ring.publish(ring.acquire(), { pixelFormat: 'rgb565' });
  void [r, s, woken];
}
void stream;
