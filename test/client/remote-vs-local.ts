// The real client's remote best references (our server) against its own local answer, on
// a few hundred headers the real library generates from a context's rules.
import * as path from 'node:path';
import { CRDS_PYTHON } from '../support/paths';
import { clientEnv, run, type Site } from '../jsonrpc/site';

export interface RemoteVsLocal {
  count: number;
  same: number;
  both_failed: number;
  rejected_reftypes: number;
  no_json_form: number;
  mismatches: unknown[];
}

/** Runs remote_vs_local.py on gen_headers.py's headers of `context`; every header accounted for and none differing. */
export async function remoteVsLocal(site: Site, cache: string, context: string): Promise<RemoteVsLocal> {
  const headers = await run(CRDS_PYTHON, [path.join(__dirname, '..', 'differential', 'oracle', 'gen_headers.py'), '--contexts', context, '--scale', '0.05'], {});
  expect(headers.status).toBe(0);
  const count = headers.stdout.trim().split('\n').length;
  expect(count).toBeGreaterThan(200);
  const r = await run(CRDS_PYTHON, [path.join(__dirname, 'remote_vs_local.py')], clientEnv(site, cache), headers.stdout);
  expect(r.stderr).not.toMatch(/Traceback/);
  const summary = JSON.parse(r.stdout) as Omit<RemoteVsLocal, 'count'>;
  expect(summary.mismatches).toEqual([]);
  expect(summary.same + summary.both_failed + summary.rejected_reftypes + summary.no_json_form).toBe(count);
  return { count, ...summary };
}
