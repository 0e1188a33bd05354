// The extension inside a real VS Code (code-server 4.100, VS Code 1.100) in headless Chromium: what
// a person does and sees, step by step, in one window. The platform package is installed as a
// person installs it, with no whetstone on PATH and no setting, so the first steps run the server
// it carries; later ones name the binary the build made in whetstone.serverPath. The steps share
// that window and run in order; each is one test.
//
// Needs: `npm ci` in this folder (test.sh does it), the platform .vsix (WHETSTONE_VSIX, else the
// one test.sh wrote), the server binary (WHETSTONE_BIN), Debian's /usr/bin/chromium.

import { test, before, beforeEach, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { VsCode, extensionRoot, repoRoot, withoutWhetstone } from './harness.mjs';

const BINARY = process.env.WHETSTONE_BIN ?? path.join(repoRoot, 'target', 'debug', 'whetstone');
/** A platform package, `whetstone-<platform>-<version>.vsix`: it carries the server. */
const VSIX =
  process.env.WHETSTONE_VSIX ??
  path.join(extensionRoot, fs.readdirSync(extensionRoot).find((name) => /^whetstone-.+-.+\.vsix$/.test(name)) ?? 'missing.vsix');

const MAIN_RS = ['//! A small program.', '', 'fn main() {', '    println!("{}", answer());', '}', ''].join('\n');

/**
 * A 30-line function, as a person would copy it from somewhere else. Each one's lines are its
 * own: a paste of lines already in the file would be a copy of them, not a new paste.
 */
function helper(index, lines = 30) {
  const body = Array.from(
    { length: lines - 2 },
    (_, line) => `    let value_${line} = input.len() * ${index * 100 + line + 1};`,
  );
  return [`fn helper_${index}(input: &str) -> usize {`, ...body.slice(0, -1), '    value_0', '}', ''].join('\n');
}

/** Three short lines: under the size bar, a paste only by the extension's hint. */
const SMALL_PASTE = (name) => `let ${name}1 = 1;\nlet ${name}2 = 2;\nlet ${name}3 = 3;`;
const TITLE_30 = (index) => `⚑ 30 lines pasted · fn helper_${index}`;
const ACTIONS = ['Transient', 'Repeatable', 'Core', 'Explain', 'Not AI'];

let vscode;

before(async () => {
  assert.ok(fs.existsSync(BINARY), `no server binary at ${BINARY}`);
  assert.ok(fs.existsSync(VSIX), `no packaged extension at ${VSIX} (test.sh packages it)`);
  vscode = await VsCode.start({
    vsix: VSIX,
    files: { 'src/main.rs': MAIN_RS, 'Cargo.toml': '[package]\nname = "demo"\nversion = "0.1.0"\nedition = "2021"\n' },
  });
});

let activated = false;

// One step's failure must not leave a question open for the next one. Every step after the
// first needs the extension running; without it, or out of time, they fail at once.
beforeEach(async (context) => {
  if (context.name !== FIRST_STEP) {
    assert.ok(activated, 'the extension did not activate (see the first step)');
  }
  assert.ok(!vscode.outOfTime, 'the run\'s time budget is spent');
  await vscode.settle();
});

after(async () => {
  await vscode?.close();
});

const FIRST_STEP = 'with no whetstone on PATH, the extension activates on a Rust file and runs the server it carries';

test(FIRST_STEP, async () => {
  assert.equal(withoutWhetstone(vscode.env.PATH), vscode.env.PATH, 'VS Code runs with no whetstone on PATH');
  await vscode.openFile('src/main.rs');
  const status = await vscode.waitFor('the whetstone status bar item', async () => {
    const text = await vscode.statusText();
    return /100% yours/.test(text) && text;
  });
  assert.match(status, /100% yours/);
  // The share comes from the server; the one running is bin/whetstone of the installed package.
  const installed = fs.readdirSync(vscode.extensions).find((name) => name.startsWith('whetstone.whetstone-'));
  assert.ok(installed, `the extension is installed in ${vscode.extensions}`);
  assert.deepEqual(vscode.serverExecutables(), [path.join(vscode.extensions, installed, 'bin', 'whetstone')]);
  await vscode.screenshot('activated');
  activated = true;
});

test('typing a few lines at a person\'s pace makes no lens', async () => {
  const before = await vscode.waitFor('the typed share', () => vscode.typedLines());
  await vscode.goToLine(6);
  await vscode.page.keyboard.press('End');
  await vscode.typeSlowly('\nfn double(x: u32) -> u32 {\nx * 2\n');
  // The share in the status bar's tooltip has taken the new lines: the server has seen them.
  const after = await vscode.waitFor('the typed lines counted as yours', async () => {
    const share = await vscode.typedLines();
    return share && share[1] > before[1] && share;
  });
  assert.equal(after[0], after[1], `typed ${after[0]} of ${after[1]} lines`);
  assert.deepEqual(await vscode.lenses(), []);
  assert.deepEqual(await vscode.gutterMarks(), []);
});

test('a 30-line paste through the clipboard gets the title lens, five actions and gutter marks', async () => {
  await vscode.page.keyboard.press('Control+End');
  await vscode.page.keyboard.press('Enter');
  await vscode.paste(helper(0));
  const lenses = await vscode.waitFor('the lenses of the pasted chunk', async () => {
    const shown = await vscode.lenses();
    return shown.length >= 6 && shown;
  });
  assert.deepEqual(lenses, [TITLE_30(0), ...ACTIONS]);
  const marks = await vscode.waitFor('gutter marks', async () => {
    const shown = await vscode.gutterMarks();
    return shown.length > 0 && shown;
  });
  assert.ok(marks.every((mark) => mark === 'pasted'), `marks: ${marks}`);
  await vscode.screenshot('pasted');
});

test('clicking Core leaves the Explain lens', async () => {
  await vscode.clickLens('Core');
  const lenses = await vscode.waitFor('the core chunk\'s lenses', async () => {
    const shown = await vscode.lenses();
    return shown.length === 2 && shown;
  });
  assert.deepEqual(lenses, [`${TITLE_30(0)} · core, not yet explained`, 'Explain']);
});

let recordedScore;

test('Explain with a typed explanation records it, and the hover shows its score', async () => {
  await vscode.clickLens('Explain');
  const box = await vscode.inputBoxText();
  assert.match(box, /What it does, why this approach, and the trade-offs/);
  await vscode.answerInputBox(
    'helper_0 multiplies the input length by each factor and returns the first value; it is spelled out ' +
      'line by line because the generated code was simpler to check than a loop, instead of an iterator ' +
      'with a fold, at the cost of length and of value_1 to value_27 going unused.',
  );
  const verdict = await vscode.waitForNotification(/Explanation recorded: \d+\/100/);
  recordedScore = Number(/(\d+)\/100/.exec(verdict)[1]);
  await vscode.waitFor('no lens once the core chunk is explained', async () => (await vscode.lenses()).length === 0);
  await vscode.clearNotifications();
  await chunkFirstLine('fn helper_0');
  const hover = await vscode.hoverAtCursor(/Explanation \(/);
  assert.match(hover, /Class: core/);
  assert.match(hover, new RegExp(`Explanation \\((thorough|shallow), ${recordedScore}/100\\)`));
  await vscode.screenshot('explained-hover');
  await vscode.page.keyboard.press('Escape');
});

test('Not AI asks first, then removes the chunk', async () => {
  await pasteAtEnd(helper(1));
  await vscode.waitFor('the lenses of the second paste', async () => (await vscode.lenses())[0] === TITLE_30(1));
  await vscode.clickLens('Not AI');
  const question = await vscode.dialogText();
  assert.match(question, /as your own work, not AI\?/);
  await vscode.screenshot('not-ai-question');
  await vscode.clickDialogButton('Not AI');
  await vscode.waitFor('the dismissed chunk\'s lenses gone', async () => (await vscode.lenses()).length === 0);
  await vscode.waitFor('no gutter mark asking for attention', async () => !(await vscode.gutterMarks()).includes('pasted'));
});

test('a calibration session: the timer in the status bar, a paste is a breach in Problems, stop asks how it felt', async () => {
  await vscode.palette('Whetstone: Start calibration session');
  assert.match(await vscode.inputBoxText(), /What will you work on\?/);
  await vscode.answerInputBox('the parser');
  await vscode.pick('30 minutes');
  await vscode.waitForNotification(/Calibration session started/);
  const timer = await vscode.waitFor('the no-AI timer', async () => {
    const text = await vscode.statusText();
    return /No-AI \d+ min/.test(text) && text;
  });
  assert.match(timer, /No-AI 0 min/);
  await pasteAtEnd(helper(2));
  const rows = await vscode.waitFor('the breach in the Problems panel', async () => {
    const shown = await vscode.problems();
    return shown.some((row) => /during a calibration session/.test(row)) && shown;
  });
  assert.ok(
    rows.some((row) => /30 lines pasted during a calibration session \(no AI\): recorded as a breach/.test(row)),
    rows.join('\n'),
  );
  await vscode.screenshot('calibration-breach');
  await vscode.palette('View: Hide Panel');
  await vscode.palette('Whetstone: Stop calibration session');
  const feelings = await vscode.waitFor('the feel question', async () => {
    const shown = await vscode.quickPickRows();
    return shown.length >= 5 && shown;
  });
  assert.deepEqual(feelings.slice(0, 5).map((row) => row.trim()), ['1 struggled', '2 hard going', '3 workable', '4 good', '5 smooth']);
  await vscode.pick('4 good');
  await vscode.waitFor('the status bar back to the file share', async () => /yours/.test(await vscode.statusText()));
});

test('Show chunks lists the file\'s chunks and goes to the one picked', async () => {
  const line = await chunkFirstLine('fn helper_0');
  await vscode.page.keyboard.press('Control+End');
  await vscode.palette('Whetstone: Show chunks in this file');
  const rows = await vscode.waitFor('the chunk list', async () => {
    const shown = await vscode.quickPickRows();
    return shown.length >= 2 && shown;
  });
  assert.equal(rows.length, 2, rows.join('\n'));
  assert.match(rows[0], /30 lines pasted[\s\S]*fn helper_2[\s\S]*not classified/i);
  assert.match(rows[1], /30 lines pasted[\s\S]*fn helper_0/);
  await vscode.page.locator('.quick-input-widget .quick-input-list .monaco-list-row').nth(1).click();
  await vscode.waitFor(`the cursor on line ${line}`, async () =>
    (await vscode.page.locator('.part.statusbar').innerText()).includes(`Ln ${line},`),
  );
});

test('the HTML report opens, and shows the calibration session', async () => {
  await vscode.palette('Whetstone: Open report');
  await vscode.pick('HTML');
  await vscode.waitFor('the report tab', async () => /Whetstone report/.test(await vscode.activeTab()));
  const page = await vscode.waitFor('the report page', async () => {
    // The page is in a webview: a frame of its own, inside the workbench's.
    for (const frame of vscode.page.frames().filter((frame) => frame !== vscode.page.mainFrame())) {
      const text = await frame.evaluate(() => document.body?.innerText ?? '').catch(() => '');
      if (/Whetstone/.test(text) && /calibration/i.test(text)) {
        return text;
      }
    }
    return undefined;
  });
  assert.match(page, /the parser/);
  await vscode.screenshot('report');
  await vscode.palette('View: Close Editor');
});

test('Explain without text opens the explanation document; saving the answers records them', async () => {
  await vscode.openFile('src/main.rs');
  await pasteAtEnd(helper(3));
  await vscode.waitFor('the lenses of the paste', async () => (await vscode.lenses())[0] === TITLE_30(3));
  await vscode.clickLens('Explain');
  await vscode.answerInputBox('');
  await vscode.waitFor('the explanation document', async () => /chunk-\d+\.md/.test(await vscode.activeTab()));
  const document = await vscode.editorText();
  assert.match(document, /# Explain `fn helper_3`/);
  assert.match(document, /## What does it do\?/);
  assert.doesNotMatch(document, /value_0/, 'the document never holds the code');
  await vscode.page.keyboard.press('Control+End');
  await vscode.page.keyboard.insertText(
    '\nhelper_3 sums up the input length scaled by each factor, written out because a loop would hide which ' +
      'factor failed; it trades length for clarity instead of a fold.\n',
  );
  await vscode.clearNotifications();
  await vscode.focusEditor();
  await vscode.page.keyboard.press('Control+S');
  await vscode.waitForNotification(/Explanation recorded: \d+\/100/);
  await vscode.screenshot('explanation-document');
  await vscode.palette('View: Close Editor');
  await vscode.openFile('src/main.rs');
  await chunkFirstLine('fn helper_3');
  const hover = await vscode.hoverAtCursor(/Explanation \(/);
  assert.match(hover, /helper_3 sums up the input length/);
  await vscode.page.keyboard.press('Escape');
});

test('a setting change takes effect without a restart: whetstone.pasteHint off', async () => {
  await vscode.openFile('src/main.rs');
  // With the default hint, a 3-line paste (under the size bar) is flagged as a paste.
  await pasteAtEnd(SMALL_PASTE('a'));
  const small = /^⚑ 3 lines pasted/;
  await vscode.waitFor('the lens of the small paste', async () => (await vscode.lenses()).some((lens) => small.test(lens)));
  await vscode.clickLens('Transient', small);
  await vscode.waitFor('its lens gone', async () => !(await vscode.lenses()).some((lens) => small.test(lens)));
  await vscode.editUserSettings({ 'whetstone.pasteHint': 'off' });
  await vscode.openFile('src/main.rs');
  // The status bar shows main.rs again (settings.json, a file too, had it meanwhile).
  const before = await vscode.settledTypedLines();
  await pasteAtEnd(SMALL_PASTE('b'));
  const after = await vscode.waitFor('the pasted lines counted', async () => {
    const share = await vscode.typedLines();
    return share && share[1] >= before[1] + 3 && share;
  });
  assert.equal(after[0] - before[0], after[1] - before[1], 'the small paste counts as typed');
  assert.ok(!(await vscode.lenses()).some((lens) => small.test(lens)));
});

test('whetstone.serverPath in the user\'s settings is read: a change asks to restart, a wrong path says so, a right one wins over the bundled server', async () => {
  const wrong = '/nonexistent/whetstone';
  await vscode.clearNotifications();
  await vscode.editUserSettings({ 'whetstone.serverPath': wrong, 'whetstone.pasteHint': 'off' });
  await vscode.clickNotificationButton(/restart the language server to use the new setting\?/, 'Restart');
  const error = await vscode.waitForNotification(/whetstone\.serverPath is set to/);
  assert.match(error, /whetstone\.serverPath is set to \/nonexistent\/whetstone, which is not an executable file/);
  await vscode.screenshot('wrong-server-path');
  await vscode.clearNotifications();
  await vscode.editUserSettings({ 'whetstone.serverPath': BINARY, 'whetstone.pasteHint': 'off' });
  await vscode.clickNotificationButton(/restart the language server to use the new setting\?/, 'Restart');
  await vscode.openFile('src/main.rs');
  await vscode.waitFor('the server back: the status bar share', () => vscode.typedLines());
  const named = fs.realpathSync(BINARY);
  await vscode.waitFor('the named binary running instead of the bundled one', () => {
    const running = vscode.serverExecutables();
    return running.length === 1 && running[0] === named;
  });
});

test('after a window reload (server path now in the machine settings), chunks come back with class and explanation', async () => {
  await vscode.openFile('src/main.rs');
  await vscode.page.keyboard.press('Control+S');
  await vscode.waitFor('main.rs saved', async () =>
    !(await vscode.page.locator('.editor-group-container.active .tabs-container .tab.active.dirty').count()),
  );
  // Read at the reload: the binary is now named only in the remote machine's settings.
  fs.writeFileSync(vscode.userSettingsFile, JSON.stringify({ 'workbench.startupEditor': 'none', 'whetstone.pasteHint': 'off' }));
  fs.mkdirSync(path.dirname(vscode.machineSettingsFile), { recursive: true });
  fs.writeFileSync(vscode.machineSettingsFile, JSON.stringify({ 'whetstone.serverPath': BINARY }));
  await vscode.reload();
  await vscode.openFile('src/main.rs');
  await vscode.waitFor('the status bar share', () => vscode.typedLines());
  await chunkFirstLine('fn helper_0');
  const hover = await vscode.hoverAtCursor(/Explanation \(/);
  assert.match(hover, /Class: core/);
  assert.match(hover, new RegExp(`Explanation \\((thorough|shallow), ${recordedScore}/100\\)`));
  await vscode.page.keyboard.press('Escape');
  await chunkFirstLine('fn helper_2');
  const lenses = await vscode.waitFor('the unjudged chunk\'s lenses', async () => {
    const shown = await vscode.lenses();
    return shown.includes(TITLE_30(2)) && shown;
  });
  assert.deepEqual(lenses.slice(lenses.indexOf(TITLE_30(2)), lenses.indexOf(TITLE_30(2)) + 6), [TITLE_30(2), ...ACTIONS]);
  await vscode.screenshot('after-reload');
});

/** Pastes `text` on a new line at the end of the active editor. */
async function pasteAtEnd(text) {
  await vscode.focusEditor();
  await vscode.page.keyboard.press('Control+End');
  await vscode.page.keyboard.press('Enter');
  await vscode.paste(text);
}

/** The 1-based line where `text` first shows in the active editor; the cursor goes there. */
async function chunkFirstLine(text) {
  return vscode.findLine(text);
}
