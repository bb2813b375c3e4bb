export { AccessLogParser, type AccessLogFormat } from './parsers/access-log.js';
export { ClfAccessLogParser, parseClfTime } from './parsers/clf.js';
export { CSV_COLUMNS, CsvAccessLogParser } from './parsers/csv.js';
export { DEFAULT_MAX_LINE, LineSplitter, type LineSink } from './parsers/lines.js';
export { type AccessRecord, type ParseResult } from './parsers/record.js';
export { parseRequestLine, sectionOf, type RequestLine } from './parsers/request.js';

export { logRoutes } from './http.js';
