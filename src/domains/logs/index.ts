export { AccessLogParser, type AccessLogFormat } from './parsers/access-log.js';

export { LineSplitter } from './parsers/lines.js';

export { logIngestRoutes, logSearchRoutes } from './http.js';
export { archiveRoutes } from './archive-http.js';
export { startRetention } from './retention.js';

export { LOG_TOPIC, logMessagesFor, readLogMessage, type LogMessage } from './bus-codec.js';
export { PartitionManager, countableEventsAfter, ensurePartitionsFor, insertEventGroups } from './store.js';
export { type LogEvent } from './event.js';
export { type LogsTables } from './tables.js';
export { recordRejections, sampleOf } from './rejections.js';
export { eventsOfSeconds, type RuleEventRow } from './for-rules.js';
