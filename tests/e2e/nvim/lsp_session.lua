-- Drives airlift-lsp from a real Neovim (0.7 APIs only) and writes what the editor saw as JSON.
--
--   AIRLIFT_PYTHON   the interpreter that runs `python -m server serve`
--   AIRLIFT_ROOT     the project folder (a copy of examples/tutorial)
--   AIRLIFT_RESULT   where to write the JSON
--   AIRLIFT_WAIT_MS  upper bound of each wait (default 20000)
--
-- Every step is bounded by vim.wait and the JSON is written whatever happens (errors included),
-- then Neovim quits.

local python = assert(os.getenv("AIRLIFT_PYTHON"), "AIRLIFT_PYTHON is not set")
local root = assert(os.getenv("AIRLIFT_ROOT"), "AIRLIFT_ROOT is not set")
local result_path = assert(os.getenv("AIRLIFT_RESULT"), "AIRLIFT_RESULT is not set")
local wait_ms = tonumber(os.getenv("AIRLIFT_WAIT_MS") or "") or 20000

local DAG_FILE = root .. "/airflow_dags/rebuild_customers_list.py"
local EDGE_LINE = "load_raw_customers >> run_dbt_model >> export_customers"
local DUPLICATE = '    duplicate = BashOperator(task_id="build_dbt_models", bash_command="x")'

local started = vim.loop.hrtime()
local function elapsed_ms()
  return math.floor((vim.loop.hrtime() - started) / 1e6)
end

local out = {
  nvim_version = vim.version(),
  steps = {},           -- {name, ok, ms}: which waits were satisfied, and when
  server_messages = {}, -- every method the server sent to the client, in order
  unhandled = {},       -- server methods Neovim has no handler for (answered MethodNotFound)
  client_errors = {},   -- on_error callbacks (bad messages, handler failures)
  publishes = {},       -- raw textDocument/publishDiagnostics params (uri, version, codes)
}

local function step(name, ok)
  table.insert(out.steps, { name = name, ok = ok and true or false, ms = elapsed_ms() })
  return ok
end

-- Record every server-to-client message, then hand it to Neovim's own handler.
local handlers = setmetatable({}, {
  __index = function(_, method)
    local default = vim.lsp.handlers[method]
    return function(err, result, ctx, config)
      table.insert(out.server_messages, method)
      if method == "textDocument/publishDiagnostics" and result then
        local codes = {}
        for _, d in ipairs(result.diagnostics or {}) do
          table.insert(codes, { code = d.code, line = d.range.start.line, source = d.source })
        end
        table.insert(out.publishes, {
          uri = result.uri, version = result.version, diagnostics = codes, ms = elapsed_ms(),
        })
      end
      if default == nil then
        table.insert(out.unhandled, method)
        return nil, vim.lsp.rpc_response_error(vim.lsp.protocol.ErrorCodes.MethodNotFound)
      end
      return default(err, result, ctx, config)
    end
  end,
})

local client_id
local exited = nil

-- Wait until condition holds (or the server is gone, or wait_ms passed); record the outcome.
local function wait_for(name, condition)
  vim.wait(wait_ms, function() return exited ~= nil or condition() end, 20)
  return step(name, condition())
end

local function diagnostics_of(bufnr)
  local list = {}
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    table.insert(list, {
      code = d.code, source = d.source, lnum = d.lnum, col = d.col,
      severity = d.severity, message = d.message,
    })
  end
  table.sort(list, function(a, b)
    if a.lnum ~= b.lnum then return a.lnum < b.lnum end
    return tostring(a.code) < tostring(b.code)
  end)
  return list
end

local function has_code(bufnr, code)
  for _, d in ipairs(vim.diagnostic.get(bufnr)) do
    if d.code == code then return true end
  end
  return false
end

local function find_line(bufnr, needle)
  for index, line in ipairs(vim.api.nvim_buf_get_lines(bufnr, 0, -1, false)) do
    local at = line:find(needle, 1, true)
    if at then return index - 1, at - 1, line end
  end
end

local function hover_text(contents)
  if type(contents) == "string" then return contents end
  if type(contents) ~= "table" then return nil end
  if contents.value then return contents.value end
  local parts = {}
  for _, item in ipairs(contents) do
    table.insert(parts, type(item) == "string" and item or item.value)
  end
  return table.concat(parts, "\n")
end

local function lens_titles(lenses, kind)
  local titles = {}
  for _, lens in ipairs(lenses or {}) do
    table.insert(titles, {
      line = lens.range.start.line,
      title = lens.command and lens.command.title or vim.NIL,
      command = lens.command and lens.command.command or vim.NIL,
      source = kind,
    })
  end
  return titles
end

