-- The paste hint: vim.paste is wrapped so that the server hears `whetstone/editOrigin`
-- {origin = "paste"} just before the change a paste makes, and flags it even when it is small:
-- by default a paste of two or more non-blank lines, so that a pasted name stays the user's.
--
-- How the version is predicted. Neovim's LSP client numbers a document's versions with the
-- buffer's b:changedtick: every on_lines event stores the tick in vim.lsp.util.buf_versions, and
-- a didChange carries the tick current when it is sent (changes are debounced 150 ms and sent
-- together). A paste that is all in one call (phase -1) in Normal, Insert or Replace mode is one
-- buffer change (one nvim_put or nvim_buf_set_lines), so its change has version tick + 1.
--
-- Sending the hint (Client:notify) first sends any edits still waiting in the debounce, so the
-- paste's change does not share a notification with what was typed just before. If more is
-- typed within the debounce after the paste, the notification's version is higher, the server
-- drops the hint, and the paste is judged on its size alone, as without the plugin.
--
-- Where one call is not one change — a streamed paste (phases 1, 2, 3) or Visual mode (delete,
-- then put) — the hint goes without a version, and the server applies it to the document's next
-- change within 2 s. If the paste changed nothing after all, a stale hint is sent in its place
-- (a version already past), which the next change discards, so no keystroke is taken for a paste.

local server = require('whetstone.server')

local M = {}

local api = vim.api

local original = nil
-- Which pastes are hinted: "lines" (two or more non-blank lines) or "all".
local hinted_pastes = 'lines'
-- Whether the hint of the streamed paste under way has been sent.
local stream_hinted = false
-- Non-blank lines of the streamed paste under way so far.
local stream_lines = 0

local function non_blank(lines)
  local count = 0
  for _, line in ipairs(lines) do
    if line:find('%S') then
      count = count + 1
    end
  end
  return count
end

--- One buffer change per call in these modes (see above).
local function single_change_mode(mode)
  return mode:find('^n') or mode:find('^i') or (mode:find('^R') and not mode:find('^Rv'))
end

local function send(client, bufnr, version)
  client:notify('whetstone/editOrigin', {
    uri = vim.uri_from_bufnr(bufnr),
    version = version,
    origin = 'paste',
  })
end

--- The wrapper installed as vim.paste.
local function paste(lines, phase)
  local first = phase == -1 or phase == 1
  if first then
    stream_hinted = false
    stream_lines = 0
  end
  stream_lines = stream_lines + non_blank(lines)
  -- A pasted name, path or URL is yours like anything typed: by default only pastes of two or
  -- more non-blank lines are hinted (the server's size bar still judges the rest).
  local wanted = stream_lines >= (hinted_pastes == 'all' and 1 or 2)
  local bufnr = api.nvim_get_current_buf()
  local client = (not stream_hinted) and server.client(bufnr) or nil
  local hinted_at_tick = nil
  if
    client
    and vim.fn.getcmdtype() == '' -- a paste into the command line is not an edit
    and vim.bo[bufnr].modifiable
    and wanted
  then
    local tick = api.nvim_buf_get_changedtick(bufnr)
    local version = nil
    if phase == -1 and single_change_mode(api.nvim_get_mode().mode) then
      version = tick + 1
    end
    send(client, bufnr, version)
    stream_hinted = true
    hinted_at_tick = tick
  end
  local ok, result = pcall(original, lines, phase)
  if
    hinted_at_tick
    and api.nvim_buf_is_valid(bufnr)
    and api.nvim_buf_get_changedtick(bufnr) == hinted_at_tick
  then
    -- Nothing changed (nothing to paste here, or an error): neutralize the hint.
    send(client, bufnr, hinted_at_tick)
    stream_hinted = false
  end
  if not ok then
    error(result, 0)
  end
  return result
end

--- Wraps vim.paste once; later calls only keep the wrapper in place.
function M.install(which)
  hinted_pastes = which or 'lines'
  if original then
    return
  end
  original = vim.paste
  vim.paste = paste
end

--- Puts Neovim's vim.paste back (unless someone wrapped it after us).
function M.uninstall()
  if original and vim.paste == paste then
    vim.paste = original
    original = nil
  end
end

return M
