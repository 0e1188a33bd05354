// Which lines get a gutter mark, per origin: the lines of every chunk in a `whetstone.chunks`
// reply, clamped to the document (the reply may be a moment older than the text).

import type { ChunksReply, Origin } from './protocol';

/** The origins a chunk can have, each with its own mark. */
export const MARKED_ORIGINS = ['pasted', 'generated', 'external'] as const;
export type MarkedOrigin = (typeof MARKED_ORIGINS)[number];

/** Zero-based lines, both ends included (as a decoration range spans them). */
export interface LineSpan {
  first: number;
  last: number;
  chunk: number;
  needsAttention: boolean;
}

export type GutterPlan = Record<MarkedOrigin, LineSpan[]>;

export function emptyPlan(): GutterPlan {
  return { pasted: [], generated: [], external: [] };
}

export function gutterPlan(reply: ChunksReply | undefined, lineCount: number): GutterPlan {
  const plan = emptyPlan();
  if (!reply || lineCount <= 0) {
    return plan;
  }
  for (const chunk of reply.chunks) {
    const origin = markedOrigin(chunk.origin);
    const first = Math.max(0, chunk.start_line);
    const last = Math.min(lineCount - 1, chunk.end_line - 1);
    if (!origin || last < first) {
      continue;
    }
    plan[origin].push({ first, last, chunk: chunk.id, needsAttention: chunk.needs_attention });
  }
  return plan;
}

function markedOrigin(origin: Origin): MarkedOrigin | undefined {
  return (MARKED_ORIGINS as readonly string[]).includes(origin) ? (origin as MarkedOrigin) : undefined;
}
