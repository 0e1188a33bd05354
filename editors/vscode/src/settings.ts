// The `whetstone` configuration section as the server wants it. VS Code keeps client-only
// settings (the binary's path, tracing, gutter marks, the paste hint) in the same section; the
// server reports every key it does not know, so those are left out here.

/** Keys of the `whetstone` section that only the extension reads. */
export const CLIENT_ONLY_KEYS: readonly string[] = ['serverPath', 'trace', 'gutterMarks', 'pasteHint'];

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** The section minus client-only keys, with VS Code's spellings turned into the server's. */
export function serverSettings(section: unknown): Record<string, Json> {
  const plain = toJson(section);
  if (plain === null || typeof plain !== 'object' || Array.isArray(plain)) {
    return {};
  }
  const result: Record<string, Json> = {};
  for (const [key, value] of Object.entries(plain)) {
    if (CLIENT_ONLY_KEYS.includes(key)) {
      continue;
    }
    // An empty folder means "the default": the server takes an absent key for that.
    if (key === 'storePath' && (value === null || (typeof value === 'string' && value.trim() === ''))) {
      continue;
    }
    if (key === 'nudges' && value !== null && typeof value === 'object' && !Array.isArray(value)) {
      result[key] = nudges(value);
      continue;
    }
    result[key] = value;
  }
  return result;
}

/** The settings UI offers "auto" / "on" / "off"; the server takes "auto", true or false. */
function nudges(value: { [key: string]: Json }): { [key: string]: Json } {
  const copy = { ...value };
  if (copy.diagnostics === 'on') {
    copy.diagnostics = true;
  } else if (copy.diagnostics === 'off') {
    copy.diagnostics = false;
  }
  return copy;
}

/** A deep plain copy: VS Code's configuration object carries methods and frozen proxies. */
function toJson(value: unknown): Json {
  if (value === undefined) {
    return null;
  }
  return JSON.parse(JSON.stringify(value)) as Json;
}

export type PasteHintMode = 'lines' | 'all' | 'off';

export function pasteHintMode(value: unknown): PasteHintMode {
  return value === 'all' || value === 'off' ? value : 'lines';
}
