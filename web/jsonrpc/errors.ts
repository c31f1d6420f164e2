// JSON-RPC errors as the original server (django-json-rpc) sends them: {name, code, message:
// "<name>: <text>", data: null}. CRDS argument errors keep code 0 (the original's EncError
// classes); the transport's own errors use the JSON-RPC codes; anything unexpected is
// OtherError with code 500 (crds-protocol.md §1.3). Clients match on message substrings.

/** Longest error text sent (argument errors quote at most 140 characters of a value). */
export const MAX_MESSAGE_CHARS = 2000;

export class RpcError extends Error {
  constructor(
    readonly errorName: string,
    message: string,
    readonly code = 0,
  ) {
    super(message);
  }

  toJSON(): { name: string; code: number; message: string; data: null } {
    // Never echo a large value back: messages quote arguments, and an answer must stay small.
    const text = this.message.length > MAX_MESSAGE_CHARS ? this.message.slice(0, MAX_MESSAGE_CHARS) + '...' : this.message;
    return { name: this.errorName, code: this.code, message: `${this.errorName}: ${text}`, data: null };
  }
}

/** A CRDS argument error (code 0), e.g. fail('UnknownFile', "File 'x' is not known to CRDS."). */
export const fail = (name: string, message: string): never => {
  throw new RpcError(name, message);
};

export const parseError = (message: string) => new RpcError('ParseError', message, -32700);
export const invalidRequest = (message: string) => new RpcError('InvalidRequestError', message, -32600);
export const methodNotFound = (method: string) => new RpcError('MethodNotFoundError', `Method '${method}' not found.`, -32601);
export const invalidParams = (message: string) => new RpcError('InvalidParamsError', message, -32602);
/** Errors of the rules engine and other failures: the original's catch-all. */
export const otherError = (message: string) => new RpcError('OtherError', message, 500);
/**
 * An unexpected failure (a bug, the database, the file system): the client learns only that the
 * server failed; the details go to the server's log, under `ref` to find them.
 */
export const internalError = (ref: string) => otherError(`The server failed to answer this request (reference ${ref}); the error is logged.`);
