export { AccessLogParser, type AccessLogFormat } from './parsers/access-log.js';
export { ClfAccessLogParser, parseClfTime } from './parsers/clf.js';
export { CSV_COLUMNS, CsvAccessLogParser } from './parsers/csv.js';
export { DEFAULT_MAX_LINE, LineSplitter, type LineSink } from './parsers/lines.js';
export { type AccessRecord, type ParseResult } from './parsers/record.js';
export { parseRequestLine, sectionOf, type RequestLine } from './parsers/request.js';

export { logIngestRoutes, logSearchRoutes } from './http.js';
export { archiveRoutes } from './archive-http.js';
export { RETENTION_LOCK_KEY, runRetention, startRetention, type PrunedRows, type RetentionContext, type RetentionOptions, type RetentionResult } from './retention.js';
export { archiveDirOf } from './retention-plan.js';
export { LOG_TOPIC, logMessagesFor, readLogMessage, type LogMessage } from './bus-codec.js';
export { PartitionManager, encodeEventCopy, ensurePartitionsFor, insertEventGroups, insertEvents, type EventGroupRows } from './store.js';
export { type LogEvent, type StoredLogEvent } from './event.js';
export { type LogsTables } from './tables.js';
export { MAX_RECORDED_PER_REQUEST, listRejections, pruneRejections, recordRejections, sampleOf, type ListedRejection, type RejectionRecord } from './rejections.js';
