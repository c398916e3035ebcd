// OTLP decode throughput: Sluice's hand-written decoder (straight to the
// internal model) against protobufjs reflection decoding the same requests
// (to its own message objects, which would still need converting to the
// model), on agent-like spans: 0.5–4 KB of prompt and tool-call attributes,
// made by the real OTel JS SDK and serialised by its otlp-transformer, in
// requests of 512 spans (the BatchSpanProcessor's default export size).
//
//   node --import tsx bench/otlp-decode.ts        (BENCH_SECONDS=3 per contender)
//
// Every contender runs in a fresh process on the same request bytes: V8's
// allocation-site pretenuring remembers whether a call site's objects lived
// long, so one contender's (or the fixture's) retained results would change
// the next one's GC behaviour. Two scenarios per decoder:
//   - "dropped": each decoded batch is garbage at once (the optimistic case);
//   - "queued": the last 16 decoded requests (8,192 spans) stay referenced, as
//     a pipeline queue would hold them, so decoded objects outlive scavenges;
//     once with Node's default young generation and once with
//     --max-semi-space-size=64, which is what the queued case is sensitive to.
// Prints one line per measurement and ends with one JSON line.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { decodeTraces } from '../pipeline/otlp/decode-protobuf.js';
import { decodeTracesJson } from '../pipeline/otlp/decode-json.js';
import { encodeTraces } from '../pipeline/otlp/encode-protobuf.js';
import { countItems, type TraceBatch } from '../pipeline/model.js';

const SPANS_PER_REQUEST = 512;
const REQUESTS = 8;
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 3);
const ROUNDS = 5;
const QUEUE = 16;

const CONTENDERS = {
  decoder: 'sluice decodeTraces → model, dropped',
  protobufjs: 'protobufjs reflection decode, dropped',
  decoder_queued: 'sluice decodeTraces → model, queued',
  protobufjs_queued: 'protobufjs reflection decode, queued',
  decoder_queued_semi64: 'sluice decodeTraces, queued, semi-space 64M',
  protobufjs_queued_semi64: 'protobufjs decode, queued, semi-space 64M',
  json_decoder: 'sluice decodeTracesJson → model, dropped',
  encoder: 'sluice encodeTraces model → bytes',
} as const;
type Name = keyof typeof CONTENDERS;

interface Figures {
  mb_s: number;
  spans_s: number;
  rounds_mb_s: number[];
}

if (process.argv[2] === '--child') {
  console.log(JSON.stringify(child(process.argv[3] as Name, process.argv[4]!)));
} else {
  await parent();
}

