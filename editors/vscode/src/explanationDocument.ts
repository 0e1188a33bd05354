// The answer to saving an explanation document. The server records the answers when the document
// is saved and only logs the result; the person who just saved should see it, as they do after
// typing an explanation in the input box. So the extension recognises the document by its first
// line, waits for the chunk's explanation to be newer than the save, and says its score.

import type { Chunk } from './protocol';

/** The first line the server writes: `<!-- whetstone explanation · chunk 12 · file:///… · keep … -->`. */
const HEADER = /^<!-- whetstone explanation · chunk (\d+) · (\S+) ·/;

export interface ExplanationTarget {
  chunk: number;
  /** The chunk's file, as the server names it. */
  uri: string;
}

/** The chunk an explanation document explains, from its first line; undefined for other files. */
export function explanationTarget(firstLine: string): ExplanationTarget | undefined {
  const header = HEADER.exec(firstLine);
  return header ? { chunk: Number(header[1]), uri: header[2] } : undefined;
}

/** Whether `chunk` holds an explanation recorded at or after `sinceMs`. */
export function recordedSince(chunk: Pick<Chunk, 'explanation'> | undefined, sinceMs: number): boolean {
  return chunk?.explanation !== null && chunk?.explanation !== undefined && chunk.explanation.recorded_ms >= sinceMs;
}

/** "Explanation recorded: 72/100, thorough." for a chunk's recorded explanation. */
export function savedVerdict(explanation: { score: number; shallow: boolean }): string {
  return explanation.shallow
    ? `Explanation recorded: ${explanation.score}/100, shallow: say why this approach, and name the chunk's own functions and types.`
    : `Explanation recorded: ${explanation.score}/100, thorough.`;
}
