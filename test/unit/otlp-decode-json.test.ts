// The OTLP/JSON decoder: what the real OTel JS JSON serializer sends must
// decode to exactly what the protobuf decoder makes of the same telemetry;
// then the parts of the OTLP/JSON mapping the JS SDK does not exercise.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { decodeLogsJson, decodeTracesJson } from '../../pipeline/otlp/decode-json.js';
import { decodeLogs, decodeTraces } from '../../pipeline/otlp/decode-protobuf.js';
import { OtlpDecodeError } from '../../pipeline/otlp/errors.js';
import type { Span } from '../../pipeline/model.js';
import { makeLogs, makeSpans, serializeLogsJson, serializeLogsProto, serializeTracesJson, serializeTracesProto } from './otlp-fixtures.js';

function variant(span: ReadableSpan, attributes: Record<string, unknown>): ReadableSpan {
  const v = Object.create(span) as ReadableSpan;
  Object.defineProperty(v, 'attributes', { value: attributes, enumerable: true });
  return v;
}

test('the SDK JSON export of spans decodes to what its protobuf export decodes to', async () => {
  const spans = await makeSpans();
  const withBytes = spans.map((s) => variant(s, { ...s.attributes, 'payload.bytes': new Uint8Array([0, 255, 16, 42]) }));
  const json = decodeTracesJson(serializeTracesJson(withBytes));
  const proto = decodeTraces(serializeTracesProto(withBytes));
  assert.equal(json.accepted, 2);
  assert.equal(json.rejected, 0);
  assert.deepStrictEqual(json.batch, proto.batch);
});

test('the SDK JSON export of logs decodes to what its protobuf export decodes to', async () => {
  const logs = await makeLogs();
  const json = decodeLogsJson(serializeLogsJson(logs));
  const proto = decodeLogs(serializeLogsProto(logs));
  assert.equal(json.accepted, 8);
  assert.deepStrictEqual(json.batch, proto.batch);
  assert.equal(json.batch.resourceLogs[0]!.scopeLogs[0]!.logRecords[0]!.eventName, 'agent.tool_call');
});

const TRACE_ID = '5B8EFFF798038103D269B633813FC60C';
const SPAN_ID = 'EEE19B7EC3C1B174';

function traceDoc(spans: unknown[], extra: Record<string, unknown> = {}) {
  return JSON.stringify({ resourceSpans: [{ resource: { attributes: [] }, scopeSpans: [{ scope: { name: 's' }, spans }], ...extra }] });
}

function only(body: string): Span {
  const r = decodeTracesJson(body);
  assert.equal(r.rejected, 0, r.errors.join('; '));
  return r.batch.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
}

test('enum names, int64 as strings and numbers, hex ids in either case', () => {
  const s = only(
    traceDoc([
      {
        traceId: TRACE_ID,
        spanId: SPAN_ID,
        parentSpanId: '',
        name: 'op',
        kind: 'SPAN_KIND_SERVER',
        startTimeUnixNano: '1544712660000000000',
        endTimeUnixNano: 1544712661000000000,
        status: { code: 'STATUS_CODE_ERROR', message: 'boom' },
        flags: 257,
        droppedAttributesCount: '3',
        attributes: [
          { key: 'str', value: { stringValue: 'x' } },
          { key: 'int.str', value: { intValue: '-9223372036854775808' } },
          { key: 'int.num', value: { intValue: 42 } },
          { key: 'nan', value: { doubleValue: 'NaN' } },
          { key: 'inf', value: { doubleValue: 'Infinity' } },
          { key: 'ninf', value: { doubleValue: '-Infinity' } },
          { key: 'dbl.str', value: { doubleValue: '1.5e3' } },
          { key: 'bytes', value: { bytesValue: 'AP8Q' } },
          { key: 'bytes.url', value: { bytesValue: '_-8' } },
          { key: 'empty', value: {} },
          { key: 'nullvalue', value: null },
          { key: 'kv', value: { kvlistValue: { values: [{ key: 'a', value: { boolValue: true } }] } } },
          { key: 'arr', value: { arrayValue: { values: [{ intValue: '1' }, { arrayValue: {} }] } } },
        ],
      },
    ]),
  );
  assert.equal(s.traceId, TRACE_ID.toLowerCase());
  assert.equal(s.spanId, SPAN_ID.toLowerCase());
  assert.equal(s.parentSpanId, '');
  assert.equal(s.kind, 2);
  assert.equal(s.startTimeUnixNano, 1544712660000000000n);
  assert.equal(s.endTimeUnixNano, 1544712661000000000n);
  assert.deepEqual(s.status, { code: 2, message: 'boom' });
  assert.equal(s.flags, 257);
  assert.equal(s.droppedAttributesCount, 3);
  assert.deepStrictEqual(
    s.attributes.map((a) => a.value),
    [
      'x',
      -(2n ** 63n),
      42n,
      NaN,
      Infinity,
      -Infinity,
      1500,
      new Uint8Array([0, 255, 16]),
      new Uint8Array([0xff, 0xef]),
      null,
      null,
      { kvlist: [{ key: 'a', value: true }] },
      [1n, []],
    ],
  );
});

