/**
 * The playground page: WebAssembly text (compiled in the page by wabt, loaded
 * on first use) or a dropped `.wasm`, loaded into a sandbox under the limits
 * the visitor sets; an export run with JSON arguments; snapshot and restore.
 */
import {
  type ExecutionResult,
  type SandboxError,
  type SandboxInstance,
  createWasmSandbox,
} from '@ri-sandbox/sandbox';

const EXAMPLE = `;; A counter that keeps its count in a global, and a loop that never ends:
;; run "add" with 5, snapshot, run it again, restore, and run "get";
;; then run "spin" and watch gas (or time) stop it.
(module
  (global $count (mut i32) (i32.const 0))
  (func (export "add") (param $n i32) (result i32)
    (global.set $count (i32.add (global.get $count) (local.get $n)))
    (global.get $count))
  (func (export "get") (result i32) (global.get $count))
  (func (export "spin") (loop $forever (br $forever))))
`;

function element<T extends HTMLElement>(id: string, kind: new () => T): T {
  const found = document.getElementById(id);
  if (!(found instanceof kind)) throw new Error(`the page has no #${id} of the expected kind`);
  return found;
}

const ui = {
  wat: element('wat', HTMLTextAreaElement),
  drop: element('drop', HTMLDivElement),
  file: element('file', HTMLInputElement),
  fileName: element('file-name', HTMLSpanElement),
  maxGas: element('max-gas', HTMLInputElement),
  maxMs: element('max-ms', HTMLInputElement),
  maxMemory: element('max-memory', HTMLInputElement),
  load: element('load', HTMLButtonElement),
  exportName: element('export', HTMLSelectElement),
  args: element('args', HTMLInputElement),
  run: element('run', HTMLButtonElement),
  snapshot: element('snapshot', HTMLButtonElement),
  restore: element('restore', HTMLButtonElement),
  status: element('status', HTMLParagraphElement),
  value: element('value', HTMLTableCellElement),
  gas: element('gas', HTMLTableCellElement),
  time: element('time', HTMLTableCellElement),
  memory: element('memory', HTMLTableCellElement),
  snapshotInfo: element('snapshot-info', HTMLTableCellElement),
};

const sandbox = createWasmSandbox();
let instance: SandboxInstance | undefined;
let saved: Uint8Array | undefined;
/** A dropped or chosen `.wasm`, used instead of the text until the text changes. */
let dropped: { name: string; bytes: Uint8Array } | undefined;

const group = (n: number) => n.toLocaleString('en-US');

function show(text: string, kind: 'ok' | 'error' | 'info'): void {
  ui.status.textContent = text;
  ui.status.className = kind;
}

function showError(error: SandboxError): void {
  show(`${error.code}: ${error.message}`, 'error');
}

/** A value as JSON, with bigints (i64) written 123n. */
function describe(value: unknown): string {
  if (value === undefined) return '(none)';
  const json: unknown = JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v));
  return typeof json === 'string' ? json : typeof value;
}

async function watToWasm(source: string): Promise<Uint8Array> {
  const { default: createWabt } = await import('wabt');
  const wabt = await createWabt();
  const module = wabt.parseWat('playground.wat', source, {
    simd: true,
    multi_value: true,
    bulk_memory: true,
  });
  try {
    module.resolveNames();
    module.validate();
    return module.toBinary({}).buffer;
  } finally {
    module.destroy();
  }
}

function limits(): { maxGas: number; maxExecutionMs: number; maxMemoryBytes: number } {
  return {
    maxGas: Number(ui.maxGas.value),
    maxExecutionMs: Number(ui.maxMs.value),
    maxMemoryBytes: Number(ui.maxMemory.value),
  };
}

function setLoaded(loaded: boolean): void {
  ui.run.disabled = !loaded;
  ui.snapshot.disabled = !loaded;
  ui.restore.disabled = !loaded || saved === undefined;
}

