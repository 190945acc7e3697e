// Worker benchmarks (issue #14): throughput of CPU-bound executions over many instances in 2 workers
// against 1, the time a worker round trip adds to an execute, and how soon after its deadline a blocked
// host function's caller gets its TIMEOUT.
import { Worker } from 'node:worker_threads';
import { createWasmSandbox } from '@ri-sandbox/sandbox';
import { fixture } from '@ri-sandbox/test-fixtures';
import { createWorkerSandbox } from '@ri-sandbox/worker/node';
import { median, ms, ratio, table, watToBytes } from './lib.mjs';

const INSTANCES = 8;
const CALLS = 6;
const WARM_BATCHES = 3;
const GRACE_MS = 100;
const LIMIT_MS = 50;

function must(result) {
  if (!result.ok) throw new Error(result.error.message);
  return result.value;
}

const JOBS = [
  { name: 'fib(25)', bytes: fixture('fibonacci'), action: 'fib', payload: 25 },
  { name: 'sha256 of 256 KiB (clang)', bytes: fixture('sha256'), action: 'sha256_pattern', payload: 1 << 18 },
];

/**
 * Wall time of INSTANCES x CALLS executions of `job`, all issued at once, in a pool of `workers`, after
 * WARM_BATCHES of the same untimed: each worker compiles the guest for itself, and V8 runs it in its
 * baseline tier until the optimizing compiler, on a background thread, is done with it (the process
 * spent 20 to 30 ms of CPU beyond the executions in each of the first two or three batches). One worker
 * leaves that compiler the other core; two leave it none, and their executions wait for it (some took
 * two to four times their time): figures of the first batches measured the warm-up, not the pool.
 */
async function throughput(job, workers) {
  const pool = createWorkerSandbox({ workers });
  const instances = [];
  for (let i = 0; i < INSTANCES; i++) {
    const instance = must(await pool.create({ maxGas: 1e12, maxExecutionMs: 1e6, maxMemoryBytes: 4 << 20 }));
    must(await pool.load(instance, job.bytes));
    instances.push(instance);
  }
  const batch = async () => {
    const calls = instances.flatMap((instance) =>
      Array.from({ length: CALLS }, () => pool.execute(instance, job.action, job.payload)),
    );
    for (const result of await Promise.all(calls)) must(result);
  };
  for (let i = 0; i < WARM_BATCHES; i++) await batch();
  const started = performance.now();
  await batch();
  const elapsed = performance.now() - started;
  await pool.close();
  return elapsed;
}

/** An instance running `add` in a pool of one worker. */
async function addInWorker(options) {
  const pool = createWorkerSandbox({ workers: 1, ...options });
  const instance = must(await pool.create({ maxExecutionMs: 1e6 }));
  must(await pool.load(instance, fixture('add')));
  return { pool, instance };
}

/**
 * Median time of one execute(add), awaited one by one: in one worker through shared memory (the
 * default), in one worker by message only, and directly.
 */
async function overhead() {
  const quick = await addInWorker({});
  const messages = await addInWorker({ replySpinMicroseconds: 0 });
  const direct = createWasmSandbox();
  const local = must(direct.create({ maxExecutionMs: 1e6 }));
  must(await direct.load(local, fixture('add')));
  // The floor: a bare postMessage round trip to a worker that echoes, with a message of the same shape.
  const echo = new Worker(
    "const { parentPort } = require('node:worker_threads'); parentPort.on('message', (m) => parentPort.postMessage(m));",
    { eval: true },
  );
  const message = { kind: 'call', id: 1, op: 'execute', instance: 'sandbox-0', args: ['add', [1, 2]] };
  const echoed = () =>
    new Promise((resolve) => {
      echo.once('message', resolve);
      echo.postMessage(message);
    });
  const rounds = { worker: [], messages: [], direct: [], bare: [] };
  const N = 2000;
  for (let round = 0; round < 9; round++) {
    let started = performance.now();
    for (let i = 0; i < N; i++) must(await quick.pool.execute(quick.instance, 'add', [i, 1]));
    rounds.worker.push(((performance.now() - started) / N) * 1000);
    started = performance.now();
    for (let i = 0; i < N; i++) must(await messages.pool.execute(messages.instance, 'add', [i, 1]));
    rounds.messages.push(((performance.now() - started) / N) * 1000);
    started = performance.now();
    for (let i = 0; i < N; i++) must(direct.execute(local, 'add', [i, 1]));
    rounds.direct.push(((performance.now() - started) / N) * 1000);
    started = performance.now();
    for (let i = 0; i < N; i++) await echoed();
    rounds.bare.push(((performance.now() - started) / N) * 1000);
  }
  await quick.pool.close();
  await messages.pool.close();
  await echo.terminate();
  const of = (samples) => median(samples.slice(2));
  return {
    workerUs: of(rounds.worker),
    messagesUs: of(rounds.messages),
    directUs: of(rounds.direct),
    bareUs: of(rounds.bare),
  };
}