test('proto snake_case names are accepted like the camelCase ones', () => {
  const body = JSON.stringify({
    resource_spans: [
      {
        schema_url: 'r-url',
        resource: { attributes: [{ key: 'k', value: { string_value: 'v' } }], dropped_attributes_count: 1 },
        scope_spans: [
          {
            schema_url: 's-url',
            scope: { name: 'n', version: 'v', dropped_attributes_count: 2 },
            spans: [
              {
                trace_id: TRACE_ID,
                span_id: SPAN_ID,
                parent_span_id: SPAN_ID,
                trace_state: 'a=b',
                start_time_unix_nano: '1',
                end_time_unix_nano: '2',
                dropped_events_count: 4,
                dropped_links_count: 5,
                events: [{ time_unix_nano: '3', name: 'e', dropped_attributes_count: 6 }],
                links: [{ trace_id: TRACE_ID, span_id: SPAN_ID, trace_state: 'c=d', flags: 1 }],
                attributes: [
                  { key: 'i', value: { int_value: '7' } },
                  { key: 'b', value: { bool_value: false } },
                  { key: 'd', value: { double_value: 0.5 } },
                  { key: 'y', value: { bytes_value: 'AQ==' } },
                  { key: 'a', value: { array_value: { values: [{ string_value: 's' }] } } },
                  { key: 'm', value: { kvlist_value: { values: [] } } },
                ],
              },
            ],
          },
        ],
      },
    ],
  });
  const r = decodeTracesJson(body);
  assert.equal(r.accepted, 1, r.errors.join('; '));
  const rs = r.batch.resourceSpans[0]!;
  assert.equal(rs.schemaUrl, 'r-url');
  assert.deepEqual(rs.resource, { attributes: [{ key: 'k', value: 'v' }], droppedAttributesCount: 1 });
  assert.equal(rs.scopeSpans[0]!.schemaUrl, 's-url');
  assert.deepEqual(rs.scopeSpans[0]!.scope, { name: 'n', version: 'v', attributes: [], droppedAttributesCount: 2 });
  const s = rs.scopeSpans[0]!.spans[0]!;
  assert.equal(s.parentSpanId, SPAN_ID.toLowerCase());
  assert.equal(s.traceState, 'a=b');
  assert.equal(s.droppedEventsCount, 4);
  assert.equal(s.droppedLinksCount, 5);
  assert.deepEqual(s.events, [{ timeUnixNano: 3n, name: 'e', attributes: [], droppedAttributesCount: 6 }]);
  assert.deepEqual(s.links[0], { traceId: TRACE_ID.toLowerCase(), spanId: SPAN_ID.toLowerCase(), traceState: 'c=d', attributes: [], droppedAttributesCount: 0, flags: 1 });
  assert.deepStrictEqual(
    s.attributes.map((a) => a.value),
    [7n, false, 0.5, new Uint8Array([1]), ['s'], { kvlist: [] }],
  );
});