async function load(): Promise<void> {
  let bytes: Uint8Array;
  try {
    bytes = dropped?.bytes ?? (await watToWasm(ui.wat.value));
  } catch (error) {
    show(
      `the text is not valid WebAssembly: ${error instanceof Error ? error.message : String(error)}`,
      'error',
    );
    return;
  }
  if (instance !== undefined) sandbox.destroy(instance);
  instance = undefined;
  saved = undefined;
  ui.snapshotInfo.textContent = 'none';
  setLoaded(false);
  const created = sandbox.create(limits());
  if (!created.ok) {
    showError(created.error);
    return;
  }
  const loaded = await sandbox.load(created.value, bytes);
  if (!loaded.ok) {
    showError(loaded.error);
    return;
  }
  instance = created.value;
  const functions = loaded.value.exports.filter((e) => e.kind === 'function').map((e) => e.name);
  ui.exportName.replaceChildren(...functions.map((name) => new Option(name, name)));
  setLoaded(true);
  show(
    `loaded ${dropped?.name ?? 'the text'} (${group(bytes.length)} bytes): ${functions.join(', ') || 'no exported functions'}`,
    'ok',
  );
}

function showResult(result: ExecutionResult): void {
  if (result.ok) {
    show('ok', 'ok');
    ui.value.textContent = describe(result.value);
    ui.gas.textContent = `${group(result.gasUsed)} of ${group(result.metrics.gasLimit)}`;
    ui.time.textContent = `${result.durationMs.toFixed(3)} ms of ${group(result.metrics.executionLimitMs)} ms`;
  } else {
    showError(result.error);
    ui.value.textContent = '';
    const metrics = instance?.metrics;
    ui.gas.textContent =
      metrics === undefined ? '' : `${group(metrics.gasUsed)} of ${group(metrics.gasLimit)}`;
    ui.time.textContent =
      metrics === undefined
        ? ''
        : `${metrics.executionMs.toFixed(3)} ms of ${group(metrics.executionLimitMs)} ms`;
  }
  const metrics = instance?.metrics;
  ui.memory.textContent =
    metrics === undefined
      ? ''
      : `${group(metrics.memoryUsedBytes)} of ${group(metrics.memoryLimitBytes)} bytes`;
}

function run(): void {
  if (instance === undefined) return;
  let payload: unknown;
  try {
    payload = ui.args.value.trim() === '' ? undefined : (JSON.parse(ui.args.value) as unknown);
  } catch {
    show(
      'the arguments are not JSON (a number, or an array of numbers, or any JSON for a JSON action)',
      'error',
    );
    return;
  }
  showResult(sandbox.execute(instance, ui.exportName.value, payload));
}

function snapshot(): void {
  if (instance === undefined) return;
  const taken = sandbox.snapshot(instance);
  if (!taken.ok) {
    showError(taken.error);
    return;
  }
  saved = taken.value;
  ui.snapshotInfo.textContent = `${group(saved.length)} bytes`;
  setLoaded(true);
  show('snapshot taken', 'ok');
}

function restore(): void {
  if (instance === undefined || saved === undefined) return;
  const restored = sandbox.restore(instance, saved);
  if (restored.ok) show('restored', 'ok');
  else showError(restored.error);
}

async function useFile(file: File): Promise<void> {
  dropped = { name: file.name, bytes: new Uint8Array(await file.arrayBuffer()) };
  ui.fileName.textContent = `${file.name} (${group(file.size)} bytes), used instead of the text`;
  await load();
}

ui.wat.value = EXAMPLE;
ui.wat.addEventListener('input', () => {
  dropped = undefined;
  ui.fileName.textContent = '';
});
ui.file.addEventListener('change', () => {
  const file = ui.file.files?.[0];
  if (file !== undefined) void useFile(file);
});
ui.drop.addEventListener('dragover', (event) => {
  event.preventDefault();
  ui.drop.classList.add('over');
});
ui.drop.addEventListener('dragleave', () => {
  ui.drop.classList.remove('over');
});
ui.drop.addEventListener('drop', (event) => {
  event.preventDefault();
  ui.drop.classList.remove('over');
  const file = event.dataTransfer?.files[0];
  if (file !== undefined) void useFile(file);
});
ui.load.addEventListener('click', () => void load());
ui.run.addEventListener('click', run);
ui.snapshot.addEventListener('click', snapshot);
ui.restore.addEventListener('click', restore);
