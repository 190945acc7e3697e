// The host functions module of the worker tests: plain JavaScript, imported by every worker (Node worker
// threads, Web Workers, or in-thread for the unit tests). Each runs in the worker, beside the guest's memory.

/** @param {string} name @param {string[]} params @param {string[]} results @param {Function} handler */
const fn = (name, params, results, handler) => ({ name, params, results, handler });

// Shared memory needs cross-origin isolation in browsers: without it, `wait` spins instead.
const shared =
  typeof SharedArrayBuffer === 'undefined' ? undefined : new Int32Array(new SharedArrayBuffer(4));

export default {
  // What the host-caller fixture imports.
  host_add: fn('host_add', ['i32', 'i32'], ['i32'], (a, b) => a + b),
  host_log: fn('host_log', ['i32', 'i32'], [], () => undefined),
  host_i64: fn('host_i64', ['i64'], ['i64'], (x) => x * 2n),
  // sum(pointer, length): the bytes of the guest's memory there, added up (the host reads).
  sum: fn('sum', ['i32', 'i32'], ['i32'], (pointer, length, context) =>
    context.memory.read(pointer, length).reduce((a, b) => a + b, 0),
  ),
  // greet(pointer): writes "hi!" into the guest's memory there (the host writes).
  greet: fn('greet', ['i32'], [], (pointer, context) => {
    context.memory.write(pointer, new globalThis.TextEncoder().encode('hi!'));
  }),
  // Host functions no metering can stop: a loop, and a wait on a lock nobody releases.
  spin: fn('spin', [], [], () => {
    for (;;);
  }),
  wait: fn('wait', [], [], () => {
    if (shared === undefined) for (;;);
    Atomics.wait(shared, 0, 0, 60_000);
  }),
  // Fails as host code does: its error is the cause of the HOST_FUNCTION_ERROR.
  boom: fn('boom', [], [], () => {
    throw new Error('boom');
  }),
  // Ends the worker's thread (a crash, as the pool sees it).
  crash: fn('crash', [], [], () => {
    globalThis.process?.exit(3);
    globalThis.close?.();
  }),
};
