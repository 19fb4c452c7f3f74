// The JavaScript SDK against the real app. Run by tests/sdk/test_js_sdk.py, which starts
// gunicorn servers and a worker and passes:
//   SDK_BASE_URL   an API root served with the default settings (a worker runs shell tasks)
//   SDK_TIGHT_URL  an API root whose access tokens last 2 s and that allows 3 requests a second
//   SDK_USERNAME, SDK_PASSWORD  a developer account
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, test } from 'node:test';

import {
  ClaudeCliClient, ConflictError, NotFoundError, OPERATIONS, RateLimitError, ValidationError,
} from '../src/index.js';

const { SDK_BASE_URL, SDK_TIGHT_URL, SDK_USERNAME, SDK_PASSWORD } = process.env;
const configured = SDK_BASE_URL && SDK_USERNAME
  ? false : 'SDK_BASE_URL/SDK_USERNAME not set (run through tests/sdk/test_js_sdk.py)';
const credentials = { username: SDK_USERNAME, password: SDK_PASSWORD };
const LINES = 200;
const COUNTING = `i=1; while [ $i -le ${LINES} ]; do echo line $i; i=$((i+1)); sleep 0.01; done`;

/** A fetch that records what it sends and gets. */
function recordingFetch(log) {
  return async (url, init) => {
    const response = await fetch(url, init);
    log.push({ url: new URL(url), method: init.method, status: response.status, at: Date.now(),
      retryAfter: response.headers.get('retry-after') });
    return response;
  };
}

/** A TCP proxy whose open connections `cut()` drops, as a failing network does. */
function cuttableProxy(port) {
  const open = new Set();
  const server = net.createServer((client) => {
    const upstream = net.connect(port, '127.0.0.1');
    open.add(client).add(upstream);
    client.pipe(upstream).pipe(client);
    const drop = () => { client.destroy(); upstream.destroy(); open.delete(client); open.delete(upstream); };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
  });
  return {
    listen: () => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port))),
    cut: () => { for (const s of open) s.destroy(); open.clear(); },
    close: () => { for (const s of open) s.destroy(); server.close(); },
  };
}

describe('the JavaScript SDK against the real app', { skip: configured }, () => {
  let client;
  let project;

  before(async () => {
    client = new ClaudeCliClient({ baseURL: SDK_BASE_URL, ...credentials });
    project = await client.projects.create({ name: `JS ${Date.now()}` });
  });

  test('the reference calls work as shown, camelCase in and out', async () => {
    const task = await client.tasks.create({
      title: 'Implement authentication', projectId: project.id, priority: 1,
      tags: ['security'], metadata: { someKey: 'kept as given' },
    });
    assert.equal(task.projectId, project.id);
    assert.equal(task.project_id, project.id);
    assert.deepEqual(task.metadata, { someKey: 'kept as given' });
    const tasks = await client.tasks.list({ status: ['pending', 'running'], projectId: project.id,
      page: 1, pageSize: 50 });
    assert.deepEqual(tasks.items.map((t) => t.id), [task.id]);
    assert.equal(tasks.pageSize, 50);
    const profile = await client.users.profile();
    assert.equal(profile.username, SDK_USERNAME);
    const updated = await client.tasks.update(task.id, { progressPercentage: 30,
      assignedTo: profile.id });
    assert.equal(updated.progressPercentage, 30);
    assert.equal(updated.assignedTo, profile.id);
    assert.equal((await client.health.check()).status, 'healthy');
    await client.tasks.delete(task.id);
    await assert.rejects(client.tasks.get(task.id), (err) => err instanceof NotFoundError
      && err.status === 404 && err.code === 'TASK_NOT_FOUND' && Boolean(err.requestId));
  });

  test('errors are typed and carry the envelope code', async () => {
    await assert.rejects(client.tasks.create({ title: '', projectId: project.id }),
      (err) => err instanceof ValidationError && err.status === 422 && err.field === 'title');
    const first = await client.tasks.create({ title: 'first', projectId: project.id,
      executor: 'shell', command: 'true' });
    const second = await client.tasks.create({ title: 'second', projectId: project.id,
      executor: 'shell', command: 'true' });
    await client.tasks.addDependency(second.id, { dependsOnTaskId: first.id });
    await assert.rejects(client.tasks.addDependency(first.id, { dependsOnTaskId: second.id }),
      (err) => err instanceof ConflictError && err.code === 'TASK_DEPENDENCY_CYCLE');
    await assert.rejects(client.tasks.execute(second.id, { priority: 'high' }),
      (err) => err instanceof ConflictError && err.status === 409
        && err.code === 'TASK_DEPENDENCY_NOT_MET');
    await assert.rejects(client.tasks.diff(first.id), // a project without settings.git
      (err) => err instanceof ConflictError && err.code === 'GIT_NOT_ENABLED');
    await assert.rejects(client.projects.get('00000000-0000-4000-8000-000000000000'),
      (err) => err instanceof NotFoundError && err.code === 'PROJECT_NOT_FOUND');
  });

  test('iterate() walks every page, one request per page', async () => {
    const own = await client.projects.create({ name: `pages ${Date.now()}` });
    for (let i = 0; i < 5; i += 1) {
      await client.tasks.create({ title: `t${i}`, projectId: own.id });
    }
    const log = [];
    const counted = new ClaudeCliClient({ baseURL: SDK_BASE_URL, token: client.accessToken,
      fetch: recordingFetch(log) });
    const titles = [];
    for await (const task of counted.tasks.iterate({ projectId: own.id, pageSize: 2,
      sort: 'title', order: 'asc' })) {
      titles.push(task.title);
    }
    assert.deepEqual(titles, ['t0', 't1', 't2', 't3', 't4']);
    assert.deepEqual(log.map((r) => r.url.searchParams.get('page')), ['1', '2', '3']);
    assert.ok(log.every((r) => r.url.searchParams.get('page_size') === '2'));
  });

  test('every operation of /openapi.json has a method', async () => {
    const doc = await (await fetch(new URL('/openapi.json', SDK_BASE_URL))).json();
    const documented = Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item)
      .map((method) => `${method.toUpperCase()} ${path}`));
    assert.deepEqual([...new Set(Object.values(OPERATIONS))].sort(), documented.sort());
    for (const name of Object.keys(OPERATIONS)) {
      const [resource, method] = name.split('.');
      assert.equal(typeof client[resource][method], 'function', name);
    }
  });

  test('websocket events read like the reference', { skip: !globalThis.WebSocket
    && 'this node has no WebSocket (node 22+, or 20 with --experimental-websocket)' },
  async () => {
    const session = await client.sessions.create({ projectId: project.id });
    const task = await client.tasks.create({ title: 'watched', projectId: project.id });
    const ws = client.websocket.connect(session.session_id);
    const seen = new Promise((resolve) => {
      ws.on('task_update', (data) => {
        if (data.taskId === task.id && data.progressPercentage === 60) resolve(data);
      });
    });
    const subscribed = ws.next('subscribed');
    ws.subscribe('task_updates', { projectId: project.id });
    await ws.ready;
    await subscribed;
    await client.tasks.update(task.id, { progressPercentage: 60 });
    const data = await seen;
    assert.equal(data.status, 'pending');
    ws.close();
  });

  test('stream() resumes after dropped connections without gap or duplicate', {
    skip: !globalThis.WebSocket
      && 'this node has no WebSocket (node 22+, or 20 with --experimental-websocket)',
  }, async () => {
    const origin = new URL(SDK_BASE_URL);
    const proxy = cuttableProxy(Number(origin.port));
    const port = await proxy.listen();
    after(() => proxy.close());
    const viaProxy = new ClaudeCliClient({ baseURL: SDK_BASE_URL, token: client.accessToken,
      refreshToken: client.refreshToken, wsURL: `ws://127.0.0.1:${port}/ws` });
    const task = await client.tasks.create({ title: 'count', projectId: project.id,
      executor: 'shell', command: COUNTING });
    const run = await client.tasks.execute(task.id, { priority: 'high' });
    const stream = viaProxy.stream(run.executionId);
    const lines = [];
    for await (const line of stream) {
      lines.push(line);
      if (lines.length === 20 || lines.length === 90) proxy.cut();
    }
    assert.deepEqual(lines.map((l) => l.seq), Array.from({ length: LINES }, (_, i) => i + 1));
    assert.deepEqual(lines.map((l) => l.content.trim()),
      Array.from({ length: LINES }, (_, i) => `line ${i + 1}`));
    assert.ok(stream.reconnects >= 2, `reconnects: ${stream.reconnects}`);
    assert.equal(stream.completion.status, 'completed');
    assert.equal(stream.completion.lastSeq, LINES);
    const stored = await client.executions.get(run.executionId, { limit: 10000 });
    assert.deepEqual(stored.output.map((o) => o.content), lines.map((l) => l.content));
  });
});

