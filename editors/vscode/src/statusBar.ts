// The status bar item: shows what statusText says, hides when there is nothing to say.

import * as vscode from 'vscode';
import type { ChunksReply, SessionStatus } from './protocol';
import { statusText } from './statusText';

export class StatusBar implements vscode.Disposable {
  private readonly item: vscode.StatusBarItem;
  private session: SessionStatus | null = null;
  private file: ChunksReply | undefined;

  constructor() {
    this.item = vscode.window.createStatusBarItem('whetstone.status', vscode.StatusBarAlignment.Right, 100);
    this.item.name = 'Whetstone';
  }

  setSession(session: SessionStatus | null): void {
    this.session = session;
    this.render();
  }

  setFile(file: ChunksReply | undefined): void {
    this.file = file;
    this.render();
  }

  get running(): boolean {
    return this.session?.running === true;
  }

  private render(): void {
    const content = statusText(this.session, this.file);
    if (!content) {
      this.item.hide();
      return;
    }
    this.item.text = content.text;
    this.item.tooltip = content.tooltip;
    this.item.command = content.command;
    this.item.backgroundColor = content.warning ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
    this.item.show();
  }

  dispose(): void {
    this.item.dispose();
  }
}
