// The admin port: /healthz for load balancers and orchestrators (ready only
// when receivers and exporters are up) and /metrics for Prometheus.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { HostPort } from '../../config/units.js';
import { listenOn } from '../listen.js';
import type { SelfMetrics } from './metrics.js';

export interface HealthReport {
  ready: boolean;
  components: Record<string, boolean>;
}

export async function startAdminServer(endpoint: HostPort, metrics: SelfMetrics, health: () => HealthReport) {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET' }).end();
      return;
    }
    if (path === '/healthz' || path === '/') {
      const h = health();
      const body = JSON.stringify({ status: h.ready ? 'ok' : 'unavailable', components: h.components });
      res.writeHead(h.ready ? 200 : 503, { 'Content-Type': 'application/json' }).end(body);
      return;
    }
    if (path === '/metrics') {
      metrics.registry.metrics().then(
        (text) => res.writeHead(200, { 'Content-Type': metrics.registry.contentType }).end(text),
        (err: Error) => res.writeHead(500).end(err.message),
      );
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found: try /healthz or /metrics\n');
  });
  await listenOn(server, endpoint, 'the admin port (/healthz, /metrics)', 'set service.telemetry.admin.endpoint to another host:port');
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
