/**
 * @shmkit/shm: named shared memory for Node.js and Electron, with the
 * semantics of Python's multiprocessing.shared_memory.
 */
export { SharedMemory, generateName } from './shared-memory';
export type { SharedMemoryOptions, StrategyOption, BufferStrategy, ViewConstructor } from './shared-memory';
export type { ShmError, ShmErrorCode, ShmSystemError } from './errors';
export { maxNameLength, pageSize, platformSupported } from './binding';
export { wait, waitAsync, notify } from './wait';
export type { WaitResult, WaitAsyncOptions } from './wait';
export { FrameRing, PIXEL_FORMATS } from './frame-ring';
export { ShareableList } from './shareable-list';
export type { ShareableListOptions, ShareableValue } from './shareable-list';
export { SharedMemoryManager } from './manager';
export type {
  Frame,
  FrameMeta,
  FramesOptions,
  FrameRingAttachOptions,
  FrameRingCreateOptions,
  PixelFormat,
  WritableSlot,
} from './frame-ring';
