// A small stand-in for the `vscode` module: the API surface the extension's modules use, with
// every call to the user recorded and every answer scripted by the test. Loaded in place of
// `vscode` by ./load.mjs.
'use strict';

class Disposable {
  constructor(callback = () => {}) {
    this.callback = callback;
  }
  static from(...items) {
    return new Disposable(() => items.forEach((item) => item.dispose()));
  }
  dispose() {
    this.callback();
  }
}

class EventEmitter {
  constructor() {
    this.listeners = new Set();
    this.event = (listener, thisArg) => {
      const bound = thisArg ? listener.bind(thisArg) : listener;
      this.listeners.add(bound);
      return new Disposable(() => this.listeners.delete(bound));
    };
  }
  fire(value) {
    for (const listener of [...this.listeners]) listener(value);
  }
  dispose() {
    this.listeners.clear();
  }
}

class Uri {
  constructor(scheme, path) {
    this.scheme = scheme;
    this.path = path;
    this.fsPath = path;
  }
  static file(path) {
    return new Uri('file', path);
  }
  static parse(text) {
    const match = /^([a-z][a-z0-9+.-]*):(?:\/\/)?(.*)$/i.exec(text);
    return match ? new Uri(match[1], match[2].startsWith('/') ? match[2] : `/${match[2]}`) : new Uri('file', text);
  }
  static joinPath(base, ...parts) {
    return new Uri(base.scheme, [base.path, ...parts].join('/'));
  }
  toString() {
    return this.scheme === 'untitled' ? `untitled:${this.path}` : `${this.scheme}://${this.path}`;
  }
}

class Position {
  constructor(line, character) {
    this.line = line;
    this.character = character;
  }
}

class Range {
  constructor(a, b, c, d) {
    if (a instanceof Position) {
      this.start = a;
      this.end = b;
    } else {
      this.start = new Position(a, b);
      this.end = new Position(c, d);
    }
  }
}

class Selection extends Range {
  constructor(anchor, active) {
    super(anchor, active);
    this.anchor = anchor;
    this.active = active;
  }
}

class ThemeColor {
  constructor(id) {
    this.id = id;
  }
}

const StatusBarAlignment = { Left: 1, Right: 2 };
const OverviewRulerLane = { Left: 1, Center: 2, Right: 4, Full: 7 };
const DecorationRangeBehavior = { OpenOpen: 0, ClosedClosed: 1, OpenClosed: 2, ClosedOpen: 3 };
const TextEditorRevealType = { Default: 0, InCenter: 1, InCenterIfOutsideViewport: 2, AtTop: 3 };
const TextDocumentChangeReason = { Undo: 1, Redo: 2 };

// ---- the recorded world ------------------------------------------------------------------

const fake = {
  /** Every call that reached the user, in order: {kind, ...}. */
  calls: [],
  /** Scripted answers, taken in order; a function answer gets the call's arguments. */
  answers: { quickPick: [], inputBox: [], message: [] },
  config: {},
  commands: new Map(),
  executed: [],
  statusBarItems: [],
  decorationTypes: [],
  pasteProviders: [],
  openedDocuments: [],
  events: {
    activeEditor: new EventEmitter(),
    visibleEditors: new EventEmitter(),
    documentChange: new EventEmitter(),
    configuration: new EventEmitter(),
  },

  reset() {
    this.calls = [];
    this.answers = { quickPick: [], inputBox: [], message: [] };
    this.config = {};
    this.commands = new Map();
    this.executed = [];
    this.statusBarItems = [];
    this.decorationTypes = [];
    this.pasteProviders = [];
    this.openedDocuments = [];
    for (const emitter of Object.values(this.events)) emitter.dispose();
    window.activeTextEditor = undefined;
    window.visibleTextEditors = [];
  },

  /** A text editor on `uri` with `lineCount` lines and the cursor on `cursorLine`. */
  editor({ uri = 'file:///w/a.rs', lineCount = 100, cursorLine = 0, version = 1 } = {}) {
    const cursor = new Position(cursorLine, 0);
    const editor = {
      document: { uri: Uri.parse(uri), lineCount, version },
      selection: new Selection(cursor, cursor),
      decorations: new Map(),
      revealed: [],
      setDecorations(type, ranges) {
        this.decorations.set(type.key, ranges);
      },
      revealRange(range, kind) {
        this.revealed.push({ range, kind });
      },
    };
    return editor;
  },

  /** Makes `editor` the active and only visible one. */
  show(...editors) {
    window.activeTextEditor = editors[0];
    window.visibleTextEditors = editors;
  },
};

