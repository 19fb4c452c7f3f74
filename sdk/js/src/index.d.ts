// Types of the client's surface. The API's own shapes come from openapi.d.ts, generated from
// the server's /openapi.json (scripts/gen_types.py); this file maps them onto the methods.
import type { Operations } from './openapi.js';

export * from './openapi.js';

type CamelCase<S extends string> = S extends `${infer H}_${infer T}`
  ? `${H}${Capitalize<CamelCase<T>>}` : S;

/** What a method returns: the server's object, readable by its snake_case and camelCase names. */
export type Wire<T> = T extends Array<infer U> ? Array<Wire<U>>
  : T extends object
    ? { [K in keyof T]: Wire<T[K]> } & { [K in keyof T as K extends string ? CamelCase<K> : K]: Wire<T[K]> }
    : T;

/** Parameters: the API's snake_case names or their camelCase forms. */
export type Params<T> = T extends object
  ? Partial<{ [K in keyof T]: T[K] } & { [K in keyof T as K extends string ? CamelCase<K> : K]: T[K] }>
  : never;

type Op<K extends keyof Operations> = Operations[K];
type Result<K extends keyof Operations> = Promise<Wire<Op<K>['response']>>;
type Query<K extends keyof Operations> = Params<Op<K>['query']> & Record<string, unknown>;
type Body<K extends keyof Operations> = Params<Op<K>['body']>;
type Id = string;
type ItemOf<K extends keyof Operations> = Op<K>['response'] extends { items: Array<infer U> }
  ? Wire<U> : never;
type ListFilters<K extends keyof Operations> = Omit<Query<K>, 'status' | 'tags'> & {
  status?: string | string[]; tags?: string | string[];
};

export interface ClientOptions {
  /** The API root, e.g. http://localhost:8000/api */
  baseURL?: string;
  token?: string | null;
  refreshToken?: string | null;
  /** Log in with these on first use (and again when the refresh token is refused). */
  username?: string;
  password?: string;
  /** 429s retried after Retry-After (default 3) while the wait is at most maxRetryWait s. */
  maxRetries?: number;
  maxRetryWait?: number;
  /** Per request, in milliseconds (default 30000). */
  timeout?: number;
  /** The /ws root (default: derived from baseURL). */
  wsURL?: string | null;
  /** A WebSocket constructor where the platform has none (e.g. the ws package). */
  WebSocket?: unknown;
  fetch?: typeof fetch;
  onTokens?: (access: string, refresh: string | null) => void;
}

export declare class ClaudeCliError extends Error {}
export declare class ApiConnectionError extends ClaudeCliError {}
export declare class StreamDisconnectedError extends ApiConnectionError { lastSeq: number; }
export declare class ApiError extends ClaudeCliError {
  /** The envelope's error code, e.g. TASK_ALREADY_RUNNING. */
  code: string | null;
  status: number | null;
  details: Record<string, unknown>;
  requestId: string | null;
  body: unknown;
}
export declare class BadRequestError extends ApiError {}
export declare class AuthenticationError extends ApiError {}
export declare class PermissionDeniedError extends ApiError {}
export declare class NotFoundError extends ApiError {}
export declare class ConflictError extends ApiError {}
export declare class PayloadTooLargeError extends ApiError {}
export declare class ValidationError extends ApiError { readonly field?: string; readonly issue?: string; }
export declare class RateLimitError extends ApiError { retryAfter?: number; }
export declare class InternalServerError extends ApiError {}
export declare class ServiceUnavailableError extends ApiError {}

export declare const OPERATIONS: Record<string, keyof Operations>;

export interface OutputLine {
  seq: number; stream: string; kind: string; content: string; timestamp: string | null;
  data?: Record<string, unknown>; execution_id?: string; executionId?: string;
  command_id?: string; commandId?: string; task_id?: string; taskId?: string;
}

export interface SocketMessage { type: string; data: any; timestamp: unknown; [key: string]: unknown; }