test('log severity by name or number, snake_case, event name, any body', () => {
  const body = JSON.stringify({
    resourceLogs: [
      {
        scopeLogs: [
          {
            logRecords: [
              { severityNumber: 'SEVERITY_NUMBER_INFO', body: { stringValue: 'a' }, event_name: 'ev', trace_id: TRACE_ID, span_id: SPAN_ID },
              { severity_number: 'SEVERITY_NUMBER_FATAL4', observed_time_unix_nano: '5', severity_text: 'FATAL' },
              { severityNumber: 17, timeUnixNano: 9, body: { kvlistValue: { values: [{ key: 'x', value: { intValue: 1 } }] } } },
              { severityNumber: 99 },
            ],
          },
        ],
      },
    ],
  });
  const r = decodeLogsJson(body);
  assert.equal(r.accepted, 4, r.errors.join('; '));
  const [a, b, c, d] = r.batch.resourceLogs[0]!.scopeLogs[0]!.logRecords;
  assert.equal(a!.severityNumber, 9);
  assert.equal(a!.body, 'a');
  assert.equal(a!.eventName, 'ev');
  assert.equal(a!.traceId, TRACE_ID.toLowerCase());
  assert.equal(a!.spanId, SPAN_ID.toLowerCase());
  assert.equal(b!.severityNumber, 24);
  assert.equal(b!.observedTimeUnixNano, 5n);
  assert.equal(b!.severityText, 'FATAL');
  assert.equal(b!.body, null);
  assert.equal(c!.severityNumber, 17);
  assert.equal(c!.timeUnixNano, 9n);
  assert.deepStrictEqual(c!.body, { kvlist: [{ key: 'x', value: 1n }] });
  assert.equal(d!.severityNumber, 0);
});

test('bad items are rejected alone, with reasons and no payload values', () => {
  const good = { traceId: TRACE_ID, spanId: SPAN_ID, name: 'ok' };
  const secret = 'sk-live-SECRET';
  const bad: Array<[unknown, RegExp]> = [
    [{ ...good, traceId: 'W4737/eYA4ED0mm2M4E/xg==' }, /trace_id must be 32 hex digits/],
    [{ ...good, traceId: 'zz'.repeat(16) }, /trace_id must be hex/],
    [{ ...good, spanId: '0000000000000000' }, /span_id is all zeros/],
    [{ ...good, spanId: undefined }, /span_id is missing/],
    [{ ...good, parentSpanId: 'abc' }, /parent_span_id must be 16 hex digits/],
    [{ ...good, kind: 'SPAN_KIND_BOGUS' }, /kind must be an enum/],
    [{ ...good, name: 5 }, /name must be a string/],
    [{ ...good, startTimeUnixNano: '-1' }, /start_time_unix_nano must be an unsigned 64-bit/],
    [{ ...good, startTimeUnixNano: '18446744073709551616' }, /start_time_unix_nano must be an unsigned 64-bit/],
    [{ ...good, startTimeUnixNano: 1.5 }, /start_time_unix_nano must be an unsigned 64-bit/],
    [{ ...good, attributes: [{ key: 'k', value: { intValue: '9223372036854775808' } }] }, /int_value must be a signed 64-bit/],
    [{ ...good, attributes: [{ key: 'k', value: { intValue: secret } }] }, /int_value/],
    [{ ...good, attributes: [{ key: 'k', value: { doubleValue: 'one' } }] }, /double_value/],
    [{ ...good, attributes: [{ key: 'k', value: { bytesValue: '!!' } }] }, /bytes_value must be a base64/],
    [{ ...good, attributes: [{ key: 'k', value: { stringValue: 1 } }] }, /string_value must be a string/],
    [{ ...good, attributes: [{ key: 'k', value: { arrayValue: [] } }] }, /array_value must be an object/],
    [{ ...good, attributes: {} }, /attributes must be an array/],
    [{ ...good, attributes: ['k'] }, /attributes must hold/],
    [{ ...good, links: [{ traceId: TRACE_ID }] }, /links.span_id/],
    [{ ...good, status: 'ERROR' }, /status must be an object/],
    [{ ...good, flags: -1 }, /flags must be an unsigned 32-bit/],
    ['a string', /a span must be an object/],
  ];
  const r = decodeTracesJson(traceDoc([good, ...bad.map(([s]) => s), good]));
  assert.equal(r.accepted, 2);
  assert.equal(r.rejected, bad.length);
  assert.equal(r.errors.length, 5);
  // Every case, one at a time, for its reason.
  for (const [s, reason] of bad) {
    const one = decodeTracesJson(traceDoc([good, s]));
    assert.equal(one.accepted, 1);
    assert.equal(one.rejected, 1);
    assert.match(one.errors[0]!, reason);
    assert.ok(!one.errors[0]!.includes(secret), 'no payload value in the reason');
  }
});

