/** Command-line entry of the determinism suite (for Bun): prints the records as JSON. */
import { runDeterminismSuite } from './suite';

console.log(JSON.stringify(await runDeterminismSuite()));
