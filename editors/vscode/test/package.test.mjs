// The manifest against the code: every palette command contributed and registered, settings the
// server knows, an engine the pinned API types match, the fields vsce asks for; and the .vsix
// files test.sh packaged hold what the extension needs at run time and nothing else.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { builtinModules } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';
import { load } from './support/load.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const manifest = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
const lock = JSON.parse(fs.readFileSync(path.join(root, 'package-lock.json'), 'utf8'));
const { PaletteCommand } = load('commands');
const { CLIENT_ONLY_KEYS } = load('settings');

test('every palette command is contributed, titled "Whetstone: …", and no server command is', () => {
  const contributed = manifest.contributes.commands;
  assert.deepEqual(contributed.map((entry) => entry.command).sort(), Object.values(PaletteCommand).sort());
  assert.ok(contributed.every((entry) => entry.category === 'Whetstone' && entry.title.length > 0));
});

test('settings: client-only keys are the ones the extension strips, the rest are the server\'s', () => {
  const keys = Object.keys(manifest.contributes.configuration.properties).map((key) => key.replace(/^whetstone\./, ''));
  const clientOnly = keys.filter((key) => CLIENT_ONLY_KEYS.includes(key.split('.')[0]));
  assert.deepEqual(clientOnly.sort(), ['gutterMarks', 'pasteHint', 'serverPath', 'trace.server']);
  // The keys settings.rs parses (server/src/lsp/settings.rs).
  const server = new Set([
    'detection.minLines', 'detection.minChars', 'detection.burstCharsPerSecond', 'detection.burstMinDurationMs',
    'detection.mergeWindowMs', 'nudges.codeLens', 'nudges.diagnostics', 'nudges.diagnosticSeverity', 'nudges.hover',
    'reminders.calibrationDays', 'storePath',
  ]);
  for (const key of keys.filter((key) => !clientOnly.includes(key))) {
    assert.ok(server.has(key), `whetstone.${key} is not a server setting`);
  }
});

test('the engine, the API types and the language client agree', () => {
  const engine = manifest.engines.vscode.replace(/^\^/, '');
  const types = lock.packages['node_modules/@types/vscode'].version;
  assert.equal(types, engine, '@types/vscode is the engine\'s version: no API newer than the engine is used');
  const client = lock.packages['node_modules/vscode-languageclient'];
  const needs = client.engines.vscode.replace(/^\^/, '').split('.').map(Number);
  const have = engine.split('.').map(Number);
  assert.ok(have[1] >= needs[1], `vscode-languageclient ${client.version} needs VS Code ${client.engines.vscode}`);
  assert.equal(manifest.main, './out/extension.js');
  assert.deepEqual(manifest.activationEvents, ['onStartupFinished']);
});

test('the manifest names an icon, a repository and a licence, so vsce needs no flag to allow them missing', () => {
  const icon = fs.readFileSync(path.join(root, manifest.icon));
  assert.equal(icon.toString('latin1', 1, 4), 'PNG');
  // The IHDR chunk: width and height, at least the 128 pixels the Marketplace asks for.
  assert.ok(icon.readUInt32BE(16) >= 128 && icon.readUInt32BE(20) >= 128, 'the icon is 128x128 or larger');
  assert.equal(manifest.repository.directory, 'editors/vscode');
  assert.ok(fs.existsSync(path.join(root, 'LICENSE')));
  assert.equal(manifest.license, '(MIT OR Apache-2.0)');
  assert.doesNotMatch(manifest.scripts.package, /--allow-missing-repository|--skip-license/);
});

