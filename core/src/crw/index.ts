export * from './alert-level.js';
export * from './climatology.js';
export {
  type CrwDayOutput,
  type CrwState,
  createCrwDayOutput,
  createCrwState,
  stepCrwDay,
} from './crw-state.js';
export * from './crw-state-bytes.js';
export * from './heat-stress.js';
export * from './noaa-agreement.js';
export * from './units.js';
