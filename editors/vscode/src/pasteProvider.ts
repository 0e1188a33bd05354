// Learns of pastes through VS Code's paste edit provider API (stable since 1.97). It never
// offers an edit of its own, so the paste goes on exactly as without whetstone; it only reads the
// pasted text and leaves a note for the hint (see pasteHints.ts).

import * as vscode from 'vscode';
import type { PasteHints } from './pasteHints';
import type { PasteHintMode } from './settings';

export class PasteWatcher implements vscode.DocumentPasteEditProvider {
  constructor(
    private readonly hints: PasteHints,
    private readonly toProtocolUri: (uri: vscode.Uri) => string,
    private readonly mode: () => PasteHintMode,
  ) {}

  async provideDocumentPasteEdits(
    document: vscode.TextDocument,
    _ranges: readonly vscode.Range[],
    dataTransfer: vscode.DataTransfer,
  ): Promise<undefined> {
    const mode = this.mode();
    const item = dataTransfer.get('text/plain');
    if (mode !== 'off' && item) {
      this.hints.expectPaste(this.toProtocolUri(document.uri), await item.asString(), mode);
    }
    return undefined;
  }
}

export function registerPasteWatcher(watcher: PasteWatcher): vscode.Disposable {
  return vscode.languages.registerDocumentPasteEditProvider(
    [{ scheme: 'file' }, { scheme: 'untitled' }],
    watcher,
    { providedPasteEditKinds: [], pasteMimeTypes: ['text/plain'] },
  );
}
