// HTTP over fetch: the envelope unwrapped, errors typed, the access token refreshed on a
// 401 AUTH_TOKEN_INVALID (the server refuses before doing anything, so a retried write is never
// done twice), and 429s retried after the server's Retry-After.

import { camelView, toWire } from './case.js';
import { ApiConnectionError, AuthenticationError, makeError } from './errors.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** Seconds until a 429's window resets: the later of Retry-After (seconds or an HTTP date)
 * and X-RateLimit-Reset (epoch seconds); one second when neither is sent. */
export function retryAfter(headers) {
  const waits = [];
  const value = headers.get('retry-after');
  if (value) {
    const seconds = Number(value);
    const when = Date.parse(value);
    if (!Number.isNaN(seconds)) waits.push(seconds);
    else if (!Number.isNaN(when)) waits.push((when - Date.now()) / 1000);
  }
  const reset = Number(headers.get('x-ratelimit-reset'));
  if (reset) waits.push(reset - Date.now() / 1000);
  return waits.length ? Math.max(0, ...waits) : 1;
}

function query(params) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(toWire(params || {}))) {
    if (value === undefined || value === null) continue;
    search.set(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

export class Transport {
  constructor({ baseURL, token = null, refreshToken = null, username = null, password = null,
    maxRetries = 3, maxRetryWait = 60, timeout = 30000, fetch: fetchImpl = null,
    onTokens = null }) {
    this.baseURL = baseURL.replace(/\/+$/, '');
    this.accessToken = token;
    this.refreshToken = refreshToken;
    this.credentials = username && password ? { username, password } : null;
    this.maxRetries = maxRetries;
    this.maxRetryWait = maxRetryWait;
    this.timeout = timeout;
    this.fetch = fetchImpl || globalThis.fetch.bind(globalThis);
    this.onTokens = onTokens;
    this._renewing = null;
  }

  /** The envelope's `data` (camelCase-readable); `auth` is 'access', 'refresh' or null. */
  async request(method, path, { params, body, auth = 'access' } = {}) {
    if (auth === 'access' && !this.accessToken && this.credentials) {
      await this._once(() => this.login(this.credentials.username, this.credentials.password));
    }
    const url = `${this.baseURL}${path}${query(params)}`;
    let retries = 0;
    let refreshes = 0; // two at most: a token may also expire while a 429 is waited out
    for (;;) {
      const token = auth === 'refresh' ? this.refreshToken : auth ? this.accessToken : null;
      const headers = { Accept: 'application/json' };
      if (token) headers.Authorization = `Bearer ${token}`;
      const init = { method, headers, signal: AbortSignal.timeout(this.timeout) };
      if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        init.body = JSON.stringify(toWire(body));
      }
      let response;
      try {
        response = await this.fetch(url, init);
      } catch (err) {
        throw new ApiConnectionError(`${method} ${url}: ${err.cause?.message || err.message}`);
      }
      const payload = await response.json().catch(() => null);
      if (response.status === 429 && retries < this.maxRetries) {
        // Whole seconds round down to 0 near a window's end: never retry at once.
        const wait = Math.max(retryAfter(response.headers), 0.25 * 2 ** retries);
        if (wait <= this.maxRetryWait) {
          retries += 1;
          await sleep(wait * 1000);
          continue;
        }
      }
      if (response.status === 401 && auth === 'access' && refreshes < 2
          && (this.refreshToken || this.credentials)
          && payload?.error?.code === 'AUTH_TOKEN_INVALID') {
        refreshes += 1;
        await this.refreshAfter(token);
        continue;
      }
      if (response.ok) return camelView(payload && 'data' in payload ? payload.data : payload);
      const error = payload?.error || { message: response.statusText };
      throw makeError(response.status, error, {
        requestId: payload?.meta?.request_id || response.headers.get('x-request-id'),
        body: payload,
        retryAfter: response.status === 429 ? retryAfter(response.headers) : null,
      });
    }
  }

  /** One renewal at a time: concurrent callers wait for the same one. */
  _once(work) {
    if (!this._renewing) {
      this._renewing = work().finally(() => { this._renewing = null; });
    }
    return this._renewing;
  }

  /** Refresh unless someone already replaced `stale`; log in again when the refresh token is
   * refused and credentials were given. */
  async refreshAfter(stale) {
    if (this._renewing) return this._renewing;
    if (this.accessToken !== stale) return undefined;
    return this._once(async () => {
      try {
        await this.refresh();
      } catch (err) {
        if (!(err instanceof AuthenticationError) || !this.credentials) throw err;
        await this.login(this.credentials.username, this.credentials.password);
      }
    });
  }

  async refresh() {
    if (!this.refreshToken) {
      throw new AuthenticationError('No refresh token: log in first',
        { code: 'AUTH_TOKEN_MISSING' });
    }
    const data = await this.request('POST', '/auth/refresh', { auth: 'refresh' });
    this.setTokens(data.access_token, data.refresh_token || this.refreshToken);
    return data;
  }

  async login(username, password) {
    const data = await this.request('POST', '/auth/login',
      { auth: null, body: { username, password } });
    this.setTokens(data.access_token, data.refresh_token);
    return data;
  }

  setTokens(access, refresh) {
    this.accessToken = access;
    if (refresh) this.refreshToken = refresh;
    if (this.onTokens && access) this.onTokens(access, this.refreshToken);
  }
}
