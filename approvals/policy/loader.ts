// Reads a policy file: YAML → zod → compiled rules. Every failure is one
// PolicyLoadError naming the file, where in it, and how to fix it.
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import type { z } from 'zod';
import { compilePolicy, PolicyCompileError, type CompiledPolicy } from './compile.js';
import { policyFileSchema } from './schema.js';

export class PolicyLoadError extends Error {
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`policy file ${file} is invalid:\n  - ${problems.join('\n  - ')}`);
    this.name = 'PolicyLoadError';
  }
}

export function parsePolicy(text: string, file: string): CompiledPolicy {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true });
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? `line ${err.linePos[0].line}, column ${err.linePos[0].col}: ` : '';
    throw new PolicyLoadError(file, [`${where}not valid YAML (${(err as Error).message.split('\n')[0]})`]);
  }
  if (raw === null || raw === undefined) throw new PolicyLoadError(file, ['the file is empty; it needs at least `rules: []`']);
  const parsed = policyFileSchema.safeParse(raw);
  if (!parsed.success) throw new PolicyLoadError(file, formatIssues(parsed.error, raw));
  try {
    return compilePolicy(parsed.data, text, basename(file, extname(file)));
  } catch (err) {
    if (err instanceof PolicyCompileError) throw new PolicyLoadError(file, [err.message]);
    throw err;
  }
}

export function loadPolicyFileSync(file: string): CompiledPolicy {
  return parsePolicy(readText(() => readFileSync(file, 'utf8'), file), file);
}

export async function loadPolicyFile(file: string): Promise<CompiledPolicy> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw notReadable(file, err);
  }
  return parsePolicy(text, file);
}

function readText(read: () => string, file: string): string {
  try {
    return read();
  } catch (err) {
    throw notReadable(file, err);
  }
}

function notReadable(file: string, err: unknown): PolicyLoadError {
  const code = (err as NodeJS.ErrnoException).code;
  return new PolicyLoadError(file, [code === 'ENOENT' ? 'the file does not exist; check approvals.policy_file (paths are relative to the working directory)' : `cannot read it (${code ?? (err as Error).message})`]);
}

/** Issue paths like `rules[2] (export-prod).require_approval.min_approvals: ...`. */
function formatIssues(error: z.ZodError, raw: unknown): string[] {
  return error.issues.map((issue) => {
    let path = '';
    let node: unknown = raw;
    for (const seg of issue.path) {
      if (typeof seg === 'number') {
        path += `[${seg}]`;
        node = Array.isArray(node) ? node[seg] : undefined;
        const ruleName = node && typeof node === 'object' && 'name' in node ? (node as { name: unknown }).name : undefined;
        if (typeof ruleName === 'string') path += ` (${ruleName})`;
      } else {
        const key = String(seg);
        path += path === '' ? key : /^[\w-]+$/.test(key) ? `.${key}` : `["${key}"]`;
        node = node && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
      }
    }
    const msg = issue.code === 'unrecognized_keys' ? `unknown key(s) ${issue.keys.map((k) => `"${k}"`).join(', ')}; check the spelling against approvals/policy/README.md` : issue.message;
    return `${path || '(top level)'}: ${msg}`;
  });
}
