// A stand-in ClickHouse server for tests of the exporter's server mode: the
// ClickHouse HTTP protocol, read-write (INSERT data in the body, DDL), on
// loopback, backed by chDB. It can stop and start again on the same port to
// play "ClickHouse down, then back". Runs in a child process by default,
// because chDB binds one data directory per process and the test process
// may have an embedded engine of its own.
import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClickHouseHttpHandler } from '../../exporters/clickhouse/http-handler.js';
import { StoreBackend } from '../../exporters/clickhouse/store-backend.js';

export interface FacadeOptions {
  dataDir: string;
  /** Required credentials; default none. */
  auth?: { username: string; password: string };
}

export interface ClickHouseFacade {
  port: number;
  url: string;
  /** Requests answered so far, by kind. */
  stats(): Promise<{ inserts: number; queries: number; commands: number; gzipBodies: number }>;
  /** Closes the port (connections refused) but keeps the data. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
  close(): Promise<void>;
}

/** The facade in this process (the process must not open another chDB directory). */
export async function startClickHouseFacadeInProcess(o: FacadeOptions): Promise<ClickHouseFacade> {
  const backend = new StoreBackend({ endpoint: `embedded:${o.dataDir}`, username: '', password: '', timeoutMs: 30_000, compression: 'none' });
  const stats = { inserts: 0, queries: 0, commands: 0, gzipBodies: 0 };
  const handler = createClickHouseHttpHandler({
    readOnly: false,
    maxBodyBytes: 512 * 1024 * 1024,
    ...(o.auth ? { auth: o.auth } : {}),
    executor: {
      query: (sql, opts) => {
        stats.queries++;
        return backend.query(sql, opts);
      },
      write: (sql, data, database) => {
        if (data) stats.inserts++;
        else stats.commands++;
        return backend.write(sql, data, database);
      },
    },
  });
  let server: Server | undefined;
  let port = 0;
  const listen = async () => {
    const s = createServer((req, res) => {
      if (req.headers['content-encoding'] === 'gzip') stats.gzipBodies++;
      handler(req, res);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => resolve());
    });
    port = (s.address() as AddressInfo).port;
    server = s;
  };
  const stop = async () => {
    const s = server;
    server = undefined;
    if (!s) return;
    await new Promise<void>((resolve) => {
      s.close(() => resolve());
      s.closeAllConnections();
    });
  };
  await listen();
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stats: async () => ({ ...stats }),
    stop,
    start: listen,
    close: async () => {
      await stop();
      await backend.close();
    },
  };
}

type ChildCommand = { id: number; op: 'stats' | 'stop' | 'start' | 'close' };
type ChildReply = { id: number; ok: boolean; result?: unknown; error?: string } | { ready: true; port: number } | { failed: string };

/** The facade in a child process (the default: the test process keeps its own chDB slot free). */
export async function startClickHouseFacade(o: FacadeOptions): Promise<ClickHouseFacade> {
  const self = fileURLToPath(import.meta.url);
  const child: ChildProcess = fork(self, [JSON.stringify(o)], {
    execArgv: extname(self) === '.ts' ? ['--import', 'tsx'] : [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    const onMsg = (m: ChildReply) => {
      if ('ready' in m) resolve(m.port);
      else if ('failed' in m) reject(new Error(`ClickHouse facade failed to start: ${m.failed}`));
    };
    child.on('message', onMsg);
    child.once('exit', (code) => reject(new Error(`ClickHouse facade exited during start (code ${code})`)));
  });
  let next = 1;
  const pending = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  child.on('message', (m: ChildReply) => {
    if (!('id' in m)) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.ok) p?.resolve(m.result);
    else p?.reject(new Error(m.error));
  });
  const call = <T>(op: ChildCommand['op']) =>
    new Promise<T>((resolve, reject) => {
      const id = next++;
      pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      child.send({ id, op } satisfies ChildCommand);
    });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    stats: () => call('stats'),
    stop: () => call('stop'),
    start: () => call('start'),
    close: async () => {
      const exited = new Promise<void>((r) => child.once('exit', () => r()));
      await call('close').catch(() => undefined);
      child.disconnect();
      await exited;
    },
  };
}

// Child-process entry.
if (process.argv[1] === fileURLToPath(import.meta.url) && process.send) {
  const send = (m: ChildReply) => process.send!(m);
  const o = JSON.parse(process.argv[2] ?? '{}') as FacadeOptions;
  startClickHouseFacadeInProcess(o).then(
    (facade) => {
      send({ ready: true, port: facade.port });
      process.on('message', (cmd: ChildCommand) => {
        facade[cmd.op]().then(
          (result) => send({ id: cmd.id, ok: true, result }),
          (err: Error) => send({ id: cmd.id, ok: false, error: err.message }),
        );
      });
      process.on('disconnect', () => process.exit(0));
    },
    (err: Error) => {
      send({ failed: err.message });
      process.exit(1);
    },
  );
}
