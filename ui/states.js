// The engine's state enums as they arrive from the backend (QueueState and WorkerState in crates/engine,
// serialized in snake_case). The UI compares states by these names, never by spelling them out; a test
// (tests/console) checks these values against the engine's serialization.
export const QueueState = Object.freeze({
  OPEN: 'open', PAUSED: 'paused', CLOSED: 'closed', PREQUEUE: 'prequeue', NONE: 'none', ERROR: 'error',
});

export const WorkerState = Object.freeze({
  STARTING: 'starting', RUNNING: 'running', ABLY_NOT_CONFIGURED: 'ably_not_configured',
  ABLY_UNREACHABLE: 'ably_unreachable', REDIS_UNREACHABLE: 'redis_unreachable', STOPPED: 'stopped',
});
