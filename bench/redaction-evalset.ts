// Writes the labeled evaluation set test/fixtures/redaction/eval.jsonl,
// deterministically (fixed seed): `node --import tsx bench/redaction-evalset.ts`.
// Each record is {"text", "spans": [{start, end, type}], "kind"} with UTF-16
// offsets. Labels come from where the generator planted values, never from
// the detector. Positives sit in realistic contexts (JSON, SQL, URLs, prose,
// several languages, chat-message and tool-call wrappers); a third of the
// records are hard negatives (ids, digests, timestamps, versions, card-like
// numbers failing Luhn, base64 that is not a secret, placeholders).
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ALL_TYPES, chars, chatMessages, cleanValue, int, negativeGen, pick, plant, plantNegative, rng, toolCallJson, type Rng } from '../test/fixtures/redaction/samples.js';

export interface EvalSpan {
  start: number;
  end: number;
  type: string;
}
export interface EvalRecord {
  text: string;
  spans: EvalSpan[];
  kind: 'positive' | 'hard_negative' | 'clean';
}

const POSITIVES_PER_TYPE = 60;
const HARD_NEGATIVES = 700;
const CLEAN = 150;
const MIXED = 120;

const PREFIXES = [
  'User: ',
  'Tool output: ',
  'Note from the agent — ',
  'Zusammenfassung: ',
  'Résumé : ',
  '確認してください: ',
  '',
  '',
];

/** Wraps a planted text; returns the final text and how to find the value inside it. */
function wrap(r: Rng, text: string): { text: string; json: boolean } {
  const k = r();
  if (k < 0.2) return { text: chatMessages(r, text), json: true };
  if (k < 0.3) return { text: toolCallJson(r, text), json: true };
  if (k < 0.5) return { text: pick(r, PREFIXES) + text, json: false };
  return { text, json: false };
}

function locate(final: string, value: string, json: boolean): EvalSpan | undefined {
  const needle = json ? JSON.stringify(value).slice(1, -1) : value;
  const start = final.indexOf(needle);
  if (start < 0) return undefined;
  return { start, end: start + needle.length, type: '' };
}

function positive(r: Rng, type: string): EvalRecord {
  const p = plant(r, type);
  const w = wrap(r, p.text);
  const span = locate(w.text, p.value, w.json)!;
  return { text: w.text, spans: [{ ...span, type }], kind: 'positive' };
}

// Negatives in the very contexts secrets appear in: a detector that fires on
// the keyword alone fails these.
const KEYWORD_NEGATIVES: ((r: Rng) => string)[] = [
  (r) => `api_key=${negativeGen.uuid!(r)}`,
  (r) => `{"token": "${negativeGen.git_sha!(r)}"}`,
  () => 'Authorization: Bearer <token>',
  () => 'Authorization: Bearer ${ACCESS_TOKEN}',
  (r) => `client_secret: ${pick(r, ['YOUR_CLIENT_SECRET', '********', 'changeme', '<redacted>'])}`,
  (r) => `session_token=${negativeGen.uuid!(r)}`,
  (r) => `max_tokens=${int(r, 256, 8192)} temperature=0.2`,
  (r) => `{"usage": {"prompt_tokens": ${int(r, 10, 5000)}, "completion_tokens": ${int(r, 10, 900)}, "total_tokens": ${int(r, 10, 6000)}}}`,
  (r) => `token: getAccessTokenFromCache() returned ${pick(r, ['null', 'undefined', 'an expired value'])}`,
  () => 'The bearer authentication scheme is described in RFC 6750.',
  () => 'Use Basic authentication only over TLS.',
  (r) => `secret_name=projects/acme-prod/secrets/db-password/versions/${int(r, 1, 40)}`,
  (r) => `password_last_changed=${negativeGen.iso_time!(r)}`,
  (r) => `postgres://db.internal:5432/app?sslmode=require&application_name=worker-${int(r, 1, 9)}`,
  (r) => `https://example.com/search?q=${pick(r, ['user:admin', 'a@b', 'price:10..20'])}`,
  (r) => `Version ${negativeGen.version!(r)} released on ${negativeGen.date_like!(r)}.`,
  (r) => `Order ${negativeGen.order_id!(r)} total 129.99 EUR, card ending 4242.`,
  (r) => `Card number ${negativeGen.card_bad_luhn!(r)} was declined (invalid number).`,
  (r) => `invalid SSN ${negativeGen.ssn_invalid!(r)} rejected by validation`,
  (r) => `IBAN ${negativeGen.iban_bad!(r)} failed checksum`,
  (r) => `MAC ${negativeGen.mac!(r)} joined the network at ${negativeGen.date_like!(r)}`,
  (r) => `pk_live key for the checkout widget: ${negativeGen.pk_publishable!(r)}`,
  (r) => `data:image/png;base64,${Buffer.from(chars(r, 'abcdefgh', 48)).toString('base64')}`,
  (r) => `std::vector<int> v; auto it = v.begin(); // ${negativeGen.short_sha!(r)}`,
  (r) => `eyJ is how base64 JSON starts; cursor=${negativeGen.base64_blob!(r)}`,
  (r) => `build ${negativeGen.k8s_name!(r)} digest sha256:${negativeGen.sha256!(r)}`,
  (r) => `timestamp=${negativeGen.epoch_ns!(r)} elapsed_ms=${int(r, 1, 99999)}`,
  (r) => `assets: ${negativeGen.asset!(r)}, ${negativeGen.asset!(r)}`,
  (r) => `Call me at extension ${int(r, 100, 999)} or room ${int(r, 1, 40)}-${int(r, 100, 999)}.`,
  (r) => `Lat/long ${(r() * 180 - 90).toFixed(6)}, ${(r() * 360 - 180).toFixed(6)}`,
];

