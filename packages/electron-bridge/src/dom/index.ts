/** The DOM-side code of the bridge (no Node, no Electron): drawing frames and handing memory to the page. */
export type * from './types.js';
