// Worker thread side of the pool: one redactor per thread, batches in and
// out by structured clone. Runs under tsx (tests) and compiled (dist/).
import { parentPort, workerData } from 'node:worker_threads';
import type { Batch } from '../../pipeline/model.js';
import type { RedactionConfig } from './config.js';
import { createRedactor } from './redactor.js';

export interface WorkerRequest {
  id: number;
  batch: Batch;
}
export type WorkerResponse = { id: number; batch: Batch; byType: [string, number][] } | { id: number; error: string };

const redactor = createRedactor(workerData as RedactionConfig);

parentPort!.on('message', (msg: WorkerRequest) => {
  try {
    const report = redactor.redactBatch(msg.batch);
    parentPort!.postMessage({ id: msg.id, batch: msg.batch, byType: [...report.byType] } satisfies WorkerResponse);
  } catch (err) {
    // The message names the failure only; never the batch's content.
    parentPort!.postMessage({ id: msg.id, error: err instanceof Error ? `${err.name}: redaction failed in worker` : 'redaction failed in worker' } satisfies WorkerResponse);
  }
});
