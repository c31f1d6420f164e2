// Every JSON-RPC method the real `crds` client calls (crds-protocol.md §1.6), with its
// parameter names in the original's order. Each answers from the catalog view (in memory)
// and the rules cache; only dataset, remote-context and affected-datasets methods touch the
// database. Argument errors use the original's error classes (checks.ts).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Op } from 'sequelize';
import { CrdsError, type BestRefs, type PipelineContext } from '../../crds';
import type { Config } from '../../config';
import type { Database } from '../../db';
import { canonicalContextState } from '../../db/catalog';
import { sqliteSnapshot } from '../../db/sqlite-snapshot';
import { datasetIdsSince } from '../../db/datasets';
import { historyDate, type CatalogSnapshot, type CatalogView, type RulesCache } from '../catalog-view';
import {
  checkAvailableFile,
  checkBoolean,
  checkContext,
  checkDatasetIds,
  checkFilename,
  checkGlob,
  checkHeader,
  checkObservatory,
  checkReftypes,
  checkStringList,
  FIELD_RE,
  FILE_RE,
  MAX_IDS_PER_RPC,
  show,
  str,
  type ContextResolver,
} from './checks';
import { fail, otherError } from './errors';
import { RawJson } from './raw-json';
import { AnswerCache } from './answer-cache';
import { jpollPullMethod, type JpollSource } from '../jpoll';
import { submissionMethods, type SubmissionRpcSource } from './submission-methods';

export interface MethodDeps {
  config: Config;
  db: Database;
  view: CatalogView;
  rules: RulesCache;
  /** The submission workflows behind jpoll (web/submissions.ts); none: monitoring unavailable. */
  submissions?: SubmissionRpcSource;
}

export interface Method {
  params: readonly string[];
  run(args: unknown[]): unknown;
}

/** The version of the CRDS server protocol this server speaks (crds_server 13.x, client 13/14). */
export const CRDS_PROTOCOL_VERSION = '13.2.4';

const CALVER_RE = /^(\d+)\.(\d+)\.(\d+)/;

/** Serialized get_file_info_map answers kept per catalog snapshot (cleared when full). */
const INFO_MAP_CACHE_ENTRIES = 2000;
/** Dataset ids per catalog query (get_dataset_headers_by_id and friends take up to MAX_IDS_PER_RPC). */
const DATASET_QUERY_BATCH = 100;

