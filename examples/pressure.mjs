// A host scheduler acting on @ri-sandbox/pressure's advice with the sandbox's
// suspend and resume: one call per instance id the advisor names.
import { adviseOnPressure, getMemoryPressure } from '@ri-sandbox/pressure';
import { createWasmSandbox } from '@ri-sandbox/sandbox';
import { fixture } from '@ri-sandbox/test-fixtures';

const MiB = 1 << 20;
const sandbox = createWasmSandbox();
const byId = new Map();
const lastActiveAt = new Map();

// Six sandboxes that each grew their memory to 4 MiB and wrote a value into it.
for (let i = 0; i < 6; i++) {
  const instance = sandbox.create({ maxMemoryBytes: 8 * MiB, maxExecutionMs: 1000 }).value;
  await sandbox.load(instance, fixture('memory-hog'));
  sandbox.execute(instance, 'grow', 63);
  sandbox.execute(instance, 'fill', 10 + i);
  byId.set(instance.id, instance);
  lastActiveAt.set(instance.id, i); // sandbox-0 is the least recently active
}

// What the host measured it can give the sandboxes (it reads the platform; the library never does).
const availableBytes = 27 * MiB;
const records = () =>
  [...byId.values()].map((instance) => ({
    id: instance.id,
    memoryUsedBytes: sandbox.getMetrics(instance).value.memoryUsedBytes,
    lastActiveAt: lastActiveAt.get(instance.id),
    foreground: instance.id === 'sandbox-5',
  }));

console.log(`level: ${getMemoryPressure(records(), availableBytes)}`);
const advice = adviseOnPressure(records(), availableBytes);
console.log(`advice: ${advice.action} ${advice.instanceIds?.join(', ') ?? ''}`);
if (advice.action === 'suspend' || advice.action === 'emergency_save') {
  for (const id of advice.instanceIds) {
    const suspended = sandbox.suspend(byId.get(id));
    if (!suspended.ok) throw new Error(suspended.error.message);
  }
}
console.log(`level after acting: ${getMemoryPressure(records(), availableBytes)}`);

// A suspended sandbox comes back exactly as it was.
const first = byId.get('sandbox-0');
console.log(`sandbox-0 is ${first.status}; resuming`);
sandbox.resume(first);
console.log(
  `sandbox-0 is ${first.status}, its byte at 1000 is ${sandbox.execute(first, 'load', 1000).value}`,
);
for (const instance of byId.values()) sandbox.destroy(instance);
