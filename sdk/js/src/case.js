// The API speaks snake_case; the reference's JavaScript examples use camelCase
// (`projectId`, `pageSize`, `data.taskId`). Parameters are accepted in either form and sent
// as snake_case; results keep the server's keys and also answer to their camelCase names.

/** Free-form objects whose keys are the caller's own data: passed through untouched. */
const VERBATIM = new Set(['metadata', 'settings', 'environment']);

export function snake(key) {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

export function camel(key) {
  return key.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

function plain(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    && !(value instanceof Date);
}

/** A request value with camelCase keys turned into the API's snake_case. */
export function toWire(value) {
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(toWire);
  if (!plain(value)) return value;
  const out = {};
  for (const [key, item] of Object.entries(value)) {
    if (item === undefined) continue;
    const name = /[A-Z]/.test(key) && /[a-z]/.test(key) ? snake(key) : key;
    out[name] = VERBATIM.has(name) ? item : toWire(item);
  }
  return out;
}

const views = new WeakMap();

/** `obj` (deeply) answering both `obj.task_id` and `obj.taskId`; JSON.stringify and
 * Object.keys see the server's own keys. */
export function camelView(value) {
  if (Array.isArray(value)) return value.map(camelView);
  if (!plain(value)) return value;
  if (views.has(value)) return views.get(value);
  for (const key of Object.keys(value)) value[key] = camelView(value[key]);
  const view = new Proxy(value, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && !(prop in target)) {
        const name = snake(prop);
        if (name !== prop && name in target) return target[name];
      }
      return Reflect.get(target, prop, receiver);
    },
    has(target, prop) {
      return prop in target || (typeof prop === 'string' && snake(prop) in target);
    },
  });
  views.set(value, view);
  return view;
}
