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
  await sandbox.close();
  return {
    isolated: globalThis.crossOriginIsolated,
    workers: placed,
    fibs: fibs.map((r) => (r.ok ? r.value : r.error.code)),
    greeted: greeted.ok && greeted.value,
    summed: summed.ok && summed.value,
    killed: killed.ok ? 'not killed' : killed.error,
    resumed: resumed.ok ? resumed.value : resumed.error.code,
    victim: victim.status,
  };
}

Object.assign(globalThis, { runWorkerChecks: run });
