import { test, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { load, fake, vscode, chunk, chunksReply } from './support/load.mjs';

const { gutterPlan } = load('gutter');
const { GutterMarks } = load('gutterMarks');

beforeEach(() => fake.reset());

test('each chunk marks its lines, by origin, clamped to the document', () => {
  const reply = chunksReply([
    chunk({ id: 1, origin: 'pasted', start_line: 2, end_line: 5 }),
    chunk({ id: 2, origin: 'generated', start_line: 8, end_line: 30, needs_attention: false, class: 'transient' }),
    chunk({ id: 3, origin: 'external', start_line: 40, end_line: 45 }),
  ]);
  assert.deepEqual(gutterPlan(reply, 20), {
    pasted: [{ first: 2, last: 4, chunk: 1, needsAttention: true }],
    // The reply can be a moment older than a shortened text.
    generated: [{ first: 8, last: 19, chunk: 2, needsAttention: false }],
    external: [],
  });
  assert.deepEqual(gutterPlan(undefined, 20), { pasted: [], generated: [], external: [] });
});

test('marks are set per origin and state, and cleared with an empty reply', () => {
  const marks = new GutterMarks(vscode.Uri.file('/ext'));
  assert.equal(fake.decorationTypes.length, 6);
  const icons = fake.decorationTypes.map((type) => type.options.gutterIconPath.path);
  assert.ok(icons.includes('/ext/media/pasted.svg'));
  assert.ok(icons.includes('/ext/media/generated-settled.svg'));
  assert.ok(fake.decorationTypes.every((type) => type.options.isWholeLine));

  const editor = fake.editor({ lineCount: 100 });
  marks.apply(editor, chunksReply([chunk({ start_line: 10, end_line: 50 }), chunk({ id: 8, origin: 'generated', start_line: 60, end_line: 61, needs_attention: false })]));
  const byIcon = new Map(fake.decorationTypes.map((type) => [type.options.gutterIconPath.path.replace('/ext/media/', ''), editor.decorations.get(type.key)]));
  const pasted = byIcon.get('pasted.svg');
  assert.equal(pasted.length, 1);
  assert.deepEqual([pasted[0].start.line, pasted[0].end.line], [10, 49]);
  assert.equal(byIcon.get('generated-settled.svg')[0].start.line, 60);
  assert.equal(byIcon.get('generated.svg').length, 0);

  marks.clear(editor);
  assert.ok([...editor.decorations.values()].every((ranges) => ranges.length === 0));
});

test('switching marks off clears them from the visible editors and frees their types', async () => {
  const { Tracker } = load('tracker');
  const { StatusBar } = load('statusBar');
  const cleared = [];
  let disposed = 0;
  const old = { apply() {}, clear: (editor) => cleared.push(editor.document.uri.toString()), dispose: () => disposed++ };
  const clock = { setTimeout: () => 1, clearTimeout() {}, setInterval: () => 2, clearInterval() {} };
  const tracker = new Tracker({ server: { execute: async () => chunksReply() }, status: new StatusBar(), marks: old, clock, toProtocolUri: String, log() {} });
  fake.show(fake.editor({ uri: 'file:///w/a.rs' }), fake.editor({ uri: 'file:///w/b.rs' }));
  tracker.setMarks(undefined);
  assert.deepEqual(cleared, ['file:///w/a.rs', 'file:///w/b.rs']);
  assert.equal(disposed, 1);
  tracker.dispose();
  assert.equal(disposed, 1, 'not freed twice');
});
