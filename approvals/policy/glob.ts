// Globs become anchored RE2 expressions, so user-written name patterns run in
// linear time like every other pattern (invariant 5). Supported: `*` (any run
// of characters, `.` and `/` included), `?` (one character), `[abc]` / `[!abc]`
// (a class), `{a,b}` (alternatives), `\x` (a literal x).

const META = new Set(['\\', '^', '$', '.', '|', '?', '*', '+', '(', ')', '[', ']', '{', '}']);

export function globToRe2Source(glob: string): string {
  let out = '^';
  let depth = 0;
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '\\' && i + 1 < glob.length) {
      out += escapeChar(glob[++i] as string);
    } else if (c === '*') {
      out += '.*';
    } else if (c === '?') {
      out += '.';
    } else if (c === '[') {
      const end = glob.indexOf(']', i + 2);
      if (end < 0) {
        out += '\\[';
        continue;
      }
      let body = glob.slice(i + 1, end);
      if (body.startsWith('!')) body = '^' + body.slice(1);
      out += '[' + body.replace(/\\/g, '\\\\').replace(/\[/g, '\\[') + ']';
      i = end;
    } else if (c === '{') {
      depth++;
      out += '(?:';
    } else if (c === '}' && depth > 0) {
      depth--;
      out += ')';
    } else if (c === ',' && depth > 0) {
      out += '|';
    } else {
      out += escapeChar(c);
    }
  }
  if (depth > 0) throw new Error(`glob "${glob}" has an unclosed "{"; close it or escape it as "\\{"`);
  return out + '$';
}

function escapeChar(c: string): string {
  return META.has(c) ? '\\' + c : c;
}
