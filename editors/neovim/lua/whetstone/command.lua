-- The :Whetstone user command: parsing its subcommands and completing them.

local actions = require('whetstone.actions')
local ui = require('whetstone.ui')

local M = {}

local function class_names()
  return vim.tbl_map(function(class)
    return class.name
  end, actions.classes)
end

-- name -> { run = fun(words: string[], rest: string), complete = fun(words): string[] }
-- `words` are the arguments after the subcommand; `rest` is the same text, spacing kept.
local subcommands = {
  classify = {
    run = function(words)
      actions.classify(words[1])
    end,
    complete = function(words)
      return #words <= 1 and class_names() or {}
    end,
  },
  explain = {
    run = function(_, rest)
      actions.explain(rest ~= '' and rest or nil)
    end,
  },
  dismiss = {
    run = function()
      actions.dismiss()
    end,
  },
  calibrate = {
    run = function(words)
      local action = words[1]
      if action == 'start' then
        -- A whole number first is the planned length; the rest is the label.
        local minutes = words[2] and words[2]:match('^%d+$') and tonumber(words[2]) or nil
        local label = table.concat(words, ' ', minutes and 3 or 2)
        actions.calibrate_start(minutes, label ~= '' and label or nil)
      elseif action == 'stop' then
        local feel = nil
        if words[2] then
          feel = actions.parse_feel(table.concat(words, ' ', 2))
          if not feel then
            local given = table.concat(words, ' ', 2)
            ui.error(('feel must be 1 (struggled) to 5 (smooth), not %q'):format(given))
            return
          end
        end
        actions.calibrate_stop(feel)
      elseif action == 'status' or action == nil then
        actions.calibrate_status()
      else
        ui.error(('calibrate takes start, stop or status, not %q'):format(action))
      end
    end,
    complete = function(words)
      if #words <= 1 then
        return { 'start', 'stop', 'status' }
      end
      if #words == 2 and words[1] == 'start' then
        return { '30', '60', '90' }
      end
      if #words == 2 and words[1] == 'stop' then
        return { '1', '2', '3', '4', '5' }
      end
      return {}
    end,
  },
  report = {
    run = function(words)
      actions.report(words[1])
    end,
    complete = function(words)
      return #words <= 1 and vim.deepcopy(actions.report_formats) or {}
    end,
  },
  status = {
    run = function()
      actions.status()
    end,
  },
  chunks = {
    run = function()
      actions.chunks()
    end,
  },
  lens = {
    run = function()
      actions.lens()
    end,
  },
}

M.names = vim.tbl_keys(subcommands)
table.sort(M.names)

--- Runs `:Whetstone {args}`.
function M.run(args)
  local name, rest = args:match('^%s*(%S+)%s*(.-)%s*$')
  if not name then
    actions.status()
    return
  end
  local subcommand = subcommands[name]
  if not subcommand then
    ui.error(('unknown subcommand %q; known: %s'):format(name, table.concat(M.names, ', ')))
    return
  end
  subcommand.run(vim.split(rest, '%s+', { trimempty = true }), rest)
end

--- Completion for the command line `line` (up to the cursor), with `lead` the word being typed.
function M.complete(lead, line)
  local words = vim.split(line, '%s+', { trimempty = true })
  -- Drop the command's own name; a trailing space means a new, empty word is being typed.
  table.remove(words, 1)
  if line:match('%s$') then
    table.insert(words, '')
  end
  local candidates
  if #words <= 1 then
    candidates = M.names
  else
    local subcommand = subcommands[words[1]]
    local complete = subcommand and subcommand.complete
    candidates = complete and complete(vim.list_slice(words, 2)) or {}
  end
  return vim.tbl_filter(function(candidate)
    return vim.startswith(candidate, lead)
  end, candidates)
end

function M.create()
  vim.api.nvim_create_user_command('Whetstone', function(opts)
    M.run(opts.args)
  end, {
    nargs = '*',
    desc = 'Whetstone: classify, explain, dismiss, calibrate, report, status, chunks, lens',
    complete = function(lead, line, position)
      return M.complete(lead, line:sub(1, position))
    end,
  })
end

return M
