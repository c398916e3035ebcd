// Durations and sizes as the collector writes them ("200ms", "30s", "20MiB"),
// parsed once at load so components see plain numbers.
import { z } from 'zod';

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export function parseDuration(text: string): number {
  if (text.trim() === '0') return 0;
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h|d)/gy;
  let total = 0;
  let matched = 0;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
    matched = re.lastIndex;
  }
  if (matched === 0 || matched !== text.length) throw new Error(`"${text}" is not a duration; write e.g. "200ms", "30s", "5m", "1h30m"`);
  return total;
}

/** A duration in milliseconds: a number (ms) or a string like "30s". */
export const duration = (def?: string) => {
  const base = z.union([z.number().nonnegative(), z.string()]).transform((v, ctx) => {
    if (typeof v === 'number') return v;
    try {
      return parseDuration(v.trim());
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });
  return def === undefined ? base : base.prefault(def as never);
};

const SIZE_UNITS: Record<string, number> = { b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3 };

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([a-z]*)$/i.exec(text.trim());
  const unit = (m?.[2] ?? '').toLowerCase() || 'b';
  if (!m || !(unit in SIZE_UNITS)) throw new Error(`"${text}" is not a size; write e.g. 20971520, "20MiB", "512KiB"`);
  return Math.floor(Number(m[1]) * (SIZE_UNITS[unit] as number));
}

/** A size in bytes: a number or a string like "20MiB". */
export const byteSize = (def?: string | number) => {
  const base = z.union([z.number().int().nonnegative(), z.string()]).transform((v, ctx) => {
    if (typeof v === 'number') return v;
    try {
      return parseSize(v);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: (err as Error).message });
      return z.NEVER;
    }
  });
  return def === undefined ? base : base.prefault(def as never);
};

/** "host:port" as the collector writes endpoints; ":4318" means all interfaces. */
export const hostPort = (def: string) =>
  z
    .string()
    .default(def)
    .transform((v, ctx) => {
      const i = v.lastIndexOf(':');
      const port = Number(v.slice(i + 1));
      if (i < 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
        ctx.addIssue({ code: 'custom', message: `"${v}" is not host:port; write e.g. "0.0.0.0:4318" or "127.0.0.1:0"` });
        return z.NEVER;
      }
      const host = v.slice(0, i).replace(/^\[|\]$/g, '') || '0.0.0.0';
      return { host, port };
    });

export type HostPort = { host: string; port: number };
