// Entry of the store worker thread: owns the ClickHouse client (chDB or
// HTTP) so that inserts and queries never stall the receivers' event loop.
// Requests are answered in completion order; ids match them up.
import { parentPort, workerData } from 'node:worker_threads';
import { StoreBackend } from './store-backend.js';
import { ownedBytes, serializeError, type StoreOptions, type StoreRequest, type StoreResponse } from './store-protocol.js';

const port = parentPort;
if (!port) throw new Error('store-worker.ts must run in a worker thread (openClickHouse starts it)');

const backend = new StoreBackend(workerData as StoreOptions);

async function handle(req: StoreRequest): Promise<{ result?: unknown; transfer?: ArrayBuffer[] }> {
  switch (req.op) {
    case 'insert':
      await backend.insert(req.table, req.body, req.database, req.format, req.columns);
      return {};
    case 'command':
      await backend.command(req.sql, req.database);
      return {};
    case 'query': {
      const r = await backend.query(req.sql, req.options);
      const body = ownedBytes(r.body);
      return { result: { ...r, body }, transfer: [body.buffer as ArrayBuffer] };
    }
    case 'ping':
      return { result: await backend.ping() };
    case 'close':
      await backend.close();
      return {};
  }
}

port.on('message', (req: StoreRequest) => {
  // An insert's body goes back in the answer's transfer list, referenced by
  // nothing, so its memory is freed as soon as the answer is read. Left here
  // it would wait for this thread's GC, which allocates too little to run
  // often: 1–3 dead batches of 15 MB were held at any time.
  const body = req.op === 'insert' && req.body.buffer instanceof ArrayBuffer ? [req.body.buffer] : [];
  handle(req).then(
    ({ result, transfer }) => port.postMessage({ id: req.id, ok: true, result } satisfies StoreResponse, [...(transfer ?? []), ...body]),
    (err: unknown) => port.postMessage({ id: req.id, ok: false, error: serializeError(err) } satisfies StoreResponse, body),
  );
});
