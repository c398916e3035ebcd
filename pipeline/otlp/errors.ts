// What the OTLP decoders return and throw. Reasons name the field and the rule
// that failed (and at most a length or an index), never a telemetry value: they
// end up in 400 bodies, partial-success messages and logs, all of which leave
// the edge before redaction has run.

/** The outcome of decoding one export request. */
export interface DecodeResult<B> {
  /** Every item that decoded and validated. Groups emptied by rejection are dropped. */
  batch: B;
  /** Spans / log records in `batch`. */
  accepted: number;
  /** Spans / log records left out, each for a reason like those in `errors`. */
  rejected: number;
  /** The first few rejection reasons (at most MAX_REASONS), with no payload values. */
  errors: string[];
}

/** The request as a whole is unusable: answer 400 / INVALID_ARGUMENT with `message`. */
export class OtlpDecodeError extends Error {
  override readonly name = 'OtlpDecodeError';
}

/** How many rejection reasons a DecodeResult carries; the count is exact regardless. */
export const MAX_REASONS = 5;

/** Nesting of array/kvlist AnyValues beyond which the item holding them is rejected. */
export const MAX_ANY_VALUE_DEPTH = 32;

/**
 * A decoder's internal "this item (or group, or request) is malformed", caught
 * at the level it belongs to and never thrown out of a decoder. Not an Error:
 * no stack to capture on a path hostile input can take at will.
 */
export class Malformed {
  constructor(readonly reason: string) {}
}
