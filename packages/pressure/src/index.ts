/**
 * `@ri-sandbox/pressure`: memory pressure levels and advice for hosts that
 * schedule many sandboxes. Pure functions over plain usage records.
 *
 * @packageDocumentation
 */
export type { UsageRecord, InstanceLike, PressureLevel, PressureAdvice } from './pressure';
export { PRESSURE_THRESHOLDS, PressureInputError, getMemoryPressure, adviseOnPressure } from './pressure';
