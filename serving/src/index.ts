export { type Announcer, type AnnouncerOptions, createAnnouncer } from './announcer.js';
export { type AppDeps, buildApp } from './app.js';
export { type AuditLog, createAuditLog, type Decision } from './audit-log.js';
export { type CanaryMonitor, type CanaryStats, createCanaryMonitor } from './canary.js';
export { cohortPosition, routeVariant } from './canary-routing.js';
export {
  type ChipLayers,
  createChipLayers,
  loadChipLayers,
  NO_CHIP_LAYERS,
} from './chip-layers.js';
export {
  DEFAULT_CANARY_WEIGHT,
  DEFAULT_CANARY_WINDOW_S,
  loadServingConfig,
  type ServingConfig,
  servingSettings,
} from './config.js';
export { crwBaselineRisk, riskBand } from './crw-baseline.js';
export { createFeatureReader, type FeatureReader, parseFeatureHash } from './feature-store.js';
export { createMlflowRegistry, type MlflowRegistryOptions } from './mlflow-registry.js';
export { createModelHub, type Lease, type ModelHub, type ModelSet } from './model-hub.js';
export { loadServingModel, type ServingModel, sha256Hex, TABULAR_FILE } from './model-session.js';
export {
  createOfflineFeatureReader,
  type OfflineFeatureReader,
} from './offline-features.js';
export {
  createPredictionPublisher,
  type PredictionPublisher,
  type PublisherStats,
} from './prediction-publisher.js';
export { FeaturesUnavailableError, type ServedPrediction } from './predictor.js';
export {
  modelFileUrl,
  type PromotionDeps,
  promote,
  recordCanaryOpen,
  recordFailedRetrain,
  rollback,
  rolloutStage,
  toRolloutDecision,
} from './promotion.js';
export {
  type Approval,
  evaluateGates,
  type GateResult,
  loadApprovals,
  loadPolicy,
  type PromotionPolicy,
} from './promotion-policy.js';
export { type Alias, createLocalRegistry, type ModelRegistry } from './registry.js';
export {
  createRetrainResultsSource,
  DEFAULT_ROLLOUT_DURABLE,
  ensureLoopStreams,
  type ResultDelivery,
  type RetrainResultsSource,
} from './retrain-results.js';
export {
  decideRetrainResult,
  loadRolloutConfig,
  type RolloutConfig,
  type RolloutController,
  type RolloutControllerOptions,
  type RolloutModels,
  rolloutSettings,
  startRolloutController,
} from './rollout.js';
export { formatTrace, readTrace, type TraceStep } from './rollout-trace.js';
export { createPromotionDeps, type ServerExtension, startServer } from './server.js';
export { createSiteCatalog, loadSiteCatalog, type Site, type SiteCatalog } from './sites.js';
