// The web's link to Temporal: connects lazily and reconnects after a failure, so the web
// starts (and reports Temporal down on /health) even while Temporal is not up yet.
import { Client, Connection } from '@temporalio/client';

export interface TemporalStatus {
  ok: boolean;
  address: string;
  namespace: string;
  error?: string;
}

export class TemporalLink {
  private connecting?: Promise<Client>;

  constructor(
    readonly address: string,
    readonly namespace: string,
  ) {}

  /** A connected client; rejects (and forgets the attempt) when Temporal is unreachable. */
  client(): Promise<Client> {
    this.connecting ??= Connection.connect({ address: this.address, connectTimeout: '3 seconds' }).then(
      (connection) => new Client({ connection, namespace: this.namespace }),
      (err: unknown) => {
        this.connecting = undefined;
        throw err;
      },
    );
    return this.connecting;
  }

  async status(): Promise<TemporalStatus> {
    const base = { address: this.address, namespace: this.namespace };
    try {
      const client = await this.client();
      await client.connection.withDeadline(Date.now() + 3000, () =>
        client.workflowService.describeNamespace({ namespace: this.namespace }),
      );
      return { ok: true, ...base };
    } catch (err) {
      return { ok: false, ...base, error: err instanceof Error ? err.message : String(err) };
    }
  }

  async close(): Promise<void> {
    const pending = this.connecting;
    this.connecting = undefined;
    if (pending) await pending.then((c) => c.connection.close()).catch(() => undefined);
  }
}
