export { EventClock, bucketOf, stepEndOf, type Arrival, type ClockState } from './clock.js';
export { ThresholdAlert, type ThresholdState, type ThresholdTransition } from './threshold.js';
export {
  STATUS_CLASSES,
  TrafficAggregate,
  type SectionHits,
  type StatusClass,
  type TrafficAggregateState,
  type TrafficEvent,
  type TrafficSummary,
} from './traffic-stats.js';
export {
  TrafficMonitor,
  trafficMonitorConfigSchema,
  type TrafficAlertDecision,
  type MonitorCounters,
  type MonitorDecision,
  type StatsDecision,
  type TrafficMonitorConfig,
  type TrafficMonitorOptions,
  type TrafficMonitorSnapshot,
} from './traffic-monitor.js';
export { statsRoutes } from './http.js';
export { STATS_RETENTION_SECONDS, statsCutoffs } from './stats-shape.js';
export { TRAFFIC_CONSUMER, relayTrafficUpdates, startStreamProcessor, type StreamProcessor } from './processor.js';
export { startInfluxSink } from './influx/sink.js';
export { influxTarget } from './influx/target.js';
export { statisticsPruner, type PrunedStatistics } from './stats-retention.js';
export { type StreamTables } from './tables.js';
