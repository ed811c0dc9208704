import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** A signed reference to one file of one table. */
export interface SignedFile {
  table: string;
  /** Path of the file relative to the table root (`/`-separated, not percent-encoded). */
  path: string;
  /** Expiry, epoch seconds. */
  exp: number;
}

/** Signs and verifies file URLs with HMAC-SHA256; a URL covers exactly one file of one table until it expires. */
export class UrlSigner {
  constructor(private readonly key: Buffer) {}

  /** A new random signing key, hex. */
  static newKey(): string {
    return randomBytes(32).toString('hex');
  }

  private mac(f: SignedFile): Buffer {
    return createHmac('sha256', this.key).update(`${f.table}\n${f.path}\n${f.exp}`).digest();
  }

  /** The URL path + query of a signed file: `/files/<layer>/<domain>/<table>/<path>?exp=..&sig=..`. */
  url(f: SignedFile): string {
    const tablePath = f.table.split('.').join('/');
    const filePath = f.path.split('/').map(encodeURIComponent).join('/');
    return `/files/${tablePath}/${filePath}?exp=${f.exp}&sig=${this.mac(f).toString('base64url')}`;
  }

  /** True when `sig` is the signature of the file and it has not expired at `nowSeconds`. */
  verify(f: SignedFile, sig: string, nowSeconds: number): 'ok' | 'expired' | 'invalid' {
    const expected = this.mac(f);
    let given: Buffer;
    try {
      given = Buffer.from(sig, 'base64url');
    } catch {
      return 'invalid';
    }
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
    return f.exp < nowSeconds ? 'expired' : 'ok';
  }
}
