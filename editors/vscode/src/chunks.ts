// Reading a `whetstone.chunks` reply: which chunk a line is in, how a chunk reads in a quick
// pick, and how much of a file the user typed. Plain functions of the reply.

import type { Chunk, ChunksReply, Origin } from './protocol';
import { ORIGINS } from './protocol';

/** The chunk covering the zero-based `line`, if any (`end_line` is exclusive). */
export function chunkAtLine(reply: ChunksReply, line: number): Chunk | undefined {
  return reply.chunks.find((chunk) => chunk.start_line <= line && line < chunk.end_line);
}

/** "Lines 11–52" in the one-based numbering the editor shows. */
export function lineSpan(chunk: Pick<Chunk, 'start_line' | 'end_line'>): string {
  const first = chunk.start_line + 1;
  const last = Math.max(chunk.end_line, first);
  return first === last ? `Line ${first}` : `Lines ${first}–${last}`;
}

/** Where a chunk stands on the Ownership Rule and the Explanation Requirement. */
export function verdict(chunk: Chunk): string {
  if (chunk.class === null) {
    return 'not classified';
  }
  if (chunk.explanation !== null) {
    const depth = chunk.explanation.shallow ? 'shallow' : 'thorough';
    return `${chunk.class}, explained (${depth}, ${chunk.explanation.score}/100)`;
  }
  return chunk.class === 'core' ? 'core, not yet explained' : chunk.class;
}

export interface ChunkPickItem {
  label: string;
  description: string;
  detail: string;
  chunk: Chunk;
}

/** Quick pick items for choosing a chunk, those needing attention first, then by position. */
export function chunkPickItems(chunks: readonly Chunk[]): ChunkPickItem[] {
  return [...chunks]
    .sort(
      (a, b) => Number(b.needs_attention) - Number(a.needs_attention) || a.start_line - b.start_line,
    )
    .map((chunk) => ({
      label: `${chunk.needs_attention ? '$(flag)' : '$(check)'} ${lineSpan(chunk)} · ${chunk.lines} ${
        chunk.lines === 1 ? 'line' : 'lines'
      } ${chunk.origin}`,
      description: itemsText(chunk.items),
      detail: verdict(chunk),
      chunk,
    }));
}

/**
 * `fn a, fn b, fn c +7`: the first three items and how many more. The server keeps at most eight
 * entries; past eight, its last one counts the rest (`+3 more`), so the count is the true one.
 */
export function itemsText(items: readonly string[]): string {
  const more = /^\+(\d+) more$/.exec(items[items.length - 1] ?? '');
  const named = more ? items.slice(0, -1) : items;
  const total = named.length + (more ? Number(more[1]) : 0);
  const shown = named.slice(0, 3);
  return shown.join(', ') + (total > shown.length ? ` +${total - shown.length}` : '');
}

export interface Share {
  /** Lines the user typed. */
  typed: number;
  /** Every line counted, whatever its origin. */
  total: number;
  /** typed / total as a whole percentage; null when there is nothing to count. */
  percent: number | null;
}

/** The share of the file's lines the user typed. */
export function typedShare(reply: ChunksReply): Share {
  const typed = reply.counts.typed ?? 0;
  const total = ORIGINS.reduce((sum, origin) => sum + (reply.counts[origin] ?? 0), 0);
  if (total === 0) {
    return { typed, total, percent: null };
  }
  // Floor, so a file with one pasted line never reads "100% yours".
  return { typed, total, percent: Math.floor((typed * 100) / total) };
}

/** "typed 80 · pasted 12 · generated 8": the non-zero counts, in the server's order. */
export function countsLine(counts: Partial<Record<Origin, number>>): string {
  return ORIGINS.filter((origin) => (counts[origin] ?? 0) > 0)
    .map((origin) => `${origin} ${counts[origin]}`)
    .join(' · ');
}
