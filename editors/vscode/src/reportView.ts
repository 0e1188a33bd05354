// Where the HTML report opens. The server writes the page into its store folder and asks for it to
// be shown in the browser (window/showDocument, external). That works when VS Code runs on the
// machine the file is on; in a browser (code-server, vscode.dev) or a remote window (SSH,
// containers) the user's browser cannot open a file:// address on the server's machine, and the
// request would do nothing visible. There the page opens in an editor tab instead, as a webview
// that keeps the page's own content security policy (no scripts, inline styles, data: images).

import * as fs from 'node:fs/promises';
import * as vscode from 'vscode';

export interface Where {
  /** The showDocument request's `external` flag. */
  external: boolean | undefined;
  uri: string;
  /** VS Code runs in a browser (vscode.env.uiKind is UIKind.Web). */
  web: boolean;
  /** vscode.env.remoteName: set in remote windows. */
  remoteName: string | undefined;
}

/** Whether a showDocument request is an HTML page the user's browser cannot reach. */
export function opensInEditor(where: Where): boolean {
  if (!where.external || !/^file:/i.test(where.uri) || !/\.html?$/i.test(where.uri)) {
    return false;
  }
  return where.web || where.remoteName !== undefined;
}

/** Shows the HTML file at `uri` in a webview tab; returns whether it could be read. */
export async function showReportInEditor(uri: vscode.Uri): Promise<boolean> {
  let html: string;
  try {
    html = await fs.readFile(uri.fsPath, 'utf8');
  } catch (error) {
    void vscode.window.showErrorMessage(
      `Whetstone: the report ${uri.fsPath} could not be read: ${error instanceof Error ? error.message : String(error)}`,
    );
    return false;
  }
  const panel = vscode.window.createWebviewPanel(
    'whetstone.report',
    'Whetstone report',
    vscode.ViewColumn.Active,
    { enableScripts: false, enableFindWidget: true },
  );
  panel.webview.html = html;
  return true;
}
