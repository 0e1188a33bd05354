// Runs a real VS Code for the tests: code-server (VS Code's own workbench, served on loopback) with
// the packaged extension installed in a fresh extensions folder and no whetstone on PATH, opened
// in Debian's headless Chromium through playwright-core. Everything the run writes (user data, extensions, the
// workspace, whetstone's store, HOME) lives in one temporary folder, removed at the end.
//
// The helpers act the way a person does (the command palette, clicks on lenses, the clipboard,
// keystrokes) and read what a person sees (the DOM of the workbench). They wait for conditions by
// polling, never for fixed times, so a loaded machine only makes them slower.

import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const here = path.dirname(fileURLToPath(import.meta.url));
export const extensionRoot = path.resolve(here, '..', '..');
export const repoRoot = path.resolve(extensionRoot, '..', '..');
/** Screenshots of the key moments, for a person to look at after the run. */
export const outputDir = path.join(repoRoot, 'tests', 'output', 'vscode');
const codeServerBin = path.join(here, 'node_modules', 'code-server', 'out', 'node', 'entry.js');

/** How long one step may wait for what it expects (a loaded 2-core machine is slow, not stuck). */
export const STEP_TIMEOUT_MS = 30_000;
/**
 * The whole run's budget from the start of code-server: a broken extension fails every step by
 * timing out, and those waits must not add up to many minutes. A passing run takes 70 to 80 s.
 */
export const SUITE_BUDGET_MS = 240_000;

const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** The settings every run starts with: a quiet workbench, nothing fetched from the network. */
const QUIET_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'update.mode': 'none',
  'telemetry.telemetryLevel': 'off',
  'security.workspace.trust.enabled': false,
  'git.enabled': false,
  'editor.minimap.enabled': false,
  'chat.disableAIFeatures': true,
};

