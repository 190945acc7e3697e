// Sandbox benchmarks (issue #6's performance table): the suite `ri-sandbox bench`
// runs, here over the repository's fixtures (a clang module of about 18 KB for load).
import { benchTable, runSandboxBench } from '@ri-sandbox/sandbox/bench';
import { fixture } from '@ri-sandbox/test-fixtures';

export async function run(log) {
  const sort = fixture('sort');
  const rows = await runSandboxBench(
    {
      add: fixture('add'),
      fibonacci: fixture('fibonacci'),
      counter: fixture('counter'),
      page: fixture('memory-hog'),
      load: { bytes: sort, label: `${(sort.length / 1024).toFixed(0)} KB clang module` },
    },
    { progress: (step) => log(`sandbox: ${step}`) },
  );
  return { rows };
}

export function report(results) {
  return [
    '### Sandbox operations (targets are indicative: the machine is shared)',
    '',
    benchTable(results.rows),
  ].join('\n');
}