export function methods(deps: MethodDeps): Record<string, Method> {
  const infoMapCache = new WeakMap<CatalogSnapshot, Map<string, RawJson>>();
  const answers = new AnswerCache();
  const { config, db, view, rules } = deps;
  const obs = config.observatory;
  const site = config.siteUrl;

  const resolverFor = (snapshot: CatalogSnapshot): ContextResolver => ({
    byDate(date, spec) {
      // History is newest first: the first entry that started at or before the date.
      const entry = snapshot.history.find((h) => h.startDate.getTime() <= date.getTime());
      if (!entry) fail('UnknownContextError', `No CRDS context found corresponding to (prior to) date '${spec}'`);
      return entry!.context;
    },
    byTag(tag) {
      if (tag === 'build') return latestBuild(snapshot) || snapshot.defaults.latest;
      const state = canonicalContextState(tag)!;
      const context = snapshot.defaults[state];
      if (!context) fail('UnknownContextError', `No ${tag} context is set on this server.`);
      return context;
    },
    narrow(pmapName, instrument, filekind) {
      const pmap = loadContext(pmapName);
      const imap = pmap.selections.get(instrument.toLowerCase());
      if (imap === undefined) fail('InvalidInstrumentError', `Instrument '${instrument}' is not in context '${pmapName}'`);
      if (!filekind) return imap!;
      if (imap === 'N/A' || imap === 'OMIT') return 'N/A';
      const rmap = (rules.mapping(imap!) as { selections?: ReadonlyMap<string, string> }).selections?.get(filekind.toLowerCase());
      if (rmap === undefined) fail('InvalidReftypesError', `Reference type '${filekind}' is not in '${imap}'`);
      return rmap === 'OMIT' ? 'N/A' : rmap!;
    },
  });

  const latestBuild = (snapshot: CatalogSnapshot): string => {
    const versions = [...snapshot.builds.keys()].sort(compareVersions);
    return versions.length ? snapshot.builds.get(versions[versions.length - 1])! : '';
  };

  const loadContext = (name: string): PipelineContext => {
    try {
      return rules.context(name);
    } catch (exc) {
      // The engine's own errors name the problem; anything else (the file system) stays in the log.
      if (exc instanceof CrdsError) throw otherError(`Failed loading context '${name}': ${exc.message}`);
      throw exc;
    }
  };

  /** A context argument that must end up a .pmap. */
  const pmapArg = async (v: unknown): Promise<{ snapshot: CatalogSnapshot; name: string; pmap: PipelineContext }> => {
    const snapshot = await view.current();
    const name = checkContext(v, obs, snapshot, resolverFor(snapshot));
    if (!name.endsWith('.pmap')) fail('UnknownContextError', `Context '${name}' is not a pipeline context (.pmap).`);
    return { snapshot, name, pmap: loadContext(name) };
  };

  const knownTypes = new Map<string, Set<string>>();
  const typesOf = (pmap: PipelineContext): Set<string> => {
    let types = knownTypes.get(pmap.name);
    if (!types) {
      types = new Set();
      for (const instrument of pmap.instruments()) for (const t of pmap.getImap(instrument).filekinds()) types.add(t);
      knownTypes.set(pmap.name, types);
    }
    return types;
  };

  /** get_best_references' lookup; engine failures (no or unknown instrument) become OtherError. */
  const bestrefs = (pmap: PipelineContext, header: Record<string, string>, reftypes: string[]): BestRefs => {
    try {
      return pmap.getBestReferences(header, reftypes);
    } catch (exc) {
      if (exc instanceof CrdsError) throw otherError(exc.message);
      throw exc;
    }
  };

  /**
   * Headers of the datasets named (exact ids, and every '<product>:<member>' of a product id),
   * in queries of at most DATASET_QUERY_BATCH ids: one query of 1000 alternatives passes
   * SQLite's expression depth limit. A product's members are a key range (not LIKE, where '_'
   * is a wildcard).
   */
  const datasetHeaders = async (ids: string[]): Promise<Map<string, Record<string, string>>> => {
    const found = new Map<string, Record<string, string>>();
    for (let i = 0; i < ids.length; i += DATASET_QUERY_BATCH) {
      const batch = ids.slice(i, i + DATASET_QUERY_BATCH);
      const products = batch.filter((id) => !id.includes(':'));
      const rows = await db.models.Dataset.findAll({
        where: { [Op.or]: [{ datasetId: batch }, ...products.map((p) => ({ datasetId: { [Op.gt]: `${p}:`, [Op.lt]: `${p};` } }))] },
      });
      for (const r of rows) if (r.datasetId.includes(':') ? batch.includes(r.datasetId.split(':')[0]) || batch.includes(r.datasetId) : batch.includes(r.datasetId)) found.set(r.datasetId, r.header);
    }
    return new Map([...found].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  };

  const serialOf = (v: unknown, what: string): string => {
    if (v === null || v === undefined) return '*';
    const m = typeof v === 'string' ? new RegExp(`^${obs}_(\\d+)\\.pmap$`).exec(v) : null;
    if (!m) fail('UnknownContextError', `${what} must be a numbered ${obs} .pmap, not ${show(v)}`);
    return m![1];
  };

  /** list_mappings / list_references: the available files of one kind whose names match a glob. */
  const listFiles = (type: 'mapping' | 'reference'): Method => ({
    params: ['observatory', 'glob_pattern'],
    async run([observatory, glob]) {
      checkObservatory(observatory, obs);
      const re = checkGlob(glob);
      const s = await view.current();
      return answers.get(s, `${type}s:${re.pattern}`, () => [...s.files.values()].filter((f) => f.type === type && f.available && re.test(f.name)).map((f) => f.name));
    },
  });

  return {
    get_server_info: {
      params: [],
      async run() {
        const s = await view.current();
        // All but last_synced (the time of the call) is the snapshot's: serialized once.
        const base = answers.get(s, 'server_info', () => ({
          observatory: obs,
          latest_context: s.defaults.latest,
          operational_context: s.defaults.latest,
          edit_context: s.defaults.edit,
          versions_context: s.defaults.versions,
          build_context: latestBuild(s) || s.defaults.latest,
          bad_files_list: s.badFiles,
          mappings: s.mappings,
          context_history: s.history.map((h) => [historyDate(h.startDate), h.context, h.description]),
          force_remote_mode: 0,
          crds_version: { str: CRDS_PROTOCOL_VERSION },
          max_headers_per_rpc: MAX_IDS_PER_RPC,
          max_bestrefs_per_rpc: MAX_IDS_PER_RPC,
          reference_url: { checked: { [obs]: `${site}/get/` }, unchecked: { [obs]: `${site}/unchecked_get/references/${obs}/` } },
          mapping_url: { checked: { [obs]: `${site}/get/` }, unchecked: { [obs]: `${site}/unchecked_get/mappings/${obs}/` } },
          config_url: { [obs]: `${site}/unchecked_get/config/${obs}/` },
          pickle_url: { [obs]: `${site}/unchecked_get/pickles/${obs}/` },
          download_metadata: s.downloadMetadata(),
          last_refreshed: historyDate(s.loadedAt),
          updated: historyDate(s.loadedAt),
        })) as RawJson;
        return new RawJson(`${base.json.slice(0, -1)},"last_synced":${JSON.stringify(historyDate(new Date()))}}`);
      },
    },

    get_default_context: {
      params: ['observatory', 'state'],
      async run([observatory, state]) {
        checkObservatory(observatory, obs);
        const s = await view.current();
        const tag = state === null || state === undefined ? 'latest' : str(state, 'state', 'UnknownContextError');
        if (tag !== 'build' && !canonicalContextState(tag)) fail('UnknownContextError', `Unknown context state '${tag}': expected latest, operational, edit, versions or build`);
        return resolverFor(s).byTag(tag);
      },
    },

    get_build_context: {
      params: ['observatory', 'calver'],
      async run([observatory, calver]) {
        checkObservatory(observatory, obs);
        const s = await view.current();
        const version = str(calver, 'calver', 'InvalidParamsError');
        const m = CALVER_RE.exec(version);
        if (!m) throw otherError(`Invalid version string '${version}', must be X.Y.Z`);
        const exact = s.builds.get(`${m[1]}.${m[2]}.${m[3]}`);
        if (exact) return exact;
        // The closest earlier patch of the same X.Y release.
        const earlier = [...s.builds.keys()]
          .filter((v) => v.startsWith(`${m[1]}.${m[2]}.`) && compareVersions(v, version) < 0)
          .sort(compareVersions);
        if (!earlier.length) fail('UnknownContextError', `No build context for calibration software version '${version}'`);
        return s.builds.get(earlier[earlier.length - 1]);
      },
    },

    get_context_by_date: {
      params: ['date', 'observatory'],
      async run([date, observatory]) {
        checkObservatory(observatory, obs);
        const s = await view.current();
        if (typeof date !== 'string') fail('InvalidDateBasedContext', `Invalid date based context ${show(date)}`);
        if (/\.[pir]map$/.test(date as string)) fail('InvalidDateBasedContext', `Context '${date}' is a file name, not a date based context`);
        return checkContext(date, obs, s, resolverFor(s));
      },
    },

    get_context_history: {
      params: ['observatory'],
      async run([observatory]) {
        checkObservatory(observatory, obs);
        const s = await view.current();
        return answers.get(s, 'context_history', () => s.history.map((h) => [historyDate(h.startDate), h.context, h.description]));
      },
    },

    get_mapping_names: {
      params: ['context'],
      async run([context]) {
        const s = await view.current();
        const contexts = (Array.isArray(context) ? context : [context]).map((c) => checkContext(c, obs, s, resolverFor(s)));
        return answers.get(s, `mapping_names:${contexts.join(' ')}`, () => {
          const names = new Set<string>();
          for (const name of contexts) for (const n of rules.mapping(name).mappingNames()) names.add(n);
          return [...names].sort();
        });
      },
    },

    get_reference_names: {
      params: ['context'],
      async run([context]) {
        const s = await view.current();
        const name = checkContext(context, obs, s, resolverFor(s));
        return answers.get(s, `reference_names:${name}`, () => [...new Set(rules.mapping(name).referenceNames())].filter((n) => n !== 'N/A').sort());
      },
    },

    list_mappings: listFiles('mapping'),
    list_references: listFiles('reference'),

    get_file_info: {
      params: ['observatory_or_context', 'filename'],
      async run([observatoryOrContext, filename]) {
        const s = await view.current();
        if (typeof observatoryOrContext === 'string' && /\.[pir]map$/.test(observatoryOrContext)) checkContext(observatoryOrContext, obs, s, resolverFor(s));
        else checkObservatory(observatoryOrContext, obs);
        const name = checkFilename(filename);
        checkAvailableFile(s, name);
        return s.files.get(name)!.info;
      },
    },

    get_file_info_map: {
      params: ['observatory', 'files', 'fields'],
      async run([observatory, files, fields]) {
        checkObservatory(observatory, obs);
        const s = await view.current();
        // The same question about the same catalog gets the same answer: kept serialized per
        // catalog snapshot (pipelines and `crds sync` ask for the same lists again and again).
        const listed = files === null || files === undefined ? null : checkStringList(files, 'files', FILE_RE, 'InvalidFileList');
        const wanted = fields === null || fields === undefined ? undefined : checkStringList(fields, 'fields', FIELD_RE, 'InvalidFieldList');
        let cache = infoMapCache.get(s);
        if (!cache) infoMapCache.set(s, (cache = new Map()));
        const key = JSON.stringify([listed, wanted ?? null]);
        const cached = key.length <= 64 * 1024 ? cache.get(key) : undefined;
        if (cached) return cached;
        const names = listed ?? [...s.files.keys()];
        const out: Record<string, Record<string, string> | string> = {};
        for (const name of names) {
          const info = s.files.get(name)?.info;
          if (!info) out[name] = 'NOT FOUND';
          else if (!wanted) out[name] = info;
          else {
            const picked: Record<string, string> = {};
            for (const f of wanted) if (f in info) picked[f] = info[f];
            out[name] = picked;
          }
        }
        if (key.length > 64 * 1024) return out;
        const raw = new RawJson(JSON.stringify(out));
        if (cache.size >= INFO_MAP_CACHE_ENTRIES) cache.clear();
        cache.set(key, raw);
        return raw;
      },
    },

    get_best_references: {
      params: ['context', 'header', 'reftypes'],
      async run([context, header, reftypes]) {
        const { pmap } = await pmapArg(context);
        const checked = checkHeader(header);
        return bestrefs(pmap, checked, checkReftypes(reftypes, typesOf(pmap), obs));
      },
    },

    get_best_references_by_header_map: {
      params: ['context', 'headers', 'reftypes'],
      async run([context, headers, reftypes]) {
        const { pmap } = await pmapArg(context);
        if (headers === null || typeof headers !== 'object' || Array.isArray(headers)) fail('InvalidHeaderError', 'headers must be an object {dataset_id: header}');
        const entries = Object.entries(headers as Record<string, unknown>);
        if (entries.length > MAX_IDS_PER_RPC) fail('InvalidDatasetIds', `Too many headers: ${entries.length} > ${MAX_IDS_PER_RPC}`);
        // The ids are echoed as the answer's keys: dataset-id sized only.
        for (const [id] of entries) if (id.length > 256) fail('InvalidDatasetIds', `Invalid dataset id ${show(id)}`);
        const types = checkReftypes(reftypes, typesOf(pmap), obs);
        const out: Record<string, [boolean, unknown]> = {};
        for (const [id, header] of entries) {
          try {
            out[id] = [true, bestrefs(pmap, checkHeader(header), types)];
          } catch (exc) {
            out[id] = [false, `FAILED: ${(exc as Error).message}`];
          }
        }
        return out;
      },
    },

    get_best_references_by_ids: {
      params: ['context', 'dataset_ids', 'reftypes', 'include_headers'],
      async run([context, datasetIds, reftypes, includeHeaders]) {
        const { pmap } = await pmapArg(context);
        const ids = checkDatasetIds(datasetIds);
        const types = checkReftypes(reftypes, typesOf(pmap), obs);
        const withHeaders = checkBoolean(includeHeaders, 'include_headers');
        const headers = await datasetHeaders(ids);
        const out: Record<string, unknown> = {};
        for (const [id, header] of headers) {
          try {
            out[id] = [true, bestrefs(pmap, header, types)];
          } catch (exc) {
            out[id] = [false, `FAILED: ${(exc as Error).message}`];
          }
        }
        for (const id of ids) if (!id.includes(':') ? ![...headers.keys()].some((k) => k.startsWith(id + ':')) : !headers.has(id)) out[id] = [false, `FAILED: dataset '${id}' not found`];
        if (withHeaders) out.headers = Object.fromEntries(headers);
        return out;
      },
    },

    get_aui_best_references: {
      params: ['date', 'dataset_ids'],
      async run([date, datasetIds]) {
        const { pmap } = await pmapArg(date);
        const ids = checkDatasetIds(datasetIds);
        const headers = await datasetHeaders(ids);
        const out: Record<string, [boolean, unknown]> = {};
        for (const id of ids) {
          const matches = [...headers.entries()].filter(([k]) => k === id || k.startsWith(id + ':'));
          if (!matches.length) {
            out[id] = [false, `FAILED: dataset '${id}' not found`];
            continue;
          }
          for (const [key, header] of matches) {
            try {
              const refs = Object.values(bestrefs(pmap, header, [])).flat().filter((r) => !r.startsWith('NOT FOUND'));
              out[key] = [true, [...new Set(refs)].sort()];
            } catch (exc) {
              out[key] = [false, `FAILED: ${(exc as Error).message}`];
            }
          }
        }
        return out;
      },
    },

    get_required_parkeys: {
      params: ['context'],
      async run([context]) {
        const s = await view.current();
        const name = checkContext(context, obs, s, resolverFor(s));
        return answers.get(s, `required_parkeys:${name}`, () => rules.mapping(name).getRequiredParkeys());
      },
    },

    get_dataset_ids: {
      params: ['context', 'instrument', 'datasets_since'],
      async run([context, instrument, datasetsSince]) {
        const { pmap } = await pmapArg(context);
        const instr = str(instrument, 'instrument', 'InvalidInstrumentError').toLowerCase();
        if (!pmap.selections.has(instr)) fail('InvalidInstrumentError', `Instrument '${instr}' is not in context '${pmap.name}'`);
        // Only datasets observed since then (the client's --datasets-since, "YYYY-MM-DD HH:MM:SS").
        if (datasetsSince !== null && datasetsSince !== undefined && (typeof datasetsSince !== 'string' || !/^\d{4}-\d\d-\d\d([ T]\d\d:\d\d(:\d\d(\.\d*)?)?)?$/.test(datasetsSince))) {
          fail('InvalidDateFormat', `Invalid datasets_since ${JSON.stringify(datasetsSince)}: expected 'YYYY-MM-DD HH:MM:SS'`);
        }
        return datasetIdsSince(db, instr, typeof datasetsSince === 'string' ? datasetsSince.replace('T', ' ') : null);
      },
    },

    get_dataset_headers_by_id: {
      params: ['context', 'dataset_ids', 'datasets_since'],
      async run([context, datasetIds]) {
        await pmapArg(context);
        const ids = checkDatasetIds(datasetIds);
        const headers = await datasetHeaders(ids);
        const out: Record<string, unknown> = Object.fromEntries(headers);
        for (const id of ids) {
          const found = id.includes(':') ? headers.has(id) : [...headers.keys()].some((k) => k.startsWith(id + ':'));
          if (!found) out[id] = `NOT FOUND dataset '${id}'`;
        }
        return out;
      },
    },

    get_affected_datasets: {
      params: ['observatory', 'old_context', 'new_context'],
      async run([observatory, oldContext, newContext]) {
        checkObservatory(observatory, obs);
        const oldSerial = serialOf(oldContext, 'old_context');
        const newSerial = serialOf(newContext, 'new_context');
        const where: Record<string, unknown> = {};
        if (oldSerial !== '*') where.oldContext = `${obs}_${oldSerial}.pmap`;
        if (newSerial !== '*') where.newContext = `${obs}_${newSerial}.pmap`;
        const row = await db.models.AffectedDatasets.findOne({ where, order: [['computationDir', 'DESC']] });
        if (!row) {
          throw otherError(`No precomputed affected datasets results exist for old_context='${oldContext ?? '*'}' and new_context='${newContext ?? '*'}'`);
        }
        const lines = row.bestrefsErr.split('\n');
        return {
          computation_dir: row.computationDir,
          observatory: obs,
          affected_ids: row.affectedIds,
          bestrefs_status: row.bestrefsStatus,
          old_context: row.oldContext,
          new_context: row.newContext,
          bestrefs_err_summary: lines.length > 1000 ? [...lines.slice(0, 500), '...', ...lines.slice(-500)].join('\n') : row.bestrefsErr,
        };
      },
    },

    push_remote_context: {
      params: ['observatory', 'kind', 'key', 'context'],
      async run([observatory, kind, key, context]) {
        checkObservatory(observatory, obs);
        const k = str(kind, 'kind', 'UnpushableContextKind');
        if (!['operational', 'latest'].includes(k)) fail('UnpushableContextKind', `Context kind '${k}' cannot be pushed: only 'latest' (or 'operational')`);
        const keyStr = str(key, 'key', 'InvalidKey');
        if (!/^[A-Za-z0-9]{8}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{4}-[A-Za-z0-9]{12}$/.test(keyStr)) fail('InvalidKey', 'Invalid remote context key.');
        const ctx = str(context, 'context', 'UnknownContextError');
        if (!/^\w+\.pmap$/.test(ctx)) fail('UnknownContextError', `Context '${ctx}' must be a .pmap name`);
        checkAvailableFile(await view.current(), ctx);
        const row = await db.models.RemoteContext.findOne({ where: { observatory: obs, key: keyStr } });
        if (!row) fail('InvalidKey', 'Invalid remote context key.');
        if (row!.context !== ctx) await row!.update({ context: ctx, kind: 'latest' });
        return null;
      },
    },

    get_remote_context: {
      params: ['observatory', 'pipeline_name'],
      async run([observatory, pipelineName]) {
        checkObservatory(observatory, obs);
        const name = str(pipelineName, 'pipeline_name', 'InvalidPipelineName');
        if (!/^[A-Za-z0-9_.\-]{1,64}$/.test(name)) fail('InvalidPipelineName', `Invalid pipeline name '${name.slice(0, 64)}'`);
        const row = await db.models.RemoteContext.findOne({ where: { observatory: obs, name } });
        if (!row) fail('InvalidPipelineName', `Unknown pipeline name '${name}'`);
        return row!.context;
      },
    },

    get_sqlite_db: {
      params: ['observatory'],
      async run([observatory]) {
        checkObservatory(observatory, obs);
        // Built once per catalog generation (its SQLite writes and compression off the event loop).
        return answers.get(await view.current(), 'sqlite_db', async () => (await sqliteSnapshot(db, obs)).toString('base64'));
      },
    },

    get_system_versions: {
      params: ['master_version', 'context'],
      async run([masterVersion, context]) {
        const version = str(masterVersion, 'master_version', 'InvalidParamsError');
        if (!/^\d+\.\d+(\.\d+)*[a-z0-9]*$/.test(version)) throw otherError(`Invalid version string, must be like '0.7.0' not '${version.slice(0, 64)}'`);
        const spec = context === null || context === undefined || ['null', 'none', 'None'].includes(String(context)) ? `${obs}-versions` : context;
        const { pmap } = await pmapArg(spec);
        // The CALVER rules select by version, then UseAfter on the observation date: the
        // versions in force now (real rmaps have one 1900-01-01 entry per version).
        const now = new Date().toISOString();
        const header = {
          'META.INSTRUMENT.NAME': 'SYSTEM',
          'META.CALIBRATION_SOFTWARE_VERSION': version,
          'META.OBSERVATION.DATE': now.slice(0, 10),
          'META.OBSERVATION.TIME': now.slice(11, 19),
        };
        const refs = bestrefs(pmap, header, ['calver']);
        const ref = refs.calver;
        if (typeof ref !== 'string' || ref.startsWith('NOT FOUND')) throw otherError(`No CALVER reference for version '${version}' in '${pmap.name}': ${String(ref)}`);
        const file = path.join(config.fileCache, 'references', obs, ref);
        if (!fs.existsSync(file)) fail('UnavailableFile', `File '${ref}' is not yet available.`);
        return JSON.parse(fs.readFileSync(file, 'utf8'));
      },
    },

    file_exists: {
      params: ['filename'],
      async run([filename]) {
        return (await view.current()).files.has(checkFilename(filename));
      },
    },

    get_url: { params: ['context', 'filename'], run: ([c, f]) => checkedUrl(c, f) },
    get_mapping_url: { params: ['context', 'mapping'], run: ([c, f]) => checkedUrl(c, f) },
    get_reference_url: { params: ['context', 'reference'], run: ([c, f]) => checkedUrl(c, f) },

    ...submissionMethods(deps),
  };

  async function checkedUrl(context: unknown, filename: unknown): Promise<string> {
    const s = await view.current();
    checkContext(context, obs, s, resolverFor(s));
    const name = checkFilename(filename);
    checkAvailableFile(s, name);
    return `${site}/get/${name}`;
  }
}

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map((x) => parseInt(x, 10) || 0);
  const pb = b.split('.').map((x) => parseInt(x, 10) || 0);
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}
