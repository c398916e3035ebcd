// HTTP Content-Type of each ClickHouse output format, as a ClickHouse server
// sends it, so clients that dispatch on it (Grafana, curl users) see the same.
const JSON_FORMATS = new Set([
  'JSON', 'JSONStrings', 'JSONCompact', 'JSONCompactStrings', 'JSONColumns', 'JSONCompactColumns',
  'JSONColumnsWithMetadata', 'JSONObjectEachRow',
]);
const NDJSON_FORMATS = new Set([
  'JSONEachRow', 'JSONStringsEachRow', 'JSONCompactEachRow', 'JSONCompactStringsEachRow',
  'JSONEachRowWithProgress', 'JSONStringsEachRowWithProgress', 'JSONCompactEachRowWithNames',
  'JSONCompactEachRowWithNamesAndTypes', 'JSONCompactStringsEachRowWithNames', 'JSONCompactStringsEachRowWithNamesAndTypes',
  'JSONLines', 'NDJSON',
]);
const TSV_FORMATS = new Set([
  'TabSeparated', 'TSV', 'TabSeparatedRaw', 'TSVRaw', 'Raw', 'TabSeparatedWithNames', 'TSVWithNames',
  'TabSeparatedWithNamesAndTypes', 'TSVWithNamesAndTypes', 'TabSeparatedRawWithNames', 'TSVRawWithNames',
  'TabSeparatedRawWithNamesAndTypes', 'TSVRawWithNamesAndTypes',
]);
const TEXT_FORMATS = new Set([
  'Pretty', 'PrettyCompact', 'PrettyCompactMonoBlock', 'PrettyNoEscapes', 'PrettySpace', 'PrettyCompactNoEscapes',
  'PrettySpaceNoEscapes', 'Vertical', 'Markdown', 'Values', 'TSKV', 'CustomSeparated', 'Template', 'LineAsString',
  'Null', 'PrettyMonoBlock', 'PrettyJSONEachRow', 'Prometheus',
]);

export function contentTypeFor(format: string): string {
  if (JSON_FORMATS.has(format)) return 'application/json; charset=UTF-8';
  if (NDJSON_FORMATS.has(format)) return 'application/x-ndjson; charset=UTF-8';
  if (TSV_FORMATS.has(format)) return 'text/tab-separated-values; charset=UTF-8';
  if (format === 'CSV') return 'text/csv; charset=UTF-8; header=absent';
  if (format === 'CSVWithNames' || format === 'CSVWithNamesAndTypes') return 'text/csv; charset=UTF-8; header=present';
  if (format === 'XML') return 'application/xml; charset=UTF-8';
  if (TEXT_FORMATS.has(format)) return 'text/plain; charset=UTF-8';
  return 'application/octet-stream';
}
