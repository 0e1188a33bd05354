-- The headless end-to-end test: a real Neovim, this plugin and the built whetstone server.
--
-- Run by test.sh as
--   nvim --headless -u test/minimal_init.lua -c "luafile test/e2e.lua"
-- with WHETSTONE_HOME, XDG_* and WHETSTONE_E2E_WORKSPACE pointing at temp folders. Prints one TAP
-- line per step and exits with the number of failed steps (0: all passed).

local api = vim.api
local whetstone = require('whetstone')
local lens = require('whetstone.lens')

local workspace = assert(vim.env.WHETSTONE_E2E_WORKSPACE, 'WHETSTONE_E2E_WORKSPACE is not set')
local TIMEOUT_MS = 10000

local results = {}
local failed = 0
local known_problems = 0

local function say(line)
  io.stdout:write(line, '\n')
  io.stdout:flush()
end

-- The test runs as a coroutine that gives the main loop back while it waits, so that Neovim
-- reads typed keys, runs autocommands and timers, and talks to the server as it does for a user.
local test_coroutine

--- Lets the main loop run for `ms` milliseconds.
local function sleep(ms)
  vim.defer_fn(function()
    local ok, problem = coroutine.resume(test_coroutine)
    if not ok then
      say('not ok - the test coroutine failed: ' .. tostring(problem))
      vim.cmd('cquit 1')
    end
  end, ms)
  coroutine.yield()
end

