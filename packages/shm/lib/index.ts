/**
 * @shmkit/shm: named shared memory for Node.js and Electron, with the
 * semantics of Python's multiprocessing.shared_memory.
 */
export { SharedMemory, generateName } from './core/shared-memory';
export type {
  SharedMemoryOptions,
  SharedMemoryCreateOptions,
  SharedMemoryAttachOptions,
  StrategyOption,
  BufferStrategy,
  SharedWasmMemory,
  ViewConstructor,
} from './core/shared-memory';
export type { ShmError, ShmErrorCode, ShmSystemError } from './core/errors';
export type { SpaceReport } from './core/space';
export { maxNameLength, pageSize, platformSupported } from './core/binding';
export { wait, waitAsync, waitBackend, notify } from './streaming/wait';
export type { WaitResult, WaitAsyncOptions, WaitBackend } from './streaming/wait';
export { FrameRing, PIXEL_FORMATS } from './streaming/frame-ring';
export { ShareableList } from './formats/shareable-list';
export type { ShareableListOptions, ShareableValue } from './formats/shareable-list';
export { SharedMemoryManager } from './lifecycle/manager';
export type {
  Frame,
  FrameMeta,
  FramesOptions,
  FrameRingAttachOptions,
  FrameRingCreateOptions,
  FrameRingFormatOptions,
  FrameRingGeometry,
  PixelFormat,
  WritableSlot,
} from './streaming/frame-ring';
