// Hooks into the language client:
// - edit-origin hints go out right before the didChange they describe (see pasteHints.ts);
// - a click on an `Explain` lens asks for the explanation in an input box, and `Not AI` asks
//   for confirmation, before the server's command runs;
// - every code lens request (the server asks for one after each verdict) refreshes the marks.

import * as vscode from 'vscode';
import type { Middleware } from 'vscode-languageclient/node';
import { type EditOriginParams, EDIT_ORIGIN, ServerCommand } from './protocol';
import type { ChangeReason, PasteHints } from './pasteHints';
import { askExplanation, confirmDismiss } from './commands';
import { type ExplainReply, explanationVerdict } from './messages';

export interface MiddlewareDeps {
  hints: PasteHints;
  toProtocolUri(uri: vscode.Uri): string;
  refresh(): void;
  /** A calibration command ran (a code action can stop a session): poll the session. */
  sessionChanged(): void;
  log(message: string): void;
}

export function middleware(deps: MiddlewareDeps): Middleware {
  return {
    didChange: (event, next) => {
      if (event.contentChanges.length > 0) {
        const hint = deps.hints.noteChange(
          deps.toProtocolUri(event.document.uri),
          event.document.version,
          event.contentChanges,
          reasonOf(event.reason),
        );
        if (hint) {
          deps.log(`hint: ${hint.origin} for version ${hint.version} of ${hint.uri}`);
        }
      }
      return next(event);
    },
    didClose: (document, next) => {
      deps.hints.forget(deps.toProtocolUri(document.uri));
      return next(document);
    },
    sendNotification: (type, next, params) => {
      const hint = hintBefore(deps.hints, typeof type === 'string' ? type : type.method, params);
      if (!hint) {
        return next(type, params);
      }
      // Both are handed to the connection's writer before anything else can run: nothing can
      // come between the hint and its change.
      const send = next as (type: string, params: EditOriginParams) => Promise<void>;
      const sent = [send(EDIT_ORIGIN, hint), next(type, params)];
      return Promise.all(sent).then(() => undefined);
    },
    executeCommand: async (command, commandArgs, next) => {
      const argument: unknown = commandArgs[0];
      if (command === ServerCommand.explain && isObject(argument) && argument.text === undefined) {
        const text = await askExplanation('this chunk');
        if (text === undefined) {
          return undefined;
        }
        if (text === '') {
          return next(command, commandArgs);
        }
        const reply = (await next(command, [{ ...argument, text }])) as ExplainReply | undefined;
        if (reply && typeof reply.score === 'number') {
          void vscode.window.showInformationMessage(explanationVerdict(reply));
        }
        deps.refresh();
        return reply;
      }
      if (command === ServerCommand.dismiss && !(await confirmDismiss(undefined))) {
        return undefined;
      }
      const result: unknown = await next(command, commandArgs);
      deps.refresh();
      if (command.startsWith('whetstone.calibration.')) {
        deps.sessionChanged();
      }
      return result;
    },
    provideCodeLenses: (document, token, next) => {
      deps.refresh();
      return next(document, token);
    },
  };
}

/** The hint to send before the notification `method` with `params`, if there is one. */
export function hintBefore(hints: PasteHints, method: string, params: unknown): EditOriginParams | undefined {
  if (method !== 'textDocument/didChange' || !isObject(params) || !isObject(params.textDocument)) {
    return undefined;
  }
  const { uri, version } = params.textDocument;
  return typeof uri === 'string' && typeof version === 'number' ? hints.takeFor(uri, version) : undefined;
}

function reasonOf(reason: vscode.TextDocumentChangeReason | undefined): ChangeReason {
  switch (reason) {
    case vscode.TextDocumentChangeReason.Undo:
      return 'undo';
    case vscode.TextDocumentChangeReason.Redo:
      return 'redo';
    default:
      return undefined;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
