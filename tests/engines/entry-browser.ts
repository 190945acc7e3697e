/** Browser entry of the determinism suite: exposes the runner for the test page. */
import { runDeterminismSuite } from './suite';

(globalThis as { runDeterminismSuite?: typeof runDeterminismSuite }).runDeterminismSuite =
  runDeterminismSuite;
