import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { load, fake, vscode, fakeServer, chunk, chunksReply } from './support/load.mjs';

const { registerCommands, PaletteCommand } = load('commands');
const { middleware } = load('middleware');
const { PasteHints } = load('pasteHints');

const URI = 'file:///w/a.rs';
const EXPLAINED = { chunk: 7, score: 82, shallow: false, words: 64, identifiers_named: 3, identifiers_total: 3, says_why: true };

beforeEach(() => fake.reset());

/** Registers the palette commands against a stand-in server; returns what the test needs. */
function setUp(handlers = {}, { cursorLine = 20, chunks = [chunk()] } = {}) {
  const server = fakeServer({ 'whetstone.chunks': chunksReply(chunks), ...handlers });
  const effects = { refreshed: 0, polled: 0, restarted: 0 };
  registerCommands({
    server,
    toProtocolUri: (uri) => uri.toString(),
    refresh: () => effects.refreshed++,
    pollSession: async () => void effects.polled++,
    restart: async () => void effects.restarted++,
  });
  fake.show(fake.editor({ uri: URI, cursorLine }));
  const run = (id) => fake.commands.get(id)();
  const sent = (command) => server.calls.filter((call) => call.command === command).map((call) => call.argument);
  return { server, effects, run, sent };
}

const messages = (kind) => fake.calls.filter((call) => call.kind === kind).map((call) => call.args[0]);

test('every palette command is registered under its own id', () => {
  setUp();
  assert.deepEqual([...fake.commands.keys()].sort(), Object.values(PaletteCommand).sort());
  assert.ok([...fake.commands.keys()].every((id) => id.startsWith('whetstone.palette.')), 'no clash with the server commands');
});

test('classify: the chunk at the cursor, a class from the quick pick, then the offer to explain', async () => {
  const { run, sent, effects } = setUp({ 'whetstone.classify': { chunk: 7, class: 'core' }, 'whetstone.explain': EXPLAINED });
  fake.answers.quickPick.push('Core');
  fake.answers.message.push('Explain now');
  fake.answers.inputBox.push('parse_header splits the line because the parser wants tokens');
  await run(PaletteCommand.classify);
  const [items, options] = fake.calls.find((call) => call.kind === 'quickPick').args;
  assert.deepEqual(items.map((item) => item.label), ['Transient', 'Repeatable', 'Core']);
  assert.match(options.title, /lines 11–50/);
  assert.deepEqual(sent('whetstone.classify'), [{ uri: URI, chunk: 7, class: 'core' }]);
  assert.deepEqual(sent('whetstone.explain'), [{ uri: URI, chunk: 7, text: 'parse_header splits the line because the parser wants tokens' }]);
  assert.equal(messages('information').at(-1), 'Explanation recorded: 82/100, thorough.');
  assert.ok(effects.refreshed >= 2);
});

test('classify away from any chunk: the chunk comes from a quick pick', async () => {
  const { run, sent } = setUp({ 'whetstone.classify': {} }, { cursorLine: 0, chunks: [chunk({ id: 1, start_line: 10, end_line: 20 }), chunk({ id: 2, start_line: 30, end_line: 40 })] });
  fake.answers.quickPick.push((items) => items.find((item) => item.chunk.id === 2), 'Transient');
  await run(PaletteCommand.classify);
  assert.deepEqual(sent('whetstone.classify'), [{ uri: URI, chunk: 2, class: 'transient' }]);
});

test('a cancelled pick sends nothing', async () => {
  const { run, server } = setUp({});
  fake.answers.quickPick.push(undefined);
  await run(PaletteCommand.classify);
  assert.deepEqual(server.calls.map((call) => call.command), ['whetstone.chunks']);
});

test('no chunks: a message, no pick', async () => {
  const { run } = setUp({}, { chunks: [] });
  await run(PaletteCommand.explain);
  assert.deepEqual(messages('information'), ['Whetstone: no pasted or generated chunks in this file.']);
  assert.equal(fake.calls.filter((call) => call.kind === 'quickPick').length, 0);
});

