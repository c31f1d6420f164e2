// The real browser of the browser tests: Debian's chromium driven by playwright-core,
// headless, with a fresh profile (user data dir) under `work`, and nothing of its own going
// to the network (updates, sync, QUIC), so only the tests' requests reach the site.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export function launchBrowser(work: string): Promise<BrowserContext> {
  return chromium.launchPersistentContext(path.join(work, 'profile'), {
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}

const AXE = require.resolve('axe-core/axe.min.js');

/** axe-core in the page: no serious or critical violation (`what` names the page in a failure). */
export async function checkAccessibility(page: Page, what: string): Promise<void> {
  // Evaluated through the DevTools protocol, which the pages' content security policy (no inline scripts) does not govern.
  await page.evaluate(fs.readFileSync(AXE, 'utf8'));
  const violations = await page.evaluate<{ id: string; impact: string; nodes: unknown[] }[]>(
    `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.html) })))`,
  );
  expect([what, violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')]).toEqual([what, []]);
}
