/**
 * A JSON-RPC result already serialized (a method's cached answer): the handler splices it into
 * the envelope as is, giving the same bytes JSON.stringify of the object would.
 */
export class RawJson {
  constructor(readonly json: string) {}
}
