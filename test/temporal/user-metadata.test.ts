// Temporal's user metadata on the workflows this project starts (workflows/metadata.ts): a
// submission started through the web's own service, described back through the client as
// Temporal UI reads it. Its task queue has no worker: the start alone is what is checked.
import { Client, Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { loadConfig } from '../../config';
import { createSubmissionService } from '../../web/submissions';
import { userMetadata } from '../../workflows/metadata';
import { freshNamespace, temporalAddress, uniqueName } from '../support/services';

jest.setTimeout(60_000);

let connection: Connection;
let client: Client;

beforeAll(async () => {
  const namespace = await freshNamespace('metadata');
  connection = await Connection.connect({ address: temporalAddress() });
  // The submission's search attributes, as the site's namespace has them.
  await connection.operatorService.addSearchAttributes({
    namespace,
    searchAttributes: Object.fromEntries(['CrdsSubmitter', 'CrdsInstrument', 'CrdsObservatory'].map((n) => [n, temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD])),
  });
  client = new Client({ connection, namespace });
});
afterAll(async () => connection?.close());

it('a submission run shows who submitted which files, for which instrument and context', async () => {
  const config = loadConfig({ CRDS_USECASE: 'test', CRDS_DATABASE_URL: 'sqlite::memory:', TEMPORAL_ADDRESS: temporalAddress(), CRDS_TASK_QUEUE: uniqueName('metadata'), CRDS_SITE_URL: 'http://crds.example' });
  const service = createSubmissionService({ client: async () => client, config });
  const files = Array.from({ length: 30 }, (_, i) => ({ name: `z1r19${String(i).padStart(2, '0')}el_1dx.fits`, size: 100 }));
  const { resultsId } = await service.startSubmission({
    kind: 'batch_submit_references',
    observatory: 'hst',
    submitter: { username: 'alice', email: 'alice@example.org', isSuperuser: false },
    lock: { instrument: 'cos', lockId: 'instrument - cos - alice - 2026-01-01T00:00:00', createdOn: new Date() },
    ingestDir: '/nonexistent',
    files,
    pmapMode: 'pmap_text',
    pmapName: 'hst_0729.pmap',
    changeLevel: 'SEVERE',
    creator: 'Alice',
    description: 'COS *1dx* update\nsecond line',
    autoRename: true,
    compareOldReference: false,
  });
  const handle = client.workflow.getHandle(`submission-hst-${resultsId}`);
  try {
    const described = await handle.describe();
    expect(await described.staticSummary()).toBe(`submission ${resultsId} of 30 file(s) for cos (alice)`);
    const details = (await described.staticDetails())!.split('\n\n');
    expect(details[0]).toBe('**Started by:** alice');
    // Long lists end with a count; Markdown in a user's text is shown as text.
    expect(details[1]).toMatch(/^\*\*Files \(30\):\*\* z1r1900el\\_1dx\.fits, .* and 5 more$/);
    expect(details).toContain('**Contexts:** hst\\_0729.pmap');
    expect(details).toContain('**Description:** COS \\*1dx\\* update second line');
    expect(details).toContain(`**Result:** http://crds.example/display\\_result/${resultsId}`);
  } finally {
    await handle.terminate('test: metadata only');
  }
});

it('keeps the summary to one line of bounded length', () => {
  const { staticSummary } = userMetadata({ what: `restore\n${'x'.repeat(500)}`, who: 'ops/restore' });
  expect(staticSummary).not.toMatch(/\n/);
  expect(staticSummary.length).toBeLessThanOrEqual(200);
});
