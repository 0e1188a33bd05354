-- What the :Whetstone subcommands do: pick the chunk, ask what is missing (vim.ui.select,
-- vim.ui.input), call the server's command and say what happened.

local lens = require('whetstone.lens')
local server = require('whetstone.server')
local status = require('whetstone.status')
local ui = require('whetstone.ui')

local M = {}

local api = vim.api

M.classes = {
  { name = 'transient', about = 'a one-off: use AI freely' },
  { name = 'repeatable', about = 'a pattern you will meet again: reproduce it from memory later' },
  { name = 'core', about = 'a skill that defines your value: you must be able to explain it' },
}

-- The server's words for the feel of a session (core::report::feel_word).
M.feels = { 'struggled', 'hard going', 'workable', 'good', 'smooth' }

M.report_formats = { 'markdown', 'json', 'html' }

local function is_class(name)
  for _, class in ipairs(M.classes) do
    if class.name == name then
      return true
    end
  end
  return false
end

--- "4", "good" or "4 good" -> 4
function M.parse_feel(text)
  if not text or text == '' then
    return nil
  end
  local number = tonumber(text:match('^%s*(%d)'))
  if number and number >= 1 and number <= 5 then
    return number
  end
  for feel, word in ipairs(M.feels) do
    if vim.startswith(word, vim.trim(text):lower()) then
      return feel
    end
  end
  return nil
end

--- Calls `callback(client, bufnr, chunk)` for the chunk under the cursor; when the cursor is on
--- none, lets the user pick one of the file's chunks.
local function with_chunk(callback)
  local bufnr = api.nvim_get_current_buf()
  local client = server.client(bufnr)
  if not client then
    ui.error(server.not_running_message(bufnr))
    return
  end
  local row = api.nvim_win_get_cursor(0)[1] - 1
  server.chunks(bufnr, function(map, problem)
    if not map then
      ui.error(problem)
      return
    end
    local chunk = server.chunk_at(map, row)
    if chunk then
      callback(client, bufnr, chunk)
      return
    end
    local chunks = map.chunks or {}
    if #chunks == 0 then
      ui.info('no pasted or generated chunk in this file')
      return
    end
    -- The ones still waiting for a verdict first.
    table.sort(chunks, function(a, b)
      if a.needs_attention ~= b.needs_attention then
        return a.needs_attention
      end
      return a.start_line < b.start_line
    end)
    vim.ui.select(chunks, {
      prompt = 'Whetstone: which chunk? (the cursor is on none)',
      kind = 'whetstone.chunk',
      format_item = server.describe_chunk,
    }, function(choice)
      if choice then
        callback(client, bufnr, choice)
      end
    end)
  end)
end

