/**
 * The worker's side: a sandbox of its own, and the instances the pool placed
 * here, operated on as the pool's messages ask. Portable: the endpoint is
 * whatever carries messages (a Web Worker's `self`, Node's `parentPort`, a
 * `MessagePort`).
 */
import {
  type HostFunction,
  type Result,
  type SandboxError,
  type SandboxInstance,
  SandboxOptionsError,
  type SuspendingSandbox,
  err,
  ok,
  sandboxError,
  thrownReason,
} from '@ri-sandbox/core';
import { type PreparedModuleStore, type SandboxOptions, createWasmSandbox } from '@ri-sandbox/sandbox';
import { IDLE, MESSAGE, WorkerChannel } from './channel';
import {
  type CallMessage,
  type FromWorker,
  type InstanceState,
  type ReplyMessage,
  type ToWorker,
} from './protocol';

/** Where a worker receives the pool's messages and sends its answers. */
export interface WorkerEndpoint {
  send(message: FromWorker, transfer: readonly ArrayBuffer[]): void;
  receive(handler: (message: ToWorker) => void): void;
}

/**
 * The default export of the module `specifier` names (`undefined` for none), or `INVALID_CONFIG`
 * naming `option` if it cannot be imported.
 */
async function importDefault(
  load: (specifier: string) => Promise<unknown>,
  specifier: string | undefined,
  option: string,
): Promise<Result<unknown, SandboxError>> {
  if (specifier === undefined) return ok(undefined);
  try {
    return ok(((await load(specifier)) as { default?: unknown }).default);
  } catch (error) {
    const reason = `cannot import ${specifier}: ${thrownReason(error)}`;
    return err(sandboxError.invalidConfig(option, reason));
  }
}

/** The host functions a module exports by default, by the key a config names them with. */
export function hostFunctionTable(exported: unknown): Result<Record<string, HostFunction>, SandboxError> {
  const list = Array.isArray(exported)
    ? exported
    : typeof exported === 'object' && exported !== null
      ? Object.entries(exported).map(([key, fn]) => [key, fn] as const)
      : undefined;
  if (list === undefined)
    return err(
      sandboxError.invalidConfig(
        'hostFunctions',
        'the module must export by default an object of host functions keyed by name, or an array of them',
      ),
    );
  const table: Record<string, HostFunction> = {};
  for (const entry of list) {
    const [key, fn] = Array.isArray(entry) ? (entry as [string, unknown]) : [undefined, entry];
    const named = fn as Partial<HostFunction> | null;
    if (typeof named !== 'object' || named === null || typeof named.name !== 'string')
      return err(sandboxError.invalidConfig('hostFunctions', `${String(key ?? fn)} is not a host function`));
    const name = key ?? (named.module === undefined ? named.name : `${named.module}.${named.name}`);
    table[name] = named as HostFunction;
  }
  return ok(table);
}

/** The host functions of `table` a config names (all of them when it names none). */
function chosen(
  table: Readonly<Record<string, HostFunction>>,
  names: unknown,
): Result<Record<string, HostFunction>, SandboxError> {
  if (names === undefined) return ok({ ...table });
  if (!Array.isArray(names) || !names.every((n) => typeof n === 'string'))
    return err(
      sandboxError.invalidConfig(
        'hostFunctions',
        'in a worker, name the host functions of the hostFunctions module (an array of names)',
      ),
    );
  const picked: Record<string, HostFunction> = {};
  for (const name of names) {
    const fn = table[name];
    if (fn === undefined) {
      const offered = Object.keys(table).join(', ') || 'none';
      return err(
        sandboxError.invalidConfig('hostFunctions', `no host function ${name} (offered: ${offered})`),
      );
    }
    picked[name] = fn;
  }
  return ok(picked);
}

/** What a value that cannot cross threads looked like: its JSON, or its type. */
const stringifyJson: (value: unknown) => string | undefined = JSON.stringify;

function textOf(value: unknown): string {
  try {
    return stringifyJson(value) ?? typeof value;
  } catch {
    return typeof value;
  }
}

