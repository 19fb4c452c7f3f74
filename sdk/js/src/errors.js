// Typed errors carrying the envelope's `code`, `message`, `details` and `requestId`.
// The class follows the HTTP status; socket `error` messages (no status) get the class their
// code's REST twin would.

export class ClaudeCliError extends Error {
  constructor(message) {
    super(message);
    this.name = this.constructor.name;
  }
}

export class ApiConnectionError extends ClaudeCliError {}

export class StreamDisconnectedError extends ApiConnectionError {
  constructor(message, lastSeq) {
    super(message);
    this.lastSeq = lastSeq;
  }
}

export class ApiError extends ClaudeCliError {
  constructor(message, { code = null, status = null, details = null, requestId = null,
    body = null, retryAfter = null } = {}) {
    super(code ? `${code}: ${message}` : message);
    this.code = code;
    this.status = status;
    this.details = details || {};
    this.requestId = requestId;
    this.body = body;
    if (retryAfter !== null) this.retryAfter = retryAfter;
  }
}

export class BadRequestError extends ApiError {}
export class AuthenticationError extends ApiError {}
export class PermissionDeniedError extends ApiError {}
export class NotFoundError extends ApiError {}
export class ConflictError extends ApiError {}
export class PayloadTooLargeError extends ApiError {}
export class ValidationError extends ApiError {
  get field() { return this.details.field; }
  get issue() { return this.details.issue; }
}
export class RateLimitError extends ApiError {}
export class InternalServerError extends ApiError {}
export class ServiceUnavailableError extends ApiError {}

const BY_STATUS = {
  400: BadRequestError, 401: AuthenticationError, 403: PermissionDeniedError,
  404: NotFoundError, 409: ConflictError, 413: PayloadTooLargeError, 422: ValidationError,
  429: RateLimitError, 503: ServiceUnavailableError,
};
const FORBIDDEN = new Set(['AUTH_INSUFFICIENT_PERMISSIONS', 'AUTH_ACCOUNT_DISABLED',
  'PROJECT_ACCESS_DENIED']);
const CONFLICT = ['TASK_ALREADY', 'TASK_DEPENDENCY', 'TASK_INVALID', 'PROJECT_ARCHIVED',
  'PROJECT_LIMIT', 'RESOURCE_ALREADY', 'RESOURCE_IN_USE', 'SESSION_EXPIRED', 'TASK_CANCELLED',
  'RESOURCE_LIMIT'];
const UNAVAILABLE = new Set(['SYSTEM_MAINTENANCE', 'SYSTEM_OVERLOADED', 'QUEUE_FULL']);

export function classFor(status, code) {
  if (status !== null && status !== undefined) {
    return BY_STATUS[status] || (status >= 500 ? InternalServerError : ApiError);
  }
  code = code || '';
  if (FORBIDDEN.has(code)) return PermissionDeniedError;
  if (code.startsWith('AUTH_')) return AuthenticationError;
  if (code.endsWith('_NOT_FOUND')) return NotFoundError;
  if (code.startsWith('VALIDATION_')) return ValidationError;
  if (CONFLICT.some((prefix) => code.startsWith(prefix))) return ConflictError;
  if (code === 'RATE_LIMIT_EXCEEDED') return RateLimitError;
  if (UNAVAILABLE.has(code)) return ServiceUnavailableError;
  return ApiError;
}

/** An ApiError from an envelope's `error` object (status null for socket errors). */
export function makeError(status, error, extra = {}) {
  const err = error || {};
  const Cls = classFor(status, err.code);
  return new Cls(err.message || (status ? `HTTP ${status}` : 'error'), {
    code: err.code || null, status, details: err.details, ...extra,
  });
}
