-- :checkhealth whetstone — the Neovim version, the server binary and the running clients.

local config = require('whetstone.config')
local server = require('whetstone.server')

local M = {}

function M.check()
  local health = vim.health
  health.start('whetstone')
  if vim.fn.has('nvim-0.11') == 1 then
    health.ok('Neovim ' .. tostring(vim.version()))
  else
    health.error('Neovim 0.11 or newer is needed (vim.lsp.config and vim.lsp.enable)')
  end
  local cmd, problem = config.server_cmd()
  if cmd then
    health.ok('server command: ' .. table.concat(cmd, ' '))
  else
    health.error(problem, { config.install_hint })
  end
  if not require('whetstone')._is_set_up() then
    health.warn('require("whetstone").setup() has not run: '
      .. 'no :Whetstone command, lens refresh or paste hint')
  end
  local clients = vim.lsp.get_clients({ name = server.name })
  if #clients == 0 then
    health.info('no whetstone server is running (it starts when a file is opened)')
  end
  for _, client in ipairs(clients) do
    local info = client.server_info or {}
    health.ok(('client %d: %s %s, root %s, %d buffer(s), position encoding %s'):format(
      client.id,
      info.name or 'whetstone',
      info.version or '',
      client.root_dir or '(none: files are keyed by their full path)',
      vim.tbl_count(client.attached_buffers),
      client.offset_encoding
    ))
  end
end

return M
