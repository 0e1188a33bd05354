// Saving an explanation document: which chunk it explains, and what the person is told.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './support/load.mjs';

const { explanationTarget, recordedSince, savedVerdict } = load('explanationDocument');

test('an explanation document is known by the first line the server writes', () => {
  const first =
    '<!-- whetstone explanation · chunk 12 · file:///w/src/http.rs · keep this line: it ties your answers to the chunk -->';
  assert.deepEqual(explanationTarget(first), { chunk: 12, uri: 'file:///w/src/http.rs' });
  assert.equal(explanationTarget('# Notes'), undefined);
  assert.equal(explanationTarget('<!-- whetstone explanation · chunk x · file:///a ·'), undefined);
});

test('only an explanation recorded after the save is the saved one', () => {
  assert.equal(recordedSince({ explanation: null }, 1000), false);
  assert.equal(recordedSince({ explanation: { text: 'a', score: 1, shallow: true, recorded_ms: 999 } }, 1000), false);
  assert.equal(recordedSince({ explanation: { text: 'a', score: 1, shallow: true, recorded_ms: 1000 } }, 1000), true);
  assert.equal(recordedSince(undefined, 0), false);
});

test('the saved explanation\'s score reads like the input box\'s', () => {
  assert.equal(savedVerdict({ score: 82, shallow: false }), 'Explanation recorded: 82/100, thorough.');
  assert.match(savedVerdict({ score: 35, shallow: true }), /^Explanation recorded: 35\/100, shallow: say why/);
});
