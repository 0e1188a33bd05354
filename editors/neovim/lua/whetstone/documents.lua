-- Documents the server opens with window/showDocument (explanation documents), and the root
-- directory a buffer gets so that such a document lands in the server that wrote it.
--
-- Why: `vim.lsp.enable` starts a client per root for every new buffer. An explanation document
-- lives in the store folder, outside any workspace; left alone it would start a second server,
-- which would receive the document's save instead of the server waiting for it. Giving the
-- document the root of the client that showed it makes Neovim reuse that client.

local M = {}

-- Markers of a workspace root, nearest first.
M.root_markers = { '.git', '.hg', '.jj', '.svn' }

-- Normalized file path -> id of the client that showed it.
local owners = {}

local function normalize(path)
  return vim.fs.normalize(vim.fn.fnamemodify(path, ':p'))
end

--- Wraps Neovim's own showDocument handler: remember who showed the file, then let Neovim open
--- it (or hand an external one to the system's opener).
function M.show_document_handler(err, params, ctx)
  if params and params.uri and not params.external and vim.startswith(params.uri, 'file:') then
    owners[normalize(vim.uri_to_fname(params.uri))] = ctx.client_id
  end
  return vim.lsp.handlers['window/showDocument'](err, params, ctx)
end

--- The client that showed the file of `bufnr`, if it is still running.
function M.owner(bufnr)
  local name = vim.api.nvim_buf_get_name(bufnr)
  if name == '' then
    return nil
  end
  local id = owners[normalize(name)]
  local client = id and vim.lsp.get_client_by_id(id)
  if client and not client:is_stopped() then
    return client
  end
  return nil
end

--- `root_dir` of the whetstone config: the showing client's root for its documents, else the
--- nearest workspace marker, else none (the file is then keyed by its absolute path).
function M.root_dir(bufnr, on_dir)
  local owner = M.owner(bufnr)
  if owner then
    on_dir(owner.root_dir)
    return
  end
  on_dir(vim.fs.root(bufnr, M.root_markers))
end

return M
