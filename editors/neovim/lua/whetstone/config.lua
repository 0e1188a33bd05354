-- The plugin's options: defaults, what setup() was given, and the server command they resolve to.

local M = {}

M.defaults = {
  -- The whole command line; wins over server_path when given.
  cmd = nil,
  -- Path of the `whetstone` binary; else `whetstone` on PATH.
  server_path = nil,
  -- The `whetstone` configuration section, sent as `initializationOptions.whetstone` and with
  -- `workspace/didChangeConfiguration` (thresholds, nudges, storePath, reminders).
  settings = {},
  -- Show the server's code lenses (the nudges) above chunks.
  codelens = true,
  -- Keep the caches require("whetstone").statusline() reads.
  statusline = true,
  -- Tell the server which changes are pastes (the `whetstone/editOrigin` hint): "lines" for
  -- pastes of two or more non-blank lines (a pasted name, path or URL stays yours, as in VS
  -- Code), "all" for every paste, "off" (or false) for none; true means "lines".
  paste_hint = 'lines',
  -- Milliseconds between polls of the calibration session for the statusline.
  calibration_poll_ms = 30000,
}

-- The options in force: the defaults until setup() runs.
M.options = vim.deepcopy(M.defaults)

function M.set(user_options)
  vim.validate('options', user_options, 'table', true)
  M.options = vim.tbl_deep_extend('force', vim.deepcopy(M.defaults), user_options or {})
  -- A list is replaced, not merged element by element.
  if user_options and user_options.cmd then
    M.options.cmd = user_options.cmd
  end
  return M.options
end

M.install_hint = 'install it with `cargo install --path server` from the whetstone repository, '
  .. 'or give its path: require("whetstone").setup({ server_path = "/path/to/whetstone" })'

--- The command that starts the server, or nil and a short sentence saying what is missing
--- (M.install_hint says what to do about it).
---@return string[]|nil, string|nil
function M.server_cmd(options)
  options = options or M.options
  if options.cmd then
    if type(options.cmd) ~= 'table' or #options.cmd == 0 then
      return nil, '`cmd` must be a list such as { "whetstone", "lsp" }'
    end
    return options.cmd
  end
  if options.server_path then
    local path = vim.fn.expand(options.server_path)
    if vim.fn.executable(path) == 1 then
      return { path, 'lsp' }
    end
    return nil, ('server_path %s is not an executable file'):format(path)
  end
  local found = vim.fn.exepath('whetstone')
  if found ~= '' then
    return { found, 'lsp' }
  end
  return nil, '`whetstone` is not on PATH'
end

--- initializationOptions and settings share one shape: { whetstone = section }.
function M.server_settings(options)
  options = options or M.options
  local section = vim.deepcopy(options.settings or {})
  -- An empty Lua table is sent as a JSON array, which the server refuses ("expected an
  -- object"): `setup({})` must send an empty object.
  if next(section) == nil then
    section = vim.empty_dict()
  end
  return { whetstone = section }
end

return M
