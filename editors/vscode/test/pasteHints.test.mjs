import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { load, fake, vscode } from './support/load.mjs';

const { PasteHints, isPasteOf, worthHinting, PASTE_WAIT_MS } = load('pasteHints');
const { middleware, hintBefore } = load('middleware');
const { PasteWatcher, registerPasteWatcher } = load('pasteProvider');

beforeEach(() => fake.reset());

const PASTE = 'fn parse_header(line: &str) -> Header {\n    let mut parts = line.split(": ");\n    todo!()\n}\n';
const URI = 'file:///w/a.rs';

test('which pastes are worth a hint', () => {
  assert.equal(worthHinting(PASTE, 'lines'), true);
  assert.equal(worthHinting('parse_header', 'lines'), false, 'a pasted name stays typing');
  assert.equal(worthHinting('one line\n\n', 'lines'), false);
  assert.equal(worthHinting('parse_header', 'all'), true);
  assert.equal(worthHinting('   ', 'all'), false);
  assert.equal(worthHinting(PASTE, 'off'), false);
});

test('a change is the paste when it inserts its text, re-indented or spread over cursors', () => {
  assert.equal(isPasteOf(PASTE, [{ text: PASTE }]), true);
  assert.equal(isPasteOf(PASTE, [{ text: PASTE.replace(/\n {4}/g, '\n        ') }]), true, 'auto-indent on paste');
  assert.equal(isPasteOf(PASTE, [{ text: 'use crate::Header;\n' }, { text: PASTE }]), true, 'with an added import');
  assert.equal(isPasteOf('a\nb\nc', [{ text: 'c' }, { text: 'a' }, { text: 'b' }]), true, 'one line per cursor');
  assert.equal(isPasteOf(PASTE, [{ text: 'x' }]), false);
  assert.equal(isPasteOf(PASTE, [{ text: '' }]), false, 'a deletion');
});

test('a seen paste hints its own change, with that change\'s version, once', () => {
  let now = 1000;
  const hints = new PasteHints(() => now);
  assert.equal(hints.expectPaste(URI, PASTE, 'lines'), true);
  // A keystroke of another document, or a different text, is not the paste.
  assert.equal(hints.noteChange('file:///w/b.rs', 4, [{ text: PASTE }], undefined), undefined);
  assert.equal(hints.noteChange(URI, 7, [{ text: 'x' }], undefined), undefined);
  assert.deepEqual(hints.noteChange(URI, 8, [{ text: PASTE }], undefined), { uri: URI, version: 8, origin: 'paste' });
  assert.equal(hints.noteChange(URI, 9, [{ text: PASTE }], undefined), undefined, 'used up');
  assert.deepEqual(hints.takeFor(URI, 8), { uri: URI, version: 8, origin: 'paste' });
  assert.equal(hints.takeFor(URI, 8), undefined);

  hints.expectPaste(URI, PASTE, 'lines');
  now += PASTE_WAIT_MS + 1;
  assert.equal(hints.noteChange(URI, 10, [{ text: PASTE }], undefined), undefined, 'a cancelled paste expires');
});

test('undo and redo are hinted as undo, even of pasted text', () => {
  const hints = new PasteHints(() => 0);
  hints.expectPaste(URI, PASTE, 'lines');
  assert.deepEqual(hints.noteChange(URI, 3, [{ text: PASTE }], 'redo'), { uri: URI, version: 3, origin: 'undo' });
  assert.deepEqual(hints.noteChange(URI, 4, [{ text: '' }], 'undo'), { uri: URI, version: 4, origin: 'undo' });
  hints.forget(URI);
  assert.equal(hints.takeFor(URI, 3), undefined);
});

test('the middleware puts the hint on the wire right before its didChange', async () => {
  const hints = new PasteHints(() => 0);
  const logged = [];
  const hooks = middleware({ hints, toProtocolUri: (uri) => uri.toString(), refresh: () => {}, sessionChanged: () => {}, log: (line) => logged.push(line) });
  const wire = [];
  const next = (type, params) => {
    wire.push([typeof type === 'string' ? type : type.method, params.textDocument?.version ?? params.version]);
    return Promise.resolve();
  };
  const document = { uri: vscode.Uri.parse(URI), version: 5 };
  const didChange = { method: 'textDocument/didChange' };

  hints.expectPaste(URI, PASTE, 'lines');
  await hooks.didChange({ document, contentChanges: [{ text: PASTE }], reason: undefined }, async (event) => {
    // The language client's own path: it sends the didChange through sendNotification.
    await hooks.sendNotification(didChange, next, { textDocument: { uri: URI, version: event.document.version }, contentChanges: [] });
  });
  document.version = 6;
  await hooks.didChange({ document, contentChanges: [{ text: 'y' }], reason: undefined }, async (event) => {
    await hooks.sendNotification(didChange, next, { textDocument: { uri: URI, version: event.document.version }, contentChanges: [] });
  });
  document.version = 7;
  await hooks.didChange({ document, contentChanges: [{ text: '' }], reason: vscode.TextDocumentChangeReason.Undo }, async (event) => {
    await hooks.sendNotification(didChange, next, { textDocument: { uri: URI, version: event.document.version }, contentChanges: [] });
  });
  assert.deepEqual(wire, [
    ['whetstone/editOrigin', 5],
    ['textDocument/didChange', 5],
    ['textDocument/didChange', 6],
    ['whetstone/editOrigin', 7],
    ['textDocument/didChange', 7],
  ]);
  assert.equal(logged.length, 2);
  assert.equal(hintBefore(hints, 'textDocument/didOpen', { textDocument: { uri: URI, version: 5 } }), undefined);
});

test('the paste provider reads the pasted text, leaves a note and offers no edit', async () => {
  const hints = new PasteHints(() => 0);
  let mode = 'lines';
  registerPasteWatcher(new PasteWatcher(hints, (uri) => uri.toString(), () => mode));
  const [{ selector, provider, metadata }] = fake.pasteProviders;
  assert.deepEqual(selector, [{ scheme: 'file' }, { scheme: 'untitled' }]);
  assert.deepEqual(metadata, { providedPasteEditKinds: [], pasteMimeTypes: ['text/plain'] });

  const transfer = (text) => ({ get: (mime) => (mime === 'text/plain' ? { asString: async () => text } : undefined) });
  const document = { uri: vscode.Uri.parse(URI), version: 2 };
  assert.equal(await provider.provideDocumentPasteEdits(document, [], transfer(PASTE), {}, {}), undefined);
  assert.ok(hints.noteChange(URI, 3, [{ text: PASTE }], undefined));

  mode = 'off';
  await provider.provideDocumentPasteEdits(document, [], transfer(PASTE), {}, {});
  assert.equal(hints.noteChange(URI, 4, [{ text: PASTE }], undefined), undefined);
});
