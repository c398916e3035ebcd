// Validators run only on matches (rare), so they favour clarity over speed.
// Each answers "is this candidate really the thing?": checksums (Luhn,
// mod-97), number plans (SSN areas), structure (JWT header, IP ranges) and
// randomness (Shannon entropy) reject the look-alikes a pattern cannot.
import RE2 from 're2';
import type { ValidatorName } from './rules/types.js';

// Invariant 5: telemetry only meets RE2, even inside validators. Most
// checks here are plain character loops instead: node-re2 copies a string
// argument into a fresh Buffer on every call, which costs more than the
// check. The few RE2 checks left get a reused UTF-8 buffer.
const re = (pattern: string, flags = ''): RE2 => new RE2(pattern, flags);
let scratch = Buffer.allocUnsafe(4096);
function re2test(r: RE2, s: string): boolean {
  if (s.length * 3 > scratch.length) scratch = Buffer.allocUnsafe(s.length * 3);
  const n = scratch.write(s, 0, 'utf8');
  return r.test(scratch.subarray(0, n));
}

/** Splits on any of the given characters (no regex). */
function splitOn(s: string, seps: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    if (seps.includes(s[i]!)) {
      out.push(s.slice(from, i));
      from = i + 1;
    }
  }
  out.push(s.slice(from));
  return out;
}

/**
 * Whether a matched (or grouped) value is the real thing; `minEntropy` is the
 * rule's option for the entropy family. Positional, not an options object:
 * it runs on every candidate, and an object per call is garbage on the
 * flagged path.
 */
export type Validator = (value: string, minEntropy?: number) => boolean;

export function digitsOf(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) out += s[i];
  }
  return out;
}


function allSame(s: string): boolean {
  for (let i = 1; i < s.length; i++) if (s[i] !== s[0]) return false;
  return true;
}

export function luhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return sum % 10 === 0;
}

/** Card numbers: 13–19 digits, Luhn-valid, grouped consistently when grouped. */
export function isCardNumber(value: string): boolean {
  const digits = digitsOf(value);
  if (digits.length < 13 || digits.length > 19) return false;
  if (!luhn(digits)) return false;
  if (allSame(digits)) return false;
  const groups = splitOn(value, ' -');
  if (groups.length > 1) {
    // 4-4-4-4(-3), Amex 4-6-5, Diners 4-6-4; anything else is some other number.
    const sizes = groups.map((g) => g.length).join(',');
    const fours = groups.slice(0, -1).every((g) => g.length === 4) && groups[groups.length - 1]!.length >= 1 && groups[groups.length - 1]!.length <= 4;
    if (!fours && sizes !== '4,6,5' && sizes !== '4,6,4') return false;
    if (value.includes(' ') && value.includes('-')) return false;
  }
  return true;
}

export function ibanMod97(value: string): boolean {
  const s = value.split(' ').join('').toUpperCase();
  const len = IBAN_LENGTHS[s.slice(0, 2)];
  if (len === undefined || s.length !== len) return false;
  const rearranged = s.slice(4) + s.slice(0, 4);
  let rem = 0;
  for (let i = 0; i < rearranged.length; i++) {
    const c = rearranged.charCodeAt(i);
    if (c >= 48 && c <= 57) rem = (rem * 10 + (c - 48)) % 97;
    else if (c >= 65 && c <= 90) rem = (rem * 100 + (c - 55)) % 97;
    else return false;
  }
  return rem === 1;
}

// Registry lengths (SWIFT IBAN registry) for the countries that issue IBANs.
const IBAN_LENGTHS: Record<string, number> = {
  AD: 24, AE: 23, AL: 28, AT: 20, AZ: 28, BA: 20, BE: 16, BG: 22, BH: 22, BR: 29, BY: 28, CH: 21, CR: 22, CY: 28, CZ: 24,
  DE: 22, DK: 18, DO: 28, EE: 20, EG: 29, ES: 24, FI: 18, FO: 18, FR: 27, GB: 22, GE: 22, GI: 23, GL: 18, GR: 27, GT: 28,
  HR: 21, HU: 28, IE: 22, IL: 23, IQ: 23, IS: 26, IT: 27, JO: 30, KW: 30, KZ: 20, LB: 28, LC: 32, LI: 21, LT: 20, LU: 20,
  LV: 21, MC: 27, MD: 24, ME: 22, MK: 19, MR: 27, MT: 31, MU: 30, NL: 18, NO: 15, PK: 24, PL: 28, PS: 29, PT: 25, QA: 29,
  RO: 24, RS: 22, SA: 24, SC: 31, SE: 24, SI: 19, SK: 24, SM: 27, ST: 25, SV: 28, TL: 23, TN: 24, TR: 26, UA: 29, VA: 22,
  VG: 24, XK: 20,
};

