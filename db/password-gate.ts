// At most a few password hashes at once. scrypt runs in libuv's thread pool (4 threads by
// default), the pool file reads of downloads and uploads also use: a flood of logins must
// not take all of it. Waiting hashes queue in order; past `maxWaiting` a login is refused at
// once (PasswordHashingBusy) rather than queued without end.
export class PasswordHashingBusy extends Error {
  constructor() {
    super('The server is busy checking passwords: try again in a few seconds.');
    this.name = 'PasswordHashingBusy';
  }
}

export class PasswordGate {
  private active = 0;
  private readonly waiting: (() => void)[] = [];
  /** The most hashes ever running at once (for tests and diagnostics). */
  maxActive = 0;

  constructor(
    private limit: number,
    private readonly maxWaiting = 64,
  ) {}

  setLimit(limit: number): void {
    this.limit = Math.max(1, Math.floor(limit));
  }

  async run<T>(work: () => Promise<T>): Promise<T> {
    if (this.active >= this.limit) {
      if (this.waiting.length >= this.maxWaiting) throw new PasswordHashingBusy();
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    }
    this.active += 1;
    this.maxActive = Math.max(this.maxActive, this.active);
    try {
      return await work();
    } finally {
      this.active -= 1;
      this.waiting.shift()?.();
    }
  }
}

/** The process's gate; the web sets its limit from CRDS_PASSWORD_HASHING. */
export const passwordHashing = new PasswordGate(2);