--- Runs one step: it passes unless it raises an error (whose message says what went wrong).
--- A `todo` step is a known problem elsewhere: TAP reports it, and it fails nothing.
local function step(name, body, todo)
  local ok, problem = xpcall(body, debug.traceback)
  table.insert(results, { name = name, ok = ok })
  local directive = todo and (' # TODO ' .. todo) or ''
  if ok then
    say(('ok %d - %s%s'):format(#results, name, directive))
  else
    if todo then
      known_problems = known_problems + 1
    else
      failed = failed + 1
    end
    say(('not ok %d - %s%s'):format(#results, name, directive))
    for line in tostring(problem):gmatch('[^\n]+') do
      say('  # ' .. line)
    end
  end
  return ok
end

--- Waits until `predicate` returns a value; raises after the timeout.
local function wait_for(what, predicate, timeout_ms)
  timeout_ms = timeout_ms or TIMEOUT_MS
  local deadline = vim.uv.now() + timeout_ms
  while true do
    local value = predicate()
    if value ~= nil and value ~= false then
      return value
    end
    if vim.uv.now() > deadline then
      error(('timed out after %d ms waiting for %s'):format(timeout_ms, what), 2)
    end
    sleep(50)
  end
end

local function expect(condition, message, ...)
  if not condition then
    error(message:format(...), 2)
  end
end

local function keys(text)
  return api.nvim_replace_termcodes(text, true, false, true)
end

-- A fast typist: 20 keys a second. Neovim sends the keys of each 150 ms as one didChange.
local KEY_GAP_MS = 50

--- Types `text` key by key as a person would (nvim_input: the main loop reads each key as it
--- comes), then lets the didChange debounce pass so the server has every change. `<CR>`,
--- `<Esc>`... are one key each; `<Cmd>...<CR>` goes in one piece, as Neovim wants the whole
--- command at once.
local function type_keys(text)
  local position = 1
  while position <= #text do
    local key = text:match('^<Cmd>.-<CR>', position)
      or text:match('^<[%w%-]+>', position)
      or text:match('^[%z\1-\127\194-\244][\128-\191]*', position)
    api.nvim_input(key)
    sleep(KEY_GAP_MS)
    position = position + #key
  end
  sleep(400)
end

--- Feeds `text` all at once, as a macro replays keys, then lets the debounce pass.
local function feed_at_once(text)
  api.nvim_feedkeys(keys(text), 'xt', false)
  sleep(400)
end

local state = {}

--- Headless, Neovim's own vim.ui.select and vim.ui.input would wait for keys forever: a question
--- the test does not expect fails the step (by timing out its wait) instead of hanging the run.
local function refuse(name)
  return function(_, opts)
    say(('# unexpected %s: %s'):format(name, opts and opts.prompt or ''))
  end
end
vim.ui.select = refuse('vim.ui.select')
vim.ui.input = refuse('vim.ui.input')

-- Messages are kept, not echoed: headless, an error echoed by a command run from a timer waits
-- for a key at a hit-enter prompt, which would hang the run.
local notifications = {}
local neovim_notify = vim.notify
vim.notify = function(message, level)
  table.insert(notifications, { message = message, level = level or vim.log.levels.INFO })
end

local function notified(pattern)
  for _, notification in ipairs(notifications) do
    if notification.message:find(pattern) then
      return notification
    end
  end
  return nil
end

local function client()
  return assert(state.client, 'no whetstone client (the attach step failed)')
end

--- Calls a server command and waits for the answer.
local function command(name, argument, bufnr)
  local response, problem = client():request_sync('workspace/executeCommand', {
    command = name,
    arguments = { argument or vim.empty_dict() },
  }, TIMEOUT_MS, bufnr or state.bufnr)
  expect(response, '%s: no answer (%s)', name, tostring(problem))
  expect(not response.err, '%s failed: %s', name, response.err and response.err.message or '')
  return response.result
end

local function chunks(bufnr)
  bufnr = bufnr or state.bufnr
  return command('whetstone.chunks', { uri = vim.uri_from_bufnr(bufnr) }, bufnr)
end

local function chunk_where(predicate)
  for _, chunk in ipairs(chunks().chunks) do
    if predicate(chunk) then
      return chunk
    end
  end
  return nil
end

local function lens_titles()
  local titles = {}
  for _, item in ipairs(lens.get(state.bufnr)) do
    table.insert(titles, item.command.title)
  end
  return titles
end

local function line_of(pattern)
  for index, line in ipairs(api.nvim_buf_get_lines(state.bufnr, 0, -1, false)) do
    if line:find(pattern) then
      return index
    end
  end
  error('no line matches ' .. pattern, 2)
end

local function focus_source()
  local window = vim.fn.bufwinid(state.bufnr)
  if window ~= -1 then
    api.nvim_set_current_win(window)
  else
    api.nvim_set_current_buf(state.bufnr)
  end
end

local function print_logs()
  local log = vim.lsp.get_log_path()
  say('# --- last lines of the LSP log (' .. log .. '), the server stderr included ---')
  local ok, lines = pcall(vim.fn.readfile, log)
  if ok then
    for index = math.max(1, #lines - 60), #lines do
      say('# ' .. lines[index]:sub(1, 400))
    end
    say('# --- the server\'s stderr (WHETSTONE_LOG=debug), last lines ---')
    local stderr = vim.tbl_filter(function(line)
      return line:find('"stderr"', 1, true) ~= nil
    end, lines)
    for index = math.max(1, #stderr - 40), #stderr do
      say('# ' .. stderr[index]:sub(1, 400))
    end
  end
  say('# --- messages (vim.notify) ---')
  for _, notification in ipairs(notifications) do
    say(('# [%d] %s'):format(notification.level, (notification.message:gsub('\n', ' '))))
  end
end

-- The text of the tests: 30 distinct lines to paste.
local PASTED = { 'fn checksum(data: &[u8]) -> u32 {' }
for index = 1, 28 do
  table.insert(PASTED, ('    let step_%02d = data.len() as u32 * %d + %d;'):format(index, index, index * 7))
end
table.insert(PASTED, '}')
assert(#PASTED == 30)
local EXPLANATION = 'checksum folds the length of data into step values because the caller only '
  .. 'needs a cheap fingerprint; it trades collisions for speed instead of hashing every byte, '
  .. 'and it would break if data were longer than u32 can count.'

local function run()
  step('help: :help whetstone works without :helptags; doc/tags is what :helptags writes', function()
    local plugin_root = vim.g.whetstone_test_plugin_root
    -- The checkout is on 'runtimepath' as a user would add it, and nothing ran :helptags.
    vim.cmd('help whetstone')
    expect(vim.bo.filetype == 'help', 'no help buffer')
    expect(api.nvim_buf_get_name(0) == vim.fs.normalize(plugin_root .. '/doc/whetstone.txt'),
      ':help whetstone opened %s', api.nvim_buf_get_name(0))
    vim.cmd('helpclose')
    -- :helptags on a copy of doc/ (a plugin manager runs it in the checkout) writes the
    -- committed doc/tags exactly, so it leaves the checkout as it was.
    local copy = vim.fn.tempname()
    vim.fn.mkdir(copy, 'p')
    vim.fn.writefile(vim.fn.readfile(plugin_root .. '/doc/whetstone.txt'), copy .. '/whetstone.txt')
    vim.cmd('helptags ' .. vim.fn.fnameescape(copy))
    local generated = vim.fn.readfile(copy .. '/tags')
    local committed = vim.fn.readfile(plugin_root .. '/doc/tags')
    expect(#generated >= 10, 'only %d help tags', #generated)
    expect(vim.deep_equal(generated, committed),
      'doc/tags is not what :helptags writes (run :helptags editors/neovim/doc):\n%s',
      table.concat(generated, '\n'))
    local text = table.concat(vim.fn.readfile(plugin_root .. '/doc/whetstone.txt'), '\n')
    for link in text:gmatch('|([^|%s]+)|') do
      local ok, problem = pcall(vim.cmd.help, link)
      expect(ok, 'help link |%s| does not resolve: %s', link, tostring(problem))
    end
    vim.cmd('helpclose')
  end)

  step('setup: the server attaches to a Rust file of the workspace', function()
    vim.cmd('edit ' .. vim.fn.fnameescape(workspace .. '/src/lib.rs'))
    state.bufnr = api.nvim_get_current_buf()
    expect(vim.bo.filetype == 'rust', 'filetype is %q', vim.bo.filetype)
    state.client = wait_for('the whetstone client to attach', function()
      local attached = vim.lsp.get_clients({ name = 'whetstone', bufnr = state.bufnr })[1]
      return attached and attached.initialized and attached
    end)
    local config = state.client.config
    expect(vim.fs.normalize(state.client.root_dir or '') == vim.fs.normalize(workspace),
      'root_dir is %s, not the workspace', tostring(state.client.root_dir))
    expect(config.init_options.whetstone.nudges.hover == true, 'settings missing from initializationOptions')
    expect(vim.tbl_get(state.client.capabilities, 'workspace', 'codeLens', 'refreshSupport') == true,
      'codeLens refreshSupport is not advertised')
    expect(state.client.offset_encoding == 'utf-8', 'position encoding %s', state.client.offset_encoding)
    local provided = state.client.server_capabilities.executeCommandProvider.commands
    expect(vim.list_contains(provided, 'whetstone.classify'), 'executeCommandProvider lacks whetstone.classify')
  end)

  step('the server\'s first-run reminder comes through vim.notify', function()
    -- The store is new, so the server reminds of calibration once it is initialized.
    local reminder = wait_for('the reminder', function()
      return notified('^whetstone: .*calibration')
    end)
    expect(reminder.level == vim.log.levels.INFO, 'the reminder has level %s', tostring(reminder.level))
    -- The server knows Neovim by its clientInfo and names the command as it is typed here.
    expect(reminder.message:find(':Whetstone calibrate start', 1, true),
      'the reminder does not name :Whetstone calibrate start: %s', reminder.message)
    state.reminder = reminder.message:gsub('^whetstone: ', '')
  end)

  step('typing a function by hand (20 keys a second) makes no chunk', function()
    -- Until a buffer's first didChange is sent, Neovim restarts its 150 ms debounce on every
    -- change, so keys typed without a pause all go in one notification (see the step at
    -- the end). One short edit first, as in any buffer already worked on; from then on Neovim
    -- sends what was typed every 150 ms.
    type_keys('Go<Esc>')
    type_keys('ifn add(left: i32, right: i32) -> i32 {<CR>left + right<CR>}<CR><Esc>')
    local lines = api.nvim_buf_get_lines(state.bufnr, 0, -1, false)
    expect(lines[2]:find('^fn add') and lines[3] == '    left + right' and lines[4] == '}',
      'the function was not typed as expected: %s', vim.inspect(lines))
    local map = chunks()
    expect(#map.chunks == 0, 'typing made %d chunk(s): %s', #map.chunks, vim.inspect(map.chunks))
    expect(map.counts.typed >= 4, 'only %d typed lines', map.counts.typed)
  end)

  step('pasting 30 lines through vim.paste shows the "⚑ 30 lines pasted" lens', function()
    -- The cursor is on the empty line left after the function.
    local pasted = vim.list_extend(vim.deepcopy(PASTED), { '' })
    vim.paste(pasted, -1)
    local title = wait_for('a lens titled "⚑ 30 lines pasted"', function()
      for _, candidate in ipairs(lens_titles()) do
        if vim.startswith(candidate, '⚑ 30 lines pasted') then
          return candidate
        end
      end
    end)
    expect(title:find('fn checksum', 1, true), 'the title names no item: %s', title)
    local chunk = chunk_where(function(candidate)
      return candidate.origin == 'pasted' and candidate.lines == 30
    end)
    expect(chunk, 'no 30-line pasted chunk in whetstone.chunks')
    state.chunk = chunk
    for _, action in ipairs({ 'Transient', 'Repeatable', 'Core', 'Explain', 'Not AI' }) do
      expect(vim.list_contains(lens_titles(), action), 'no %q lens: %s', action, vim.inspect(lens_titles()))
    end
    -- What the user reads above the chunk: the lenses in the server's order (Neovim sorts a
    -- line's lenses by column, and not stably).
    local shown = wait_for('the lenses drawn above the chunk', function()
      for _, mark in ipairs(api.nvim_buf_get_extmarks(state.bufnr, -1, 0, -1, { details = true })) do
        local text = table.concat(vim.tbl_map(function(chunk)
          return chunk[1]
        end, mark[4].virt_text or {}))
        if text:find('30 lines pasted', 1, true) and text:find('Not AI', 1, true) then
          return text
        end
      end
    end)
    local order = {}
    for _, action in ipairs({ '⚑', 'Transient', 'Repeatable', 'Core', 'Explain', 'Not AI' }) do
      table.insert(order, (shown:find(action, 1, true)))
    end
    for index = 2, #order do
      expect(order[index - 1] < order[index], 'lenses shown out of order: %s', shown)
    end
  end)

  step('lenses that all start at column 0 are still drawn in the server\'s order', function()
    -- As an older server sends them; Neovim 0.11 sorts a line's lenses by column, unstably.
    local titles = { '⚑ 3 lines pasted', 'Transient', 'Repeatable', 'Core', 'Explain', 'Not AI' }
    local sent = {}
    for _, title in ipairs(titles) do
      local at = { line = 1, character = 0 }
      table.insert(sent, {
        range = { start = at, ['end'] = vim.deepcopy(at) },
        command = { title = title, command = 'whetstone.test', arguments = {} },
      })
    end
    local scratch = api.nvim_create_buf(false, true)
    api.nvim_buf_set_lines(scratch, 0, -1, false, { 'a', 'b', 'c' })
    lens.on_lenses(nil, sent, { bufnr = scratch, client_id = client().id, method = 'textDocument/codeLens' })
    local drawn = {}
    for _, mark in ipairs(api.nvim_buf_get_extmarks(scratch, -1, 0, -1, { details = true })) do
      for _, piece in ipairs(mark[4].virt_text or {}) do
        if piece[1] ~= ' | ' then
          table.insert(drawn, piece[1])
        end
      end
    end
    vim.lsp.codelens.clear(client().id, scratch)
    api.nvim_buf_delete(scratch, { force = true })
    expect(vim.deep_equal(drawn, titles), 'drawn as %s', table.concat(drawn, ' | '))
  end)

  step('the statusline shows the typed share of the file', function()
    local text = wait_for('the statusline to show a share under 100%', function()
      local shown = whetstone.statusline()
      local share = tonumber(shown:match('^(%d+)%% yours$'))
      return share and share < 100 and shown
    end)
    expect(text:match('^%d+%% yours$'), 'statusline %q', text)
  end)

  step('the "Core" lens, run as vim.lsp.codelens.run runs it, classifies the chunk core', function()
    local core
    for _, candidate in ipairs(lens.get(state.bufnr)) do
      if candidate.command.title == 'Core' then
        core = candidate
      end
    end
    expect(core, 'no Core lens')
    local answered = false
    client():exec_cmd(core.command, { bufnr = state.bufnr }, function(err)
      expect(not err, 'whetstone.classify failed: %s', err and err.message or '')
      answered = true
    end)
    wait_for('the classify answer', function()
      return answered
    end)
    local chunk = chunk_where(function(candidate)
      return candidate.id == state.chunk.id
    end)
    expect(chunk and chunk.class == 'core', 'the chunk is %s', vim.inspect(chunk))
    wait_for('the lenses to offer only Explain', function()
      local titles = lens_titles()
      return #titles == 2 and vim.list_contains(titles, 'Explain')
    end)
  end)

  step(':Whetstone explain <text> records the explanation', function()
    api.nvim_win_set_cursor(0, { state.chunk.start_line + 3, 0 })
    vim.cmd('Whetstone explain ' .. EXPLANATION)
    local chunk = wait_for('the explanation in whetstone.chunks', function()
      return chunk_where(function(candidate)
        return candidate.id == state.chunk.id and type(candidate.explanation) == 'table'
      end)
    end)
    expect(chunk.class == 'core', 'class %s', tostring(chunk.class))
    expect(chunk.explanation.text == EXPLANATION, 'explanation text %q', tostring(chunk.explanation.text))
    expect(chunk.needs_attention == false, 'the chunk still needs attention')
    expect(notified('^whetstone: explanation saved for lines %d+–%d+: %d+/100, passes%.$'),
      'no "explanation recorded" message')
    wait_for('the lenses of the explained chunk to go', function()
      return #lens_titles() == 0
    end)
  end)

  step('a 2-line paste in Insert mode is flagged through the versioned editOrigin hint', function()
    -- Under the size bar (5 lines, 200 characters): only the hint can flag it, and only if its
    -- version is the one the change arrives with.
    _G.whetstone_e2e_paste = function()
      vim.paste({ 'const EXTRA: u32 = 1;', 'const MORE: u32 = 2;' }, -1)
    end
    -- (Not `gg`: while Neovim waits for the second key of a command it runs no timer, so the
    -- test would never resume.)
    api.nvim_win_set_cursor(0, { 1, 0 })
    type_keys('O<Cmd>lua whetstone_e2e_paste()<CR><Esc>')
    local chunk = wait_for('a 2-line pasted chunk at the top', function()
      return chunk_where(function(candidate)
        return candidate.origin == 'pasted' and candidate.start_line == 0 and candidate.lines == 2
      end)
    end)
    state.small = chunk
  end)

  step('setup({}): a server started with its empty settings warns of nothing', function()
    local config = require('whetstone.config')
    local test_options = vim.deepcopy(config.options)
    -- What setup({}) registers (server_path aside, which the test needs).
    local settings = config.server_settings(config.set({ server_path = vim.env.WHETSTONE_SERVER }))
    config.set(test_options)
    local encoded = vim.json.encode(settings)
    expect(encoded == '{"whetstone":{}}', 'empty settings are sent as %s', encoded)
    -- The server's warnings go to the LSP log through window/logMessage.
    local logged = {}
    local log_message = vim.lsp.handlers['window/logMessage']
    vim.lsp.handlers['window/logMessage'] = function(err, params, ctx)
      table.insert(logged, params.message)
      return log_message(err, params, ctx)
    end
    -- A second server, in another folder and attached to no buffer, with those settings.
    local other = vim.fn.tempname()
    vim.fn.mkdir(other, 'p')
    local second_config = vim.tbl_extend('force', vim.lsp.config.whetstone, {
      name = 'whetstone-empty-settings',
      root_dir = other,
      init_options = settings,
      settings = settings,
    })
    local id = assert(vim.lsp.start(second_config, { attach = false }))
    local ok, problem = pcall(function()
      local second = wait_for('the second server to initialize', function()
        local started = vim.lsp.get_client_by_id(id)
        return started and started.initialized and started
      end)
      -- The server sends its notifications in the order it makes them (a reply may overtake
      -- them), so a warning asked for now arrives after any warning about the settings it
      -- started with: wait for it, then look at what came before.
      second:notify('workspace/didChangeConfiguration', { settings = { whetstone = { detection = 'none' } } })
      wait_for('the warning about a bad setting', function()
        return vim.iter(logged):any(function(message)
          return message:find('detection: expected an object', 1, true) ~= nil
        end)
      end)
      for _, message in ipairs(logged) do
        expect(not message:find('setting whetstone: expected an object', 1, true), 'the server warned: %s', message)
      end
    end)
    vim.lsp.handlers['window/logMessage'] = log_message
    vim.lsp.stop_client(id)
    wait_for('the second server to stop', function()
      return vim.lsp.get_client_by_id(id) == nil
    end)
    expect(ok, '%s', tostring(problem))
  end)

  step('a pasted word stays yours (the default hint is for two or more lines)', function()
    local before = #chunks().chunks
    _G.whetstone_e2e_paste_word = function()
      vim.paste({ 'total_weight' }, -1)
    end
    api.nvim_win_set_cursor(0, { 1, 0 })
    type_keys('Olet w = <Cmd>lua whetstone_e2e_paste_word()<CR>;<Esc>')
    local line = api.nvim_buf_get_lines(0, 0, 1, false)[1]
    expect(line == 'let w = total_weight;', 'the word was not pasted: %q', line)
    -- Give the server the debounce and a moment: a flagged paste would show by then.
    vim.wait(600)
    local after = chunks()
    expect(#after.chunks == before, '%d chunks before, %d after a one-word paste', before,
      #after.chunks)
    api.nvim_buf_set_lines(0, 0, 1, false, {})
  end)

  step('typing right after the paste is not taken for a paste', function()
    local before = #chunks().chunks
    type_keys('Goconst TYPED_AFTER: u32 = 3;<Esc>')
    local after = chunks()
    expect(#after.chunks == before, '%d chunks before, %d after typing', before, #after.chunks)
  end)

  step('the Not AI lens asks first; cancelled, the chunk stays', function()
    local not_ai = wait_for('the Not AI lens of the 2-line chunk', function()
      for _, candidate in ipairs(lens.get(state.bufnr)) do
        local argument = candidate.command.arguments and candidate.command.arguments[1]
        if candidate.command.title == 'Not AI' and argument and argument.chunk == state.small.id then
          return candidate
        end
      end
    end)
    local asked
    vim.ui.select = function(items, opts, on_choice)
      asked = { items = items, prompt = opts.prompt }
      on_choice(items[2])
    end
    -- As vim.lsp.codelens.run runs a lens.
    client():exec_cmd(not_ai.command, { bufnr = state.bufnr })
    vim.ui.select = refuse('vim.ui.select')
    expect(asked, 'the Not AI lens did not ask')
    expect(asked.prompt == 'Mark this chunk as your own work, not AI? The chunk goes away and its lines count as typed.',
      'asked %q', asked.prompt)
    expect(vim.deep_equal(asked.items, { 'Not AI', 'Cancel' }), 'offered %s', vim.inspect(asked.items))
    expect(chunk_where(function(candidate)
      return candidate.id == state.small.id
    end), 'the chunk went although the question was cancelled')
  end)

  step(':Whetstone classify repeatable, then :Whetstone dismiss (asked, as in VS Code)', function()
    api.nvim_win_set_cursor(0, { 1, 0 })
    vim.cmd('Whetstone classify repeatable')
    wait_for('class repeatable', function()
      return chunk_where(function(candidate)
        return candidate.id == state.small.id and candidate.class == 'repeatable'
      end)
    end)
    local prompts = {}
    local answer = 'Cancel'
    vim.ui.select = function(items, opts, on_choice)
      table.insert(prompts, opts.prompt)
      on_choice(vim.list_contains(items, answer) and answer or nil)
    end
    vim.cmd('Whetstone dismiss')
    wait_for('the question', function()
      return #prompts == 1
    end)
    expect(prompts[1] == 'Mark lines 1–2 as your own work, not AI? The chunk goes away and its lines count as typed.',
      'asked %q', prompts[1])
    expect(chunk_where(function(candidate)
      return candidate.id == state.small.id
    end), 'the chunk went although the question was cancelled')
    answer = 'Not AI'
    vim.cmd('Whetstone dismiss')
    wait_for('the chunk to go', function()
      return not chunk_where(function(candidate)
        return candidate.id == state.small.id
      end)
    end)
    vim.ui.select = refuse('vim.ui.select')
    expect(#prompts == 2, 'asked %d times', #prompts)
  end)

  step('a streamed paste (phases 1, 2, 3) is flagged through the hint without version', function()
    type_keys('Go<Esc>')
    vim.paste({ 'fn tiny() -> u8 {', '    7' }, 1)
    vim.paste({ '', '}' }, 2)
    vim.paste({ '', '' }, 3)
    local first = line_of('^fn tiny') - 1
    state.tiny = wait_for('a pasted chunk on fn tiny', function()
      return chunk_where(function(candidate)
        return candidate.origin == 'pasted' and candidate.start_line == first
      end)
    end)
  end)

  step(':Whetstone explain with an empty answer opens the document in the same server; saving records it', function()
    focus_source()
    api.nvim_win_set_cursor(0, { state.tiny.start_line + 1, 0 })
    -- The question is asked once the chunk is known, after the command returned.
    local asked = false
    vim.ui.input = function(_, on_confirm)
      asked = true
      on_confirm('')
    end
    vim.cmd('Whetstone explain')
    wait_for('the explanation question', function()
      return asked
    end)
    vim.ui.input = refuse('vim.ui.input')
    local document = wait_for('the explanation document', function()
      local current = api.nvim_get_current_buf()
      return current ~= state.bufnr and api.nvim_buf_get_name(current):find('%.md$') and current
    end)
    local attached = wait_for('the document to attach to the same client', function()
      return vim.lsp.get_clients({ name = 'whetstone', bufnr = document })[1]
    end)
    expect(attached.id == client().id, 'the document went to client %d, not %d', attached.id, client().id)
    expect(#vim.lsp.get_clients({ name = 'whetstone' }) == 1, 'a second whetstone server started')
    local lines = api.nvim_buf_get_lines(document, 0, -1, false)
    expect(lines[1]:find('whetstone explanation'), 'not an explanation document: %s', lines[1])
    local answered = {}
    for _, line in ipairs(lines) do
      table.insert(answered, line)
      if line:find('^## ') then
        table.insert(answered, 'tiny returns seven because the caller wants a constant instead of a config lookup.')
      end
    end
    api.nvim_buf_set_lines(document, 0, -1, false, answered)
    vim.cmd('write')
    wait_for('the document answers recorded on the chunk', function()
      return chunk_where(function(candidate)
        return candidate.id == state.tiny.id
          and type(candidate.explanation) == 'table'
          and candidate.explanation.text:find('constant', 1, true)
      end)
    end)
    vim.cmd('bwipeout ' .. document)
    focus_source()
  end)

  step(':Whetstone lens runs the lens picked with vim.ui.select', function()
    wait_for('the lenses of the explained but unclassified chunk', function()
      return vim.list_contains(lens_titles(), 'Transient')
    end)
    api.nvim_win_set_cursor(0, { state.tiny.start_line + 1, 0 })
    local offered
    vim.ui.select = function(items, opts, on_choice)
      offered = vim.tbl_map(opts.format_item, items)
      for _, item in ipairs(items) do
        if opts.format_item(item) == 'Transient' then
          on_choice(item)
        end
      end
    end
    vim.cmd('Whetstone lens')
    vim.ui.select = refuse('vim.ui.select')
    wait_for('class transient', function()
      return chunk_where(function(candidate)
        return candidate.id == state.tiny.id and candidate.class == 'transient'
      end)
    end)
    expect(offered and vim.list_contains(offered, 'Not AI') and not vim.list_contains(offered, ''),
      'offered %s', vim.inspect(offered))
  end)

  step(':Whetstone status and :Whetstone chunks show the file', function()
    local actions = require('whetstone.actions')
    local shown
    local float = actions.float
    actions.float = function(lines)
      shown = lines
    end
    vim.cmd('Whetstone status')
    wait_for(':Whetstone status', function()
      return shown
    end)
    actions.float = float
    local text = table.concat(shown, '\n')
    expect(text:find('%d+%% yours'), 'status says %s', text)
    expect(text:find('fn checksum', 1, true), 'status lists no chunk: %s', text)
    vim.cmd('Whetstone chunks')
    local items = wait_for('the location list', function()
      local list = vim.fn.getloclist(0)
      return #list > 0 and list
    end)
    expect(items[1].text:find('pasted', 1, true), 'location list item %s', items[1].text)
    vim.cmd('lclose')
    focus_source()
  end)

  step(':Whetstone report markdown and json open the report in scratch buffers', function()
    vim.cmd('Whetstone report')
    local markdown = wait_for('the markdown report buffer', function()
      local found = vim.fn.bufnr('whetstone://report.md')
      return found ~= -1 and api.nvim_buf_line_count(found) > 3 and found
    end)
    expect(vim.bo[markdown].filetype == 'markdown', 'filetype %s', vim.bo[markdown].filetype)
    expect(api.nvim_buf_get_lines(markdown, 0, 1, false)[1]:find('^# '), 'no heading in the markdown report')
    vim.cmd('bwipeout ' .. markdown)
    focus_source()
    vim.cmd('Whetstone report json')
    local json = wait_for('the json report buffer', function()
      local found = vim.fn.bufnr('whetstone://report.json')
      return found ~= -1 and api.nvim_buf_line_count(found) > 3 and found
    end)
    local text = table.concat(api.nvim_buf_get_lines(json, 0, -1, false), '\n')
    local ok, decoded = pcall(vim.json.decode, text)
    expect(ok and type(decoded) == 'table', 'the json report does not parse: %s', tostring(decoded))
    vim.cmd('bwipeout ' .. json)
    focus_source()
  end)

  step(':Whetstone completes subcommands and their arguments', function()
    local function complete(line)
      local candidates = vim.fn.getcompletion(line, 'cmdline')
      table.sort(candidates)
      return candidates
    end
    expect(vim.deep_equal(complete('Whetstone cal'), { 'calibrate' }), 'got %s', vim.inspect(complete('Whetstone cal')))
    expect(vim.deep_equal(complete('Whetstone calibrate s'), { 'start', 'status', 'stop' }),
      'got %s', vim.inspect(complete('Whetstone calibrate s')))
    expect(vim.deep_equal(complete('Whetstone classify '), { 'core', 'repeatable', 'transient' }),
      'got %s', vim.inspect(complete('Whetstone classify ')))
    expect(vim.deep_equal(complete('Whetstone report h'), { 'html' }), 'got %s', vim.inspect(complete('Whetstone report h')))
  end)

  step(':Whetstone calibrate start 30 test: the statusline says No-AI and the minutes in', function()
    vim.cmd('Whetstone calibrate start 30 test')
    local text = wait_for('"No-AI" in the statusline', function()
      local shown = whetstone.statusline()
      return shown:match('^No%-AI %d+ min$') and shown
    end)
    -- Minutes since the start, as the VS Code status bar counts them (not the 30 planned).
    expect(text == 'No-AI 0 min' or text == 'No-AI 1 min', 'statusline %q', text)
    local session = command('whetstone.calibration.status')
    expect(type(session) == 'table' and session.running and session.label == 'test', 'status %s', vim.inspect(session))
  end)

  step('the statusline counts a session\'s minutes since its start and its breaches, as VS Code does', function()
    local status = require('whetstone.status')
    local seconds, microseconds = vim.uv.gettimeofday()
    local now = seconds * 1000 + microseconds / 1000
    local minute = 60000
    local function shows(session, expected)
      local text = status.session_text(session)
      expect(text == expected, '%s shows %q, not %q', vim.inspect(session), tostring(text), tostring(expected))
    end
    local planned = { running = true, started_ms = now - 5.5 * minute, planned_minutes = 30, breaches = {} }
    shows(planned, 'No-AI 5 min')
    planned.breaches = { { origin = 'pasted' } }
    shows(planned, 'No-AI 5 min · 1 breach')
    shows({ running = true, started_ms = now - 42.5 * minute, breaches = { {}, {} } }, 'No-AI 42 min · 2 breaches')
    -- Past its planned length: the server ends it, so the statusline shows the file again.
    shows({ running = true, started_ms = now - 31 * minute, planned_minutes = 30, breaches = {} }, nil)
  end)

  step(':Whetstone calibrate stop 4 ends it: status is null', function()
    vim.cmd('Whetstone calibrate stop 4')
    wait_for('the statusline to leave No-AI', function()
      return not whetstone.statusline():find('No-AI', 1, true)
    end)
    local session = command('whetstone.calibration.status')
    expect(session == vim.NIL or session == nil, 'status %s', vim.inspect(session))
  end)

  step('a session started on the command line shows in the statusline at once', function()
    local output = vim.fn.system({ vim.env.WHETSTONE_SERVER, 'calibrate', 'start', '--label', 'shell' })
    expect(vim.v.shell_error == 0, 'whetstone calibrate start: %s', output)
    wait_for('"No-AI" in the statusline without a poll', function()
      return whetstone.statusline() == 'No-AI 0 min'
    end, 3000)
    output = vim.fn.system({ vim.env.WHETSTONE_SERVER, 'calibrate', 'stop', '--feel', '3' })
    expect(vim.v.shell_error == 0, 'whetstone calibrate stop: %s', output)
    wait_for('the statusline to leave No-AI', function()
      return not whetstone.statusline():find('No-AI', 1, true)
    end, 3000)
  end)

  step(':Whetstone calibrate stop without a feel asks for it with vim.ui.select', function()
    vim.cmd('Whetstone calibrate start')
    wait_for('"No-AI" in the statusline', function()
      return whetstone.statusline() == 'No-AI 0 min'
    end)
    local prompt
    vim.ui.select = function(items, opts, on_choice)
      prompt = opts.prompt
      on_choice(items[3])
    end
    vim.cmd('Whetstone calibrate stop')
    wait_for('the statusline to leave No-AI', function()
      return not whetstone.statusline():find('No-AI', 1, true)
    end)
    vim.ui.select = refuse('vim.ui.select')
    expect(prompt and prompt:find('feel', 1, true), 'asked %s', tostring(prompt))
    local session = command('whetstone.calibration.status')
    expect(session == vim.NIL or session == nil, 'status %s', vim.inspect(session))
  end)

  step('on an 80-column screen the reminder, calibrate start and stop never stop Neovim for Enter', function()
    expect(vim.fn.executable('python3') == 1, 'python3 (for test/screen.py) is not on PATH')
    expect(state.reminder, 'no reminder to show again (its step failed)')
    -- Neovim's own vim.notify, which echoes; every echo is kept to check its width.
    local echoed = {}
    local echo = api.nvim_echo
    api.nvim_echo = function(chunks, history, opts)
      local text = table.concat(vim.tbl_map(function(chunk)
        return chunk[1]
      end, chunks))
      table.insert(echoed, { text = text, space = vim.v.echospace })
      return echo(chunks, history, opts)
    end
    vim.notify = neovim_notify
    -- A screen attached as a UI: without one, headless Neovim never stops for Enter.
    local report = vim.fn.tempname()
    vim.fn.writefile({}, report)
    local address = vim.v.servername ~= '' and vim.v.servername or vim.fn.serverstart()
    local screen = vim.fn.jobstart({
      'python3', vim.g.whetstone_test_plugin_root .. '/test/screen.py', address, '80', report,
    })
    local ok, problem = pcall(function()
      wait_for('the screen to attach', function()
        return #api.nvim_list_uis() == 1
      end)
      local function echoed_like(pattern)
        return function()
          for _, item in ipairs(echoed) do
            if item.text:find(pattern) then
              return item
            end
          end
        end
      end
      -- The reminder the server sent at the first start, through the client's handler again.
      client().handlers['window/showMessage'](nil, { type = 3, message = state.reminder },
        { client_id = client().id, method = 'window/showMessage' })
      wait_for('the reminder echoed', echoed_like('^whetstone: .*calibration'))
      vim.cmd('Whetstone calibrate start 30 screen')
      wait_for('the start message', echoed_like('^whetstone: Calibration session started'))
      vim.cmd('Whetstone calibrate stop 4')
      wait_for('the summary', echoed_like('^whetstone: Calibration session stopped'))
      -- A server message may be long and on several lines.
      client().handlers['window/showMessage'](nil, { type = 1, message = ('a long line\n'):rep(40) },
        { client_id = client().id, method = 'window/showMessage' })
      wait_for('the long message echoed', echoed_like('^whetstone: a long line'))
      vim.cmd('Whetstone calibrate status')
      wait_for('the status message', echoed_like('^whetstone: no session running'))
    end)
    vim.fn.jobstop(screen)
    vim.notify = function(message, level)
      table.insert(notifications, { message = message, level = level or vim.log.levels.INFO })
    end
    api.nvim_echo = echo
    wait_for('the screen to detach', function()
      return #api.nvim_list_uis() == 0
    end)
    expect(ok, '%s', tostring(problem))
    local prompts = vim.fn.readfile(report)
    expect(#prompts == 0, 'Neovim stopped for Enter:\n%s', table.concat(prompts, '\n'))
    for _, item in ipairs(echoed) do
      expect(not item.text:find('\n') and vim.fn.strdisplaywidth(item.text) <= item.space,
        'echoed wider than the %d cells of the command line: %q', item.space, item.text)
    end
  end)

  step('bad arguments say what is expected', function()
    vim.cmd('Whetstone classify important')
    vim.cmd('Whetstone frobnicate')
    vim.cmd('Whetstone calibrate stop 9')
    vim.cmd('Whetstone report pdf')
    for _, pattern in ipairs({
      'class must be transient, repeatable or core, not "important"',
      'unknown subcommand "frobnicate"; known: calibrate, chunks, classify',
      'feel must be 1 %(struggled%) to 5 %(smooth%), not "9"',
      'report format must be markdown, json or html, not "pdf"',
    }) do
      expect(notified(pattern), 'no message like %q', pattern)
    end
  end)

  step(':checkhealth whetstone reports the server and its client', function()
    vim.cmd('checkhealth whetstone')
    local text = table.concat(api.nvim_buf_get_lines(0, 0, -1, false), '\n')
    expect(text:find('server command: ', 1, true) and text:find('client %d+: whetstone'), 'checkhealth says %s', text)
    expect(not text:find('ERROR', 1, true), 'checkhealth reports an error: %s', text)
    vim.cmd('bwipeout')
    focus_source()
  end)

  step('keys that reach the server in one didChange (a buffer\'s first burst of typing, a macro) are not flagged', function()
    local before = #chunks().chunks
    feed_at_once('Goconst ONE_GO: u32 = 1;<CR>const TWO_GO: u32 = 2;<Esc>')
    local after = chunks().chunks
    expect(#after == before, 'it made a chunk: %s', vim.inspect(after[#after]))
  end)

  step('the server shuts down cleanly', function()
    local id = client().id
    client():stop()
    wait_for('the client to stop', function()
      return vim.lsp.get_client_by_id(id) == nil
    end)
  end)
end

test_coroutine = coroutine.create(function()
  local ok, problem = xpcall(run, debug.traceback)
  if not ok then
    failed = failed + 1
    say('not ok - the test script itself failed')
    say('  # ' .. tostring(problem):gsub('\n', '\n  # '))
  end
  if failed > 0 then
    print_logs()
  end
  say(('1..%d'):format(#results))
  say(('# %d passed, %d failed, %d known problem(s) marked TODO'):format(
    #results - failed - known_problems, failed, known_problems))
  vim.cmd(('cquit %d'):format(math.min(failed, 255)))
end)
vim.schedule(function()
  coroutine.resume(test_coroutine)
end)
