// Property: a secret or PII value of any type, planted in random surrounding
// text (any Unicode, optionally inside chat-message JSON), never survives
// redaction — neither whole nor, for secrets, as any 8-character slice.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { createRedactor } from '../../processors/redaction/index.js';
import { ALL_TYPES, SECRET_TYPES, chatMessages, plant, rng } from '../fixtures/redaction/samples.js';

const red = createRedactor({});
// Includes escapes written out, as in log lines that escape their newlines.
// Types known only by the words around them (a 40-character AWS secret
// alone is any base64): they are always planted in a context.
const CONTEXT_TYPES = new Set(['aws_secret_key', 'generic_api_key', 'password_in_url', 'bearer_token', 'azure_storage_key']);
const SEPARATORS = [' ', '\n', '\t', '. ', ', ', ' | ', '; ', '\n\n', '\\n', '\\t', '"'];

function leakedSlices(value: string, input: string, output: string): string[] {
  // A slice in the output that the input has nowhere but inside the value
  // can only have come from the value.
  const rest = input.split(value).join('\u0000');
  const out: string[] = [];
  for (let i = 0; i + 8 <= value.length; i++) {
    const s = value.slice(i, i + 8);
    if (output.includes(s) && !rest.includes(s)) out.push(s);
  }
  return out;
}

test('planted values of every type never survive redaction', () => {
  fc.assert(
    fc.property(
      fc.constantFrom(...ALL_TYPES),
      fc.integer({ min: 1, max: 2 ** 31 - 1 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.string({ unit: 'grapheme', maxLength: 40 }),
      fc.constantFrom(...SEPARATORS),
      fc.constantFrom(...SEPARATORS),
      fc.boolean(),
      fc.boolean(),
      (type, seed, before, after, s1, s2, asJson, bare) => {
        const r = rng(seed);
        const p = plant(r, type);
        // Bare: the value alone between separators, with no words around it.
        const plain = before + s1 + (bare && !CONTEXT_TYPES.has(type) ? p.value : p.text) + s2 + after;
        const input = asJson ? chatMessages(r, plain) : plain;
        const value = asJson ? JSON.stringify(p.value).slice(1, -1) : p.value;
        const output = red.redactText(input).text;
        assert.ok(!output.includes(p.value) && !output.includes(value), `${type} survived in ${JSON.stringify(output)}`);
        if (SECRET_TYPES.includes(type)) assert.deepEqual(leakedSlices(value, input, output), [], `${type}: slices survived in ${JSON.stringify(output)}`);
        if (asJson) JSON.parse(output);
      },
    ),
    { numRuns: 1000, seed: 424242 },
  );
});

test('several values in one text, every one redacted', () => {
  fc.assert(
    fc.property(fc.array(fc.tuple(fc.constantFrom(...ALL_TYPES), fc.integer({ min: 1, max: 2 ** 31 - 1 })), { minLength: 2, maxLength: 6 }), (plants) => {
      const parts = plants.map(([t, seed]) => ({ t, ...plant(rng(seed), t) }));
      const input = parts.map((p) => p.text).join('\n');
      const output = red.redactText(input).text;
      for (const p of parts) assert.ok(!output.includes(p.value), `${p.t} survived in ${JSON.stringify(output)}`);
    }),
    { numRuns: 200, seed: 4343 },
  );
});
