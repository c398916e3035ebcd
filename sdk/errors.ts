export type DenialReason =
  /** A person denied it. */
  | 'denied'
  | 'expired'
  | 'cancelled'
  /** No decision within timeoutMs. */
  | 'timeout'
  /** The Sluice API could not be reached. */
  | 'unreachable'
  /** The request never opened (the intent span did not reach Sluice, or no policy rule matched it). */
  | 'not_opened'
  /** The API answered an error (401, 403, 5xx, …). */
  | 'http_error'
  /** The approval was already used, or is for another action. */
  | 'consume_refused'
  /** Anything else: fail closed. */
  | 'error';

/** Thrown whenever an action may not run. Privileged actions fail closed: catch it to report, never to proceed. */
export class ApprovalDeniedError extends Error {
  constructor(
    readonly reason: DenialReason,
    message: string,
    readonly approvalId?: string,
    /** Who denied, and their comment, when a person did. */
    readonly decidedBy?: { id: string; name?: string; comment?: string },
  ) {
    super(message);
    this.name = 'ApprovalDeniedError';
  }
}
