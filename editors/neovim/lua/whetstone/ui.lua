-- Small pieces of user interface: messages, a scratch buffer, a floating window, readable JSON.

local M = {}

local api = vim.api

-- What vim.empty_dict() (an empty JSON object) carries.
local empty_dict_metatable = getmetatable(vim.empty_dict())

--- Whether vim.notify is still Neovim's own, which echoes the message in the command line.
local function notify_echoes()
  local info = debug.getinfo(vim.notify, 'S')
  return info ~= nil and info.source:find('vim/_editor%.lua$') ~= nil
end

--- `text` on one line of at most `width` screen cells: runs of white space (line breaks too)
--- become one space, and a longer text is cut with "…".
function M.one_line(text, width)
  text = vim.trim((text:gsub('%s+', ' ')))
  if vim.fn.strdisplaywidth(text) <= width then
    return text
  end
  local kept = vim.fn.strcharpart(text, 0, math.max(width - 1, 0))
  -- Wide characters take two cells: drop characters until the text and "…" fit.
  while kept ~= '' and vim.fn.strdisplaywidth(kept) > width - 1 do
    kept = vim.fn.strcharpart(kept, 0, vim.fn.strchars(kept) - 1)
  end
  return vim.trim(kept) .. '…'
end

--- Every message of the plugin goes through here, to vim.notify (which users route to their
--- notifier). Neovim's own vim.notify echoes it, and an echo wider than the command line (or on
--- several lines) stops Neovim at "Press ENTER": for that one the text is fitted to one line.
function M.notify(message, level)
  if vim.in_fast_event() then
    vim.schedule(function()
      M.notify(message, level)
    end)
    return
  end
  message = 'whetstone: ' .. message
  if notify_echoes() then
    message = M.one_line(message, math.max(vim.v.echospace, 20))
  end
  vim.notify(message, level)
end

function M.info(message)
  M.notify(message, vim.log.levels.INFO)
end

function M.warn(message)
  M.notify(message, vim.log.levels.WARN)
end

function M.error(message)
  M.notify(message, vim.log.levels.ERROR)
end

-- LSP MessageType -> vim.log.levels (Log and Debug are for logs, not for the user's eyes).
local message_levels = {
  [1] = vim.log.levels.ERROR,
  [2] = vim.log.levels.WARN,
  [3] = vim.log.levels.INFO,
  [4] = vim.log.levels.DEBUG,
  [5] = vim.log.levels.DEBUG,
}

--- Handler of window/showMessage: the server's messages (the reminder, a session's start and
--- summary, a breach, a store problem) go through vim.notify like the plugin's own. Neovim's
--- handler echoes the whole text, and one wider than the command line ends at "Press ENTER".
function M.show_message(_, params)
  if type(params) == 'table' and type(params.message) == 'string' then
    M.notify(params.message, message_levels[params.type] or vim.log.levels.INFO)
  end
end

--- Shows `lines` in a scratch buffer named `name` (reused when open), in a split.
---@return integer bufnr
function M.scratch(name, lines, filetype)
  local bufnr = vim.fn.bufnr(name)
  if bufnr == -1 then
    bufnr = api.nvim_create_buf(true, true)
    api.nvim_buf_set_name(bufnr, name)
  end
  local window = vim.fn.bufwinid(bufnr)
  if window == -1 then
    vim.cmd('botright split')
    api.nvim_win_set_buf(0, bufnr)
  else
    api.nvim_set_current_win(window)
  end
  vim.bo[bufnr].modifiable = true
  api.nvim_buf_set_lines(bufnr, 0, -1, false, lines)
  vim.bo[bufnr].buftype = 'nofile'
  vim.bo[bufnr].bufhidden = 'hide'
  vim.bo[bufnr].swapfile = false
  vim.bo[bufnr].modifiable = false
  vim.bo[bufnr].filetype = filetype
  return bufnr
end

--- Shows markdown `lines` in a floating window by the cursor (closed when the cursor moves).
---@return integer bufnr, integer window
function M.float(lines)
  return vim.lsp.util.open_floating_preview(lines, 'markdown', {
    border = 'rounded',
    focus_id = 'whetstone',
    max_width = 100,
  })
end

--- JSON with one key or item a line and keys sorted, for reading (0.11's vim.json.encode writes
--- one long line).
function M.pretty_json(value, indent)
  indent = indent or ''
  local inner = indent .. '  '
  if value == vim.NIL or value == nil then
    return 'null'
  end
  local kind = type(value)
  if kind ~= 'table' then
    return vim.json.encode(value)
  end
  local is_list = vim.islist(value) and getmetatable(value) ~= empty_dict_metatable
  if next(value) == nil then
    return is_list and '[]' or '{}'
  end
  local parts = {}
  if is_list then
    for _, item in ipairs(value) do
      table.insert(parts, inner .. M.pretty_json(item, inner))
    end
    return '[\n' .. table.concat(parts, ',\n') .. '\n' .. indent .. ']'
  end
  local keys = vim.tbl_keys(value)
  table.sort(keys)
  for _, key in ipairs(keys) do
    local name = vim.json.encode(tostring(key))
    table.insert(parts, ('%s%s: %s'):format(inner, name, M.pretty_json(value[key], inner)))
  end
  return '{\n' .. table.concat(parts, ',\n') .. '\n' .. indent .. '}'
end

return M
