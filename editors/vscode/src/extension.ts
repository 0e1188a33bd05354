// Wires the parts to VS Code: finds the binary, starts `whetstone lsp` through the language
// client, and hands the client to the commands, the status bar, the gutter marks and the paste
// hint. The logic lives in the other modules; this one only connects them.

import * as fs from 'node:fs';
import * as vscode from 'vscode';
import {
  ExecuteCommandRequest,
  LanguageClient,
  type LanguageClientOptions,
  type ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';
import { realClock } from './clock';
import { registerCommands } from './commands';
import { GutterMarks } from './gutterMarks';
import { type MiddlewareDeps, middleware } from './middleware';
import { PasteHints } from './pasteHints';
import { PasteWatcher, registerPasteWatcher } from './pasteProvider';
import { CALIBRATION_CHANGED, type ChunksReply, type Server, ServerCommand, args } from './protocol';
import { explanationTarget, recordedSince, savedVerdict } from './explanationDocument';
import { opensInEditor, showReportInEditor } from './reportView';
import { resolveServerPath } from './serverPath';
import { pasteHintMode, serverSettings } from './settings';
import { StatusBar } from './statusBar';
import { Tracker, messageOf } from './tracker';

let client: LanguageClient | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const output = vscode.window.createOutputChannel('Whetstone', { log: true });
  const log = (message: string) => output.info(message);
  const toProtocolUri = (uri: vscode.Uri) => client?.code2ProtocolConverter.asUri(uri) ?? uri.toString();
  const server: Server = {
    execute: async <T>(command: string, argument: object) => {
      if (!client?.isRunning()) {
        throw new Error('the whetstone language server is not running (see "Whetstone: Restart language server")');
      }
      return (await client.sendRequest(ExecuteCommandRequest.type, { command, arguments: [argument] })) as T;
    },
  };

  const status = new StatusBar();
  const marksOn = () => config().get<boolean>('gutterMarks', true);
  const tracker = new Tracker({
    server,
    status,
    marks: marksOn() ? new GutterMarks(context.extensionUri) : undefined,
    clock: realClock,
    toProtocolUri,
    log,
  });
  const hints = new PasteHints(Date.now);
  const refresh = () => tracker.refreshSoon();

  const start = async () => {
    client = await startClient(output, context.extensionPath, { hints, toProtocolUri, refresh, sessionChanged: () => void tracker.pollSession(), log });
    refresh();
    await tracker.pollSession();
  };
  const restart = async () => {
    const running = client;
    client = undefined;
    await running?.stop().catch((error: unknown) => log(`stopping the server: ${messageOf(error)}`));
    await start();
  };

  context.subscriptions.push(
    output,
    status,
    tracker,
    ...registerCommands({ server, toProtocolUri, refresh, pollSession: () => tracker.pollSession(), restart }),
    registerPasteWatcher(new PasteWatcher(hints, toProtocolUri, () => pasteHintMode(config().get('pasteHint')))),
    vscode.workspace.onDidSaveTextDocument((document) => void explanationSaved(server, document, refresh, log)),
    vscode.workspace.onDidChangeConfiguration(async (event) => {
      if (event.affectsConfiguration('whetstone.gutterMarks')) {
        tracker.setMarks(marksOn() ? new GutterMarks(context.extensionUri) : undefined);
      }
      if (event.affectsConfiguration('whetstone.serverPath') || event.affectsConfiguration('whetstone.storePath')) {
        const answer = await vscode.window.showInformationMessage(
          'Whetstone: restart the language server to use the new setting?',
          'Restart',
        );
        if (answer === 'Restart') {
          await restart();
        }
      }
    }),
  );
  await start();
}

export async function deactivate(): Promise<void> {
  const running = client;
  client = undefined;
  await running?.stop();
}

