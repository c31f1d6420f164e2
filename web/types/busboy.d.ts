// The parts of busboy 1.x and connect-busboy 1.x this server uses (neither ships types).
declare module 'busboy' {
  import type { IncomingHttpHeaders } from 'node:http';
  import type { Readable, Writable } from 'node:stream';

  namespace busboy {
    interface Limits {
      fieldNameSize?: number;
      fieldSize?: number;
      fields?: number;
      fileSize?: number;
      files?: number;
      parts?: number;
      headerPairs?: number;
    }
    interface Config {
      headers?: IncomingHttpHeaders;
      limits?: Limits;
      highWaterMark?: number;
      fileHwm?: number;
      defCharset?: string;
      defParamCharset?: string;
      /** Keep the client's whole file name instead of its last path component. */
      preservePath?: boolean;
    }
    interface FileInfo {
      filename: string | undefined;
      encoding: string;
      mimeType: string;
    }
    interface FileStream extends Readable {
      /** True once the file passed limits.fileSize (the rest was discarded). */
      truncated: boolean;
      bytesRead: number;
    }
    interface Busboy extends Writable {
      on(event: 'file', listener: (name: string, stream: FileStream, info: FileInfo) => void): this;
      on(event: 'field', listener: (name: string, value: string, info: { nameTruncated: boolean; valueTruncated: boolean }) => void): this;
      on(event: 'partsLimit' | 'filesLimit' | 'fieldsLimit' | 'close' | 'finish', listener: () => void): this;
      on(event: 'error', listener: (err: Error) => void): this;
      on(event: string | symbol, listener: (...args: unknown[]) => void): this;
    }
  }
  function busboy(config: busboy.Config): busboy.Busboy;
  export = busboy;
}

declare module 'connect-busboy' {
  import type { RequestHandler } from 'express';
  import type busboy from 'busboy';

  function connectBusboy(options?: busboy.Config & { immediate?: boolean }): RequestHandler;
  export = connectBusboy;
}

declare namespace Express {
  interface Request {
    /** Set by connect-busboy on multipart and urlencoded requests. */
    busboy?: import('busboy').Busboy;
  }
}
