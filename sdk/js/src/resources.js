// The API's resources. OPERATIONS names the HTTP operation behind every method: the methods
// call through it, and the tests check it covers every operation of the server's /openapi.json.

export const OPERATIONS = {
  'auth.login': 'POST /api/auth/login',
  'auth.refresh': 'POST /api/auth/refresh',
  'auth.logout': 'POST /api/auth/logout',
  'health.check': 'GET /api/health/',
  'health.detailed': 'GET /api/health/detailed',
  'system.info': 'GET /api/system/info',
  'tasks.create': 'POST /api/tasks/',
  'tasks.list': 'GET /api/tasks/',
  'tasks.get': 'GET /api/tasks/{task_id}',
  'tasks.update': 'PUT /api/tasks/{task_id}',
  'tasks.delete': 'DELETE /api/tasks/{task_id}',
  'tasks.bulk': 'POST /api/tasks/bulk',
  'tasks.history': 'GET /api/tasks/{task_id}/history',
  'tasks.execute': 'POST /api/tasks/{task_id}/execute',
  'tasks.followUp': 'POST /api/tasks/{task_id}/follow-up',
  'tasks.cancel': 'POST /api/tasks/{task_id}/cancel',
  'tasks.retry': 'POST /api/tasks/{task_id}/retry',
  'tasks.executions': 'GET /api/tasks/{task_id}/executions',
  'tasks.addDependency': 'POST /api/tasks/{task_id}/dependencies',
  'tasks.removeDependency': 'DELETE /api/tasks/{task_id}/dependencies/{dependency_id}',
  'tasks.diff': 'GET /api/tasks/{task_id}/diff',
  'tasks.commitWorktree': 'POST /api/tasks/{task_id}/worktree/commit',
  'tasks.discardWorktree': 'POST /api/tasks/{task_id}/worktree/discard',
  'tasks.mergeWorktree': 'POST /api/tasks/{task_id}/worktree/merge',
  'executions.get': 'GET /api/executions/{execution_id}',
  'executions.sendMessage': 'POST /api/executions/{execution_id}/messages',
  'executions.interrupt': 'POST /api/executions/{execution_id}/interrupt',
  'executions.approvals': 'GET /api/executions/{execution_id}/approvals',
  'executions.decide': 'POST /api/approvals/{approval_id}/decision',
  'projects.create': 'POST /api/projects/',
  'projects.list': 'GET /api/projects/',
  'projects.get': 'GET /api/projects/{project_id}',
  'projects.update': 'PUT /api/projects/{project_id}',
  'projects.delete': 'DELETE /api/projects/{project_id}',
  'projects.tasks': 'GET /api/projects/{project_id}/tasks',
  'projects.clone': 'POST /api/projects/{project_id}/clone',
  'projects.analytics': 'GET /api/projects/{project_id}/analytics',
  'commands.execute': 'POST /api/commands/execute',
  'commands.status': 'GET /api/commands/{command_id}/status',
  'commands.cancel': 'POST /api/commands/{command_id}/cancel',
  'commands.running': 'GET /api/commands/running',
  'commands.history': 'GET /api/commands/history',
  'commands.suggestions': 'GET /api/commands/suggestions',
  'commands.validate': 'POST /api/commands/validate',
  'sessions.create': 'POST /api/sessions/',
  'sessions.list': 'GET /api/sessions/',
  'sessions.get': 'GET /api/sessions/{session_id}',
  'sessions.update': 'PUT /api/sessions/{session_id}',
  'sessions.delete': 'DELETE /api/sessions/{session_id}',
  'sessions.history': 'GET /api/sessions/{session_id}/history',
  'sessions.restore': 'POST /api/sessions/{session_id}/restore',
  'queues.status': 'GET /api/queues/status',
  'queues.pause': 'POST /api/queues/pause',
  'queues.resume': 'POST /api/queues/resume',
  'queues.clear': 'DELETE /api/queues/clear',
  'queues.metrics': 'GET /api/queues/metrics',
  'queues.setPriority': 'POST /api/queues/priority',
  'users.profile': 'GET /api/users/profile',
  'users.updatePreferences': 'PUT /api/users/preferences',
  'webhooks.create': 'POST /api/webhooks/',
  'webhooks.list': 'GET /api/webhooks/',
  'webhooks.get': 'GET /api/webhooks/{webhook_id}',
  'webhooks.update': 'PUT /api/webhooks/{webhook_id}',
  'webhooks.delete': 'DELETE /api/webhooks/{webhook_id}',
  'webhooks.deliveries': 'GET /api/webhooks/{webhook_id}/deliveries',
  'webhooks.test': 'POST /api/webhooks/{webhook_id}/test',
};