export declare class WebSocketConnection {
  readonly sessionId: string;
  readonly url: string;
  /** Resolves once authenticated (messages sent before are queued). */
  readonly ready: Promise<WebSocketConnection>;
  authenticated: SocketMessage | null;
  /** `on('task_update', data => ...)`; also 'message' (every message), 'open', 'close', 'error'. */
  on(type: string, handler: (data: any) => void): this;
  /** The next message of `type`; rejects after `timeout` ms. */
  next(type?: string | null, timeout?: number): Promise<SocketMessage>;
  send(message: Record<string, unknown>): void;
  subscribe(channel: 'project_updates' | 'task_updates' | 'command_output' | 'system',
    target?: Record<string, unknown>): void;
  unsubscribe(channel: string, target?: Record<string, unknown>): void;
  executeTask(taskId: Id, options?: { priority?: string; options?: Record<string, unknown> }): void;
  getMetrics(metrics?: string[]): void;
  ping(timestamp?: number): void;
  close(): void;
}

export declare class OutputStream implements AsyncIterable<OutputLine> {
  /** status, exit_code and last_seq once the run has ended. */
  completion: any;
  lastSeq: number;
  reconnects: number;
  [Symbol.asyncIterator](): AsyncIterator<OutputLine>;
}

export declare class ClaudeCliClient {
  constructor(options?: ClientOptions);
  readonly baseURL: string;
  readonly accessToken: string | null;
  readonly refreshToken: string | null;
  login(username?: string | { username: string; password: string }, password?: string):
    Result<'POST /api/auth/login'>;
  stream(executionId: Id, options?: { afterSeq?: number; sessionId?: Id; maxReconnects?: number }): OutputStream;
  stream(options: { commandId: Id; afterSeq?: number; sessionId?: Id; maxReconnects?: number }): OutputStream;
  websocket: { connect(sessionId: Id): WebSocketConnection };

