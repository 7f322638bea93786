import { codedError } from '../core/errors';
import type { AppLike } from '../shapes';
import { mainModules } from './electron';

/**
 * Lets pages receive a SharedArrayBuffer (the memory `handle.shared()` hands over) without
 * cross-origin isolation: appends Chromium's `enable-features=SharedArrayBuffer` switch, merged
 * with features already enabled. Call it before the app is ready, at the top of the main script.
 * `app` defaults to Electron's, loaded when called. Returns true if the switch was added, false
 * if it was already there.
 */
export function enableSharedArrayBuffer(app?: AppLike): boolean {
  const theApp: AppLike = app ?? mainModules('enableSharedArrayBuffer()').app;
  if (theApp.isReady()) {
    throw codedError(
      'ERR_SHM_BRIDGE_TOO_LATE',
      'enableSharedArrayBuffer() must run before the app is ready: call it at the top of the main script, ' +
        "before app.whenReady() resolves (Chromium reads command-line switches at startup); or serve the page " +
        'cross-origin isolated (COOP same-origin + COEP require-corp through protocol.handle) instead',
    );
  }
  const current = theApp.commandLine.getSwitchValue('enable-features');
  const features = current.split(',').map((f) => f.trim()).filter((f) => f !== '');
  if (features.includes('SharedArrayBuffer')) return false;
  features.push('SharedArrayBuffer');
  theApp.commandLine.appendSwitch('enable-features', features.join(','));
  return true;
}
