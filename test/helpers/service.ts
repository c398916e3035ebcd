// Starts a real Sluice from a YAML config on ephemeral ports and a temp data
// dir, the way `sluice start` does, for end-to-end tests.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfigText } from '../../config/load.js';
import { startService, type RunningService } from '../../pipeline/service.js';
import { createLogger } from '../../pipeline/telemetry/logger.js';

export interface TestServiceOptions {
  /** Extra YAML lines under receivers.otlp.protocols.http (indented 8 spaces). */
  httpOptions?: string;
  /** Extra YAML appended under the top level (e.g. `approvals:`); replaces the defaults below when a section is given. */
  processors?: string;
  tracesProcessors?: string[];
  logsProcessors?: string[];
  /** YAML under `exporters:` and the ids the pipelines use; default: embedded ClickHouse. */
  exporters?: { yaml: string; ids: string[] };
  approvals?: string;
  batch?: string;
  clickhouseEndpoint?: string;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  logLevel?: string;
}

export interface TestService extends RunningService {
  dataDir: string;
  cleanup(): Promise<void>;
}

export async function startTestService(opts: TestServiceOptions = {}): Promise<TestService> {
  const dataDir = opts.dataDir ?? (await mkdtemp(join(tmpdir(), 'sluice-test-')));
  const endpoint = opts.clickhouseEndpoint ?? `embedded:${join(dataDir, 'clickhouse')}`;
  const yaml = `
receivers:
  otlp:
    protocols:
      http:
        endpoint: "127.0.0.1:0"
${opts.httpOptions ?? ''}
      grpc: { endpoint: "127.0.0.1:0" }
processors:
${opts.processors ?? ''}
  batch:
${opts.batch ?? '    timeout: 20ms'}
exporters:
${
  opts.exporters?.yaml ??
  `  clickhouse:
    endpoint: "${endpoint}"
    query_endpoint: "127.0.0.1:0"`
}
${opts.approvals ? `approvals:\n${opts.approvals}` : ''}
service:
  data_dir: "${dataDir}"
  shutdown_timeout: 5s
  telemetry:
    logs: { level: ${opts.logLevel ?? 'warn'} }
    admin: { endpoint: "127.0.0.1:0" }
  api: { endpoint: "127.0.0.1:0" }
  pipelines:
    traces:
      receivers: [otlp]
      processors: [${[...(opts.tracesProcessors ?? []), 'batch'].join(', ')}]
      exporters: [${(opts.exporters?.ids ?? ['clickhouse']).join(', ')}]
    logs:
      receivers: [otlp]
      processors: [${[...(opts.logsProcessors ?? []), 'batch'].join(', ')}]
      exporters: [${(opts.exporters?.ids ?? ['clickhouse']).join(', ')}]
`;
  const config = parseConfigText(yaml, opts.env ?? process.env, 'test');
  const service = await startService(config, { logger: createLogger({ level: opts.logLevel ?? 'warn' }) });
  return Object.assign(service, {
    dataDir,
    cleanup: async () => {
      await service.stop();
      if (!opts.dataDir) await rm(dataDir, { recursive: true, force: true });
    },
  });
}
