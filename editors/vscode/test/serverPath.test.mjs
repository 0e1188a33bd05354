import { test } from 'node:test';
import assert from 'node:assert/strict';
import { load } from './support/load.mjs';

const { resolveServerPath, NOT_FOUND } = load('serverPath');

const lookup = (overrides) => ({
  setting: '',
  env: { PATH: '/usr/local/bin:/usr/bin', HOME: '/home/me' },
  platform: 'linux',
  isExecutable: () => false,
  ...overrides,
});

test('the setting wins over PATH', () => {
  const found = resolveServerPath(
    lookup({ setting: '/opt/whetstone/bin/whetstone', isExecutable: (file) => file.startsWith('/opt/') || file === '/usr/bin/whetstone' }),
  );
  assert.deepEqual(found, { ok: true, path: '/opt/whetstone/bin/whetstone', from: 'setting' });
});

test('a setting with ~ is taken from the home folder', () => {
  const found = resolveServerPath(lookup({ setting: '~/.cargo/bin/whetstone', isExecutable: (file) => file === '/home/me/.cargo/bin/whetstone' }));
  assert.equal(found.ok && found.path, '/home/me/.cargo/bin/whetstone');
});

test('a setting that points nowhere is an error naming it, not a silent fallback', () => {
  const found = resolveServerPath(lookup({ setting: '/nowhere/whetstone', isExecutable: (file) => file === '/usr/bin/whetstone' }));
  assert.equal(found.ok, false);
  assert.match(found.message, /whetstone\.serverPath is set to \/nowhere\/whetstone/);
});

test('without a setting, the first whetstone on PATH', () => {
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
  // The empty entry (the current folder) is skipped, and the search stops at the first hit.
  assert.deepEqual(seen, ['/usr/local/bin/whetstone', '/usr/bin/whetstone']);
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
    'whetstone was not found: install it with `cargo install --path server` from the whetstone repository, or set whetstone.serverPath',
  );
});