async function parent(): Promise<void> {
  const { makeAgentSpans, serializeTracesJson, serializeTracesProto } = await import('../test/unit/otlp-fixtures.js');
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-otlp-'));
  try {
    const spans = [];
    for (const size of [500, 1000, 2000, 4000]) spans.push(...(await makeAgentSpans((SPANS_PER_REQUEST * REQUESTS) / 4, size)));
    // Mix the sizes within every request.
    spans.sort((a, b) => a.spanContext().spanId.localeCompare(b.spanContext().spanId));
    let protoBytes = 0;
    let jsonBytes = 0;
    for (let i = 0; i < REQUESTS; i++) {
      const chunk = spans.slice(i * SPANS_PER_REQUEST, (i + 1) * SPANS_PER_REQUEST);
      const proto = serializeTracesProto(chunk);
      const json = serializeTracesJson(chunk);
      protoBytes += proto.length;
      jsonBytes += Buffer.byteLength(json);
      writeFileSync(join(dir, `${i}.pb`), proto);
      writeFileSync(join(dir, `${i}.json`), json);
    }
    console.log(
      `${REQUESTS} requests × ${SPANS_PER_REQUEST} agent spans: ${(protoBytes / REQUESTS / 1024).toFixed(0)} KiB protobuf, ` +
        `${(jsonBytes / REQUESTS / 1024).toFixed(0)} KiB JSON per request, ${(protoBytes / spans.length).toFixed(0)} B per span (protobuf); ` +
        `${ROUNDS} rounds of ${(SECONDS / ROUNDS).toFixed(1)} s each, median reported`,
    );
    const out: Record<string, number> = {};
    const self = fileURLToPath(import.meta.url);
    for (const name of Object.keys(CONTENDERS) as Name[]) {
      const v8 = name.endsWith('_semi64') ? ['--max-semi-space-size=64'] : [];
      const text = execFileSync(process.execPath, [...v8, ...process.execArgv, self, '--child', name, dir], { encoding: 'utf8' });
      const f = JSON.parse(text.trim().split('\n').pop()!) as Figures;
      console.log(
        `${CONTENDERS[name].padEnd(44)} ${f.mb_s.toFixed(1).padStart(8)} MB/s ${Math.round(f.spans_s).toLocaleString('en-US').padStart(10)} spans/s` +
          `   (rounds, MB/s: ${f.rounds_mb_s.map((x) => x.toFixed(0)).join(' ')})`,
      );
      out[`${name}_mb_s`] = Number(f.mb_s.toFixed(1));
      out[`${name}_spans_s`] = Math.round(f.spans_s);
    }
    const { decoder_mb_s, protobufjs_mb_s, ...rest } = out;
    console.log(JSON.stringify({ decoder_mb_s, protobufjs_mb_s, ...rest }));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function child(name: Name, dir: string): Figures {
  const files = readdirSync(dir);
  const proto = files.filter((f) => f.endsWith('.pb')).sort().map((f) => readFileSync(join(dir, f)));
  const json = files.filter((f) => f.endsWith('.json')).sort().map((f) => readFileSync(join(dir, f), 'utf8'));
  const protoBytes = proto.reduce((n, b) => n + b.length, 0);
  const jsonBytes = json.reduce((n, s) => n + Buffer.byteLength(s), 0);
  const root = protobuf.parse(readFileSync(new URL('../pipeline/otlp/testdata/otlp.proto', import.meta.url), 'utf8')).root;
  const Request = root.lookupType('otlp.ExportTraceServiceRequest');
  const queue: unknown[] = new Array(QUEUE).fill(null);
  let q = 0;
  let sink = 0;
  let batches: TraceBatch[] = [];
  if (name === 'encoder') {
    batches = proto.map((b) => decodeTraces(b).batch);
    for (const b of batches) if (countItems(b) !== SPANS_PER_REQUEST) throw new Error('bench fixture did not decode fully');
  }
  const passes: Record<Name, () => void> = {
    decoder: () => {
      for (const b of proto) sink += decodeTraces(b).accepted;
    },
    protobufjs: () => {
      for (const b of proto) sink += (Request.decode(b) as unknown as { resourceSpans: unknown[] }).resourceSpans.length;
    },
    decoder_queued_semi64: () => passes.decoder_queued(),
    protobufjs_queued_semi64: () => passes.protobufjs_queued(),
    decoder_queued: () => {
      for (const b of proto) {
        const r = decodeTraces(b);
        sink += r.accepted;
        queue[q++ % QUEUE] = r.batch;
      }
    },
    protobufjs_queued: () => {
      for (const b of proto) {
        const m = Request.decode(b) as unknown as { resourceSpans: unknown[] };
        sink += m.resourceSpans.length;
        queue[q++ % QUEUE] = m;
      }
    },
    json_decoder: () => {
      for (const s of json) sink += decodeTracesJson(s).accepted;
    },
    encoder: () => {
      for (const b of batches) sink += encodeTraces(b).length;
    },
  };
  const pass = passes[name];
  const bytes = name === 'json_decoder' ? jsonBytes : protoBytes;
  for (let i = 0; i < 5; i++) pass(); // warm up the JIT
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    let sweeps = 0;
    const start = process.hrtime.bigint();
    const budget = BigInt(Math.round((SECONDS / ROUNDS) * 1e9));
    let elapsed = 0n;
    while (elapsed < budget) {
      pass();
      sweeps++;
      elapsed = process.hrtime.bigint() - start;
    }
    rounds.push(sweeps / (Number(elapsed) / 1e9));
  }
  if (sink === 0) throw new Error('nothing was decoded');
  const sweeps = [...rounds].sort((a, b) => a - b)[ROUNDS >> 1]!;
  return {
    mb_s: (sweeps * bytes) / 1e6,
    spans_s: sweeps * proto.length * SPANS_PER_REQUEST,
    rounds_mb_s: rounds.map((s) => (s * bytes) / 1e6),
  };
}
