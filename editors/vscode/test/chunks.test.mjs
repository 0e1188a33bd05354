import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load, chunk, chunksReply } from './support/load.mjs';

const { chunkAtLine, chunkPickItems, itemsText, typedShare, countsLine, lineSpan, verdict } = load('chunks');
const { CLASS_CHOICES, FEEL_CHOICES, MINUTES_CHOICES, REPORT_CHOICES } = load('choices');
const { explanationVerdict } = load('messages');
const { args } = load('protocol');

test('the chunk at a line: end_line is exclusive', () => {
  const reply = chunksReply([chunk({ id: 1, start_line: 10, end_line: 20 }), chunk({ id: 2, start_line: 30, end_line: 31 })]);
  assert.equal(chunkAtLine(reply, 9), undefined);
  assert.equal(chunkAtLine(reply, 10).id, 1);
  assert.equal(chunkAtLine(reply, 19).id, 1);
  assert.equal(chunkAtLine(reply, 20), undefined);
  assert.equal(chunkAtLine(reply, 30).id, 2);
});

test('chunks read one-based in the pick, those needing attention first', () => {
  const items = chunkPickItems([
    chunk({ id: 1, start_line: 0, end_line: 6, class: 'transient', needs_attention: false, items: [] }),
    chunk({ id: 2, start_line: 40, end_line: 41, origin: 'generated', items: ['fn a', 'fn b', 'fn c', 'fn d', 'fn e'] }),
  ]);
  assert.deepEqual(
    items.map(({ label, description, detail }) => ({ label, description, detail })),
    [
      { label: '$(flag) Line 41 · 1 line generated', description: 'fn a, fn b, fn c +2', detail: 'not classified' },
      { label: '$(check) Lines 1–6 · 6 lines pasted', description: '', detail: 'transient' },
    ],
  );
  assert.equal(items[0].chunk.id, 2);
});

test('a verdict says class and explanation state', () => {
  assert.equal(verdict(chunk({ class: 'core' })), 'core, not yet explained');
  assert.equal(
    verdict(chunk({ class: 'core', explanation: { text: 'x', score: 45, shallow: true, recorded_ms: 0 } })),
    'core, explained (shallow, 45/100)',
  );
  assert.equal(lineSpan(chunk({ start_line: 10, end_line: 52 })), 'Lines 11–52');
});

test('the typed share is typed over every counted line, rounded down', () => {
  assert.deepEqual(typedShare(chunksReply([], { typed: 82, pasted: 18, generated: 0 })), { typed: 82, total: 100, percent: 82 });
  assert.equal(typedShare(chunksReply([], { typed: 999, pasted: 1 })).percent, 99);
  assert.equal(typedShare(chunksReply([], { typed: 0 })).percent, null);
  assert.equal(countsLine({ typed: 80, pasted: 12, generated: 0, moved: 3 }), 'typed 80 · pasted 12 · moved 3');
});

test('the Ownership Rule, the feel scale and the session lengths', () => {
  assert.deepEqual(CLASS_CHOICES.map((choice) => choice.value), ['transient', 'repeatable', 'core']);
  assert.ok(CLASS_CHOICES.every((choice) => choice.description && !choice.description.includes('\n')));
  // The same words as the server's own feel question (calibration::feel_choices).
  assert.deepEqual(
    FEEL_CHOICES.map((choice) => choice.label),
    ['1 struggled', '2 hard going', '3 workable', '4 good', '5 smooth', 'Skip'],
  );
  assert.equal(FEEL_CHOICES.at(-1).value, undefined);
  assert.deepEqual(MINUTES_CHOICES.map((choice) => choice.value), [30, 60, 90, undefined]);
  assert.deepEqual(REPORT_CHOICES.map((choice) => choice.value), ['html', 'markdown', 'json']);
});

test('argument objects are exactly what the server parses', () => {
  assert.deepEqual(args.classify('file:///a', 3, 'core'), { uri: 'file:///a', chunk: 3, class: 'core' });
  assert.deepEqual(args.explain('file:///a', 3), { uri: 'file:///a', chunk: 3 });
  assert.deepEqual(args.explain('file:///a', 3, 'because'), { uri: 'file:///a', chunk: 3, text: 'because' });
  assert.deepEqual(args.calibrationStart('', undefined), {});
  assert.deepEqual(args.calibrationStart('parser', 60), { label: 'parser', minutes: 60 });
  assert.deepEqual(args.calibrationStop(undefined), {});
  assert.deepEqual(args.calibrationStop(4), { feel: 4 });
});

test('a shallow explanation says what would deepen it', () => {
  const reply = { chunk: 1, score: 30, shallow: true, words: 6, identifiers_named: 0, identifiers_total: 4, says_why: false };
  assert.equal(
    explanationVerdict(reply),
    "Explanation recorded: 30/100, shallow: write more than 6 words; name the chunk's own functions and types; say why this approach, or what it trades off.",
  );
  assert.equal(explanationVerdict({ ...reply, score: 90, shallow: false }), 'Explanation recorded: 90/100, thorough.');
});

test('the pick counts every item: a full list from the server ends with how many more', () => {
  const ten = ['fn h0', 'fn h1', 'fn h2', 'fn h3', 'fn h4', 'fn h5', 'fn h6', '+3 more'];
  assert.equal(itemsText(ten), 'fn h0, fn h1, fn h2 +7');
  assert.equal(itemsText(['fn a', 'fn b', 'fn c', 'fn d']), 'fn a, fn b, fn c +1');
  assert.equal(itemsText(['fn a']), 'fn a');
  assert.equal(itemsText([]), '');
});
