-- The headless test's init file: this checkout of the plugin and nothing else from the user.
-- WHETSTONE_SERVER names the server binary; test.sh points XDG_* at a temp folder.

local plugin_root = vim.fn.fnamemodify(debug.getinfo(1, 'S').source:sub(2), ':p:h:h')
vim.opt.runtimepath:prepend(plugin_root)
vim.g.whetstone_test_plugin_root = plugin_root

vim.o.swapfile = false
vim.o.shadafile = 'NONE'
vim.o.more = false
vim.cmd('filetype plugin indent on')

-- Everything the client and server say goes to the LSP log (the server's stderr included),
-- printed by the test when a step fails.
vim.lsp.set_log_level('debug')

require('whetstone').setup({
  server_path = vim.env.WHETSTONE_SERVER,
  -- Sent as initializationOptions and didChangeConfiguration; the test checks it arrives.
  settings = { nudges = { hover = true } },
})
