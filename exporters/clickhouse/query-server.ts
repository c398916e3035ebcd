// The read-only ClickHouse HTTP interface of the embedded store: Grafana's
// ClickHouse datasource, @clickhouse/client or curl read otel_traces,
// otel_logs and the approval tables as from a ClickHouse server on :8123.
// Only reading statements pass, each run with readonly=1 so that the engine
// refuses any write the statement check did not foresee.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenOn } from '../../pipeline/listen.js';
import type { Logger } from 'pino';
import { createClickHouseHttpHandler } from './http-handler.js';
import type { ClickHouseHandle } from './store.js';

export interface QueryServerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  handle: Pick<ClickHouseHandle, 'query'>;
  logger: Logger;
  /** Required credentials; without them any user name is accepted. */
  auth?: { username: string; password: string };
}

export interface QueryServer {
  port: number;
  close(): Promise<void>;
}

export async function startQueryServer(o: QueryServerOptions): Promise<QueryServer> {
  const handler = createClickHouseHttpHandler({
    executor: { query: (sql, opts) => o.handle.query(sql, opts) },
    readOnly: true,
    logger: o.logger,
    maxBodyBytes: 1024 * 1024,
    ...(o.auth ? { auth: o.auth } : {}),
  });
  const server: Server = createServer(handler);
  // Grafana keeps connections open between panels' refreshes.
  server.keepAliveTimeout = 10_000;
  await listenOn(server, o, 'the read-only ClickHouse interface', "set exporters.clickhouse.query_endpoint to another host:port, or '' to disable it");
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
