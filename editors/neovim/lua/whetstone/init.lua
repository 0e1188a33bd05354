-- Whetstone for Neovim 0.11+: setup(), the statusline function, and the actions behind :Whetstone.
--
--   require("whetstone").setup({ settings = { nudges = { hover = true } } })
--
-- setup() registers the server with vim.lsp.config / vim.lsp.enable (see lsp/whetstone.lua),
-- shows its code lenses, creates :Whetstone, and wraps vim.paste for the paste hint.

local actions = require('whetstone.actions')
local config = require('whetstone.config')
local lens = require('whetstone.lens')
local server = require('whetstone.server')
local status = require('whetstone.status')
local ui = require('whetstone.ui')

local M = {}

local set_up = false

local function on_attach(event)
  local client = vim.lsp.get_client_by_id(event.data.client_id)
  if not client or client.name ~= server.name then
    return
  end
  local options = config.options
  if options.codelens then
    lens.attach(client, event.buf)
  end
  if options.statusline then
    status.attach(client, event.buf)
  end
end

local function on_detach(event)
  local client = vim.lsp.get_client_by_id(event.data.client_id)
  if not client or client.name ~= server.name then
    return
  end
  lens.detach(client.id, event.buf)
  status.detach(client.id, event.buf)
end

--- Starts whetstone beside the usual language servers. Returns false when the server binary is
--- missing (after saying how to install it).
---@param options? table see :help whetstone-setup
---@return boolean
function M.setup(options)
  if vim.fn.has('nvim-0.11') == 0 then
    ui.error('Neovim 0.11 or newer is needed (vim.lsp.config)')
    return false
  end
  options = config.set(options)
  require('whetstone.command').create()
  set_up = true

  local cmd, problem = config.server_cmd(options)
  if not cmd then
    -- One short line; :checkhealth says how to install the server.
    ui.error(problem .. ' (see :checkhealth whetstone)')
    return false
  end
  vim.lsp.config(server.name, {
    cmd = cmd,
    init_options = config.server_settings(options),
    settings = config.server_settings(options),
  })

  local group = vim.api.nvim_create_augroup('whetstone', { clear = true })
  vim.api.nvim_create_autocmd('LspAttach', { group = group, callback = on_attach })
  vim.api.nvim_create_autocmd('LspDetach', { group = group, callback = on_detach })
  status.configure(options)

  local paste = require('whetstone.paste')
  local hint = options.paste_hint
  if hint == true then
    hint = 'lines'
  end
  if hint == 'lines' or hint == 'all' then
    paste.install(hint)
  else
    if hint ~= false and hint ~= 'off' then
      ui.warn(('paste_hint must be "lines", "all" or "off", not %s'):format(vim.inspect(hint)))
    end
    paste.uninstall()
  end

  vim.lsp.enable(server.name)
  return true
end

function M._is_set_up()
  return set_up
end

--- For 'statusline' or a statusline plugin: "No-AI 23 min" while a calibration session runs, else
--- the current buffer's typed share ("82% yours"), else "".
---   vim.o.statusline = "%f %m%=%{v:lua.require'whetstone'.statusline()} %l:%c"
---@param bufnr? integer (default: the buffer of the window being drawn)
---@return string
function M.statusline(bufnr)
  if not set_up or not config.options.statusline then
    return ''
  end
  if not bufnr or bufnr == 0 then
    -- Every window's statusline is drawn with the same current window; in %{} and %!
    -- expressions g:statusline_winid names the window being drawn.
    local window = vim.g.statusline_winid
    bufnr = window and vim.api.nvim_win_is_valid(window) and vim.api.nvim_win_get_buf(window)
      or vim.api.nvim_get_current_buf()
  end
  return status.text(bufnr)
end

-- The actions, for mappings: vim.keymap.set('n', '<leader>wc', require('whetstone').classify)
M.classify = actions.classify
M.explain = actions.explain
M.dismiss = actions.dismiss
M.calibrate_start = actions.calibrate_start
M.calibrate_stop = actions.calibrate_stop
M.calibrate_status = actions.calibrate_status
M.report = actions.report
M.status = actions.status
M.chunks = actions.chunks
M.lens = actions.lens

--- Refreshes the code lenses of a buffer now (0.11; 0.12 keeps them fresh itself).
M.refresh_lenses = lens.refresh

return M
