// JSON over fetch for the business API, turning every failure into one typed HeraldError.
// Browser-safe: global fetch (or an injected one), no Node-only imports.

/** The contract's error shape, plus the SDK's own codes for failures that never got an answer. */
export class HeraldError extends Error {
  override name = "HeraldError";
  /** HTTP status; 0 when no response arrived (`network_error`) or it was unreadable. */
  readonly status: number;
  /** The contract's stable snake_case code, e.g. `not_friends`, `unauthorized`, `too_large`. */
  readonly code: string;
  /** Seconds to wait, from `Retry-After` (429). */
  readonly retryAfter: number | undefined;
  /** The answer's other `error` fields, e.g. `mutedUntil` (ms) with `muted`. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(
    status: number,
    code: string,
    message: string,
    retryAfter?: number,
    options?: { cause?: unknown; details?: Record<string, unknown> },
  ) {
    super(message, options);
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
    this.details = options?.details ?? {};
  }
}

export type FetchLike = typeof fetch;

const NETWORK_ATTEMPTS = 3;

export type HttpMethod = "GET" | "POST" | "PATCH" | "DELETE";

export interface HttpClientOptions {
  baseUrl: string;
  fetch?: FetchLike;
  /** The session token to send as a bearer, read on every request. */
  token: () => string | undefined;
}

/** A thin JSON client: one request → the parsed body, or a thrown HeraldError. */
export class HttpClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: FetchLike;
  private readonly token: () => string | undefined;

  constructor(opts: HttpClientOptions) {
    this.baseUrl = opts.baseUrl.replace(/\/+$/, "");
    // Called through a closure: a detached `window.fetch` throws "Illegal invocation" in browsers.
    this.fetchImpl = opts.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.token = opts.token;
  }

  /**
   * `query` values that are undefined are left out. A request that never got an answer is sent
   * again at once, up to twice, when repeating it is harmless (GET, DELETE, or `idempotent`):
   * Node's fetch may pick a pooled keep-alive connection the server already closed (e.g. across
   * a server restart, nodejs/undici#3492) and fail it with "other side closed".
   */
  async request<T>(
    method: HttpMethod,
    path: string,
    body?: unknown,
    query?: Record<string, string | number | undefined>,
    opts: { idempotent?: boolean } = {},
  ): Promise<T> {
    const attempts = (opts.idempotent ?? method !== "POST") ? NETWORK_ATTEMPTS : 1;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.once<T>(method, path, body, query);
      } catch (err) {
        if (!(err instanceof HeraldError && err.code === "network_error") || attempt >= attempts) {
          throw err;
        }
      }
    }
  }

  private async once<T>(
    method: HttpMethod,
    path: string,
    body: unknown,
    query: Record<string, string | number | undefined> | undefined,
  ): Promise<T> {
    const headers: Record<string, string> = { accept: "application/json" };
    const token = this.token();
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers["content-type"] = "application/json";
    let response: Response;
    try {
      response = await this.fetchImpl(this.baseUrl + path + queryString(query), {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new HeraldError(0, "network_error", `request failed: ${describe(err)}`, undefined, {
        cause: err,
      });
    }
    const text = await response.text().catch(() => "");
    return answerOf<T>(
      response.status,
      response.statusText,
      response.headers.get("retry-after"),
      text,
    );
  }

  /**
   * POSTs a raw body (a file upload) with its own headers. In a browser, XMLHttpRequest reports
   * the bytes sent to `onProgress` as they go (fetch cannot); elsewhere fetch sends it and
   * `onProgress` hears only the end.
   */
  async postRaw<T>(
    path: string,
    body: Blob | Uint8Array,
    headers: Record<string, string>,
    onProgress?: (sent: number, total: number) => void,
  ): Promise<T> {
    const all: Record<string, string> = { accept: "application/json", ...headers };
    const token = this.token();
    if (token) all.authorization = `Bearer ${token}`;
    const url = this.baseUrl + path;
    const total = body instanceof Blob ? body.size : body.byteLength;
    if (typeof XMLHttpRequest !== "undefined" && body instanceof Blob)
      return xhrPost<T>(url, body, all, onProgress);
    let response: Response;
    try {
      // Any ArrayBufferView is a body; the DOM types name only some of them.
      response = await this.fetchImpl(url, {
        method: "POST",
        headers: all,
        body: body as BodyInit,
      });
    } catch (err) {
      throw new HeraldError(0, "network_error", `upload failed: ${describe(err)}`, undefined, {
        cause: err,
      });
    }
    const text = await response.text().catch(() => "");
    const answer = answerOf<T>(
      response.status,
      response.statusText,
      response.headers.get("retry-after"),
      text,
    );
    onProgress?.(total, total);
    return answer;
  }
}

function xhrPost<T>(
  url: string,
  body: Blob,
  headers: Record<string, string>,
  onProgress: ((sent: number, total: number) => void) | undefined,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", url);
    for (const [name, value] of Object.entries(headers)) xhr.setRequestHeader(name, value);
    if (onProgress) xhr.upload.onprogress = (e) => onProgress(e.loaded, e.total || body.size);
    xhr.onload = () => {
      try {
        resolve(
          answerOf<T>(
            xhr.status,
            xhr.statusText,
            xhr.getResponseHeader("retry-after"),
            xhr.responseText,
          ),
        );
      } catch (err) {
        reject(err);
      }
    };
    xhr.onerror = () => reject(new HeraldError(0, "network_error", "upload failed"));
    xhr.send(body);
  });
}

/** An answer's body parsed, or the HeraldError it stands for. */
function answerOf<T>(
  status: number,
  statusText: string,
  retryAfter: string | null,
  text: string,
): T {
  if (status < 200 || status > 299) throw errorFrom(status, statusText, retryAfter, text);
  if (text === "") return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new HeraldError(status, "bad_response", "response body is not JSON");
  }
}

function queryString(query: Record<string, string | number | undefined> | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined) params.set(key, String(value));
  }
  const s = params.toString();
  return s === "" ? "" : `?${s}`;
}

function errorFrom(
  status: number,
  statusText: string,
  retryAfterHeader: string | null,
  text: string,
): HeraldError {
  const retryAfter = parseRetryAfter(retryAfterHeader);
  let code = `http_${status}`;
  let message = statusText || `HTTP ${status}`;
  let details: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(text) as { error?: Record<string, unknown> };
    const { code: c, message: m, ...rest } = parsed.error ?? {};
    if (typeof c === "string") code = c;
    if (typeof m === "string") message = m;
    details = rest;
  } catch {
    // Not the contract's shape (a proxy's page, an empty body): keep the status-derived code.
  }
  return new HeraldError(status, code, message, retryAfter, { details });
}

/** Seconds, from either form the header allows (delta-seconds or an HTTP date). */
function parseRetryAfter(value: string | null): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds);
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - Date.now()) / 1000));
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
