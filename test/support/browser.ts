// The real browser of the browser tests: Debian's chromium driven by playwright-core,
// headless, with a fresh profile (user data dir) under `work`, and nothing of its own going
// to the network (updates, sync, QUIC), so only the tests' requests reach the site.
import * as path from 'node:path';
import { chromium, type BrowserContext } from 'playwright-core';

export function launchBrowser(work: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(path.join(work, 'profile'), {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}
