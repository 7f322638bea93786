// ES module entry: re-exports the CommonJS entry, so `import` and `require`
// share one addon instance and one set of classes.
export {
  SharedMemory,
  generateName,
  maxNameLength,
  pageSize,
  platformSupported,
  wait,
  waitAsync,
  waitBackend,
  notify,
  FrameRing,
  PIXEL_FORMATS,
  ShareableList,
  SharedMemoryManager,
} from './index.js';
export type * from './index.js';

// `import shm from '@shmkit/shm'` gives what `require('@shmkit/shm')` gives (the same object),
// as a default import of any CommonJS package does in Node.
import shm from './index.js';
export default shm;
