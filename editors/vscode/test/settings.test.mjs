import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './support/load.mjs';

const { serverSettings, pasteHintMode, CLIENT_ONLY_KEYS } = load('settings');

test('client-only keys stay in the client; the rest goes to the server as is', () => {
  const section = {
    serverPath: '/opt/whetstone',
    trace: { server: 'verbose' },
    gutterMarks: true,
    pasteHint: 'lines',
    detection: { minLines: 8, minChars: 200 },
    reminders: { calibrationDays: 14 },
    storePath: '/data/whetstone',
    // VS Code's configuration object carries methods: they are not settings.
    get() {},
    has() {},
  };
  assert.deepEqual(serverSettings(section), {
    detection: { minLines: 8, minChars: 200 },
    reminders: { calibrationDays: 14 },
    storePath: '/data/whetstone',
  });
});

test('an empty store path means the default, so it is left out', () => {
  assert.deepEqual(serverSettings({ storePath: '  ' }), {});
  assert.deepEqual(serverSettings({ storePath: null }), {});
});

test('diagnostics "on"/"off" become the server\'s true/false; "auto" stays', () => {
  assert.deepEqual(serverSettings({ nudges: { diagnostics: 'on', codeLens: false } }), { nudges: { diagnostics: true, codeLens: false } });
  assert.deepEqual(serverSettings({ nudges: { diagnostics: 'off' } }), { nudges: { diagnostics: false } });
  assert.deepEqual(serverSettings({ nudges: { diagnostics: 'auto' } }), { nudges: { diagnostics: 'auto' } });
});

test('nothing or a non-object gives an empty section', () => {
  assert.deepEqual(serverSettings(undefined), {});
  assert.deepEqual(serverSettings(null), {});
  assert.deepEqual(serverSettings('whetstone'), {});
});

test('the paste hint mode defaults to "lines"', () => {
  assert.equal(pasteHintMode('all'), 'all');
  assert.equal(pasteHintMode('off'), 'off');
  assert.equal(pasteHintMode(undefined), 'lines');
  assert.equal(pasteHintMode('sometimes'), 'lines');
  assert.ok(CLIENT_ONLY_KEYS.includes('serverPath'));
});