/** US SSN: area not 000, 666 or 9xx; group not 00; serial not 0000. */
export function isSsn(value: string): boolean {
  const d = digitsOf(value);
  if (d.length !== 9) return false;
  const area = d.slice(0, 3);
  if (area === '000' || area === '666' || area[0] === '9') return false;
  if (d.slice(3, 5) === '00' || d.slice(5) === '0000') return false;
  return true;
}

export function isIpv4(value: string): boolean {
  const parts = value.split('.');
  if (parts.length !== 4) return false;
  for (const p of parts) {
    if (p.length > 1 && p[0] === '0') return false;
    const n = Number(p);
    if (!Number.isInteger(n) || n > 255) return false;
  }
  // 0.0.0.0 and the like are placeholders, not someone's address.
  return value !== '0.0.0.0' && value !== '255.255.255.255';
}


/**
 * RFC 4291 text form: eight groups of 1–4 hex digits, or fewer around one
 * `::`, optionally ending in dotted IPv4, optionally a `%zone`. Parsed by
 * hand: node:net's isIPv6 runs a V8 RegExp, and invariant 5 keeps those off
 * telemetry.
 */
function isIPv6(value: string): boolean {
  const pct = value.indexOf('%');
  const addr = pct >= 0 ? value.slice(0, pct) : value;
  if (pct >= 0 && pct === value.length - 1) return false;
  const dbl = addr.indexOf('::');
  if (dbl >= 0 && addr.indexOf('::', dbl + 1) >= 0) return false;
  const parts = (s: string): string[] | undefined => (s === '' ? [] : s.split(':'));
  const head = parts(dbl >= 0 ? addr.slice(0, dbl) : addr);
  const tail = dbl >= 0 ? parts(addr.slice(dbl + 2)) : [];
  if (!head || !tail) return false;
  const groups = [...head, ...tail];
  let count = 0;
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i]!;
    if (i === groups.length - 1 && g.includes('.')) {
      if (!isIpv4Loose(g)) return false;
      count += 2;
      continue;
    }
    if (g.length < 1 || g.length > 4 || !every(g, isHexC)) return false;
    count++;
  }
  return dbl >= 0 ? count <= 7 : count === 8;
}

function isIpv4Loose(s: string): boolean {
  const p = s.split('.');
  return p.length === 4 && p.every((x) => x.length >= 1 && x.length <= 3 && every(x, isDigitC) && Number(x) <= 255);
}

export function isIpv6Address(value: string): boolean {
  if (!isIPv6(value)) return false;
  // An address has at least two non-empty groups (`::1` and `::` are not anyone's).
  const groups = splitOn(value.split('%')[0]!, ':.').filter((g) => g.length > 0);
  return groups.length >= 2;
}

export function isPhone(value: string): boolean {
  const d = digitsOf(value);
  if (value.startsWith('+')) return d.length >= 10 && d.length <= 15;
  if (value.startsWith('0')) return d.length >= 9 && d.length <= 12;
  // North American: 10 digits, area code starts 2–9.
  return d.length === 10 && d[0] !== '0' && d[0] !== '1';
}

const IMAGE_OR_FILE_TLD = new Set(['png', 'jpg', 'jpeg', 'gif', 'svg', 'webp', 'ico', 'js', 'ts', 'css', 'map', 'json', 'lock', 'txt', 'md']);

export function isEmail(value: string): boolean {
  const at = value.lastIndexOf('@');
  const tld = value.slice(value.lastIndexOf('.') + 1).toLowerCase();
  // logo@2x.png, chunk@1.2.3.js: asset names, not addresses.
  if (IMAGE_OR_FILE_TLD.has(tld)) return false;
  return at > 0 && !value.slice(at + 1).startsWith('-');
}

function base64UrlDecode(s: string): string | undefined {
  try {
    return Buffer.from(s, 'base64url').toString('utf8');
  } catch {
    return undefined;
  }
}