function segment(value) {
  const text = String(value ?? '');
  if (!text || text.includes('/')) throw new TypeError(`not an id: ${JSON.stringify(value)}`);
  return encodeURIComponent(text);
}

class Resource {
  constructor(transport, name) {
    this._t = transport;
    this._name = name;
  }

  /** Call OPERATIONS[`${resource}.${method}`] with path ids (in order), query and body. */
  _call(method, ids = [], { params, body, auth } = {}) {
    const [verb, template] = OPERATIONS[`${this._name}.${method}`].split(' ');
    let index = 0;
    const path = template.replace(/^\/api/, '').replace(/\{\w+\}/g, () => segment(ids[index++]));
    return this._t.request(verb, path, { params, body, auth });
  }

  /** Every item of every page, fetching a page only when it is reached. */
  async* _pages(fetch, params = {}, itemsKey = 'items') {
    let page = 1;
    const size = params.pageSize ?? params.page_size ?? 100;
    for (;;) {
      const result = await fetch({ ...params, page, pageSize: size, page_size: undefined });
      const items = result[itemsKey] || [];
      yield* items;
      if (!result.has_next || items.length === 0) return;
      page += 1;
    }
  }
}

/** A page: the server's payload, plus `items` where it names its list otherwise. */
function pageOf(data, key) {
  if (key !== 'items' && data && !('items' in data)) {
    Object.defineProperty(data, 'items', { value: data[key], enumerable: false });
  }
  return data;
}

export class Auth extends Resource {
  async login(usernameOrBody, password) {
    const creds = typeof usernameOrBody === 'object' ? usernameOrBody
      : { username: usernameOrBody, password };
    return this._t.login(creds.username, creds.password);
  }
  refresh() { return this._t.refresh(); }
  async logout() {
    const data = await this._call('logout');
    this._t.accessToken = null;
    this._t.refreshToken = null;
    return data;
  }
}

export class Health extends Resource {
  check() { return this._call('check', [], { auth: null }); }
  detailed() { return this._call('detailed', [], { auth: null }); }
}

export class System extends Resource {
  info() { return this._call('info'); }
}

export class Tasks extends Resource {
  create(body) { return this._call('create', [], { body }); }
  list(params = {}) { return this._call('list', [], { params }); }
  iterate(params = {}) { return this._pages((p) => this.list(p), params); }
  get(taskId) { return this._call('get', [taskId]); }
  update(taskId, body) { return this._call('update', [taskId], { body }); }
  delete(taskId) { return this._call('delete', [taskId]); }
  bulk(body) { return this._call('bulk', [], { body }); }
  history(taskId) { return this._call('history', [taskId]); }
  /** `execute(id, { priority: 'high', options: { timeout } })`, or the options flat. */
  execute(taskId, { priority = 'normal', options, ...flat } = {}) {
    const opts = { ...(options || {}), ...flat };
    const body = Object.keys(opts).length ? { priority, options: opts } : { priority };
    return this._call('execute', [taskId], { body });
  }
  /** A new run resuming the task's last Claude session: `followUp(id, 'message')`. */
  followUp(taskId, body) {
    return this._call('followUp', [taskId],
      { body: typeof body === 'string' ? { message: body } : body });
  }
  cancel(taskId, { reason } = {}) { return this._call('cancel', [taskId], { body: { reason } }); }
  retry(taskId) { return this._call('retry', [taskId]); }
  executions(taskId, params = {}) { return this._call('executions', [taskId], { params }); }
  iterateExecutions(taskId, params = {}) {
    return this._pages((p) => this.executions(taskId, p), params);
  }
  addDependency(taskId, body) { return this._call('addDependency', [taskId], { body }); }
  removeDependency(taskId, dependencyId) {
    return this._call('removeDependency', [taskId, dependencyId]);
  }
  /** The task's git worktree against its base (projects with settings.git). */
  diff(taskId, params = {}) { return this._call('diff', [taskId], { params }); }
  commitWorktree(taskId, body) {
    return this._call('commitWorktree', [taskId],
      { body: typeof body === 'string' ? { message: body } : body });
  }
  discardWorktree(taskId, body = {}) { return this._call('discardWorktree', [taskId], { body }); }
  mergeWorktree(taskId) { return this._call('mergeWorktree', [taskId], { body: {} }); }
}

