// Loads the compiled extension modules (out/*.js) with `vscode` resolved to the fake next to
// this file. Node's CommonJS loader resolves every `require` through Module._resolveFilename;
// answering 'vscode' there is the smallest way to stand in for a module that exists only
// inside VS Code.

import Module, { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const fakePath = require.resolve('./fake-vscode.cjs');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
  return request === 'vscode' ? fakePath : resolve.call(this, request, ...rest);
};

export const vscode = require('./fake-vscode.cjs');
export const fake = vscode.__fake;

/** The compiled module `out/<name>.js`. */
export function load(name) {
  return require(`../../out/${name}.js`);
}

/** A clock the test advances by hand. */
export function manualClock() {
  let now = 0;
  let next = 1;
  const timers = new Map();
  const clock = {
    setTimeout: (callback, ms) => {
      const id = next++;
      timers.set(id, { at: now + ms, callback, every: 0 });
      return id;
    },
    clearTimeout: (id) => timers.delete(id),
    setInterval: (callback, ms) => {
      const id = next++;
      timers.set(id, { at: now + ms, callback, every: ms });
      return id;
    },
    clearInterval: (id) => timers.delete(id),
    /** Moves time on by `ms`, running what falls due, in order. */
    advance(ms) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()].filter(([, timer]) => timer.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        const [id, timer] = due;
        now = timer.at;
        if (timer.every > 0) timer.at += timer.every;
        else timers.delete(id);
        timer.callback();
      }
      now = end;
    },
    pending: () => timers.size,
  };
  return clock;
}

/** A stand-in server: answers commands from `handlers` and records every call. */
export function fakeServer(handlers = {}) {
  const calls = [];
  return {
    calls,
    execute: async (command, argument) => {
      calls.push({ command, argument });
      if (!(command in handlers)) throw new Error(`unexpected command ${command}`);
      const handler = handlers[command];
      return typeof handler === 'function' ? handler(argument) : handler;
    },
  };
}

/** Lets pending promise callbacks run. */
export const settle = () => new Promise((resolve) => setImmediate(resolve));

/** A `whetstone.chunks` reply. */
export function chunksReply(chunks = [], counts = { typed: 80 }, uri = 'file:///w/a.rs') {
  return { uri, known: true, counts, chunks };
}

/** A chunk as `whetstone.chunks` returns it. */
export function chunk(overrides = {}) {
  const base = {
    id: 7,
    origin: 'pasted',
    start_line: 10,
    end_line: 50,
    lines: 40,
    items: ['fn parse_header'],
    class: null,
    explanation: null,
    needs_attention: true,
    created_ms: 0,
    reworked_chars: 0,
  };
  const merged = { ...base, ...overrides };
  merged.lines = merged.end_line - merged.start_line;
  return merged;
}
