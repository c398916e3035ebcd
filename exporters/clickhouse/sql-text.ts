// Just enough lexing of ClickHouse SQL for the HTTP interfaces: find the
// statement boundaries, the leading keyword and a FORMAT clause while
// ignoring comments, string literals and quoted identifiers.

/** The output format named by a trailing FORMAT clause, if any (comments and strings ignored). */
export function formatOf(sql: string): string | undefined {
  const m = /\bFORMAT\s+([A-Za-z][A-Za-z0-9_]*)(?:\s+SETTINGS\b[\s\S]*)?\s*;?\s*$/i.exec(stripCommentsAndStrings(sql));
  return m ? m[1] : undefined;
}

/** Replaces comments and the insides of string literals and quoted names with spaces, keeping offsets. */
export function stripCommentsAndStrings(sql: string): string {
  let out = '';
  let i = 0;
  const n = sql.length;
  while (i < n) {
    const c = sql[i]!;
    if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? n : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '#' && (sql[i + 1] === ' ' || sql[i + 1] === '!')) {
      const end = sql.indexOf('\n', i);
      const stop = end === -1 ? n : end;
      out += ' '.repeat(stop - i);
      i = stop;
    } else if (c === '/' && sql[i + 1] === '*') {
      // ClickHouse block comments nest.
      let depth = 1;
      let j = i + 2;
      while (j < n && depth > 0) {
        if (sql[j] === '/' && sql[j + 1] === '*') { depth++; j += 2; }
        else if (sql[j] === '*' && sql[j + 1] === '/') { depth--; j += 2; }
        else j++;
      }
      out += ' '.repeat(j - i);
      i = j;
    } else if (c === "'" || c === '"' || c === '`') {
      let j = i + 1;
      while (j < n) {
        if (sql[j] === '\\') { j += 2; continue; }
        if (sql[j] === c) {
          if (sql[j + 1] === c) { j += 2; continue; }
          break;
        }
        j++;
      }
      const stop = Math.min(j + 1, n);
      out += c + ' '.repeat(Math.max(0, stop - i - 2)) + (j < n ? c : '');
      i = stop;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

/** The statements of a query text, trimmed, without the separating semicolons; empty ones dropped. */
export function splitStatements(sql: string): string[] {
  const masked = stripCommentsAndStrings(sql);
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i <= masked.length; i++) {
    if (i === masked.length || masked[i] === ';') {
      const stmt = sql.slice(start, i);
      if (stripCommentsAndStrings(stmt).trim() !== '') out.push(stmt.trim());
      start = i + 1;
    }
  }
  return out;
}

/** The first keyword of a statement, upper-case, after comments, whitespace and opening parentheses. */
export function leadingKeyword(stmt: string): string {
  const m = /^[\s(]*([A-Za-z]+)/.exec(stripCommentsAndStrings(stmt));
  return m ? m[1]!.toUpperCase() : '';
}
