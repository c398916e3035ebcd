// The few calls the SDK makes to the Sluice API, with fetch (no dependency).
export interface ApiClientOptions {
  endpoint: string;
  token?: string;
}

export interface ApiAnswer<T> {
  status: number;
  body: T | undefined;
}

export class ApiClient {
  readonly endpoint: string;
  readonly #token?: string;

  constructor(opts: ApiClientOptions) {
    this.endpoint = opts.endpoint.replace(/\/+$/, '');
    this.#token = opts.token;
  }

  async call<T>(method: 'GET' | 'POST', path: string, opts: { body?: unknown; timeoutMs: number; signal?: AbortSignal }): Promise<ApiAnswer<T>> {
    const signals = [AbortSignal.timeout(opts.timeoutMs), ...(opts.signal ? [opts.signal] : [])];
    const res = await fetch(`${this.endpoint}${path}`, {
      method,
      headers: {
        accept: 'application/json',
        ...(this.#token ? { authorization: `Bearer ${this.#token}` } : {}),
        ...(opts.body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      signal: AbortSignal.any(signals),
    });
    const text = await res.text();
    let body: T | undefined;
    try {
      body = text ? (JSON.parse(text) as T) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.status, body };
  }
}

export function defaultEndpoint(): string {
  return process.env.SLUICE_API_URL || 'http://127.0.0.1:4380';
}

export function defaultToken(): string | undefined {
  return process.env.SLUICE_API_TOKEN || undefined;
}
