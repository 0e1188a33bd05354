// What the whetstone server speaks: its command names, the argument objects they take and the
// shapes of their answers. No `vscode` import: the unit tests and the protocol test share it.

/** The server's `workspace/executeCommand` commands (all listed in `executeCommandProvider`). */
export const ServerCommand = {
  classify: 'whetstone.classify',
  explain: 'whetstone.explain',
  dismiss: 'whetstone.dismiss',
  chunks: 'whetstone.chunks',
  practiced: 'whetstone.practiced',
  calibrationStart: 'whetstone.calibration.start',
  calibrationStop: 'whetstone.calibration.stop',
  calibrationStatus: 'whetstone.calibration.status',
  report: 'whetstone.report',
} as const;

/**
 * The server-to-client notification sent whenever the calibration session starts or ends, in
 * this window or any other (the store is shared): its params are the running session's status,
 * or null.
 */
export const CALIBRATION_CHANGED = 'whetstone/calibrationChanged';

/** The client-to-server notification that says where the next change comes from. */
export const EDIT_ORIGIN = 'whetstone/editOrigin';

export type EditOrigin = 'paste' | 'completion' | 'agent' | 'undo' | 'format';

export interface EditOriginParams {
  uri: string;
  version: number;
  origin: EditOrigin;
}

export type ChunkClass = 'transient' | 'repeatable' | 'core';

export type Origin = 'typed' | 'pasted' | 'generated' | 'moved' | 'external' | 'restored';

export const ORIGINS: readonly Origin[] = ['typed', 'pasted', 'generated', 'moved', 'external', 'restored'];

/** One chunk as `whetstone.chunks` returns it: zero-based lines, `end_line` exclusive. */
export interface Chunk {
  id: number;
  origin: Origin;
  start_line: number;
  end_line: number;
  lines: number;
  items: string[];
  class: ChunkClass | null;
  explanation: { text: string; score: number; shallow: boolean; recorded_ms: number } | null;
  needs_attention: boolean;
  created_ms: number;
  reworked_chars: number;
}

/** The answer of `whetstone.chunks {uri}`: the file's ownership map. */
export interface ChunksReply {
  uri: string;
  known: boolean;
  counts: Partial<Record<Origin, number>>;
  chunks: Chunk[];
}

/** The answer of `whetstone.calibration.status` (null when no session runs). */
export interface SessionStatus {
  running: boolean;
  label: string | null;
  started_ms: number;
  planned_minutes: number | null;
  remaining_minutes: number | null;
  ended_ms: number | null;
  ended_because: string | null;
  elapsed_minutes: number;
  active_minutes: number;
  typed_lines: number;
  typed_chars: number;
  files: number;
  pace_lines_per_hour: number | null;
  breaches: { at_ms: number; uri: string; origin: string; lines: number; chunk: number | null }[];
  feel: number | null;
  notes: string | null;
}

export type ReportFormat = 'json' | 'markdown' | 'html';

export type ReportReply =
  | { format: 'json'; report: unknown }
  | { format: 'markdown'; markdown: string }
  | { format: 'html'; path: string; uri: string };

/** The argument objects, one builder per command, so no call site spells a field name. */
export const args = {
  classify: (uri: string, chunk: number, cls: ChunkClass) => ({ uri, chunk, class: cls }),
  explain: (uri: string, chunk: number, text?: string) =>
    text === undefined ? { uri, chunk } : { uri, chunk, text },
  dismiss: (uri: string, chunk: number) => ({ uri, chunk }),
  practiced: (uri: string, chunk: number) => ({ uri, chunk }),
  chunks: (uri: string) => ({ uri }),
  calibrationStart: (label?: string, minutes?: number) => ({
    ...(label ? { label } : {}),
    ...(minutes ? { minutes } : {}),
  }),
  calibrationStop: (feel?: number) => (feel === undefined ? {} : { feel }),
  report: (format: ReportFormat) => ({ format }),
};

/** The one thing the extension needs from the language client: run a server command. */
export interface Server {
  execute<T = unknown>(command: string, argument: object): Promise<T>;
}
