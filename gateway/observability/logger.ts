/**
 * @module observability/logger
 * pino, JSON lines to stdout, written asynchronously (sonic-boom buffers, so a log line never blocks
 * the event loop on a slow pipe). `LOG_FORMAT=pretty` gives readable lines for development.
 *
 * What we never log: message content, API keys, and request headers. Function Compute puts live STS
 * credentials in `x-fc-access-key-id`, `x-fc-access-key-secret` and `x-fc-security-token`
 * (fc3.md 3.2), so no code path hands a header object to the logger; the redact list below is a
 * second line of defence should one ever be added.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level: string;
  format: 'json' | 'pretty';
  /** Tests pass a stream to capture lines; default: async stdout. */
  destination?: DestinationStream;
}

const REDACT = [
  'headers',
  'req.headers',
  '*.authorization',
  '*["api-key"]',
  '*["x-fc-access-key-id"]',
  '*["x-fc-access-key-secret"]',
  '*["x-fc-security-token"]',
  'messages',
  'prompt',
];

export function createLogger(options: LoggerOptions): Logger {
  const base = {
    level: options.level,
    base: undefined,
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: { paths: REDACT, censor: '[redacted]' },
    formatters: { level: (label: string) => ({ level: label }) },
  };
  if (options.destination) return pino(base, options.destination);
  if (options.format === 'pretty') {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } } });
  }
  return pino(base, pino.destination({ dest: 1, sync: false, minLength: 0 }));
}
