// Where the `whetstone` binary is: the `whetstone.serverPath` setting, else `whetstone` on PATH.
// The file system and the environment come in as arguments so the search is tested without
// touching either.

import * as path from 'node:path';

export const NOT_FOUND =
  'whetstone was not found: install it with `cargo install --path server` from the whetstone repository, or set whetstone.serverPath';

export interface Lookup {
  /** The `whetstone.serverPath` setting ('' or undefined: not set). */
  setting: string | undefined;
  env: Record<string, string | undefined>;
  platform: string;
  /** Whether `file` exists, is a file and may be executed. */
  isExecutable(file: string): boolean;
}

export type Resolved = { ok: true; path: string; from: 'setting' | 'PATH' } | { ok: false; message: string };

export function resolveServerPath(lookup: Lookup): Resolved {
  const setting = lookup.setting?.trim();
  if (setting) {
    const file = expandHome(setting, lookup.env);
    if (lookup.isExecutable(file)) {
      return { ok: true, path: file, from: 'setting' };
    }
    // A wrong setting is reported as such: silently falling back to PATH would run a binary
    // the user did not choose.
    return {
      ok: false,
      message: `whetstone.serverPath is set to ${setting}, which is not an executable file; fix the setting or clear it to use whetstone from PATH`,
    };
  }
  const windows = lookup.platform === 'win32';
  const names = windows ? ['whetstone.exe', 'whetstone'] : ['whetstone'];
  const pathVariable = lookup.env.PATH ?? lookup.env.Path ?? '';
  const separator = windows ? ';' : ':';
  for (const folder of pathVariable.split(separator)) {
    // An empty PATH entry means the current folder, which an editor's is not: skip it.
    if (folder === '') {
      continue;
    }
    for (const name of names) {
      const file = windows ? path.win32.join(folder, name) : path.posix.join(folder, name);
      if (lookup.isExecutable(file)) {
        return { ok: true, path: file, from: 'PATH' };
      }
    }
  }
  return { ok: false, message: NOT_FOUND };
}

function expandHome(file: string, env: Record<string, string | undefined>): string {
  const home = env.HOME ?? env.USERPROFILE;
  if (home && (file === '~' || file.startsWith('~/'))) {
    return home + file.slice(1);
  }
  return file;
}
