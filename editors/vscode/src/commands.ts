// The palette commands. They have ids of their own (`whetstone.palette.*`): the language client
// registers the server's `whetstone.*` commands itself (for the code lenses), and registering
// one id twice fails. Each calls the server through `workspace/executeCommand`.

import * as vscode from 'vscode';
import { type Chunk, type ChunksReply, type ReportReply, type Server, type SessionStatus, ServerCommand, args } from './protocol';
import { chunkAtLine, chunkPickItems, lineSpan } from './chunks';
import { CLASS_CHOICES, FEEL_CHOICES, MINUTES_CHOICES, REPORT_CHOICES } from './choices';
import { EXPLAIN_PROMPT, type ExplainReply, explanationVerdict } from './messages';
import { sessionSummary } from './statusText';
import { messageOf } from './tracker';

export const PaletteCommand = {
  classify: 'whetstone.palette.classify',
  explain: 'whetstone.palette.explain',
  dismiss: 'whetstone.palette.dismiss',
  practiced: 'whetstone.palette.practiced',
  showChunks: 'whetstone.palette.showChunks',
  calibrationStart: 'whetstone.palette.calibrationStart',
  calibrationStop: 'whetstone.palette.calibrationStop',
  calibrationStatus: 'whetstone.palette.calibrationStatus',
  report: 'whetstone.palette.report',
  restartServer: 'whetstone.palette.restartServer',
} as const;

export interface CommandDeps {
  server: Server;
  toProtocolUri(uri: vscode.Uri): string;
  /** Something changed: refresh the marks and the status bar. */
  refresh(): void;
  /** The calibration session may have changed: poll it now. */
  pollSession(): Promise<void>;
  restart(): Promise<void>;
}

interface Target {
  uri: string;
  chunk: Chunk;
}

export function registerCommands(deps: CommandDeps): vscode.Disposable[] {
  const table: Record<string, () => Promise<unknown>> = {
    [PaletteCommand.classify]: () => classify(deps),
    [PaletteCommand.explain]: () => explain(deps),
    [PaletteCommand.dismiss]: () => dismiss(deps),
    [PaletteCommand.practiced]: () => practiced(deps),
    [PaletteCommand.showChunks]: () => showChunks(deps),
    [PaletteCommand.calibrationStart]: () => calibrationStart(deps),
    [PaletteCommand.calibrationStop]: () => calibrationStop(deps),
    [PaletteCommand.calibrationStatus]: () => calibrationStatus(deps),
    [PaletteCommand.report]: () => report(deps),
    [PaletteCommand.restartServer]: () => deps.restart(),
  };
  return Object.entries(table).map(([id, run]) =>
    vscode.commands.registerCommand(id, async () => {
      try {
        await run();
      } catch (error) {
        void vscode.window.showErrorMessage(`Whetstone: ${messageOf(error)}`);
      }
    }),
  );
}

export async function classify(deps: CommandDeps): Promise<void> {
  const target = await pickChunk(deps, 'Classify chunk');
  if (!target) {
    return;
  }
  const choice = await vscode.window.showQuickPick([...CLASS_CHOICES], {
    title: `Whetstone: classify ${lineSpan(target.chunk).toLowerCase()}`,
    placeHolder: 'How much of it must you own?',
  });
  if (!choice) {
    return;
  }
  await deps.server.execute(ServerCommand.classify, args.classify(target.uri, target.chunk.id, choice.value));
  deps.refresh();
  if (choice.value === 'core' && target.chunk.explanation === null) {
    const answer = await vscode.window.showInformationMessage(
      'Core code: you must be able to explain it in your own words.',
      'Explain now',
    );
    if (answer === 'Explain now') {
      await explainChunk(deps, target);
    }
  }
}

export async function explain(deps: CommandDeps): Promise<void> {
  const target = await pickChunk(deps, 'Explain chunk');
  if (target) {
    await explainChunk(deps, target);
  }
}