local function main()
  vim.lsp.set_log_level("debug")
  out.log_path = vim.lsp.get_log_path()
  vim.cmd("filetype on")

  client_id = vim.lsp.start_client({
    name = "airlift",
    cmd = { python, "-m", "server", "serve" },
    cmd_cwd = root,
    root_dir = root,
    handlers = handlers,
    on_error = function(code, err)
      table.insert(out.client_errors, {
        code = vim.lsp.client_errors[code] or code, err = vim.inspect(err),
      })
    end,
    on_exit = function(code, signal)
      exited = { code = code, signal = signal, ms = elapsed_ms() }
    end,
  })
  out.client_id = client_id
  if not step("start_client", client_id ~= nil) then return end

  vim.cmd("edit " .. vim.fn.fnameescape(DAG_FILE))
  local bufnr = vim.api.nvim_get_current_buf()
  out.filetype = vim.bo[bufnr].filetype
  step("buf_attach_client", vim.lsp.buf_attach_client(bufnr, client_id))

  local client
  if not wait_for("initialized", function()
    client = vim.lsp.get_client_by_id(client_id)
    return client ~= nil and client.initialized
  end) then return end
  out.server_capabilities = {
    hover = client.server_capabilities.hoverProvider ~= nil,
    code_lens = client.server_capabilities.codeLensProvider ~= nil,
    text_document_sync = client.server_capabilities.textDocumentSync,
    offset_encoding = client.offset_encoding,
  }

  -- Diagnostics from the background index of the whole project.
  wait_for("diagnostics", function() return #vim.diagnostic.get(bufnr) > 0 end)
  out.diagnostics = diagnostics_of(bufnr)

  -- Hover on the `run_dbt_model` reference in the edge line.
  local line, byte_col, text = find_line(bufnr, EDGE_LINE)
  if line then
    byte_col = byte_col + EDGE_LINE:find("run_dbt_model", 1, true) -- 1 byte into the name
    local character = vim.str_utfindex(text, byte_col)
    out.hover_position = { line = line, character = character }
    local response = client.request_sync("textDocument/hover", {
      textDocument = { uri = vim.uri_from_bufnr(bufnr) },
      position = { line = line, character = character },
    }, wait_ms, bufnr)
    step("hover", response ~= nil and response.err == nil)
    if response then
      out.hover_error = response.err and vim.inspect(response.err) or nil
      local result = response.result
      if result and result ~= vim.NIL then
        out.hover = hover_text(result.contents)
        -- What Neovim renders in the hover window.
        out.hover_rendered = vim.lsp.util.convert_input_to_markdown_lines(result.contents)
      end
    end
  else
    step("hover: edge line not found", false)
  end

  -- Code lenses: the raw response, then through Neovim's own codelens module.
  local response = client.request_sync("textDocument/codeLens", {
    textDocument = { uri = vim.uri_from_bufnr(bufnr) },
  }, wait_ms, bufnr)
  step("codeLens", response ~= nil and response.err == nil)
  if response then
    out.code_lens_error = response.err and vim.inspect(response.err) or nil
    out.lenses = lens_titles(response.result ~= vim.NIL and response.result or {}, "request")
  end
  vim.lsp.codelens.refresh()
  wait_for("codelens.refresh", function() return #vim.lsp.codelens.get(bufnr) > 0 end)
  out.displayed_lenses = lens_titles(vim.lsp.codelens.get(bufnr), "codelens.get")

  -- One edit through the buffer: a second task with the same id inside `with DAG`.
  local edge = find_line(bufnr, EDGE_LINE)
  if edge then
    vim.api.nvim_buf_set_lines(bufnr, edge, edge, false, { DUPLICATE })
    out.duplicate_line = edge
    wait_for("duplicate-task-id", function() return has_code(bufnr, "duplicate-task-id") end)
    out.diagnostics_after_edit = diagnostics_of(bufnr)
    out.changedtick = vim.api.nvim_buf_get_changedtick(bufnr)
  else
    step("edit: edge line not found", false)
  end
end

local ok, err = xpcall(main, debug.traceback)
if not ok then out.error = tostring(err) end

-- Shut the server down the way Neovim does (shutdown request, exit notification).
local client = client_id and vim.lsp.get_client_by_id(client_id)
if client and not exited then
  client.stop()
  step("server exited after stop", vim.wait(10000, function() return exited ~= nil end, 20))
end
out.exit = exited
out.elapsed_ms = elapsed_ms()

-- The server's stderr reaches Neovim's LSP log ("rpc" ... "stderr" ...): keep those lines.
out.stderr = {}
if out.log_path then
  local log = io.open(out.log_path, "r")
  if log then
    for entry in log:lines() do
      if entry:find('"stderr"', 1, true) then table.insert(out.stderr, entry) end
    end
    log:close()
  end
end

local file = assert(io.open(result_path, "w"))
file:write(vim.fn.json_encode(out))
file:close()
vim.cmd("qa!")