async function startClient(
  output: vscode.LogOutputChannel,
  extensionPath: string,
  hooks: MiddlewareDeps,
): Promise<LanguageClient | undefined> {
  const log = hooks.log;
  const resolved = resolveServerPath({
    setting: config().get<string>('serverPath'),
    extensionPath,
    env: process.env,
    platform: process.platform,
    isExecutable,
  });
  if (!resolved.ok) {
    log(resolved.message);
    void vscode.window.showErrorMessage(resolved.message, 'Open Settings').then((answer) => {
      if (answer === 'Open Settings') {
        void vscode.commands.executeCommand('workbench.action.openSettings', 'whetstone.serverPath');
      }
    });
    return undefined;
  }
  log(`starting ${resolved.path} lsp (from ${resolved.from})`);
  // Assigned once the options exist; the middleware's closures only run after that.
  let started: LanguageClient;
  const serverOptions: ServerOptions = { command: resolved.path, args: ['lsp'], transport: TransportKind.stdio };
  const clientOptions: LanguageClientOptions = {
    // Every file: whetstone watches all code, whatever its language, beside the usual servers.
    documentSelector: [{ scheme: 'file' }, { scheme: 'untitled' }],
    initializationOptions: () => serverSettings(config()),
    // Changes are sent as the `whetstone` section; the middleware below leaves out client-only
    // keys. File events need no watcher here: the server registers `**/*` itself
    // (client/registerCapability), and a second watcher would send every event twice.
    synchronize: { configurationSection: 'whetstone' },
    outputChannel: output,
    middleware: {
      ...middleware(hooks),
      window: {
        // The HTML report, in a browser or remote window: see reportView.ts.
        showDocument: async (params, token, next) => {
          const where = {
            external: params.external,
            uri: params.uri,
            web: vscode.env.uiKind === vscode.UIKind.Web,
            remoteName: vscode.env.remoteName,
          };
          if (opensInEditor(where)) {
            return { success: await showReportInEditor(vscode.Uri.parse(params.uri)) };
          }
          return next(params, token);
        },
      },
      workspace: {
        didChangeConfiguration: async () => {
          await started.sendNotification('workspace/didChangeConfiguration', {
            settings: { whetstone: serverSettings(config()) },
          });
        },
        configuration: async (params, token, next) => {
          const values = await next(params, token);
          if (!Array.isArray(values)) {
            return values;
          }
          return values.map((value, index) =>
            params.items[index]?.section === 'whetstone' ? serverSettings(value) : value,
          );
        },
      },
    },
  };
  started = new LanguageClient('whetstone', 'Whetstone', serverOptions, clientOptions);
  // A session started or stopped in another window (or on the command line) shows at once.
  started.onNotification(CALIBRATION_CHANGED, () => hooks.sessionChanged());
  try {
    await started.start();
  } catch (error) {
    const message = `Whetstone: the language server ${resolved.path} did not start: ${messageOf(error)}`;
    log(message);
    void vscode.window.showErrorMessage(message);
    return undefined;
  }
  return started;
}

/** After an explanation document is saved: its score, once the server has recorded it. */
async function explanationSaved(
  server: Server,
  document: vscode.TextDocument,
  refresh: () => void,
  log: (message: string) => void,
): Promise<void> {
  const target = document.lineCount > 0 ? explanationTarget(document.lineAt(0).text) : undefined;
  if (!target) {
    return;
  }
  // The server's clock and ours are the same machine's; a second of slack covers the rounding.
  const savedMs = Date.now() - 1000;
  for (let attempt = 0; attempt < 25; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    try {
      const reply = await server.execute<ChunksReply>(ServerCommand.chunks, args.chunks(target.uri));
      const chunk = reply.chunks.find((candidate) => candidate.id === target.chunk);
      if (chunk?.explanation && recordedSince(chunk, savedMs)) {
        refresh();
        void vscode.window.showInformationMessage(savedVerdict(chunk.explanation));
        return;
      }
    } catch (error) {
      log(`explanation document ${document.uri.toString()}: ${messageOf(error)}`);
      return;
    }
  }
  // No answers yet (an empty document is not recorded), or the server said why in its log.
}

function config(): vscode.WorkspaceConfiguration {
  return vscode.workspace.getConfiguration('whetstone');
}

function isExecutable(file: string): boolean {
  try {
    if (!fs.statSync(file).isFile()) {
      return false;
    }
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
