-- From every embedded figure and table to the notebook that made it, in Quarto and in
-- the built-in renderer (both run this filter; docs/quarto.md says why Quarto's own
-- notebook view is off).
--
-- An embed arrives as Quarto writes it (core/jupyter/jupyter-embed.ts), and as the
-- built-in renderer writes it too:
--   ::: {.quarto-embed-nb-cell notebook="<path>.ipynb" notebook-cellId="cell-<label>"}
-- For a `fig-`/`tbl-` label this filter appends "Source: <title> (notebook page) ·
-- .ipynb" below it. The page is `<dir>/<name>-preview.html`, the name Quarto gives a
-- manuscript notebook's page, with the label as anchor; the `.ipynb` is the executed
-- notebook itself, next to its page. Titles come from `manuscript.notebooks`. In HTML
-- the article also lists the notebooks, in the margin beside the text (Quarto's
-- `.column-margin`; the built-in renderer's stylesheet places `.notebook-list`).

local PAGE_SUFFIX = "-preview.html"
local titles, order, embedded = {}, {}, {}

local function relative(path)
  local project = quarto and quarto.project and quarto.project.directory
  if project and pandoc.path.is_absolute(path) then
    return pandoc.path.make_relative(path, project)
  end
  return path
end

local function page_of(notebook)
  local stem = pandoc.path.split_extension(pandoc.path.filename(notebook))
  local dir = pandoc.path.directory(notebook)
  return (dir == "." and "" or dir .. "/") .. stem .. PAGE_SUFFIX
end

local function title_of(notebook)
  return titles[notebook] or pandoc.path.filename(notebook)
end

local function read_titles(meta)
  local notebooks = meta.manuscript and meta.manuscript.notebooks or {}
  for _, entry in ipairs(notebooks) do
    local path, title
    if type(entry) == "table" and entry.notebook then
      path, title = pandoc.utils.stringify(entry.notebook), entry.title
    else
      path = pandoc.utils.stringify(entry)
    end
    path = relative(path)
    if title then
      titles[path] = pandoc.utils.stringify(title)
    end
    order[#order + 1] = path
  end
end

local function download_link(notebook)
  local attributes = { download = pandoc.path.filename(notebook) }
  if quarto then
    -- keep Quarto from turning a link to a project input into one to its page
    -- (project/types/website/website-utils.ts, resolveProjectInputLinks)
    attributes.noresolveinput = ""
  end
  return pandoc.Link(".ipynb", notebook, "Download the notebook " .. pandoc.path.filename(notebook),
    pandoc.Attr("", { "notebook-download" }, attributes))
end

local function source_line(notebook, label)
  return pandoc.Div({ pandoc.Para({
    pandoc.Str("Source:"), pandoc.Space(),
    pandoc.Link(title_of(notebook) .. " notebook", page_of(notebook) .. "#" .. label),
    pandoc.Space(), pandoc.Str("·"), pandoc.Space(), download_link(notebook),
  }) }, pandoc.Attr("", { "notebook-source" }))
end

-- The built-in renderer's Typst figures float (header.typ): there the source line goes
-- into the figure's caption, so that it stays with the figure.
local function in_caption(div, line)
  local placed = false
  div.content = div.content:walk({
    Figure = function(figure)
      local caption = figure.caption.long
      local last = caption[#caption]
      if placed or not last or (last.t ~= "Plain" and last.t ~= "Para") then
        return nil
      end
      last.content:extend({ pandoc.Space(), pandoc.Str("(") })
      last.content:extend(line.content[1].content)
      last.content:insert(pandoc.Str(")"))
      placed = true
      return figure
    end,
  })
  return placed
end

local function embed(div)
  if not div.classes:includes("quarto-embed-nb-cell") or not div.attributes.notebook then
    return nil
  end
  local notebook = relative(div.attributes.notebook)
  local label = (div.attributes["notebook-cellId"] or ""):gsub("^cell%-", "")
  -- read, then dropped: Quarto's notebook path is absolute (this machine's folders)
  div.attributes.notebook = nil
  div.attributes["notebook-cellId"] = nil
  div.attributes["notebook-title"] = nil
  if not embedded[notebook] then
    embedded[notebook] = true
    embedded[#embedded + 1] = notebook
  end
  if label:match("^fig%-") or label:match("^tbl%-") then
    local line = source_line(notebook, label)
    if not quarto and FORMAT:match("typst") and in_caption(div, line) then
      return div
    end
    div.content:insert(line)
  end
  return div
end

local function notebook_list()
  local listed, items = {}, {}
  local function add(notebook)
    if embedded[notebook] and not listed[notebook] then
      listed[notebook] = true
      items[#items + 1] = { pandoc.Plain({
        pandoc.Link(title_of(notebook), page_of(notebook)), pandoc.Space(), download_link(notebook),
      }) }
    end
  end
  for _, notebook in ipairs(order) do add(notebook) end
  for _, notebook in ipairs(embedded) do add(notebook) end
  return pandoc.Div({
    pandoc.Para({ pandoc.Strong({ pandoc.Str("Notebooks") }) }),
    pandoc.BulletList(items),
  }, pandoc.Attr("notebooks", { "notebook-list", "column-margin" }))
end

return {
  { Meta = function(meta) read_titles(meta) end },
  { Div = embed },
  {
    Pandoc = function(doc)
      if #embedded > 0 and FORMAT:match("html") then
        doc.blocks:insert(1, notebook_list())
      end
      return doc
    end,
  },
}