test('a bad resource or scope rejects its group; broken containers fail the request', () => {
  const span = { traceId: TRACE_ID, spanId: SPAN_ID };
  const r = decodeTracesJson(
    JSON.stringify({
      resourceSpans: [
        { resource: { attributes: 'nope' }, scopeSpans: [{ spans: [span, span] }] },
        { scopeSpans: [{ scope: 7, spans: [span] }, { scope: { name: 'fine' }, spans: [span] }] },
      ],
    }),
  );
  assert.equal(r.rejected, 3);
  assert.equal(r.accepted, 1);
  assert.equal(r.batch.resourceSpans.length, 1);
  assert.equal(r.batch.resourceSpans[0]!.scopeSpans[0]!.scope.name, 'fine');

  const broken = [
    '',
    '{',
    'null',
    '[]',
    '"x"',
    '{"resourceSpans": {}}',
    '{"resourceSpans": [1]}',
    '{"resourceSpans": [{"scopeSpans": 3}]}',
    '{"resourceSpans": [{"scopeSpans": [{"spans": {}}]}]}',
  ];
  for (const b of broken) assert.throws(() => decodeTracesJson(b), OtlpDecodeError, b);
  assert.throws(() => decodeLogsJson('{"resourceLogs": [{"scopeLogs": [{"logRecords": "x"}]}]}'), OtlpDecodeError);
});

test('invalid JSON errors do not echo the body', () => {
  const secret = 'sk-live-SECRET';
  assert.throws(
    () => decodeTracesJson(`{"resourceSpans": [${secret}]}`),
    (e: unknown) => e instanceof OtlpDecodeError && !e.message.includes(secret) && /not valid JSON/.test(e.message),
  );
});

test('empty documents and null containers are empty batches', () => {
  assert.deepEqual(decodeTracesJson('{}'), { batch: { signal: 'traces', resourceSpans: [] }, accepted: 0, rejected: 0, errors: [] });
  assert.deepEqual(decodeLogsJson('{"resourceLogs": null}').batch, { signal: 'logs', resourceLogs: [] });
});

test('__proto__ keys neither pollute prototypes nor get lost as kvlist keys', () => {
  const body = `{"__proto__": {"polluted": 1}, "resourceSpans": [{"__proto__": {"scopeSpans": []}, "scopeSpans": [{"spans": [
    {"traceId": "${TRACE_ID}", "spanId": "${SPAN_ID}", "__proto__": {"name": "x"},
     "attributes": [{"key": "__proto__", "value": {"kvlistValue": {"values": [{"key": "polluted", "value": {"boolValue": true}}]}}}]}]}]}]}`;
  const r = decodeTracesJson(body);
  assert.equal(r.accepted, 1);
  const s = r.batch.resourceSpans[0]!.scopeSpans[0]!.spans[0]!;
  assert.equal(s.name, '');
  assert.deepStrictEqual(s.attributes, [{ key: '__proto__', value: { kvlist: [{ key: 'polluted', value: true }] } }]);
  assert.equal(({} as Record<string, unknown>)['polluted'], undefined);
  assert.equal(Object.getPrototypeOf(s), Object.prototype);
});

test('nesting: 32 levels of values are kept, deeper rejects the item, absurd depth fails cleanly', () => {
  const nest = (depth: number) => {
    let v = '{"stringValue":"leaf"}';
    for (let i = 0; i < depth; i++) v = `{"arrayValue":{"values":[${v}]}}`;
    return v;
  };
  const spanWith = (depth: number) => `{"traceId":"${TRACE_ID}","spanId":"${SPAN_ID}","attributes":[{"key":"d","value":${nest(depth)}}]}`;
  const body = (depth: number) => `{"resourceSpans":[{"scopeSpans":[{"spans":[${spanWith(0)},${spanWith(depth)}]}]}]}`;
  assert.equal(decodeTracesJson(body(32)).accepted, 2);
  const deep = decodeTracesJson(body(33));
  assert.equal(deep.accepted, 1);
  assert.equal(deep.rejected, 1);
  assert.match(deep.errors[0]!, /nest deeper than 32/);
  // JSON nested far past any sane depth: whatever the parser does, the answer is a decode result or OtlpDecodeError.
  const absurd = '['.repeat(200_000) + ']'.repeat(200_000);
  assert.throws(() => decodeTracesJson(absurd), OtlpDecodeError);
  const r = decodeTracesJson(body(5_000));
  assert.equal(r.rejected, 1);
});
