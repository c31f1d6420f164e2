// The web's catalog view (web/catalog-view.ts) against a real SQLite catalog: a snapshot is
// never older than refreshMs, and past half that age the generation is checked in the
// background while requests are still answered at once (no request of a busy site waits on
// the query); an idle view waits for the check.
import { openDatabase, type Database } from '../../db';
import { bumpGeneration, catalogGeneration } from '../../db/catalog';
import { CatalogView } from '../../web/catalog-view';
import { freshSqliteDatabase, type TestDatabase } from '../support/services';

const REFRESH_MS = 1000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('catalog view refresh', () => {
  let target: TestDatabase;
  let db: Database;
  beforeAll(async () => {
    target = freshSqliteDatabase();
    db = await openDatabase(target.url);
  });
  afterAll(async () => {
    await db.close();
    await target.drop();
  });

  it('answers a young snapshot at once, checks in the background past half its age, and waits once it is older than refreshMs', async () => {
    const view = new CatalogView(db, REFRESH_MS);
    const first = await view.current();
    expect(first.generation).toBe(await catalogGeneration(db));

    // Young: the same snapshot, even though the catalog changed.
    await bumpGeneration(db);
    expect((await view.current()).generation).toBe(first.generation);

    // Past half the age: still the old snapshot, answered without waiting, and the check has
    // started; once it has ended the new generation is served.
    await sleep(REFRESH_MS * 0.6);
    const pending = view.current();
    expect((await pending).generation).toBe(first.generation);
    let seen = first.generation;
    for (const deadline = Date.now() + REFRESH_MS * 0.3; Date.now() < deadline && seen === first.generation; await sleep(5)) seen = (await view.current()).generation;
    expect(seen).toBe(first.generation + 1);

    // Idle past refreshMs: the request waits for the check and sees the change at once.
    await bumpGeneration(db);
    await sleep(REFRESH_MS * 1.1);
    expect((await view.current()).generation).toBe(first.generation + 2);
  });

  it('with refreshMs 0 (the tests’ sites) every request sees the catalog as it is', async () => {
    const view = new CatalogView(db, 0);
    const before = (await view.current()).generation;
    await bumpGeneration(db);
    expect((await view.current()).generation).toBe(before + 1);
  });
});
