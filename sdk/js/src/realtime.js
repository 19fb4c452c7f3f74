// The `/ws/{session_id}` socket (api-reference "WebSocket", CONTRACT §6).
//
// connect → send `authenticate` → `authenticated` (or `error` and close) → `subscribe`.
// Output lines carry `seq`; subscribing with `after_seq` gets every stored line after it, then
// the live ones, each once and in order, up to `command_completed`. `stream()` remembers the
// last `seq` it gave out and, when the connection drops (or the server says the client fell
// behind), reconnects and subscribes again after it.

import { camelView, toWire } from './case.js';
import { ApiConnectionError, ClaudeCliError, StreamDisconnectedError, makeError } from './errors.js';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

export function websocketURL(baseURL, sessionId, wsURL = null) {
  if (wsURL) return `${wsURL.replace(/\/+$/, '')}/${encodeURIComponent(sessionId)}`;
  const url = new URL(baseURL);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  url.pathname = `${url.pathname.replace(/\/+$/, '').replace(/\/api$/, '')}/ws/${
    encodeURIComponent(sessionId)}`;
  url.search = '';
  return url.toString();
}

function socketClass(client) {
  const Impl = client.WebSocket || globalThis.WebSocket;
  if (!Impl) {
    throw new ClaudeCliError('No WebSocket here: use Node.js 22+, run Node.js 20 with '
      + '--experimental-websocket, or pass { WebSocket } (e.g. the ws package) to the client');
  }
  return Impl;
}

/** One authenticated socket on a session: `on(type, handler)`, `subscribe(channel, target)`,
 * `send`, `close`; `ready` resolves once authenticated. Messages sent before that are queued. */
export class WebSocketConnection {
  constructor(client, sessionId, { retryAuth = true } = {}) {
    this.client = client;
    this.sessionId = String(sessionId);
    this.url = websocketURL(client.baseURL, this.sessionId, client.wsURL);
    this.handlers = new Map();
    this.queue = [];
    this.authenticated = null;
    this.closed = false;
    this.ready = this._open(retryAuth);
    this.ready.catch(() => {}); // reported through `ready` and the 'error' handlers
  }

  on(type, handler) {
    if (!this.handlers.has(type)) this.handlers.set(type, []);
    this.handlers.get(type).push(handler);
    return this;
  }

  _emit(type, value) {
    for (const handler of this.handlers.get(type) || []) handler(value);
  }

  async _open(retryAuth) {
    const transport = this.client._transport;
    const Impl = socketClass(this.client);
    await this.client._ensureLogin();
    for (let attempt = 0; ; attempt += 1) {
      const socket = new Impl(this.url);
      this.socket = socket;
      const outcome = await this._authenticate(socket, transport.accessToken);
      if (outcome.ok) {
        for (const message of this.queue.splice(0)) socket.send(message);
        this._emit('open', this.authenticated);
        return this;
      }
      this.socket = null; // its close event is no one's business now
      try { socket.close(1000); } catch { /* already closed */ }
      if (attempt === 0 && retryAuth && outcome.error.code === 'AUTH_TOKEN_INVALID'
          && (transport.refreshToken || transport.credentials)) {
        await transport.refreshAfter(transport.accessToken);
        continue;
      }
      this.closed = true;
      this._emit('error', outcome.error);
      throw outcome.error;
    }
  }

  _authenticate(socket, token) {
    return new Promise((resolve) => {
      socket.addEventListener('open', () => {
        socket.send(JSON.stringify({ type: 'authenticate', token }));
      });
      socket.addEventListener('message', (event) => {
        if (socket !== this.socket) return;
        const message = camelView(JSON.parse(String(event.data)));
        if (!this.authenticated && message.type === 'error') {
          resolve({ ok: false, error: makeError(null, message.data) });
          return;
        }
        if (!this.authenticated && message.type === 'authenticated') {
          this.authenticated = message;
          resolve({ ok: true });
        }
        this._emit('message', message);
        this._emit(message.type, message.data ?? message);
      });
      socket.addEventListener('close', (event) => {
        resolve({ ok: false, error: new ApiConnectionError(`websocket closed (${event.code})`) });
        if (socket !== this.socket) return;
        this.closed = true;
        this._emit('close', event);
      });
      socket.addEventListener('error', () => {
        resolve({ ok: false, error: new ApiConnectionError(`websocket ${this.url} failed`) });
      });
    });
  }

  send(message) {
    const text = JSON.stringify(toWire(message));
    if (this.authenticated && !this.closed) this.socket.send(text);
    else this.queue.push(text);
  }

