// JavaScript client for the Claude CLI Web UI API: fetch for HTTP, the platform's WebSocket
// for live events. No dependencies, no build step (types: index.d.ts, openapi.d.ts).
//
//   import { ClaudeCliClient } from '@claude-cli/sdk';
//   const client = new ClaudeCliClient({ baseURL: 'http://localhost:8000/api', token });
//   const task = await client.tasks.create({ title: 'Build', projectId, priority: 1 });

import { Transport } from './http.js';
import { OutputStream, WebSocketConnection } from './realtime.js';
import {
  Auth, Commands, Executions, Health, Projects, Queues, Sessions, System, Tasks,
  Users, Webhooks,
} from './resources.js';

export * from './errors.js';
export { OPERATIONS } from './resources.js';
export { OutputStream, WebSocketConnection, websocketURL } from './realtime.js';
export { camelView, toWire } from './case.js';
export { retryAfter } from './http.js';

export class ClaudeCliClient {
  /**
   * @param {object} options baseURL (the API root, e.g. http://localhost:8000/api), token,
   *   refreshToken, username + password (log in on first use), maxRetries (429s, default 3),
   *   maxRetryWait (seconds, default 60), timeout (ms), wsURL (the /ws root), WebSocket (a
   *   constructor where the platform has none), fetch, onTokens(access, refresh).
   */
  constructor(options = {}) {
    const { baseURL = 'http://localhost:8000/api', wsURL = null, WebSocket = null } = options;
    this.baseURL = baseURL.replace(/\/+$/, '');
    this.wsURL = wsURL;
    this.WebSocket = WebSocket;
    this._transport = new Transport({ ...options, baseURL: this.baseURL });
    const t = this._transport;
    this.auth = new Auth(t, 'auth');
    this.health = new Health(t, 'health');
    this.system = new System(t, 'system');
    this.tasks = new Tasks(t, 'tasks');
    this.executions = new Executions(t, 'executions');
    this.projects = new Projects(t, 'projects');
    this.commands = new Commands(t, 'commands');
    this.sessions = new Sessions(t, 'sessions');
    this.queues = new Queues(t, 'queues');
    this.users = new Users(t, 'users');
    this.webhooks = new Webhooks(t, 'webhooks');
    this.websocket = {
      /** An authenticated socket on a session (`await ws.ready` to wait for it). */
      connect: (sessionId) => new WebSocketConnection(this, sessionId),
    };
  }

  get accessToken() { return this._transport.accessToken; }
  get refreshToken() { return this._transport.refreshToken; }

  /** `login(username, password)` or `login({ username, password })`; keeps both tokens. */
  login(username, password) {
    if (username === undefined && this._transport.credentials) {
      ({ username, password } = this._transport.credentials);
    }
    return this.auth.login(username, password);
  }

  async _ensureLogin() {
    const t = this._transport;
    if (!t.accessToken && t.credentials) {
      await t._once(() => t.login(t.credentials.username, t.credentials.password));
    }
  }

  /**
   * Follow a task run's output (or `{ commandId }`, a command's) over the socket: every line
   * after `afterSeq` exactly once, in order, resuming by itself after a dropped connection,
   * until the run ends. Without `sessionId` a session is made for it and deleted after.
   */
  stream(executionId, { commandId, afterSeq = 0, sessionId = null, maxReconnects = 8 } = {}) {
    if (executionId && typeof executionId === 'object') {
      ({ commandId, afterSeq = 0, sessionId = null, maxReconnects = 8 } = executionId);
      executionId = undefined;
    }
    if (!executionId === !commandId) throw new TypeError('give executionId or commandId');
    return new OutputStream(this, executionId ? 'execution' : 'command',
      executionId || commandId, { afterSeq, sessionId, maxReconnects });
  }
}

export default ClaudeCliClient;
