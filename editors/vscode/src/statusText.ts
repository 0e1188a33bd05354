// What the status bar item says: a running calibration session first (it is the thing to keep
// in mind), else the current file's share of typed lines.

import type { ChunksReply, SessionStatus } from './protocol';
import { countsLine, typedShare } from './chunks';

export interface StatusText {
  text: string;
  tooltip: string;
  /** Whether a breach should colour the item as a warning. */
  warning: boolean;
  /** Which palette command a click runs. */
  command: 'whetstone.palette.calibrationStop' | 'whetstone.palette.showChunks';
}

export function sessionText(session: SessionStatus): StatusText {
  const breaches = session.breaches.length;
  let text = `$(watch) No-AI ${session.elapsed_minutes} min`;
  if (breaches > 0) {
    text += ` · ${breaches} ${breaches === 1 ? 'breach' : 'breaches'}`;
  }
  return {
    text,
    tooltip: [...sessionSummary(session), 'Click to stop the session.'].join('\n'),
    warning: breaches > 0,
    command: 'whetstone.palette.calibrationStop',
  };
}

/** The session in a few sentences: label, time left, what was measured, breaches. */
export function sessionSummary(session: SessionStatus): string[] {
  const breaches = session.breaches.length;
  const lines = [`Calibration session${session.label ? ` "${session.label}"` : ''}: no AI, no pasting.`];
  if (session.planned_minutes !== null && session.remaining_minutes !== null) {
    lines.push(`${session.remaining_minutes} of ${session.planned_minutes} minutes left.`);
  }
  lines.push(
    `${session.active_minutes} active minutes, ${session.typed_lines} typed lines in ${session.files} ${
      session.files === 1 ? 'file' : 'files'
    }.`,
  );
  if (breaches > 0) {
    lines.push(`${breaches} pasted or generated ${breaches === 1 ? 'insertion' : 'insertions'} recorded as breaches.`);
  }
  return lines;
}

/** The file's share, or undefined when the file has no counted lines (nothing to say). */
export function shareText(reply: ChunksReply): StatusText | undefined {
  const share = typedShare(reply);
  if (!reply.known || share.percent === null) {
    return undefined;
  }
  const attention = reply.chunks.filter((chunk) => chunk.needs_attention).length;
  const lines = [
    `You typed ${share.typed} of this file's ${share.total} lines (${countsLine(reply.counts)}).`,
  ];
  if (attention > 0) {
    lines.push(`${attention} ${attention === 1 ? 'chunk needs' : 'chunks need'} your attention.`);
  }
  lines.push('Click to list the chunks.');
  return {
    text: `$(person) ${share.percent}% yours`,
    tooltip: lines.join('\n'),
    warning: false,
    command: 'whetstone.palette.showChunks',
  };
}

/** The item's content: session, else share, else nothing (hidden). */
export function statusText(
  session: SessionStatus | null | undefined,
  file: ChunksReply | null | undefined,
): StatusText | undefined {
  if (session?.running) {
    return sessionText(session);
  }
  return file ? shareText(file) : undefined;
}
