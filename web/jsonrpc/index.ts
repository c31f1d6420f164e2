// JSON-RPC 1.0 at /json/ (any suffix: the client appends <method>/<id>/ for its logs), with
// the body parsed as JSON whatever the Content-Type (the client sends urllib's default form
// type). Every answer is HTTP 200 with both `result` and `error` present, as the client
// requires (crds-protocol.md §1.1–1.3).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { invalidParams, invalidRequest, methodNotFound, otherError, parseError, RpcError } from './errors';
import { methods, type MethodDeps } from './methods';
import { RawJson } from './raw-json';

/** Largest request body accepted: 1000 headers of a few KB each, with room to spare. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

/**
 * The /json/ handler. A plain Node handler rather than an Express router with a body
 * parser: it is the server's hot path, and Express's layers cost more than a lookup.
 */
export function jsonRpcHandler(deps: MethodDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const table = methods(deps);
  return (req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY_BYTES) chunks.push(chunk); // beyond: read on, keep nothing
    });
    req.on('error', () => res.destroy());
    req.on('end', () => {
      void answer(table, req.method ?? '', size > MAX_BODY_BYTES ? undefined : chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)).then((envelope) => reply(res, envelope));
    });
  };
}

async function answer(table: ReturnType<typeof methods>, httpMethod: string, body: Buffer | undefined): Promise<{ jsonrpc: string; id: unknown; result: unknown; error: unknown }> {
  let id: unknown = null;
  try {
    if (httpMethod !== 'POST') throw invalidRequest('JSON-RPC requests are POSTed.');
    if (!body) throw invalidRequest(`Request body larger than ${MAX_BODY_BYTES} bytes.`);
    const request = parse(body);
    id = request.id;
    const result = await call(table, request);
    return { jsonrpc: '1.0', id, result: result ?? null, error: null };
  } catch (exc) {
    if (!(exc instanceof RpcError)) console.error('jsonrpc:', exc);
    const error = exc instanceof RpcError ? exc : otherError((exc as Error)?.message ?? String(exc));
    return { jsonrpc: '1.0', id, result: null, error: error.toJSON() };
  }
}

/** Always HTTP 200. Written directly: Express's send() would hash every answer for an ETag. */
function reply(res: ServerResponse, envelope: { id: unknown; result: unknown }): void {
  const body =
    envelope.result instanceof RawJson
      ? `{"jsonrpc":"1.0","id":${JSON.stringify(envelope.id) ?? 'null'},"result":${envelope.result.json},"error":null}`
      : JSON.stringify(envelope);
  res.writeHead(200, { 'Content-Type': 'application/json-rpc', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

interface Request {
  id: unknown;
  method: string;
  params: unknown;
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
  let request: unknown;
  try {
    request = JSON.parse(text);
  } catch (exc) {
    throw parseError(`Request body is not valid JSON: ${(exc as Error).message}`);
  }
  if (request === null || typeof request !== 'object' || Array.isArray(request)) throw invalidRequest('A JSON-RPC request is a JSON object.');
  const { id = null, method, params = [] } = request as Record<string, unknown>;
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
    if (unknown.length) throw invalidParams(`${request.method} has no parameter ${unknown.map((k) => `'${k.slice(0, 64)}'`).join(', ')}.`);
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
