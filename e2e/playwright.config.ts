import { defineConfig } from '@playwright/test';

/**
 * Three kinds of spec, one suite:
 * - electron: the real app through Playwright's _electron.launch; skipped, with the reason printed,
 *   where no Electron binary exists (never downloads one).
 * - pages: the app's renderer pages served as they are in Debian's Chromium, with the preload's
 *   DOM-side code run in a CDP isolated world (Electron's preload world is one).
 * - terminal: `npm start` where no Electron can start.
 * One worker: the machines have two cores, and the specs start processes of their own.
 */
export default defineConfig({
  testDir: './specs',
  outputDir: './test-results',
  workers: 1,
  timeout: 120_000,
  reporter: [['list'], ['html', { open: 'never', outputFolder: './playwright-report' }]],
  use: { screenshot: 'only-on-failure', trace: 'retain-on-failure' },
});
