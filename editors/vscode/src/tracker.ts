// Keeps the status bar and the gutter marks current: asks the server for the visible files'
// chunks (debounced after edits and lens refreshes) and polls the calibration session.

import * as vscode from 'vscode';
import { type Clock, Debouncer } from './clock';
import type { GutterMarks } from './gutterMarks';
import { type ChunksReply, type Server, type SessionStatus, ServerCommand, args } from './protocol';
import type { StatusBar } from './statusBar';

/** After an edit or a lens refresh, the chunks are asked for this long after the last one. */
export const REFRESH_DEBOUNCE_MS = 300;
/** The calibration session is polled this often (its minutes tick on). */
export const SESSION_POLL_MS = 30_000;

export interface TrackerOptions {
  server: Server;
  status: StatusBar;
  /** Undefined while gutter marks are switched off. */
  marks: GutterMarks | undefined;
  clock: Clock;
  toProtocolUri(uri: vscode.Uri): string;
  /** Where failures are noted (the server may be starting or gone: never a pop-up). */
  log(message: string): void;
}

export class Tracker implements vscode.Disposable {
  private readonly debouncer: Debouncer;
  private readonly poll: unknown;
  private readonly listeners: vscode.Disposable[] = [];
  private marks: GutterMarks | undefined;
  /** Bumped by every refresh, so a slow answer never overwrites a newer one. */
  private generation = 0;

  constructor(private readonly options: TrackerOptions) {
    this.marks = options.marks;
    this.debouncer = new Debouncer(options.clock, REFRESH_DEBOUNCE_MS, () => void this.refreshNow());
    this.poll = options.clock.setInterval(() => void this.pollSession(), SESSION_POLL_MS);
    this.listeners.push(
      vscode.window.onDidChangeActiveTextEditor(() => this.refreshSoon()),
      vscode.window.onDidChangeVisibleTextEditors(() => this.refreshSoon()),
      vscode.workspace.onDidChangeTextDocument((event) => {
        if (event.contentChanges.length > 0 && isTracked(event.document)) {
          this.refreshSoon();
        }
      }),
    );
  }

  /** Refresh the visible files' marks and the file share, debounced. */
  refreshSoon(): void {
    this.debouncer.schedule();
  }

  /** Switches gutter marks on (a new set) or off (undefined); the old set is cleared and freed. */
  setMarks(marks: GutterMarks | undefined): void {
    if (this.marks) {
      for (const editor of vscode.window.visibleTextEditors) {
        this.marks.clear(editor);
      }
      this.marks.dispose();
    }
    this.marks = marks;
    this.refreshSoon();
  }

  async refreshNow(): Promise<void> {
    const generation = ++this.generation;
    const active = vscode.window.activeTextEditor;
    const editors = vscode.window.visibleTextEditors.filter((editor) => isTracked(editor.document));
    const replies = await Promise.all(editors.map((editor) => this.chunksOf(editor.document)));
    if (generation !== this.generation) {
      return;
    }
    editors.forEach((editor, index) => this.marks?.apply(editor, replies[index]));
    const activeIndex = active ? editors.indexOf(active) : -1;
    this.options.status.setFile(activeIndex >= 0 ? replies[activeIndex] : undefined);
  }

  async pollSession(): Promise<void> {
    try {
      const session = await this.options.server.execute<SessionStatus | null>(ServerCommand.calibrationStatus, {});
      this.options.status.setSession(session ?? null);
    } catch (error) {
      this.options.log(`calibration status: ${messageOf(error)}`);
    }
  }

  private async chunksOf(document: vscode.TextDocument): Promise<ChunksReply | undefined> {
    try {
      const uri = this.options.toProtocolUri(document.uri);
      return await this.options.server.execute<ChunksReply>(ServerCommand.chunks, args.chunks(uri));
    } catch (error) {
      this.options.log(`chunks of ${document.uri.toString()}: ${messageOf(error)}`);
      return undefined;
    }
  }

  dispose(): void {
    this.debouncer.cancel();
    this.options.clock.clearInterval(this.poll);
    this.marks?.dispose();
    for (const listener of this.listeners) {
      listener.dispose();
    }
  }
}

/** The documents the language client syncs (its selector: file and untitled). */
export function isTracked(document: vscode.TextDocument): boolean {
  return document.uri.scheme === 'file' || document.uri.scheme === 'untitled';
}

export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
