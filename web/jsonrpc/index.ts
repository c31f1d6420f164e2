// JSON-RPC 1.0 at /json/ (any suffix: the client appends <method>/<id>/ for its logs), with
// the body parsed as JSON whatever the Content-Type (the client sends urllib's default form
// type). Every answer is HTTP 200 with both `result` and `error` present, as the client
// requires (crds-protocol.md §1.1–1.3).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { BodyBudget, busy } from '../body-budget';
import { internalError, invalidParams, invalidRequest, methodNotFound, otherError, parseError, RpcError } from './errors';
import { methods, type MethodDeps } from './methods';
import { RawJson } from './raw-json';
import type { WebMetrics } from '../metrics';

/** Largest request body accepted: 1000 headers of a few KB each, with room to spare. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;
/** Longest string `id` accepted (the client sends '<method>/<client>-<counter>'); it is echoed. */
export const MAX_ID_CHARS = 256;

type Envelope = { jsonrpc: string; id: unknown; result: unknown; error: unknown };

/**
 * The /json/ handler. A plain Node handler rather than an Express router with a body
 * parser: it is the server's hot path, and Express's layers cost more than a lookup.
 * Nothing a request carries can make it throw: a failure of one request is an error answer
 * to that request (logged), never an exception that ends the process.
 */