async function explainChunk(deps: CommandDeps, target: Target): Promise<void> {
  const text = await askExplanation(lineSpan(target.chunk));
  if (text === undefined) {
    return;
  }
  if (text === '') {
    // The server writes the explanation document and shows it (window/showDocument).
    await deps.server.execute(ServerCommand.explain, args.explain(target.uri, target.chunk.id));
    return;
  }
  const reply = await deps.server.execute<ExplainReply>(
    ServerCommand.explain,
    args.explain(target.uri, target.chunk.id, text),
  );
  deps.refresh();
  void vscode.window.showInformationMessage(explanationVerdict(reply));
}

/** The explanation typed in the input box: '' for "use a document", undefined if cancelled. */
export async function askExplanation(what: string): Promise<string | undefined> {
  const text = await vscode.window.showInputBox({
    title: `Whetstone: explain ${what.toLowerCase()}`,
    prompt: EXPLAIN_PROMPT,
    placeHolder: 'It parses … because … instead of …',
    ignoreFocusOut: true,
  });
  return text === undefined ? undefined : text.trim();
}

export async function dismiss(deps: CommandDeps): Promise<void> {
  const target = await pickChunk(deps, 'Not AI');
  if (target && (await confirmDismiss(target.chunk))) {
    await deps.server.execute(ServerCommand.dismiss, args.dismiss(target.uri, target.chunk.id));
    deps.refresh();
  }
}

/** Dismissing cannot be undone from the editor, and the lens sits next to the others. */
export async function confirmDismiss(chunk: Pick<Chunk, 'start_line' | 'end_line'> | undefined): Promise<boolean> {
  const what = chunk ? lineSpan(chunk).toLowerCase() : 'this chunk';
  const answer = await vscode.window.showWarningMessage(
    `Mark ${what} as your own work, not AI? The chunk goes away and its lines count as typed.`,
    { modal: true },
    'Not AI',
  );
  return answer === 'Not AI';
}

export async function practiced(deps: CommandDeps): Promise<void> {
  const target = await pickChunk(deps, 'Reproduced from memory', (chunk) => chunk.class === 'repeatable');
  if (!target) {
    return;
  }
  await deps.server.execute(ServerCommand.practiced, args.practiced(target.uri, target.chunk.id));
  deps.refresh();
  void vscode.window.showInformationMessage(`Practice recorded for ${lineSpan(target.chunk).toLowerCase()}.`);
}

export async function showChunks(deps: CommandDeps): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const reply = editor && (await chunksOf(deps, editor));
  if (!editor || !reply) {
    return;
  }
  if (reply.chunks.length === 0) {
    void vscode.window.showInformationMessage('Whetstone: no pasted or generated chunks in this file.');
    return;
  }
  const picked = await vscode.window.showQuickPick(chunkPickItems(reply.chunks), {
    title: 'Whetstone: chunks in this file',
    placeHolder: 'Go to a chunk',
    matchOnDescription: true,
    matchOnDetail: true,
  });
  if (picked) {
    const start = new vscode.Position(picked.chunk.start_line, 0);
    editor.selection = new vscode.Selection(start, start);
    editor.revealRange(
      new vscode.Range(start, new vscode.Position(Math.max(picked.chunk.end_line - 1, picked.chunk.start_line), 0)),
      vscode.TextEditorRevealType.InCenterIfOutsideViewport,
    );
  }
}

export async function calibrationStart(deps: CommandDeps): Promise<void> {
  const label = await vscode.window.showInputBox({
    title: 'Whetstone: start a calibration session (no AI)',
    prompt: 'What will you work on? (optional)',
    placeHolder: 'e.g. the parser',
  });
  if (label === undefined) {
    return;
  }
  const minutes = await vscode.window.showQuickPick([...MINUTES_CHOICES], {
    title: 'Whetstone: how long?',
    placeHolder: 'The session ends by itself when its time is up',
  });
  if (!minutes) {
    return;
  }
  try {
    // The server announces the start itself (window/showMessage).
    await deps.server.execute(ServerCommand.calibrationStart, args.calibrationStart(label.trim(), minutes.value));
  } finally {
    await deps.pollSession();
  }
}