/** A result that structured clone can carry: a host error's cause becomes an `Error` or text. */
function portable(result: Result<unknown, SandboxError>): Result<unknown, SandboxError> {
  if (result.ok || result.error.code !== 'HOST_FUNCTION_ERROR') return result;
  const { cause } = result.error;
  if (cause instanceof Error || cause === undefined) return result;
  try {
    structuredClone(cause);
    return result;
  } catch {
    return Object.assign({}, result, { error: Object.assign({}, result.error, { cause: textOf(cause) }) });
  }
}

/**
 * The instance's state for the caller's handle: its metrics, unless `result` carries them already
 * (an execution's do); its config (frozen at creation) only after `create`.
 */
function stateOf(instance: SandboxInstance, op: CallMessage['op'], result: object): InstanceState {
  const { metrics } = instance;
  if (op !== 'create')
    return (result as { metrics?: unknown }).metrics === metrics
      ? { status: instance.status }
      : { status: instance.status, metrics };
  const { hostFunctions, ...config } = instance.config;
  return {
    status: instance.status,
    metrics,
    config: Object.assign({}, config, { hostFunctions: Object.keys(hostFunctions) }),
  };
}

/** What a call came to: its result, and the instance it concerns (if there is one). */
interface Answered {
  readonly result: Result<unknown, SandboxError>;
  readonly instance: SandboxInstance | undefined;
}

/** The reply to `message`, with the instance's state for the caller's handle. */
function replyOf(message: CallMessage, { result, instance }: Answered): ReplyMessage {
  return {
    kind: 'reply',
    id: message.id,
    result: portable(result),
    ...(instance === undefined ? {} : { state: stateOf(instance, message.op, result) }),
  };
}

/** What one call does to `instance` (already created), as the sandbox answers it. */
function perform(
  sandbox: SuspendingSandbox,
  instance: SandboxInstance,
  call: CallMessage,
): Result<unknown, SandboxError> | Promise<Result<unknown, SandboxError>> {
  const [first, second] = call.args;
  switch (call.op) {
    case 'load':
      return sandbox.load(instance, first as Uint8Array);
    case 'execute':
      return sandbox.execute(instance, first as string, second);
    case 'destroy':
      return sandbox.destroy(instance);
    case 'snapshot':
      return sandbox.snapshot(instance);
    case 'restore':
      return sandbox.restore(instance, first as Uint8Array);
    case 'getMetrics':
      return sandbox.getMetrics(instance);
    case 'readFiles':
      return sandbox.readFiles(instance);
    case 'writeFiles':
      return sandbox.writeFiles(instance, first as Record<string, Uint8Array | string>);
    case 'create':
      return err(sandboxError.invalidState(instance.id, instance.status, 'create', 'it exists already'));
  }
}

/**
 * Serves the pool on `endpoint`: the first message configures the sandbox and
 * imports the host functions (`load` imports a module by specifier; the
 * default is the platform's dynamic `import`); each later one is a call,
 * answered in order. With a shared channel (see `channel.ts`), the worker
 * waits on it whenever it has nothing in line, and answers the quick calls
 * that come through it.
 */
