// The jpoll translation of a submission's progress (docs/submission-protocol.md §6.3).
import { jpollMessages, parseSince } from '../../web/jpoll';
import type { ProgressMessage } from '../../workflows/submission-types';

const t = '2024-05-01 10:00:00.000000';
const messages: ProgressMessage[] = [
  { id: 1, time: t, type: 'log_message', data: "Ingesting the files of 'alice'" },
  { id: 2, time: t, type: 'warning', data: 'x.fits: <odd> & new' },
  { id: 3, time: t, type: 'done', data: { status: 0, result: 'http://h/display_result/k1' } },
  { id: 4, time: t, type: 'log_message', data: 'confirmed by alice' },
  { id: 5, time: t, type: 'done', data: { status: 0, result: 'http://h/display_result/k1' } },
];

it('returns the messages after since, html-escaped, with the channel key', () => {
  expect(jpollMessages({ messages }, 'k1', 0).slice(0, 2)).toEqual([
    { id: 1, type: 'log_message', data: 'Ingesting the files of &#x27;alice&#x27;', time: t, channel: 'k1' },
    { id: 2, type: 'warning', data: 'x.fits: &lt;odd&gt; &amp; new', time: t, channel: 'k1' },
  ]);
  expect(jpollMessages({ messages }, 'k1', 1).map((m) => m.id)).toEqual([2, 3]);
});

it('ends every pull at the first done, and never returns anything after it', () => {
  const all = jpollMessages({ messages }, 'k1', 0);
  expect(all.map((m) => m.id)).toEqual([1, 2, 3]);
  expect(all[all.length - 1]).toMatchObject({ type: 'done', data: { status: 0, result: 'http://h/display_result/k1' } });
  expect(jpollMessages({ messages }, 'k1', 3)).toEqual([]);
  expect(jpollMessages({ messages }, 'k1', 4)).toEqual([]);
});

it('keeps done an int status with a string result, even from odd data', () => {
  const odd: ProgressMessage[] = [{ id: 1, time: t, type: 'done', data: 'Certify failed' }];
  expect(jpollMessages({ messages: odd }, 'k', 0)[0]!.data).toEqual({ status: 1, result: 'Certify failed' });
  const failed: ProgressMessage[] = [
    { id: 1, time: t, type: 'error', data: "Certify failed for 'a.fits'." },
    { id: 2, time: t, type: 'done', data: { status: 1, result: "Certify failed for 'a.fits'." } },
  ];
  const out = jpollMessages({ messages: failed }, 'k', 0);
  expect(out.map((m) => m.type)).toEqual(['error', 'done']);
  expect(out[1]!.data).toEqual({ status: 1, result: "Certify failed for 'a.fits'." });
});

it('reads since as the client sends it', () => {
  expect(parseSince('0')).toBe(0);
  expect(parseSince('12')).toBe(12);
  expect(parseSince(7)).toBe(7);
  for (const bad of ['-1', 'x', '', null, 1.5, {}, '1e3']) expect(parseSince(bad)).toBeUndefined();
});
