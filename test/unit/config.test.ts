import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DEFAULT_CONFIG_PATH, loadConfig, parseConfigText } from '../../config/load.js';
import { parseDuration, parseSize } from '../../config/units.js';

const minimal = (extra = '') => `
receivers:
  otlp:
    protocols:
      http:
processors:
  batch: {}
exporters:
  debug: {}
service:
  pipelines:
    traces: { receivers: [otlp], processors: [batch], exporters: [debug] }
${extra}`;

function problems(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${(err as Error).message}`);
    return err.problems;
  }
  assert.fail('expected the config to be refused');
}

test('the shipped default config is valid', async () => {
  const config = await loadConfig(DEFAULT_CONFIG_PATH, {});
  assert.deepEqual(
    config.pipelines.map((p) => [p.signal, p.processors]),
    [
      ['traces', ['redaction', 'privileged', 'batch']],
      ['logs', ['redaction', 'batch']],
    ],
  );
  const http = config.receivers.get('otlp')!.config as { protocols: { http: { endpoint: { port: number }; max_request_body_size: number } } };
  assert.equal(http.protocols.http.endpoint.port, 4318);
  assert.equal(http.protocols.http.max_request_body_size, 20 * 1024 * 1024, 'the collector default body limit');
});

test('a collector-style empty protocol section means defaults', () => {
  const config = parseConfigText(minimal(), {});
  const c = config.receivers.get('otlp')!.config as { protocols: { http: { endpoint: { host: string; port: number } }; grpc?: unknown } };
  assert.deepEqual(c.protocols.http.endpoint, { host: '127.0.0.1', port: 4318 });
  assert.equal(c.protocols.grpc, undefined);
});

test('${env:VAR} and ${env:VAR:-default} are substituted, typed when the whole value is one reference', () => {
  const text = minimal().replace('http:\n', 'http:\n        endpoint: ${env:HOST:-0.0.0.0}:${env:PORT}\n        max_request_body_size: ${env:LIMIT}\n');
  const config = parseConfigText(text, { PORT: '9999', LIMIT: '1024' });
  const c = config.receivers.get('otlp')!.config as { protocols: { http: { endpoint: unknown; max_request_body_size: number } } };
  assert.deepEqual(c.protocols.http.endpoint, { host: '0.0.0.0', port: 9999 });
  assert.equal(c.protocols.http.max_request_body_size, 1024);
});

test('a missing variable without default is refused with its path', () => {
  const p = problems(() => parseConfigText(minimal().replace('debug: {}', 'debug: { verbosity: "${env:NOPE}" }'), {}));
  assert.match(p[0]!, /exporters\.debug\.verbosity: environment variable NOPE is not set/);
});

test('$${...} escapes a literal reference', () => {
  const config = parseConfigText(minimal().replace('http:\n', () => 'http:\n        traces_url_path: "/v1/$${env:X}"\n'), {});
  const c = config.receivers.get('otlp')!.config as { protocols: { http: { traces_url_path: string } } };
  assert.equal(c.protocols.http.traces_url_path, '/v1/${env:X}');
});

test('a bad key is refused with its full path and what was expected', () => {
  const p = problems(() => parseConfigText(minimal().replace('http:\n', 'http:\n        endpoint: "not-an-endpoint"\n        max_body: 1\n'), {}));
  assert.ok(p.some((l) => /^receivers\.otlp\.protocols\.http\.endpoint: "not-an-endpoint" is not host:port/.test(l)), p.join('\n'));
  assert.ok(p.some((l) => /^receivers\.otlp\.protocols\.http: unknown key "max_body"/.test(l)), p.join('\n'));
});

test('bad durations and sizes name the path and the expected form', () => {
  const p = problems(() => parseConfigText(minimal().replace('batch: {}', 'batch: { timeout: soon }'), {}));
  assert.match(p[0]!, /processors\.batch\.timeout: "soon" is not a duration/);
  assert.equal(parseDuration('1h30m'), 5_400_000);
  assert.equal(parseDuration('200ms'), 200);
  assert.equal(parseSize('20MiB'), 20 * 1024 * 1024);
  assert.throws(() => parseSize('lots'), /is not a size/);
});

test('pipelines must name defined components of the right signal, with batch last', () => {
  const p = problems(() =>
    parseConfigText(
      minimal().replace('traces: { receivers: [otlp], processors: [batch], exporters: [debug] }', 'traces: { receivers: [otlp, zipkin], processors: [batch, redaction], exporters: [debug] }'),
      {},
    ),
  );
  assert.ok(p.some((l) => /service\.pipelines\.traces\.receivers\.1: "zipkin" is not defined under receivers/.test(l)), p.join('\n'));
  assert.ok(p.some((l) => /service\.pipelines\.traces\.processors\.1: "redaction" is not defined/.test(l)), p.join('\n'));
  assert.ok(p.some((l) => /"batch" must come last/.test(l)), p.join('\n'));
});

test('an unknown component type lists the known ones', () => {
  const p = problems(() => parseConfigText(minimal().replace('debug: {}', 'debug: {}\n  kafkaa: {}'), {}));
  assert.match(p[0]!, /exporters\.kafkaa: unknown exporter type "kafkaa"; known types: .*clickhouse/);
});

test('invalid YAML names the line', () => {
  const p = problems(() => parseConfigText('receivers:\n  otlp: [\n', {}));
  assert.match(p[0]!, /not valid YAML at line \d+/);
});

test('loadConfig reports an unreadable file', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'sluice-cfg-'));
  await assert.rejects(loadConfig(join(dir, 'missing.yaml')), /cannot read config file .*ENOENT/);
  await writeFile(join(dir, 'ok.yaml'), minimal());
  assert.equal((await loadConfig(join(dir, 'ok.yaml'), {})).pipelines.length, 1);
});

test('an omitted service section part gets parsed defaults, not raw strings', () => {
  const config = parseConfigText(minimal(), {});
  assert.deepEqual(config.service.api.endpoint, { host: '127.0.0.1', port: 4380 });
  assert.deepEqual(config.service.telemetry.admin.endpoint, { host: '127.0.0.1', port: 13133 });
  assert.equal(config.service.telemetry.logs.level, 'info');
  assert.equal(config.service.shutdown_timeout, 30_000);
});