export function serveSandbox(
  endpoint: WorkerEndpoint,
  load: (specifier: string) => Promise<unknown> = (specifier) => import(/* @vite-ignore */ specifier),
): void {
  let sandbox: SuspendingSandbox | undefined;
  let table: Record<string, HostFunction> = {};
  let channel: WorkerChannel | undefined;
  const instances = new Map<string, SandboxInstance>();

  /** What `message` does: its result, and the instance it concerns, if there is one now. */
  function run(message: CallMessage): Answered | Promise<Answered> {
    const instance = instances.get(message.instance);
    if (sandbox === undefined)
      return { result: err(sandboxError.invalidState('', 'destroyed', message.op, 'not ready')), instance };
    if (message.op === 'create') return create(sandbox, message);
    if (instance === undefined)
      return { result: err(sandboxError.instanceDestroyed(message.instance)), instance };
    const result = perform(sandbox, instance, message);
    if (message.op === 'destroy') instances.delete(message.instance);
    return result instanceof Promise
      ? result.then((done) => ({ result: done, instance }))
      : { result, instance };
  }

  function create(into: SuspendingSandbox, message: CallMessage): Answered {
    const input: unknown = message.args[0] ?? {};
    const config = input as Record<string, unknown>;
    const functions = chosen(table, config['hostFunctions']);
    // Anything but an object goes to the sandbox as it is, which says what is wrong with it.
    const result =
      typeof input !== 'object' || input === null || Array.isArray(input)
        ? into.create(input as never)
        : functions.ok
          ? into.create(Object.assign({}, config, { hostFunctions: functions.value }))
          : functions;
    if (!result.ok) return { result, instance: undefined };
    const instance = result.value;
    instances.set(message.instance, instance);
    return { result: ok(undefined), instance };
  }

  async function call(message: CallMessage): Promise<void> {
    const answered = await run(message);
    const { result } = answered;
    const transfer =
      message.op === 'snapshot' && result.ok ? [(result.value as Uint8Array).buffer as ArrayBuffer] : [];
    endpoint.send(replyOf(message, answered), transfer);
    idle();
  }

  /** Answers one call that came through the channel: the pool sends only quick, synchronous ones there. */
  function callNow(open: WorkerChannel, message: CallMessage): void {
    const reply = replyOf(message, run(message) as Answered);
    if (open.reply(reply)) endpoint.send(reply, []);
  }

  // Once nothing is in line, the worker serves the channel (in a task of its own, after the reply
  // that made it idle) until a message needs the event loop or nothing comes; then it waits to be
  // woken, its event loop free.
  let scheduled = false;
  let armed = false;
  const later: (task: () => void) => void =
    (globalThis as { setImmediate?: (task: () => void) => void }).setImmediate ??
    ((task) => setTimeout(task, 0));
  function serveChannel(open: WorkerChannel): void {
    if (waiting !== 0) return;
    for (let next = open.poll(); next !== MESSAGE; next = open.poll()) {
      if (next === IDLE) {
        if (!armed) {
          armed = true;
          void open.woken().then(() => {
            armed = false;
            serveChannel(open);
          });
        }
        return;
      }
      callNow(open, next as CallMessage);
    }
  }
  function idle(): void {
    if (channel === undefined || scheduled) return;
    const open = channel;
    scheduled = true;
    later(() => {
      scheduled = false;
      serveChannel(open);
    });
  }

  // Calls are answered in order; a load (asynchronous) holds back the calls after it.
  let queue = Promise.resolve();
  let waiting = 0;
  const inLine = (work: () => Promise<void>) => {
    waiting++;
    queue = queue.then(work).finally(() => {
      waiting--;
      idle();
    });
  };
  endpoint.receive((message) => {
    if (message.kind === 'init') {
      if (message.channel !== undefined) channel = new WorkerChannel(message.channel);
      inLine(async () => {
        const store = await importDefault(load, message.preparedModules, 'preparedModules');
        if (!store.ok) {
          endpoint.send({ kind: 'ready', error: store.error }, []);
          return;
        }
        const options = message.options as SandboxOptions;
        try {
          sandbox = createWasmSandbox(
            store.value === undefined
              ? options
              : Object.assign({}, options, { preparedModules: store.value as PreparedModuleStore }),
          );
        } catch (error) {
          // The options were checked by the pool: only the store can be refused here.
          const refused =
            error instanceof SandboxOptionsError
              ? error.error
              : sandboxError.invalidConfig('preparedModules', String(error));
          endpoint.send({ kind: 'ready', error: refused }, []);
          return;
        }
        const imported = await importDefault(load, message.hostFunctions, 'hostFunctions');
        const loaded = imported.ok
          ? imported.value === undefined
            ? ok({})
            : hostFunctionTable(imported.value)
          : imported;
        if (loaded.ok) table = loaded.value;
        endpoint.send(loaded.ok ? { kind: 'ready' } : { kind: 'ready', error: loaded.error }, []);
      });
      return;
    }
    channel?.received();
    // Nothing in line: answer at once (a synchronous operation answers before this returns).
    if (waiting === 0 && message.op !== 'load') void call(message);
    else inLine(() => call(message));
  });
}
