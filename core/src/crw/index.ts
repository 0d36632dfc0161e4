export * from './alert-level.js';
export * from './climatology.js';
export * from './crw-grid.js';
export {
  CRW_STATE_BYTES_PER_PIXEL,
  type CrwDayOutput,
  type CrwState,
  copyCrwState,
  createCrwDayOutput,
  createCrwState,
  sharedArray,
  stepCrwDay,
} from './crw-state.js';
export * from './crw-state-bytes.js';
export * from './heat-stress.js';
export * from './noaa-agreement.js';
export * from './units.js';
