// Starts the real `whetstone lsp` and drives it over stdio the way the extension does through
// vscode-languageclient: VS Code's client capabilities, the `whetstone` settings as the
// extension sends them, a paste with its edit-origin hint put on the wire by the extension's own
// middleware, code lenses, a lens command executed exactly as the lens gives it, and the
// calibration and report commands the palette runs. The extension's reply readers (status text,
// gutter plan) are run on the real answers.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { createRequire } from 'node:module';
import { load, vscode } from './support/load.mjs';

const require = createRequire(import.meta.url);
const {
  createProtocolConnection,
  StreamMessageReader,
  StreamMessageWriter,
  DidChangeTextDocumentNotification,
} = require('vscode-languageserver-protocol/node');

const { serverSettings } = load('settings');
const { PasteHints } = load('pasteHints');
const { middleware } = load('middleware');
const { statusText } = load('statusText');
const { gutterPlan } = load('gutter');
const { args, ServerCommand, EDIT_ORIGIN, CALIBRATION_CHANGED } = load('protocol');

const here = path.dirname(fileURLToPath(import.meta.url));
const BINARY = process.env.WHETSTONE_BIN ?? path.resolve(here, '../../../target/debug/whetstone');

const ORIGINAL = ['//! A small library.', '', 'pub fn answer() -> u32 {', '    42', '}', ''].join('\n');
const ORIGINAL_LINES = 5;
const PASTE =
  [
    'fn parse_header(line: &str) -> (String, String) {',
    ...Array.from({ length: 38 }, (_, i) => `    let value_${i} = line.len() * ${i + 1};`),
    '}',
  ].join('\n') + '\n';

/** Everything the server asked or told the client, in order. */
const seen = { requests: [], notifications: [] };
let connection;
let server;
let home;
let workspace;
let fileUri;
let version = 1;

