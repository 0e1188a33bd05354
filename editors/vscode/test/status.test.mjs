import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { load, fake, fakeServer, manualClock, settle, chunk, chunksReply } from './support/load.mjs';

const { statusText } = load('statusText');
const { StatusBar } = load('statusBar');
const { Tracker, REFRESH_DEBOUNCE_MS, SESSION_POLL_MS } = load('tracker');

beforeEach(() => fake.reset());

const session = (overrides = {}) => ({
  running: true,
  label: 'parser',
  started_ms: 0,
  planned_minutes: 60,
  remaining_minutes: 37,
  ended_ms: null,
  ended_because: null,
  elapsed_minutes: 23,
  active_minutes: 20,
  typed_lines: 41,
  typed_chars: 1200,
  files: 2,
  pace_lines_per_hour: 123,
  breaches: [],
  feel: null,
  notes: null,
  ...overrides,
});

test('a running session shows its minutes, and a breach', () => {
  const quiet = statusText(session(), chunksReply());
  assert.equal(quiet.text, '$(watch) No-AI 23 min');
  assert.match(quiet.tooltip, /"parser"/);
  assert.match(quiet.tooltip, /37 of 60 minutes left/);
  assert.equal(quiet.command, 'whetstone.palette.calibrationStop');
  assert.equal(quiet.warning, false);
  const breached = statusText(session({ breaches: [{ at_ms: 1, uri: 'u', origin: 'pasted', lines: 9, chunk: 3 }] }), undefined);
  assert.equal(breached.text, '$(watch) No-AI 23 min · 1 breach');
  assert.equal(breached.warning, true);
});

test('without a session: the file share; with nothing counted: nothing', () => {
  const share = statusText(null, chunksReply([chunk()], { typed: 82, pasted: 18 }));
  assert.equal(share.text, '$(person) 82% yours');
  assert.match(share.tooltip, /You typed 82 of this file's 100 lines \(typed 82 · pasted 18\)/);
  assert.match(share.tooltip, /1 chunk needs your attention/);
  assert.equal(share.command, 'whetstone.palette.showChunks');
  assert.equal(statusText(session({ running: false }), chunksReply([], { typed: 5 })).text, '$(person) 100% yours');
  assert.equal(statusText(null, chunksReply([], {})), undefined);
  assert.equal(statusText(null, { ...chunksReply([], { typed: 3 }), known: false }), undefined);
  assert.equal(statusText(null, undefined), undefined);
});

test('the status bar item follows session and file, and hides when there is nothing', () => {
  const bar = new StatusBar();
  const item = fake.statusBarItems[0];
  assert.equal(item.visible, false);
  bar.setFile(chunksReply([], { typed: 9, generated: 1 }));
  assert.equal(item.text, '$(person) 90% yours');
  assert.equal(item.visible, true);
  bar.setSession(session({ breaches: [{}, {}] }));
  assert.equal(item.text, '$(watch) No-AI 23 min · 2 breaches');
  assert.equal(item.backgroundColor.id, 'statusBarItem.warningBackground');
  bar.setSession(null);
  assert.equal(item.text, '$(person) 90% yours');
  assert.equal(item.backgroundColor, undefined);
  bar.setFile(undefined);
  assert.equal(item.visible, false);
});

test('the tracker polls the session every 30 s and refreshes the file 300 ms after the last edit', async () => {
  const clock = manualClock();
  let typed = 50;
  const server = fakeServer({
    'whetstone.calibration.status': () => session({ elapsed_minutes: typed }),
    'whetstone.chunks': ({ uri }) => chunksReply([], { typed, pasted: 50 }, uri),
  });
  const status = new StatusBar();
  const marks = { applied: [], apply(editor, reply) { this.applied.push([editor.document.uri.toString(), reply?.counts.typed]); }, clear() {}, dispose() {} };
  const tracker = new Tracker({ server, status, marks, clock, toProtocolUri: (uri) => uri.toString(), log: () => {} });
  const editor = fake.editor({ uri: 'file:///w/a.rs' });
  const other = fake.editor({ uri: 'file:///w/b.rs' });
  const output = fake.editor({ uri: 'output:///w/log' });
  fake.show(editor, other, output);

  // Edits in quick succession: one request per visible tracked file, after the last one.
  for (let i = 0; i < 5; i++) {
    fake.events.documentChange.fire({ document: editor.document, contentChanges: [{ text: 'x' }] });
    clock.advance(100);
  }
  assert.equal(server.calls.length, 0);
  clock.advance(REFRESH_DEBOUNCE_MS);
  await settle();
  assert.deepEqual(server.calls.map((call) => call.argument.uri), ['file:///w/a.rs', 'file:///w/b.rs']);
  assert.deepEqual(marks.applied, [['file:///w/a.rs', 50], ['file:///w/b.rs', 50]]);
  assert.equal(fake.statusBarItems[0].text, '$(person) 50% yours');

  // A change without content (a save, a dirty flag) asks nothing.
  fake.events.documentChange.fire({ document: editor.document, contentChanges: [] });
  clock.advance(REFRESH_DEBOUNCE_MS);
  assert.equal(server.calls.length, 2);

  clock.advance(SESSION_POLL_MS);
  await settle();
  assert.equal(fake.statusBarItems[0].text, '$(watch) No-AI 50 min');
  typed = 51;
  clock.advance(SESSION_POLL_MS);
  await settle();
  assert.equal(fake.statusBarItems[0].text, '$(watch) No-AI 51 min');

  tracker.dispose();
  assert.equal(clock.pending(), 0);
});

test('a failing server leaves the item alone and is only logged', async () => {
  const logged = [];
  const server = fakeServer({});
  const tracker = new Tracker({ server, status: new StatusBar(), marks: undefined, clock: manualClock(), toProtocolUri: String, log: (line) => logged.push(line) });
  fake.show(fake.editor());
  await tracker.pollSession();
  await tracker.refreshNow();
  assert.equal(logged.length, 2);
  assert.equal(fake.calls.length, 0, 'no pop-up');
  tracker.dispose();
});