export class VsCode {
  /**
   * Starts code-server and opens the workbench on a fresh workspace holding `files`.
   * `userSettings` and `machineSettings` go to the User and Machine settings files.
   */
  static async start({ vsix, files = {}, userSettings = {}, machineSettings = undefined }) {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'whetstone-vscode-'));
    const vscode = new VsCode(root);
    try {
      await vscode.#start({ vsix, files, userSettings, machineSettings });
    } catch (error) {
      await vscode.close();
      throw error;
    }
    return vscode;
  }

  constructor(root) {
    this.root = root;
    this.userData = path.join(root, 'user-data');
    this.extensions = path.join(root, 'extensions');
    this.workspace = path.join(root, 'workspace');
    this.store = path.join(root, 'whetstone-home');
    this.home = path.join(root, 'home');
    this.serverLog = '';
    this.shots = 0;
    this.deadline = Date.now() + SUITE_BUDGET_MS;
    fs.rmSync(outputDir, { recursive: true, force: true });
  }

  get userSettingsFile() {
    return path.join(this.userData, 'User', 'settings.json');
  }

  get machineSettingsFile() {
    return path.join(this.userData, 'Machine', 'settings.json');
  }

  async #start({ vsix, files, userSettings, machineSettings }) {
    for (const folder of [this.userData, this.extensions, this.workspace, this.store, this.home]) {
      fs.mkdirSync(folder, { recursive: true });
    }
    for (const [name, text] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(this.workspace, name)), { recursive: true });
      fs.writeFileSync(path.join(this.workspace, name), text);
    }
    writeJson(this.userSettingsFile, { ...QUIET_SETTINGS, ...userSettings });
    if (machineSettings) {
      writeJson(this.machineSettingsFile, machineSettings);
    }
    // Nothing from the machine's own configuration: HOME, XDG folders and code-server's config
    // file all point into the run's folder.
    this.env = {
      ...process.env,
      // The extension must run the server it carries: no whetstone on PATH to fall back on.
      PATH: withoutWhetstone(process.env.PATH ?? ''),
      HOME: this.home,
      XDG_CONFIG_HOME: path.join(this.home, '.config'),
      XDG_DATA_HOME: path.join(this.home, '.local', 'share'),
      XDG_CACHE_HOME: path.join(this.home, '.cache'),
      WHETSTONE_HOME: this.store,
    };
    const common = [
      '--config', path.join(this.root, 'code-server.yaml'),
      '--user-data-dir', this.userData,
      '--extensions-dir', this.extensions,
    ];
    fs.writeFileSync(path.join(this.root, 'code-server.yaml'), '');
    const install = spawnSync(process.execPath, [codeServerBin, ...common, '--install-extension', vsix], {
      env: this.env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    if (install.status !== 0 || !/successfully installed/.test(install.stdout)) {
      throw new Error(`code-server --install-extension failed:\n${install.stdout}\n${install.stderr}`);
    }
    this.server = spawn(
      process.execPath,
      [
        codeServerBin,
        ...common,
        '--auth', 'none',
        '--bind-addr', '127.0.0.1:0',
        '--disable-telemetry',
        '--disable-update-check',
        '--disable-workspace-trust',
        '--disable-getting-started-override',
        this.workspace,
      ],
      { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    this.port = await new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`code-server did not start:\n${this.serverLog}`)), 60_000);
      const read = (chunk) => {
        this.serverLog += chunk.toString();
        const listening = /HTTP server listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(this.serverLog);
        if (listening) {
          clearTimeout(timer);
          resolve(Number(listening[1]));
        }
      };
      this.server.stdout.on('data', read);
      this.server.stderr.on('data', read);
      this.server.on('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`code-server exited (${code}):\n${this.serverLog}`));
      });
    });
    this.url = `http://127.0.0.1:${this.port}`;
    this.browser = await chromium.launch({
      executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      // launch() starts Chromium with a fresh, empty profile folder of its own each time (it
      // refuses a --user-data-dir argument), removed when the browser closes.
      args: CHROMIUM_FLAGS,
    });
    this.context = await this.browser.newContext({ viewport: { width: 1400, height: 900 } });
    await this.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: this.url });
    this.page = await this.context.newPage();
    this.page.setDefaultTimeout(STEP_TIMEOUT_MS);
    await this.page.goto(`${this.url}/?folder=${encodeURIComponent(this.workspace)}`);
    await this.waitForWorkbench();
  }

  /** The workbench is up and its extensions have started. */
  async waitForWorkbench() {
    await this.page.waitForSelector('.monaco-workbench .part.statusbar', { timeout: 90_000 });
  }

  async close() {
    await this.browser?.close().catch(() => {});
    if (this.server && this.server.exitCode === null) {
      const exited = new Promise((resolve) => this.server.once('exit', resolve));
      this.server.kill('SIGTERM');
      await Promise.race([exited, sleep(5000)]);
      if (this.server.exitCode === null) {
        this.server.kill('SIGKILL');
      }
    }
    if (!process.env.WHETSTONE_KEEP_VSCODE_RUN) {
      fs.rmSync(this.root, { recursive: true, force: true });
    }
  }

  // ---- waiting -------------------------------------------------------------------------------

  /**
   * Polls `probe` until it returns a truthy value, and returns that value. On timeout, throws
   * with `what` and the last value seen, after a screenshot of the moment.
   */
  async waitFor(what, probe, timeout = STEP_TIMEOUT_MS) {
    timeout = Math.max(0, Math.min(timeout, this.deadline - Date.now()));
    const deadline = Date.now() + timeout;
    let last;
    for (;;) {
      let value;
      try {
        value = await probe();
        last = value;
      } catch (error) {
        last = `(${error.message.split('\n')[0]})`;
      }
      if (value) {
        return value;
      }
      if (Date.now() > deadline) {
        const shot = await this.screenshot(`timeout-${what}`).catch(() => '(no screenshot)');
        throw new Error(
          `timed out after ${timeout / 1000} s waiting for ${what}; last seen: ${JSON.stringify(last)}; screenshot: ${shot}`,
        );
      }
      await sleep(150);
    }
  }

  async screenshot(name) {
    fs.mkdirSync(outputDir, { recursive: true });
    this.shots += 1;
    const file = path.join(outputDir, `${String(this.shots).padStart(2, '0')}-${slug(name)}.png`);
    await this.page.screenshot({ path: file });
    return file;
  }

  // ---- the workbench ---------------------------------------------------------------------------

  /** Runs a command from the palette by its title, e.g. `Whetstone: Open report`. */
  async palette(title) {
    await this.page.keyboard.press('Escape');
    await this.page.keyboard.press('F1');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill(`>${title}`);
    const row = this.page
      .locator('.quick-input-widget .quick-input-list .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: exactly(title) }) });
    await row.first().waitFor({ state: 'visible' });
    await row.first().click();
  }

  /** The visible quick pick's rows (label and description). */
  async quickPickRows() {
    return this.page.locator('.quick-input-widget:visible .quick-input-list .monaco-list-row').allInnerTexts();
  }

  /** Waits for a quick pick titled (or placeholdered) `heading`, then picks the row `label`. */
  async pick(label) {
    const row = this.page
      .locator('.quick-input-widget .quick-input-list .monaco-list-row')
      .filter({ has: this.page.locator('.label-name', { hasText: exactly(label) }) });
    await row.first().waitFor({ state: 'visible' });
    await row.first().click();
  }

  /** The open input box's title and prompt, once it shows. */
  async inputBoxText() {
    const widget = this.page.locator('.quick-input-widget');
    await widget.locator('.quick-input-box input').waitFor({ state: 'visible' });
    return widget.innerText();
  }

  /** Types `text` into the open input box and accepts it. */
  async answerInputBox(text) {
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    const asked = await input.getAttribute('aria-label');
    await input.fill(text);
    await this.page.keyboard.press('Enter');
    // Gone, or already the next question (the same widget asks it).
    await this.waitFor('the input box answered', async () =>
      !(await input.isVisible()) || (await input.getAttribute('aria-label')) !== asked,
    );
  }

  /**
   * The executables of the whetstone language servers this run's VS Code has running: processes
   * `<binary> lsp` whose environment names this run's store (read from /proc, Linux only).
   */
  serverExecutables() {
    const found = [];
    for (const pid of fs.readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
      try {
        const argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
        const environ = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
        if (argv[1] === 'lsp' && environ.includes(`WHETSTONE_HOME=${this.store}`)) {
          found.push(fs.readlinkSync(`/proc/${pid}/exe`));
        }
      } catch {
        // Gone meanwhile, or another user's.
      }
    }
    return found;
  }

  /** Whether the run's time budget is spent (later steps then fail at once). */
  get outOfTime() {
    return Date.now() > this.deadline;
  }

  /** Closes whatever a failed step may have left open: quick input, hover, dialog. */
  async settle() {
    for (let i = 0; i < 2; i++) {
      await this.page.keyboard.press('Escape');
    }
  }

  /** Notification toasts' texts. */
  async notifications() {
    return this.page.locator('.notifications-toasts .notification-toast').allInnerTexts();
  }

  /** Waits for a toast matching `pattern` and returns its text. */
  async waitForNotification(pattern, timeout) {
    return this.waitFor(
      `a notification matching ${pattern}`,
      async () => (await this.notifications()).find((text) => pattern.test(text)),
      timeout,
    );
  }

  /** Clicks `button` on the toast matching `pattern`. */
  async clickNotificationButton(pattern, button) {
    await this.waitForNotification(pattern);
    const toast = this.page
      .locator('.notifications-toasts .notification-toast')
      .filter({ hasText: pattern });
    await toast.first().locator('.monaco-button', { hasText: exactly(button) }).first().click();
  }

  async clearNotifications() {
    await this.palette('Notifications: Clear All Notifications');
  }

  /** A modal dialog's message, once one shows. */
  async dialogText() {
    const dialog = this.page.locator('.monaco-dialog-box');
    await dialog.waitFor({ state: 'visible' });
    return dialog.innerText();
  }

  async clickDialogButton(label) {
    await this.page.locator('.monaco-dialog-box .monaco-button', { hasText: exactly(label) }).first().click();
    await this.page.locator('.monaco-dialog-box').waitFor({ state: 'hidden' });
  }

  /** The whetstone status bar item's text ('' while it is hidden). */
  async statusText() {
    const item = this.page.locator('.part.statusbar [id="whetstone.whetstone.whetstone.status"]');
    if ((await item.count()) === 0 || !(await item.isVisible())) {
      return '';
    }
    return (await item.innerText()).trim();
  }

  /** The item's tooltip, as the workbench gives it to screen readers (its aria-label). */
  async statusTooltip() {
    const item = this.page.locator('.part.statusbar [id="whetstone.whetstone.whetstone.status"]');
    return (await item.getAttribute('aria-label', { timeout: 2000 })) ?? '';
  }

  /** From the status bar's tooltip: [typed lines, all lines] of the active file. */
  async typedLines() {
    const share = /You typed (\d+) of this file's (\d+) lines/.exec(await this.statusTooltip());
    return share ? [Number(share[1]), Number(share[2])] : undefined;
  }

  /** Opens a workspace file with Quick Open and waits for its editor. */
  async openFile(relativePath) {
    await this.page.keyboard.press('Escape');
    await this.page.keyboard.press('Control+P');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill(relativePath);
    const name = path.basename(relativePath);
    await this.page
      .locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: name })
      .first()
      .waitFor({ state: 'visible' });
    await this.page.keyboard.press('Enter');
    await this.waitFor(`the editor of ${relativePath}`, async () =>
      (await this.page.locator('.tabs-container .tab.active').innerText()).includes(name),
    );
    await this.focusEditor();
  }

  async focusEditor() {
    await this.page.locator('.editor-group-container.active .monaco-editor .view-lines').first().click();
  }

  /** Moves the cursor to `line` (1-based) with Go to Line. */
  async goToLine(line) {
    await this.page.keyboard.press('Escape');
    await this.page.keyboard.press('Control+G');
    const input = this.page.locator('.quick-input-widget .quick-input-box input');
    await input.waitFor({ state: 'visible' });
    await input.fill(`:${line}`);
    await this.page.keyboard.press('Enter');
    await input.waitFor({ state: 'hidden' });
  }

  /**
   * Finds `text` in the active editor with the Find widget (from the top), leaves the cursor on
   * it and returns its 1-based line, as the status bar shows it.
   */
  async findLine(text) {
    await this.focusEditor();
    await this.page.keyboard.press('Control+Home');
    await this.page.keyboard.press('Control+F');
    const input = this.page.locator('.editor-group-container.active .find-widget textarea').first();
    await input.waitFor({ state: 'visible' });
    await input.fill(text);
    await this.waitFor(`"${text}" found`, async () =>
      /\bof [1-9]/.test(await this.page.locator('.editor-group-container.active .find-widget .matchesCount').innerText()),
    );
    await this.page.keyboard.press('Enter');
    await this.page.keyboard.press('Escape');
    const position = await this.waitFor('the cursor position', async () =>
      /Ln (\d+), Col \d+ \(\d+ selected\)/.exec(await this.page.locator('.part.statusbar').innerText()),
    );
    return Number(position[1]);
  }

  /**
   * The typed share once it has held still for a second: the status bar follows edits after a
   * short debounce, so a value read right after one may be the one before it.
   */
  async settledTypedLines() {
    let seen;
    let since = 0;
    return this.waitFor('a settled typed share', async () => {
      const share = `${await this.typedLines()}`;
      if (share !== seen) {
        seen = share;
        since = Date.now();
        return undefined;
      }
      return share !== 'undefined' && Date.now() - since >= 1000 && share.split(',').map(Number);
    });
  }

  /** Puts `text` on the system clipboard and pastes it with Ctrl+V, as a person pastes. */
  async paste(text) {
    await this.page.evaluate((value) => navigator.clipboard.writeText(value), text);
    await this.page.keyboard.press('Control+V');
  }

  /** Types `text` key by key at a person's pace (`delay` ms between keys). */
  async typeSlowly(text, delay = 90) {
    await this.page.keyboard.type(text, { delay });
  }

  /** The code lenses of the active editor, in order: each lens's text. */
  async lenses() {
    const editor = this.page.locator('.editor-group-container.active .monaco-editor').first();
    const texts = await editor.locator('.codelens-decoration > a, .codelens-decoration > span').allInnerTexts();
    // Lenses on one line are drawn with ` | ` between them.
    return texts.map((text) => text.trim()).filter((text) => text !== '|' && text !== '');
  }

  /**
   * Clicks the lens `title`; with `line`, on the lens line whose title matches it (lenses of
   * several chunks may be in view).
   */
  async clickLens(title, line = undefined) {
    const editor = this.page.locator('.editor-group-container.active .monaco-editor').first();
    let decoration = editor.locator('.codelens-decoration');
    if (line) {
      decoration = decoration.filter({ hasText: line });
    }
    await decoration.locator('a', { hasText: exactly(title) }).first().click();
  }

  /** Gutter icons whetstone drew in the active editor: the mark's file name, one per line shown. */
  async gutterMarks() {
    return this.page.evaluate(() => {
      const editor = document.querySelector('.editor-group-container.active .monaco-editor');
      if (!editor) {
        return [];
      }
      const marks = [];
      // Monaco draws glyph margin decorations as `.cgmr` elements (in 1.100 in their own layer).
      for (const element of editor.querySelectorAll('.margin .cgmr')) {
        const image = getComputedStyle(element).backgroundImage;
        const icon = /([a-z-]+)\.svg/.exec(decodeURIComponent(image));
        if (icon) {
          marks.push(icon[1]);
        }
      }
      return marks;
    });
  }

  /** Shows the hover at the cursor (Show or Focus Hover) and returns its text. */
  async hoverAtCursor(pattern) {
    return this.waitFor(`a hover matching ${pattern}`, async () => {
      await this.palette('Show or Focus Hover');
      const hover = this.page.locator('.monaco-hover:visible .hover-contents');
      await hover.first().waitFor({ state: 'visible', timeout: 3000 });
      const texts = await hover.allInnerTexts();
      const text = texts.join('\n');
      return pattern.test(text) ? text : undefined;
    });
  }

  /** The rows of the Problems panel, opened if needed. */
  async problems() {
    const panel = this.page.locator('.markers-panel');
    if (!(await panel.isVisible().catch(() => false))) {
      await this.page.keyboard.press('Escape');
      await this.page.keyboard.press('Control+Shift+M');
      await panel.waitFor({ state: 'visible' });
    }
    return panel.locator('.monaco-list-row').allInnerTexts();
  }

  /** The active editor's text, as the editor model holds it. */
  async editorText() {
    return this.page.evaluate(() => {
      const lines = document.querySelectorAll('.editor-group-container.active .monaco-editor .view-line');
      // Monaco draws spaces as no-break spaces.
      return [...lines].map((line) => line.textContent.replace(/\u00a0/g, ' ')).join('\n');
    });
  }

  /** The title of the active editor tab. */
  async activeTab() {
    return this.page.locator('.editor-group-container.active .tabs-container .tab.active').innerText();
  }

  /**
   * Replaces the user's settings the way a person edits settings.json: Preferences: Open User
   * Settings (JSON), select all, paste, save.
   */
  async editUserSettings(settings) {
    await this.palette('Preferences: Open User Settings (JSON)');
    await this.waitFor('the settings.json editor', async () => /settings\.json/.test(await this.activeTab()));
    await this.focusEditor();
    await this.page.keyboard.press('Control+A');
    const wanted = { ...QUIET_SETTINGS, ...settings };
    await this.paste(JSON.stringify(wanted, null, 2));
    await this.page.keyboard.press('Control+S');
    // The settings editor may have saved by itself already; either way, wait for the file.
    await this.waitFor('settings.json saved', async () => {
      try {
        return JSON.stringify(JSON.parse(fs.readFileSync(this.userSettingsFile, 'utf8'))) === JSON.stringify(wanted);
      } catch {
        return false;
      }
    });
    await this.palette('View: Close Editor');
  }

  /** Reloads the window (Developer: Reload Window) and waits for the workbench again. */
  async reload() {
    await this.palette('Developer: Reload Window');
    await this.page.waitForEvent('load', { timeout: 60_000 });
    await this.waitForWorkbench();
  }
}

export function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** `PATH` without the folders that hold a `whetstone`. */
export function withoutWhetstone(pathVariable) {
  return pathVariable
    .split(path.delimiter)
    .filter((folder) => folder !== '' && !fs.existsSync(path.join(folder, 'whetstone')))
    .join(path.delimiter);
}

function writeJson(file, value) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);
}

function slug(text) {
  return text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 60);
}

/** A regular expression matching exactly `text`, surrounding whitespace allowed. */
export function exactly(text) {
  return new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s*$`);
}
