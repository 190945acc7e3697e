/**
 * `@ri-sandbox/metering`: instruction-level gas by bytecode instrumentation,
 * preemptive timeouts, and memory-growth limits, for any WebAssembly module.
 *
 * @packageDocumentation
 */
export type { CostModel } from './cost-model';
export { DEFAULT_COST_MODEL, STRUCTURAL_INSTRUCTIONS, resolveCostModel } from './cost-model';
export type { MeteringOptions, MeteredModule } from './instrument';
export { METERING_GLOBALS, meteringGlobals, meterModule, instrument, warmUpMetering } from './instrument';
export type { MeterLimits, MeterOptions, MeteredRun } from './meter';
export { Meter, checkMeterLimits } from './meter';
export {
  METERING_IMPORT_MODULE,
  REFILL_IMPORT,
  CONTROL_EXPORT,
  CONTROL_READ_GAS,
  CONTROL_WRITE_GAS,
  CONTROL_TAKE_ABORT,
  CONTROL_READ_ABORT_ARGUMENT,
  ABORT_STOPPED,
  ABORT_MEMORY,
} from './names';
