// File downloads (crds-protocol.md §3.1): /unchecked_get/{mappings,references}/<obs>/<name>
// streams a catalogued, distributable file from the server's file cache, with Range support
// and an exact Content-Length; /get/<name> is the original's "checked" URL, a 302 to it.
// Anything else (unknown or undistributable name, another observatory, '..', encoded
// slashes, odd characters) is the same bare 404, so a probe learns nothing and no request
// can read outside the file cache.
import * as path from 'node:path';
import express, { type Response, type Router } from 'express';
import type { Config } from '../config';
import { FILE_NAME_RE } from '../db/catalog-import';
import type { CatalogView, FileEntry } from './catalog-view';

const KIND_OF: Record<string, FileEntry['type']> = { mappings: 'mapping', references: 'reference' };

function notFound(res: Response): void {
  res.status(404).type('text/plain').send('Not found\n');
}

export function downloadsRouter(deps: { config: Config; view: CatalogView }): Router {
  const { config, view } = deps;
  const router = express.Router();

  /** The catalogued, distributable file `name` of `kind`, or undefined. */
  const distributable = async (kind: string, observatory: string, name: string): Promise<FileEntry | undefined> => {
    if (!(kind in KIND_OF) || observatory !== config.observatory || !FILE_NAME_RE.test(name)) return undefined;
    const file = (await view.current()).files.get(name);
    return file && file.type === KIND_OF[kind] && file.available ? file : undefined;
  };

  router.get('/unchecked_get/:kind/:observatory/:name', async (req, res) => {
    const { kind, observatory, name } = req.params as Record<string, string>;
    const file = await distributable(kind, observatory, name);
    if (!file) return notFound(res);
    const root = path.join(config.fileCache, kind, config.observatory);
    res.sendFile(name, {
      root,
      dotfiles: 'deny',
      acceptRanges: true,
      headers: {
        'Content-Type': file.type === 'mapping' ? 'text/plain; charset=utf-8' : 'application/octet-stream',
        'Content-Disposition': `attachment; filename=${name}`,
      },
    }, (err) => {
      if (!err || res.headersSent) return;
      // A Range beyond the file: 416, as HTTP says. Anything else (catalogued but missing
      // from the cache): still a bare 404, and a line in the log.
      if ((err as { status?: number }).status === 416) {
        res.status(416).end();
        return;
      }
      console.error(`downloads: ${name}: ${(err as Error).message}`);
      notFound(res);
    });
  });

  router.get('/get/:name', async (req, res) => {
    const { name } = req.params as Record<string, string>;
    const snapshotFile = FILE_NAME_RE.test(name) ? (await view.current()).files.get(name) : undefined;
    if (!snapshotFile || !snapshotFile.available) return notFound(res);
    const kind = snapshotFile.type === 'mapping' ? 'mappings' : 'references';
    res.redirect(302, `${config.siteUrl}/unchecked_get/${kind}/${config.observatory}/${name}`);
  });

  return router;
}
