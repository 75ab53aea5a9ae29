/**
 * Structured logs (pino). One root logger; modules take a child with their name. JSON
 * lines for machines (log collectors, `--log-format json`, anything that is not a
 * terminal); on a terminal, one readable line per entry (time, level, component, message,
 * then the fields), written synchronously by pino-pretty.
 */
import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger };

export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** auto: pretty when the output is a terminal, JSON otherwise. */
  format?: LogFormat;
  /** Where to write (default standard output); for tests. */
  destination?: NodeJS.WritableStream & { isTTY?: boolean };
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const destination = options.destination ?? process.stdout;
  const format = options.format ?? (process.env.ESTAFETA_LOG_FORMAT as LogFormat | undefined) ?? 'auto';
  const readable = format === 'pretty' || (format === 'auto' && destination.isTTY === true);
  const settings = {
    name: options.name ?? 'estafeta',
    level: options.level ?? process.env.ESTAFETA_LOG_LEVEL ?? 'info',
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  if (!readable) return options.destination ? pino(settings, options.destination) : pino(settings);
  return pino(settings, pretty({
    destination,
    sync: true,
    colorize: destination.isTTY === true,
    translateTime: 'SYS:HH:MM:ss',
    ignore: 'pid,hostname,name,component',
    messageFormat: '{if component}{component}: {end}{msg}',
    singleLine: true,
  }));
}

/** A logger that writes nothing, for tests and library use. */
export const silentLogger: Logger = pino({ level: 'silent' });