/** Resolves when `predicate` holds for something seen, polling; fails after `ms`. */
async function eventually(what, predicate, ms = 5000) {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = predicate();
    if (found) return found;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const requestsOf = (method) => seen.requests.filter((request) => request.method === method);
const notificationsOf = (method) => seen.notifications.filter((notification) => notification.method === method);
const execute = (command, argument) =>
  connection.sendRequest('workspace/executeCommand', { command, arguments: argument === undefined ? [] : [argument] });
const codeLenses = () => connection.sendRequest('textDocument/codeLens', { textDocument: { uri: fileUri } });
const titles = (lenses) => lenses.map((lens) => lens.command?.title ?? '');

/** The client capabilities vscode-languageclient announces for VS Code (the parts that matter). */
const VSCODE_CAPABILITIES = {
  general: { positionEncodings: ['utf-16'], markdown: { parser: 'marked', version: '1.1.0' } },
  workspace: {
    applyEdit: true,
    workspaceEdit: { documentChanges: true },
    didChangeConfiguration: { dynamicRegistration: true },
    didChangeWatchedFiles: { dynamicRegistration: true, relativePatternSupport: true },
    executeCommand: { dynamicRegistration: true },
    configuration: true,
    workspaceFolders: true,
    codeLens: { refreshSupport: true },
    diagnostics: { refreshSupport: true },
  },
  textDocument: {
    synchronization: { dynamicRegistration: true, willSave: true, willSaveWaitUntil: true, didSave: true },
    hover: { dynamicRegistration: true, contentFormat: ['markdown', 'plaintext'] },
    codeAction: { dynamicRegistration: true, isPreferredSupport: true, resolveSupport: { properties: ['edit'] } },
    codeLens: { dynamicRegistration: true, resolveSupport: { properties: ['command'] } },
    publishDiagnostics: { relatedInformation: true, versionSupport: false, codeDescriptionSupport: true, dataSupport: true },
  },
  window: {
    showMessage: { messageActionItem: { additionalPropertiesSupport: true } },
    showDocument: { support: true },
    workDoneProgress: true,
  },
};

before(async () => {
  assert.ok(fs.existsSync(BINARY), `${BINARY} is missing: run cargo build -p whetstone`);
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'whetstone-vscode-home-'));
  workspace = fs.mkdtempSync(path.join(os.tmpdir(), 'whetstone-vscode-ws-'));
  fs.mkdirSync(path.join(workspace, 'src'));
  const file = path.join(workspace, 'src', 'lib.rs');
  fs.writeFileSync(file, ORIGINAL);
  fileUri = pathToFileURL(file).href;

  server = spawn(BINARY, ['lsp'], {
    cwd: workspace,
    env: { ...process.env, WHETSTONE_HOME: home, WHETSTONE_LOG: 'warn' },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  server.stderr.on('data', () => {});
  connection = createProtocolConnection(new StreamMessageReader(server.stdout), new StreamMessageWriter(server.stdin));
  // The requests a server may send VS Code, answered as the language client answers them.
  const answers = {
    'workspace/codeLens/refresh': () => null,
    'workspace/diagnostic/refresh': () => null,
    'client/registerCapability': () => null,
    'client/unregisterCapability': () => null,
    'window/workDoneProgress/create': () => null,
    'window/showMessageRequest': () => null,
    'window/showDocument': () => ({ success: true }),
    // The extension's middleware hands the server its section without client-only keys.
    'workspace/configuration': (params) => params.items.map((item) => (item.section === 'whetstone' ? serverSettings({ serverPath: '/x' }) : null)),
  };
  for (const [method, answer] of Object.entries(answers)) {
    connection.onRequest(method, (params) => {
      seen.requests.push({ method, params });
      return answer(params);
    });
  }
  connection.onNotification((method, params) => seen.notifications.push({ method, params }));
  connection.listen();

  // As VS Code sends them: the whole `whetstone` section, client-only keys included, filtered.
  const section = {
    serverPath: BINARY,
    trace: { server: 'off' },
    gutterMarks: true,
    pasteHint: 'lines',
    detection: { minLines: 5, minChars: 200, burstCharsPerSecond: 30, burstMinDurationMs: 2000, mergeWindowMs: 30000 },
    nudges: { codeLens: true, diagnostics: 'auto', diagnosticSeverity: 'information', hover: true },
    reminders: { calibrationDays: 0 },
    storePath: '',
  };
  const result = await connection.sendRequest('initialize', {
    processId: process.pid,
    clientInfo: { name: 'Visual Studio Code', version: '1.97.0' },
    rootUri: pathToFileURL(workspace).href,
    workspaceFolders: [{ uri: pathToFileURL(workspace).href, name: 'ws' }],
    capabilities: VSCODE_CAPABILITIES,
    initializationOptions: serverSettings(section),
  });
  assert.equal(result.capabilities.positionEncoding, 'utf-16');
  assert.ok(result.capabilities.codeLensProvider);
  assert.deepEqual(
    [...result.capabilities.executeCommandProvider.commands].sort(),
    [...Object.values(ServerCommand)].sort(),
    'every server command has a palette or lens route in the extension',
  );
  await connection.sendNotification('initialized', {});
  await connection.sendNotification('workspace/didChangeConfiguration', { settings: { whetstone: serverSettings(section) } });
  await connection.sendNotification('textDocument/didOpen', {
    textDocument: { uri: fileUri, languageId: 'rust', version, text: ORIGINAL },
  });
});

after(() => {
  if (server && server.exitCode === null) server.kill();
  connection?.dispose();
  for (const folder of [home, workspace]) if (folder) fs.rmSync(folder, { recursive: true, force: true });
});

test('the server asks VS Code to watch every file, and takes the settings without complaint', async () => {
  const registration = await eventually('client/registerCapability', () => requestsOf('client/registerCapability')[0]);
  const watcher = registration.params.registrations.find((entry) => entry.method === 'workspace/didChangeWatchedFiles');
  assert.deepEqual(watcher.registerOptions.watchers.map((entry) => entry.globPattern), ['**/*']);
  const complaints = notificationsOf('window/logMessage').filter((message) => /setting/.test(message.params.message));
  assert.deepEqual(complaints, [], 'no unknown or bad setting reported');
});

test('a paste: lenses, a lens command as the lens gives it, and the lenses change', async () => {
  assert.deepEqual(await codeLenses(), [], 'opening a file flags nothing');

  // The paste goes through the extension's middleware: the paste provider's note, the change
  // event, and the hint put on the wire right before the didChange with its version.
  const hints = new PasteHints(Date.now);
  const hooks = middleware({ hints, toProtocolUri: (uri) => uri.toString(), refresh: () => {}, sessionChanged: () => {}, log: () => {} });
  const wire = [];
  const send = (type, params) => {
    const method = typeof type === 'string' ? type : type.method;
    wire.push(method);
    return connection.sendNotification(method, params);
  };
  assert.equal(hints.expectPaste(fileUri, PASTE, 'lines'), true);
  version += 1;
  const change = {
    range: { start: { line: ORIGINAL_LINES, character: 0 }, end: { line: ORIGINAL_LINES, character: 0 } },
    text: PASTE,
  };
  await hooks.didChange(
    { document: { uri: vscode.Uri.parse(fileUri), version }, contentChanges: [change], reason: undefined },
    (event) =>
      hooks.sendNotification(DidChangeTextDocumentNotification.type, send, {
        textDocument: { uri: fileUri, version: event.document.version },
        contentChanges: [change],
      }),
  );
  assert.deepEqual(wire, [EDIT_ORIGIN, 'textDocument/didChange']);

  const lenses = await codeLenses();
  assert.match(lenses[0].command.title, /^⚑ 40 lines pasted/);
  assert.deepEqual(titles(lenses).slice(1), ['Transient', 'Repeatable', 'Core', 'Explain', 'Not AI']);
  assert.ok(lenses.every((lens) => lens.range.start.line === ORIGINAL_LINES));

  const refreshesBefore = requestsOf('workspace/codeLens/refresh').length;
  const core = lenses.find((lens) => lens.command.title === 'Core').command;
  const answer = await execute(core.command, core.arguments[0]);
  assert.equal(core.command, 'whetstone.classify');
  assert.equal(answer.class, 'core');
  await eventually('workspace/codeLens/refresh', () => requestsOf('workspace/codeLens/refresh').length > refreshesBefore);

  const after = await codeLenses();
  assert.equal(after.length, 2);
  assert.match(after[0].command.title, /^⚑ 40 lines pasted.*core/);
  assert.equal(after[1].command.title, 'Explain');

  // What the status bar and the gutter make of the real ownership map.
  const reply = await execute(ServerCommand.chunks, args.chunks(fileUri));
  assert.equal(reply.counts.pasted, 40);
  assert.equal(reply.chunks.length, 1);
  assert.equal(reply.chunks[0].class, 'core');
  const share = Math.floor((reply.counts.typed * 100) / (reply.counts.typed + 40));
  assert.equal(statusText(null, reply).text, `$(person) ${share}% yours`);
  assert.deepEqual(gutterPlan(reply, ORIGINAL_LINES + 41).pasted, [
    { first: ORIGINAL_LINES, last: ORIGINAL_LINES + 39, chunk: reply.chunks[0].id, needsAttention: true },
  ]);
});

test('Explain without text opens the explanation document; with text, the lens goes', async () => {
  const explain = (await codeLenses()).find((lens) => lens.command.title === 'Explain').command;
  const opened = await execute(explain.command, explain.arguments[0]);
  const shown = await eventually('window/showDocument', () => requestsOf('window/showDocument')[0]);
  assert.equal(shown.params.uri, opened.document);
  assert.match(opened.document, /\.md$/);

  const text =
    'parse_header splits a header line at the first colon and measures it; I used splitn because a value may hold colons itself, which a plain split would break. ' +
    'The trade-off is one more allocation per line, which is cheaper than parsing the value twice.';
  const scored = await execute(explain.command, { ...explain.arguments[0], text });
  assert.equal(typeof scored.score, 'number');
  assert.deepEqual(await codeLenses(), []);
});

test('a calibration session from start to stop, as the palette and status bar see it', async () => {
  assert.equal(await execute(ServerCommand.calibrationStatus, {}), null);
  const started = await execute(ServerCommand.calibrationStart, args.calibrationStart('protocol test', 60));
  assert.equal(started.running, true);
  assert.equal(started.planned_minutes, 60);

  const status = await execute(ServerCommand.calibrationStatus, {});
  assert.equal(status.label, 'protocol test');
  assert.equal(status.remaining_minutes, 60);
  assert.equal(statusText(status, undefined).text, '$(watch) No-AI 0 min');
  await eventually('the start message', () =>
    notificationsOf('window/showMessage').find((message) => /Calibration session started for 60 minutes/.test(message.params.message)),
  );
  // The status bar hears of it at once, as it would of a start in another window.
  const announced = await eventually('whetstone/calibrationChanged for the start', () =>
    notificationsOf(CALIBRATION_CHANGED).find((message) => message.params?.label === 'protocol test'),
  );
  assert.equal(announced.params.planned_minutes, 60);

  const stopped = await execute(ServerCommand.calibrationStop, args.calibrationStop(4));
  assert.equal(stopped.running, false);
  assert.equal(stopped.feel, 4);
  assert.equal(await execute(ServerCommand.calibrationStatus, {}), null);
  await eventually('whetstone/calibrationChanged for the stop', () =>
    notificationsOf(CALIBRATION_CHANGED).find((message) => message.params === null),
  );
  assert.deepEqual(requestsOf('window/showMessageRequest'), [], 'a feel given: no question asked');
});

test('the report: markdown returned, html written and shown', async () => {
  const markdown = await execute(ServerCommand.report, args.report('markdown'));
  assert.equal(markdown.format, 'markdown');
  assert.ok(markdown.markdown.length > 0);
  const html = await execute(ServerCommand.report, args.report('html'));
  assert.ok(fs.existsSync(html.path));
  const shown = await eventually('the report shown', () => requestsOf('window/showDocument').find((request) => request.params.uri === html.uri));
  assert.equal(shown.params.external, true);
});

test('bad arguments are refused with what was expected', async () => {
  await assert.rejects(execute(ServerCommand.classify, { uri: fileUri, chunk: 1, class: 'important' }), /transient.*repeatable.*core/);
});

test('a small paste the size bar lets through is flagged only with the hint', async () => {
  // Different lines in each file: a copy of the hinted file's chunk would be a chunk too.
  const smalls = {
    'hinted.rs': 'let first = parse_header(line);\nlet second = first.0.len();\nlet third = second * 2;\n',
    'unhinted.rs': 'let width = frame.width();\nlet height = frame.height();\nlet area = width * height;\n',
  };
  const hints = new PasteHints(Date.now);
  const hooks = middleware({ hints, toProtocolUri: (uri) => uri.toString(), refresh: () => {}, sessionChanged: () => {}, log: () => {} });
  const send = (type, params) => connection.sendNotification(typeof type === 'string' ? type : type.method, params);
  const lensTitles = {};
  for (const [name, hinted] of [['hinted.rs', true], ['unhinted.rs', false]]) {
    const uri = pathToFileURL(path.join(workspace, 'src', name)).href;
    const small = smalls[name];
    await connection.sendNotification('textDocument/didOpen', { textDocument: { uri, languageId: 'rust', version: 1, text: '' } });
    if (hinted) hints.expectPaste(uri, small, 'lines');
    const change = { range: { start: { line: 0, character: 0 }, end: { line: 0, character: 0 } }, text: small };
    await hooks.didChange({ document: { uri: vscode.Uri.parse(uri), version: 2 }, contentChanges: [change], reason: undefined }, (event) =>
      hooks.sendNotification(DidChangeTextDocumentNotification.type, send, {
        textDocument: { uri, version: event.document.version },
        contentChanges: [change],
      }),
    );
    lensTitles[name] = titles(await connection.sendRequest('textDocument/codeLens', { textDocument: { uri } }));
  }
  assert.match(lensTitles['hinted.rs'][0], /^⚑ 3 lines pasted/);
  assert.deepEqual(lensTitles['unhinted.rs'], [], 'three typed-looking lines stay the user\'s');
});

test('shutdown and exit end the server cleanly', async () => {
  await connection.sendRequest('shutdown');
  await connection.sendNotification('exit');
  // The language client closes the pipe too when it stops the process.
  server.stdin.end();
  const code = server.exitCode ?? (await new Promise((resolve) => server.once('exit', resolve)));
  assert.equal(code, 0);
});
