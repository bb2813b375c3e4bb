export { STATUS_CLASSES } from './traffic-stats.js';
export { TrafficMonitor, trafficMonitorConfigSchema, type MonitorDecision, type StatsDecision, type TrafficMonitorConfig } from './traffic-monitor.js';
export { statsRoutes } from './http.js';

export { TRAFFIC_CONSUMER, relayTrafficUpdates, startStreamProcessor, type StreamProcessor } from './processor.js';
export { startInfluxSink } from './influx/sink.js';
export { influxTarget } from './influx/target.js';
export { statisticsPruner, statisticsPurger } from './stats-retention.js';

export { bucketHits, firstCountedSecond, secondCounts, watermarksOf, type BucketRange, type SecondCounts } from './for-rules.js';
