// sendRange, the download loop of /unchecked_get (two reused buffers instead of a read
// stream), over a real HTTP server: files of several buffers, ranges across buffer edges,
// a client that goes away mid-download, and a file shorter than promised.
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { sendRange } from '../../web/downloads';

const MiB = 1 << 20;
let work: string;
let server: http.Server;
let url: string;
const file = () => path.join(work, 'big.fits');
const content = randomBytes(5 * MiB + 12345);
const failures: string[] = [];

beforeAll(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'crds-downloads-'));
  fs.writeFileSync(file(), content);
  // /<start>/<end>[/<announced length>]: as the download route calls it, after its headers.
  server = http.createServer((req, res) => {
    const [start, end, announced] = req.url!.split('/').slice(1).map(Number);
    res.writeHead(200, { 'Content-Length': String(announced || end! - start! + 1) });
    sendRange(file(), start!, announced ? start! + announced - 1 : end!, res).catch((exc: Error) => {
      failures.push(exc.message);
      res.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  fs.rmSync(work, { recursive: true, force: true });
});

/** Descriptors of this process open on the test's files (Linux /proc). */
const openFiles = () =>
  fs.readdirSync('/proc/self/fd').filter((fd) => {
    try {
      return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith(work);
    } catch {
      return false; // closed between the listing and the look
    }
  }).length;

it('sends whole files and ranges byte for byte, across buffer edges', async () => {
  for (const [start, end] of [
    [0, content.length - 1],
    [0, 0],
    [MiB - 1, MiB],
    [MiB - 3, 3 * MiB + 7],
    [2 * MiB, 4 * MiB - 1],
    [content.length - 10, content.length - 1],
  ] as const) {
    const body = Buffer.from(await (await fetch(`${url}/${start}/${end}`)).arrayBuffer());
    expect(body.equals(content.subarray(start, end + 1))).toBe(true);
  }
  expect(failures).toEqual([]);
});

it('stops reading and closes the file when the client goes away', async () => {
  await new Promise<void>((resolve, reject) => {
    const req = http.get(`${url}/0/${content.length - 1}`, (res) => {
      res.once('data', () => {
        req.destroy(); // after the first bytes, with megabytes still to come
        resolve();
      });
    });
    req.on('error', (err) => (err.message.includes('socket hang up') ? undefined : reject(err)));
  });
  for (let i = 0; i < 50 && openFiles() > 0; i++) await new Promise((r) => setTimeout(r, 20));
  expect(openFiles()).toBe(0);
});

it('cuts the connection when the file is shorter than the length announced', async () => {
  const before = failures.length;
  await expect(fetch(`${url}/0/0/${content.length + MiB}`).then((r) => r.arrayBuffer())).rejects.toThrow();
  expect(failures.slice(before)).toEqual([`the file ended at byte ${content.length}, before ${content.length + MiB}`]);
  expect(openFiles()).toBe(0);
});