/** A JWT's header decodes to a JSON object naming its algorithm or type. */
export function isJwt(value: string): boolean {
  const [header, payload] = value.split('.');
  if (!header || !payload) return false;
  const h = base64UrlDecode(header);
  if (!h) return false;
  try {
    const parsed: unknown = JSON.parse(h);
    return typeof parsed === 'object' && parsed !== null && ('alg' in parsed || 'typ' in parsed);
  } catch {
    return false;
  }
}

/** Shannon entropy in bits per character. */
export function shannonEntropy(s: string): number {
  if (s.length === 0) return 0;
  // ASCII (nearly every candidate) counts into a reused table.
  let ascii = true;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 128) {
      ascii = false;
      break;
    }
    ASCII_COUNTS[c]!++;
  }
  let h = 0;
  if (ascii) {
    for (let i = 0; i < s.length; i++) {
      const n = ASCII_COUNTS[s.charCodeAt(i)]!;
      if (n === 0) continue; // already counted
      const p = n / s.length;
      h -= p * Math.log2(p);
      ASCII_COUNTS[s.charCodeAt(i)] = 0;
    }
    return h;
  }
  ASCII_COUNTS.fill(0);
  const counts = new Map<number, number>();
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    counts.set(c, (counts.get(c) ?? 0) + 1);
  }
  for (const n of counts.values()) {
    const p = n / s.length;
    h -= p * Math.log2(p);
  }
  return h;
}
const ASCII_COUNTS = new Int32Array(128);

// Character-class checks are plain loops: no regex, and no native call per check.
function every(s: string, ok: (c: number) => boolean): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) if (!ok(s.charCodeAt(i))) return false;
  return true;
}
const isHexC = (c: number) => (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
const isDigitC = (c: number) => c >= 48 && c <= 57;
const isLetterC = (c: number) => (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
const HEX = { test: (s: string) => every(s, isHexC) };
const DIGITS = { test: (s: string) => every(s, isDigitC) };
const LETTERS = { test: (s: string) => every(s, isLetterC) };
const HAS_DIGIT = { test: (s: string) => !every(s, (c) => !isDigitC(c)) };
const UUID = {
  test: (s: string) => s.length === 36 && every(s, (c) => isHexC(c) || c === 45) && s[8] === '-' && s[13] === '-' && s[18] === '-' && s[23] === '-',
};
// Words joined by separators (identifiers, paths, file names), not random.
const PLACEHOLDER_RE = re('^(?:x+|\\*+|\\.+|<[^>]*>|\\$\\{[^}]*\\}|your[_-].*|changeme|redacted|null|undefined|none|example.*)$', 'i');
const PLACEHOLDER = { test: (s: string) => re2test(PLACEHOLDER_RE, s) };
const isLowerC = (c: number) => c >= 97 && c <= 122;
// Lowercase words joined by _ . - / (identifiers, paths, file names), not random.
const WORDY = {
  test: (s: string) => {
    // Every segment between separators non-empty and all lowercase.
    let len = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c === 95 || c === 46 || c === 45 || c === 47) {
        if (len === 0) return false;
        len = 0;
      } else if (isLowerC(c)) len++;
      else return false;
    }
    return len > 0;
  },
};
const isB64C = (c: number) => isLetterC(c) || isDigitC(c) || c === 43 || c === 47 || c === 95 || c === 45;
const BASE64 = {
  test: (s: string) => {
    let end = s.length;
    while (end > 0 && s[end - 1] === '=' && s.length - end < 2) end--;
    return every(s.slice(0, end), isB64C);
  },
};
function trimTrailing(s: string, chars: string): string {
  let end = s.length;
  while (end > 0 && chars.includes(s[end - 1]!)) end--;
  return s.slice(0, end);
}
const CONTROL = { test: (s: string) => !every(s, (c) => c >= 32 && c !== 0xfffd) };

function hasClassMix(s: string): boolean {
  let lower = false;
  let upper = false;
  let digit = false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 97 && c <= 122) lower = true;
    else if (c >= 65 && c <= 90) upper = true;
    else if (c >= 48 && c <= 57) digit = true;
  }
  return (lower ? 1 : 0) + (upper ? 1 : 0) + (digit ? 1 : 0) >= 2;
}

/**
 * A value introduced by `api_key=`, `token:` ...: random-looking enough to be
 * a credential. UUIDs, hex digests, numbers, identifiers and placeholders are
 * not: they are what such keys hold in ordinary telemetry (ids, versions).
 */
