/** datadog-winston ships no types: the part the tests use. */
declare module 'datadog-winston' {
  import TransportStream from 'winston-transport';
  interface DatadogTransportOptions extends TransportStream.TransportStreamOptions {
    apiKey: string;
    hostname?: string;
    service?: string;
    ddsource?: string;
    ddtags?: string;
    intakeRegion?: string;
  }
  export default class DatadogTransport extends TransportStream {
    constructor(options: DatadogTransportOptions);
    /** The intake URL, fixed at construction (`…/v1/input/<apiKey>`). */
    api: string;
  }
}
