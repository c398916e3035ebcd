// Structured JSON logs (pino). Nothing from telemetry payloads is logged:
// errors name the item and the reason, never the value (invariant 1).
import { pino, type Logger } from 'pino';

export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  return pino({
    name: opts.name ?? 'sluice',
    level: opts.level ?? process.env.SLUICE_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    // Secrets that reach config (tokens, passwords) must never print.
    redact: { paths: ['*.password', '*.token', '*.secret', '*.signing_secret', '*.api_key', '*.bot_token', '*.app_token'], censor: '[REDACTED]' },
  });
}

export type { Logger };