  auth: {
    login(username: string | { username: string; password: string }, password?: string):
      Result<'POST /api/auth/login'>;
    refresh(): Result<'POST /api/auth/refresh'>;
    logout(): Result<'POST /api/auth/logout'>;
  };
  health: { check(): Result<'GET /api/health/'>; detailed(): Result<'GET /api/health/detailed'>; };
  system: { info(): Result<'GET /api/system/info'>; };
  tasks: {
    create(body: Body<'POST /api/tasks/'>): Result<'POST /api/tasks/'>;
    list(params?: ListFilters<'GET /api/tasks/'>): Result<'GET /api/tasks/'>;
    iterate(params?: ListFilters<'GET /api/tasks/'>): AsyncIterable<ItemOf<'GET /api/tasks/'>>;
    get(taskId: Id): Result<'GET /api/tasks/{task_id}'>;
    update(taskId: Id, body: Body<'PUT /api/tasks/{task_id}'>): Result<'PUT /api/tasks/{task_id}'>;
    delete(taskId: Id): Result<'DELETE /api/tasks/{task_id}'>;
    bulk(body: Body<'POST /api/tasks/bulk'>): Result<'POST /api/tasks/bulk'>;
    history(taskId: Id): Result<'GET /api/tasks/{task_id}/history'>;
    execute(taskId: Id, body?: Body<'POST /api/tasks/{task_id}/execute'> & Record<string, unknown>):
      Result<'POST /api/tasks/{task_id}/execute'>;
    followUp(taskId: Id, body: string | Body<'POST /api/tasks/{task_id}/follow-up'>):
      Result<'POST /api/tasks/{task_id}/follow-up'>;
    cancel(taskId: Id, body?: { reason?: string }): Result<'POST /api/tasks/{task_id}/cancel'>;
    retry(taskId: Id): Result<'POST /api/tasks/{task_id}/retry'>;
    executions(taskId: Id, params?: Query<'GET /api/tasks/{task_id}/executions'>):
      Result<'GET /api/tasks/{task_id}/executions'>;
    iterateExecutions(taskId: Id, params?: Query<'GET /api/tasks/{task_id}/executions'>):
      AsyncIterable<ItemOf<'GET /api/tasks/{task_id}/executions'>>;
    addDependency(taskId: Id, body: Body<'POST /api/tasks/{task_id}/dependencies'>):
      Result<'POST /api/tasks/{task_id}/dependencies'>;
    removeDependency(taskId: Id, dependencyId: Id):
      Result<'DELETE /api/tasks/{task_id}/dependencies/{dependency_id}'>;
    diff(taskId: Id, params?: Query<'GET /api/tasks/{task_id}/diff'>):
      Result<'GET /api/tasks/{task_id}/diff'>;
    commitWorktree(taskId: Id, body: string | Body<'POST /api/tasks/{task_id}/worktree/commit'>):
      Result<'POST /api/tasks/{task_id}/worktree/commit'>;
    discardWorktree(taskId: Id, body?: Body<'POST /api/tasks/{task_id}/worktree/discard'>):
      Result<'POST /api/tasks/{task_id}/worktree/discard'>;
    mergeWorktree(taskId: Id): Result<'POST /api/tasks/{task_id}/worktree/merge'>;
  };
  executions: {
    get(executionId: Id, params?: Query<'GET /api/executions/{execution_id}'>):
      Result<'GET /api/executions/{execution_id}'>;
    sendMessage(executionId: Id, body: string | Body<'POST /api/executions/{execution_id}/messages'>):
      Result<'POST /api/executions/{execution_id}/messages'>;
    interrupt(executionId: Id, body?: string | Body<'POST /api/executions/{execution_id}/interrupt'>):
      Result<'POST /api/executions/{execution_id}/interrupt'>;
    approvals(executionId: Id): Promise<Array<Wire<ItemOf<'GET /api/executions/{execution_id}/approvals'>>>>;
    decide(approvalId: Id, body: 'allow' | 'deny' | Body<'POST /api/approvals/{approval_id}/decision'>):
      Result<'POST /api/approvals/{approval_id}/decision'>;
  };
  projects: {
    create(body: Body<'POST /api/projects/'>): Result<'POST /api/projects/'>;
    list(params?: ListFilters<'GET /api/projects/'>): Result<'GET /api/projects/'>;
    iterate(params?: ListFilters<'GET /api/projects/'>): AsyncIterable<ItemOf<'GET /api/projects/'>>;
    get(projectId: Id): Result<'GET /api/projects/{project_id}'>;
    update(projectId: Id, body: Body<'PUT /api/projects/{project_id}'>): Result<'PUT /api/projects/{project_id}'>;
    delete(projectId: Id): Result<'DELETE /api/projects/{project_id}'>;
    tasks(projectId: Id, params?: ListFilters<'GET /api/projects/{project_id}/tasks'>):
      Result<'GET /api/projects/{project_id}/tasks'>;
    iterateTasks(projectId: Id, params?: ListFilters<'GET /api/projects/{project_id}/tasks'>):
      AsyncIterable<ItemOf<'GET /api/projects/{project_id}/tasks'>>;
    clone(projectId: Id, body?: Body<'POST /api/projects/{project_id}/clone'>):
      Result<'POST /api/projects/{project_id}/clone'>;
    analytics(projectId: Id, params?: Query<'GET /api/projects/{project_id}/analytics'>):
      Result<'GET /api/projects/{project_id}/analytics'>;
  };
  commands: {
    execute(body: string | Body<'POST /api/commands/execute'>): Result<'POST /api/commands/execute'>;
    status(commandId: Id, params?: Query<'GET /api/commands/{command_id}/status'>):
      Result<'GET /api/commands/{command_id}/status'>;
    cancel(commandId: Id, body?: { reason?: string }): Result<'POST /api/commands/{command_id}/cancel'>;
    running(): Result<'GET /api/commands/running'>;
    history(params?: Query<'GET /api/commands/history'>): Result<'GET /api/commands/history'>;
    iterateHistory(params?: { limit?: number }):
      AsyncIterable<Wire<Op<'GET /api/commands/history'>['response']['commands'][number]>>;
    suggestions(params?: Query<'GET /api/commands/suggestions'>): Result<'GET /api/commands/suggestions'>;
    validate(body: string | Body<'POST /api/commands/validate'>): Result<'POST /api/commands/validate'>;
  };
  sessions: {
    create(body?: Body<'POST /api/sessions/'>): Result<'POST /api/sessions/'>;
    list(params?: Query<'GET /api/sessions/'>): Result<'GET /api/sessions/'>;
    iterate(params?: Query<'GET /api/sessions/'>): AsyncIterable<any>;
    get(sessionId: Id): Result<'GET /api/sessions/{session_id}'>;
    update(sessionId: Id, body: Body<'PUT /api/sessions/{session_id}'>): Result<'PUT /api/sessions/{session_id}'>;
    delete(sessionId: Id): Result<'DELETE /api/sessions/{session_id}'>;
    history(sessionId: Id, params?: Query<'GET /api/sessions/{session_id}/history'>):
      Result<'GET /api/sessions/{session_id}/history'>;
    iterateHistory(sessionId: Id, params?: Query<'GET /api/sessions/{session_id}/history'>):
      AsyncIterable<any>;
    restore(sessionId: Id, body: Body<'POST /api/sessions/{session_id}/restore'>):
      Result<'POST /api/sessions/{session_id}/restore'>;
  };
  queues: {
    status(): Result<'GET /api/queues/status'>;
    pause(body: Body<'POST /api/queues/pause'>): Result<'POST /api/queues/pause'>;
    resume(body: Body<'POST /api/queues/resume'>): Result<'POST /api/queues/resume'>;
    clear(body: Body<'DELETE /api/queues/clear'>): Result<'DELETE /api/queues/clear'>;
    metrics(params?: Query<'GET /api/queues/metrics'>): Result<'GET /api/queues/metrics'>;
    setPriority(body: Body<'POST /api/queues/priority'>): Result<'POST /api/queues/priority'>;
  };
  users: {
    profile(): Result<'GET /api/users/profile'>;
    updatePreferences(body: Body<'PUT /api/users/preferences'>): Result<'PUT /api/users/preferences'>;
  };
  webhooks: {
    create(body: Body<'POST /api/webhooks/'>): Result<'POST /api/webhooks/'>;
    list(params?: Query<'GET /api/webhooks/'>): Result<'GET /api/webhooks/'>;
    iterate(params?: Query<'GET /api/webhooks/'>): AsyncIterable<ItemOf<'GET /api/webhooks/'>>;
    get(webhookId: Id): Result<'GET /api/webhooks/{webhook_id}'>;
    update(webhookId: Id, body: Body<'PUT /api/webhooks/{webhook_id}'>): Result<'PUT /api/webhooks/{webhook_id}'>;
    delete(webhookId: Id): Result<'DELETE /api/webhooks/{webhook_id}'>;
    deliveries(webhookId: Id, params?: Query<'GET /api/webhooks/{webhook_id}/deliveries'>):
      Result<'GET /api/webhooks/{webhook_id}/deliveries'>;
    iterateDeliveries(webhookId: Id, params?: Query<'GET /api/webhooks/{webhook_id}/deliveries'>):
      AsyncIterable<ItemOf<'GET /api/webhooks/{webhook_id}/deliveries'>>;
    test(webhookId: Id): Result<'POST /api/webhooks/{webhook_id}/test'>;
  };
}

export declare function websocketURL(baseURL: string, sessionId: Id, wsURL?: string | null): string;
export declare function camelView<T>(value: T): Wire<T>;
export declare function toWire(value: unknown): unknown;
export declare function retryAfter(headers: Headers): number;
export declare function classFor(status: number | null, code: string | null): typeof ApiError;
export declare function makeError(status: number | null, error: unknown, extra?: object): ApiError;
export default ClaudeCliClient;
