/** The DOM-side functions the preload uses (src/dom), as one injectable record. */
import { drawTo } from '../dom/draw';
import { offerShared, offerTransfer } from '../dom/handoff';

export interface DomFunctions {
  drawTo: typeof drawTo;
  offerShared: typeof offerShared;
  offerTransfer: typeof offerTransfer;
}

export const domFunctions: DomFunctions = { drawTo, offerShared, offerTransfer };