test('explain: text is sent as text; an empty box opens the explanation document; Escape sends nothing', async () => {
  const { run, sent } = setUp({ 'whetstone.explain': (argument) => (argument.text ? { ...EXPLAINED, score: 40, shallow: true, words: 9, says_why: false } : { chunk: 7, document: 'file:///x.md' }) });
  fake.answers.inputBox.push('  it reads the header  ', '', undefined);
  await run(PaletteCommand.explain);
  await run(PaletteCommand.explain);
  await run(PaletteCommand.explain);
  assert.deepEqual(sent('whetstone.explain'), [{ uri: URI, chunk: 7, text: 'it reads the header' }, { uri: URI, chunk: 7 }]);
  assert.match(messages('information')[0], /^Explanation recorded: 40\/100, shallow: write more than 9 words; say why/);
  assert.equal(fake.calls.find((call) => call.kind === 'inputBox').args[0].ignoreFocusOut, true);
});

test('dismiss asks first, and only "Not AI" dismisses', async () => {
  const { run, sent } = setUp({ 'whetstone.dismiss': { chunk: 7, dismissed: true } });
  fake.answers.message.push(undefined, 'Not AI');
  await run(PaletteCommand.dismiss);
  assert.deepEqual(sent('whetstone.dismiss'), []);
  await run(PaletteCommand.dismiss);
  assert.deepEqual(sent('whetstone.dismiss'), [{ uri: URI, chunk: 7 }]);
  const [question, options] = fake.calls.find((call) => call.kind === 'warning').args;
  assert.match(question, /lines 11–50 as your own work, not AI/);
  assert.deepEqual(options, { modal: true });
});

test('practiced offers only repeatable chunks', async () => {
  const { run, sent } = setUp({ 'whetstone.practiced': {} }, { cursorLine: 0, chunks: [chunk({ id: 1 }), chunk({ id: 2, start_line: 60, end_line: 70, class: 'repeatable', needs_attention: false })] });
  fake.answers.quickPick.push((items) => {
    assert.deepEqual(items.map((item) => item.chunk.id), [2]);
    return items[0];
  });
  await run(PaletteCommand.practiced);
  assert.deepEqual(sent('whetstone.practiced'), [{ uri: URI, chunk: 2 }]);
});

test('show chunks moves the cursor to the chosen one', async () => {
  const { run } = setUp({}, { cursorLine: 0 });
  fake.answers.quickPick.push((items) => items[0]);
  const editor = vscode.window.activeTextEditor;
  await run(PaletteCommand.showChunks);
  assert.equal(fake.calls.filter((call) => call.kind === 'quickPick').length, 1);
  assert.equal(editor.selection.active.line, 10);
  assert.deepEqual([editor.revealed[0].range.start.line, editor.revealed[0].range.end.line], [10, 49]);
});

test('calibration start: a label and a length, then the status is polled', async () => {
  const { run, sent, effects } = setUp({ 'whetstone.calibration.start': { running: true } });
  fake.answers.inputBox.push(' parser ', undefined);
  fake.answers.quickPick.push('60 minutes');
  await run(PaletteCommand.calibrationStart);
  assert.deepEqual(sent('whetstone.calibration.start'), [{ label: 'parser', minutes: 60 }]);
  assert.equal(effects.polled, 1);
  await run(PaletteCommand.calibrationStart);
  assert.equal(sent('whetstone.calibration.start').length, 1, 'Escape on the label cancels');

  fake.answers.inputBox.push('');
  fake.answers.quickPick.push('No limit');
  await run(PaletteCommand.calibrationStart);
  assert.deepEqual(sent('whetstone.calibration.start')[1], {});
});

test('calibration stop: how it felt, or skip; Escape keeps the session running', async () => {
  const { run, sent } = setUp({ 'whetstone.calibration.status': { running: true, elapsed_minutes: 61, breaches: [] }, 'whetstone.calibration.stop': {} });
  fake.answers.quickPick.push('4 good', 'Skip', undefined);
  await run(PaletteCommand.calibrationStop);
  await run(PaletteCommand.calibrationStop);
  await run(PaletteCommand.calibrationStop);
  assert.deepEqual(sent('whetstone.calibration.stop'), [{ feel: 4 }, {}]);
  const [items, options] = fake.calls.find((call) => call.kind === 'quickPick').args;
  assert.equal(items.length, 6);
  assert.match(options.title, /61 min/);
});

