// ASDF and YAML reference trees for certify. An ASDF file is a YAML 1.1 document (the tree)
// followed by binary blocks; only the YAML part is read: the file is streamed until the
// document end marker ("...") or the first block magic, within a size limit. Parsing uses the
// `yaml` package (already a dependency, maintained, spec-complete); custom tags (!core/ndarray-
// 1.0.0, asdf://stsci.edu/...) are kept on the values under the TAG symbol, and aliases are
// expanded by our own walk with a node budget, so a "billion laughs" YAML bomb fails fast
// instead of exhausting memory.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { isAlias, isMap, isScalar, isSeq, parseDocument, visit, type Document, type Node as YamlNode } from 'yaml';

export const TAG: unique symbol = Symbol('yaml-tag');
export type TreeValue = string | number | bigint | boolean | null | Date | TreeValue[] | { [key: string]: TreeValue; [TAG]?: string };

export class AsdfError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AsdfError';
  }
}

/** Largest YAML tree read (real ASDF references have trees of a few hundred KB). */
export const MAX_TREE_BYTES = 64 * 1024 * 1024;
/** Largest number of nodes produced, aliases expanded. */
export const MAX_TREE_NODES = 1_000_000;

const BLOCK_MAGIC = Buffer.from([0xd3, 0x42, 0x4c, 0x4b]);

/** The YAML text of an ASDF file, and its #ASDF_STANDARD version. */
export function readAsdfYaml(filepath: string): { yaml: string; standardVersion?: string; fileVersion?: string; treeEnd: number } {
  const name = path.basename(filepath);
  const fd = fs.openSync(filepath, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    let pos = 0;
    const chunk = Buffer.alloc(64 * 1024);
    let end = -1;
    let carry = Buffer.alloc(0);
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, chunk.length, pos);
      if (n === 0) break;
      const piece = Buffer.from(chunk.subarray(0, n));
      // search the end marker across chunk boundaries
      const window = Buffer.concat([carry, piece]);
      const endDoc = window.indexOf('\n...\n');
      const magic = window.indexOf(BLOCK_MAGIC);
      const cut = [endDoc >= 0 ? endDoc + 5 : -1, magic].filter((x) => x >= 0);
      chunks.push(piece);
      total += n;
      pos += n;
      if (cut.length) {
        end = total - window.length + Math.min(...cut);
        break;
      }
      if (total > MAX_TREE_BYTES) throw new AsdfError(`${name}: ASDF tree larger than ${MAX_TREE_BYTES} bytes`);
      carry = window.subarray(Math.max(0, window.length - 8));
    }
    const all = Buffer.concat(chunks);
    const text = all.subarray(0, end >= 0 ? end : all.length).toString('utf8');
    if (!text.startsWith('#ASDF ')) throw new AsdfError(`${name}: does not start with an #ASDF header line`);
    const fileVersion = /^#ASDF (\S+)/.exec(text)?.[1];
    const standardVersion = /^#ASDF_STANDARD (\S+)/m.exec(text)?.[1];
    if (!/^---/m.test(text)) {
      if (end < 0 && total === 0) throw new AsdfError(`${name}: empty file`);
      throw new AsdfError(`${name}: no YAML tree (no '---' document start)`);
    }
    if (end < 0) throw new AsdfError(`${name}: YAML tree not terminated by '...' (truncated file?)`);
    return { yaml: text, standardVersion, fileVersion, treeEnd: end };
  } finally {
    fs.closeSync(fd);
  }
}

