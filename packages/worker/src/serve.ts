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
  type SuspendingSandbox,
  err,
  ok,
  sandboxError,
} from '@ri-sandbox/core';
import { createWasmSandbox } from '@ri-sandbox/sandbox';
import type { CallMessage, FromWorker, InstanceState, ToWorker } from './protocol';

/** Where a worker receives the pool's messages and sends its answers. */
export interface WorkerEndpoint {
  send(message: FromWorker, transfer: readonly ArrayBuffer[]): void;
  receive(handler: (message: ToWorker) => void): void;
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
    return { ...result, error: { ...result.error, cause: textOf(cause) } };
  }
}

/** The instance's state for the caller's handle; its config (frozen at creation) only after `create`. */
function stateOf(instance: SandboxInstance, op: CallMessage['op']): InstanceState {
  if (op !== 'create') return { status: instance.status, metrics: instance.metrics };
  const { hostFunctions, ...config } = instance.config;
  return {
    status: instance.status,
    metrics: instance.metrics,
    config: { ...config, hostFunctions: Object.keys(hostFunctions) },
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
 * answered in order.
 */
export function serveSandbox(
  endpoint: WorkerEndpoint,
  load: (specifier: string) => Promise<unknown> = (specifier) => import(/* @vite-ignore */ specifier),
): void {
  let sandbox: SuspendingSandbox | undefined;
  let table: Record<string, HostFunction> = {};
  const instances = new Map<string, SandboxInstance>();

  async function call(message: CallMessage): Promise<void> {
    let result: Result<unknown, SandboxError>;
    let instance = instances.get(message.instance);
    if (sandbox === undefined)
      result = err(sandboxError.invalidState('', 'destroyed', message.op, 'not ready'));
    else if (message.op === 'create') {
      const input: unknown = message.args[0] ?? {};
      const config = input as Record<string, unknown>;
      const functions = chosen(table, config['hostFunctions']);
      // Anything but an object goes to the sandbox as it is, which says what is wrong with it.
      if (typeof input !== 'object' || input === null || Array.isArray(input))
        result = sandbox.create(input as never);
      else result = functions.ok ? sandbox.create({ ...config, hostFunctions: functions.value }) : functions;
      if (result.ok) {
        instance = result.value as SandboxInstance;
        instances.set(message.instance, instance);
        result = ok(undefined);
      }
    } else if (instance === undefined) {
      result = err(sandboxError.instanceDestroyed(message.instance));
    } else {
      result = await perform(sandbox, instance, message);
      if (message.op === 'destroy') instances.delete(message.instance);
    }
    const transfer =
      message.op === 'snapshot' && result.ok ? [(result.value as Uint8Array).buffer as ArrayBuffer] : [];
    endpoint.send(
      {
        kind: 'reply',
        id: message.id,
        result: portable(result),
        ...(instance === undefined ? {} : { state: stateOf(instance, message.op) }),
      },
      transfer,
    );
  }

  // Calls are answered in order; a load (asynchronous) holds back the calls after it.
  let queue = Promise.resolve();
  let waiting = 0;
  const inLine = (work: () => Promise<void>) => {
    waiting++;
    queue = queue.then(work).finally(() => {
      waiting--;
    });
  };
  endpoint.receive((message) => {
    if (message.kind === 'init') {
      inLine(async () => {
        sandbox = createWasmSandbox(message.options as Parameters<typeof createWasmSandbox>[0]);
        if (message.hostFunctions === undefined) {
          endpoint.send({ kind: 'ready' }, []);
          return;
        }
        let imported: unknown;
        try {
          imported = ((await load(message.hostFunctions)) as { default?: unknown }).default;
        } catch (error) {
          const reason = `cannot import ${message.hostFunctions}: ${error instanceof Error ? error.message : String(error)}`;
          endpoint.send({ kind: 'ready', error: sandboxError.invalidConfig('hostFunctions', reason) }, []);
          return;
        }
        const loaded = hostFunctionTable(imported);
        if (loaded.ok) table = loaded.value;
        endpoint.send(loaded.ok ? { kind: 'ready' } : { kind: 'ready', error: loaded.error }, []);
      });
      return;
    }
    // Nothing in line: answer at once (a synchronous operation answers before this returns).
    if (waiting === 0 && message.op !== 'load') void call(message);
    else inLine(() => call(message));
  });
}
