// google.rpc.Status, the error body OTLP uses on both transports (in the
// request's encoding over HTTP; as grpc-status-details-bin over gRPC), with
// an optional google.rpc.RetryInfo so clients know when to come back.

export const GrpcCode = { INVALID_ARGUMENT: 3, RESOURCE_EXHAUSTED: 8, UNAVAILABLE: 14, INTERNAL: 13, UNIMPLEMENTED: 12 } as const;

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

function field(no: number, bytes: Uint8Array): number[] {
  return [...varint((no << 3) | 2), ...varint(bytes.length), ...bytes];
}

function retryInfo(seconds: number): Uint8Array {
  const duration = new Uint8Array([...varint((1 << 3) | 0), ...varint(seconds)]);
  return new Uint8Array(field(1, duration));
}

export function encodeStatusProto(code: number, message: string, retryAfterSeconds?: number): Buffer {
  const parts: number[] = [];
  if (code) parts.push(...varint((1 << 3) | 0), ...varint(code));
  if (message) parts.push(...field(2, Buffer.from(message, 'utf8')));
  if (retryAfterSeconds !== undefined) {
    const any = [...field(1, Buffer.from('type.googleapis.com/google.rpc.RetryInfo')), ...field(2, retryInfo(retryAfterSeconds))];
    parts.push(...field(3, new Uint8Array(any)));
  }
  return Buffer.from(parts);
}

export function encodeStatusJson(code: number, message: string, retryAfterSeconds?: number): string {
  const body: Record<string, unknown> = { code, message };
  if (retryAfterSeconds !== undefined) body.details = [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${retryAfterSeconds}s` }];
  return JSON.stringify(body);
}
