// The union of the keywords of every HDU of a FITS file read as a stream, the first value of
// a keyword kept (the real library's FitsFile.get_raw_header, which data_file.get_header
// uses for a dataset): headers are parsed as they pass, data is skipped by its size from
// BITPIX/NAXISn/PCOUNT/GCOUNT without being held, so an upload of any size costs only its headers.
import { BLOCK, cardValueStr, num, parseCards, type Card } from './fits';

/** One HDU's header may not be larger than this (the largest real headers are far smaller). */
const MAX_HEADER_BYTES = BLOCK * 200;
/** Keywords whose every card counts, joined (the real library's APPEND_KEYS); others keep their first value. */
const APPENDED = new Set(['COMMENT', 'HISTORY']);
const NOT_FITS = 'the file is not FITS (it does not start with SIMPLE)';
/** HDUs read at most; later ones are ignored. */
const MAX_HDUS = 1000;

export class FitsHeaderUnion {
  private readonly keywords = new Map<string, string>();
  private header: Buffer[] = [];
  private headerBytes = 0;
  private pending = Buffer.alloc(0);
  private skip = 0;
  private hdus = 0;
  /** Set when the stream stops making sense after the primary header: the rest is ignored. */
  private stopped = false;
  private error?: string;

  /** Feeds the next bytes of the file. */
  push(chunk: Buffer): void {
    let at = 0;
    while (at < chunk.length && !this.stopped && !this.error) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - at);
        this.skip -= n;
        at += n;
        continue;
      }
      const need = BLOCK - this.pending.length;
      const take = chunk.subarray(at, at + need);
      at += take.length;
      this.pending = this.pending.length ? Buffer.concat([this.pending, take]) : Buffer.from(take);
      if (this.pending.length === BLOCK) {
        const block = this.pending;
        this.pending = Buffer.alloc(0);
        this.block(block);
      }
    }
  }

  /**
   * The union once the whole file was pushed, with FILE_FORMAT = FITS as data_file.get_header
   * adds it; throws when not even the primary header is whole.
   */
  result(): Record<string, string> {
    if (!this.error && this.hdus === 0 && this.pending.length && !this.pending.toString('latin1').startsWith('SIMPLE  =')) this.error = NOT_FITS;
    if (this.error) throw new Error(this.error);
    if (this.hdus === 0) throw new Error(this.headerBytes || this.pending.length ? 'the primary header has no END card' : 'the file is empty');
    return { ...Object.fromEntries(this.keywords), FILE_FORMAT: 'FITS' };
  }

  private block(block: Buffer): void {
    const text = block.toString('latin1');
    if (this.hdus === 0 && this.headerBytes === 0 && !text.startsWith('SIMPLE  =')) {
      this.error = NOT_FITS;
      return;
    }
    this.header.push(block);
    this.headerBytes += BLOCK;
    let end = false;
    for (let off = 0; off < BLOCK; off += 80) if (text.slice(off, off + 8) === 'END     ') end = true;
    if (!end) {
      if (this.headerBytes >= MAX_HEADER_BYTES) this.fail(`a header has no END card in its first ${MAX_HEADER_BYTES} bytes`);
      return;
    }
    const where = `HDU ${this.hdus}`;
    let cards: Card[];
    try {
      cards = parseCards(Buffer.concat(this.header).toString('latin1'), where);
    } catch (err) {
      this.fail((err as Error).message);
      return;
    }
    this.header = [];
    this.headerBytes = 0;
    for (const card of cards) {
      if (!card.keyword) continue;
      if (APPENDED.has(card.keyword)) {
        // Commentary text (columns 9-80, trailing blanks dropped), every card's joined by newlines.
        const text = card.raw.slice(8, 80).trimEnd();
        const had = this.keywords.get(card.keyword);
        this.keywords.set(card.keyword, had === undefined ? text : `${had}\n${text}`);
      } else if (card.value !== null && !this.keywords.has(card.keyword)) this.keywords.set(card.keyword, cardValueStr(card.value));
    }
    this.hdus++;
    const size = dataBytes(cards);
    if (size === undefined || this.hdus >= MAX_HDUS) this.stopped = true;
    else this.skip = Math.ceil(size / BLOCK) * BLOCK;
  }

  /** A broken primary header is an error; a broken later one ends the reading there. */
  private fail(message: string): void {
    if (this.hdus === 0) this.error = message;
    else this.stopped = true;
  }
}

/** Bytes of an HDU's data (heap included, before padding); undefined when its cards do not say. */
function dataBytes(cards: Card[]): number | undefined {
  const get = (k: string) => cards.find((c) => c.keyword === k)?.value;
  const bitpix = num(get('BITPIX') ?? undefined);
  const naxis = num(get('NAXIS') ?? undefined);
  if (bitpix === undefined || naxis === undefined || naxis < 0 || naxis > 999) return undefined;
  if (naxis === 0) return 0;
  const axes: number[] = [];
  for (let i = 1; i <= naxis; i++) {
    const n = num(get(`NAXIS${i}`) ?? undefined);
    if (n === undefined || n < 0) return undefined;
    axes.push(n);
  }
  // Random groups: NAXIS1 = 0 and GROUPS = T leave the first axis out.
  const groups = axes[0] === 0 && get('GROUPS') === true;
  const elements = (groups ? axes.slice(1) : axes).reduce((a, b) => a * b, 1);
  const pcount = num(get('PCOUNT') ?? undefined) ?? 0;
  const gcount = num(get('GCOUNT') ?? undefined) ?? 1;
  const size = (Math.abs(bitpix) / 8) * gcount * (pcount + elements);
  return Number.isFinite(size) && size >= 0 ? size : undefined;
}
