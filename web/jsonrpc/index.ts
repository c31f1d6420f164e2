// JSON-RPC 1.0 at /json/ (any suffix: the client appends <method>/<id>/ for its logs), with
// the body parsed as JSON whatever the Content-Type (the client sends urllib's default form
// type). Every answer is HTTP 200 with both `result` and `error` present, as the client
// requires (crds-protocol.md §1.1–1.3).
import express, { type Router } from 'express';
import { invalidParams, invalidRequest, methodNotFound, otherError, parseError, RpcError } from './errors';
import { methods, type MethodDeps } from './methods';

/** Largest request body accepted: 1000 headers of a few KB each, with room to spare. */
export const MAX_BODY_BYTES = 16 * 1024 * 1024;

export function jsonRpcRouter(deps: MethodDeps): Router {
  const table = methods(deps);
  const router = express.Router();
  router.use(express.raw({ type: () => true, limit: MAX_BODY_BYTES }));

  router.all('/{*suffix}', async (req, res) => {
    let id: unknown = null;
    let result: unknown = null;
    let error: RpcError | null = null;
    try {
      if (req.method !== 'POST') throw invalidRequest('JSON-RPC requests are POSTed.');
      const request = parse(req.body);
      id = request.id;
      result = await call(table, request);
    } catch (exc) {
      error = exc instanceof RpcError ? exc : otherError((exc as Error)?.message ?? String(exc));
      if (!(exc instanceof RpcError)) console.error('jsonrpc:', exc);
    }
    reply(res, { jsonrpc: '1.0', id, result: error ? null : (result ?? null), error: error?.toJSON() ?? null });
  });

  // Bodies larger than the limit (or unreadable) still get a JSON-RPC answer.
  router.use((err: { type?: string; message?: string }, _req: express.Request, res: express.Response, _next: express.NextFunction) => {
    const error = err.type === 'entity.too.large' ? invalidRequest(`Request body larger than ${MAX_BODY_BYTES} bytes.`) : parseError(`Unreadable request body: ${err.message ?? err}`);
    reply(res, { jsonrpc: '1.0', id: null, result: null, error: error.toJSON() });
  });
  return router;
}

/** Always HTTP 200. Written directly: Express's send() would hash every answer for an ETag. */
function reply(res: express.Response, envelope: unknown): void {
  const body = JSON.stringify(envelope);
  res.writeHead(200, { 'Content-Type': 'application/json-rpc', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

interface Request {
  id: unknown;
  method: string;
  params: unknown;
}

function parse(body: unknown): Request {
  const text = Buffer.isBuffer(body) ? body.toString('utf8') : '';
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
