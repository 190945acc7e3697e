/** The page script of the browser test: the worker sandbox over Web Workers, driven from the page. */
import { createWorkerSandbox } from '@ri-sandbox/worker';

async function run(): Promise<Record<string, unknown>> {
  const guest = new Uint8Array(await (await fetch('/guest.wasm')).arrayBuffer());
  const sandbox = createWorkerSandbox({
    workers: 2,
    // Generous: a busy machine must not turn an ordinary call of the 50 ms instance into a kill.
    graceMs: 1000,
    workerUrl: new URL('/worker.js', location.href),
    hostFunctions: new URL('/host-functions.mjs', location.href).href,
  });
  const make = async (maxExecutionMs: number) => {
    const created = await sandbox.create({ maxExecutionMs, maxGas: 1e9 });
    if (!created.ok) throw new Error(created.error.message);
    const loaded = await sandbox.load(created.value, guest);
    if (!loaded.ok) throw new Error(loaded.error.message);
    return created.value;
  };
  const [a, b] = await Promise.all([make(60_000), make(60_000)]);
  const placed = [a.worker, b.worker];
  const fibs = await Promise.all([sandbox.execute(a, 'fib', 22), sandbox.execute(b, 'fib', 22)]);
  const greeted = await sandbox.execute(a, 'greeted');
  const summed = await sandbox.execute(b, 'summed');
  await sandbox.execute(a, 'add', 41);
  await sandbox.suspend(a);
  await sandbox.destroy(b);
  const victim = await make(50);
  const killed = await sandbox.execute(victim, 'spin');
  await sandbox.resume(a);
  const resumed = await sandbox.execute(a, 'add', 1);
  // Calls on one instance, issued at once, answered in order.
  const ordered = await Promise.all([1, 2, 3, 4, 5].map((n) => sandbox.execute(a, 'add', n)));
  // A host function waiting on a lock nobody releases (a loop where memory cannot be shared).
  const waiter = await make(50);
  const waited = await sandbox.execute(waiter, 'wait');
  // A worker that closes itself sends no event (and finishes the task it is in): it is found out
  // at the deadline of the next execution it is given.
  const crasher = await make(50);
  const crashed = await sandbox.execute(crasher, 'crash');
  // (Past the worker's spin for a next quick call, which would still be in that same task.)
  await new Promise((resolve) => setTimeout(resolve, 100));
  const found = await sandbox.execute(crasher, 'get');
  const after = await sandbox.execute(a, 'get');
  // Closing with a call in flight answers it at once.
  const blocked = await make(60_000);
  const pending = sandbox.execute(blocked, 'wait');
  await sandbox.close();
  const closed = await pending;
  return {
    isolated: globalThis.crossOriginIsolated,
    workers: placed,
    fibs: fibs.map((r) => (r.ok ? r.value : r.error.code)),
    greeted: greeted.ok && greeted.value,
    summed: summed.ok && summed.value,
    killed: killed.ok ? 'not killed' : killed.error,
    resumed: resumed.ok ? resumed.value : resumed.error.code,
    victim: victim.status,
    ordered: ordered.map((r) => (r.ok ? r.value : r.error.code)),
    waited: waited.ok ? 'not killed' : waited.error,
    crashed: crashed.ok ? 'returned' : crashed.error.code,
    found: found.ok ? 'answered' : found.error,
    after: after.ok ? after.value : after.error.code,
    closed: closed.ok ? 'not closed' : closed.error.code,
  };
}

Object.assign(globalThis, { runWorkerChecks: run });