function parseYamlText(text: string, name: string): TreeValue {
  let doc: Document;
  try {
    doc = parseDocument(text, { version: '1.1', uniqueKeys: false, prettyErrors: false, strict: false });
  } catch (e) {
    throw new AsdfError(`${name}: invalid YAML: ${(e as Error).message}`);
  }
  if (doc.errors.length) throw new AsdfError(`${name}: invalid YAML: ${doc.errors[0].message.split('\n')[0]}`);
  // Anchors resolved through one map (Alias.resolve searches the whole document each time).
  const anchors = new Map<string, unknown>();
  visit(doc, {
    Node(_key, node) {
      const a = (node as { anchor?: string }).anchor;
      if (a) anchors.set(a, node);
    },
  });
  let budget = MAX_TREE_NODES;
  const toJs = (node: unknown, depth: number): TreeValue => {
    if (--budget < 0) throw new AsdfError(`${name}: YAML tree expands to more than ${MAX_TREE_NODES} nodes (alias bomb?)`);
    if (depth > 1000) throw new AsdfError(`${name}: YAML tree nested deeper than 1000 levels`);
    if (node === null || node === undefined) return null;
    if (isAlias(node)) return toJs(anchors.get(node.source), depth + 1);
    if (isScalar(node)) {
      const v = node.value;
      if (v === null || v === undefined) return null;
      // !time/time-x scalars: the asdf library gives an astropy Time, which certify prints as
      // 'YYYY-MM-DDTHH:MM:SS' (microseconds only when not zero)
      if (typeof v === 'string' && node.tag && /\/time-\d/.test(node.tag)) {
        const t = /^(\d{4}-\d\d-\d\d)[T ](\d\d:\d\d:\d\d)(?:\.(\d+))?/.exec(v.trim());
        if (t) return `${t[1]}T${t[2]}${t[3] && Number(t[3]) !== 0 ? `.${t[3].padEnd(6, '0').slice(0, 6)}` : ''}`;
      }
      if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v;
      if (v instanceof Date) return v;
      return String(v);
    }
    if (isSeq(node)) return node.items.map((x) => toJs(x, depth + 1));
    if (isMap(node)) {
      const out: { [k: string]: TreeValue; [TAG]?: string } = {};
      for (const pair of node.items) {
        const k = isScalar(pair.key) ? pair.key.value : pair.key;
        if (typeof k !== 'string' && typeof k !== 'number' && typeof k !== 'boolean') continue; // non-string keys are skipped by the real tool too
        out[String(k)] = toJs(pair.value, depth + 1);
      }
      if ((node as YamlNode).tag) out[TAG] = (node as YamlNode).tag;
      return out;
    }
    return null;
  };
  return toJs(doc.contents, 0);
}

/** The tree of an ASDF file, with its ASDF Standard version. */
export function readAsdfTree(filepath: string): { tree: TreeValue; standardVersion?: string } {
  const { yaml, standardVersion, treeEnd } = readAsdfYaml(filepath);
  const tree = parseYamlText(yaml, path.basename(filepath));
  checkBlockHeaders(filepath, treeEnd);
  return { tree, standardVersion };
}

/**
 * The binary block headers after the tree, as the asdf library reads them when it opens a file
 * (its data is read lazily): a header the file holds only in part fails the open with the
 * words of Python's struct.unpack_from. Each header is 48 bytes (flags, compression,
 * allocated_size, used_size, data_size, checksum); the walk steps over allocated_size.
 */
function checkBlockHeaders(filepath: string, start: number): void {
  const fd = fs.openSync(filepath, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    // the first block starts at the first block magic after the tree (padding may come between)
    const gap = Buffer.alloc(Math.max(0, Math.min(64 * 1024, size - start)));
    const first = gap.subarray(0, fs.readSync(fd, gap, 0, gap.length, start)).indexOf(BLOCK_MAGIC);
    if (first < 0) return;
    let pos = start + first;
    for (let n = 0; n < 100_000 && pos < size; n++) {
      const lead = Buffer.alloc(6);
      const got = fs.readSync(fd, lead, 0, 6, pos);
      if (got < 4 || !lead.subarray(0, 4).equals(BLOCK_MAGIC)) return; // block index or other trailing content
      const headerSize = got === 6 ? lead.readUInt16BE(4) : 0;
      const want = Math.max(48, headerSize);
      const header = Buffer.alloc(want);
      const held = got === 6 ? fs.readSync(fd, header, 0, want, pos + 6) : 0;
      if (held < 48) {
        throw new AsdfError(`unpack_from requires a buffer of at least 48 bytes for unpacking 48 bytes at offset 0 (actual buffer size is ${held})`);
      }
      const allocated = Number(header.readBigUInt64BE(8));
      pos += 6 + headerSize + allocated;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/** The tree of a plain YAML reference file. */
export function readYamlTree(filepath: string): TreeValue {
  const st = fs.statSync(filepath);
  if (st.size > MAX_TREE_BYTES) throw new AsdfError(`${path.basename(filepath)}: YAML file larger than ${MAX_TREE_BYTES} bytes`);
  return parseYamlText(fs.readFileSync(filepath, 'utf8'), path.basename(filepath));
}
