// Z85 (ZeroMQ RFC 32/Z85), the Base85 variant PROTOCOL.md uses for deletion vector descriptors.
import { LakehouseError } from '../errors.js';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#';

const DECODE_TABLE: Int16Array = (() => {
  const table = new Int16Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) table[ALPHABET.charCodeAt(i)] = i;
  return table;
})();

/** Decodes a Z85 string (length a multiple of 5) into bytes (4 per 5 characters); throws INVALID_INPUT on a bad length, character or group value. */
export function z85Decode(s: string): Uint8Array {
  if (s.length % 5 !== 0) {
    throw new LakehouseError('INVALID_INPUT', `Z85 string length ${s.length} is not a multiple of 5`, { length: s.length });
  }
  const out = new Uint8Array((s.length / 5) * 4);
  for (let g = 0, o = 0; g < s.length; g += 5, o += 4) {
    let value = 0;
    for (let k = 0; k < 5; k++) {
      const code = s.charCodeAt(g + k);
      const digit = code < 128 ? DECODE_TABLE[code] : -1;
      if (digit < 0) {
        throw new LakehouseError('INVALID_INPUT', `invalid Z85 character ${JSON.stringify(s[g + k])} at position ${g + k}`, {
          position: g + k,
        });
      }
      value = value * 85 + digit;
    }
    if (value > 0xffffffff) {
      throw new LakehouseError('INVALID_INPUT', `Z85 group at position ${g} exceeds 32 bits`, { position: g });
    }
    out[o] = (value >>> 24) & 0xff;
    out[o + 1] = (value >>> 16) & 0xff;
    out[o + 2] = (value >>> 8) & 0xff;
    out[o + 3] = value & 0xff;
  }
  return out;
}

/** Encodes bytes (length a multiple of 4) as Z85, 5 characters per 4 bytes; throws INVALID_INPUT otherwise. */
export function z85Encode(bytes: Uint8Array): string {
  if (bytes.length % 4 !== 0) {
    throw new LakehouseError('INVALID_INPUT', `Z85 input length ${bytes.length} is not a multiple of 4`, {
      length: bytes.length,
    });
  }
  const parts: string[] = [];
  const chars = new Array<string>(5);
  for (let i = 0; i < bytes.length; i += 4) {
    let value = ((bytes[i] << 24) | (bytes[i + 1] << 16) | (bytes[i + 2] << 8) | bytes[i + 3]) >>> 0;
    for (let k = 4; k >= 0; k--) {
      chars[k] = ALPHABET[value % 85];
      value = Math.floor(value / 85);
    }
    parts.push(chars.join(''));
  }
  return parts.join('');
}

/** Z85-encodes bytes of any length by zero-padding them to a multiple of 4 (decode then truncate to the original length). */
export function z85EncodePadded(bytes: Uint8Array): string {
  if (bytes.length % 4 === 0) return z85Encode(bytes);
  const padded = new Uint8Array(Math.ceil(bytes.length / 4) * 4);
  padded.set(bytes);
  return z85Encode(padded);
}
