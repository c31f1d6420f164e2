// Lookup-only driver for profiling the rules engine (no Python):
//   node --cpu-prof --import tsx bench/rules-profile.ts HEADERS.jsonl [--rounds N] [--contexts a,b]
// HEADERS.jsonl as written by test/differential/oracle/gen_headers.py. Prints median/p99 per
// context after one warm-up pass; run under --cpu-prof to see where lookups spend time.
import * as fs from 'node:fs';
import { MappingStore } from '../crds';
import { MAPPINGS } from '../test/support/paths';

const file = process.argv[2];
const argv = process.argv;
const arg = (n: string, d: string) => (argv.includes(n) ? argv[argv.indexOf(n) + 1] : d);
const rounds = Number(arg('--rounds', '5'));
const contexts = arg('--contexts', 'hst_0729.pmap,jwst_0541.pmap').split(',');
const recs = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
const store = new MappingStore(MAPPINGS);
for (const ctxName of contexts) {
  const ctx = store.loadContext(ctxName);
  const mine = recs.filter((r) => r.context === ctxName).filter((r) => {
    try {
      ctx.getBestReferences(r.header);
      return true;
    } catch {
      return false;
    }
  });
  const times: number[] = [];
  for (let k = 0; k < rounds; k++) {
    for (const r of mine) {
      const t = process.hrtime.bigint();
      ctx.getBestReferences(r.header);
      times.push(Number(process.hrtime.bigint() - t) / 1e3);
    }
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.round(p * (times.length - 1))].toFixed(1);
  console.log(`${ctxName}: ${mine.length} headers × ${rounds}: median ${q(0.5)} µs p90 ${q(0.9)} p99 ${q(0.99)} max ${q(1)}`);
}
