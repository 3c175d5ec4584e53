/**
 * @module observability/logger
 * pino, JSON lines to stdout, written asynchronously (sonic-boom buffers, so a log line never blocks
 * the event loop on a slow pipe). `LOG_FORMAT=pretty` gives readable lines for development.
 *
 * What we never log: message content, API keys, and request headers. Function Compute puts live STS
 * credentials in `x-fc-access-key-id`, `x-fc-access-key-secret` and `x-fc-security-token`
 * (fc3.md 3.2), so no code path hands a header or body object to the logger: every log call names its
 * fields. (pino's `redact` would be a second net, but it cost ~8% of the gateway's CPU per request in
 * the benchmark profile; the tests assert on captured output instead.)
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: string;
  format: 'json' | 'pretty';
  /** Tests pass a stream to capture lines; default: async stdout. */
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const base = {
    level: options.level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (options.destination) return pino(base, options.destination);
  if (options.format === 'pretty') {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  // Lines are batched into writes of about 12 KiB (sonic-boom's minLength must stay under its 16 KiB
  // maxWrite) and flushed at least every 250 ms, and on shutdown: one syscall per request line was a
  // visible share of the per-request CPU in the benchmark profile.
  return pino(base, pino.destination({ dest: 1, sync: false, minLength: 12 * 1024, periodicFlush: 250 }));
}
