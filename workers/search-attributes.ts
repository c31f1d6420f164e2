// The custom search attributes every submission start sets (web/submissions.ts), registered
// on the namespace at worker start-up: a site whose Temporal server was not started with them
// (the compose file's auto-setup image, any production server) works without a manual step.
// Idempotent: attributes already there are left alone; one there with another type stops
// the worker with a message naming it. ops/search-attributes says the same for the dev server.
import type { Connection } from '@temporalio/client';
import { temporal } from '@temporalio/proto';

const { IndexedValueType } = temporal.api.enums.v1;

export const SEARCH_ATTRIBUTES: Record<string, temporal.api.enums.v1.IndexedValueType> = {
  CrdsSubmitter: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  CrdsInstrument: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  CrdsObservatory: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  // The two contexts of an affected-datasets run (workflows/affected.ts).
  CrdsOldContext: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
  CrdsNewContext: IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
};

export type SearchAttributeOutcome = 'added' | 'present';

/** gRPC status ALREADY_EXISTS: another process registered it between our list and add. */
const ALREADY_EXISTS = 6;

export async function ensureSearchAttributes(connection: Connection, namespace: string): Promise<Record<string, SearchAttributeOutcome>> {
  const listed = await connection.operatorService.listSearchAttributes({ namespace });
  const existing = { ...(listed.customAttributes ?? {}), ...(listed.systemAttributes ?? {}) };
  const outcome: Record<string, SearchAttributeOutcome> = {};
  const missing: Record<string, temporal.api.enums.v1.IndexedValueType> = {};
  for (const [name, type] of Object.entries(SEARCH_ATTRIBUTES)) {
    const have = existing[name];
    if (have === undefined || have === null) {
      missing[name] = type;
      outcome[name] = 'added';
    } else if (have !== type) {
      throw new Error(`search attribute ${name} exists in namespace ${namespace} as ${IndexedValueType[have]}, not ${IndexedValueType[type]}: remove or rename it`);
    } else {
      outcome[name] = 'present';
    }
  }
  if (Object.keys(missing).length) {
    try {
      await connection.operatorService.addSearchAttributes({ namespace, searchAttributes: missing });
    } catch (err) {
      if ((err as { code?: number }).code !== ALREADY_EXISTS) throw err;
    }
  }
  return outcome;
}
