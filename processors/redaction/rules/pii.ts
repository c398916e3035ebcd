// The `pii` pack. Patterns find candidates; validators (validators.ts) reject
// look-alikes, so a pattern may be looser than the format it stands for.
// `\b` is in the patterns themselves (not only in the post-match boundary
// check) so that the RE2.Set prefilter already skips digit runs inside longer
// numbers and identifiers.
import type { RuleSpec } from './types.js';

const OCTET = '(?:25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])';
const H = '[0-9a-fA-F]{1,4}';

export const piiRules: RuleSpec[] = [
  {
    name: 'email',
    type: 'email',
    // Up to a dot and two letters after the @: `app@sha256:…`, `pkg@2.1.0`
    // and other non-addresses in clean text stop at the Set.
    prefilter: '[\\p{L}\\p{N}._%+\\-]@[\\p{L}\\p{N}][\\p{L}\\p{N}\\-.]*\\.\\p{L}\\p{L}',
    // Letters beyond ASCII in the local part and the domain (jürgen@, IDNs);
    // no leading \\b, which RE2 computes on ASCII only.
    // Unbounded repeats: counted repeats of Unicode classes blow RE2's
    // program up (an exec went from 12 µs to 420 µs).
    pattern: '[\\p{L}\\p{N}][\\p{L}\\p{N}._%+\\-]*@(?:[\\p{L}\\p{N}][\\p{L}\\p{N}\\-]*\\.)+\\p{L}\\p{L}+\\b',
    keywords: ['@'],
    validator: 'email',
    boundary: 'word',
    priority: 40,
  },
  {
    // E.164 with optional separators, and North American / European national
    // formats written with separators (bare digit runs are too ambiguous).
    name: 'phone',
    type: 'phone',
    // The character before `+` or a leading 0 is part of the prefilter so
    // that base64 (`ab+1c`) and ISO dates (`2024-05-01 12:00`) are not
    // candidates; it allows everything the boundary check allows.
    prefilter:
      '(?:^|[^0-9A-Za-z_])\\+[1-9][0-9]*[ .\\-]?(?:\\([0-9]+\\)[ .\\-]?)?[0-9]+[ .\\-]?[0-9][0-9]' +
      '|\\([2-9][0-9][0-9]\\)|\\b[2-9][0-9][0-9][.\\-][0-9][0-9][0-9][.\\-]' +
      '|(?:^|[^0-9A-Za-z_\\-]|[^0-9A-Za-z]-)0[1-9][0-9]*[ \\-/][0-9][0-9]',
    pattern:
      '(?:\\+[1-9][0-9]{0,2}[ .\\-]?(?:\\([0-9]{1,4}\\)[ .\\-]?)?[0-9]{1,4}(?:[ .\\-]?[0-9]{2,4}){1,4}\\b' +
      '|\\([2-9][0-9]{2}\\) ?[0-9]{3}[ .\\-][0-9]{4}\\b' +
      '|\\b[2-9][0-9]{2}[.\\-][0-9]{3}[.\\-][0-9]{4}\\b' +
      // National, leading 0: at least 9 digits, so never a date like 08-06.
      '|\\b0[1-9][0-9]{0,3}(?:[ \\-/][0-9]{6,8}(?:[ \\-][0-9]{2,4}){0,3}|[ \\-/][0-9]{2,5}(?:[ \\-][0-9]{2,4}){1,4})\\b)',
    validator: 'phone',
    boundary: 'number',
    priority: 30,
  },
  {
    name: 'credit_card',
    type: 'credit_card',
    // Thirteen digits at least: ids and hex trace ids that start with a few
    // digits stop at the Set.
    prefilter: '\\b[2-6][0-9][0-9][0-9](?:[ \\-]?[0-9]){9}',
    pattern: '\\b[2-6][0-9]{3}(?:[ \\-]?[0-9]){9,15}\\b',
    validator: 'luhn',
    boundary: 'number',
    priority: 55,
  },
  {
    name: 'ssn',
    type: 'ssn',
    // Areas 000 and 666 are never issued (the validator rejects them too).
    prefilter: '\\b(?:0(?:0[1-9]|[1-9][0-9])|[1-578][0-9][0-9]|6(?:[0-57-9][0-9]|6[0-57-9]))(?:-[0-9][0-9]-| [0-9][0-9] )[0-9]',
    pattern: '\\b[0-8][0-9]{2}(?:-[0-9]{2}-| [0-9]{2} )[0-9]{4}\\b',
    validator: 'ssn',
    boundary: 'number',
    priority: 45,
  },
  {
    name: 'iban',
    type: 'iban',
    prefilter: '\\b[A-Z][A-Z][0-9][0-9] ?[A-Z0-9][A-Z0-9][A-Z0-9][A-Z0-9]',
    pattern: '\\b[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?\\b',
    validator: 'iban',
    boundary: 'word',
    // Above credit_card: a mod-97-valid IBAN often contains a Luhn-valid run.
    priority: 60,
  },
  {
    name: 'ipv4',
    type: 'ipv4',
    prefilter: '\\b[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]',
    pattern: `\\b${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}\\b`,
    validator: 'ipv4',
    boundary: 'number',
    priority: 35,
  },
  {
    // Eight groups, or a `::` compression (optionally ending in dotted IPv4
    // or a zone); the validator parses it to decide whether it is an address.
    name: 'ipv6',
    type: 'ipv6',
    prefilter: '[0-9a-fA-F]::|::[0-9a-fA-F]|[0-9a-fA-F]:[0-9a-fA-F]+:[0-9a-fA-F]+:[0-9a-fA-F]+:[0-9a-fA-F]+:[0-9a-fA-F]+:[0-9a-fA-F]+:[0-9a-fA-F]',
    pattern:
      `(?:\\b(?:${H}:){7}${H}\\b` +
      `|\\b${H}(?::${H}){0,6}::(?:${H}(?::${H}){0,6})?` +
      `|::${H}(?::${H}){0,6})` +
      `(?:(?:\\.[0-9]{1,3}){3}|%[0-9A-Za-z]{1,15})?`,
    validator: 'ipv6',
    boundary: 'word',
    priority: 35,
  },
];
