-- The `whetstone` language server for vim.lsp.config / vim.lsp.enable (Neovim 0.11+).
--
-- Neovim reads this file when it first resolves vim.lsp.config.whetstone; what setup() passes to
-- vim.lsp.config('whetstone', ...) is merged over it. With `vim.lsp.enable('whetstone')` alone
-- (no setup) the server is started as `whetstone lsp` from PATH.

local actions = require('whetstone.actions')
local config = require('whetstone.config')
local documents = require('whetstone.documents')
local lens = require('whetstone.lens')
local status = require('whetstone.status')
local ui = require('whetstone.ui')

local options = config.options

---@type vim.lsp.Config
return {
  cmd = config.server_cmd(options) or { 'whetstone', 'lsp' },
  -- No `filetypes`: whetstone runs beside the usual servers in every file.
  root_dir = documents.root_dir,
  init_options = config.server_settings(options),
  settings = config.server_settings(options),
  capabilities = lens.client_capabilities(),
  -- Client-side commands: a lens's command runs here before it goes to the server.
  commands = {
    ['whetstone.dismiss'] = actions.dismiss_lens,
  },
  handlers = vim.tbl_extend('force', lens.handlers(), {
    ['window/showDocument'] = documents.show_document_handler,
    -- Through vim.notify, fitted to one line when echoed (Neovim's own handler echoes the
    -- whole text, and a long one stops Neovim for Enter).
    ['window/showMessage'] = ui.show_message,
    -- A session started or stopped here, in another editor or on the command line (the store
    -- is shared): the statusline shows it at once instead of at the next poll.
    ['whetstone/calibrationChanged'] = function(err, params)
      if not err then
        status.set_calibration(params)
      end
    end,
  }),
}
