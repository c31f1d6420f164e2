// FITS image data (the D constraint kind: validators that look at pixel values, such as
// &KernelUnity): the pixels of one image HDU as doubles, with BSCALE/BZERO applied as astropy
// does. Bounded by the same byte budget as table reads.

import { FitsError, num, type FitsFile, type Hdu } from './fits';

export interface ImageData {
  /** numpy-order shape (slowest axis first) */
  shape: number[];
  /** the pixels in C order (last axis fastest) */
  values: Float64Array;
  /** the pixels are single-precision floats (sums accumulate in float32, as numpy does) */
  float32: boolean;
}

export function readImageData(f: FitsFile, hdu: Hdu): ImageData {
  if (hdu.kind !== 'PRIMARY' && hdu.kind !== 'IMAGE') throw new FitsError(`${f.basename}: HDU ${hdu.index} is not an image`);
  const bitpix = num(hdu.get('BITPIX'));
  const count = hdu.shape.reduce((a, b) => a * b, hdu.shape.length ? 1 : 0);
  const bytesPer = Math.abs(bitpix ?? 0) / 8;
  const data = f.readData(hdu);
  if (data.length < count * bytesPer) throw new FitsError(`${f.basename}: HDU ${hdu.index}: file is truncated inside its data`);
  const bscale = num(hdu.get('BSCALE')) ?? 1;
  const bzero = num(hdu.get('BZERO')) ?? 0;
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const p = i * bytesPer;
    let v: number;
    switch (bitpix) {
      case 8:
        v = data.readUInt8(p);
        break;
      case 16:
        v = data.readInt16BE(p);
        break;
      case 32:
        v = data.readInt32BE(p);
        break;
      case 64:
        v = Number(data.readBigInt64BE(p));
        break;
      case -32:
        v = data.readFloatBE(p);
        break;
      case -64:
        v = data.readDoubleBE(p);
        break;
      default:
        throw new FitsError(`${f.basename}: HDU ${hdu.index}: invalid BITPIX ${bitpix}`);
    }
    values[i] = bscale !== 1 || bzero !== 0 ? v * bscale + bzero : v;
  }
  return { shape: hdu.shape, values, float32: hdu.dtype === 'float32' };
}