export function isGenericSecret(value: string, minEntropy = 3.5): boolean {
  const v = trimTrailing(value, '.=');
  if (v.length < 16) return false;
  // Stripe publishable keys are public by design.
  if (v.startsWith('pk_live_') || v.startsWith('pk_test_')) return false;
  // Cheap loops first; the RE2 checks only for what is left.
  if (!hasClassMix(v) || UUID.test(v) || HEX.test(v) || DIGITS.test(v) || camelIdentifier(v)) return false;
  if (shannonEntropy(v) < minEntropy) return false;
  return !(identifierLike(v) || encodedText(value) || PLACEHOLDER.test(v) || WORDY.test(v));
}

/** getAccessTokenFromCache: letters only, capitals never adjacent and sparse. */
function camelIdentifier(v: string): boolean {
  let upper = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    const isUpper = c >= 65 && c <= 90;
    if (!isUpper && !(c >= 97 && c <= 122)) return false;
    if (isUpper) {
      upper++;
      const n = v.charCodeAt(i + 1);
      if (n >= 65 && n <= 90) return false;
    }
  }
  return upper * 4 <= v.length;
}

/** projects/acme-prod/secrets/db-password/versions/3, ingest-deployment-5f7c9-x2x: no capitals, word segments. */
function identifierLike(v: string): boolean {
  // Segments between - _ / . : at least 3, of which 2 are letters only and 3 or more long.
  let parts = 1;
  let words = 0;
  let len = 0;
  let letters = true;
  for (let i = 0; i <= v.length; i++) {
    const c = i < v.length ? v.charCodeAt(i) : -1;
    if (c >= 65 && c <= 90) return false;
    if (c === -1 || c === 45 || c === 95 || c === 47 || c === 46) {
      if (letters && len >= 3) words++;
      if (c !== -1) parts++;
      len = 0;
      letters = true;
    } else {
      len++;
      if (!isLetterC(c)) letters = false;
    }
  }
  return parts >= 3 && words >= 2;
}

/** Base64 of readable text (a cursor, a JSON page token) is data, not a key. */
function encodedText(v: string): boolean {
  if (v.length % 4 !== 0 || !BASE64.test(v)) return false;
  const bytes = Buffer.from(v, 'base64');
  if (bytes.length < 8) return false;
  let printable = 0;
  for (const b of bytes) if ((b >= 32 && b < 127) || b === 9 || b === 10) printable++;
  return printable === bytes.length;
}

/** A password value that is not a placeholder (`********`, `<password>`, `${DB_PASSWORD}`). */
export function isPassword(value: string): boolean {
  return !PLACEHOLDER.test(value);
}

export function isAwsSecret(value: string): boolean {
  return value.length === 40 && !HEX.test(value) && hasClassMix(value) && shannonEntropy(value) >= 4;
}

/** A bearer credential, not prose ("bearer authentication") or a placeholder. */
export function isBearer(value: string): boolean {
  if (PLACEHOLDER.test(value)) return false;
  if (LETTERS.test(value)) return false;
  return value.length >= 16 || (HAS_DIGIT.test(value) && shannonEntropy(value) >= 3);
}

/** `Basic <base64(user:password)>`. */
export function isBasicAuth(value: string): boolean {
  let decoded: string;
  try {
    decoded = Buffer.from(value, 'base64').toString('utf8');
  } catch {
    return false;
  }
  const colon = decoded.indexOf(':');
  return colon > 0 && colon < decoded.length - 1 && !CONTROL.test(decoded);
}

export function entropyAtLeast(value: string, minEntropy = 3.5): boolean {
  return shannonEntropy(value) >= minEntropy;
}

export const validators: Record<ValidatorName, Validator> = {
  luhn: (value) => isCardNumber(value),
  iban: (value) => ibanMod97(value),
  ssn: (value) => isSsn(value),
  ipv4: (value) => isIpv4(value),
  ipv6: (value) => isIpv6Address(value),
  phone: (value) => isPhone(value),
  email: (value) => isEmail(value),
  jwt: (value) => isJwt(value),
  entropy: (value, minEntropy) => entropyAtLeast(value, minEntropy),
  basic_auth: (value) => isBasicAuth(value),
  bearer: (value) => isBearer(value),
  generic_secret: (value, minEntropy) => isGenericSecret(value, minEntropy),
  aws_secret: (value) => isAwsSecret(value),
  password: (value) => isPassword(value),
};

export const validatorNames = Object.keys(validators) as ValidatorName[];
