import { appendFileSync } from 'node:fs';
import { writeErr } from './out.js';

export type Level = 'debug' | 'info' | 'warning' | 'error';

export interface LogTarget {
  /** `--log FILE`; stderr when absent */
  file?: string;
  format: 'text' | 'json';
  debug: boolean;
}

/** RFC3339 with seconds and offset, as logrus prints it (`2026-11-28T20:45:28Z`) */
export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.[0-9]{3}Z$/, 'Z');
}

function quoteText(s: string): string {
  // logrus quotes values that contain anything outside [A-Za-z0-9-._/@^+]
  return /^[A-Za-z0-9\-._/@^+]+$/.test(s) ? s : JSON.stringify(s);
}

/** One line in runc's log format (`--log-format json|text`). */
export function formatLine(level: Level, msg: string, format: 'text' | 'json', now = new Date()): string {
  if (format === 'json') return `${JSON.stringify({ level, msg, time: rfc3339(now) })}\n`;
  return `time=${quoteText(rfc3339(now))} level=${level} msg=${quoteText(msg)}\n`;
}

export class Logger {
  /** `stderr`: where lines for stderr go (tests collect them) */
  constructor(readonly target: LogTarget, private readonly stderr: (text: string) => void = writeErr) {}

  log(level: Level, msg: string): void {
    if (level === 'debug' && !this.target.debug) return;
    const line = formatLine(level, msg, this.target.format);
    if (this.target.file) {
      try {
        appendFileSync(this.target.file, line);
        return;
      } catch {
        // unwritable log file: fall back to stderr so the message is not lost
      }
    }
    this.stderr(line);
  }

  debug(msg: string): void { this.log('debug', msg); }
  info(msg: string): void { this.log('info', msg); }
  warn(msg: string): void { this.log('warning', msg); }

  /** like runc's fatal(): the log line, plus the bare message on stderr when logging to a file */
  error(msg: string): void {
    this.log('error', msg);
    if (this.target.file) this.stderr(`${msg}\n`);
  }
}
