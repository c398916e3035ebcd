// `sluice redact`: try the configured rules on text (stdin → stdout), or
// report findings for JSON Lines `{"text": ...}`, which is how detection
// quality is measured (bench/redaction-eval.ts runs this same code).
import { createInterface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import type { Command } from 'commander';
import { createRedactor, type Redactor } from '../../processors/redaction/index.js';

/** The `redaction` processor's config in a loaded config, or undefined for the defaults. */
export function redactionConfigOf(processors: Record<string, unknown>): unknown {
  if ('redaction' in processors) return processors.redaction;
  const id = Object.keys(processors).find((k) => k.startsWith('redaction/'));
  return id ? processors[id] : undefined;
}

/** One output line of `--findings` for one input line. */
export function findingsLine(redactor: Redactor, line: string, lineNo: number): string {
  let text: unknown;
  try {
    text = (JSON.parse(line) as { text?: unknown }).text;
  } catch {
    throw new Error(`line ${lineNo}: not JSON; --findings reads JSON Lines like {"text": "..."}`);
  }
  if (typeof text !== 'string') throw new Error(`line ${lineNo}: no string "text" field; --findings reads JSON Lines like {"text": "..."}`);
  const findings = redactor.findings(text).map((f) => ({ start: f.start, end: f.end, type: f.type, rule: f.rule }));
  return JSON.stringify({ findings });
}

export async function runFindings(redactor: Redactor, input: Readable, output: Writable): Promise<void> {
  const rl = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  for await (const line of rl) {
    n++;
    if (line.trim() === '') {
      output.write('{"findings":[]}\n');
      continue;
    }
    output.write(findingsLine(redactor, line, n) + '\n');
  }
}

export async function runRedact(redactor: Redactor, input: Readable, output: Writable): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const c of input) chunks.push(typeof c === 'string' ? Buffer.from(c) : (c as Buffer));
  output.write(redactor.redactText(Buffer.concat(chunks).toString('utf8')).text);
}

export function registerRedactCommand(program: Command, loadConfig: (path?: string) => Promise<{ processors: Record<string, unknown> }>): void {
  program
    .command('redact')
    .description('Redact text from stdin with the configured rules and write it to stdout; with --findings, report what each JSON Lines {"text": ...} record contains')
    .option('-c, --config <file>', 'config file whose redaction processor settings to use (default: built-in defaults)')
    .option('--findings', 'read JSON Lines {"text": "..."} and write {"findings": [{"start","end","type","rule"}]} per line (UTF-16 offsets)')
    .action(async (opts: { config?: string; findings?: boolean }) => {
      try {
        const processors = opts.config ? (await loadConfig(opts.config)).processors : {};
        const redactor = createRedactor((redactionConfigOf(processors) ?? {}) as Parameters<typeof createRedactor>[0]);
        if (opts.findings) await runFindings(redactor, process.stdin, process.stdout);
        else await runRedact(redactor, process.stdin, process.stdout);
      } catch (err) {
        // Messages name the line or the rule, never the text.
        process.stderr.write(`sluice redact: ${(err as Error).message}\n`);
        process.exitCode = 1;
      }
    });
}