export async function calibrationStop(deps: CommandDeps): Promise<void> {
  const session = await deps.server.execute<SessionStatus | null>(ServerCommand.calibrationStatus, {});
  if (!session?.running) {
    void vscode.window.showInformationMessage('Whetstone: no calibration session is running.');
    await deps.pollSession();
    return;
  }
  const feel = await vscode.window.showQuickPick([...FEEL_CHOICES], {
    title: `Whetstone: stop the calibration session (${session.elapsed_minutes} min)`,
    placeHolder: 'How did it feel?',
  });
  if (!feel) {
    return;
  }
  try {
    // The server sums the session up itself (window/showMessage).
    await deps.server.execute(ServerCommand.calibrationStop, args.calibrationStop(feel.value));
  } finally {
    await deps.pollSession();
  }
}

export async function calibrationStatus(deps: CommandDeps): Promise<void> {
  const session = await deps.server.execute<SessionStatus | null>(ServerCommand.calibrationStatus, {});
  if (!session?.running) {
    void vscode.window.showInformationMessage('Whetstone: no calibration session is running.');
    return;
  }
  void vscode.window.showInformationMessage(sessionSummary(session).join(' '));
}

export async function report(deps: CommandDeps): Promise<void> {
  const format = await vscode.window.showQuickPick([...REPORT_CHOICES], {
    title: 'Whetstone: report of the last 28 days',
  });
  if (!format) {
    return;
  }
  const reply = await deps.server.execute<ReportReply>(ServerCommand.report, args.report(format.value));
  // HTML: the server wrote the page and asked VS Code to open it (window/showDocument).
  if (reply.format === 'markdown') {
    await showUntitled(reply.markdown, 'markdown');
  } else if (reply.format === 'json') {
    await showUntitled(JSON.stringify(reply.report, null, 2), 'json');
  }
}

async function showUntitled(content: string, language: string): Promise<void> {
  const document = await vscode.workspace.openTextDocument({ content, language });
  await vscode.window.showTextDocument(document, { preview: false });
}

async function chunksOf(deps: CommandDeps, editor: vscode.TextEditor): Promise<ChunksReply | undefined> {
  const uri = deps.toProtocolUri(editor.document.uri);
  const reply = await deps.server.execute<ChunksReply>(ServerCommand.chunks, args.chunks(uri));
  if (!reply.known) {
    void vscode.window.showInformationMessage('Whetstone does not track this document.');
    return undefined;
  }
  return reply;
}

/** The chunk at the cursor, else one the user picks; undefined if none or cancelled. */
async function pickChunk(
  deps: CommandDeps,
  purpose: string,
  filter: (chunk: Chunk) => boolean = () => true,
): Promise<Target | undefined> {
  const editor = vscode.window.activeTextEditor;
  if (!editor) {
    void vscode.window.showInformationMessage(`Whetstone: open a file first (${purpose}).`);
    return undefined;
  }
  const reply = await chunksOf(deps, editor);
  if (!reply) {
    return undefined;
  }
  const candidates = reply.chunks.filter(filter);
  if (candidates.length === 0) {
    void vscode.window.showInformationMessage(
      reply.chunks.length === 0
        ? 'Whetstone: no pasted or generated chunks in this file.'
        : `Whetstone: no chunk in this file fits "${purpose}".`,
    );
    return undefined;
  }
  const uri = reply.uri;
  const atCursor = chunkAtLine({ ...reply, chunks: candidates }, editor.selection.active.line);
  if (atCursor) {
    return { uri, chunk: atCursor };
  }
  const picked = await vscode.window.showQuickPick(chunkPickItems(candidates), {
    title: `Whetstone: ${purpose}`,
    placeHolder: 'Which chunk?',
    matchOnDescription: true,
  });
  return picked && { uri, chunk: picked.chunk };
}
