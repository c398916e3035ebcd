// What the read-only HTTP interface lets through: exactly one statement that
// starts with a reading keyword, no INTO OUTFILE (chDB would write the file
// on this host even with readonly=1), and no attempt to lower `readonly`.
// Whatever passes still runs with readonly=1, so the engine itself refuses
// writes this check did not foresee.
import { leadingKeyword, splitStatements, stripCommentsAndStrings } from './sql-text.js';

export const READ_KEYWORDS = ['SELECT', 'WITH', 'SHOW', 'DESCRIBE', 'DESC', 'EXISTS', 'EXPLAIN'] as const;
const ALLOWED = new Set<string>(READ_KEYWORDS);

export interface Refusal {
  code: number;
  type: string;
  message: string;
}

export const READONLY = { code: 164, type: 'READONLY' } as const;
export const SYNTAX_ERROR = { code: 62, type: 'SYNTAX_ERROR' } as const;

export type GuardResult = { ok: true; statement: string } | { ok: false; refusal: Refusal };

/** Checks a query (URL `query` + body) and the settings sent with it. */
export function checkReadOnlyQuery(query: string, settings: Record<string, string>): GuardResult {
  for (const [k, v] of Object.entries(settings)) {
    if (k.toLowerCase() === 'readonly' && v.trim() !== '1') {
      return refuse(READONLY, "Cannot modify 'readonly' setting in readonly mode: this interface is read-only (readonly=1)");
    }
  }
  const statements = splitStatements(query);
  if (statements.length === 0) return refuse(SYNTAX_ERROR, 'Empty query');
  if (statements.length > 1) return refuse(SYNTAX_ERROR, 'Syntax error (Multi-statements are not allowed)');
  const statement = statements[0]!;
  const keyword = leadingKeyword(statement);
  if (!ALLOWED.has(keyword)) {
    return refuse(
      READONLY,
      `Cannot execute query in readonly mode: ${keyword || 'this statement'} is refused; this interface runs only ${READ_KEYWORDS.join(', ')} statements`,
    );
  }
  const masked = stripCommentsAndStrings(statement);
  if (/\bINTO\s+OUTFILE\b/i.test(masked)) return refuse(READONLY, 'Cannot execute query in readonly mode: INTO OUTFILE is refused on this interface');
  // A SETTINGS clause could try `readonly = 0`; any other value than 1 is refused.
  const re = /\breadonly\s*=\s*([^\s,)]+)/gi;
  for (let m = re.exec(masked); m; m = re.exec(masked)) {
    // The value may be a string literal, masked to spaces by the lexer: read it from the original.
    const raw = statement.slice(m.index + m[0].length - m[1]!.length).match(/^('([^']*)'|[^\s,)]+)/);
    const value = raw ? (raw[2] ?? raw[1]!) : '';
    if (value.trim() !== '1') return refuse(READONLY, "Cannot modify 'readonly' setting in readonly mode: this interface is read-only (readonly=1)");
  }
  return { ok: true, statement };
}

function refuse(kind: { code: number; type: string }, message: string): GuardResult {
  return { ok: false, refusal: { ...kind, message } };
}
