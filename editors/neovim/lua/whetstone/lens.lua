-- Code lenses, the nudges above each chunk: kept fresh on Neovim 0.11 and 0.12.
--
-- 0.12 has vim.lsp.codelens.enable(), which asks for lenses as the buffer changes and answers the
-- server's workspace/codeLens/refresh itself. 0.11 has neither: lenses are fetched by
-- vim.lsp.codelens.refresh() when someone calls it, and the refresh request is not handled (nor
-- advertised). The server sends that request whenever a chunk appears, moves or is judged, so on
-- 0.11 this module advertises it, answers it, and also refreshes on the usual editor events.

local M = {}

local api = vim.api
local codelens = vim.lsp.codelens

-- 0.12's API, where present.
local native = type(codelens.enable) == 'function'

-- Buffers whose whetstone lenses this module keeps fresh (0.11 only): bufnr -> client id.
local watched = {}

local group = api.nvim_create_augroup('whetstone.lens', { clear = true })

--- Capabilities merged into Neovim's own for the whetstone client.
function M.client_capabilities()
  return { workspace = { codeLens = { refreshSupport = true } } }
end

--- Gives each lens of a line a start column past the one before it, so that they keep the
--- order the server listed them in. Neovim 0.11 draws a line's lenses sorted by start column,
--- and its sort is not stable: lenses sharing a column (every lens at column 0, as an older
--- server sends them) come out scrambled. The column is read for that sort alone: a lens acts
--- through its command, whose arguments name the chunk.
---@param lenses lsp.CodeLens[]
---@return lsp.CodeLens[]
function M.in_server_order(lenses)
  -- line -> start column of the line's previous lens
  local previous_column = {}
  for _, item in ipairs(lenses) do
    local range = type(item) == 'table' and item.range
    local start = type(range) == 'table' and range.start
    local finish = type(range) == 'table' and range['end']
    if
      type(start) == 'table'
      and type(start.line) == 'number'
      and type(start.character) == 'number'
    then
      local previous = previous_column[start.line]
      if previous and start.character <= previous then
        start.character = previous + 1
        -- A range never ends before it starts.
        if type(finish) == 'table' and finish.line == start.line then
          finish.character = math.max(finish.character or 0, start.character)
        end
      end
      previous_column[start.line] = start.character
    end
  end
  return lenses
end

--- Handler of the whetstone client's textDocument/codeLens answers (0.11): Neovim's own,
--- with the lenses put in the server's order first.
function M.on_lenses(err, result, ctx)
  if not err and type(result) == 'table' then
    M.in_server_order(result)
  end
  return codelens.on_codelens(err, result, ctx)
end

--- Asks the whetstone client alone for the lenses of `bufnr`. Unlike vim.lsp.codelens.refresh()
--- this is never skipped while another request is in flight (the newest state must win) and
--- does not ask the buffer's other servers again.
local function request(client, bufnr)
  if not api.nvim_buf_is_loaded(bufnr) or client:is_stopped() then
    return
  end
  local params = { textDocument = vim.lsp.util.make_text_document_params(bufnr) }
  client:request('textDocument/codeLens', params, M.on_lenses, bufnr)
end

--- Fetches the lenses of every watched buffer of the client again.
function M.refresh_client(client_id)
  local client = vim.lsp.get_client_by_id(client_id)
  if not client then
    return
  end
  for bufnr, id in pairs(watched) do
    if id == client_id then
      request(client, bufnr)
    end
  end
end

--- Fetches the lenses of one buffer again (0.11; 0.12 keeps them fresh itself).
function M.refresh(bufnr)
  bufnr = bufnr == 0 and api.nvim_get_current_buf() or bufnr
  local id = watched[bufnr]
  local client = id and vim.lsp.get_client_by_id(id)
  if client then
    request(client, bufnr)
  end
end

--- Handlers for the whetstone client's config.
function M.handlers()
  if native then
    return {}
  end
  return {
    ['workspace/codeLens/refresh'] = function(err, _, ctx)
      if not err then
        -- Server requests arrive in a callback where the buffer may not be touched.
        vim.schedule(function()
          M.refresh_client(ctx.client_id)
        end)
      end
      return vim.NIL
    end,
  }
end

--- Shows and refreshes lenses in `bufnr`, now that `client` is attached to it.
function M.attach(client, bufnr)
  if native then
    codelens.enable(true, { bufnr = bufnr })
    return
  end
  watched[bufnr] = client.id
  api.nvim_clear_autocmds({ group = group, buffer = bufnr })
  api.nvim_create_autocmd({ 'BufEnter', 'CursorHold', 'InsertLeave' }, {
    group = group,
    buffer = bufnr,
    desc = 'whetstone: refresh code lenses',
    callback = function(event)
      M.refresh(event.buf)
    end,
  })
  request(client, bufnr)
end

function M.detach(client_id, bufnr)
  if watched[bufnr] == client_id then
    watched[bufnr] = nil
    api.nvim_clear_autocmds({ group = group, buffer = bufnr })
    codelens.clear(client_id, bufnr)
  end
end

local function is_whetstone_lens(lens)
  local command = lens.command
  if command == nil then
    return false
  end
  -- The title lens has no command of its own.
  return vim.startswith(command.command or '', 'whetstone.')
    or vim.startswith(command.title or '', '⚑')
end

--- The whetstone lenses shown in `bufnr`.
---@return lsp.CodeLens[]
function M.get(bufnr)
  bufnr = bufnr == 0 and api.nvim_get_current_buf() or bufnr
  local lenses = {}
  if native then
    for _, item in ipairs(codelens.get({ bufnr = bufnr })) do
      table.insert(lenses, item.lens)
    end
  else
    lenses = codelens.get(bufnr)
  end
  return vim.tbl_filter(is_whetstone_lens, lenses)
end

--- Runs a lens of the cursor line (a list to choose from when there are several).
function M.run(client_id)
  if native then
    codelens.run({ client_id = client_id })
  else
    codelens.run()
  end
end

return M
