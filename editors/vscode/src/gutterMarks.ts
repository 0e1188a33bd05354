// Gutter marks on chunk lines: one decoration type per origin, a full bar while the chunk needs
// attention and a faint one once it is judged.

import * as vscode from 'vscode';
import type { ChunksReply } from './protocol';
import { MARKED_ORIGINS, type MarkedOrigin, gutterPlan } from './gutter';

/** Overview ruler colours, matching the bars drawn in media/*.svg. */
const RULER: Record<MarkedOrigin, string> = {
  pasted: 'rgba(230, 140, 40, 0.8)',
  generated: 'rgba(150, 100, 220, 0.8)',
  external: 'rgba(60, 140, 220, 0.8)',
};

type Kind = 'attention' | 'settled';

export class GutterMarks implements vscode.Disposable {
  private readonly types = new Map<string, vscode.TextEditorDecorationType>();

  constructor(extensionUri: vscode.Uri) {
    for (const origin of MARKED_ORIGINS) {
      for (const kind of ['attention', 'settled'] as const) {
        const icon = kind === 'attention' ? `${origin}.svg` : `${origin}-settled.svg`;
        this.types.set(
          name(origin, kind),
          vscode.window.createTextEditorDecorationType({
            isWholeLine: true,
            gutterIconPath: vscode.Uri.joinPath(extensionUri, 'media', icon),
            gutterIconSize: 'contain',
            // Only chunks still waiting for a verdict are worth a mark beside the scroll bar.
            ...(kind === 'attention'
              ? { overviewRulerColor: RULER[origin], overviewRulerLane: vscode.OverviewRulerLane.Left }
              : {}),
            rangeBehavior: vscode.DecorationRangeBehavior.ClosedClosed,
          }),
        );
      }
    }
  }

  /** Marks `editor`'s chunk lines as `reply` gives them (undefined: no marks). */
  apply(editor: vscode.TextEditor, reply: ChunksReply | undefined): void {
    const plan = gutterPlan(reply, editor.document.lineCount);
    for (const origin of MARKED_ORIGINS) {
      for (const kind of ['attention', 'settled'] as const) {
        const ranges = plan[origin]
          .filter((span) => span.needsAttention === (kind === 'attention'))
          .map((span) => new vscode.Range(span.first, 0, span.last, 0));
        const type = this.types.get(name(origin, kind));
        if (type) {
          editor.setDecorations(type, ranges);
        }
      }
    }
  }

  clear(editor: vscode.TextEditor): void {
    this.apply(editor, undefined);
  }

  dispose(): void {
    for (const type of this.types.values()) {
      type.dispose();
    }
    this.types.clear();
  }
}

function name(origin: MarkedOrigin, kind: Kind): string {
  return `${origin}-${kind}`;
}
