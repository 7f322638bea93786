/** The DOM-side code of the bridge (no Node, no Electron): drawing frames and handing memory to the page. */
export type * from './types.js';
export { drawTo } from './draw.js';
export { offerShared, offerTransfer, receiveShared, receiveTransfer, SAB_UNAVAILABLE_MESSAGE } from './handoff.js';
