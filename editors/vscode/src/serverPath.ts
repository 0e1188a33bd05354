// Where the `whetstone` binary is: the `whetstone.serverPath` setting, else the binary a platform
// package carries in its `bin/` folder, else `whetstone` on PATH. The file system and the
// environment come in as arguments so the search is tested without touching either.

import * as path from 'node:path';

export const NOT_FOUND =
  'whetstone was not found: no server came with this package of the extension and none is on PATH. Install it with `cargo install --locked --path server` from the whetstone repository, or set whetstone.serverPath';

export interface Lookup {
  /** The `whetstone.serverPath` setting ('' or undefined: not set). */
  setting: string | undefined;
  /** The folder the extension is installed in (its `bin/` holds the bundled binary, if any). */
  extensionPath: string;
  env: Record<string, string | undefined>;
  platform: string;
  /** Whether `file` exists, is a file and may be executed. */
  isExecutable(file: string): boolean;
}

export type Resolved =
  | { ok: true; path: string; from: 'setting' | 'bundled' | 'PATH' }
  | { ok: false; message: string };

export function resolveServerPath(lookup: Lookup): Resolved {
  const windows = lookup.platform === 'win32';
  const join = windows ? path.win32.join : path.posix.join;
  const setting = lookup.setting?.trim();
  if (setting) {
    const file = expandHome(setting, lookup.env);
    if (lookup.isExecutable(file)) {
      return { ok: true, path: file, from: 'setting' };
    }
    // A wrong setting is reported as such: silently falling back to another binary would run
    // one the user did not choose.
    return {
      ok: false,
      message: `whetstone.serverPath is set to ${setting}, which is not an executable file; fix the setting or clear it to use the bundled server or whetstone from PATH`,
    };
  }
  // A platform package (`vsce package --target linux-x64` and the like) carries the binary built
  // for that platform; the universal package carries none and falls through to PATH.
  const bundled = join(lookup.extensionPath, 'bin', windows ? 'whetstone.exe' : 'whetstone');
  if (lookup.isExecutable(bundled)) {
    return { ok: true, path: bundled, from: 'bundled' };
  }
  const names = windows ? ['whetstone.exe', 'whetstone'] : ['whetstone'];
  const pathVariable = lookup.env.PATH ?? lookup.env.Path ?? '';
  const separator = windows ? ';' : ':';
  for (const folder of pathVariable.split(separator)) {
    // An empty PATH entry means the current folder, which an editor's is not: skip it.
    if (folder === '') {
      continue;
    }
    for (const name of names) {
      const file = join(folder, name);
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