export class Executions extends Resource {
  get(executionId, params = {}) { return this._call('get', [executionId], { params }); }
  /** A message for a running Claude run (its next user message). */
  sendMessage(executionId, body) {
    return this._call('sendMessage', [executionId],
      { body: typeof body === 'string' ? { message: body } : body });
  }
  /** Stop the current turn; with `{ message }` Claude goes on with it. */
  interrupt(executionId, body = {}) {
    return this._call('interrupt', [executionId],
      { body: typeof body === 'string' ? { message: body } : body });
  }
  async approvals(executionId) {
    return (await this._call('approvals', [executionId])).items;
  }
  /** `decide(approvalId, 'allow')` or `decide(approvalId, { decision: 'deny', message })`. */
  decide(approvalId, body) {
    return this._call('decide', [approvalId],
      { body: typeof body === 'string' ? { decision: body } : body });
  }
}

export class Projects extends Resource {
  create(body) { return this._call('create', [], { body }); }
  list(params = {}) { return this._call('list', [], { params }); }
  iterate(params = {}) { return this._pages((p) => this.list(p), params); }
  get(projectId) { return this._call('get', [projectId]); }
  update(projectId, body) { return this._call('update', [projectId], { body }); }
  delete(projectId) { return this._call('delete', [projectId]); }
  tasks(projectId, params = {}) { return this._call('tasks', [projectId], { params }); }
  iterateTasks(projectId, params = {}) {
    return this._pages((p) => this.tasks(projectId, p), params);
  }
  clone(projectId, body = {}) { return this._call('clone', [projectId], { body }); }
  analytics(projectId, params = {}) { return this._call('analytics', [projectId], { params }); }
}

export class Commands extends Resource {
  execute(body) {
    return this._call('execute', [], { body: typeof body === 'string' ? { command: body } : body });
  }
  status(commandId, params = {}) { return this._call('status', [commandId], { params }); }
  cancel(commandId, { reason } = {}) {
    return this._call('cancel', [commandId], { body: { reason } });
  }
  running() { return this._call('running'); }
  history(params = {}) { return this._call('history', [], { params }); }
  async* iterateHistory({ limit = 100 } = {}) {
    for (let offset = 0; ; ) {
      const { commands } = await this.history({ limit, offset });
      yield* commands;
      if (commands.length < limit) return;
      offset += commands.length;
    }
  }
  suggestions(params = {}) { return this._call('suggestions', [], { params }); }
  validate(body) {
    return this._call('validate', [], { body: typeof body === 'string' ? { command: body } : body });
  }
}

export class Sessions extends Resource {
  create(body = {}) { return this._call('create', [], { body }); }
  async list(params = {}) { return pageOf(await this._call('list', [], { params }), 'sessions'); }
  iterate(params = {}) { return this._pages((p) => this.list(p), params); }
  get(sessionId) { return this._call('get', [sessionId]); }
  update(sessionId, body) { return this._call('update', [sessionId], { body }); }
  delete(sessionId) { return this._call('delete', [sessionId]); }
  async history(sessionId, params = {}) {
    return pageOf(await this._call('history', [sessionId], { params }), 'history');
  }
  iterateHistory(sessionId, params = {}) {
    return this._pages((p) => this.history(sessionId, p), params);
  }
  restore(sessionId, body) { return this._call('restore', [sessionId], { body }); }
}

export class Queues extends Resource {
  status() { return this._call('status'); }
  pause(body) { return this._call('pause', [], { body }); }
  resume(body) { return this._call('resume', [], { body }); }
  clear(body) { return this._call('clear', [], { body }); }
  metrics(params = {}) { return this._call('metrics', [], { params }); }
  setPriority(body) { return this._call('setPriority', [], { body }); }
}

export class Users extends Resource {
  profile() { return this._call('profile'); }
  updatePreferences(body) { return this._call('updatePreferences', [], { body }); }
}

export class Webhooks extends Resource {
  create(body) { return this._call('create', [], { body }); }
  list(params = {}) { return this._call('list', [], { params }); }
  iterate(params = {}) { return this._pages((p) => this.list(p), params); }
  get(webhookId) { return this._call('get', [webhookId]); }
  update(webhookId, body) { return this._call('update', [webhookId], { body }); }
  delete(webhookId) { return this._call('delete', [webhookId]); }
  deliveries(webhookId, params = {}) { return this._call('deliveries', [webhookId], { params }); }
  iterateDeliveries(webhookId, params = {}) {
    return this._pages((p) => this.deliveries(webhookId, p), params);
  }
  test(webhookId) { return this._call('test', [webhookId]); }
}
