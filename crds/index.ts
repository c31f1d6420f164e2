// The CRDS rules engine: public API. Pure TypeScript, Node built-ins only.
//
// API (what teammates code against):
//   parseMapping(text, filename?) → MappingAst                     (crds/ast.ts shapes)
//   mappingChecksum(text), verifyChecksum(text, recorded, name)     (§2)
//   new MappingStore(mappingsDir, { ignoreChecksum?: boolean | 'warn' })
//     .load(name) → Mapping (PipelineContext | InstrumentContext | ReferenceMapping)
//     .loadContext(name) → PipelineContext
//   Mapping: .name, .filename, .kind ('pmap'|'imap'|'rmap'), .ast,
//     .header  raw AST values (Record<string, PyValue>, Python dict semantics),
//     .get(key, fallback?)  the real library's lower-casing header view (§1.3),
//     .mappingNames(), .referenceNames()
//   PipelineContext.getBestReferences(header, reftypes?) → Record<lowerType, result>
//     results exactly as the server's get_best_references: file name, "NOT FOUND n/a",
//     "NOT FOUND <message>"; omitted types absent. Type BestRefs = Record<string, string | string[]>:
//     an equal-weight Match-only tie (a Python tuple, HST synphot) is an array, exactly what the
//     real server's JSON carries. Throws CrdsError for a missing/unknown instrument.
//   PipelineContext.getRequiredParkeys() → { instrument: [parkeys] }
//   InstrumentContext.getRmap(type), .getBestReferences(minimizedHeader, reftypes?)
//   ReferenceMapping.getBestRef(minimizedHeader) → string | null (omitted), .lookup() throws,
//     .selector (the Selector tree), .requiredParkeys
//   conditionValue / conditionHeader (§3.2), reformatDate (§3.6)
//   naming: see crds/naming.ts
//   findDuplicateKeys(ast) → duplicate dict keys with positions (certify's check)
export * from './ast';
export * from './errors';
export { parseMapping, pyToJs, pyStr, pyRepr, pyStrRepr, pyFloatRepr, SELECTOR_NAMES } from './parser';
export { mappingChecksum, verifyChecksum, splitlinesKeepEnds } from './checksum';
export { conditionValue, conditionHeader, conditionHeaderKeys, type HeaderValue } from './conditioning';
export { reformatDate } from './timestamp';
export { HeaderExpression } from './expressions';
export { matcher, globList, esotericKey, type Matcher, type MatchStatus } from './matchers';
export {
  Selector,
  MatchSelector,
  UseAfterSelector,
  VersionAfterSelector,
  SelectVersionSelector,
  ClosestTimeSelector,
  GeometricallyNearestSelector,
  BracketSelector,
  buildSelector,
  conditionMatchKey,
  type Choice,
  type Terminal,
  type Header,
} from './selectors';
export {
  MappingStore,
  PipelineContext,
  InstrumentContext,
  ReferenceMapping,
  mappingFromText,
  minimizeHeader,
  headerView,
  isNaValue,
  isOmitValue,
  isSpecialValue,
  type Mapping,
  type MappingKind,
  type ChecksumPolicy,
  type BestRef,
  type BestRefs,
} from './mappings';
export { findDuplicateKeys, type DuplicateKey } from './duplicates';
export * from './naming';
