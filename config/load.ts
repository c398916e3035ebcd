// Loads and validates a Sluice config file. Shaped like the OpenTelemetry
// Collector's: receivers, processors, exporters, service.pipelines, plus
// `approvals`. Every component section is validated by its own factory's
// schema, so an error names the exact path and what was expected, and nothing
// starts half-configured.
import { readFile } from 'node:fs/promises';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { z } from 'zod';
import type { ExporterFactory, ProcessorFactory, ReceiverFactory } from '../pipeline/component.js';
import type { Signal } from '../pipeline/model.js';
import { exporterFactories, processorFactories, receiverFactories, approvalsConfigSchema } from '../pipeline/registry.js';
import { substituteEnvDeep } from './env.js';
import { packagePath } from './paths.js';
import { duration, hostPort } from './units.js';
import { tlsSchema } from './tls.js';

export const DEFAULT_CONFIG_PATH = packagePath('config', 'sluice.yaml');

const pipelineSchema = z
  .object({
    receivers: z.array(z.string()).min(1, 'a pipeline needs at least one receiver'),
    processors: z.array(z.string()).default([]),
    exporters: z.array(z.string()).min(1, 'a pipeline needs at least one exporter'),
  })
  .strict();

const serviceSchema = z
  .object({
    /** Where local state lives: the embedded store, the approval journal, the disk queue. */
    data_dir: z.string().default('./data'),
    telemetry: z
      .object({
        logs: z.object({ level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info') }).strict().prefault({}),
        /** Health (/healthz) and Prometheus metrics (/metrics). */
        admin: z.object({ endpoint: hostPort('127.0.0.1:13133') }).strict().prefault({}),
      })
      .strict()
      .prefault({}),
    /** The Sluice API: approvals REST API, Slack interactions, decision pages. */
    api: z
      .object({ endpoint: hostPort('127.0.0.1:4380'), tls: tlsSchema.optional() })
      .strict()
      .prefault({}),
    /** How long SIGTERM may take to drain queues and flush exporters before exit. */
    shutdown_timeout: duration('30s'),
    /**
     * Keyed `traces`, `logs`, or `traces/NAME`, `logs/NAME` as in the
     * collector. `sluice start --role NAME` runs only the pipelines named NAME
     * (e.g. `traces/edge`); the default role `all` runs every pipeline.
     */
    pipelines: z
      .record(z.string().regex(/^(traces|logs)(\/[A-Za-z0-9_-]+)?$/, 'pipeline ids are traces, logs, traces/NAME or logs/NAME'), pipelineSchema)
      .refine((p) => Object.keys(p).length > 0, 'define at least one pipeline, e.g. service.pipelines.traces'),
  })
  .strict();

const rootSchema = z
  .object({
    receivers: z.record(z.string(), z.unknown()).default({}),
    processors: z.record(z.string(), z.unknown()).default({}),
    exporters: z.record(z.string(), z.unknown()).default({}),
    extensions: z.record(z.string(), z.unknown()).optional(),
    approvals: z.unknown().optional(),
    service: serviceSchema,
  })
  .strict();

export interface ComponentConfig<F> {
  /** The id in config: `type` or `type/name`. */
  id: string;
  factory: F;
  config: unknown;
}

export interface PipelineConfig {
  /** `traces`, `logs/store`, … */
  id: string;
  signal: Signal;
  /** The part after the slash (`edge`, `store`), '' for a plain `traces`. */
  name: string;
  receivers: string[];
  processors: string[];
  exporters: string[];
}

export interface SluiceConfig {
  receivers: Map<string, ComponentConfig<ReceiverFactory>>;
  processors: Map<string, ComponentConfig<ProcessorFactory>>;
  exporters: Map<string, ComponentConfig<ExporterFactory>>;
  approvals: unknown;
  service: z.output<typeof serviceSchema>;
  pipelines: PipelineConfig[];
  /** The file it came from, if any (for relative paths and reload). */
  source?: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

function formatIssues(prefix: string, error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const path = [prefix, ...issue.path.map(String)].filter(Boolean).join('.');
    let msg = issue.message;
    if (issue.code === 'unrecognized_keys') msg = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')} (check the spelling against the component's README)`;
    return `${path || '(root)'}: ${msg}`;
  });
}

/** `type/name` → `type`. */
export function componentType(id: string): string {
  const i = id.indexOf('/');
  return i < 0 ? id : id.slice(0, i);
}

function resolveComponents<F extends { configSchema: z.ZodType; type: string }>(
  kind: 'receivers' | 'processors' | 'exporters',
  raw: Record<string, unknown>,
  factories: Map<string, F>,
  problems: string[],
): Map<string, ComponentConfig<F>> {
  const out = new Map<string, ComponentConfig<F>>();
  for (const [id, section] of Object.entries(raw)) {
    const factory = factories.get(componentType(id));
    if (!factory) {
      problems.push(`${kind}.${id}: unknown ${kind.slice(0, -1)} type "${componentType(id)}"; known types: ${[...factories.keys()].join(', ')}`);
      continue;
    }
    const parsed = factory.configSchema.safeParse(section ?? {});
    if (!parsed.success) {
      problems.push(...formatIssues(`${kind}.${id}`, parsed.error));
      continue;
    }
    out.set(id, { id, factory, config: parsed.data });
  }
  return out;
}

/** Validates an already-parsed config object (after env substitution). */
export function buildConfig(raw: unknown, source?: string): SluiceConfig {
  const root = rootSchema.safeParse(raw ?? {});
  if (!root.success) throw new ConfigError(formatIssues('', root.error));
  const problems: string[] = [];
  const receivers = resolveComponents('receivers', root.data.receivers, receiverFactories, problems);
  const processors = resolveComponents('processors', root.data.processors, processorFactories, problems);
  const exporters = resolveComponents('exporters', root.data.exporters, exporterFactories, problems);

  let approvals: unknown = undefined;
  if (root.data.approvals !== undefined) {
    const parsed = approvalsConfigSchema.safeParse(root.data.approvals);
    if (parsed.success) approvals = parsed.data;
    else problems.push(...formatIssues('approvals', parsed.error));
  }

  const pipelines: PipelineConfig[] = [];
  for (const [id, p] of Object.entries(root.data.service.pipelines)) {
    const signal = componentType(id) as Signal;
    const name = id.slice(signal.length + 1);
    const where = `service.pipelines.${id}`;
    const check = (kind: 'receivers' | 'processors' | 'exporters', ids: string[], defined: Map<string, ComponentConfig<{ signals: readonly Signal[] }>>) => {
      ids.forEach((id, i) => {
        const c = defined.get(id);
        if (!c) {
          if (!(id in root.data[kind])) problems.push(`${where}.${kind}.${i}: "${id}" is not defined under ${kind}; defined: ${Object.keys(root.data[kind]).join(', ') || 'none'}`);
        } else if (!c.factory.signals.includes(signal)) {
          problems.push(`${where}.${kind}.${i}: "${id}" does not support ${signal}`);
        }
      });
    };
    check('receivers', p.receivers, receivers);
    check('processors', p.processors, processors);
    check('exporters', p.exporters, exporters);
    const batchAt = p.processors.findIndex((id) => componentType(id) === 'batch');
    if (batchAt >= 0 && batchAt !== p.processors.length - 1) {
      problems.push(`${where}.processors: "${p.processors[batchAt]}" must come last: the batch processor holds the queue, and every processor before it runs before data is accepted`);
    }
    pipelines.push({ id, signal, name, ...p });
  }
  if (problems.length) throw new ConfigError(problems);
  return { receivers, processors, exporters, approvals, service: root.data.service, pipelines, source };
}

/** Reads YAML, substitutes ${env:…}, validates. Throws ConfigError with every problem found. */
export async function loadConfig(path: string = DEFAULT_CONFIG_PATH, env: NodeJS.ProcessEnv = process.env): Promise<SluiceConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([`cannot read config file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
  }
  return parseConfigText(text, env, path);
}

export function parseConfigText(text: string, env: NodeJS.ProcessEnv = process.env, source?: string): SluiceConfig {
  let raw: unknown;
  try {
    raw = parseYaml(text, { prettyErrors: true, uniqueKeys: true });
  } catch (err) {
    const where = err instanceof YAMLParseError && err.linePos ? ` at line ${err.linePos[0].line}, column ${err.linePos[0].col}` : '';
    throw new ConfigError([`${source ?? 'config'} is not valid YAML${where}: ${(err as Error).message.split('\n')[0]}`]);
  }
  const missing: string[] = [];
  const substituted = substituteEnvDeep(raw, env, [], missing);
  if (missing.length) throw new ConfigError(missing);
  return buildConfig(substituted, source);
}
