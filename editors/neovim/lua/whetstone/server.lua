-- Talking to the running whetstone server: finding its client, calling its commands, and reading
-- a file's ownership map (`whetstone.chunks`).

local ui = require('whetstone.ui')

local M = {}

M.name = 'whetstone'

--- JSON null arrives as vim.NIL: true only for a real value.
function M.present(value)
  return value ~= nil and value ~= vim.NIL
end

--- The whetstone client attached to `bufnr` (0: current buffer).
---@return vim.lsp.Client|nil
function M.client(bufnr)
  return vim.lsp.get_clients({ name = M.name, bufnr = bufnr or 0 })[1]
end

--- A whetstone client for commands that are not about a file (calibration, report): the current
--- buffer's, else any (a session belongs to the user, not to a window).
---@return vim.lsp.Client|nil
function M.any_client()
  return M.client(0) or vim.lsp.get_clients({ name = M.name })[1]
end

function M.not_running_message(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr or 0)
  if name == '' then
    return 'this buffer has no file, so whetstone does not follow it'
  end
  return 'not attached to this buffer (see :checkhealth whetstone)'
end

--- Sends `workspace/executeCommand`; `callback(err, result)` runs in the main loop.
---@param client vim.lsp.Client
---@param command string e.g. "whetstone.classify"
---@param argument table the command's one JSON object
---@param bufnr integer|nil the buffer it is about (its pending edits are sent first)
---@param callback fun(err: lsp.ResponseError|nil, result: any)|nil
function M.execute(client, command, argument, bufnr, callback)
  -- An empty Lua table would be sent as [], and the server wants an object.
  if next(argument) == nil then
    argument = vim.empty_dict()
  end
  local params = { command = command, arguments = { argument } }
  client:request('workspace/executeCommand', params, function(err, result)
    if callback then
      callback(err, result)
    elseif err then
      ui.error(err.message)
    end
  end, bufnr)
end

--- Reads the ownership map of `bufnr`: `callback(map)`, or `callback(nil, problem)`.
function M.chunks(bufnr, callback)
  bufnr = bufnr == 0 and vim.api.nvim_get_current_buf() or bufnr
  local client = M.client(bufnr)
  if not client then
    callback(nil, M.not_running_message(bufnr))
    return
  end
  local argument = { uri = vim.uri_from_bufnr(bufnr) }
  M.execute(client, 'whetstone.chunks', argument, bufnr, function(err, map)
    if err then
      callback(nil, err.message)
    else
      callback(map)
    end
  end)
end

--- The chunk covering zero-based `row`, if any (`end_line` is exclusive).
function M.chunk_at(map, row)
  for _, chunk in ipairs(map.chunks or {}) do
    if chunk.start_line <= row and row < chunk.end_line then
      return chunk
    end
  end
  return nil
end

--- Lines by origin, and the share typed by the user (nil for an empty or unknown file).
function M.ownership(map)
  local counts = map and map.counts or {}
  local total = 0
  for _, count in pairs(counts) do
    total = total + count
  end
  if not map or map.known == false or total == 0 then
    return nil
  end
  return { typed = counts.typed or 0, total = total, counts = counts }
end

--- "line 12" or "lines 12–41": a chunk's lines as the server words them (core::text::line_range).
function M.line_range(chunk)
  local first = chunk.start_line + 1
  local last = math.max(chunk.end_line, first)
  if last == first then
    return ('line %d'):format(first)
  end
  return ('lines %d–%d'):format(first, last)
end

--- "lines 12–41 · 30 lines pasted · fn checksum · core, explained"
function M.describe_chunk(chunk)
  local parts = {
    M.line_range(chunk),
    ('%d %s %s'):format(chunk.lines, chunk.lines == 1 and 'line' or 'lines', chunk.origin),
  }
  if chunk.items and #chunk.items > 0 then
    table.insert(parts, table.concat(chunk.items, ', '))
  end
  local verdict = M.present(chunk.class) and chunk.class or 'unclassified'
  if M.present(chunk.explanation) then
    local explanation = chunk.explanation
    local depth = explanation.shallow and ' (shallow)' or ''
    verdict = ('%s, explained %d/100%s'):format(verdict, explanation.score, depth)
  elseif chunk.class == 'core' then
    verdict = verdict .. ', not yet explained'
  end
  table.insert(parts, verdict)
  return table.concat(parts, ' · ')
end

return M
