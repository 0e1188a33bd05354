-- Small pieces of user interface: messages, a scratch buffer, a floating window, readable JSON.

local M = {}

local api = vim.api

-- What vim.empty_dict() (an empty JSON object) carries.
local empty_dict_metatable = getmetatable(vim.empty_dict())

function M.info(message)
  vim.notify('whetstone: ' .. message, vim.log.levels.INFO)
end

function M.warn(message)
  vim.notify('whetstone: ' .. message, vim.log.levels.WARN)
end

function M.error(message)
  vim.notify('whetstone: ' .. message, vim.log.levels.ERROR)
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