function answer(queue, kind, args) {
  fake.calls.push({ kind, args });
  const next = fake.answers[queue].shift();
  return Promise.resolve(typeof next === 'function' ? next(...args) : next);
}

const window = {
  activeTextEditor: undefined,
  visibleTextEditors: [],
  onDidChangeActiveTextEditor: fake.events.activeEditor.event,
  onDidChangeVisibleTextEditors: fake.events.visibleEditors.event,
  showQuickPick: (items, options) =>
    answer('quickPick', 'quickPick', [items, options]).then((picked) =>
      // A label stands for the item carrying it.
      typeof picked === 'string' ? items.find((item) => item.label === picked) : picked,
    ),
  showInputBox: (options) => answer('inputBox', 'inputBox', [options]),
  showInformationMessage: (message, ...items) => answer('message', 'information', [message, ...items]),
  showWarningMessage: (message, ...items) => answer('message', 'warning', [message, ...items]),
  showErrorMessage: (message, ...items) => answer('message', 'error', [message, ...items]),
  setStatusBarMessage: (message) => {
    fake.calls.push({ kind: 'statusMessage', args: [message] });
    return new Disposable();
  },
  createStatusBarItem(id, alignment, priority) {
    const item = {
      id,
      alignment,
      priority,
      text: '',
      tooltip: undefined,
      command: undefined,
      backgroundColor: undefined,
      visible: false,
      show() {
        this.visible = true;
      },
      hide() {
        this.visible = false;
      },
      dispose() {
        this.visible = false;
      },
    };
    fake.statusBarItems.push(item);
    return item;
  },
  createTextEditorDecorationType(options) {
    const type = { key: `decoration-${fake.decorationTypes.length}`, options, dispose() {} };
    fake.decorationTypes.push(type);
    return type;
  },
  showTextDocument: async (document, options) => {
    fake.calls.push({ kind: 'showTextDocument', args: [document, options] });
    return fake.editor({ uri: document.uri.toString() });
  },
  createOutputChannel: () => ({ info() {}, warn() {}, error() {}, appendLine() {}, dispose() {} }),
};

const workspace = {
  onDidChangeTextDocument: fake.events.documentChange.event,
  onDidChangeConfiguration: fake.events.configuration.event,
  getConfiguration: (section) => ({
    get: (key, fallback) => {
      const value = fake.config[`${section}.${key}`];
      return value === undefined ? fallback : value;
    },
  }),
  openTextDocument: async (options) => {
    const document = { uri: new Uri('untitled', `Untitled-${fake.openedDocuments.length + 1}`), ...options };
    fake.openedDocuments.push(document);
    return document;
  },
};

const commands = {
  registerCommand(id, callback) {
    if (fake.commands.has(id)) throw new Error(`command '${id}' already exists`);
    fake.commands.set(id, callback);
    return new Disposable(() => fake.commands.delete(id));
  },
  async executeCommand(id, ...args) {
    fake.executed.push({ id, args });
    const callback = fake.commands.get(id);
    return callback ? callback(...args) : undefined;
  },
};

const languages = {
  registerDocumentPasteEditProvider(selector, provider, metadata) {
    fake.pasteProviders.push({ selector, provider, metadata });
    return new Disposable();
  },
};

module.exports = {
  Disposable,
  EventEmitter,
  Uri,
  Position,
  Range,
  Selection,
  ThemeColor,
  StatusBarAlignment,
  OverviewRulerLane,
  DecorationRangeBehavior,
  TextEditorRevealType,
  TextDocumentChangeReason,
  window,
  workspace,
  commands,
  languages,
  /** Not part of VS Code's API: the test's handle on the fake. */
  __fake: fake,
};