describe('token refresh and 429 retry', { skip: configured || (!SDK_TIGHT_URL && 'SDK_TIGHT_URL not set') }, () => {
  test('an expired access token is refreshed and the call goes through', async () => {
    const tokens = [];
    const client = new ClaudeCliClient({ baseURL: SDK_TIGHT_URL,
      onTokens: (access) => tokens.push(access) });
    await client.login(credentials);
    const first = client.accessToken;
    const expired = async () => {
      const r = await fetch(`${SDK_TIGHT_URL}/users/profile`,
        { headers: { Authorization: `Bearer ${first}` } });
      return r.status === 401;
    };
    const deadline = Date.now() + 10000;
    while (!(await expired())) {
      assert.ok(Date.now() < deadline, 'the token never expired');
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const profile = await client.users.profile();
    assert.equal(profile.username, SDK_USERNAME);
    assert.notEqual(client.accessToken, first);
    assert.equal(tokens.at(-1), client.accessToken);
  });

  test('429 is retried after Retry-After; without retries it is a RateLimitError', async () => {
    const log = [];
    const client = new ClaudeCliClient({ baseURL: SDK_TIGHT_URL, ...credentials,
      fetch: recordingFetch(log), maxRetries: 5 });
    for (let i = 0; i < 7; i += 1) await client.tasks.list();
    const calls = log.filter((r) => r.url.pathname === '/api/tasks/');
    const limited = calls.map((r, i) => [r, i]).filter(([r]) => r.status === 429);
    assert.ok(limited.length > 0, 'the server never said 429: the test proves nothing');
    assert.equal(calls.filter((r) => r.status === 200).length, 7);
    for (const [r, i] of limited) {
      assert.ok(calls[i + 1].at - r.at >= Math.max(Number(r.retryAfter), 0.25) * 1000 - 50);
    }
    const impatient = new ClaudeCliClient({ baseURL: SDK_TIGHT_URL, token: client.accessToken,
      refreshToken: client.refreshToken, maxRetries: 0 });
    await assert.rejects(async () => { for (let i = 0; i < 10; i += 1) await impatient.tasks.list(); },
      (err) => err instanceof RateLimitError && err.code === 'RATE_LIMIT_EXCEEDED'
        && err.retryAfter >= 0 && err.details.limit === 3);
  });
});
