// Every listener of a Sluice process names itself, the address and the
// setting to change when its port cannot be bound; and a start that fails
// half-way leaves nothing bound.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import pino from 'pino';
import { parseConfigText } from '../../config/load.js';
import { packagePath } from '../../config/paths.js';
import { listenError } from '../../pipeline/listen.js';
import { startService } from '../../pipeline/service.js';

let taken: Server;
let port: number;
let dir: string;
before(async () => {
  taken = createServer();
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r));
  port = (taken.address() as AddressInfo).port;
  dir = await mkdtemp(join(tmpdir(), 'sluice-listen-'));
});
after(() => taken.close());

const free = async (): Promise<number> => {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const p = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return p;
};

function config(o: { http?: number; grpc?: number; admin?: number; api?: number }): string {
  return `receivers:
  otlp/agents:
    protocols:
      http: { endpoint: "127.0.0.1:${o.http ?? 0}" }
      grpc: { endpoint: "127.0.0.1:${o.grpc ?? 0}" }
exporters:
  debug: {}
approvals:
  policy_file: "${packagePath('config', 'policies', 'example.yaml')}"
service:
  data_dir: "${dir}"
  telemetry: { admin: { endpoint: "127.0.0.1:${o.admin ?? 0}" } }
  api: { endpoint: "127.0.0.1:${o.api ?? 0}" }
  pipelines:
    traces: { receivers: [otlp/agents], exporters: [debug] }
`;
}

const start = (yaml: string) => startService(parseConfigText(yaml, {}, 'listen-test'), { logger: pino({ level: 'silent' }) });

for (const [which, setting, what] of [
  ['grpc', 'receivers.otlp/agents.protocols.grpc.endpoint', 'the OTLP/gRPC receiver otlp/agents'],
  ['admin', 'service.telemetry.admin.endpoint', 'the admin port'],
  ['api', 'service.api.endpoint', 'the Sluice API'],
] as const) {
  test(`a taken ${which} port: the listener, the address and ${setting} in the error`, async () => {
    await assert.rejects(start(config({ [which]: port })), (err: Error) => {
      assert.ok(err.message.startsWith(what), err.message);
      assert.ok(err.message.includes(`cannot listen on 127.0.0.1:${port}: the port is in use; set ${setting} to another host:port`), err.message);
      return true;
    });
  });
}

test('a start that fails at the gRPC port leaves the HTTP port it had bound free again', async () => {
  const http = await free();
  await assert.rejects(start(config({ http, grpc: port })), /OTLP\/gRPC receiver/);
  const again = createServer();
  await new Promise<void>((resolve, reject) => {
    again.once('error', reject);
    again.listen(http, '127.0.0.1', resolve);
  });
  await new Promise<void>((r) => again.close(() => r()));
});

test('listenError says why in words for the usual codes, and keeps any other message', () => {
  const at = { host: '0.0.0.0', port: 80 };
  const e = (code: string, message: string) => Object.assign(new Error(message), { code });
  assert.match(listenError(e('EACCES', 'listen EACCES'), 'x', at, 'fix').message, /^x cannot listen on 0\.0\.0\.0:80: permission denied \(ports below 1024 need privileges\); fix$/);
  assert.match(listenError(e('EADDRNOTAVAIL', 'listen EADDRNOTAVAIL'), 'x', at, 'fix').message, /this host has no such address/);
  assert.match(listenError(new Error('No address added out of total 1 resolved: EADDRINUSE'), 'x', at, 'fix').message, /the port is in use/);
  assert.match(listenError(e('EMFILE', 'too many open files'), 'x', at, 'fix').message, /: too many open files; fix$/);
});
