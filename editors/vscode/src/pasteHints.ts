// Which document changes carry a `whetstone/editOrigin` hint, and with which version.
//
// The paste edit provider learns of a paste *before* VS Code applies it, and the change event
// learns of an undo or redo only *after*; neither knows for sure which version the change will
// get, and a hint that arrives after its didChange is useless. So both only take notes here; the
// hint is attached to the change itself: when the language client is about to put that change's
// `didChange` on the wire, the hint with exactly its version goes out first (see hintMiddleware).

import type { EditOriginParams } from './protocol';
import type { PasteHintMode } from './settings';

/** How long a seen paste waits for its change (other paste providers may take a while). */
export const PASTE_WAIT_MS = 10_000;

export type ChangeReason = 'undo' | 'redo' | undefined;

interface PendingPaste {
  text: string;
  at: number;
}

export class PasteHints {
  private readonly pastes = new Map<string, PendingPaste>();
  private readonly ready = new Map<string, EditOriginParams>();

  constructor(
    private readonly now: () => number,
    private readonly waitMs = PASTE_WAIT_MS,
  ) {}

  /** The paste provider saw `text` pasted into `uri`; returns whether a hint may follow. */
  expectPaste(uri: string, text: string, mode: PasteHintMode): boolean {
    if (!worthHinting(text, mode)) {
      return false;
    }
    this.pastes.set(uri, { text, at: this.now() });
    return true;
  }

  /**
   * A change of `uri` that becomes `version`: decides whether it carries a hint and keeps it for
   * `takeFor`. Returns the hint, for logging and tests.
   */
  noteChange(
    uri: string,
    version: number,
    changes: readonly { text: string }[],
    reason: ChangeReason,
  ): EditOriginParams | undefined {
    let hint: EditOriginParams | undefined;
    if (reason !== undefined) {
      // Undo and redo bring back text that was there: never a paste, whatever the clipboard says.
      hint = { uri, version, origin: 'undo' };
    } else {
      const paste = this.pastes.get(uri);
      if (paste && this.now() - paste.at <= this.waitMs && isPasteOf(paste.text, changes)) {
        this.pastes.delete(uri);
        hint = { uri, version, origin: 'paste' };
      }
    }
    if (hint) {
      this.ready.set(key(uri, version), hint);
    }
    return hint;
  }

  /** The hint for the didChange of `uri` at `version`, once. */
  takeFor(uri: string, version: number): EditOriginParams | undefined {
    const id = key(uri, version);
    const hint = this.ready.get(id);
    this.ready.delete(id);
    return hint;
  }

  /** A closed document's notes are dropped. */
  forget(uri: string): void {
    this.pastes.delete(uri);
    for (const [id, hint] of this.ready) {
      if (hint.uri === uri) {
        this.ready.delete(id);
      }
    }
  }
}

/**
 * Whether a paste is worth a hint. The server flags every hinted paste, so in the default mode a
 * pasted name or a single line is left to it as typing.
 */
export function worthHinting(text: string, mode: PasteHintMode): boolean {
  switch (mode) {
    case 'off':
      return false;
    case 'all':
      return material(text).length > 0;
    case 'lines':
      return text.split(/\r?\n/).filter((line) => line.trim() !== '').length >= 2;
  }
}

/**
 * Whether `changes` are the paste of `text`. Compared without whitespace, since VS Code may
 * re-indent a paste. One cursor gets the whole text (other edits may come with it, such as an
 * import another extension adds); N cursors given a paste of N lines get one line each.
 */
export function isPasteOf(text: string, changes: readonly { text: string }[]): boolean {
  const whole = material(text);
  const inserted = changes.map((change) => material(change.text)).filter((piece) => piece !== '');
  if (whole === '' || inserted.length === 0) {
    return false;
  }
  if (inserted.some((piece) => piece === whole)) {
    return true;
  }
  const lines = text
    .split(/\r?\n/)
    .map(material)
    .filter((line) => line !== '')
    .sort();
  const pieces = [...inserted].sort();
  return pieces.length === lines.length && pieces.every((piece, index) => piece === lines[index]);
}

function material(text: string): string {
  return text.replace(/\s+/g, '');
}

function key(uri: string, version: number): string {
  return `${version}\u0000${uri}`;
}