--- Runs a chunk command, then says `done(result)` (or the server's error).
local function chunk_command(client, bufnr, command, argument, done)
  server.execute(client, command, argument, bufnr, function(err, result)
    if err then
      ui.error(err.message)
      return
    end
    status.refresh_ownership(bufnr)
    if done then
      done(result)
    end
  end)
end

--- :Whetstone classify [transient|repeatable|core]
function M.classify(class)
  if class and not is_class(class) then
    ui.error(('class must be transient, repeatable or core, not %q'):format(class))
    return
  end
  with_chunk(function(client, bufnr, chunk)
    local function send(name)
      local argument = { uri = vim.uri_from_bufnr(bufnr), chunk = chunk.id, class = name }
      chunk_command(client, bufnr, 'whetstone.classify', argument, function()
        local where = server.line_range(chunk)
        if name == 'core' and not server.present(chunk.explanation) then
          ui.info(('%s: core, explain it from memory (:Whetstone explain)'):format(where))
        else
          ui.info(('%s: %s'):format(where, name))
        end
      end)
    end
    if class then
      send(class)
      return
    end
    vim.ui.select(M.classes, {
      prompt = 'Whetstone: how much of ' .. server.describe_chunk(chunk) .. ' must you own?',
      kind = 'whetstone.class',
      format_item = function(item)
        return ('%-10s  %s'):format(item.name, item.about)
      end,
    }, function(choice)
      if choice then
        send(choice.name)
      end
    end)
  end)
end

--- :Whetstone explain [text...] — no text: ask for it; an empty answer opens the server's
--- explanation document (three prompts, never the code) through window/showDocument.
function M.explain(text)
  with_chunk(function(client, bufnr, chunk)
    local function send(answer)
      local argument = { uri = vim.uri_from_bufnr(bufnr), chunk = chunk.id }
      if answer and vim.trim(answer) ~= '' then
        argument.text = answer
      end
      chunk_command(client, bufnr, 'whetstone.explain', argument, function(result)
        if not argument.text then
          -- Neovim has opened the document; saving it records the answers.
          ui.info('answer the prompts from memory, then :write')
          return
        end
        -- The server's wording when a saved document is recorded (explaining::saved_message).
        local verdict = result.shallow and 'shallow — say why, name what it uses' or 'passes'
        ui.info(('explanation saved for %s: %d/100, %s.'):format(server.line_range(chunk), result.score, verdict))
      end)
    end
    if text then
      send(text)
      return
    end
    vim.ui.input({
      prompt = 'Explain from memory (what it does, why this way, the trade-offs; '
        .. 'empty: open a document): ',
    }, function(answer)
      if answer ~= nil then
        send(answer)
      end
    end)
  end)
end

M.dismiss_choices = { 'Not AI', 'Cancel' }

--- Asks before a chunk is dismissed, in the VS Code extension's words: the editor cannot undo
--- it, and the "Not AI" lens sits next to the others. `chunk` is nil for a lens (whose lines
--- are not known here). Calls `on_answer(true)` for "Not AI", `on_answer(false)` otherwise.
function M.confirm_dismiss(chunk, on_answer)
  local what = chunk and server.line_range(chunk) or 'this chunk'
  vim.ui.select(M.dismiss_choices, {
    prompt = ('Mark %s as your own work, not AI? The chunk goes away and its lines count as typed.')
      :format(what),
    kind = 'whetstone.dismiss',
  }, function(choice)
    on_answer(choice == M.dismiss_choices[1])
  end)
end

--- :Whetstone dismiss — "Not AI": the chunk is the user's own (after asking).
function M.dismiss()
  with_chunk(function(client, bufnr, chunk)
    M.confirm_dismiss(chunk, function(confirmed)
      if not confirmed then
        return
      end
      local argument = { uri = vim.uri_from_bufnr(bufnr), chunk = chunk.id }
      chunk_command(client, bufnr, 'whetstone.dismiss', argument, function()
        ui.info(('%s dismissed: they count as yours'):format(server.line_range(chunk)))
      end)
    end)
  end)
end

--- The "Not AI" lens: Neovim runs a lens's command through the client's `commands` first, so
--- the lens asks too before it sends whetstone.dismiss.
---@param command lsp.Command
---@param context lsp.HandlerContext
function M.dismiss_lens(command, context)
  local client = vim.lsp.get_client_by_id(context.client_id)
  local bufnr = context.bufnr
  local argument = command.arguments and command.arguments[1]
  if not client or type(argument) ~= 'table' then
    ui.error('the Not AI lens has no chunk to dismiss')
    return
  end
  M.confirm_dismiss(nil, function(confirmed)
    if not confirmed then
      -- Running a lens hides the lenses of its line: show them again.
      lens.refresh(bufnr)
      return
    end
    chunk_command(client, bufnr, 'whetstone.dismiss', argument, function()
      ui.info('dismissed: its lines count as yours')
    end)
  end)
end

local function with_any_client(callback)
  local client = server.any_client()
  if not client then
    ui.error('no server is running: open a file first')
    return
  end
  callback(client)
end

--- One line about a running session: `No-AI “parser”: 23 min in (37 left), 20 active, 41 typed
--- lines, 1 breach`.
local function describe_session(session)
  local label = server.present(session.label) and (' “' .. session.label .. '”') or ''
  local minutes = ('%d min in'):format(session.elapsed_minutes or 0)
  if server.present(session.remaining_minutes) then
    minutes = ('%s (%d left)'):format(minutes, session.remaining_minutes)
  end
  local breaches = #(session.breaches or {})
  return ('No-AI%s: %s, %d active, %d typed lines, %s'):format(
    label,
    minutes,
    session.active_minutes or 0,
    session.typed_lines or 0,
    breaches == 1 and '1 breach' or ('%d breaches'):format(breaches)
  )
end

--- :Whetstone calibrate start [minutes] [label...]
function M.calibrate_start(minutes, label)
  with_any_client(function(client)
    local argument = { minutes = minutes, label = label }
    server.execute(client, 'whetstone.calibration.start', argument, nil, function(err, result)
      if err then
        ui.error(err.message)
        return
      end
      -- The server announces the start itself (window/showMessage).
      status.set_calibration(result)
    end)
  end)
end

--- :Whetstone calibrate stop [feel] — without a feel, asks for it first (cancelling keeps the
--- session running, rather than having the server ask the same question again).
function M.calibrate_stop(feel)
  with_any_client(function(client)
    local function stop(chosen)
      server.execute(client, 'whetstone.calibration.stop', { feel = chosen }, nil, function(err)
        if err then
          ui.error(err.message)
          return
        end
        -- The server sums the session up itself (window/showMessage).
        status.set_calibration(nil)
      end)
    end
    if feel then
      stop(feel)
      return
    end
    server.execute(client, 'whetstone.calibration.status', {}, nil, function(err, session)
      if err or not server.present(session) then
        status.set_calibration(nil)
        ui.info('no calibration session is running')
        return
      end
      local choices = {}
      for number, word in ipairs(M.feels) do
        table.insert(choices, { feel = number, title = ('%d %s'):format(number, word) })
      end
      vim.ui.select(choices, {
        prompt = 'Whetstone: how did the no-AI session feel?',
        kind = 'whetstone.feel',
        format_item = function(choice)
          return choice.title
        end,
      }, function(choice)
        if choice then
          stop(choice.feel)
        else
          ui.info('the calibration session is still running')
        end
      end)
    end)
  end)
end

--- :Whetstone calibrate status
function M.calibrate_status()
  with_any_client(function(client)
    server.execute(client, 'whetstone.calibration.status', {}, nil, function(err, session)
      if err then
        ui.error(err.message)
        return
      end
      status.set_calibration(session)
      if server.present(session) then
        ui.info(describe_session(session))
      else
        ui.info('no session running (:Whetstone calibrate start 60)')
      end
    end)
  end)
end

--- :Whetstone report [markdown|json|html]
function M.report(format)
  format = format or 'markdown'
  if not vim.tbl_contains(M.report_formats, format) then
    ui.error(('report format must be markdown, json or html, not %q'):format(format))
    return
  end
  with_any_client(function(client)
    server.execute(client, 'whetstone.report', { format = format }, nil, function(err, result)
      if err then
        ui.error(err.message)
        return
      end
      if format == 'markdown' then
        local lines = vim.split(result.markdown, '\n', { plain = true })
        ui.scratch('whetstone://report.md', lines, 'markdown')
      elseif format == 'json' then
        local text = ui.pretty_json(result.report)
        ui.scratch('whetstone://report.json', vim.split(text, '\n', { plain = true }), 'json')
      else
        -- The server asked Neovim to open the page with the system's opener.
        ui.info('report written to ' .. result.path)
      end
    end)
  end)
end

--- The lines of :Whetstone status for an ownership map.
function M.status_lines(bufnr, map)
  local name = vim.fn.fnamemodify(api.nvim_buf_get_name(bufnr), ':~:.')
  local lines = { '# Whetstone · ' .. name, '' }
  local own = server.ownership(map)
  if not own then
    table.insert(lines, 'No lines recorded for this file yet.')
    return lines
  end
  table.insert(lines, ('**%d%% yours**: %d of %d lines typed.'):format(
    math.floor(own.typed * 100 / own.total + 0.5), own.typed, own.total))
  local by_origin = {}
  for _, origin in ipairs({ 'typed', 'pasted', 'generated', 'moved', 'external', 'restored' }) do
    local count = own.counts[origin] or 0
    if count > 0 then
      table.insert(by_origin, ('%s %d'):format(origin, count))
    end
  end
  table.insert(lines, 'Lines by origin: ' .. table.concat(by_origin, ', ') .. '.')
  local chunks = map.chunks or {}
  if #chunks > 0 then
    table.insert(lines, '')
    for _, chunk in ipairs(chunks) do
      local flag = chunk.needs_attention and ' ⚑' or ''
      table.insert(lines, '- ' .. server.describe_chunk(chunk) .. flag)
    end
  end
  local session = status.calibration()
  if session then
    table.insert(lines, '')
    table.insert(lines, describe_session(session) .. '.')
  end
  return lines
end

--- :Whetstone status — the current file's ownership in a floating window.
function M.status()
  local bufnr = api.nvim_get_current_buf()
  server.chunks(bufnr, function(map, problem)
    if not map then
      ui.error(problem)
      return
    end
    M.float(M.status_lines(bufnr, map))
  end)
end

-- Indirection so a test can look at the lines instead of a window.
M.float = ui.float

--- :Whetstone chunks — the file's chunks in the location list.
function M.chunks()
  local bufnr = api.nvim_get_current_buf()
  server.chunks(bufnr, function(map, problem)
    if not map then
      ui.error(problem)
      return
    end
    local items = {}
    for _, chunk in ipairs(map.chunks or {}) do
      table.insert(items, {
        bufnr = bufnr,
        lnum = chunk.start_line + 1,
        end_lnum = chunk.end_line,
        col = 1,
        text = server.describe_chunk(chunk),
        type = chunk.needs_attention and 'W' or 'I',
      })
    end
    if #items == 0 then
      ui.info('no pasted or generated chunk in this file')
      return
    end
    vim.fn.setloclist(0, {}, ' ', { title = 'Whetstone chunks', items = items })
    vim.cmd('lopen')
  end)
end

--- :Whetstone lens — runs a lens of the cursor line.
function M.lens()
  local client = server.client(0)
  if not client then
    ui.error(server.not_running_message(0))
    return
  end
  lens.run(client.id)
end

return M