/** How long after limit + grace the caller of a blocked host function hears TIMEOUT. */
async function killLatency() {
  const pool = createWorkerSandbox({
    workers: 1,
    graceMs: GRACE_MS,
    hostFunctions: new URL('./worker-host.mjs', import.meta.url),
  });
  const guest = watToBytes('(module (import "env" "spin" (func $spin)) (func (export "spin") (call $spin)))');
  const late = [];
  for (let round = 0; round < 7; round++) {
    const instance = must(await pool.create({ maxExecutionMs: LIMIT_MS }));
    must(await pool.load(instance, guest));
    const started = performance.now();
    const result = await pool.execute(instance, 'spin');
    if (result.ok || !result.error.hardKill) throw new Error('expected a hard kill');
    late.push(performance.now() - started - LIMIT_MS - GRACE_MS);
  }
  await pool.close();
  return { median: median(late), worst: Math.max(...late) };
}

export async function run(log) {
  const jobs = [];
  for (const job of JOBS) {
    log(`worker: throughput, ${job.name}`);
    const one = [];
    const two = [];
    const speedUps = [];
    // Seven rounds, each a measurement with one worker next to one with two: the speed-up is the median
    // of the rounds' own ratios, so that a slow minute of a shared machine (which moved one worker's
    // median by a third between runs) slows both sides of a ratio rather than one of two medians.
    for (let round = 0; round < 7; round++) {
      one.push(await throughput(job, 1));
      two.push(await throughput(job, 2));
      speedUps.push(one[round] / two[round]);
    }
    jobs.push({ name: job.name, one: median(one), two: median(two), speedUp: median(speedUps) });
  }
  log('worker: round trip');
  const trip = await overhead();
  log('worker: hard kill');
  const kill = await killLatency();
  return { jobs, trip, kill };
}

export function report({ jobs, trip, kill }) {
  return [
    `### Workers (${INSTANCES} instances x ${CALLS} calls issued at once; ratios in one run)`,
    '',
    table(
      ['job', '1 worker', '2 workers', 'speed-up, the median of the rounds (target >= 1.8x on 2 cores)'],
      jobs.map((j) => [j.name, ms(j.one), ms(j.two), ratio(j.speedUp)]),
    ),
    '',
    table(
      ['figure', 'measured', 'target'],
      [
        [
          'execute(add) through a worker (shared memory), against direct',
          `${trip.workerUs.toFixed(1)} µs vs ${trip.directUs.toFixed(1)} µs (+${(trip.workerUs - trip.directUs).toFixed(1)} µs)`,
          '<= 20 µs added',
        ],
        [
          'execute(add) through a worker by message only (`replySpinMicroseconds: 0`)',
          `${trip.messagesUs.toFixed(1)} µs (+${(trip.messagesUs - trip.directUs).toFixed(1)} µs)`,
          '',
        ],
        [
          'a bare postMessage round trip to an echoing worker (the transport alone)',
          `${trip.bareUs.toFixed(1)} µs`,
          '',
        ],
        [
          `TIMEOUT after a blocked host function's deadline (${LIMIT_MS} ms limit + ${GRACE_MS} ms grace)`,
          `${ms(kill.median)} median, ${ms(kill.worst)} worst`,
          '<= 20 ms',
        ],
      ],
    ),
  ].join('\n');
}
