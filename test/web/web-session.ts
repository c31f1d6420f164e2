// A cookie-keeping HTTP session for tests of the interactive pages, like the real client's
// requests.Session: it stores every Set-Cookie, sends them back, and does not follow redirects
// (tests look at them).
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';

export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** Cookies set by this very response (what the client reads its csrftoken from). */
  setCookies: Map<string, { value: string; attributes: string }>;
  json<T = unknown>(): T;
}

export class WebSession {
  readonly cookies = new Map<string, string>();

  constructor(readonly base: string) {}

  async request(path: string, init: RequestInit = {}): Promise<Reply> {
    const headers = new Headers(init.headers);
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(this.base + path, { ...init, headers, redirect: 'manual' });
    const setCookies = new Map<string, { value: string; attributes: string }>();
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      setCookies.set(name, { value, attributes: attributes.join(';') });
      if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    const text = await res.text();
    return { status: res.status, headers: res.headers, text, setCookies, json: <T>() => JSON.parse(text) as T };
  }

  get(path: string, headers: Record<string, string> = {}): Promise<Reply> {
    return this.request(path, { headers });
  }

  /** An urlencoded form POST, with the csrftoken cookie as csrfmiddlewaretoken unless given. */
  post(path: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Reply> {
    const body = new URLSearchParams({ csrfmiddlewaretoken: this.cookies.get('csrftoken') ?? '', ...form });
    return this.request(path, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers } });
  }

  /** GET the login page, then log in as the real client does. */
  async login(username: string, password: string, instrument = 'none', headers: Record<string, string> = {}): Promise<Reply> {
    await this.get('/login/');
    return this.post('/login/', { username, password, instrument, next: '/' }, headers);
  }
}

/** The text of the page's error_message div, entities decoded as BeautifulSoup does, or undefined (the client's check_error). */
export function errorDiv(html: string): string | undefined {
  const text = /<div id="error_message"[^>]*>([^<]*)<\/div>/.exec(html)?.[1];
  const entities: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', '#39': "'", '#x27': "'" };
  return text?.replace(/&(amp|lt|gt|quot|#39|#x27);/g, (_m, e: string) => entities[e]!);
}

/** A multipart body built by hand, so a test can send any file name bytes at all. */
export function multipart(parts: { name: string; filename?: string; data: Buffer | string }[]): { body: Buffer; contentType: string } {
  const boundary = `----crdstest${Date.now().toString(16)}`;
  const chunks: Buffer[] = [];
  for (const p of parts) {
    const disposition = p.filename === undefined ? `form-data; name="${p.name}"` : `form-data; name="${p.name}"; filename="${p.filename}"`;
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: ${disposition}\r\n\r\n`, 'utf8'), Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export const sha1 = (data: Buffer): string => createHash('sha1').update(data).digest('hex');
export const sha1File = (file: string): string => sha1(fs.readFileSync(file));
