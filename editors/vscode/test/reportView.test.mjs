// Where the HTML report opens: the browser where it can reach the file, else an editor tab.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './support/load.mjs';

const { opensInEditor } = load('reportView');

const html = 'file:///home/ada/.local/share/whetstone/reports/report.html';

test('on the desktop, on the machine of the file, the report opens in the browser', () => {
  assert.equal(opensInEditor({ external: true, uri: html, web: false, remoteName: undefined }), false);
});

test('in a browser window (code-server) or a remote window, the report opens in a tab', () => {
  assert.equal(opensInEditor({ external: true, uri: html, web: true, remoteName: undefined }), true);
  assert.equal(opensInEditor({ external: true, uri: html, web: false, remoteName: 'ssh-remote' }), true);
});

test('other documents the server shows are left to the language client', () => {
  const markdown = 'file:///w/.whetstone/explain-3.md';
  assert.equal(opensInEditor({ external: undefined, uri: markdown, web: true, remoteName: 'x' }), false);
  assert.equal(opensInEditor({ external: true, uri: 'https://example.com/a.html', web: true, remoteName: 'x' }), false);
  assert.equal(opensInEditor({ external: false, uri: html, web: true, remoteName: 'x' }), false);
});