function hardNegative(r: Rng): EvalRecord {
  const text = r() < 0.5 ? plantNegative(r).text : pick(r, KEYWORD_NEGATIVES)(r);
  const w = wrap(r, text);
  return { text: w.text, spans: [], kind: 'hard_negative' };
}

function mixed(r: Rng): EvalRecord {
  const a = pick(r, ALL_TYPES);
  let b = pick(r, ALL_TYPES);
  if (b === a) b = pick(r, ALL_TYPES);
  const pa = plant(r, a);
  const pb = plant(r, b);
  const sep = pick(r, ['\n', ' | ', '. Also: ', '\n\n']);
  const text = pa.text + sep + pb.text;
  const off = pa.text.length + sep.length;
  return {
    text,
    spans: [
      { start: pa.start, end: pa.end, type: a },
      { start: pb.start + off, end: pb.end + off, type: b },
    ],
    kind: 'positive',
  };
}

export function buildEvalSet(seed = 20240601): EvalRecord[] {
  const r = rng(seed);
  const out: EvalRecord[] = [];
  for (const t of ALL_TYPES) for (let i = 0; i < POSITIVES_PER_TYPE; i++) out.push(positive(r, t));
  for (let i = 0; i < MIXED; i++) out.push(mixed(r));
  for (let i = 0; i < HARD_NEGATIVES; i++) out.push(hardNegative(r));
  for (let i = 0; i < CLEAN; i++) out.push({ text: cleanValue(r), spans: [], kind: 'clean' });
  // Deterministic shuffle so kinds interleave.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

export const EVAL_PATH = fileURLToPath(new URL('../test/fixtures/redaction/eval.jsonl', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const set = buildEvalSet();
  for (const rec of set) for (const s of rec.spans) if (s.start < 0 || s.end > rec.text.length) throw new Error('bad span');
  writeFileSync(EVAL_PATH, set.map((x) => JSON.stringify(x)).join('\n') + '\n');
  const byType = new Map<string, number>();
  for (const rec of set) for (const s of rec.spans) byType.set(s.type, (byType.get(s.type) ?? 0) + 1);
  const neg = set.filter((x) => x.kind === 'hard_negative').length;
  process.stdout.write(`wrote ${set.length} records to ${EVAL_PATH}: ${neg} hard negatives (${((neg / set.length) * 100).toFixed(1)}%), positives per type min ${Math.min(...byType.values())}\n`);
}