export function jsonRpcHandler(deps: MethodDeps, budget = new BodyBudget(), metrics?: WebMetrics): (req: IncomingMessage, res: ServerResponse) => void {
  const table = methods(deps);
  return (req, res) => {
    // The whole body is held until the answer is sent: its bytes count against the process's
    // budget from the first chunk, and a body past either limit is refused while it arrives.
    let held = 0;
    const release = () => {
      budget.give(held);
      held = 0;
    };
    const refuse = (status: 413 | 503, error: RpcError) => {
      release();
      refused = true;
      req.resume(); // read on, keep nothing
      const body = JSON.stringify({ jsonrpc: '1.0', id: null, result: null, error: error.toJSON() });
      if (status === 503) return busy(res, body, 'application/json-rpc');
      if (res.headersSent) return void res.destroy();
      res.writeHead(413, { 'Content-Type': 'application/json-rpc', 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
      res.end(body);
    };
    let refused = false;
    const chunks: Buffer[] = [];
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) return refuse(413, invalidRequest(`Request body larger than ${MAX_BODY_BYTES} bytes.`));
    req.on('data', (chunk: Buffer) => {
      if (refused) return;
      if (held + chunk.length > MAX_BODY_BYTES) return refuse(413, invalidRequest(`Request body larger than ${MAX_BODY_BYTES} bytes.`));
      if (!budget.take(chunk.length)) return refuse(503, otherError('The server is busy: retry in a second.'));
      held += chunk.length;
      chunks.push(chunk);
    });
    req.on('error', () => {
      release();
      res.destroy();
    });
    res.once('close', release);
    req.on('end', () => {
      if (refused) return;
      const body = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
      chunks.length = 0;
      const t0 = performance.now();
      answer(table, req.method ?? '', body)
        .then(([envelope, method]) => {
          reply(res, envelope);
          metrics?.rpc(method, (envelope.error as { name?: string } | null)?.name ?? null, (performance.now() - t0) / 1000);
        })
        .catch((exc: unknown) => unexpected(res, exc))
        .finally(release);
    });
  };
}

let failures = 0;
/** Logs an unexpected failure in one entry and returns the reference quoted to the client. */
function logFailure(where: string, exc: unknown): string {
  const ref = `${process.pid}-${++failures}`;
  console.error(`jsonrpc: ${where} failed (reference ${ref}):`, exc instanceof Error ? exc : safeText(exc));
  return ref;
}

function safeText(v: unknown): string {
  try {
    return String(v).slice(0, 200);
  } catch {
    return typeof v;
  }
}

/** The envelope, and the method called (for metrics). */
async function answer(table: ReturnType<typeof methods>, httpMethod: string, body: Buffer): Promise<[Envelope, string]> {
  let id: unknown = null;
  let method = '(no method)';
  try {
    if (httpMethod !== 'POST') throw invalidRequest('JSON-RPC requests are POSTed.');
    const request = parse(body);
    id = request.id;
    method = request.method.slice(0, 100);
    const result = await call(table, request);
    return [{ jsonrpc: '1.0', id, result: result ?? null, error: null }, method];
  } catch (exc) {
    const error = exc instanceof RpcError ? exc : internalError(logFailure(method, exc));
    return [{ jsonrpc: '1.0', id, result: null, error: error.toJSON() }, method];
  }
}

/** Always HTTP 200. Written directly: Express's send() would hash every answer for an ETag. */
function reply(res: ServerResponse, envelope: Envelope): void {
  let body: string;
  try {
    body =
      envelope.result instanceof RawJson
        ? `{"jsonrpc":"1.0","id":${JSON.stringify(envelope.id) ?? 'null'},"result":${envelope.result.json},"error":null}`
        : JSON.stringify(envelope);
  } catch (exc) {
    // A result that cannot be serialized (too deep, a cycle, a BigInt): an error answer instead.
    const error = internalError(logFailure('serializing an answer', exc)).toJSON();
    body = JSON.stringify({ jsonrpc: '1.0', id: envelope.id, result: null, error });
  }
  if (res.headersSent || res.destroyed) return;
  res.writeHead(200, { 'Content-Type': 'application/json-rpc', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

function unexpected(res: ServerResponse, exc: unknown): void {
  try {
    reply(res, { jsonrpc: '1.0', id: null, result: null, error: internalError(logFailure('answering', exc)).toJSON() });
  } catch {
    res.destroy();
  }
}

interface Request {
  id: unknown;
  method: string;
  params: unknown;
}

/** Deepest nesting of lists and objects accepted in a request. */
export const MAX_NESTING = 64;

/** True when the JSON text `b` nests lists/objects deeper than `limit` (strings skipped natively). */
export function nestedDeeperThan(b: Buffer, limit: number): boolean {
  let depth = 0;
  for (let i = 0; i < b.length; i++) {
    const c = b[i];
    if (c === 0x22) {
      // Jump to the closing quote: the next '"' preceded by an even run of backslashes.
      for (;;) {
        i = b.indexOf(0x22, i + 1);
        if (i < 0) return false; // unterminated: JSON.parse says so
        let k = i - 1;
        while (b[k] === 0x5c) k--;
        if ((i - 1 - k) % 2 === 0) break;
      }
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return true;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return false;
}

const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true });

function parse(body: Buffer): Request {
  // Invalid UTF-8 must not slip through as replacement characters: decode strictly.
  let text: string;
  try {
    text = STRICT_UTF8.decode(body);
  } catch {
    throw parseError('Request body is not UTF-8.');
  }
  // V8 parses nesting with no limit, slowly: 16 MB of '[' holds the event loop ~6 s before
  // failing. Real requests nest a few levels (a header map is 4).
  if (nestedDeeperThan(body, MAX_NESTING)) throw invalidRequest(`The request nests more than ${MAX_NESTING} levels deep.`);
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch (exc) {
    throw parseError(`Request body is not valid JSON: ${(exc as Error).message.slice(0, 200)}`);
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) throw invalidRequest('A JSON-RPC request is a JSON object.');
  const { id = null, method, params = [] } = request as Record<string, unknown>;
  // The id is echoed in the answer: only a short string, a finite number or null.
  const goodId = id === null || (typeof id === 'string' && id.length <= MAX_ID_CHARS) || (typeof id === 'number' && Number.isFinite(id));
  if (!goodId) throw invalidRequest(`The request's 'id' must be a string of at most ${MAX_ID_CHARS} characters, a number or null.`);
  if (typeof method !== 'string') throw invalidRequest("The request's 'method' must be a string.");
  return { id, method, params };
}

async function call(table: ReturnType<typeof methods>, request: Request): Promise<unknown> {
  // Only own properties: 'constructor' or '__proto__' are no methods.
  const method = Object.prototype.hasOwnProperty.call(table, request.method) ? table[request.method] : undefined;
  if (!method) throw methodNotFound(request.method.slice(0, 100));
  const { params } = request;
  let args: unknown[];
  if (Array.isArray(params)) {
    if (params.length > method.params.length) {
      throw invalidParams(`${request.method} takes at most ${method.params.length} parameters (${method.params.join(', ') || 'none'}), got ${params.length}.`);
    }
    args = params;
  } else if (params !== null && typeof params === 'object') {
    const named = params as Record<string, unknown>;
    const unknown = Object.keys(named).filter((k) => !method.params.includes(k));
    if (unknown.length) throw invalidParams(`${request.method} has no parameter ${unknown.slice(0, 5).map((k) => `'${k.slice(0, 64)}'`).join(', ')}${unknown.length > 5 ? ', ...' : ''}.`);
    args = method.params.map((p) => named[p]);
  } else if (params === null) {
    args = [];
  } else {
    throw invalidParams("The request's 'params' must be a list or an object.");
  }
  // Missing trailing parameters read as null, as the original's library passed None.
  const full = method.params.map((_, i) => (args[i] === undefined ? null : args[i]));
  return method.run(full);
}