test('the bundle needs nothing at run time but VS Code and node\'s own modules', (t) => {
  const bundle = path.join(root, 'out', 'extension.js');
  if (!fs.existsSync(bundle)) {
    t.skip('no out/extension.js: `npm run build` writes it');
    return;
  }
  const required = new Set([...fs.readFileSync(bundle, 'utf8').matchAll(/require\("([^"]+)"\)/g)].map((match) => match[1]));
  const outside = [...required].filter((name) => name !== 'vscode' && !builtinModules.includes(name.replace(/^node:/, '')));
  assert.deepEqual(outside, [], 'these would be missing from the .vsix, which carries no node_modules');
  assert.ok(required.has('vscode'));
});

/** What every .vsix holds, and nothing else besides a platform package's server binary. */
const PACKAGED = [
  '[Content_Types].xml',
  'extension.vsixmanifest',
  'extension/LICENSE.txt',
  'extension/media/external-settled.svg',
  'extension/media/external.svg',
  'extension/media/generated-settled.svg',
  'extension/media/generated.svg',
  'extension/media/icon.png',
  'extension/media/pasted-settled.svg',
  'extension/media/pasted.svg',
  'extension/media/screenshot.png',
  'extension/out/extension.js',
  'extension/package.json',
  'extension/readme.md',
];

test('the universal .vsix holds the bundle, the icons, the readme and the licence, and no server', (t) => {
  const vsix = path.join(root, `${manifest.name}-${manifest.version}.vsix`);
  if (!fs.existsSync(vsix)) {
    t.skip('no universal .vsix: test.sh packages it before the tests');
    return;
  }
  const entries = zipEntries(fs.readFileSync(vsix));
  assert.deepEqual([...entries.keys()].sort(), PACKAGED);
  const packaged = JSON.parse(entries.get('extension/package.json').text());
  assert.equal(packaged.version, manifest.version);
  assert.doesNotMatch(entries.get('extension.vsixmanifest').text(), /TargetPlatform/);
});

test('a platform .vsix carries the server for its platform, executable', (t) => {
  const platforms = fs.readdirSync(root).filter((name) => name.startsWith(`${manifest.name}-`) && name.endsWith(`-${manifest.version}.vsix`));
  const vsix = platforms.find((name) => name !== `${manifest.name}-${manifest.version}.vsix`);
  if (!vsix) {
    t.skip('no platform .vsix: test.sh packages one (package.sh) before the tests');
    return;
  }
  const platform = vsix.slice(manifest.name.length + 1, -`-${manifest.version}.vsix`.length);
  const binary = platform.startsWith('win32-') ? 'extension/bin/whetstone.exe' : 'extension/bin/whetstone';
  const entries = zipEntries(fs.readFileSync(vsix));
  assert.deepEqual([...entries.keys()].sort(), [...PACKAGED, binary].sort());
  assert.match(entries.get('extension.vsixmanifest').text(), new RegExp(`TargetPlatform="${platform}"`));
  // VS Code keeps the mode the zip records when it unpacks the extension: without the execute
  // bits the server could not be started.
  if (!platform.startsWith('win32-')) {
    assert.equal(entries.get(binary).mode & 0o111, 0o111, `${binary} is not executable in the zip`);
  }
});

/**
 * The entries of a zip file, each with its unix mode (from the central directory's external
 * attributes) and a function reading its text (stored or deflated).
 */
function zipEntries(buffer) {
  const end = buffer.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
  assert.ok(end >= 0, 'not a zip file');
  const count = buffer.readUInt16LE(end + 10);
  let offset = buffer.readUInt32LE(end + 16);
  const entries = new Map();
  for (let i = 0; i < count; i++) {
    assert.equal(buffer.readUInt32LE(offset), 0x02014b50, 'central directory entry');
    const method = buffer.readUInt16LE(offset + 10);
    const compressed = buffer.readUInt32LE(offset + 20);
    const nameLength = buffer.readUInt16LE(offset + 28);
    const extraLength = buffer.readUInt16LE(offset + 30);
    const commentLength = buffer.readUInt16LE(offset + 32);
    const mode = buffer.readUInt32LE(offset + 38) >>> 16;
    const local = buffer.readUInt32LE(offset + 42);
    const name = buffer.toString('utf8', offset + 46, offset + 46 + nameLength);
    entries.set(name, {
      mode,
      text: () => {
        const start = local + 30 + buffer.readUInt16LE(local + 26) + buffer.readUInt16LE(local + 28);
        const data = buffer.subarray(start, start + compressed);
        return (method === 8 ? inflateRawSync(data) : data).toString('utf8');
      },
    });
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

test('the settings users put in their user or remote (machine) settings are read from both', () => {
  // In a remote or browser window (code-server, SSH), VS Code applies only application, window,
  // resource and language-overridable settings from the user's settings file, and machine ones
  // only from the remote machine's: a `machine` or `machine-overridable` whetstone.serverPath in
  // the user's settings was silently ignored there. `window` is read from both.
  const properties = manifest.contributes.configuration.properties;
  for (const key of ['whetstone.serverPath', 'whetstone.storePath']) {
    assert.equal(properties[key].scope, 'window', `${key} must be readable from user and machine settings`);
  }
  for (const [key, entry] of Object.entries(properties)) {
    assert.ok(!['machine', 'machine-overridable'].includes(entry.scope), `${key} has scope ${entry.scope}`);
  }
  // A workspace may then set them too, so an untrusted one must not.
  const restricted = manifest.capabilities.untrustedWorkspaces.restrictedConfigurations;
  assert.deepEqual([...restricted].sort(), ['whetstone.serverPath', 'whetstone.storePath']);
});
