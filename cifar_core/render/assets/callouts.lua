-- Quarto-style callouts (::: {.callout-warning} ... :::) and the synthetic-data banner
-- for pandoc's HTML and Typst writers. The first header inside a callout (or its
-- title="..." attribute) becomes the callout title, not a numbered section.
-- The banner moves to the template's include-before: in HTML above the title, in
-- Typst before the table of contents, so it is on the first screen and the first page.
local titles = {note = "Note", warning = "Warning", important = "Important",
                tip = "Tip", caution = "Caution"}

local function callout_kind(el)
  for _, cls in ipairs(el.classes) do
    local kind = cls:match("^callout%-(%a+)$")
    if kind and titles[kind] then return kind end
  end
end

local function split_title(el, kind)
  local blocks = el.content
  if el.attributes["title"] then
    return pandoc.Inlines(pandoc.read(el.attributes["title"], "markdown").blocks[1].content), blocks
  end
  if #blocks > 0 and blocks[1].t == "Header" then
    local title = blocks[1].content
    local rest = pandoc.Blocks({})
    for i = 2, #blocks do rest:insert(blocks[i]) end
    return title, rest
  end
  return pandoc.Inlines({pandoc.Str(titles[kind])}), blocks
end

local function typst_box(fn, arg, title, body)
  local out = pandoc.Blocks({pandoc.RawBlock("typst", "#" .. fn .. "(" .. arg .. ")[")})
  if title then out:insert(pandoc.Para({pandoc.Strong(title)})) end
  out:extend(body)
  out:insert(pandoc.RawBlock("typst", "]"))
  return out
end

local function callout(el, kind)
  local title, body = split_title(el, kind)
  if FORMAT:match("typst") then
    return typst_box("callout", '"' .. kind .. '"', title, body)
  end
  if el.attributes["collapse"] == "true" then  -- folded under its title, as Quarto's HTML
    local out = pandoc.Blocks({pandoc.RawBlock("html", '<details class="callout callout-' .. kind
      .. '"><summary class="callout-title">')})
    out:insert(pandoc.Plain(title))
    out:insert(pandoc.RawBlock("html", "</summary>"))
    out:insert(pandoc.Div(body, pandoc.Attr("", {"callout-body"})))
    out:insert(pandoc.RawBlock("html", "</details>"))
    return out
  end
  return pandoc.Div({
    pandoc.Div(pandoc.Plain(title), pandoc.Attr("", {"callout-title"})),
    pandoc.Div(body, pandoc.Attr("", {"callout-body"})),
  }, pandoc.Attr(el.identifier, {"callout", "callout-" .. kind}))
end

local function banner(el)
  if pandoc.utils.stringify(el.content):match("^%s*$") then return {} end
  if FORMAT:match("typst") then return typst_box("banner", "", nil, el.content) end
  return el
end

local function Div(el)
  if el.classes:includes("synthetic-banner") then return banner(el) end
  local kind = callout_kind(el)
  if kind then return callout(el, kind) end
end

local function lift_banner(doc)
  for i, block in ipairs(doc.blocks) do
    if block.t == "Div" and block.classes:includes("synthetic-banner") then
      doc.blocks:remove(i)
      local shown = pandoc.Blocks(banner(block))
      if #shown > 0 then
        local before = doc.meta["include-before"] or pandoc.MetaList({})
        if before.t ~= "MetaList" then before = pandoc.MetaList({before}) end
        before:insert(1, pandoc.MetaBlocks(shown))
        doc.meta["include-before"] = before
      end
      return doc
    end
  end
end

return {{Pandoc = lift_banner}, {Div = Div}}