test('calibration stop without a session says so', async () => {
  const { run, sent } = setUp({ 'whetstone.calibration.status': null });
  await run(PaletteCommand.calibrationStop);
  assert.deepEqual(sent('whetstone.calibration.stop'), []);
  assert.deepEqual(messages('information'), ['Whetstone: no calibration session is running.']);
});

test('report: markdown and json open in an editor tab; html is the server\'s to show', async () => {
  const { run, sent } = setUp({
    'whetstone.report': ({ format }) =>
      format === 'html' ? { format, path: '/s/r.html', uri: 'file:///s/r.html' } : format === 'json' ? { format, report: { days: 28 } } : { format, markdown: '# Whetstone report\n' },
  });
  fake.answers.quickPick.push('Markdown', 'JSON', 'HTML');
  await run(PaletteCommand.report);
  await run(PaletteCommand.report);
  await run(PaletteCommand.report);
  assert.deepEqual(sent('whetstone.report'), [{ format: 'markdown' }, { format: 'json' }, { format: 'html' }]);
  assert.deepEqual(
    fake.openedDocuments.map(({ language, content }) => ({ language, content })),
    [
      { language: 'markdown', content: '# Whetstone report\n' },
      { language: 'json', content: '{\n  "days": 28\n}' },
    ],
  );
});

test('a server error becomes an error message, not an exception', async () => {
  const { run } = setUp({ 'whetstone.calibration.status': () => { throw new Error('the whetstone language server is not running'); } });
  await run(PaletteCommand.calibrationStatus);
  assert.deepEqual(messages('error'), ['Whetstone: the whetstone language server is not running']);
});

test('restart runs the restart', async () => {
  const { run, effects } = setUp();
  await run(PaletteCommand.restartServer);
  assert.equal(effects.restarted, 1);
});

test('lens clicks: Explain asks for the text, Not AI asks first, the rest run as given', async () => {
  let refreshed = 0;
  const hooks = middleware({ hints: new PasteHints(() => 0), toProtocolUri: String, refresh: () => refreshed++, sessionChanged: () => {}, log: () => {} });
  const ran = [];
  const next = async (command, args) => {
    ran.push([command, args[0]]);
    return command === 'whetstone.explain' && args[0].text ? EXPLAINED : { ok: true };
  };
  const lens = { uri: URI, chunk: 7 };
  fake.answers.inputBox.push('my words because', '', undefined);
  await hooks.executeCommand('whetstone.explain', [lens], next);
  await hooks.executeCommand('whetstone.explain', [lens], next);
  await hooks.executeCommand('whetstone.explain', [lens], next);
  fake.answers.message.push(undefined, 'Not AI');
  await hooks.executeCommand('whetstone.dismiss', [lens], next);
  await hooks.executeCommand('whetstone.dismiss', [lens], next);
  await hooks.executeCommand('whetstone.classify', [{ ...lens, class: 'core' }], next);
  assert.deepEqual(ran, [
    ['whetstone.explain', { ...lens, text: 'my words because' }],
    ['whetstone.explain', lens],
    ['whetstone.dismiss', lens],
    ['whetstone.classify', { ...lens, class: 'core' }],
  ]);
  assert.ok(refreshed >= 3);
});

test('calibration status sums the running session up in one message', async () => {
  const { run } = setUp({
    'whetstone.calibration.status': { running: true, label: 'parser', planned_minutes: 60, remaining_minutes: 37, elapsed_minutes: 23, active_minutes: 20, typed_lines: 41, files: 1, breaches: [] },
  });
  await run(PaletteCommand.calibrationStatus);
  assert.deepEqual(messages('information'), [
    'Calibration session "parser": no AI, no pasting. 37 of 60 minutes left. 20 active minutes, 41 typed lines in 1 file.',
  ]);
});
