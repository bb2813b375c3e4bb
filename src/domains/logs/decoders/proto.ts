import protobuf from 'protobufjs';

/**
 * Wire schemas of the protobuf ingest protocols, as .proto text compiled once at load by protobufjs.
 * Only the messages Vigil reads or answers with are declared; field numbers and types are those of
 * opentelemetry-proto (collector/logs/v1/logs_service.proto, logs/v1/logs.proto, common/v1,
 * resource/v1), google/rpc/status.proto and Loki's pkg/push/push.proto. Package names do not travel
 * on the wire, so both schemas live in short local packages. Unknown fields (newer senders) are skipped.
 */

const OTLP_LOGS_PROTO = `
syntax = "proto3";
package vigil.otlp;

message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message ExportLogsServiceResponse { ExportLogsPartialSuccess partial_success = 1; }
message ExportLogsPartialSuccess { int64 rejected_log_records = 1; string error_message = 2; }

message ResourceLogs {
  Resource resource = 1;
  repeated ScopeLogs scope_logs = 2;
  string schema_url = 3;
}
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }
message ScopeLogs {
  InstrumentationScope scope = 1;
  repeated LogRecord log_records = 2;
  string schema_url = 3;
}
message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}
message LogRecord {
  fixed64 time_unix_nano = 1;
  int32 severity_number = 2;
  string severity_text = 3;
  AnyValue body = 5;
  repeated KeyValue attributes = 6;
  uint32 dropped_attributes_count = 7;
  fixed32 flags = 8;
  bytes trace_id = 9;
  bytes span_id = 10;
  fixed64 observed_time_unix_nano = 11;
  string event_name = 12;
}
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }

// The same request read lazily: AnyValue and KeyValue fields as bytes (the wire format of a message
// field and a bytes field is the same), so a record nested past the recursion limit fails alone when
// its values are decoded, not the whole request. Scope attributes are not used and are skipped.
message ExportLogsServiceRequestLazy { repeated ResourceLogsLazy resource_logs = 1; }
message ResourceLogsLazy {
  ResourceLazy resource = 1;
  repeated ScopeLogsLazy scope_logs = 2;
}
message ResourceLazy { repeated bytes attributes = 1; }
message ScopeLogsLazy {
  InstrumentationScopeLazy scope = 1;
  repeated LogRecordLazy log_records = 2;
}
message InstrumentationScopeLazy { string name = 1; string version = 2; }
message LogRecordLazy {
  fixed64 time_unix_nano = 1;
  int32 severity_number = 2;
  string severity_text = 3;
  bytes body = 5;
  repeated bytes attributes = 6;
  bytes trace_id = 9;
  bytes span_id = 10;
  fixed64 observed_time_unix_nano = 11;
  string event_name = 12;
}

// google.rpc.Status, the body of OTLP/HTTP error responses (details omitted).
message Status { int32 code = 1; string message = 2; }
`;

const LOKI_PUSH_PROTO = `
syntax = "proto3";
package vigil.loki;

message PushRequest { repeated StreamAdapter streams = 1; }
// Text fields are read as bytes (same wire format as string) and decoded leniently by the decoder:
// protobufjs refuses a whole request for one line with invalid UTF-8, which job output often has.
message StreamAdapter {
  bytes labels = 1;
  repeated EntryAdapter entries = 2;
  uint64 hash = 3;
}
message EntryAdapter {
  Timestamp timestamp = 1;
  bytes line = 2;
  repeated LabelPairAdapter structured_metadata = 3;
}
message LabelPairAdapter { bytes name = 1; bytes value = 2; }
// google.protobuf.Timestamp
message Timestamp { int64 seconds = 1; int32 nanos = 2; }
`;

const otlpRoot = protobuf.parse(OTLP_LOGS_PROTO, { keepCase: false }).root;
const lokiRoot = protobuf.parse(LOKI_PUSH_PROTO, { keepCase: false }).root;

export const OtlpExportLogsServiceResponse = otlpRoot.lookupType('vigil.otlp.ExportLogsServiceResponse');
export const OtlpStatus = otlpRoot.lookupType('vigil.otlp.Status');
export const OtlpExportLogsServiceRequestLazy = otlpRoot.lookupType('vigil.otlp.ExportLogsServiceRequestLazy');
export const OtlpAnyValue = otlpRoot.lookupType('vigil.otlp.AnyValue');
export const OtlpKeyValue = otlpRoot.lookupType('vigil.otlp.KeyValue');
export const LokiPushRequest = lokiRoot.lookupType('vigil.loki.PushRequest');

/**
 * Decodes protobuf bytes into a plain object tree with lowerCamelCase keys (the OTLP/JSON and Loki
 * JSON spelling), 64-bit integers as decimal strings, enums as numbers and bytes left as Uint8Array.
 * Throws on malformed input; callers turn that into a rejection.
 */
export function decodeProtobuf(type: protobuf.Type, bytes: Uint8Array): Record<string, unknown> {
  const message = type.decode(bytes);
  return type.toObject(message, { longs: String, enums: Number, defaults: false, arrays: false });
}

export function encodeProtobuf(type: protobuf.Type, value: Record<string, unknown>): Uint8Array {
  return type.encode(type.fromObject(value)).finish();
}
