-- What require("whetstone").statusline() shows, from caches: a statusline is drawn on every
-- redraw and must never wait for the server.
--
-- The running calibration session comes from a poll of whetstone.calibration.status (every 30 s
-- by default) and from the answers of start and stop; its minutes are counted here between polls.
-- A buffer's typed share comes from whetstone.chunks, read on BufEnter and a second after edits.

local server = require('whetstone.server')

local M = {}

local api = vim.api
local uv = vim.uv

-- The running session as the server returned it, or nil.
local session = nil
-- bufnr -> { typed = n, total = n }
local ownership = {}
-- bufnr -> pending debounce timer
local debounce_timers = {}
local poll_timer = nil
local poll_every_ms = 30000
-- Edits are read back this long after the last one (a paste shows up in the share soon enough).
local EDIT_DEBOUNCE_MS = 1000

local group = api.nvim_create_augroup('whetstone.status', { clear = true })

local function now_ms()
  local seconds, microseconds = uv.gettimeofday()
  return seconds * 1000 + math.floor(microseconds / 1000)
end

local function redraw()
  vim.schedule(function()
    vim.cmd('redrawstatus!')
  end)
end

--- Records what calibration.status, start or stop returned (null or a stopped session: none).
function M.set_calibration(value)
  if server.present(value) and value.running then
    session = value
  else
    session = nil
  end
  redraw()
end

function M.calibration()
  return session
end

--- Whole minutes since the session started; nil once a planned session is over (the server
--- ends it by itself, and the next poll or its calibrationChanged says so).
local function elapsed_minutes(value)
  if type(value.started_ms) ~= 'number' then
    return tonumber(value.elapsed_minutes)
  end
  local now = now_ms()
  local planned = tonumber(value.planned_minutes)
  if planned and now >= value.started_ms + planned * 60000 then
    return nil
  end
  return math.max(0, math.floor((now - value.started_ms) / 60000))
end

--- What a running session shows, as in the VS Code status bar: the minutes since it started
--- (the server's elapsed_minutes, counted here between polls) and its breaches.
function M.session_text(value)
  local minutes = elapsed_minutes(value)
  if not minutes then
    return nil
  end
  local text = ('No-AI %d min'):format(minutes)
  local breaches = type(value.breaches) == 'table' and #value.breaches or 0
  if breaches > 0 then
    text = text .. (' · %d %s'):format(breaches, breaches == 1 and 'breach' or 'breaches')
  end
  return text
end

--- The statusline text for `bufnr`: "No-AI 23 min", "82% yours" or "".
function M.text(bufnr)
  local shown = session and M.session_text(session)
  if shown then
    return shown
  end
  local own = ownership[bufnr]
  if own and own.total > 0 then
    return ('%d%% yours'):format(math.floor(own.typed * 100 / own.total + 0.5))
  end
  return ''
end

--- Reads the typed share of `bufnr` again.
function M.refresh_ownership(bufnr)
  if not api.nvim_buf_is_valid(bufnr) or not server.client(bufnr) then
    return
  end
  server.chunks(bufnr, function(map)
    if not map or not api.nvim_buf_is_valid(bufnr) then
      return
    end
    ownership[bufnr] = server.ownership(map)
    redraw()
  end)
end

local function refresh_soon(bufnr)
  local timer = debounce_timers[bufnr]
  if not timer then
    timer = assert(uv.new_timer())
    debounce_timers[bufnr] = timer
  end
  timer:stop()
  timer:start(EDIT_DEBOUNCE_MS, 0, vim.schedule_wrap(function()
    M.refresh_ownership(bufnr)
  end))
end

--- Asks the server whether a session runs.
function M.poll_calibration()
  local client = server.any_client()
  if not client then
    M.set_calibration(nil)
    return
  end
  server.execute(client, 'whetstone.calibration.status', {}, nil, function(err, result)
    if not err then
      M.set_calibration(result)
    end
  end)
end

local function start_polling()
  if poll_timer then
    return
  end
  poll_timer = assert(uv.new_timer())
  poll_timer:start(0, poll_every_ms, vim.schedule_wrap(M.poll_calibration))
end

local function stop_polling()
  if poll_timer then
    poll_timer:stop()
    poll_timer:close()
    poll_timer = nil
  end
end

function M.configure(options)
  poll_every_ms = options.calibration_poll_ms or poll_every_ms
end

-- Buffers followed: bufnr -> a token of this attachment. An on_lines callback whose token is
-- no longer there detaches itself (after LspDetach, or when a new attachment replaced it).
local followed = {}

--- Starts following `bufnr`, now that the whetstone client is attached to it.
function M.attach(_, bufnr)
  start_polling()
  api.nvim_clear_autocmds({ group = group, buffer = bufnr })
  api.nvim_create_autocmd('BufEnter', {
    group = group,
    buffer = bufnr,
    desc = 'whetstone: read the ownership share',
    callback = function(event)
      M.refresh_ownership(event.buf)
    end,
  })
  local token = {}
  followed[bufnr] = token
  -- on_lines rather than TextChanged: it also sees changes made by plugins and scripts, which
  -- TextChanged misses until Neovim next waits for a key.
  api.nvim_buf_attach(bufnr, false, {
    on_lines = function(_, changed)
      if followed[changed] ~= token then
        return true
      end
      refresh_soon(changed)
    end,
    on_detach = function(_, detached)
      if followed[detached] == token then
        followed[detached] = nil
      end
    end,
  })
  M.refresh_ownership(bufnr)
end

function M.detach(_, bufnr)
  ownership[bufnr] = nil
  followed[bufnr] = nil
  api.nvim_clear_autocmds({ group = group, buffer = bufnr })
  local timer = debounce_timers[bufnr]
  if timer then
    timer:stop()
    timer:close()
    debounce_timers[bufnr] = nil
  end
  -- The detaching client still counts here: stop polling when it was the last one.
  vim.schedule(function()
    if #vim.lsp.get_clients({ name = server.name }) == 0 then
      stop_polling()
      M.set_calibration(nil)
    end
  end)
end

return M
