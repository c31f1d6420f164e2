// `ops/manage diff` prints the same differences and affected types as the real library.
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { MAPPINGS, REPO_ROOT } from '../support/paths';
import { runOracle } from './oracle';

test('ops/manage diff --mappings DIR OLD NEW prints the differences as JSON', () => {
  const pair = ['jwst_0540.pmap', 'jwst_0541.pmap'];
  const run = spawnSync(path.join(REPO_ROOT, 'ops', 'manage'), ['diff', '--mappings', MAPPINGS, ...pair], {
    encoding: 'utf8',
    maxBuffer: 1 << 28,
  });
  expect(run.stderr).toBe('');
  expect(run.status).toBe(0);
  const report = JSON.parse(run.stdout);
  const oracle = runOracle<{ results: Record<string, { diffs: { diff: unknown }[]; affected: unknown }> }>(
    'context_diffs.py',
    { pairs: [pair] },
  ).results[pair.join(' ')];
  expect(report.differences.map((d: { diff: unknown }) => d.diff)).toEqual(oracle.diffs.map((d) => d.diff));
  expect(report.affected).toEqual(oracle.affected);
  expect(report.differences.length).toBeGreaterThan(0);
}, 120_000);

test('ops/manage diff reports a missing mapping with status 1 and bad usage with 2', () => {
  const manage = path.join(REPO_ROOT, 'ops', 'manage');
  const missing = spawnSync(manage, ['diff', '--mappings', MAPPINGS, 'hst_0728.pmap', 'hst_9998.pmap'], { encoding: 'utf8' });
  expect(missing.status).toBe(1);
  expect(missing.stderr).toContain("mapping 'hst_9998.pmap' not found");
  expect(spawnSync(manage, ['diff', 'only-one.pmap'], { encoding: 'utf8' }).status).toBe(2);
}, 120_000);
