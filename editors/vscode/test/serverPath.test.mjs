import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './support/load.mjs';

const { resolveServerPath, NOT_FOUND } = load('serverPath');

const lookup = (overrides) => ({
  setting: '',
  extensionPath: '/ext/whetstone',
  env: { PATH: '/usr/local/bin:/usr/bin', HOME: '/home/me' },
  platform: 'linux',
  isExecutable: () => false,
  ...overrides,
});

const BUNDLED = '/ext/whetstone/bin/whetstone';

test('the setting wins over the bundled binary and PATH', () => {
  const found = resolveServerPath(
    lookup({
      setting: '/opt/whetstone/bin/whetstone',
      isExecutable: (file) => file.startsWith('/opt/') || file === BUNDLED || file === '/usr/bin/whetstone',
    }),
  );
  assert.deepEqual(found, { ok: true, path: '/opt/whetstone/bin/whetstone', from: 'setting' });
});

test('without a setting, the bundled binary wins over PATH', () => {
  const seen = [];
  const found = resolveServerPath(
    lookup({
      isExecutable: (file) => {
        seen.push(file);
        return file === BUNDLED || file === '/usr/bin/whetstone';
      },
    }),
  );
  assert.deepEqual(found, { ok: true, path: BUNDLED, from: 'bundled' });
  assert.deepEqual(seen, [BUNDLED], 'PATH is not searched once the bundled binary is found');
});

test('a blank setting counts as no setting: the bundled binary', () => {
  const found = resolveServerPath(lookup({ setting: '  ', isExecutable: (file) => file === BUNDLED }));
  assert.deepEqual(found, { ok: true, path: BUNDLED, from: 'bundled' });
});

test('on Windows, the bundled binary is bin\\whetstone.exe', () => {
  const found = resolveServerPath(
    lookup({
      platform: 'win32',
      extensionPath: 'C:\\ext\\whetstone',
      env: { Path: 'C:\\cargo\\bin' },
      isExecutable: (file) => file === 'C:\\ext\\whetstone\\bin\\whetstone.exe' || file === 'C:\\cargo\\bin\\whetstone.exe',
    }),
  );
  assert.deepEqual(found, { ok: true, path: 'C:\\ext\\whetstone\\bin\\whetstone.exe', from: 'bundled' });
});

test('a setting with ~ is taken from the home folder', () => {
  const found = resolveServerPath(lookup({ setting: '~/.cargo/bin/whetstone', isExecutable: (file) => file === '/home/me/.cargo/bin/whetstone' }));
  assert.equal(found.ok && found.path, '/home/me/.cargo/bin/whetstone');
});

test('a setting that points nowhere is an error naming it, not a silent fallback', () => {
  const found = resolveServerPath(
    lookup({ setting: '/nowhere/whetstone', isExecutable: (file) => file === BUNDLED || file === '/usr/bin/whetstone' }),
  );
  assert.equal(found.ok, false);
  assert.match(found.message, /whetstone\.serverPath is set to \/nowhere\/whetstone/);
});

test('without a setting or a bundled binary (the universal package), the first whetstone on PATH', () => {
  const seen = [];
  const found = resolveServerPath(
    lookup({
      env: { PATH: ':/usr/local/bin:/usr/bin:/bin' },
      isExecutable: (file) => {
        seen.push(file);
        return file === '/usr/bin/whetstone' || file === '/bin/whetstone';
      },
    }),
  );
  assert.deepEqual(found, { ok: true, path: '/usr/bin/whetstone', from: 'PATH' });
  // The bundled binary is looked for first; the empty entry (the current folder) is skipped, and
  // the search stops at the first hit.
  assert.deepEqual(seen, [BUNDLED, '/usr/local/bin/whetstone', '/usr/bin/whetstone']);
});

test('on Windows, whetstone.exe along a ;-separated Path', () => {
  const found = resolveServerPath(
    lookup({ platform: 'win32', env: { Path: 'C:\\tools;C:\\cargo\\bin' }, isExecutable: (file) => file === 'C:\\cargo\\bin\\whetstone.exe' }),
  );
  assert.equal(found.ok && found.path, 'C:\\cargo\\bin\\whetstone.exe');
});

test('nowhere: the error says how to install it', () => {
  const found = resolveServerPath(lookup({}));
  assert.deepEqual(found, { ok: false, message: NOT_FOUND });
  assert.equal(
    NOT_FOUND,
    'whetstone was not found: no server came with this package of the extension and none is on PATH. Install it with `cargo install --locked --path server` from the whetstone repository, or set whetstone.serverPath',
  );
});
