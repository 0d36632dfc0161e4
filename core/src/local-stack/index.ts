export {
  type AlertmanagerOptions,
  localAlertmanagerConfig,
  startAlertmanager,
} from './alertmanager.js';
export {
  DEFAULT_MLFLOW_READY_TIMEOUT_MS,
  defaultMlflowExecutable,
  type MlflowOptions,
  startMlflow,
} from './mlflow.js';
export {
  type MonitoringStackOptions,
  type MonitoringState,
  monitoringUnavailable,
  startMonitoringStack,
} from './monitoring-stack.js';
export { freePort, type LocalServer, waitForPort } from './process.js';
export {
  listScrapeTargets,
  MONITORING_JOBS,
  type MonitoringJob,
  type PrometheusOptions,
  type PrometheusServer,
  removeScrapeTargets,
  renderPrometheusConfig,
  type ScrapeTarget,
  startPrometheus,
  writeScrapeTargets,
} from './prometheus.js';
export { type ServerOptions, startMosquitto, startNats, startRedis } from './servers.js';
export {
  type SlackMessage,
  type SlackPayload,
  type SlackReceiver,
  type SlackReceiverOptions,
  slackMessageText,
  startSlackReceiver,
} from './slack-receiver.js';
export {
  ensureStack,
  readStack,
  type StackOptions,
  type StackState,
  stackEnv,
  stopStack,
} from './stack.js';