  subscribe(channel, target = {}) { this.send({ type: 'subscribe', channel, ...target }); }
  unsubscribe(channel, target = {}) { this.send({ type: 'unsubscribe', channel, ...target }); }
  executeTask(taskId, { priority = 'normal', options } = {}) {
    this.send({ type: 'execute_task', taskId, priority, options });
  }
  getMetrics(metrics) { this.send({ type: 'get_metrics', metrics }); }
  ping(timestamp = Date.now()) { this.send({ type: 'ping', timestamp }); }

  close() {
    this.closed = true;
    try { this.socket?.close(1000); } catch { /* already closed */ }
  }

  /** The next message of `type` (any type without one); rejects after `timeout` ms. */
  next(type = null, timeout = 10000) {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new ApiConnectionError(
        `no ${type || 'message'} within ${timeout} ms`)), timeout);
      const handler = (message) => {
        if (type && message.type !== type) return;
        clearTimeout(timer);
        const list = this.handlers.get('message');
        list.splice(list.indexOf(handler), 1);
        resolve(message);
      };
      this.on('message', handler);
    });
  }
}

/** `for await (const line of client.stream(executionId))`: every line once, in order, until
 * the run ends; `completion` then holds `status`, `exit_code` and `last_seq`. */
export class OutputStream {
  constructor(client, ownerType, ownerId, { afterSeq = 0, sessionId = null,
    maxReconnects = 8, reconnectDelay = 200 } = {}) {
    Object.assign(this, { client, ownerType, ownerId: String(ownerId), lastSeq: afterSeq,
      sessionId, maxReconnects, reconnectDelay, completion: null, reconnects: 0 });
  }

  async* [Symbol.asyncIterator]() {
    let created = null;
    if (!this.sessionId) {
      created = await this.client.sessions.create({});
      this.sessionId = created.session_id;
    }
    let failures = 0;
    try {
      for (;;) {
        const outcome = await this._connect();
        for await (const message of outcome.messages) {
          if (message.kind === 'line') {
            failures = 0;
            yield message.line;
          } else if (message.kind === 'done') {
            this.completion = message.data;
            return;
          }
        }
        failures += 1;
        this.reconnects += 1;
        if (failures > this.maxReconnects) {
          throw new StreamDisconnectedError(`output stream of ${this.ownerType} ${this.ownerId} `
            + `lost; resume with afterSeq=${this.lastSeq}`, this.lastSeq);
        }
        await sleep(Math.min(this.reconnectDelay * 2 ** (failures - 1), 5000));
      }
    } finally {
      if (created) await this.client.sessions.delete(created.session_id).catch(() => {});
    }
  }

  /** One connection's worth of messages, as an async iterator that ends when it drops. */
  async _connect() {
    const pending = [];
    let wake = null;
    let ended = false;
    const push = (item) => { pending.push(item); if (wake) { wake(); wake = null; } };
    const key = `${this.ownerType}_id`;
    const ws = new WebSocketConnection(this.client, this.sessionId);
    ws.on('command_output', (data) => {
      if (String(data[key]) !== this.ownerId || data.seq <= this.lastSeq) return;
      this.lastSeq = data.seq;
      push({ kind: 'line', line: data });
    });
    ws.on('command_completed', (data) => {
      if (String(data[key]) === this.ownerId) push({ kind: 'done', data });
    });
    ws.on('error', (data) => {
      const error = data instanceof Error ? data : makeError(null, data);
      if (error.code === 'WEBSOCKET_CONNECTION_FAILED' || error instanceof ApiConnectionError) {
        return; // fell behind, or the connection failed: resume
      }
      if (error.code === 'AUTH_TOKEN_INVALID') {
        this.client._transport.refreshAfter(this.client._transport.accessToken).catch(() => {});
        return;
      }
      push({ kind: 'fail', error });
    });
    ws.on('close', () => { ended = true; push({ kind: 'end' }); });
    ws.subscribe('command_output', { [key]: this.ownerId, after_seq: this.lastSeq });
    try {
      await ws.ready;
    } catch (err) {
      if (!(err instanceof ApiConnectionError)) throw err;
      return { messages: (async function* none() {}()) }; // could not connect: try again
    }
    return {
      messages: (async function* drain() {
        try {
          for (;;) {
            while (pending.length) {
              const item = pending.shift();
              if (item.kind === 'fail') throw item.error;
              if (item.kind === 'end') return;
              yield item;
              if (item.kind === 'done') return;
            }
            if (ended) return;
            await new Promise((resolve) => { wake = resolve; });
          }
        } finally {
          ws.close();
        }
      }()),
    };
  }
}
