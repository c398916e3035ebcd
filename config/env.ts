// ${env:VAR} and ${env:VAR:-default} substitution, as the collector's config
// providers do it: on the raw text of scalar values after YAML parsing, so a
// value cannot inject YAML structure. $${...} escapes a literal ${...}.

export class MissingEnvError extends Error {}

const REF = /\$\$\{|\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export function substituteEnv(text: string, env: NodeJS.ProcessEnv, path: string, missing: string[]): string {
  return text.replace(REF, (whole, name: string | undefined, def: string | undefined) => {
    if (whole === '$${') return '${';
    const v = env[name as string];
    if (v !== undefined && v !== '') return v;
    if (def !== undefined) return def;
    missing.push(`${path}: environment variable ${name} is not set (write \${env:${name}:-default} to give a default)`);
    return '';
  });
}

const WHOLE_REF = /^\$\{env:[A-Za-z_][A-Za-z0-9_]*(?::-[^}]*)?\}$/;
const NUMBER = /^-?\d+(\.\d+)?$/;

/**
 * Walks parsed YAML, substituting in every string. A value that is exactly one
 * reference takes the variable's type when it reads as a number or a boolean
 * (`port: ${env:PORT}`), as the collector's env provider does.
 */
export function substituteEnvDeep(value: unknown, env: NodeJS.ProcessEnv, path: string[] = [], missing: string[] = []): unknown {
  if (typeof value === 'string') {
    const out = substituteEnv(value, env, path.join('.') || '(root)', missing);
    if (WHOLE_REF.test(value)) {
      if (NUMBER.test(out)) return Number(out);
      if (out === 'true' || out === 'false') return out === 'true';
    }
    return out;
  }
  if (Array.isArray(value)) return value.map((v, i) => substituteEnvDeep(v, env, [...path, String(i)], missing));
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substituteEnvDeep(v, env, [...path, k], missing);
    return out;
  }
  return value;
}
